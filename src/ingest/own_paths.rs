//! The envelope items that take paths of their own beside the event's: release-health sessions, user
//! feedback and cron check-ins, each kind stored in its own transaction before the event is processed. A bad
//! item is the answer (a 400 with its sentence) only when its kind is all the envelope holds; beside other
//! items it is counted as invalid and the rest goes on, as Relay drops a bad item (protocol §12.12).

use crate::core::outcomes::Origin;
use crate::domain::envelope::Envelope;
use crate::domain::ProjectId;

use super::check_ins::{ingest_check_ins, is_check_in_item};
use super::error::IngestError;
use super::feedback::{ingest_feedback, is_feedback_item};
use super::sessions::{ingest_sessions, is_session_item};
use super::Ingest;

/// Whether an item takes one of these paths.
pub(super) fn has_own_path(ty: &str) -> bool {
    is_session_item(ty) || is_feedback_item(ty) || is_check_in_item(ty)
}

/// Stores the envelope's sessions, feedback and check-ins. `event_too`: an event, transaction or spans of the
/// envelope are processed as well.
pub(super) async fn ingest_own_paths(
    ingest: &Ingest,
    project: (ProjectId, Origin),
    envelope: &Envelope,
    event_too: bool,
) -> Result<(), IngestError> {
    let count = |kind: fn(&str) -> bool| envelope.items.iter().filter(|i| kind(&i.ty)).count();
    let (sessions, feedback, check_ins) = (count(is_session_item), count(is_feedback_item), count(is_check_in_item));
    let total = envelope.items.len();
    let alone = |kind: usize| !event_too && kind == total;
    ingest_sessions(ingest, project, envelope, alone(sessions)).await?;
    ingest_feedback(ingest, project, envelope, alone(feedback)).await?;
    ingest_check_ins(ingest, project, envelope, alone(check_ins)).await
}
