//! The release-health items of an envelope: `session` (one session's state, often beside the error that
//! made it errored) and `sessions` (the SDK's aggregates). Read, then stored in one transaction before the
//! envelope's event is processed, so a 2xx means they are counted. One unreadable item refuses them all
//! (nothing half-stored): with nothing else in the envelope that is a 400 with its sentence; beside an
//! event, the sessions are counted as invalid and the event goes on.

use serde_json::Value;

use crate::core::outcomes::Origin;
use crate::core::release_health::record;
use crate::domain::envelope::Envelope;
use crate::domain::outcomes::{reason, Category, Outcome};
use crate::domain::release_health::{read_aggregates, read_session, HealthUpdate, SessionError};
use crate::domain::ProjectId;

use super::accounting;
use super::error::IngestError;
use super::pipeline::store_failed;
use super::Ingest;

/// Whether an item is release health.
pub(super) fn is_session_item(ty: &str) -> bool {
    matches!(ty, "session" | "sessions")
}

/// Stores the envelope's session items, if any. `alone`: nothing else in the envelope is processed, so a
/// bad item is the answer.
pub(super) async fn ingest_sessions(
    ingest: &Ingest,
    (project_id, origin): (ProjectId, Origin),
    envelope: &Envelope,
    alone: bool,
) -> Result<(), IngestError> {
    let items: Vec<_> = envelope.items.iter().filter(|i| is_session_item(&i.ty)).collect();
    if items.is_empty() {
        return Ok(());
    }
    let count = items.len() as u64;
    let read: Result<Vec<HealthUpdate>, SessionError> = items
        .iter()
        .map(|item| {
            let value: Value = serde_json::from_slice(&item.payload).map_err(|_| SessionError::NotAnObject)?;
            if item.ty == "session" {
                read_session(&value)
            } else {
                read_aggregates(&value)
            }
        })
        .collect();
    let update = match read {
        Ok(updates) => merged(updates),
        Err(error) => {
            accounting::record(
                ingest,
                origin,
                Category::Session,
                Outcome::Invalid,
                reason::INVALID_EVENT,
                count,
            );
            return if alone {
                Err(IngestError::InvalidEvent(error.to_string()))
            } else {
                tracing::debug!(%error, "session items refused beside an event");
                Ok(())
            };
        }
    };
    record(&ingest.db, project_id, &update)
        .await
        .map_err(|error| store_failed(ingest, &error, "session items"))?;
    accounting::record(ingest, origin, Category::Session, Outcome::Accepted, "", count);
    Ok(())
}

fn merged(updates: Vec<HealthUpdate>) -> HealthUpdate {
    let mut all = HealthUpdate::default();
    for update in updates {
        all.counts.extend(update.counts);
        all.errored_sessions.extend(update.errored_sessions);
        all.users.extend(update.users);
    }
    all
}
