//! The group-commit writer: handlers queue events with a reply channel; one task commits whatever is
//! waiting in a single transaction and then answers every handler, so a 2xx always means committed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, Notify};

use crate::core::RuleCache;
use crate::domain::alerts::{QuietMemo, RuleSet};
use crate::health::DbHealth;
use crate::store::{probe_write, record_batch_alerting, BatchOutcome, Db, NewEvent, Outage, StoreError};
use crate::telemetry::Metrics;

/// How a queued event ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Stored,
    /// Its event id was already stored: a re-send, acknowledged but not counted again.
    Duplicate,
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("the write queue is full")]
    QueueFull,
    #[error("the writer has stopped")]
    Stopped,
}

/// Why a queued event was not stored.
#[derive(Debug, thiserror::Error)]
#[error("the event could not be stored")]
pub struct WriteFailed {
    /// Set when the database as a whole cannot take writes (the event may be sent again later);
    /// `None` when this event's own write failed.
    pub outage: Option<Outage>,
}

type Reply = oneshot::Sender<Result<WriteOutcome, WriteFailed>>;

struct Job {
    event: NewEvent,
    reply: Reply,
}

/// The handlers' side of the queue.
#[derive(Clone)]
pub struct WriterHandle {
    queue: mpsc::Sender<Job>,
    metrics: Arc<Metrics>,
}

impl WriterHandle {
    /// Queues an event and waits until its batch is committed. A full queue is refused at once.
    pub async fn write(&self, event: NewEvent) -> Result<Result<WriteOutcome, WriteFailed>, SubmitError> {
        let (reply, answer) = oneshot::channel();
        self.queue.try_send(Job { event, reply }).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SubmitError::QueueFull,
            mpsc::error::TrySendError::Closed(_) => SubmitError::Stopped,
        })?;
        self.metrics.queue_depth.set(self.depth() as i64);
        answer.await.map_err(|_| SubmitError::Stopped)
    }

    /// Whether the queue has room now; checked before a request's body is read, so that a full queue
    /// costs a refused request nothing but its headers.
    pub fn has_room(&self) -> bool {
        self.queue.capacity() > 0
    }

    fn depth(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }
}

/// How the writer takes part in alerting: the rules it evaluates, and whom it wakes when rules fired.
#[derive(Clone)]
pub struct WriterAlerts {
    pub rules: RuleCache,
    pub notifier: Arc<Notify>,
}

/// What the writer shares with the rest of the server.
pub struct WriterShared {
    pub metrics: Arc<Metrics>,
    pub alerts: WriterAlerts,
    pub health: Arc<DbHealth>,
}

/// Starts the writer task. It ends once every handle is dropped and the queue is drained.
pub fn spawn_writer(
    db: Db,
    capacity: usize,
    batch_size: usize,
    shared: WriterShared,
) -> (WriterHandle, tokio::task::JoinHandle<()>) {
    let (queue, jobs) = mpsc::channel(capacity.max(1));
    let handle = WriterHandle {
        queue,
        metrics: shared.metrics.clone(),
    };
    let writer = Writer {
        db,
        shared,
        rules: Arc::default(),
        memo: QuietMemo::default(),
        since_refresh: 0,
        last_probe: Instant::now(),
    };
    // The caller owns the handle; the writer ends once every queue handle is dropped.
    #[allow(clippy::disallowed_methods)]
    let task = tokio::spawn(run_writer(writer, jobs, batch_size.max(1)));
    (handle, task)
}

/// Events written between two refreshes of the planner statistics.
const EVENTS_PER_STATISTICS_REFRESH: usize = 50_000;
/// While writes fail, how often the writer tries one.
const PROBE_INTERVAL: Duration = Duration::from_millis(250);
/// A probe that takes longer counts as failed (the database does not answer).
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// A batch that takes longer is abandoned and its events answered 503: it waits on a connection whose peer
/// vanished without closing it, which no other timeout ends. (Its transaction is rolled back, or was
/// committed, in which case an SDK's re-send is recognised as a duplicate.) Longer than SQLite's 10 s busy
/// timeout, so that a batch waiting for the write lock fails as busy rather than as timed out.
const BATCH_TIMEOUT: Duration = Duration::from_secs(15);

