//! A transaction's performance problems, found as it is read and handed to the event writer while the
//! transaction waits for its own commit: there they become events of performance issues, grouped, counted and
//! alerted on as errors are. A problem that cannot be stored is logged; its transaction is still accepted.

use serde_json::Value;

use crate::core::performance_issues::{problem_events, TransactionOrigin};
use crate::domain::performance::Transaction;
use crate::domain::ProjectId;
use crate::store::{now_ms, NewEvent};

use super::writer::WriteFailed;
use super::Ingest;

/// The events of the transaction's problems (usually none).
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
    problem_events(&origin, transaction, &ingest.settings.performance_thresholds).unwrap_or_else(|error| {
        tracing::warn!(%error, "the performance problems of a transaction could not be prepared");
        Vec::new()
    })
}

/// Queues the events for the event writer and waits for their commit (so that once the transaction is
/// answered, its issues exist and their alerts are queued).
pub(super) async fn submit(ingest: &Ingest, events: Vec<NewEvent>) {
    for event in events {
        match ingest.writer.write(event).await {
            Ok(Ok(_)) => {}
            Ok(Err(WriteFailed { outage })) => {
                tracing::warn!(?outage, "a performance problem could not be stored");
            }
            Err(error) => tracing::warn!(%error, "a performance problem was not queued"),
        }
    }
}
