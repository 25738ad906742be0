//! Normalizes every recorded Python SDK event of the recorded corpus and checks it against the raw
//! payload: nothing a real SDK sends may be dropped as invalid.

use serde_json::Value;

use super::{normalize_event, parse_lenient_json, parse_timestamp, NormalizeContext};
use crate::domain::event::{Event, Level};

/// (file name, envelope header, event payload) of every corpus envelope, sorted by name.
pub(crate) fn corpus_events() -> Vec<(String, Value, Value)> {
    crate::corpus::python_envelopes()
        .into_iter()
        .map(|(name, bytes)| {
            let mut lines = bytes.split(|byte| *byte == b'\n');
            let header = parse_lenient_json(lines.next().unwrap()).unwrap().value;
            let payload = parse_lenient_json(lines.nth(1).unwrap()).unwrap().value;
            (name.to_owned(), header, payload)
        })
        .collect()
}

/// Normalizes a corpus event as the ingest edge would, received one second after it was sent.
pub(crate) fn normalize_corpus_event(header: &Value, payload: Value) -> Event {
    let sent_at = parse_timestamp(&header["sent_at"]).expect("sent_at");
    let ctx = NormalizeContext {
        received_at: sent_at + 1.0,
        client_ip: Some("192.0.2.10"),
        header_event_id: header["event_id"].as_str(),
        sent_at: Some(sent_at),
        ..NormalizeContext::default()
    };
    normalize_event(payload, &ctx).expect("corpus event normalizes")
}

fn raw_exception_types(payload: &Value) -> Vec<String> {
    let values = payload.pointer("/exception/values").and_then(Value::as_array);
    values
        .into_iter()
        .flatten()
        .map(|value| value["type"].as_str().unwrap().to_owned())
        .collect()
}

fn raw_frame_counts(payload: &Value) -> Vec<usize> {
    let values = payload.pointer("/exception/values").and_then(Value::as_array);
    values
        .into_iter()
        .flatten()
        .map(|value| {
            value
                .pointer("/stacktrace/frames")
                .and_then(Value::as_array)
                .map_or(0, Vec::len)
        })
        .collect()
}

#[test]
fn corpus_has_36_events() {
    assert_eq!(corpus_events().len(), 36);
}

#[test]
fn every_corpus_event_normalizes_without_invalid_data() {
    for (name, header, payload) in corpus_events() {
        let event = normalize_corpus_event(&header, payload.clone());
        let types: Vec<String> = event.exception.iter().filter_map(|e| e.ty.clone()).collect();
        assert_eq!(types, raw_exception_types(&payload), "{name}");
        let frames: Vec<usize> = event
            .exception
            .iter()
            .map(|e| e.stacktrace.as_ref().map_or(0, |s| s.frames.len()))
            .collect();
        assert_eq!(frames, raw_frame_counts(&payload), "{name}");
        let request = event.request.as_ref();
        assert_eq!(
            request.and_then(|r| r.method.as_deref()),
            payload.pointer("/request/method").and_then(Value::as_str),
            "{name}"
        );
        assert_eq!(
            request.and_then(|r| r.url.as_deref()),
            payload.pointer("/request/url").and_then(Value::as_str),
            "{name}"
        );
        let user_id = event.user.as_ref().and_then(|u| u.id.as_deref());
        assert_eq!(user_id, payload.pointer("/user/id").and_then(Value::as_str), "{name}");
        for (key, value) in payload["tags"].as_object().unwrap() {
            assert_eq!(event.tag(key), value.as_str(), "{name} tag {key}");
        }
        assert_eq!(event.tag("server_name"), payload["server_name"].as_str(), "{name}");
        assert_eq!(event.environment.as_deref(), Some("production"), "{name}");
        assert_eq!(event.release.as_deref(), payload["release"].as_str(), "{name}");
        assert_eq!(event.event_id, header["event_id"].as_str().unwrap(), "{name}");
        assert_eq!(Some(event.timestamp), parse_timestamp(&payload["timestamp"]), "{name}");
        assert!(event.errors.is_empty(), "{name}: {:?}", event.errors);
    }
}

#[test]
fn corpus_wsgi_event_reads_as_expected() {
    let (_, header, payload) = corpus_events().swap_remove(0);
    let event = normalize_corpus_event(&header, payload);
    let main = event.main_exception().unwrap();
    assert_eq!(main.ty.as_deref(), Some("ZeroDivisionError"));
    assert_eq!(main.value.as_deref(), Some("division by zero"));
    assert_eq!(main.stacktrace.as_ref().unwrap().frames.len(), 13);
    assert!(event.is_unhandled());
    let request = event.request.as_ref().unwrap();
    assert_eq!(request.method.as_deref(), Some("GET"));
    assert_eq!(
        request.url.as_deref(),
        Some("http://shop.example.com/api/orders/4711/summary/")
    );
    assert_eq!(request.query_string[0], ("expand".to_owned(), "items".to_owned()));
    let user = event.user.as_ref().unwrap();
    assert_eq!(
        (user.id.as_deref(), user.ip_address.as_deref()),
        (Some("100"), Some("127.0.0.1"))
    );
    assert_eq!(event.tag("region"), Some("eu-west-1"));
    assert_eq!(event.tag("tenant"), Some("tenant-2"));
    assert_eq!(event.transaction.as_deref(), Some("generic WSGI request"));
    assert_eq!(event.breadcrumbs.len(), 3);
    assert_eq!(event.contexts["runtime"]["type"], "runtime");
    assert_eq!(event.platform, "python");
}

#[test]
fn corpus_log_events_keep_their_messages() {
    let events = corpus_events();
    let (_, header, payload) = events.iter().find(|(name, ..)| name.starts_with("004")).unwrap();
    let event = normalize_corpus_event(header, payload.clone());
    let logentry = event.logentry.as_ref().unwrap();
    assert_eq!(
        logentry.message.as_deref(),
        Some("Payment %s failed for customer %s: gateway returned %s")
    );
    assert_eq!(
        logentry.formatted.as_deref(),
        Some("Payment pay_00000 failed for customer cus_000000: gateway returned card_declined")
    );
    assert_eq!(event.logger.as_deref(), Some("shop.payments"));
    let (_, header, payload) = events.iter().find(|(name, ..)| name.starts_with("006")).unwrap();
    let event = normalize_corpus_event(header, payload.clone());
    assert_eq!(event.level, Level::Warning);
    let formatted = event.logentry.and_then(|entry| entry.formatted);
    assert_eq!(
        formatted.as_deref(),
        Some("Disk usage above threshold on volume /data0")
    );
}

#[test]
fn corpus_chained_exceptions_keep_cause_first_order() {
    let events = corpus_events();
    let (_, header, payload) = events.iter().find(|(name, ..)| name.starts_with("003")).unwrap();
    let event = normalize_corpus_event(header, payload.clone());
    let types: Vec<_> = event.exception.iter().map(|e| e.ty.as_deref().unwrap()).collect();
    assert_eq!(types, ["ConnectionRefusedError", "UpstreamUnavailable", "KeyError"]);
    assert_eq!(event.exception[0].module, None);
}