struct Writer {
    db: Db,
    shared: WriterShared,
    rules: Arc<RuleSet>,
    memo: QuietMemo,
    since_refresh: usize,
    last_probe: Instant,
}

async fn run_writer(mut writer: Writer, mut jobs: mpsc::Receiver<Job>, batch_size: usize) {
    let mut batch = Vec::with_capacity(batch_size);
    let health = writer.shared.health.clone();
    loop {
        tokio::select! {
            received = jobs.recv_many(&mut batch, batch_size) => {
                if received == 0 {
                    break;
                }
                writer.shared.metrics.queue_depth.set(jobs.len() as i64);
                writer.write(std::mem::take(&mut batch)).await;
            }
            () = health.probe_due(writer.last_probe + PROBE_INTERVAL) => writer.probe().await,
        }
    }
    tracing::info!("writer drained and stopped");
}

impl Writer {
    async fn write(&mut self, jobs: Vec<Job>) {
        if let Some(failing) = self.shared.health.failing() {
            // Queued before the failure was known: refused like the requests now, without a futile attempt.
            return refuse(jobs.into_iter().map(|j| j.reply), failing.outage);
        }
        let rules = match self.current_rules().await {
            Ok(rules) => rules,
            Err(outage) => return refuse(jobs.into_iter().map(|j| j.reply), outage),
        };
        self.since_refresh += jobs.len();
        if self.commit_batch(jobs, &rules).await > 0 {
            self.shared.alerts.notifier.notify_one();
        }
        if self.since_refresh >= EVENTS_PER_STATISTICS_REFRESH {
            self.since_refresh = 0;
            let db = self.db.clone();
            // Fire and forget: a refresh cut short by shutdown only leaves the old statistics.
            #[allow(clippy::disallowed_methods)]
            tokio::spawn(async move {
                if let Err(error) = db.refresh_statistics().await {
                    tracing::warn!(%error, "refreshing planner statistics failed");
                }
            });
        }
    }

    /// The rules to evaluate. When they cannot be read because the database cannot take writes: that outage,
    /// as the batch would fail too. On any other error events are still stored (without alerts) and the
    /// failure is logged, since refusing events would lose more than a missed alert.
    async fn current_rules(&mut self) -> Result<Arc<RuleSet>, Outage> {
        let latest = match self.shared.alerts.rules.rules().await {
            Ok(latest) => latest,
            Err(error) => {
                if let Some(outage) = error.outage() {
                    self.shared.health.record_failure(outage, &error);
                    return Err(outage);
                }
                tracing::error!(%error, "alert rules could not be loaded; this batch is stored without alerts");
                Arc::default()
            }
        };
        if !Arc::ptr_eq(&latest, &self.rules) && latest != self.rules {
            // Edited rules may have shorter cooldowns than remembered.
            self.memo.clear();
        }
        self.rules = latest.clone();
        Ok(latest)
    }

    /// One committed write proves the database takes writes again.
    async fn probe(&mut self) {
        let result = tokio::time::timeout(PROBE_TIMEOUT, probe_write(&self.db)).await;
        self.last_probe = Instant::now();
        match result {
            Ok(Ok(())) => self.shared.health.record_success(),
            Ok(Err(error)) => match error.outage() {
                Some(outage) => self.shared.health.record_failure(outage, &error),
                None => tracing::debug!(%error, "write probe failed"),
            },
            Err(_) => tracing::debug!("write probe timed out"),
        }
    }

