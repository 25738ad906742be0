//! Event normalization (protocol §7): any SDK payload becomes the typed [`Event`], leniently.
//! Only a non-object root or an unparsable event id rejects an event; a field of the wrong shape
//! is dropped and noted in `Event::errors` (`invalid_data`), never fatal, and so is a token of the
//! payload's text that [`parse_lenient_json`] had to repair.

mod attributes;
mod breadcrumbs;
mod exception;
mod fields;
mod format;
mod json;
mod message;
mod request;
mod stacktrace;
mod tags;
mod timestamp;
mod trim;
mod user;

#[cfg(test)]
pub(crate) mod corpus_tests;

use serde_json::Value;
use uuid::Uuid;

use crate::domain::event::{Event, ProcessingError};
use fields::{take, Notes};

pub use json::{parse_lenient_json, LenientJson};
pub use timestamp::parse_timestamp;

/// What the ingest edge knows about an event besides its payload.
#[derive(Debug, Clone, Copy, Default)]
pub struct NormalizeContext<'a> {
    /// Unix seconds, server receive time.
    pub received_at: f64,
    /// Replaces `"{{auto}}"` (§7.5); the caller decides proxy trust.
    pub client_ip: Option<&'a str>,
    /// The envelope header's `event_id`; wins over the payload's (§4.5).
    pub header_event_id: Option<&'a str>,
    /// Envelope header `sent_at` (Unix seconds) for clock-drift correction (§7.4).
    pub sent_at: Option<f64>,
    /// Notes of the repairs [`parse_lenient_json`] made to the payload's text; they lead `errors`.
    pub json_repairs: &'a [ProcessingError],
}

#[derive(Debug, thiserror::Error)]
pub enum NormalizeError {
    #[error("event payload is not a JSON object")]
    NotAnObject,
    #[error("invalid event id {0:?}")]
    InvalidEventId(String),
}

/// Longest invalid id echoed back in an error.
const MAX_ECHOED_ID_CHARS: usize = 64;

/// Normalizes one event payload (§7). Errors only for a non-object root or an unparsable id.
pub fn normalize_event(raw: Value, ctx: &NormalizeContext) -> Result<Event, NormalizeError> {
    let Value::Object(mut map) = raw else {
        return Err(NormalizeError::NotAnObject);
    };
    let event_id = resolve_event_id(ctx.header_event_id, take(&mut map, "event_id"))?;
    let mut notes = Notes::default();
    for repair in ctx.json_repairs {
        notes.record(repair.clone());
    }
    let mut event = Event {
        event_id,
        received: ctx.received_at,
        ..Event::default()
    };
    attributes::read_attributes(&mut map, &mut event, &mut notes);
    attributes::read_free_form(&mut map, &mut event, &mut notes);
    event.logentry = message::read_logentry(&mut map, &mut notes);
    exception::read_exceptions(&mut map, &mut event, &mut notes);
    event.breadcrumbs = take(&mut map, "breadcrumbs")
        .map(|raw| breadcrumbs::parse_breadcrumbs(raw, &mut notes))
        .unwrap_or_default();
    event.request = take(&mut map, "request").and_then(|raw| request::parse_request(raw, &mut notes));
    event.user = take(&mut map, "user").and_then(|raw| user::parse_user(raw, &mut notes));
    user::infer_ip_addresses(&mut event, ctx.client_ip);
    tags::read_tags(&mut map, &mut event, &mut notes);
    let raw_timestamp = take(&mut map, "timestamp");
    timestamp::settle_timestamps(raw_timestamp, ctx.sent_at, &mut event, &mut notes);
    event.errors = notes.into_vec();
    Ok(event)
}

/// The header's id wins; otherwise the payload's; otherwise a fresh v4 (§4.5, §3.3).
fn resolve_event_id(header: Option<&str>, payload: Option<Value>) -> Result<String, NormalizeError> {
    if let Some(header) = header {
        return parse_event_id(header);
    }
    match payload {
        None => Ok(Uuid::new_v4().simple().to_string()),
        Some(Value::String(id)) => parse_event_id(&id),
        Some(other) => Err(invalid_event_id(&other.to_string())),
    }
}

/// 32 hex digits or a dashed UUID, stored as 32 lowercase hex digits.
pub fn parse_event_id(raw: &str) -> Result<String, NormalizeError> {
    Uuid::try_parse(raw.trim())
        .map(|id| id.simple().to_string())
        .map_err(|_| invalid_event_id(raw))
}

fn invalid_event_id(raw: &str) -> NormalizeError {
    NormalizeError::InvalidEventId(raw.chars().take(MAX_ECHOED_ID_CHARS).collect())
}

#[cfg(test)]
mod tests;
