//! Send phase: `concurrency` workers POST the prepared bodies, optionally paced, and count what came back.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use bytes::Bytes;
use reqwest::header::{HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};
use reqwest::{StatusCode, Url};

/// What the send workers share: the prepared bodies, the next index to send and the pacing clock.
pub struct SendPlan {
    pub client: reqwest::Client,
    pub envelope_url: Url,
    pub auth: HeaderValue,
    pub bodies: Vec<Bytes>,
    pub next: AtomicUsize,
    pub start: Instant,
    pub rate: Option<f64>,
    /// No request begins after this (`--duration`), whatever bodies are left.
    pub deadline: Option<Instant>,
}

/// Outcome counts and the latencies of acknowledged (2xx) requests.
#[derive(Default)]
pub struct SendStats {
    pub acked: u64,
    pub rejected_429: u64,
    pub other_statuses: BTreeMap<u16, u64>,
    pub errors: u64,
    pub first_error: Option<String>,
    ack_latencies_us: Vec<u64>,
    /// Every request in the order each worker made them (for `--timeline`).
    pub timeline: Vec<Sample>,
}

/// One request: when it began (since the send phase started), how long it took, and its status (0: no answer).
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub began_ms: u32,
    pub latency_us: u32,
    pub status: u16,
}

/// Runs `concurrency` workers until every body is sent; the latencies come back sorted.
pub async fn run_send_phase(plan: Arc<SendPlan>, concurrency: usize) -> Result<SendStats> {
    let workers: Vec<_> = (0..concurrency)
        .map(|_| tokio::spawn(run_worker(plan.clone())))
        .collect();
    let mut total = SendStats::default();
    for worker in workers {
        total.merge(worker.await?);
    }
    total.ack_latencies_us.sort_unstable();
    Ok(total)
}

async fn run_worker(plan: Arc<SendPlan>) -> SendStats {
    let mut stats = SendStats::default();
    loop {
        let index = plan.next.fetch_add(1, Ordering::Relaxed);
        let Some(body) = plan.bodies.get(index) else {
            return stats;
        };
        if let Some(rate) = plan.rate {
            // Each body has a due time on one global clock, so the overall rate holds whatever the concurrency.
            let due = plan.start + Duration::from_secs_f64(index as f64 / rate);
            if plan.deadline.is_some_and(|deadline| due >= deadline) {
                return stats;
            }
            tokio::time::sleep_until(due.into()).await;
        }
        if plan.deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return stats;
        }
        let began = Instant::now();
        let result = post_envelope(&plan, body.clone()).await;
        let latency = began.elapsed();
        stats.timeline.push(Sample {
            began_ms: u32::try_from(began.duration_since(plan.start).as_millis()).unwrap_or(u32::MAX),
            latency_us: u32::try_from(latency.as_micros()).unwrap_or(u32::MAX),
            status: result.as_ref().map_or(0, |status| status.as_u16()),
        });
        match result {
            Ok(status) => stats.record(status, latency),
            Err(error) => stats.record_error(&error),
        }
    }
}

async fn post_envelope(plan: &SendPlan, body: Bytes) -> reqwest::Result<StatusCode> {
    let response = plan
        .client
        .post(plan.envelope_url.clone())
        .header(CONTENT_ENCODING, "gzip")
        .header(CONTENT_TYPE, "application/x-sentry-envelope")
        .header("X-Sentry-Auth", plan.auth.clone())
        .body(body)
        .send()
        .await?;
    let status = response.status();
    // Reading the body to its end lets the connection go back to the keep-alive pool.
    response.bytes().await?;
    Ok(status)
}

/// The error and its causes, which hold the useful part (e.g. "Connection refused").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    message
}

impl SendStats {
    fn record(&mut self, status: StatusCode, latency: Duration) {
        if status.is_success() {
            self.acked += 1;
            self.ack_latencies_us
                .push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
        } else if status == StatusCode::TOO_MANY_REQUESTS {
            self.rejected_429 += 1;
        } else {
            *self.other_statuses.entry(status.as_u16()).or_default() += 1;
        }
    }

    fn record_error(&mut self, error: &reqwest::Error) {
        self.errors += 1;
        self.first_error.get_or_insert_with(|| error_chain(error));
    }

    fn merge(&mut self, other: SendStats) {
        self.acked += other.acked;
        self.rejected_429 += other.rejected_429;
        for (status, count) in other.other_statuses {
            *self.other_statuses.entry(status).or_default() += count;
        }
        self.errors += other.errors;
        self.first_error = self.first_error.take().or(other.first_error);
        self.ack_latencies_us.extend(other.ack_latencies_us);
        self.timeline.extend(other.timeline);
    }

    /// Every request made, whatever its outcome.
    pub fn sent(&self) -> u64 {
        self.acked + self.rejected_429 + self.other_statuses.values().sum::<u64>() + self.errors
    }

    /// Nearest-rank percentile of the 2xx latencies in milliseconds (`1.0` is the maximum).
    pub fn latency_ms(&self, fraction: f64) -> Option<f64> {
        let samples = &self.ack_latencies_us;
        let rank = (fraction * samples.len() as f64).ceil() as usize;
        samples
            .get(rank.clamp(1, samples.len().max(1)) - 1)
            .map(|us| *us as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats_with_latencies(ms: impl Iterator<Item = u64>) -> SendStats {
        let mut stats = SendStats::default();
        for ms in ms {
            stats.record(StatusCode::OK, Duration::from_millis(ms));
        }
        stats.ack_latencies_us.sort_unstable();
        stats
    }

    #[test]
    fn latency_percentiles_use_the_nearest_rank() {
        let stats = stats_with_latencies((1..=100).rev());
        assert_eq!(stats.latency_ms(0.5), Some(50.0));
        assert_eq!(stats.latency_ms(0.99), Some(99.0));
        assert_eq!(stats.latency_ms(1.0), Some(100.0));
        assert_eq!(SendStats::default().latency_ms(0.5), None);
    }

    #[test]
    fn statuses_are_split_into_acked_429_and_others() {
        let mut stats = SendStats::default();
        stats.record(StatusCode::OK, Duration::ZERO);
        stats.record(StatusCode::TOO_MANY_REQUESTS, Duration::ZERO);
        stats.record(StatusCode::SERVICE_UNAVAILABLE, Duration::ZERO);
        stats.record(StatusCode::SERVICE_UNAVAILABLE, Duration::ZERO);
        assert_eq!((stats.acked, stats.rejected_429), (1, 1));
        assert_eq!(stats.other_statuses, BTreeMap::from([(503, 2)]));
        assert_eq!(stats.ack_latencies_us.len(), 1);
        assert_eq!(stats.sent(), 4);
    }

    #[test]
    fn merged_stats_add_up() {
        let mut total = stats_with_latencies(1..=2);
        let mut other = stats_with_latencies(3..=3);
        other.record(StatusCode::BAD_REQUEST, Duration::ZERO);
        total.merge(other);
        assert_eq!((total.acked, total.sent()), (3, 4));
        assert_eq!(total.other_statuses, BTreeMap::from([(400, 1)]));
    }
}
