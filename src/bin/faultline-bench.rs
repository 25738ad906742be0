//! Ingest benchmark: replays the real-SDK corpus (gzip, fresh event ids and timestamps) against a running Faultline
//! and reports acknowledged and stored events/s, latency percentiles and the server's peak RSS. Standalone: it talks
//! to the server over HTTP only. Example, with the server's pid in `$PID`:
//! `faultline-bench --dsn http://0123456789abcdef0123456789abcdef@127.0.0.1:8000/1 --events 50000 --server-pid $PID`

// A benchmark tool: its tasks live as long as its one run.
#![allow(clippy::disallowed_methods)]

#[path = "faultline-bench/corpus.rs"]
mod corpus;
#[path = "faultline-bench/probes.rs"]
mod probes;
#[path = "faultline-bench/send.rs"]
mod send;
#[path = "faultline-bench/sink.rs"]
mod sink;

use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use clap::Parser;
use reqwest::header::HeaderValue;
use reqwest::Url;

use probes::{RssSampler, StoredProgress};
use send::{SendPlan, SendStats};

const CLIENT_NAME: &str = "faultline-bench/0.1";

/// Replay the real-SDK corpus against a running Faultline server and report its ingest throughput.
#[derive(Parser, Debug)]
#[command(name = "faultline-bench", version)]
struct Args {
    /// DSN of the target project, e.g. http://0123456789abcdef0123456789abcdef@127.0.0.1:8000/1
    #[arg(long, env = "FAULTLINE_BENCH_DSN")]
    dsn: String,
    /// Directory whose `*.envelope` files are replayed instead of the Python SDK corpus compiled in.
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// Total number of envelopes to send.
    #[arg(long, default_value_t = 50_000)]
    events: usize,
    /// Number of requests in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Target overall rate in events/s; without it, events are sent as fast as possible.
    #[arg(long)]
    rate: Option<f64>,
    /// PID of the server, whose resident memory (VmRSS, VmHWM) is sampled every 50 ms.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Prometheus endpoint exposing `faultline_events_stored_total` [default: http://host:port/metrics of the DSN].
    #[arg(long)]
    metrics_url: Option<String>,
    /// Also listen here as the webhook that alert rules send to (see `faultline bench-rules`), and report
    /// how many alert messages arrived.
    #[arg(long)]
    sink: Option<std::net::SocketAddr>,
    /// Write every request here as CSV `unix_ms,latency_ms,status` (when it began; status 0: no answer), so a
    /// script can take percentiles over a window of its own (e.g. while a retention sweep runs).
    #[arg(long)]
    timeline: Option<PathBuf>,
}

/// Where envelopes go and where the stored counter is read, derived from the DSN.
struct Target {
    envelope_url: Url,
    metrics_url: Url,
    public_key: String,
}

/// Everything measured during one run.
struct Outcome {
    stats: SendStats,
    elapsed: Duration,
    stored: Option<StoredProgress>,
    peak_rss_kb: Option<u64>,
    alert_messages: Option<usize>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.events == 0 || args.concurrency == 0 || args.rate.is_some_and(|rate| rate <= 0.0) {
        bail!("--events and --concurrency must be at least 1 and --rate must be positive");
    }
    let target = parse_target(&args.dsn, args.metrics_url.as_deref())?;
    let bodies = prepare_bodies(&args)?;
    let outcome = tokio::runtime::Runtime::new()?.block_on(measure(&args, &target, bodies))?;
    print_report(&args, &target, &outcome);
    if outcome.stats.acked == 0 {
        bail!("no event was acknowledged");
    }
    Ok(())
}

fn parse_target(dsn: &str, metrics_url: Option<&str>) -> Result<Target> {
    let mut base = Url::parse(dsn).with_context(|| format!("invalid DSN {dsn:?}"))?;
    if !matches!(base.scheme(), "http" | "https") {
        bail!("the DSN must be an http(s) URL");
    }
    let public_key = base.username().to_owned();
    if public_key.is_empty() {
        bail!("the DSN has no public key (expected http://KEY@host:port/PROJECT)");
    }
    let path = base.path().trim_end_matches('/').to_owned();
    let (prefix, project) = path.rsplit_once('/').context("the DSN has no project id")?;
    if project.is_empty() {
        bail!("the DSN has no project id");
    }
    // Cannot fail on an http(s) URL, which always has a host.
    let _ = base.set_username("");
    let _ = base.set_password(None);
    base.set_query(None);
    base.set_fragment(None);
    let mut envelope_url = base.clone();
    envelope_url.set_path(&format!("{prefix}/api/{project}/envelope/"));
    let metrics_url = match metrics_url {
        Some(url) => Url::parse(url).with_context(|| format!("invalid --metrics-url {url:?}"))?,
        None => {
            base.set_path("/metrics");
            base
        }
    };
    Ok(Target {
        envelope_url,
        metrics_url,
        public_key,
    })
}

