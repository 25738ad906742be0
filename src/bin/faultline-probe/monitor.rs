//! What is watched while a scenario runs: the server's resident memory and how a well-behaved client fares.
//!
//! Both watchers run on their own OS threads so that the scenario's thousands of sockets on the main
//! runtime cannot delay a sample or inflate a health-check latency.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use reqwest::Url;

const RSS_SAMPLE_INTERVAL: Duration = Duration::from_millis(50);
const HEALTH_CHECK_INTERVAL: Duration = Duration::from_millis(100);
/// A check that takes longer counts as failed; it also bounds how long `finish` waits for stragglers.
const HEALTH_CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// What a user would call "the server hangs".
pub const SLOW_HEALTH_CHECK: Duration = Duration::from_secs(1);

/// The server's VmRSS in kB, or `None` once the process is gone.
pub fn read_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status_field_kb(&status, "VmRSS:")
}

fn status_field_kb(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find_map(|line| line.strip_prefix(field))?;
    line.split_whitespace().next()?.parse().ok()
}

/// ESTABLISHED TCP connections whose local port is `port`, i.e. the server's side of its connections
/// (the server must run on this machine anyway for its RSS). A client's connect can succeed while the
/// server never accepts it (accept-queue overflow); only this count tells those phantoms apart.
pub fn established_on_port(port: u16) -> Option<usize> {
    let tables = ["/proc/net/tcp", "/proc/net/tcp6"].map(std::fs::read_to_string);
    if tables.iter().all(Result::is_err) {
        return None;
    }
    let count = tables
        .iter()
        .flatten()
        .map(|table| count_established(table, port))
        .sum();
    Some(count)
}

fn count_established(table: &str, port: u16) -> usize {
    const ESTABLISHED: &str = "01";
    let local_port = |address: &str| {
        address
            .rsplit_once(':')
            .and_then(|(_, hex)| u16::from_str_radix(hex, 16).ok())
    };
    table
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .filter(|fields| fields.len() > 3 && fields[3] == ESTABLISHED && local_port(fields[1]) == Some(port))
        .count()
}

/// One `/healthz` request: how long it took and whether it answered 200.
#[derive(Debug, Clone, Copy)]
pub struct HealthCheck {
    pub latency: Duration,
    pub ok: bool,
}

/// A fresh client that never reuses a connection: each check must be accepted by the server anew,
/// which is exactly what socket-hoarding scenarios threaten.
pub fn fresh_connection_client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(HEALTH_CHECK_TIMEOUT)
        .build()?)
}

pub async fn check_health(client: &reqwest::Client, url: &Url) -> HealthCheck {
    let started = Instant::now();
    let ok = match client.get(url.clone()).send().await {
        Ok(response) => response.status().is_success() && response.bytes().await.is_ok(),
        Err(_) => false,
    };
    HealthCheck {
        latency: started.elapsed(),
        ok,
    }
}

/// The health checks of one scenario, summarized.
#[derive(Debug, Clone, Default)]
pub struct HealthSummary {
    pub checks: usize,
    pub failed: usize,
    pub slow: usize,
    pub max: Duration,
    pub p99: Duration,
}

impl HealthSummary {
    pub fn of(checks: &[HealthCheck]) -> Self {
        let mut latencies: Vec<Duration> = checks.iter().map(|check| check.latency).collect();
        latencies.sort_unstable();
        let p99 = match latencies.len() {
            0 => Duration::ZERO,
            count => latencies[(count * 99).div_ceil(100) - 1],
        };
        HealthSummary {
            checks: checks.len(),
            failed: checks.iter().filter(|check| !check.ok).count(),
            slow: latencies.iter().filter(|&&latency| latency > SLOW_HEALTH_CHECK).count(),
            max: latencies.last().copied().unwrap_or_default(),
            p99,
        }
    }
}

/// What the watchers saw during one scenario.
pub struct Observation {
    pub peak_rss_kb: Option<u64>,
    pub health: HealthSummary,
}

/// Samples VmRSS every 50 ms and `/healthz` every 100 ms until finished.
pub struct Monitor {
    stop: Arc<AtomicBool>,
    rss_thread: JoinHandle<Option<u64>>,
    health_thread: JoinHandle<Vec<HealthCheck>>,
}

