//! Ingest benchmark: replays recorded real-SDK envelopes (gzip, fresh ids and times) against a running Faultline
//! and reports acknowledged requests, what the server stored (error events) and rolled up (transactions) per
//! second, latency percentiles and the server's peak RSS. Three loads: errors (the Python SDK corpus), the
//! Django shop's transactions (`--transactions`), or errors with transactions beside them at a multiple of
//! their rate (`--transaction-ratio`). Standalone: it talks to the server over HTTP only. With the server's pid
//! in `$PID`: `faultline-bench --dsn http://0123456789abcdef0123456789abcdef@127.0.0.1:8000/1 --server-pid $PID`

// A benchmark tool: its tasks live as long as its one run.
#![allow(clippy::disallowed_methods)]

#[path = "faultline-bench/corpus.rs"]
mod corpus;
#[path = "faultline-bench/probes.rs"]
mod probes;
#[path = "faultline-bench/refresh.rs"]
mod refresh;
#[path = "faultline-bench/report.rs"]
mod report;
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

use corpus::Kind;
use probes::{Counters, Progress, RssSampler};
use send::{SendPlan, SendStats};

const CLIENT_NAME: &str = "faultline-bench/0.1";

/// Replay recorded real-SDK envelopes against a running Faultline server and report its ingest throughput.
#[derive(Parser, Debug)]
#[command(name = "faultline-bench", version)]
struct Args {
    /// DSN of the target project, e.g. http://0123456789abcdef0123456789abcdef@127.0.0.1:8000/1
    #[arg(long, env = "FAULTLINE_BENCH_DSN")]
    dsn: String,
    /// Directory whose `*.envelope` files' error events are replayed instead of the Python SDK corpus compiled in.
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// Replay transactions (the Django shop's, compiled in) instead of errors; the rate that counts is then
    /// transactions rolled up per second.
    #[arg(long, conflicts_with_all = ["corpus", "transaction_ratio"])]
    transactions: bool,
    /// Directory whose `*.envelope` files' transaction items are replayed instead of the Django shop's.
    #[arg(long)]
    transaction_corpus: Option<PathBuf>,
    /// Mixed load: besides the errors, send transactions at this many times `--rate` (and `--events`), from
    /// workers of their own; errors and transactions are reported apart.
    #[arg(long, requires = "rate")]
    transaction_ratio: Option<f64>,
    /// Requests in flight at once for the transactions of `--transaction-ratio` [default: --concurrency].
    #[arg(long)]
    transaction_concurrency: Option<usize>,
    /// Total number of envelopes to send (prepared before sending).
    #[arg(long, default_value_t = 50_000)]
    events: usize,
    /// Number of requests in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Target overall rate in envelopes/s; without it, they are sent as fast as possible.
    #[arg(long)]
    rate: Option<f64>,
    /// Stop sending after this many seconds, even if prepared envelopes are left.
    #[arg(long)]
    duration: Option<f64>,
    /// PID of the server, whose resident memory (VmRSS, VmHWM) is sampled every 50 ms.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Prometheus endpoint exposing `faultline_events_stored_total` and `faultline_transactions_rolled_up_total`
    /// [default: http://host:port/metrics of the DSN].
    #[arg(long)]
    metrics_url: Option<String>,
    /// Also listen here as the webhook that alert rules send to (see `faultline bench-rules`), and report
    /// how many alert messages arrived.
    #[arg(long)]
    sink: Option<std::net::SocketAddr>,
    /// Write every request of the first stream here as CSV `unix_ms,latency_ms,status` (when it began;
    /// status 0: no answer), so a script can take percentiles over a window of its own (e.g. while a
    /// retention sweep runs).
    #[arg(long)]
    timeline: Option<PathBuf>,
}

/// Where envelopes go and where the counters are read, derived from the DSN.
struct Target {
    envelope_url: Url,
    metrics_url: Url,
    public_key: String,
}

/// One stream of envelopes: errors or transactions, with its own count, rate and workers.
struct Stream {
    kind: Kind,
    corpus: Option<PathBuf>,
    events: usize,
    rate: Option<f64>,
    concurrency: usize,
}

