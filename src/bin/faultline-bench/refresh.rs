//! Fresh identity and times for one replayed item, so that the server sees a new event or transaction that
//! happened just now. An error event gets a new event id and `timestamp`; a transaction also a new trace id,
//! and all its times (its start and end, each span's) move by one amount, so that it ends now and keeps its
//! shape: every duration and every span's offset stay as recorded.

use anyhow::{Context, Result};
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

/// A span's or transaction's two times.
const TIME_KEYS: [&str; 2] = ["start_timestamp", "timestamp"];

/// An error event: a new event id (header and payload) and sent `now`.
pub fn refresh_event(
    header: &mut Map<String, Value>,
    payload: &mut Map<String, Value>,
    now: OffsetDateTime,
) -> Result<()> {
    new_event_id(header, payload, now)?;
    payload.insert("timestamp".into(), sdk_text(now)?);
    Ok(())
}

/// A transaction: new event and trace ids wherever the SDK wrote them (envelope header, trace context, spans)
/// and every time shifted so that it ends `now`, each in the shape it came in (RFC 3339 text or epoch seconds).
pub fn refresh_transaction(
    header: &mut Map<String, Value>,
    payload: &mut Map<String, Value>,
    now: OffsetDateTime,
) -> Result<()> {
    let end = payload
        .get("timestamp")
        .and_then(read_time)
        .context("the transaction has no readable `timestamp`")?;
    let by = now - end;
    new_event_id(header, payload, now)?;
    for key in TIME_KEYS {
        if let Some(slot) = payload.get_mut(key) {
            shift_time(slot, by)?;
        }
    }
    let trace_id = new_id();
    let header_trace = header.get_mut("trace").and_then(Value::as_object_mut);
    let context_trace = payload
        .get_mut("contexts")
        .and_then(|contexts| contexts.get_mut("trace"))
        .and_then(Value::as_object_mut);
    for trace in header_trace.into_iter().chain(context_trace) {
        replace_trace_id(trace, &trace_id);
    }
    let spans = payload.get_mut("spans").and_then(Value::as_array_mut);
    for span in spans.into_iter().flatten().filter_map(Value::as_object_mut) {
        replace_trace_id(span, &trace_id);
        for key in TIME_KEYS {
            if let Some(slot) = span.get_mut(key) {
                shift_time(slot, by)?;
            }
        }
    }
    Ok(())
}

/// One new event id in the envelope header and the payload, and the header's `sent_at`.
fn new_event_id(header: &mut Map<String, Value>, payload: &mut Map<String, Value>, now: OffsetDateTime) -> Result<()> {
    let event_id = new_id();
    header.insert("event_id".into(), event_id.clone());
    header.insert("sent_at".into(), sdk_text(now)?);
    payload.insert("event_id".into(), event_id);
    Ok(())
}

fn new_id() -> Value {
    Value::from(uuid::Uuid::new_v4().simple().to_string())
}

/// Only where the SDK wrote one: a span without a trace id inherits its transaction's.
fn replace_trace_id(object: &mut Map<String, Value>, trace_id: &Value) {
    if let Some(slot) = object.get_mut("trace_id") {
        *slot = trace_id.clone();
    }
}

/// Moves one time by `by`, keeping its shape; a time that cannot be read stays as it is (the server decides).
fn shift_time(slot: &mut Value, by: Duration) -> Result<()> {
    if let Some(at) = read_time(slot) {
        *slot = write_time(at + by, slot)?;
    }
    Ok(())
}

/// An SDK time: RFC 3339 text (the Python SDK) or seconds since the epoch (JavaScript, older SDKs).
fn read_time(value: &Value) -> Option<OffsetDateTime> {
    match value {
        Value::String(text) => OffsetDateTime::parse(text, &Rfc3339).ok(),
        Value::Number(seconds) => {
            let micros = (seconds.as_f64()? * 1e6).round() as i128;
            OffsetDateTime::from_unix_timestamp_nanos(micros * 1000).ok()
        }
        _ => None,
    }
}

/// `at` in the shape of `like`: epoch seconds for a number, else the SDK's RFC 3339 text. Microseconds are
/// the SDKs' precision, and an `f64` of epoch seconds holds them exactly enough.
fn write_time(at: OffsetDateTime, like: &Value) -> Result<Value> {
    Ok(match like {
        Value::Number(_) => Value::from((at.unix_timestamp_nanos() / 1000) as f64 / 1e6),
        _ => sdk_text(at)?,
    })
}

