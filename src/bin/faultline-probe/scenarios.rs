//! The hostile-client scenarios, each run under the monitor and reduced to table rows.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::bodies::{describe_uploads, upload_all, upload_head, Upload};
use crate::bomb::{build_bomb, post_wave};
use crate::crowd::{describe_censuses, slowloris_head, Behaviour, Census, Crowd};
use crate::monitor::{check_health, established_on_port, fresh_connection_client, read_rss_kb, Monitor};
use crate::report::{megabytes, ScenarioReport};
use crate::target::Target;
use crate::Args;

/// Runs `scenario` while the monitor watches, then lets the server settle and reads its RSS again.
async fn observe(
    name: &str,
    args: &Args,
    target: &Target,
    scenario: impl Future<Output = Result<String>>,
) -> Result<ScenarioReport> {
    println!("\n== {name} ==");
    let rss_before_kb = read_rss_kb(args.server_pid);
    let monitor = Monitor::start(args.server_pid, target.healthz_url.clone())?;
    let started = Instant::now();
    let answers = scenario.await;
    let elapsed = started.elapsed();
    // Joining the watcher threads blocks until in-flight health checks end.
    let observation = tokio::task::spawn_blocking(move || monitor.finish()).await?;
    tokio::time::sleep(Duration::from_secs(args.settle_secs)).await;
    let rss_after_kb = read_rss_kb(args.server_pid);
    let answers = answers?;
    println!(
        "{name}: {answers}\n  RSS before {} MB, peak {} MB, {} s after {} MB; {:.1} s",
        megabytes(rss_before_kb),
        megabytes(observation.peak_rss_kb),
        args.settle_secs,
        megabytes(rss_after_kb),
        elapsed.as_secs_f64()
    );
    Ok(ScenarioReport {
        name: name.to_owned(),
        answers,
        peak_rss_kb: observation.peak_rss_kb,
        rss_after_kb,
        health: observation.health,
        elapsed,
    })
}

pub async fn bomb(args: &Args, target: &Target) -> Result<Vec<ScenarioReport>> {
    let built = Instant::now();
    let bomb = build_bomb(args.bomb_lines)?;
    println!(
        "\nbomb: {} KB gzip inflating to {:.1} MB ({} lines) built in {:.1} s",
        bomb.gzip.len() / 1024,
        bomb.inflated_bytes as f64 / 1e6,
        bomb.lines,
        built.elapsed().as_secs_f64()
    );
    let timeout = Duration::from_secs(args.request_timeout_secs);
    let valid_auth = Target::auth_header(&target.public_key);
    let waves = [("bomb-noauth", None), ("bomb-auth", Some(valid_auth.as_str()))];
    let mut reports = Vec::new();
    for (name, auth) in waves {
        let wave = async {
            Ok(post_wave(target, &bomb, args.bomb_requests, auth, timeout)
                .await?
                .summary())
        };
        reports.push(observe(name, args, target, wave).await?);
    }
    Ok(reports)
}

pub async fn bodies(args: &Args, target: &Target) -> Result<Vec<ScenarioReport>> {
    let wrong_auth = Target::auth_header(&Target::wrong_key());
    let waves = [("bodies-noauth", None), ("bodies-badkey", Some(wrong_auth.as_str()))];
    let mut reports = Vec::new();
    for (name, auth) in waves {
        let upload = Arc::new(Upload {
            address: target.address,
            head: upload_head(&target.envelope_path, &target.host_header, auth),
            body_bytes: args.body_mib * 1024 * 1024,
            timeout: Duration::from_secs(args.request_timeout_secs),
        });
        let wave = async { Ok(describe_uploads(&upload_all(upload, args.body_sockets).await)) };
        reports.push(observe(name, args, target, wave).await?);
    }
    Ok(reports)
}

pub async fn slowloris(args: &Args, target: &Target) -> Result<ScenarioReport> {
    let request_head = Arc::new(slowloris_head(&target.envelope_path, &target.host_header));
    let behaviour = Behaviour::Slowloris { request_head };
    let crowd = async {
        let censuses = hold_crowd(args, target, args.slowloris_sockets, behaviour, false).await;
        Ok(censuses)
    };
    observe("slowloris", args, target, crowd).await
}

pub async fn idle(args: &Args, target: &Target) -> Result<ScenarioReport> {
    let crowd = async { Ok(hold_crowd(args, target, args.idle_sockets, Behaviour::Idle, true).await) };
    observe("idle", args, target, crowd).await
}

/// Gathers the crowd, counts it at each checkpoint (with a fresh `/healthz` when asked), then lets it go.
async fn hold_crowd(args: &Args, target: &Target, sockets: usize, behaviour: Behaviour, probe_health: bool) -> String {
    let (crowd, mut tasks) = Crowd::gather(target.address, sockets, behaviour);
    let server_port = target.address.port();
    let client = fresh_connection_client().ok();
    let started = Instant::now();
    let mut censuses: Vec<Census> = Vec::new();
    let mut fresh_checks = Vec::new();
    for &checkpoint in &args.checkpoints {
        tokio::time::sleep_until((started + Duration::from_secs(checkpoint)).into()).await;
        let census = crowd.census(established_on_port(server_port));
        let mut line = format!(
            "  at {:>4.1} s: {} connected, {} connect failures, {} open ({} established server-side), {} answers",
            census.at.as_secs_f64(),
            census.connected,
            census.connect_failed,
            census.open,
            census.server_side.map_or("n/a".to_owned(), |count| count.to_string()),
            census.answered
        );
        if let (true, Some(client)) = (probe_health, &client) {
            let check = check_health(client, &target.healthz_url).await;
            let verdict = format!(
                "{} {:.0}ms",
                if check.ok { "ok" } else { "FAIL" },
                check.latency.as_secs_f64() * 1e3
            );
            line.push_str(&format!("; fresh /healthz {verdict}"));
            fresh_checks.push(verdict);
        }
        println!("{line}");
        censuses.push(census);
    }
    tasks.shutdown().await;
    let closures = crowd.closure_span().map_or("none closed".to_owned(), |(first, last)| {
        format!("closed {:.1}-{:.1}s", first.as_secs_f64(), last.as_secs_f64())
    });
    let connected = censuses.last().map_or(0, |census| census.connected);
    let mut answers = format!("{connected} conn, {}, {closures}", describe_censuses(&censuses));
    if !fresh_checks.is_empty() {
        answers.push_str(&format!(", fresh hz {}", fresh_checks.join("/")));
    }
    answers
}
