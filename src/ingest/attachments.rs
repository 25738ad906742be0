//! The `attachment` items of an envelope (protocol §4.3). They belong to the envelope's event: stored after
//! it is committed (or found already stored, as when an SDK re-sends), before the 2xx, so a 2xx means they
//! are kept too; a failure is the answer (503), and the SDK's re-send stores them then. An envelope of
//! attachments alone attaches them to an event sent before, if that event is stored. One larger than the
//! limit refuses the whole envelope (413, as Relay does) before anything is stored; beyond the project's
//! quota they are dropped, the event kept, and the answer's `X-Sentry-Rate-Limits` names `attachment`.

use crate::core::attachments::{accept, Accepted};
use crate::core::outcomes::Origin;
use crate::domain::attachments::NewAttachment;
use crate::domain::envelope::{Envelope, Item};
use crate::domain::outcomes::{reason, Category, Outcome, RateLimit, RateLimitScope};
use crate::domain::ProjectId;

use super::accounting;
use super::error::IngestError;
use super::pipeline::store_failed;
use super::Ingest;

/// How long SDKs hold back attachments once the project's quota is spent: the next answer repeats it while
/// the quota stays spent, and space comes back only as events expire.
const QUOTA_RETRY_AFTER_SECS: u64 = 60;

pub(super) fn is_attachment_item(ty: &str) -> bool {
    ty == "attachment"
}

fn attachment_items(envelope: &Envelope) -> impl Iterator<Item = &Item> {
    envelope.items.iter().filter(|item| is_attachment_item(&item.ty))
}

/// Refuses the envelope when one of its attachments is larger than the limit, before anything of it is
/// stored; its attachments are counted as invalid (`too_large`), its event by the caller.
pub(super) fn check_sizes(ingest: &Ingest, origin: Origin, envelope: &Envelope) -> Result<(), IngestError> {
    let limit = ingest.settings.max_attachment_bytes;
    if attachment_items(envelope).all(|item| item.payload.len() <= limit) {
        return Ok(());
    }
    let sizes: Vec<i64> = attachment_items(envelope).map(|i| i.payload.len() as i64).collect();
    count(ingest, origin, &sizes, Outcome::Invalid, reason::TOO_LARGE);
    Err(IngestError::AttachmentTooLarge { limit })
}

/// Counts the envelope's attachments as dropped with its event (an inbound filter's match).
pub(super) fn count_dropped(ingest: &Ingest, origin: Origin, envelope: &Envelope, outcome: Outcome, why: &str) {
    let sizes: Vec<i64> = attachment_items(envelope).map(|i| i.payload.len() as i64).collect();
    count(ingest, origin, &sizes, outcome, why);
}

/// Stores the envelope's attachments with the project's event `event_id` (the envelope header's, or the
/// event just written); returns the limit to announce when the project's quota turned some away.
pub(super) async fn ingest_attachments(
    ingest: &Ingest,
    (project_id, origin): (ProjectId, Origin),
    envelope: &Envelope,
    event_id: Option<&str>,
) -> Result<Option<RateLimit>, IngestError> {
    let attachments: Vec<NewAttachment> = attachment_items(envelope)
        .map(|item| {
            NewAttachment::read(
                item.filename.as_deref(),
                item.content_type.as_deref(),
                item.attachment_type.as_deref(),
                item.payload.clone(),
            )
        })
        .collect();
    if attachments.is_empty() {
        return Ok(None);
    }
    let Some(event_id) = event_id else {
        let sizes: Vec<i64> = attachments.iter().map(NewAttachment::size).collect();
        count(ingest, origin, &sizes, Outcome::Invalid, reason::NO_EVENT);
        return Ok(None);
    };
    let quota = ingest.settings.attachment_quota_bytes;
    let accepted = accept(&ingest.db, project_id, event_id, attachments, quota)
        .await
        .map_err(|error| store_failed(ingest, &error, "attachments"))?;
    count_accepted(ingest, origin, &accepted);
    Ok((!accepted.over_quota.is_empty()).then(|| RateLimit {
        retry_after_secs: QUOTA_RETRY_AFTER_SECS,
        categories: vec![Category::Attachment],
        scope: RateLimitScope::Project,
        reason: reason::ATTACHMENT_QUOTA,
    }))
}

fn count_accepted(ingest: &Ingest, origin: Origin, accepted: &Accepted) {
    count(ingest, origin, &accepted.stored, Outcome::Accepted, "");
    count(ingest, origin, &accepted.duplicates, Outcome::Filtered, "duplicate");
    count(
        ingest,
        origin,
        &accepted.over_quota,
        Outcome::RateLimited,
        reason::ATTACHMENT_QUOTA,
    );
    if !accepted.no_event.is_empty() {
        tracing::debug!(
            count = accepted.no_event.len(),
            "attachments of an event that is not stored"
        );
    }
    count(ingest, origin, &accepted.no_event, Outcome::Invalid, reason::NO_EVENT);
}

/// Sentry counts attachments twice: their bytes (`attachment`) and each one (`attachment_item`).
fn count(ingest: &Ingest, origin: Origin, sizes: &[i64], outcome: Outcome, why: &str) {
    for &size in sizes {
        accounting::record(ingest, origin, Category::Attachment, outcome, why, size as u64);
        accounting::record(ingest, origin, Category::AttachmentItem, outcome, why, 1);
    }
}