    /// Commits one batch and answers its handlers; returns how many alert fires it wrote.
    async fn commit_batch(&mut self, jobs: Vec<Job>, rules: &RuleSet) -> usize {
        let started = Instant::now();
        let (events, replies): (Vec<NewEvent>, Vec<_>) = jobs.into_iter().map(|j| (j.event, j.reply)).unzip();
        let metrics = self.shared.metrics.clone();
        metrics.batch_size.observe(events.len() as f64);
        match self.record(&events, rules).await {
            Ok(outcome) => {
                answer(replies, &outcome.stored, &metrics);
                let elapsed_ms = started.elapsed().as_millis() as u64;
                tracing::debug!(
                    events = events.len(),
                    fires = outcome.fires,
                    elapsed_ms,
                    "batch committed"
                );
                outcome.fires
            }
            Err(error) => match error.outage() {
                Some(outage) => {
                    metrics.database_errors.inc();
                    refuse(replies, outage);
                    0
                }
                None if events.len() > 1 => {
                    // One bad event must not fail its neighbours: retry each on its own.
                    metrics.database_errors.inc();
                    tracing::warn!(%error, events = events.len(), "batch failed; retrying events one by one");
                    self.commit_one_by_one(events, replies, rules).await
                }
                None => {
                    replies.into_iter().for_each(|reply| fail(reply, &error, &metrics));
                    0
                }
            },
        }
    }

    async fn commit_one_by_one(&mut self, events: Vec<NewEvent>, replies: Vec<Reply>, rules: &RuleSet) -> usize {
        let metrics = self.shared.metrics.clone();
        let mut fires = 0;
        let mut jobs = events.into_iter().zip(replies);
        while let Some((event, reply)) = jobs.next() {
            match self.record(&[event], rules).await {
                Ok(outcome) => {
                    fires += outcome.fires;
                    answer(vec![reply], &outcome.stored, &metrics);
                }
                Err(error) => match error.outage() {
                    Some(outage) => {
                        refuse(std::iter::once(reply).chain(jobs.map(|(_, reply)| reply)), outage);
                        break;
                    }
                    None => fail(reply, &error, &metrics),
                },
            }
        }
        fires
    }

    /// Stores events in one transaction, bounded by [`BATCH_TIMEOUT`], and records the outcome in the health.
    async fn record(&mut self, events: &[NewEvent], rules: &RuleSet) -> Result<BatchOutcome, StoreError> {
        let write = record_batch_alerting(&self.db, events, rules, &mut self.memo);
        let result = match tokio::time::timeout(BATCH_TIMEOUT, write).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::TimedOut(BATCH_TIMEOUT)),
        };
        match &result {
            Ok(_) => self.shared.health.record_success(),
            Err(error) => {
                if let Some(outage) = error.outage() {
                    self.shared.health.record_failure(outage, error);
                    // Probing at once would mostly fail the same way; the next probe is an interval away.
                    self.last_probe = Instant::now();
                }
            }
        }
        result
    }
}

fn answer(replies: Vec<Reply>, stored: &[bool], metrics: &Metrics) {
    for (reply, &fresh) in replies.into_iter().zip(stored) {
        let outcome = if fresh {
            metrics.events_stored.inc();
            WriteOutcome::Stored
        } else {
            metrics.events_duplicate.inc();
            WriteOutcome::Duplicate
        };
        // The handler may have gone (client disconnected); the event is stored all the same.
        let _ = reply.send(Ok(outcome));
    }
}

fn fail(reply: Reply, error: &StoreError, metrics: &Metrics) {
    metrics.database_errors.inc();
    tracing::error!(%error, "event could not be stored");
    let _ = reply.send(Err(WriteFailed { outage: None }));
}

/// Answers events that were not attempted, or failed, because the database cannot take writes. The outage
/// itself is logged once by [`DbHealth`], not once per event.
fn refuse(replies: impl IntoIterator<Item = Reply>, outage: Outage) {
    for reply in replies {
        let _ = reply.send(Err(WriteFailed { outage: Some(outage) }));
    }
}
