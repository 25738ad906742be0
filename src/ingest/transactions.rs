//! The path of a `transaction` item (and of a `type: transaction` event on the old store endpoint): read
//! into what performance monitoring keeps, queued for the transaction writer, answered once its batch is
//! committed. It never touches the error grouper; the performance problems found in it (N+1 and slow
//! queries) go to the event writer as events of performance issues (`performance_issues`). Quotas and spike
//! protection count errors only; a key's rate limit counts transactions too, as Sentry's does.

use serde_json::Value;

use crate::core::events::parse_event_json;
use crate::core::transaction_bodies::prepare_transaction;
use crate::domain::outcomes::{Category, Outcome};
use crate::domain::performance::read_transaction;
use crate::domain::scrub::Scrubber;
use crate::domain::ProjectId;

use super::accounting;
use super::error::IngestError;
use super::performance_issues;
use super::pipeline::{unavailable, EventIdReply};
use super::writer::{SubmitError, WriteFailed};
use super::Ingest;
use crate::core::outcomes::Origin;

/// What an accepted transaction is counted as: itself, or the spans it was made of (`spans`).
pub(super) type Counted = (Category, u64);

/// Reads, queues and commits one transaction (its body scrubbed by `scrubber`, in case it is kept);
/// answers with its event id.
pub(super) async fn ingest_transaction(
    ingest: &Ingest,
    (project_id, origin): (ProjectId, Origin),
    payload: &[u8],
    header_event_id: Option<&str>,
    scrubber: Option<&Scrubber>,
    (category, quantity): Counted,
) -> Result<EventIdReply, IngestError> {
    if payload.len() > ingest.settings.max_event_bytes {
        return Err(IngestError::EventTooLarge {
            limit: ingest.settings.max_event_bytes,
        });
    }
    let parsed = parse_event_json(payload)?;
    let reply_id = header_event_id
        .or_else(|| parsed.value.get("event_id").and_then(Value::as_str))
        .and_then(super::pipeline::normalize_event_id);
    let event_id = reply_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let transaction = read_transaction(&parsed.value).map_err(|e| IngestError::InvalidEvent(e.to_string()))?;
    let problems = performance_issues::find(ingest, project_id, &parsed.value, reply_id.as_deref(), &transaction);
    let incoming = prepare_transaction(project_id, transaction, parsed.value, event_id, scrubber)?;
    // The problems' events go to the event writer while the transaction waits for its own: two group
    // commits side by side rather than one after the other. Should the transaction fail, its problems'
    // ids derive from its event id, so the SDK's re-send counts them once.
    let (written, ()) = tokio::join!(
        ingest.transactions.write(incoming),
        performance_issues::submit(&ingest.writer, problems)
    );
    match written {
        Ok(Ok(())) => {
            accounting::record(ingest, origin, category, Outcome::Accepted, "", quantity);
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