fn prepare_bodies(args: &Args) -> Result<Vec<Bytes>> {
    let started = Instant::now();
    let corpus = match &args.corpus {
        Some(dir) => corpus::load_corpus(dir)?,
        None => corpus::embedded_corpus()?,
    };
    let bodies = corpus::build_bodies(&corpus, args.events)?;
    let total_bytes: usize = bodies.iter().map(Bytes::len).sum();
    println!(
        "prepared {} bodies from {} corpus envelopes in {:.2} s (average {:.0} bytes gzip)",
        bodies.len(),
        corpus.len(),
        started.elapsed().as_secs_f64(),
        total_bytes as f64 / bodies.len() as f64
    );
    Ok(bodies)
}

async fn measure(args: &Args, target: &Target, bodies: Vec<Bytes>) -> Result<Outcome> {
    let client = reqwest::Client::builder()
        .user_agent(CLIENT_NAME)
        .pool_max_idle_per_host(args.concurrency)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()?;
    let sink = match args.sink {
        Some(address) => Some(sink::Sink::start(address).await?),
        None => None,
    };
    let stored_before = read_stored_or_warn(&client, &target.metrics_url).await;
    let sampler = args.server_pid.map(RssSampler::start).transpose()?;
    let auth = format!(
        "Sentry sentry_version=7, sentry_key={}, sentry_client={CLIENT_NAME}",
        target.public_key
    );
    let plan = Arc::new(SendPlan {
        client: client.clone(),
        envelope_url: target.envelope_url.clone(),
        auth: HeaderValue::from_str(&auth).context("the DSN key is not a valid header value")?,
        bodies,
        next: AtomicUsize::new(0),
        start: Instant::now(),
        rate: args.rate,
    });
    let start_unix_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis());
    println!("sending {} envelopes to {} ...", plan.bodies.len(), target.envelope_url);
    let stats = send::run_send_phase(plan.clone(), args.concurrency).await?;
    let elapsed = plan.start.elapsed();
    if let Some(path) = &args.timeline {
        write_timeline(path, start_unix_ms, &stats.timeline)
            .with_context(|| format!("cannot write the timeline {}", path.display()))?;
    }
    let stored = match stored_before {
        Some(before) => probes::wait_for_stored(&client, &target.metrics_url, before, plan.start)
            .await
            .inspect_err(|error| eprintln!("warning: stored counter lost: {error:#}"))
            .ok(),
        None => None,
    };
    let peak_rss_kb = sampler.map(RssSampler::finish);
    if sink.is_some() {
        // The notifier sends after the commit; give the last alert messages a moment to arrive.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    Ok(Outcome {
        stats,
        elapsed,
        stored,
        peak_rss_kb,
        alert_messages: sink.map(|sink| sink.received()),
    })
}

/// One line per request, in the order they began.
fn write_timeline(path: &std::path::Path, start_unix_ms: u128, timeline: &[send::Sample]) -> Result<()> {
    use std::io::Write;
    let mut samples = timeline.to_vec();
    samples.sort_by_key(|sample| sample.began_ms);
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for sample in samples {
        writeln!(
            out,
            "{},{:.3},{}",
            start_unix_ms + u128::from(sample.began_ms),
            f64::from(sample.latency_us) / 1000.0,
            sample.status
        )?;
    }
    out.flush()?;
    Ok(())
}

/// A missing /metrics only costs the stored rate, so the run goes on without it.
async fn read_stored_or_warn(client: &reqwest::Client, metrics_url: &Url) -> Option<f64> {
    probes::read_stored(client, metrics_url)
        .await
        .inspect_err(|error| {
            eprintln!("warning: cannot read {metrics_url}: {error:#}; stored events/s is not measured");
        })
        .ok()
}

