//! The group-commit writer: handlers queue events with a reply channel; one task commits whatever is
//! waiting in a single transaction and then answers every handler, so a 2xx always means committed.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot, Notify};

use super::rules::RuleCache;
use crate::domain::alerts::{QuietMemo, RuleSet};
use crate::store::{record_batch_alerting, Db, NewEvent, StoreError};
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

#[derive(Debug, thiserror::Error)]
#[error("the event could not be stored")]
pub struct WriteFailed;

struct Job {
    event: NewEvent,
    reply: oneshot::Sender<Result<WriteOutcome, WriteFailed>>,
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

/// Starts the writer task. It ends once every handle is dropped and the queue is drained.
pub fn spawn_writer(
    db: Db,
    capacity: usize,
    batch_size: usize,
    metrics: Arc<Metrics>,
    alerts: WriterAlerts,
) -> (WriterHandle, tokio::task::JoinHandle<()>) {
    let (queue, jobs) = mpsc::channel(capacity.max(1));
    let handle = WriterHandle {
        queue,
        metrics: metrics.clone(),
    };
    let task = tokio::spawn(run_writer(db, jobs, batch_size.max(1), metrics, alerts));
    (handle, task)
}

/// Events written between two refreshes of the planner statistics.
const EVENTS_PER_STATISTICS_REFRESH: usize = 50_000;

async fn run_writer(
    db: Db,
    mut jobs: mpsc::Receiver<Job>,
    batch_size: usize,
    metrics: Arc<Metrics>,
    alerts: WriterAlerts,
) {
    let mut batch = Vec::with_capacity(batch_size);
    let mut since_refresh = 0;
    let mut rules = Arc::new(RuleSet::default());
    let mut memo = QuietMemo::default();
    while jobs.recv_many(&mut batch, batch_size).await > 0 {
        metrics.queue_depth.set(jobs.len() as i64);
        since_refresh += batch.len();
        let latest = current_rules(&alerts.rules).await;
        if !Arc::ptr_eq(&latest, &rules) && latest != rules {
            // Edited rules may have shorter cooldowns than remembered.
            memo.clear();
        }
        rules = latest;
        if commit_batch(&db, std::mem::take(&mut batch), &rules, &mut memo, &metrics).await > 0 {
            alerts.notifier.notify_one();
        }
        if since_refresh >= EVENTS_PER_STATISTICS_REFRESH {
            since_refresh = 0;
            let db = db.clone();
            tokio::spawn(async move {
                if let Err(error) = db.refresh_statistics().await {
                    tracing::warn!(%error, "refreshing planner statistics failed");
                }
            });
        }
    }
    tracing::info!("writer drained and stopped");
}

/// The rules to evaluate; when they cannot be read, events are still stored (without alerts) and the
/// failure is logged, since refusing events would lose more than a missed alert.
async fn current_rules(cache: &RuleCache) -> Arc<RuleSet> {
    cache.rules().await.unwrap_or_else(|error| {
        tracing::error!(%error, "alert rules could not be loaded; this batch is stored without alerts");
        Arc::default()
    })
}

/// Commits one batch and answers its handlers; returns how many alert fires it wrote.
async fn commit_batch(db: &Db, jobs: Vec<Job>, rules: &RuleSet, memo: &mut QuietMemo, metrics: &Metrics) -> usize {
    let started = Instant::now();
    let (events, replies): (Vec<NewEvent>, Vec<_>) = jobs.into_iter().map(|j| (j.event, j.reply)).unzip();
    metrics.batch_size.observe(events.len() as f64);
    let mut fires = 0;
    match record_batch_alerting(db, &events, rules, memo).await {
        Ok(outcome) => {
            answer(replies, &outcome.stored, metrics);
            fires = outcome.fires;
            tracing::debug!(
                events = events.len(),
                fires,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "batch committed"
            );
        }
        Err(error) if events.len() > 1 => {
            // One bad event must not fail its neighbours: retry each on its own.
            metrics.database_errors.inc();
            tracing::warn!(%error, events = events.len(), "batch failed; retrying events one by one");
            for (event, reply) in events.into_iter().zip(replies) {
                let single = [event];
                match record_batch_alerting(db, &single, rules, memo).await {
                    Ok(outcome) => {
                        fires += outcome.fires;
                        answer(vec![reply], &outcome.stored, metrics);
                    }
                    Err(error) => fail(reply, &error, metrics),
                }
            }
        }
        Err(error) => {
            for reply in replies {
                fail(reply, &error, metrics);
            }
        }
    }
    fires
}

fn answer(replies: Vec<oneshot::Sender<Result<WriteOutcome, WriteFailed>>>, stored: &[bool], metrics: &Metrics) {
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

fn fail(reply: oneshot::Sender<Result<WriteOutcome, WriteFailed>>, error: &StoreError, metrics: &Metrics) {
    metrics.database_errors.inc();
    tracing::error!(%error, "event could not be stored");
    let _ = reply.send(Err(WriteFailed));
}
