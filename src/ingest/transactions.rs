//! The path of a `transaction` item (and of a `type: transaction` event on the old store endpoint): read
//! into what performance monitoring keeps, queued for the transaction writer, answered once its batch is
//! committed. It never touches the error grouper; the performance problems found in it (N+1 and slow
//! queries) go to the event writer as events of performance issues (`performance_issues`). Quotas and spike
//! protection count errors only; a key's rate limit counts transactions too, as Sentry's does.

use serde_json::Value;

use crate::core::events::parse_event_json;
use crate::domain::outcomes::{Category, Outcome};
use crate::domain::performance::read_transaction;
use crate::domain::ProjectId;

use super::accounting;
use super::error::IngestError;
use super::performance_issues;
use super::pipeline::{unavailable, EventIdReply};
use super::writer::{SubmitError, WriteFailed};
use super::Ingest;
use crate::core::outcomes::Origin;

/// Reads, queues and commits one transaction; answers with its event id.
pub(super) async fn ingest_transaction(
    ingest: &Ingest,
    project_id: ProjectId,
    origin: Origin,
    payload: &[u8],
    header_event_id: Option<&str>,
) -> Result<EventIdReply, IngestError> {
    if payload.len() > ingest.settings.max_event_bytes {
        return Err(IngestError::EventTooLarge {
            limit: ingest.settings.max_event_bytes,
        });
    }
    let parsed = parse_event_json(payload)?;
    let event = &parsed.value;
    let reply_id = header_event_id
        .or_else(|| event.get("event_id").and_then(Value::as_str))
        .and_then(super::pipeline::normalize_event_id);
    let transaction = read_transaction(event).map_err(|e| IngestError::InvalidEvent(e.to_string()))?;
    let problems = performance_issues::find(ingest, project_id, event, reply_id.as_deref(), &transaction);
    match ingest.transactions.write(project_id, transaction).await {
        Ok(Ok(())) => {
            accounting::record(ingest, origin, Category::Transaction, Outcome::Accepted, "", 1);
            performance_issues::submit(ingest, problems).await;
            Ok(reply_id)
        }
        Ok(Err(WriteFailed { outage: None })) => Err(IngestError::Storage),
        Ok(Err(WriteFailed { outage: Some(outage) })) => Err(unavailable(ingest, outage)),
        Err(SubmitError::QueueFull) => Err(IngestError::QueueFull {
            retry_after_secs: ingest.settings.retry_after_secs,
        }),
        Err(SubmitError::Stopped) => Err(IngestError::ShuttingDown),
    }
}
