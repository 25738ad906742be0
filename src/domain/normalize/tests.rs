//! Whole-event normalization tests: protocol vectors 16–20 (§12), event ids, and robustness
//! against hostile input.

use serde_json::{json, Value};

use super::*;
use crate::domain::event::Level;

const RECEIVED: f64 = 1_704_067_230.0;

fn context() -> NormalizeContext<'static> {
    NormalizeContext {
        received_at: RECEIVED,
        ..NormalizeContext::default()
    }
}

fn normalize(raw: Value) -> Event {
    normalize_event(raw, &context()).expect("normalizes")
}

fn error_kinds(event: &Event) -> Vec<&str> {
    event.errors.iter().map(|error| error.kind.as_str()).collect()
}

fn is_event_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[test]
fn vector_16_missing_event_id_is_generated_and_nan_is_tolerated() {
    let body = br#"{"message": "hi", "extra": {"ratio": NaN, "max": Infinity}}"#;
    let event = normalize(parse_lenient_json(body).unwrap().value);
    assert!(is_event_id(&event.event_id), "{}", event.event_id);
    assert_eq!(event.extra["ratio"], Value::Null);
    assert_ne!(normalize(json!({})).event_id, event.event_id);
}

#[test]
fn vector_17_timestamp_forms_name_the_same_instant() {
    let float = normalize(json!({"timestamp": 1_704_067_200.5})).timestamp;
    let zulu = normalize(json!({"timestamp": "2024-01-01T00:00:00.5Z"})).timestamp;
    let naive = normalize(json!({"timestamp": "2024-01-01T00:00:00"})).timestamp;
    assert_eq!(float, 1_704_067_200.5);
    assert_eq!(zulu, float);
    assert_eq!(naive, 1_704_067_200.0, "naive timestamps are UTC");
}

#[test]
fn vector_17_future_and_missing_timestamps_become_receive_time() {
    let future = normalize(json!({"timestamp": RECEIVED + 2.0 * 86_400.0}));
    assert_eq!(future.timestamp, RECEIVED);
    assert_eq!(error_kinds(&future), ["future_timestamp"]);
    let missing = normalize(json!({}));
    assert_eq!((missing.timestamp, missing.received), (RECEIVED, RECEIVED));
    assert!(missing.errors.is_empty());
}

#[test]
fn vector_18_tag_shapes_reserved_keys_environment_and_long_values() {
    let expected = [
        ("foo-bar".to_owned(), "True".to_owned()),
        ("n".to_owned(), "42".to_owned()),
    ];
    let mut object = normalize(json!({"tags": {"foo bar": true, "n": 42}})).tags;
    object.sort();
    assert_eq!(object, expected);
    assert_eq!(
        normalize(json!({"tags": [["foo bar", true], ["n", 42]]})).tags,
        expected
    );
    let event = normalize(json!({"tags": {"release": "9.9", "environment": "prod", "long": "x".repeat(300)}}));
    assert_eq!(event.environment.as_deref(), Some("prod"));
    assert_eq!(event.tag("release"), None);
    assert_eq!(event.tag("long").map(str::len), Some(200));
    assert_eq!(error_kinds(&event), ["value_too_long"]);
}

#[test]
fn vector_19_auto_ip_takes_the_client_ip_the_caller_chose() {
    let ctx = NormalizeContext {
        client_ip: Some("203.0.113.9"),
        ..context()
    };
    let event = normalize_event(json!({"user": {"ip_address": "{{auto}}"}}), &ctx).unwrap();
    assert_eq!(event.user.unwrap().ip_address.as_deref(), Some("203.0.113.9"));
}

#[test]
fn vector_20_exception_shapes_levels_and_message() {
    let one = json!({"type": "ValueError", "value": "bad"});
    let bare = normalize(json!({"exception": [one.clone()]})).exception;
    let single = normalize(json!({"exception": one.clone()})).exception;
    let wrapped = normalize(json!({"exception": {"values": [one]}})).exception;
    assert_eq!(bare, single);
    assert_eq!(single, wrapped);
    assert_eq!(wrapped[0].ty.as_deref(), Some("ValueError"));
    assert_eq!(normalize(json!({"level": 40})).level, Level::Error);
    assert_eq!(normalize(json!({"level": "critical"})).level, Level::Fatal);
    let logentry = normalize(json!({"message": "hi"})).logentry.unwrap();
    assert_eq!(logentry.formatted.as_deref(), Some("hi"));
}

