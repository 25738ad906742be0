//! Preparing an error event for storage, the one use case of the ingest path: lenient parse, normalize,
//! scrub, fingerprint, title, and compress into a `NewEvent`. Pure CPU work that runs in the request task
//! before the writer queue; `faultline seed` prepares its events the same way.

use crate::domain::ProjectId;
use crate::domain::Timestamp;
use std::cell::RefCell;

use crate::domain::event::Event;
use crate::domain::filters::InboundFilters;
use crate::domain::grouping::{compute_grouping, GROUPING_VERSION};
use crate::domain::normalize::{normalize_event, parse_lenient_json, LenientJson, NormalizeContext};
use crate::domain::performance::parse_trace_id;
use crate::domain::scrub::Scrubber;
use crate::domain::tags::event_tags;
use crate::domain::title::{event_culprit, event_metadata, event_title, event_type};
use crate::store::NewEvent;

/// Why an event could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// The payload is not an event (ingest answers 400 with the reason).
    #[error("{0}")]
    Invalid(String),
    /// An inbound filter of the project matched (its id); answered 200 and counted, never stored.
    #[error("filtered by {0}")]
    Filtered(&'static str),
    /// The payload could not be compressed for storage.
    #[error("the event could not be compressed")]
    Compression,
}

/// Level 3: about 4× smaller payloads for ~20 µs per event.
const PAYLOAD_COMPRESSION_LEVEL: i32 = 3;

thread_local! {
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
}

/// Everything about the request that normalization needs.
pub struct EventContext<'a> {
    pub project_id: ProjectId,
    pub received_at: f64,
    pub client_ip: Option<&'a str>,
    pub header_event_id: Option<&'a str>,
    pub sent_at: Option<f64>,
    /// `None` when scrubbing is switched off.
    pub scrubber: Option<&'a Scrubber>,
    /// The project's inbound filters; `None` keeps every event.
    pub filters: Option<&'a InboundFilters>,
}

/// Parses an event payload, repairing lone surrogate escapes, out-of-range numbers and the `NaN`
/// tokens of old Python clients; the repairs become notes of the event.
pub fn parse_event_json(payload: &[u8]) -> Result<LenientJson, PrepareError> {
    parse_lenient_json(payload).map_err(|e| PrepareError::Invalid(e.to_string()))
}

/// Normalizes, scrubs and fingerprints one parsed event.
pub fn prepare_event(parsed: LenientJson, ctx: &EventContext) -> Result<NewEvent, PrepareError> {
    let normalize_ctx = NormalizeContext {
        received_at: ctx.received_at,
        client_ip: ctx.client_ip,
        header_event_id: ctx.header_event_id,
        sent_at: ctx.sent_at,
        json_repairs: &parsed.repairs,
    };
    let mut event = normalize_event(parsed.value, &normalize_ctx).map_err(|e| PrepareError::Invalid(e.to_string()))?;
    // Before scrubbing: the filters read the user agent and the client address.
    if let Some(filter) = ctx.filters.and_then(|filters| filters.matches(&event)) {
        return Err(PrepareError::Filtered(filter));
    }
    if let Some(scrubber) = ctx.scrubber {
        scrubber.scrub(&mut event);
    }
    build_new_event(ctx.project_id, &event)
}

fn build_new_event(project_id: ProjectId, event: &Event) -> Result<NewEvent, PrepareError> {
    let grouping = compute_grouping(event);
    let user_key = event.user.as_ref().and_then(|u| u.identity());
    let metadata = event_metadata(event);
    let metadata = serde_json::json!({
        "type": metadata.ty,
        "value": metadata.value,
        "filename": metadata.filename,
        "function": metadata.function,
    });
    Ok(NewEvent {
        project_id,
        event_id: event.event_id.clone(),
        timestamp: Timestamp::from_seconds_f64(event.timestamp),
        received: Timestamp::from_seconds_f64(event.received),
        level: event.level.as_str().to_owned(),
        platform: event.platform.clone(),
        release: event.release.clone(),
        environment: event.environment.clone(),
        transaction: event.transaction.clone(),
        trace_id: trace_id_of(event),
        facets: event_tags(event),
        user_key,
        title: event_title(event),
        culprit: event_culprit(event),
        issue_type: event_type(event).to_owned(),
        metadata: metadata.to_string(),
        fingerprint: grouping.hash,
        grouping_version: GROUPING_VERSION.to_owned(),
        grouping_components: grouping.components,
        is_unhandled: event.is_unhandled(),
        payload: compress(event)?,
        occurrences: 1,
    })
}

/// The trace the SDK says the event happened in, when it names a valid one.
fn trace_id_of(event: &Event) -> Option<String> {
    let trace = event.contexts.get("trace")?;
    parse_trace_id(trace.get("trace_id")?.as_str()?)
}

/// The stored form of an event: its JSON, zstd-compressed.
pub(super) fn compress(event: &Event) -> Result<Vec<u8>, PrepareError> {
    let json = serde_json::to_vec(event).map_err(|e| PrepareError::Invalid(e.to_string()))?;
    compress_payload(&json)
}

/// zstd at [`PAYLOAD_COMPRESSION_LEVEL`] with this thread's reused compressor: how every stored payload
/// (an error event's, a transaction body's) is compressed.
pub(crate) fn compress_payload(json: &[u8]) -> Result<Vec<u8>, PrepareError> {
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = zstd::bulk::Compressor::new(PAYLOAD_COMPRESSION_LEVEL).ok();
        }
        match slot.as_mut() {
            Some(compressor) => compressor.compress(json),
            None => zstd::bulk::compress(json, PAYLOAD_COMPRESSION_LEVEL),
        }
        .map_err(|_| PrepareError::Compression)
    })
}
