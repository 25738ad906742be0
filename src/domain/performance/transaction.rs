//! A transaction event read into what performance monitoring keeps of it: its name, operation, status,
//! times, trace, release and environment, and its spans. Every field is the SDK's to get wrong: missing or
//! unreadable times and an end before the start are refused with a sentence; what is merely odd (no
//! spans, an unknown status) is kept as it came.

use serde_json::Value;

use crate::domain::normalize::parse_timestamp;

use super::name::rollup_name;
use super::vitals::{read_vitals, Vital};

/// Spans read from one transaction; the rest are counted but not kept (an SDK may send tens of thousands).
pub const MAX_SPANS: usize = 2_000;
/// Longest span description kept, in characters.
const MAX_DESCRIPTION_CHARS: usize = 2_000;
/// A transaction longer than this is refused: a start a year before the end is a broken clock.
const MAX_DURATION_SECS: f64 = 24.0 * 3600.0;

#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    pub name: String,
    pub op: String,
    pub status: String,
    /// Unix seconds.
    pub start: f64,
    pub end: f64,
    pub trace_id: String,
    pub span_id: String,
    pub environment: String,
    pub release: String,
    pub spans: Vec<Span>,
    /// Spans the SDK sent beyond [`MAX_SPANS`].
    pub spans_dropped: usize,
    /// Web vitals measured by a browser SDK (pageloads and navigations), as stored (`vitals`).
    pub vitals: Vec<(Vital, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub span_id: String,
    pub parent_span_id: String,
    pub op: String,
    pub description: String,
    pub start: f64,
    pub end: f64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TransactionError {
    #[error("a transaction needs `start_timestamp` and `timestamp`")]
    MissingTimes,
    #[error("the transaction ends before it starts")]
    EndBeforeStart,
    #[error("the transaction lasts longer than a day")]
    TooLong,
}

impl Transaction {
    pub fn duration_ms(&self) -> f64 {
        (self.end - self.start) * 1000.0
    }

    /// Sentry's `failure_rate()`: any status but `ok`, `cancelled` and `unknown`.
    pub fn is_failure(&self) -> bool {
        !matches!(self.status.as_str(), "ok" | "cancelled" | "unknown")
    }
}

impl Span {
    pub fn duration_ms(&self) -> f64 {
        (self.end - self.start).max(0.0) * 1000.0
    }
}

/// Reads a transaction event (an SDK's `transaction` item, or a `type: transaction` event on the old
/// store endpoint).
pub fn read_transaction(event: &Value) -> Result<Transaction, TransactionError> {
    let start = event.get("start_timestamp").and_then(parse_timestamp);
    let end = event.get("timestamp").and_then(parse_timestamp);
    let (Some(start), Some(end)) = (start, end) else {
        return Err(TransactionError::MissingTimes);
    };
    if end < start {
        return Err(TransactionError::EndBeforeStart);
    }
    if end - start > MAX_DURATION_SECS {
        return Err(TransactionError::TooLong);
    }
    let trace = event.pointer("/contexts/trace");
    let source = event.pointer("/transaction_info/source").and_then(Value::as_str);
    let raw_spans = event
        .get("spans")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let spans: Vec<Span> = raw_spans
        .iter()
        .take(MAX_SPANS)
        .filter_map(|s| read_span(s, start, end))
        .collect();
    Ok(Transaction {
        name: rollup_name(text(event, "/transaction").as_deref(), source),
        op: trace
            .and_then(|t| text(t, "/op"))
            .unwrap_or_else(|| "default".to_owned()),
        status: trace
            .and_then(|t| text(t, "/status"))
            .unwrap_or_else(|| "unknown".to_owned()),
        start,
        end,
        trace_id: trace.and_then(|t| text(t, "/trace_id")).unwrap_or_default(),
        span_id: trace.and_then(|t| text(t, "/span_id")).unwrap_or_default(),
        environment: text(event, "/environment").unwrap_or_default(),
        release: text(event, "/release").unwrap_or_default(),
        spans_dropped: raw_spans.len().saturating_sub(MAX_SPANS),
        spans,
        vitals: read_vitals(event),
    })
}

/// One span, its times clamped into its transaction's; `None` without readable times.
fn read_span(span: &Value, start: f64, end: f64) -> Option<Span> {
    let span_start = span.get("start_timestamp").and_then(parse_timestamp)?;
    let span_end = span.get("timestamp").and_then(parse_timestamp)?;
    let clamp = |t: f64| t.clamp(start, end);
    Some(Span {
        span_id: text(span, "/span_id").unwrap_or_default(),
        parent_span_id: text(span, "/parent_span_id").unwrap_or_default(),
        op: text(span, "/op").unwrap_or_else(|| "default".to_owned()),
        description: text(span, "/description")
            .map(|d| d.chars().take(MAX_DESCRIPTION_CHARS).collect())
            .unwrap_or_default(),
        start: clamp(span_start),
        end: clamp(span_end.max(span_start)),
    })
}

fn text(value: &Value, pointer: &str) -> Option<String> {
    let found = value.pointer(pointer)?.as_str()?.trim();
    (!found.is_empty()).then(|| found.chars().take(MAX_DESCRIPTION_CHARS).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn django_request() -> Value {
        json!({
            "type": "transaction",
            "transaction": "/cart/{id}/",
            "transaction_info": {"source": "route"},
            "start_timestamp": 1_700_000_000.0,
            "timestamp": "2023-11-14T22:13:20.250Z",
            "release": "shop@1.2", "environment": "production",
            "contexts": {"trace": {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7",
                                   "op": "http.server", "status": "internal_error"}},
            "spans": [
                {"span_id": "a1", "parent_span_id": "00f067aa0ba902b7", "op": "db", "description": "SELECT 1",
                 "start_timestamp": 1_700_000_000.01, "timestamp": 1_700_000_000.05},
                {"span_id": "a2", "op": "template.render", "start_timestamp": 1_699_999_999.0,
                 "timestamp": 1_700_000_000.1},
                {"span_id": "bad", "op": "db"}
            ]
        })
    }

    #[test]
    fn a_django_request_reads_into_its_parts() {
        let transaction = read_transaction(&django_request()).unwrap();
        assert_eq!(transaction.name, "/cart/{id}/");
        assert_eq!(transaction.op, "http.server");
        assert!(transaction.is_failure());
        assert!((transaction.duration_ms() - 250.0).abs() < 0.01);
        assert_eq!(transaction.release, "shop@1.2");
        assert_eq!(transaction.spans.len(), 2, "a span without times is left out");
        assert!((transaction.spans[0].duration_ms() - 40.0).abs() < 0.01);
        assert_eq!(
            transaction.spans[1].start, transaction.start,
            "clamped into the transaction"
        );
    }

    #[test]
    fn broken_times_are_refused_with_a_sentence() {
        let mut event = django_request();
        event["timestamp"] = json!(1_699_999_999.0);
        assert_eq!(read_transaction(&event), Err(TransactionError::EndBeforeStart));
        event["timestamp"] = json!(1_700_000_000.0 + 366.0 * 86_400.0);
        assert_eq!(read_transaction(&event), Err(TransactionError::TooLong));
        event.as_object_mut().unwrap().remove("start_timestamp");
        assert_eq!(read_transaction(&event), Err(TransactionError::MissingTimes));
    }

    #[test]
    fn no_spans_and_too_many_spans() {
        let mut event = django_request();
        event.as_object_mut().unwrap().remove("spans");
        let bare = read_transaction(&event).unwrap();
        assert!(bare.spans.is_empty());
        let span = json!({"op": "db", "start_timestamp": 1_700_000_000.0, "timestamp": 1_700_000_000.001});
        event["spans"] = Value::Array(vec![span; MAX_SPANS + 5]);
        let crowded = read_transaction(&event).unwrap();
        assert_eq!((crowded.spans.len(), crowded.spans_dropped), (MAX_SPANS, 5));
    }

    #[test]
    fn statuses_that_are_not_failures() {
        let mut event = django_request();
        for status in ["ok", "cancelled", "unknown"] {
            event["contexts"]["trace"]["status"] = json!(status);
            assert!(!read_transaction(&event).unwrap().is_failure(), "{status}");
        }
        event["contexts"]["trace"].as_object_mut().unwrap().remove("status");
        assert!(!read_transaction(&event).unwrap().is_failure(), "no status");
    }
}