impl Monitor {
    pub fn start(server_pid: u32, healthz_url: Url) -> Result<Self> {
        read_rss_kb(server_pid).with_context(|| format!("cannot read VmRSS of process {server_pid}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let rss_stop = stop.clone();
        let rss_thread = std::thread::spawn(move || sample_peak_rss(server_pid, &rss_stop));
        let health_stop = stop.clone();
        let health_thread = std::thread::spawn(move || poll_health(healthz_url, &health_stop));
        Ok(Monitor {
            stop,
            rss_thread,
            health_thread,
        })
    }

    /// Stops both watchers; waits for health checks still in flight (at most their timeout).
    pub fn finish(self) -> Observation {
        self.stop.store(true, Ordering::Relaxed);
        let peak_rss_kb = self.rss_thread.join().unwrap_or(None);
        let checks = self.health_thread.join().unwrap_or_default();
        Observation {
            peak_rss_kb,
            health: HealthSummary::of(&checks),
        }
    }
}

/// VmHWM would be the process's lifetime peak, not this scenario's, so the peak is the largest sample.
fn sample_peak_rss(pid: u32, stop: &AtomicBool) -> Option<u64> {
    let mut peak_kb = None;
    while !stop.load(Ordering::Relaxed) {
        peak_kb = peak_kb.max(read_rss_kb(pid));
        std::thread::sleep(RSS_SAMPLE_INTERVAL);
    }
    peak_kb
}

fn poll_health(url: Url, stop: &AtomicBool) -> Vec<HealthCheck> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
    let (Ok(runtime), Ok(client)) = (runtime, fresh_connection_client()) else {
        return Vec::new();
    };
    runtime.block_on(async {
        let checks = Arc::new(Mutex::new(Vec::new()));
        let mut in_flight = tokio::task::JoinSet::new();
        let mut ticks = tokio::time::interval(HEALTH_CHECK_INTERVAL);
        // One check per tick even when the previous one hangs: a stalled server shows as many slow checks.
        while !stop.load(Ordering::Relaxed) {
            ticks.tick().await;
            let (client, url, checks) = (client.clone(), url.clone(), checks.clone());
            in_flight.spawn(async move {
                let check = check_health(&client, &url).await;
                checks.lock().expect("health log").push(check);
            });
            while in_flight.try_join_next().is_some() {}
        }
        in_flight.join_all().await;
        let checks = checks.lock().expect("health log").clone();
        checks
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(millis: u64, ok: bool) -> HealthCheck {
        HealthCheck {
            latency: Duration::from_millis(millis),
            ok,
        }
    }

    #[test]
    fn summary_counts_failures_and_slow_checks_and_takes_the_99th_percentile() {
        let mut checks: Vec<HealthCheck> = (1..=200).map(|millis| check(millis, true)).collect();
        checks.push(check(1500, true));
        checks.push(check(5000, false));
        let summary = HealthSummary::of(&checks);
        assert_eq!(summary.checks, 202);
        assert_eq!(summary.failed, 1);
        assert_eq!(summary.slow, 2);
        assert_eq!(summary.max, Duration::from_millis(5000));
        assert_eq!(summary.p99, Duration::from_millis(200));
    }

    #[test]
    fn summary_of_no_checks_is_zero() {
        let summary = HealthSummary::of(&[]);
        assert_eq!(
            (summary.checks, summary.max, summary.p99),
            (0, Duration::ZERO, Duration::ZERO)
        );
    }

    #[test]
    fn established_connections_are_counted_by_local_port() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue\n\
            0: 0100007F:1F4C 0100007F:9C40 01 00000000:00000000\n\
            1: 0100007F:9C40 0100007F:1F4C 01 00000000:00000000\n\
            2: 0100007F:1F4C 00000000:0000 0A 00000000:00000000\n";
        assert_eq!(count_established(table, 8012), 1);
        assert_eq!(count_established(table, 40000), 1);
        assert!(established_on_port(1).is_some());
    }

    #[test]
    fn vmrss_is_read_in_kilobytes() {
        let status = "Name:\tfaultline\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!(status_field_kb(status, "VmRSS:"), Some(10240));
        assert!(read_rss_kb(std::process::id()).is_some_and(|kb| kb > 0));
    }
}