#[test]
fn header_event_id_wins_and_is_lowercased() {
    let ctx = NormalizeContext {
        header_event_id: Some("AFB1935B-1873-4EFE-866B-70B0926F225E"),
        ..context()
    };
    let event = normalize_event(json!({"event_id": "not even hex"}), &ctx).unwrap();
    assert_eq!(event.event_id, "afb1935b18734efe866b70b0926f225e");
    let event = normalize(json!({"event_id": "AFB1935B18734EFE866B70B0926F225E"}));
    assert_eq!(event.event_id, "afb1935b18734efe866b70b0926f225e");
}

#[test]
fn only_non_objects_and_bad_ids_are_rejected() {
    assert!(matches!(
        normalize_event(json!([1]), &context()),
        Err(NormalizeError::NotAnObject)
    ));
    assert!(matches!(
        normalize_event(json!("x"), &context()),
        Err(NormalizeError::NotAnObject)
    ));
    for bad in [json!("xyz"), json!(12), json!("afb1935b18734efe866b70b0926f225")] {
        let result = normalize_event(json!({ "event_id": bad }), &context());
        assert!(matches!(result, Err(NormalizeError::InvalidEventId(_))), "{bad}");
    }
    let ctx = NormalizeContext {
        header_event_id: Some(""),
        ..context()
    };
    assert!(normalize_event(json!({}), &ctx).is_err());
}

#[test]
fn clock_drift_uses_the_envelope_sent_at() {
    let ctx = NormalizeContext {
        sent_at: Some(RECEIVED - 3.0 * 3600.0),
        ..context()
    };
    let event = normalize_event(json!({"timestamp": RECEIVED - 3.0 * 3600.0 - 1.0}), &ctx).unwrap();
    assert_eq!(event.timestamp, RECEIVED - 1.0);
    assert_eq!(error_kinds(&event), ["clock_drift"]);
}

#[test]
fn wrong_shapes_everywhere_are_dropped_not_fatal() {
    let raw = json!({
        "platform": 1, "level": {}, "logger": [], "transaction": 5, "server_name": {}, "release": {},
        "dist": [], "environment": 3, "logentry": 7, "exception": "boom", "threads": 1,
        "stacktrace": "s", "breadcrumbs": "b", "request": [], "user": "u", "contexts": [],
        "tags": 5, "extra": "e", "fingerprint": {}, "modules": [], "sdk": 1, "culprit": [],
        "timestamp": {}
    });
    let event = normalize(raw);
    assert_eq!(event.platform, "other");
    assert_eq!(event.level, Level::Error);
    assert_eq!(event.timestamp, RECEIVED);
    assert!(event.exception.is_empty() && event.request.is_none() && event.user.is_none());
    assert_eq!(event.logentry.unwrap().formatted.as_deref(), Some("7"));
    assert!(event.errors.len() >= 15, "{:?}", event.errors);
    assert!(event.errors.iter().all(|error| error.kind == "invalid_data"));
}

#[test]
fn deeply_nested_and_huge_input_never_panics() {
    let mut deep = json!("leaf");
    for _ in 0..120 {
        deep = json!({ "k": [deep] });
    }
    let frames: Vec<Value> = (0..5_000).map(|n| json!({"lineno": n, "vars": {"n": n}})).collect();
    let raw = json!({
        "extra": {"deep": deep.clone()},
        "contexts": {"c": {"deep": deep.clone()}},
        "request": {"data": deep.clone(), "headers": vec![json!(["h", deep.clone()]); 200]},
        "user": {"data": deep.clone(), "geo": deep.clone()},
        "exception": {"values": [{
            "type": "E", "thread_id": deep.clone(), "mechanism": {"data": deep.clone(), "parent_id": deep.clone()},
            "stacktrace": {"frames": frames, "frames_omitted": deep.clone(), "registers": deep.clone()}
        }]},
        "threads": [{"id": deep.clone(), "stacktrace": [{"vars": deep.clone(), "pre_context": deep.clone()}]}],
        "breadcrumbs": vec![json!({"data": deep.clone(), "message": deep.clone()}); 300],
        "logentry": {"message": "%s".repeat(10_000), "params": vec![deep.clone(); 100]},
        "tags": vec![json!(["k", deep.clone()]); 300],
        "fingerprint": vec![deep; 10],
    });
    let event = normalize(raw);
    assert_eq!(event.exception[0].stacktrace.as_ref().unwrap().frames.len(), 250);
    assert_eq!(event.breadcrumbs.len(), 100);
    assert!(serde_json::to_string(&event).is_ok());
}