/// The Python SDK's timestamp shape: RFC 3339, UTC, microseconds, `Z`.
fn sdk_text(at: OffsetDateTime) -> Result<Value> {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    Ok(Value::from(at.to_offset(UtcOffset::UTC).format(format)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("not an object"),
        }
    }

    fn at(text: &str) -> OffsetDateTime {
        OffsetDateTime::parse(text, &Rfc3339).expect("RFC 3339")
    }

    fn transaction(start: Value, end: Value, span: (Value, Value)) -> Map<String, Value> {
        object(json!({
            "event_id": "aa", "start_timestamp": start, "timestamp": end,
            "contexts": {"trace": {"trace_id": "t0", "span_id": "s0"}},
            "spans": [
                {"trace_id": "t0", "span_id": "s1", "start_timestamp": span.0, "timestamp": span.1},
                {"span_id": "s2", "start_timestamp": "not a time"},
            ],
        }))
    }

    #[test]
    fn a_transaction_ends_now_and_keeps_every_duration_and_offset() {
        let mut header = object(json!({"event_id": "aa", "trace": {"trace_id": "t0"}}));
        let mut payload = transaction(
            json!("2026-12-05T04:52:56.540432Z"),
            json!("2026-12-05T04:52:56.764834Z"),
            (
                json!("2026-12-05T04:52:56.542101Z"),
                json!("2026-12-05T04:52:56.542147Z"),
            ),
        );
        let now = at("2027-01-01T10:00:00.000001Z");
        refresh_transaction(&mut header, &mut payload, now).expect("refreshed");
        assert_eq!(payload["timestamp"], "2027-01-01T10:00:00.000001Z");
        assert_eq!(
            payload["start_timestamp"], "2027-01-01T09:59:59.775599Z",
            "224.402 ms before"
        );
        let span = &payload["spans"][0];
        assert_eq!(
            span["start_timestamp"], "2027-01-01T09:59:59.777268Z",
            "1.669 ms after the start"
        );
        assert_eq!(span["timestamp"], "2027-01-01T09:59:59.777314Z", "46 µs long");
        assert_eq!(payload["spans"][1]["start_timestamp"], "not a time");
        assert_eq!(header["sent_at"], "2027-01-01T10:00:00.000001Z");
    }

    #[test]
    fn epoch_second_times_stay_numbers_and_move_alike() {
        let mut payload = transaction(
            json!(1_700_000_000.25),
            json!(1_700_000_001.5),
            (json!(1_700_000_000.5), json!("2023-11-14T22:13:21Z")),
        );
        let now = at("2027-01-01T00:00:00Z");
        refresh_transaction(&mut Map::new(), &mut payload, now).expect("refreshed");
        let end = now.unix_timestamp() as f64;
        assert_eq!(payload["timestamp"].as_f64(), Some(end));
        assert_eq!(payload["start_timestamp"].as_f64(), Some(end - 1.25));
        let span = &payload["spans"][0];
        assert_eq!(span["start_timestamp"].as_f64(), Some(end - 1.0));
        // 22:13:21 is 0.5 s before the recorded end (…001.5 = 22:13:21.5), text stays text.
        assert_eq!(span["timestamp"], "2026-12-31T23:59:59.500000Z");
    }

    #[test]
    fn every_trace_id_the_sdk_wrote_is_one_new_id_and_the_event_id_is_new() {
        let mut header = object(json!({"event_id": "aa", "trace": {"trace_id": "t0", "public_key": "k"}}));
        let mut payload = transaction(json!(1.0), json!(2.0), (json!(1.0), json!(2.0)));
        refresh_transaction(&mut header, &mut payload, OffsetDateTime::now_utc()).expect("refreshed");
        let trace_id = payload["contexts"]["trace"]["trace_id"].clone();
        assert_eq!(trace_id.as_str().map(str::len), Some(32));
        assert_eq!(header["trace"]["trace_id"], trace_id);
        assert_eq!(payload["spans"][0]["trace_id"], trace_id);
        assert!(payload["spans"][1].get("trace_id").is_none(), "none added");
        assert_eq!(header["event_id"], payload["event_id"]);
        assert_ne!(payload["event_id"], trace_id);
        assert_eq!(payload["event_id"].as_str().map(str::len), Some(32));
    }

    #[test]
    fn a_transaction_without_an_end_is_refused() {
        let mut payload = object(json!({"start_timestamp": 1.0, "timestamp": "yesterday"}));
        assert!(refresh_transaction(&mut Map::new(), &mut payload, OffsetDateTime::now_utc()).is_err());
    }
}