/// Unknown values print as `n/a`, also in the RESULT line.
fn or_na(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "n/a".to_owned(), |value| format!("{value:.decimals$}"))
}

fn print_report(args: &Args, target: &Target, outcome: &Outcome) {
    let stats = &outcome.stats;
    let acked_per_s = stats.acked as f64 / outcome.elapsed.as_secs_f64();
    let latency = |fraction| or_na(stats.latency_ms(fraction), 2);
    let stored = or_na(outcome.stored.as_ref().map(|stored| stored.delta), 0);
    let stored_per_s = or_na(outcome.stored.as_ref().map(|stored| stored.per_second), 1);
    let peak_rss_mb = or_na(outcome.peak_rss_kb.map(|kb| kb as f64 / 1024.0), 1);
    let first_error = stats
        .first_error
        .as_deref()
        .map_or(String::new(), |e| format!(" (first: {e})"));
    println!("\n== faultline-bench ==");
    println!(
        "target          {} (metrics {})",
        target.envelope_url, target.metrics_url
    );
    println!(
        "parameters      events={} concurrency={} rate={} corpus={}",
        args.events,
        args.concurrency,
        or_na(args.rate, 0),
        args.corpus
            .as_deref()
            .map_or("python (compiled in)".into(), |dir| dir.display().to_string())
    );
    println!("sent            {}", stats.sent());
    println!("acknowledged    {} (2xx)", stats.acked);
    println!("rejected (429)  {}", stats.rejected_429);
    println!("other statuses  {:?}", stats.other_statuses);
    println!("errors          {}{first_error}", stats.errors);
    println!("elapsed         {:.3} s", outcome.elapsed.as_secs_f64());
    println!("acked/s         {acked_per_s:.1}");
    println!("stored          {stored} events, stored/s {stored_per_s}");
    println!(
        "latency (2xx)   p50 {} ms, p90 {} ms, p99 {} ms, max {} ms",
        latency(0.5),
        latency(0.9),
        latency(0.99),
        latency(1.0)
    );
    println!("peak RSS        {peak_rss_mb} MB");
    if let Some(messages) = outcome.alert_messages {
        println!("alert messages  {messages} received by the sink");
    }
    print_result_line(stats, acked_per_s, &stored_per_s, &peak_rss_mb);
}

/// One line for scripts: `key=value` pairs, unknown values as `n/a`.
fn print_result_line(stats: &SendStats, acked_per_s: f64, stored_per_s: &str, peak_rss_mb: &str) {
    let latency = |fraction| or_na(stats.latency_ms(fraction), 2);
    println!(
        "RESULT acked_per_s={acked_per_s:.1} stored_per_s={stored_per_s} p50_ms={} p99_ms={} \
         peak_rss_mb={peak_rss_mb} sent={} acked={} rejected_429={} errors={}",
        latency(0.5),
        latency(0.99),
        stats.sent(),
        stats.acked,
        stats.rejected_429,
        stats.errors
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dsn_yields_envelope_url_metrics_url_and_key() {
        let target = parse_target("http://0123abcd@127.0.0.1:8000/1", None).expect("valid DSN");
        assert_eq!(target.envelope_url.as_str(), "http://127.0.0.1:8000/api/1/envelope/");
        assert_eq!(target.metrics_url.as_str(), "http://127.0.0.1:8000/metrics");
        assert_eq!(target.public_key, "0123abcd");
    }

    #[test]
    fn dsn_path_prefix_stays_before_api() {
        let target = parse_target("https://key@errors.example.com/sentry/42", None).expect("valid");
        assert_eq!(
            target.envelope_url.as_str(),
            "https://errors.example.com/sentry/api/42/envelope/"
        );
        assert_eq!(target.metrics_url.as_str(), "https://errors.example.com/metrics");
    }

    #[test]
    fn explicit_metrics_url_wins() {
        let target = parse_target("http://k@h:1/1", Some("http://h:2/m")).expect("valid");
        assert_eq!(target.metrics_url.as_str(), "http://h:2/m");
    }

    #[test]
    fn dsn_without_key_or_project_is_rejected() {
        assert!(parse_target("http://127.0.0.1:8000/1", None).is_err());
        assert!(parse_target("http://key@127.0.0.1:8000/", None).is_err());
        assert!(parse_target("ftp://key@127.0.0.1/1", None).is_err());
    }
}