#[test]
fn nul_characters_never_survive() {
    let raw = json!({
        "message": "a\u{0}b", "transaction": "t\u{0}", "tags": {"k": "v\u{0}"},
        "extra": {"x\u{0}": "y\u{0}"}, "request": {"headers": "X-\u{0}A: b\u{0}", "cookies": {"c\u{0}": "d"}},
        "exception": {"type": "E\u{0}", "value": "v\u{0}", "thread_id": "t\u{0}", "mechanism": "m\u{0}",
        "stacktrace": {"frames": [{"function": "f\u{0}", "pre_context": ["\u{0}"]}]}}
    });
    let text = serde_json::to_string(&normalize(raw)).unwrap();
    assert!(!text.contains("\\u0000"), "{text}");
}

#[test]
fn normalized_events_round_trip_through_serde() {
    let event = normalize(json!({"message": "m", "tags": {"a": "b"}, "user": {"id": 1}}));
    let text = serde_json::to_string(&event).unwrap();
    let back: Event = serde_json::from_str(&text).unwrap();
    assert_eq!(back, event);
}

#[test]
fn browser_javascript_event_shape() {
    let raw = json!({
        "platform": "javascript", "timestamp": 1_704_067_200.25, "level": "error",
        "breadcrumbs": [{"timestamp": 1_704_067_199.0, "category": "ui.click", "message": "button#buy"}],
        "exception": {"values": [{"type": "TypeError", "value": "x is undefined", "mechanism": {"type": "onerror", "handled": false},
            "stacktrace": {"frames": [{"filename": "https://shop/app.js", "function": "handleClick", "lineno": 10, "colno": 5, "in_app": true}]}}]},
        "request": {"url": "https://shop/checkout", "headers": {"User-Agent": "Mozilla/5.0"}},
        "contexts": {"trace": {"trace_id": "595459b979c24c659d202fb3da54927f", "span_id": "9cee8c547e638519"}},
        "sdk": {"name": "sentry.javascript.browser", "version": "8.0.0"}
    });
    let ctx = NormalizeContext {
        client_ip: Some("198.51.100.7"),
        ..context()
    };
    let event = normalize_event(raw, &ctx).unwrap();
    assert_eq!(event.timestamp, 1_704_067_200.25);
    assert_eq!(event.breadcrumbs[0].category.as_deref(), Some("ui.click"));
    let frame = &event.exception[0].stacktrace.as_ref().unwrap().frames[0];
    assert_eq!(
        (frame.lineno, frame.colno, frame.in_app),
        (Some(10), Some(5), Some(true))
    );
    assert_eq!(event.user.as_ref().unwrap().ip_address.as_deref(), Some("198.51.100.7"));
    assert_eq!(event.contexts["trace"]["type"], "trace");
    assert!(event.is_unhandled());
    assert!(event.errors.is_empty(), "{:?}", event.errors);
}

#[test]
fn legacy_sdk_shapes_parse() {
    let raw = json!({
        "event_id": "6f9b2a4c-1d3e-4f5a-8b7c-9d0e1f2a3b4c", "message": "boom", "level": 50,
        "exception": [{"type": "RuntimeError", "value": "boom"}], "tags": [["server", "a"]],
        "user": {"id": 7}, "timestamp": "2024-01-01T00:00:10"
    });
    let event = normalize(raw);
    assert_eq!(event.event_id, "6f9b2a4c1d3e4f5a8b7c9d0e1f2a3b4c");
    assert_eq!(event.level, Level::Fatal);
    assert_eq!(event.tag("server"), Some("a"));
    assert_eq!(event.user.unwrap().id.as_deref(), Some("7"));
    assert_eq!(event.timestamp, 1_704_067_210.0);
    assert!(event.errors.is_empty(), "{:?}", event.errors);
}