/// What one stream's requests got back.
struct StreamOutcome {
    stream: Stream,
    stats: SendStats,
}

/// Everything measured during one run.
struct Outcome {
    /// The first stream (errors, or transactions alone), then the transactions beside the errors, if any.
    streams: Vec<StreamOutcome>,
    elapsed: Duration,
    progress: Option<Progress>,
    peak_rss_kb: Option<u64>,
    alert_messages: Option<usize>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let streams = plan_streams(&args)?;
    let target = parse_target(&args.dsn, args.metrics_url.as_deref())?;
    let bodies = streams.iter().map(prepare_bodies).collect::<Result<Vec<_>>>()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let outcome = runtime.block_on(measure(&args, &target, streams.into_iter().zip(bodies).collect()))?;
    report::print_report(&args, &target, &outcome);
    if outcome.streams.iter().all(|stream| stream.stats.acked == 0) {
        bail!("no envelope was acknowledged");
    }
    Ok(())
}

/// The streams the arguments ask for: errors or transactions, and with `--transaction-ratio` transactions
/// beside the errors.
fn plan_streams(args: &Args) -> Result<Vec<Stream>> {
    let positive = |value: Option<f64>| value.map_or(true, |value| value > 0.0);
    if args.events == 0 || args.concurrency == 0 || args.transaction_concurrency == Some(0) {
        bail!("--events and the concurrencies must be at least 1");
    }
    if !positive(args.rate) || !positive(args.duration) || !positive(args.transaction_ratio) {
        bail!("--rate, --duration and --transaction-ratio must be positive");
    }
    let first_kind = if args.transactions {
        Kind::Transactions
    } else {
        Kind::Errors
    };
    let mut streams = vec![Stream {
        kind: first_kind,
        corpus: corpus_dir(args, first_kind),
        events: args.events,
        rate: args.rate,
        concurrency: args.concurrency,
    }];
    if let Some(ratio) = args.transaction_ratio {
        streams.push(Stream {
            kind: Kind::Transactions,
            corpus: corpus_dir(args, Kind::Transactions),
            events: ((args.events as f64 * ratio).round() as usize).max(1),
            rate: args.rate.map(|rate| rate * ratio),
            concurrency: args.transaction_concurrency.unwrap_or(args.concurrency),
        });
    }
    Ok(streams)
}

