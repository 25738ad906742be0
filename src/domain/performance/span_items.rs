//! Standalone `span` items, read as the transactions they stand for. The JavaScript SDKs from 11.0 stream
//! spans by default instead of sending one `transaction` item per root span: a `span` item holding a
//! container `{"version": 2, "items": [...]}` (content type `application/vnd.sentry.items.span.v2+json`),
//! each span with `name`, `start_timestamp`, `end_timestamp`, `status` (`ok` or `error`), `is_segment` and
//! typed `attributes` (`sentry.op`, `sentry.segment.id`, `sentry.release`, …). Version 10 sends a few spans
//! on their own (interactions, web vitals) as one span per item, in the transaction's span shape.
//!
//! Each segment span (a root: `is_segment`, or a version-1 span on its own) becomes a transaction event with
//! the spans of its segment that came in the same item, so it takes the transaction path whole: rollups,
//! kept bodies, the trace page, N+1 detection. Spans whose segment is not in the item are counted but add to
//! nothing: the SDKs send a segment's spans together when it ends.

use serde_json::{json, Map, Value};

/// What one `span` item holds.
#[derive(Debug, Default, PartialEq)]
pub struct SpanItem {
    /// A transaction event per segment, and how many spans it carries (its own included).
    pub segments: Vec<(Value, u64)>,
    /// Spans whose segment span was not in the item.
    pub orphans: u64,
}

/// Reads a `span` item's JSON; `None` when it is neither a version-2 container nor a version-1 span.
pub fn read_span_item(payload: &Value) -> Option<SpanItem> {
    if let Some(items) = payload.get("items").and_then(Value::as_array) {
        return Some(read_stream(items));
    }
    let legacy = payload.get("span_id").is_some() && payload.get("start_timestamp").is_some();
    legacy.then(|| SpanItem {
        segments: vec![(standalone_span(payload), 1)],
        orphans: 0,
    })
}

/// Version 2: segments with the spans that name them.
fn read_stream(items: &[Value]) -> SpanItem {
    let mut read = SpanItem::default();
    let segment_of = |span: &Value| attribute(span, "sentry.segment.id").or_else(|| text(span, "span_id"));
    let segments = items.iter().filter(|s| s.get("is_segment") == Some(&Value::Bool(true)));
    for segment in segments {
        let id = segment_of(segment);
        let children: Vec<Value> = items
            .iter()
            .filter(|s| s.get("is_segment") != Some(&Value::Bool(true)) && segment_of(s) == id)
            .map(child_span)
            .collect();
        read.segments.push((
            segment_transaction(segment, children.clone()),
            1 + children.len() as u64,
        ));
    }
    let in_segments: u64 = read.segments.iter().map(|(_, n)| n).sum();
    read.orphans = (items.len() as u64).saturating_sub(in_segments);
    read
}

fn segment_transaction(segment: &Value, spans: Vec<Value>) -> Value {
    let mut trace = Map::new();
    for key in ["trace_id", "span_id", "parent_span_id"] {
        if let Some(value) = segment.get(key) {
            trace.insert(key.to_owned(), value.clone());
        }
    }
    trace.insert("op".to_owned(), json!(attribute(segment, "sentry.op")));
    trace.insert("status".to_owned(), json!(status_of(segment)));
    let name = attribute(segment, "sentry.segment.name").or_else(|| text(segment, "name"));
    json!({
        "type": "transaction",
        "event_id": event_id(segment),
        "transaction": name,
        "transaction_info": {"source": attribute(segment, "sentry.segment.name.source")
            .or_else(|| attribute(segment, "sentry.source"))},
        "start_timestamp": segment.get("start_timestamp"),
        "timestamp": segment.get("end_timestamp"),
        "release": attribute(segment, "sentry.release"),
        "environment": attribute(segment, "sentry.environment"),
        "contexts": {"trace": trace},
        "spans": spans,
    })
}

fn child_span(span: &Value) -> Value {
    json!({
        "span_id": span.get("span_id"),
        "parent_span_id": span.get("parent_span_id"),
        "trace_id": span.get("trace_id"),
        "op": attribute(span, "sentry.op"),
        "description": text(span, "name"),
        "start_timestamp": span.get("start_timestamp"),
        "timestamp": span.get("end_timestamp"),
        "status": status_of(span),
    })
}

/// Version 1: a span sent on its own is its own segment, named by its description.
fn standalone_span(span: &Value) -> Value {
    let trace: Map<String, Value> = ["trace_id", "span_id", "parent_span_id", "op", "status"]
        .into_iter()
        .filter_map(|key| Some((key.to_owned(), span.get(key)?.clone())))
        .collect();
    json!({
        "type": "transaction",
        "event_id": event_id(span),
        "transaction": text(span, "description"),
        "start_timestamp": span.get("start_timestamp"),
        "timestamp": span.get("timestamp"),
        "release": span.pointer("/data/sentry.release"),
        "environment": span.pointer("/data/sentry.environment"),
        "contexts": {"trace": trace},
        "measurements": span.get("measurements"),
    })
}

