//! The path of an envelope's `span` items (`domain::performance::span_items`): each segment span, with the
//! spans of its segment that came with it, goes down the transaction path as the transaction it stands
//! for, counted in the `span` category by how many spans it carries. Spans whose segment is elsewhere are
//! counted as filtered (`segment_missing`): nothing is made of them. An item that is neither version of
//! the protocol is a 400, as an unreadable transaction is.

use bytes::Bytes;
use futures::future::join_all;

use crate::core::events::parse_event_json;
use crate::core::outcomes::Origin;
use crate::domain::outcomes::{Category, Outcome};
use crate::domain::performance::span_items::read_span_item;
use crate::domain::scrub::Scrubber;
use crate::domain::ProjectId;

use super::accounting;
use super::error::IngestError;
use super::pipeline::EventIdReply;
use super::transactions::ingest_transaction;
use super::Ingest;

/// Why spans without their segment are not kept, as their outcome's reason.
const SEGMENT_MISSING: &str = "segment_missing";

/// Reads every `span` item, then commits their segments as transactions; answers `{}` (span envelopes have
/// no event id) once all are committed, or with the first refusal.
pub(super) async fn ingest_span_items(
    ingest: &Ingest,
    (project_id, origin): (ProjectId, Origin),
    items: &[Bytes],
    scrubber: Option<&Scrubber>,
) -> Result<EventIdReply, IngestError> {
    let mut segments = Vec::new();
    let mut orphans = 0;
    for payload in items {
        if payload.len() > ingest.settings.max_event_bytes {
            return Err(IngestError::EventTooLarge {
                limit: ingest.settings.max_event_bytes,
            });
        }
        let parsed = parse_event_json(payload)?;
        let read = read_span_item(&parsed.value).ok_or_else(|| {
            IngestError::InvalidEvent("a span item is neither a span nor a container of spans".to_owned())
        })?;
        orphans += read.orphans;
        for (event, spans) in read.segments {
            let body = serde_json::to_vec(&event).map_err(|e| IngestError::InvalidEvent(e.to_string()))?;
            segments.push((body, spans));
        }
    }
    // Submitted together, they usually share one batch of the transaction writer.
    let written = join_all(segments.iter().map(|(body, spans)| {
        let counted = (Category::Span, *spans);
        ingest_transaction(ingest, (project_id, origin), body, None, scrubber, counted)
    }))
    .await;
    if orphans > 0 {
        accounting::record(
            ingest,
            origin,
            Category::Span,
            Outcome::Filtered,
            SEGMENT_MISSING,
            orphans,
        );
    }
    written.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(None)
}