fn corpus_dir(args: &Args, kind: Kind) -> Option<PathBuf> {
    match kind {
        Kind::Errors => args.corpus.clone(),
        Kind::Transactions => args.transaction_corpus.clone(),
    }
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

fn prepare_bodies(stream: &Stream) -> Result<Vec<Bytes>> {
    let started = Instant::now();
    let corpus = corpus::load(stream.kind, stream.corpus.as_deref())?;
    let bodies = corpus::build_bodies(&corpus, stream.events)?;
    let total_bytes: usize = bodies.iter().map(Bytes::len).sum();
    println!(
        "prepared {} {} bodies from {} corpus items in {:.2} s (average {:.0} bytes gzip)",
        bodies.len(),
        stream.kind.label(),
        corpus.len(),
        started.elapsed().as_secs_f64(),
        total_bytes as f64 / bodies.len() as f64
    );
    Ok(bodies)
}

async fn measure(args: &Args, target: &Target, streams: Vec<(Stream, Vec<Bytes>)>) -> Result<Outcome> {
    let concurrency: usize = streams.iter().map(|(stream, _)| stream.concurrency).sum();
    let client = reqwest::Client::builder()
        .user_agent(CLIENT_NAME)
        .pool_max_idle_per_host(concurrency)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()?;
    let sink = match args.sink {
        Some(address) => Some(sink::Sink::start(address).await?),
        None => None,
    };
    let counters_before = read_counters_or_warn(&client, &target.metrics_url).await;
    let sampler = args.server_pid.map(RssSampler::start).transpose()?;
    let auth = format!(
        "Sentry sentry_version=7, sentry_key={}, sentry_client={CLIENT_NAME}",
        target.public_key
    );
    let auth = HeaderValue::from_str(&auth).context("the DSN key is not a valid header value")?;
    let start = Instant::now();
    let deadline = args.duration.map(|seconds| start + Duration::from_secs_f64(seconds));
    let plans: Vec<(Stream, Arc<SendPlan>)> = streams
        .into_iter()
        .map(|(stream, bodies)| {
            let plan = SendPlan {
                client: client.clone(),
                envelope_url: target.envelope_url.clone(),
                auth: auth.clone(),
                bodies,
                next: AtomicUsize::new(0),
                start,
                rate: stream.rate,
                deadline,
            };
            (stream, Arc::new(plan))
        })
        .collect();
    let start_unix_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis());
    let total: usize = plans.iter().map(|(_, plan)| plan.bodies.len()).sum();
    println!("sending {total} envelopes to {} ...", target.envelope_url);
    let phases = plans
        .iter()
        .map(|(stream, plan)| send::run_send_phase(plan.clone(), stream.concurrency));
    let all_stats = futures::future::try_join_all(phases).await?;
    let elapsed = start.elapsed();
    if let Some(path) = &args.timeline {
        write_timeline(path, start_unix_ms, &all_stats[0].timeline)
            .with_context(|| format!("cannot write the timeline {}", path.display()))?;
    }
    let progress = match counters_before {
        Some(before) => probes::wait_for_settled(&client, &target.metrics_url, before, start)
            .await
            .inspect_err(|error| eprintln!("warning: the server's counters were lost: {error:#}"))
            .ok(),
        None => None,
    };
    let peak_rss_kb = sampler.map(RssSampler::finish);
    if sink.is_some() {
        // The notifier sends after the commit; give the last alert messages a moment to arrive.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let streams = plans
        .into_iter()
        .zip(all_stats)
        .map(|((stream, _), stats)| StreamOutcome { stream, stats })
        .collect();
    Ok(Outcome {
        streams,
        elapsed,
        progress,
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

/// A missing /metrics only costs the stored and rolled-up rates, so the run goes on without them.
async fn read_counters_or_warn(client: &reqwest::Client, metrics_url: &Url) -> Option<Counters> {
    probes::read_counters(client, metrics_url)
        .await
        .inspect_err(|error| {
            eprintln!("warning: cannot read {metrics_url}: {error:#}; stored and rolled-up rates are not measured");
        })
        .ok()
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

    fn args(extra: &[&str]) -> Args {
        let dsn = ["faultline-bench", "--dsn", "http://k@h:1/1"];
        Args::try_parse_from(dsn.iter().chain(extra)).expect("valid arguments")
    }

    #[test]
    fn a_transaction_ratio_adds_a_transaction_stream_at_that_multiple() {
        let streams = plan_streams(&args(&[
            "--events",
            "1000",
            "--rate",
            "500",
            "--transaction-ratio",
            "5",
            "--concurrency",
            "8",
        ]))
        .expect("plan");
        let shape: Vec<_> = streams
            .iter()
            .map(|s| (s.kind, s.events, s.rate, s.concurrency))
            .collect();
        assert_eq!(
            shape,
            [
                (Kind::Errors, 1000, Some(500.0), 8),
                (Kind::Transactions, 5000, Some(2500.0), 8)
            ]
        );
    }

    #[test]
    fn transactions_alone_are_one_stream_and_a_ratio_needs_a_rate() {
        let streams = plan_streams(&args(&["--transactions"])).expect("plan");
        assert_eq!(streams.len(), 1);
        assert_eq!(streams[0].kind, Kind::Transactions);
        let dsn = ["faultline-bench", "--dsn", "http://k@h:1/1", "--transaction-ratio", "5"];
        assert!(Args::try_parse_from(dsn).is_err());
        assert!(plan_streams(&args(&["--duration", "0"])).is_err());
    }

    #[test]
    fn dsn_without_key_or_project_is_rejected() {
        assert!(parse_target("http://127.0.0.1:8000/1", None).is_err());
        assert!(parse_target("http://key@127.0.0.1:8000/", None).is_err());
        assert!(parse_target("ftp://key@127.0.0.1/1", None).is_err());
    }
}