/// Version 2 knows `ok` and `error`; a transaction's status names the error, and `internal_error` is the
/// generic one (anything but `ok`, `cancelled` and `unknown` counts as a failure).
fn status_of(span: &Value) -> &'static str {
    match span.get("status").and_then(Value::as_str) {
        Some("error") => "internal_error",
        _ => "ok",
    }
}

/// The trace id's first half and the span id: the same span sent twice is the same event (deduplicated).
fn event_id(span: &Value) -> Option<String> {
    let trace_id = text(span, "trace_id")?;
    let span_id = text(span, "span_id")?;
    let hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
    (trace_id.len() == 32 && span_id.len() == 16 && hex(&trace_id) && hex(&span_id))
        .then(|| format!("{}{}", &trace_id[..16], span_id).to_ascii_lowercase())
}

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key)?.as_str().map(str::to_owned)
}

/// A typed attribute's value (`{"value": …, "type": "string"}`), when it is text.
fn attribute(span: &Value, key: &str) -> Option<String> {
    span.get("attributes")?
        .get(key)?
        .get("value")?
        .as_str()
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::performance::read_transaction;

    fn attrs(op: &str, segment_id: &str) -> Value {
        json!({"sentry.op": {"value": op, "type": "string"},
               "sentry.segment.id": {"value": segment_id, "type": "string"},
               "sentry.segment.name": {"value": "invoice-batch", "type": "string"},
               "sentry.release": {"value": "r@1", "type": "string"},
               "sentry.environment": {"value": "prod", "type": "string"}})
    }

    fn span(id: &str, parent: Option<&str>, segment: bool, op: &str, status: &str) -> Value {
        let mut span = json!({"name": format!("span {id}"), "span_id": id,
            "trace_id": "60535233716f403fb13e521aefe08c88", "start_timestamp": 1_796_459_411.99,
            "end_timestamp": 1_796_459_412.02, "is_segment": segment, "status": status,
            "attributes": attrs(op, "bf1a5dc62c51f191")});
        if let Some(parent) = parent {
            span["parent_span_id"] = json!(parent);
        }
        span
    }

    #[test]
    fn a_streamed_segment_reads_as_its_transaction_with_its_spans() {
        let container = json!({"version": 2, "items": [
            span("805f10cac3639691", Some("bf1a5dc62c51f191"), false, "db.sql.query", "ok"),
            span("bf1a5dc62c51f191", None, true, "queue.task", "error"),
        ]});
        let read = read_span_item(&container).unwrap();
        assert_eq!((read.segments.len(), read.orphans), (1, 0));
        let (event, spans) = &read.segments[0];
        assert_eq!(*spans, 2);
        let transaction = read_transaction(event).unwrap();
        assert_eq!(transaction.name, "invoice-batch");
        assert_eq!(
            (transaction.op.as_str(), transaction.release.as_str()),
            ("queue.task", "r@1")
        );
        assert!(transaction.is_failure(), "version 2's `error` is a failure");
        assert_eq!(transaction.spans.len(), 1);
        assert_eq!(transaction.spans[0].op, "db.sql.query");
        assert_eq!(event["event_id"], "60535233716f403fbf1a5dc62c51f191");
    }

    #[test]
    fn spans_without_their_segment_are_counted_as_orphans() {
        let container = json!({"version": 2, "items": [
            span("805f10cac3639691", Some("bf1a5dc62c51f191"), false, "db", "ok"),
        ]});
        let read = read_span_item(&container).unwrap();
        assert_eq!((read.segments.len(), read.orphans), (0, 1));
    }

    #[test]
    fn a_version_one_span_is_its_own_segment_and_anything_else_is_unreadable() {
        let inp = json!({"span_id": "aef50d4238432502", "trace_id": "60535233716f403fb13e521aefe08c88",
            "op": "ui.interaction.click", "description": "body > button.buy", "start_timestamp": 1.0e9,
            "timestamp": 1.0e9 + 0.3, "measurements": {"inp": {"value": 300.0, "unit": "millisecond"}}});
        let read = read_span_item(&inp).unwrap();
        let transaction = read_transaction(&read.segments[0].0).unwrap();
        assert_eq!(transaction.op, "ui.interaction.click");
        assert!(!transaction.is_failure());
        assert_eq!(read_span_item(&json!({"hello": "world"})), None);
        assert_eq!(read_span_item(&json!([1, 2])), None);
    }
}
