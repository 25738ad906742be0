//! A transaction's performance problems, found as it is read and handed to the event writer while the
//! transaction waits for its own commit: there they become events of performance issues, grouped, counted and
//! alerted on as errors are. Each issue's occurrences go through its window (`OccurrenceBook`): the first is
//! stored at once, the rest of the window's are folded into one weighted event that the flusher stores when
//! the window ends. A problem that cannot be stored is logged; its transaction is still accepted.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;

use crate::core::performance_issues::{find_problems, problem_event, TransactionOrigin};
use crate::domain::performance::occurrences::{Occurrence, OccurrenceWindows};
use crate::domain::performance::Transaction;
use crate::domain::ProjectId;
use crate::store::{now_ms, NewEvent};

use super::writer::{WriteFailed, WriterHandle};
use super::Ingest;

/// How often the flusher looks for ended windows: an ended window's event waits at most this long.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// The open windows of the performance issues, shared by the request tasks and the flusher. An event is
/// held as `None` when it could not be prepared (logged), so that its window still counts its occurrences.
#[derive(Clone)]
pub struct OccurrenceBook(Arc<Mutex<OccurrenceWindows<Option<NewEvent>>>>);

impl OccurrenceBook {
    /// Windows of `window` each; zero stores every occurrence.
    pub fn new(window: Duration) -> OccurrenceBook {
        let length_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        OccurrenceBook(Arc::new(Mutex::new(OccurrenceWindows::new(length_ms))))
    }

    fn windows(&self) -> std::sync::MutexGuard<'_, OccurrenceWindows<Option<NewEvent>>> {
        // The windows hold counts only; a panic elsewhere leaves them usable.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The events of the transaction's problems to store now (usually none).
pub(super) fn find(
    ingest: &Ingest,
    project_id: ProjectId,
    event: &Value,
    event_id: Option<&str>,
    transaction: &Transaction,
) -> Vec<NewEvent> {
    let origin = TransactionOrigin {
        project_id,
        event_id,
        platform: event.get("platform").and_then(Value::as_str),
        received: now_ms() as f64 / 1000.0,
    };
    let problems = find_problems(&origin, transaction, &ingest.settings.performance_thresholds);
    let mut now = Vec::new();
    for found in &problems {
        let prepare = || match problem_event(&origin, transaction, found) {
            Ok(event) => Some(event),
            Err(error) => {
                tracing::warn!(%error, "the event of a performance problem could not be prepared");
                None
            }
        };
        let decided = ingest
            .occurrences
            .windows()
            .occur(&found.fingerprint, now_ms(), prepare);
        if let Occurrence::Store(events) = decided {
            now.extend(weighted(events));
        }
    }
    now
}

fn weighted(held: Vec<(Option<NewEvent>, i64)>) -> impl Iterator<Item = NewEvent> {
    held.into_iter()
        .filter_map(|(event, occurrences)| event.map(|event| NewEvent { occurrences, ..event }))
}

/// Queues the events for the event writer and waits for their commit (so that once the transaction is
/// answered, its issues exist and their alerts are queued).
pub(super) async fn submit(writer: &WriterHandle, events: Vec<NewEvent>) {
    for event in events {
        match writer.write(event).await {
            Ok(Ok(_)) => {}
            Ok(Err(WriteFailed { outage })) => {
                tracing::warn!(?outage, "a performance problem could not be stored");
            }
            Err(error) => tracing::warn!(%error, "a performance problem was not queued"),
        }
    }
}

/// Stores the held event of every window as it ends; when `stop` fires (after the last request), stores
/// those of the windows still open and returns, letting go of its writer handle so the writer can drain.
pub async fn run_occurrence_flusher(book: OccurrenceBook, writer: WriterHandle, mut stop: oneshot::Receiver<()>) {
    let mut ticks = tokio::time::interval(FLUSH_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                let ended = book.windows().take_ended(now_ms());
                submit(&writer, weighted(ended).collect()).await;
            }
            _ = &mut stop => break,
        }
    }
    let open = book.windows().take_all();
    submit(&writer, weighted(open).collect()).await;
}
