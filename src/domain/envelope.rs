//! Envelope framing (protocol §4): splits a decoded request body into its header and items.
//! Pure and zero-copy: every item payload is a slice of the original body.

use bytes::Bytes;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Longest envelope or item header line we accept (§5.3), not counting its newline.
pub const MAX_HEADER_LINE: usize = 64 * 1024;

/// Most items one envelope may hold. SDKs send a handful (an event, its attachments, a client report);
/// the cap keeps a small compressed body of millions of empty items from costing seconds of CPU and
/// gigabytes of item headers.
pub const MAX_ITEMS: usize = 1000;

/// A parsed envelope: its header and its items in body order.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub header: EnvelopeHeader,
    pub items: Vec<Item>,
}

/// The envelope header line (§4.2).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EnvelopeHeader {
    /// As sent; the normalizer validates it.
    pub event_id: Option<String>,
    pub dsn: Option<String>,
    /// `sent_at` (RFC 3339) as unix seconds; `None` when absent or unparsable.
    pub sent_at: Option<f64>,
    /// Every header key, unknown ones included.
    pub raw: Map<String, Value>,
}

/// One item: its type, a few header fields and its payload bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub ty: String,
    /// Zero-copy slice of the request body.
    pub payload: Bytes,
    pub content_type: Option<String>,
    pub filename: Option<String>,
    /// An attachment's kind (`event.attachment`, `event.minidump`, …; §4.3).
    pub attachment_type: Option<String>,
}

/// Why a body is not a well-formed envelope; all of these are client errors (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("empty envelope")]
    Empty,
    #[error("invalid envelope header: not a JSON object")]
    InvalidHeader,
    #[error("envelope header line longer than {MAX_HEADER_LINE} bytes")]
    HeaderTooLong,
    #[error("item {index}: header is not a JSON object")]
    InvalidItemHeader { index: usize },
    #[error("item {index}: header line longer than {MAX_HEADER_LINE} bytes")]
    ItemHeaderTooLong { index: usize },
    #[error("item {index}: missing or empty `type`")]
    MissingItemType { index: usize },
    #[error("item {index}: `length` is not a non-negative integer")]
    InvalidLength { index: usize },
    #[error("item {index}: `length` exceeds the remaining body")]
    LengthExceedsBody { index: usize },
    #[error("item {index}: payload not followed by a newline")]
    MissingNewlineAfterPayload { index: usize },
    #[error("more than {MAX_ITEMS} items in one envelope")]
    TooManyItems,
}

/// Parses an envelope body per the §4.4 framing rules.
///
/// A header line ends at `\n` only; a `\r` before it stays part of the header JSON, where it is
/// legal trailing whitespace, so `\r\n`-terminated header lines are accepted (more lenient than
/// Relay). After an explicit-length payload, however, only `\n` or the end of the body may follow.
pub fn parse_envelope(body: Bytes) -> Result<Envelope, EnvelopeError> {
    if is_blank(&body) {
        return Err(EnvelopeError::Empty);
    }
    let (line, mut pos) = split_line(&body, 0).ok_or(EnvelopeError::HeaderTooLong)?;
    let header = parse_header_line(line)?;
    let mut items = Vec::new();
    // §4.4: nothing may follow the final newline, but a whitespace-only tail is tolerated.
    while !is_blank(&body[pos..]) {
        if items.len() == MAX_ITEMS {
            return Err(EnvelopeError::TooManyItems);
        }
        let (item, next) = parse_item(&body, pos, items.len())?;
        items.push(item);
        pos = next;
    }
    Ok(Envelope { header, items })
}

/// Parses an envelope's first line on its own (ingest reads it before the rest of the body arrives).
pub fn parse_header_line(line: &[u8]) -> Result<EnvelopeHeader, EnvelopeError> {
    let raw: Map<String, Value> = serde_json::from_slice(line).map_err(|_| EnvelopeError::InvalidHeader)?;
    Ok(EnvelopeHeader {
        event_id: string_field(&raw, "event_id"),
        dsn: string_field(&raw, "dsn"),
        sent_at: raw.get("sent_at").and_then(Value::as_str).and_then(rfc3339_to_unix),
        raw,
    })
}

/// Parses the item starting at `start`; returns it and the offset just past it.
fn parse_item(body: &Bytes, start: usize, index: usize) -> Result<(Item, usize), EnvelopeError> {
    let (line, payload_start) = split_line(body, start).ok_or(EnvelopeError::ItemHeaderTooLong { index })?;
    let header: Map<String, Value> =
        serde_json::from_slice(line).map_err(|_| EnvelopeError::InvalidItemHeader { index })?;
    let ty = string_field(&header, "type")
        .filter(|ty| !ty.is_empty())
        .ok_or(EnvelopeError::MissingItemType { index })?;
    let (payload_end, next) = match header.get("length") {
        None | Some(Value::Null) => implicit_payload_end(body, payload_start),
        Some(length) => {
            let length = length.as_u64().ok_or(EnvelopeError::InvalidLength { index })?;
            explicit_payload_end(body, payload_start, length, index)?
        }
    };
    let item = Item {
        ty,
        payload: body.slice(payload_start..payload_end),
        content_type: string_field(&header, "content_type"),
        filename: string_field(&header, "filename"),
        attachment_type: string_field(&header, "attachment_type"),
    };
    Ok((item, next))
}

/// §4.4 implicit length: the payload runs to the next `\n` or the end of the body; an item
/// header that is the last thing in the body therefore has an empty payload.
fn implicit_payload_end(body: &[u8], start: usize) -> (usize, usize) {
    match body[start..].iter().position(|&byte| byte == b'\n') {
        Some(offset) => (start + offset, start + offset + 1),
        None => (body.len(), body.len()),
    }
}

/// §4.4 explicit length: exactly `length` bytes, then `\n` or the end of the body.
fn explicit_payload_end(body: &[u8], start: usize, length: u64, index: usize) -> Result<(usize, usize), EnvelopeError> {
    let remaining = body.len() - start;
    let length = usize::try_from(length)
        .ok()
        .filter(|&length| length <= remaining)
        .ok_or(EnvelopeError::LengthExceedsBody { index })?;
    let end = start + length;
    match body.get(end) {
        None => Ok((end, end)),
        Some(b'\n') => Ok((end, end + 1)),
        Some(_) => Err(EnvelopeError::MissingNewlineAfterPayload { index }),
    }
}

/// Returns the line starting at `start` (without its `\n`) and the offset after the newline, or
/// `None` when the line is longer than [`MAX_HEADER_LINE`]. Scans at most that many bytes.
fn split_line(body: &[u8], start: usize) -> Option<(&[u8], usize)> {
    let rest = &body[start..];
    let window = &rest[..rest.len().min(MAX_HEADER_LINE + 1)];
    match window.iter().position(|&byte| byte == b'\n') {
        Some(offset) => Some((&rest[..offset], start + offset + 1)),
        None if rest.len() <= MAX_HEADER_LINE => Some((rest, body.len())),
        None => None,
    }
}

fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace)
}

fn string_field(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn rfc3339_to_unix(text: &str) -> Option<f64> {
    let instant = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    Some(instant.unix_timestamp_nanos() as f64 / 1e9)
}

#[cfg(test)]
mod tests;
