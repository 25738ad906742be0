//! Hostile-client probe: replays attacks on the ingest endpoint against a running Faultline, over HTTP/TCP
//! only, and reports per scenario what the server answered, its peak and settled resident memory (VmRSS
//! sampled every 50 ms) and how `/healthz` fared for a well-behaved client polling every 100 ms.
//!
//! Scenarios: `bomb` (a small gzip body of millions of one-line items, unauthenticated then with the valid
//! key), `slowloris` (headers dribbled a byte a second), `idle` (thousands of silent connections) and
//! `bodies` (uploads just under the size cap with no or a wrong key). `flood` is not replayed here: the
//! overload curve is measured by `faultline-bench --concurrency 64|1000|6000`.
//!
//! Example, with the server's pid in `$PID`:
//! `faultline-probe --dsn http://0123456789abcdef0123456789abcdef@127.0.0.1:8000/1 --server-pid $PID`

// A benchmark tool: its tasks live as long as its one run.
#![allow(clippy::disallowed_methods)]

#[path = "faultline-probe/bodies.rs"]
mod bodies;
#[path = "faultline-probe/bomb.rs"]
mod bomb;
#[path = "faultline-probe/crowd.rs"]
mod crowd;
#[path = "faultline-probe/monitor.rs"]
mod monitor;
#[path = "faultline-probe/report.rs"]
mod report;
#[path = "faultline-probe/scenarios.rs"]
mod scenarios;
#[path = "faultline-probe/target.rs"]
mod target;

use anyhow::{bail, Result};
use clap::{Parser, ValueEnum};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use report::{render_table, ScenarioReport};

const FLOOD_NOTE: &str = "flood: not replayed by this probe; measure the overload curve with \
                          `faultline-bench --concurrency 64|1000|6000`";

/// Replay hostile-client scenarios against a running Faultline and report answers, memory and health.
#[derive(Parser, Debug)]
#[command(name = "faultline-probe", version)]
pub struct Args {
    /// DSN of a project on the server under test; gives the address, project id and a valid key.
    #[arg(long, env = "FAULTLINE_PROBE_DSN")]
    dsn: String,
    /// PID of the server, whose VmRSS is sampled.
    #[arg(long)]
    server_pid: u32,
    #[arg(long, value_enum, default_value_t = Scenario::All)]
    scenario: Scenario,
    /// bomb: item lines the gzip body inflates to (13 bytes each).
    #[arg(long, default_value_t = 7_500_000)]
    bomb_lines: usize,
    /// bomb: simultaneous posts per wave.
    #[arg(long, default_value_t = 8)]
    bomb_requests: usize,
    /// slowloris: sockets dribbling header bytes.
    #[arg(long, default_value_t = 500)]
    slowloris_sockets: usize,
    /// idle: silent connections.
    #[arg(long, default_value_t = 10_000)]
    idle_sockets: usize,
    /// bodies: simultaneous uploads per wave.
    #[arg(long, default_value_t = 100)]
    body_sockets: usize,
    /// bodies: size of each upload in MiB (the server's default cap is 20).
    #[arg(long, default_value_t = 19)]
    body_mib: usize,
    /// slowloris and idle: seconds after the start at which open sockets are counted; the last ends the scenario.
    #[arg(long, value_delimiter = ',', default_value = "5,15,30")]
    checkpoints: Vec<u64>,
    /// Seconds between a scenario's end and the "RSS after" reading.
    #[arg(long, default_value_t = 5)]
    settle_secs: u64,
    /// bomb and bodies: how long one request may take before it counts as timed out.
    #[arg(long, default_value_t = 30)]
    request_timeout_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    All,
    Bomb,
    Slowloris,
    Idle,
    Bodies,
    Flood,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.checkpoints.is_empty() || args.checkpoints.windows(2).any(|pair| pair[0] >= pair[1]) {
        bail!("--checkpoints must be seconds in increasing order");
    }
    let open_files = rlimit::increase_nofile_limit(u64::MAX)?;
    if args.wants(Scenario::Idle) && open_files < args.idle_sockets as u64 + 1024 {
        eprintln!("warning: only {open_files} open files allowed; some idle sockets will fail to connect");
    }
    tokio::runtime::Runtime::new()?.block_on(run(&args))
}

impl Args {
    fn wants(&self, scenario: Scenario) -> bool {
        self.scenario == Scenario::All || self.scenario == scenario
    }
}

async fn run(args: &Args) -> Result<()> {
    let target = target::resolve_target(&args.dsn).await?;
    let started = OffsetDateTime::now_utc();
    let server_binary = std::fs::read_link(format!("/proc/{}/exe", args.server_pid));
    println!(
        "faultline-probe {} against {} (pid {}, {})",
        started.format(&Rfc3339)?,
        target.envelope_url,
        args.server_pid,
        server_binary.map_or_else(
            |error| format!("binary unknown: {error}"),
            |path| path.display().to_string()
        )
    );
    let mut reports: Vec<ScenarioReport> = Vec::new();
    if args.wants(Scenario::Bomb) {
        reports.extend(scenarios::bomb(args, &target).await?);
    }
    if args.wants(Scenario::Slowloris) {
        reports.push(scenarios::slowloris(args, &target).await?);
    }
    if args.wants(Scenario::Idle) {
        reports.push(scenarios::idle(args, &target).await?);
    }
    if args.wants(Scenario::Bodies) {
        reports.extend(scenarios::bodies(args, &target).await?);
    }
    if args.wants(Scenario::Flood) {
        println!("\n{FLOOD_NOTE}");
    }
    let total = OffsetDateTime::now_utc() - started;
    println!(
        "\n== summary ({:.0} s; hz = /healthz every 100 ms on fresh connections) ==",
        total.as_seconds_f64()
    );
    print!("{}", render_table(&reports));
    Ok(())
}
