//! What the benchmark observes of the server besides responses: its counters of stored events and of
//! transactions rolled up, and its resident memory.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use reqwest::Url;

const STORED_METRIC: &str = "faultline_events_stored_total";
const ROLLED_UP_METRIC: &str = "faultline_transactions_rolled_up_total";
const STORED_POLL_INTERVAL: Duration = Duration::from_millis(100);
const STORED_SETTLED_AFTER: Duration = Duration::from_secs(1);
const STORED_MAX_WAIT: Duration = Duration::from_secs(30);
const RSS_SAMPLE_INTERVAL: Duration = Duration::from_millis(50);

/// The server's two write counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counters {
    /// `faultline_events_stored_total`: error events, and the events of performance issues.
    pub events_stored: f64,
    /// `faultline_transactions_rolled_up_total`: transactions committed to the rollups.
    pub transactions_rolled_up: f64,
}

/// What one of the server's counters did during the run.
pub struct StoredProgress {
    pub delta: f64,
    pub per_second: f64,
}

/// What both counters did during the run.
pub struct Progress {
    pub events: StoredProgress,
    pub transactions: StoredProgress,
}

/// Samples a process's VmRSS on its own thread, so that a busy runtime cannot delay the samples.
pub struct RssSampler {
    pid: u32,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<u64>,
}

/// The server's write counters, each summed over all its samples.
pub async fn read_counters(client: &reqwest::Client, metrics_url: &Url) -> Result<Counters> {
    let response = client.get(metrics_url.clone()).send().await?.error_for_status()?;
    let exposition = response.text().await?;
    Ok(Counters {
        events_stored: sum_metric(&exposition, STORED_METRIC),
        transactions_rolled_up: sum_metric(&exposition, ROLLED_UP_METRIC),
    })
}

/// Sums every sample of `name` in a Prometheus text exposition, labelled or not; 0 when absent.
fn sum_metric(exposition: &str, name: &str) -> f64 {
    let sample_value = |line: &str| -> Option<f64> {
        let rest = line.trim_start().strip_prefix(name)?;
        let value_and_timestamp = match rest.strip_prefix('{') {
            // A label value may itself hold `}`, but the value and timestamp never do.
            Some(labelled) => labelled.rsplit_once('}')?.1,
            None if rest.starts_with(char::is_whitespace) => rest,
            None => return None,
        };
        value_and_timestamp.split_whitespace().next()?.parse().ok()
    };
    exposition.lines().filter_map(sample_value).sum()
}

/// Polls the counters until neither has grown for a second (at most 30 s); each rate runs from `send_start`
/// to the poll that saw that counter's last growth.
pub async fn wait_for_settled(
    client: &reqwest::Client,
    metrics_url: &Url,
    before: Counters,
    send_start: Instant,
) -> Result<Progress> {
    let polling_since = Instant::now();
    let mut value = read_counters(client, metrics_url).await?;
    let (mut events_grew, mut transactions_grew) = (polling_since, polling_since);
    while events_grew.max(transactions_grew).elapsed() < STORED_SETTLED_AFTER
        && polling_since.elapsed() < STORED_MAX_WAIT
    {
        tokio::time::sleep(STORED_POLL_INTERVAL).await;
        let current = read_counters(client, metrics_url).await?;
        if current.events_stored > value.events_stored {
            events_grew = Instant::now();
        }
        if current.transactions_rolled_up > value.transactions_rolled_up {
            transactions_grew = Instant::now();
        }
        value = current;
    }
    let progress = |delta: f64, grew: Instant| StoredProgress {
        delta,
        per_second: delta / grew.duration_since(send_start).as_secs_f64(),
    };
    Ok(Progress {
        events: progress(value.events_stored - before.events_stored, events_grew),
        transactions: progress(
            value.transactions_rolled_up - before.transactions_rolled_up,
            transactions_grew,
        ),
    })
}

impl RssSampler {
    /// Starts sampling every 50 ms; fails when the process's status cannot be read.
    pub fn start(pid: u32) -> Result<Self> {
        read_status_kb(pid, "VmRSS:").with_context(|| format!("cannot read VmRSS of process {pid}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak_kb = 0;
            while !stop_flag.load(Ordering::Relaxed) {
                peak_kb = read_status_kb(pid, "VmRSS:").map_or(peak_kb, |kb| kb.max(peak_kb));
                std::thread::sleep(RSS_SAMPLE_INTERVAL);
            }
            peak_kb
        });
        Ok(Self { pid, stop, thread })
    }

    /// Peak resident memory in kB: the larger of the samples and the kernel's high-water mark (VmHWM).
    pub fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let sampled_kb = self.thread.join().unwrap_or(0);
        sampled_kb.max(read_status_kb(self.pid, "VmHWM:").unwrap_or(0))
    }
}

fn read_status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status_field_kb(&status, field)
}

fn status_field_kb(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find_map(|line| line.strip_prefix(field))?;
    line.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_metric_sums_labelled_and_plain_samples_of_its_name_only() {
        let exposition = "# HELP faultline_events_stored_total Stored events.\n\
            # TYPE faultline_events_stored_total counter\n\
            faultline_events_stored_total{db=\"sqlite\",note=\"a}b\"} 40 1700000000\n\
            faultline_events_stored_total 2\n\
            faultline_events_stored_total_created 99\n\
            other_total 5\n";
        assert_eq!(sum_metric(exposition, STORED_METRIC), 42.0);
    }

    #[test]
    fn absent_stored_metric_counts_as_zero() {
        assert_eq!(sum_metric("other_total 5\n", STORED_METRIC), 0.0);
    }

    #[test]
    fn proc_status_fields_are_read_in_kilobytes() {
        let status = "Name:\tfaultline\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!(status_field_kb(status, "VmRSS:"), Some(10240));
        assert_eq!(status_field_kb(status, "VmHWM:"), Some(20480));
        assert_eq!(status_field_kb(status, "VmSwap:"), None);
    }

    #[test]
    fn sampler_sees_this_process() {
        let sampler = RssSampler::start(std::process::id()).expect("own status");
        assert!(sampler.finish() > 0);
    }
}
