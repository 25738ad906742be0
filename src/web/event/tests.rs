use serde_json::{json, Value};

use super::*;
use crate::domain::normalize::{normalize_event, NormalizeContext};
use crate::store::events::decode_payload;

/// Compresses event JSON as ingest stores it and reads it back with the typed decode the page uses.
fn read_back(json: &[u8]) -> Event {
    decode_payload(&zstd::encode_all(json, 3).expect("compressed")).expect("decodes")
}

/// Stores an SDK payload as ingest does (normalized) and reads it back; a payload ingest would
/// refuse reads as an unreadable one does on the page, as an empty event.
fn stored(raw: &Value) -> Event {
    let event = normalize_event(raw.clone(), &NormalizeContext::default()).unwrap_or_default();
    read_back(&serde_json::to_vec(&event).expect("an event serializes"))
}

/// What the page shows of this SDK payload once stored.
fn view_of(raw: &Value) -> EventView {
    event_view(&stored(raw))
}

/// What the page shows of a payload already in the stored shape, read back as is (no normalizer in
/// between, so free-form parts may hold what ingest would not have written).
fn view_of_stored(fields: &Value) -> EventView {
    let mut payload = json!({"event_id": "afb1935b18734efe866b70b0926f225e", "timestamp": 0.0, "received": 0.0});
    let object = payload.as_object_mut().unwrap();
    object.extend([
        ("platform".to_owned(), json!("other")),
        ("level".to_owned(), json!("error")),
    ]);
    object.extend(fields.as_object().unwrap().clone());
    event_view(&read_back(&serde_json::to_vec(&payload).expect("JSON")))
}

fn frame(function: &str, in_app: bool, path: &str) -> Value {
    json!({"function": function, "module": function, "abs_path": path, "in_app": in_app, "lineno": 10})
}

#[test]
fn the_raised_exception_comes_first_and_the_first_value_is_the_root_cause() {
    let payload = json!({"exception": [
        {"type": "ConnectionRefusedError", "mechanism": {"type": "generic", "handled": true}},
        {"type": "UpstreamUnavailable"},
        {"type": "KeyError", "value": "'USD'", "mechanism": {"handled": "false"}}
    ]});
    let chain = view_of(&payload).exceptions;
    let types: Vec<&str> = chain.iter().map(|e| e.ty.as_str()).collect();
    assert_eq!(types, ["KeyError", "UpstreamUnavailable", "ConnectionRefusedError"]);
    assert!(chain[0].raised && !chain[0].root_cause);
    assert!(chain[2].root_cause && !chain[2].raised);
    assert!(!chain[1].root_cause && !chain[1].raised);
    assert_eq!(chain[0].handled, Some(false));
    assert_eq!(chain[2].mechanism.as_deref(), Some("generic"));
}

#[test]
fn a_single_exception_is_neither_root_cause_nor_marked_raised() {
    let chain = view_of(&json!({"exception": {"values": [{"type": "ValueError"}]}})).exceptions;
    assert_eq!(chain.len(), 1);
    assert!(!chain[0].root_cause && !chain[0].raised);
}

#[test]
fn frames_are_newest_first_and_library_frames_hide_behind_in_app_ones() {
    let payload = json!({"exception": [{"type": "E", "stacktrace": {"frames": [
        frame("outer_lib", false, "/venv/lib/python3.11/site-packages/django/base.py"),
        frame("view", true, "/app/views.py"),
        frame("crash", true, "/app/math.py"),
    ]}}]});
    let view = view_of(&payload);
    let frames = &view.exceptions[0].stack.frames;
    let names: Vec<&str> = frames.iter().map(|f| f.function.as_str()).collect();
    assert_eq!(names, ["crash", "view", "outer_lib"]);
    assert!(frames[0].in_app && !frames[0].hidden);
    assert!(frames[2].hidden);
    assert_eq!(view.hidden_frames, 1);
}

#[test]
fn a_stack_without_in_app_frames_shows_them_all() {
    let payload = json!({"exception": [{"type": "E", "stacktrace": {"frames": [
        frame("a", false, "/usr/lib/x.py"), frame("b", false, "/usr/lib/y.py")
    ]}}]});
    let view = view_of(&payload);
    assert!(view.exceptions[0].stack.frames.iter().all(|f| !f.hidden));
    assert_eq!(view.hidden_frames, 0);
}

#[test]
fn an_sdk_in_app_flag_on_a_library_path_does_not_count() {
    let payload = json!({"exception": [{"type": "E", "stacktrace": {"frames": [
        frame("lib", true, "/venv/lib/python3.11/site-packages/requests/api.py"), frame("mine", true, "/app/x.py")
    ]}}]});
    let frames = &view_of(&payload).exceptions[0].stack.frames;
    assert!(frames[0].in_app);
    assert!(!frames[1].in_app && frames[1].hidden);
}

#[test]
fn source_context_is_numbered_around_the_current_line() {
    let payload = json!({"exception": [{"type": "E", "stacktrace": {"frames": [{
        "function": "f", "filename": "x.py", "lineno": "79", "in_app": true,
        "pre_context": ["a", "b"], "context_line": "c", "post_context": ["d"],
        "vars": {"count": "0", "items": [1, 2]}
    }]}}]});
    let frame = &view_of(&payload).exceptions[0].stack.frames[0];
    let lines: Vec<(Option<u64>, &str, bool)> = frame
        .source
        .iter()
        .map(|l| (l.number, l.text.as_str(), l.current))
        .collect();
    assert_eq!(
        lines,
        [
            (Some(77), "a", false),
            (Some(78), "b", false),
            (Some(79), "c", true),
            (Some(80), "d", false)
        ]
    );
    assert_eq!(frame.summary(), "f in x.py at line 79");
    assert_eq!(
        frame.vars,
        [
            ("count".to_owned(), "0".to_owned()),
            ("items".to_owned(), "[1,2]".to_owned())
        ]
    );
}

#[test]
fn odd_and_missing_sections_render_as_less() {
    let odd = json!({
        "exception": "boom", "breadcrumbs": {"values": "nope"}, "request": "GET /", "user": 5,
        "contexts": [1, 2], "tags": "x", "sdk": "python", "logentry": 42,
        "threads": {"values": [{"stacktrace": {"frames": [{"function": 3, "lineno": -1, "vars": "x"}]}}]}
    });
    let view = view_of(&odd);
    assert!(view.exceptions.is_empty());
    assert!(view.breadcrumbs.is_empty());
    assert!(view.request.is_none());
    assert!(view.user.is_empty());
    assert!(view.contexts.is_empty());
    assert_eq!(view.message.as_deref(), Some("42"));
    let stack = view.stack.expect("the thread's stack");
    // Ingest drops a function name that is not text, so the frame is unnamed.
    assert_eq!(stack.frames[0].function, "?");
    assert_eq!(stack.frames[0].line, None);
    assert_eq!(view_of(&json!(null)), EventView::default());
    assert_eq!(view_of(&json!([1, "a"])), EventView::default());
}

#[test]
fn breadcrumbs_read_as_a_timeline() {
    let payload = json!({"breadcrumbs": [
        {"timestamp": 1_700_000_000.25, "category": "http", "level": "warning", "data": {"method": "GET", "status_code": 503}},
        {"timestamp": "2026-11-21T10:28:19.131497Z", "type": "default", "message": "resolved", "level": "<b>"}
    ]});
    let crumbs = view_of(&payload).breadcrumbs;
    assert_eq!(crumbs[0].time, "22:13:20.250");
    assert_eq!(crumbs[0].level_class, "level-warning");
    assert_eq!(crumbs[0].data, "method=GET status_code=503");
    assert_eq!(crumbs[1].time, "10:28:19.131");
    assert_eq!(crumbs[1].category, "default");
    // Ingest drops a level it cannot read, and a crumb without one shows as info: no odd level
    // reaches the page, let alone its class names.
    assert_eq!(
        (crumbs[1].level.as_str(), crumbs[1].level_class),
        ("info", "level-info")
    );
}

#[test]
fn request_pairs_come_from_objects_pair_lists_or_raw_strings() {
    let payload = json!({"request": {
        "method": "POST", "url": "javascript:alert(1)", "query_string": "page=1&expand",
        "headers": [["Host", "shop"], ["Accept", "*/*"]], "data": {"a": 1}
    }});
    let request = view_of(&payload).request.expect("request");
    assert_eq!(request.url.as_deref(), Some("javascript:alert(1)"));
    assert_eq!(
        request.query,
        [
            ("page".to_owned(), "1".to_owned()),
            ("expand".to_owned(), String::new())
        ]
    );
    assert_eq!(request.headers[0], ("Host".to_owned(), "shop".to_owned()));
    assert_eq!(request.body.as_deref(), Some("{\n  \"a\": 1\n}"));
}

#[test]
fn common_contexts_come_first_without_their_type() {
    let payload =
        json!({"contexts": {"app": {"name": "x"}, "runtime": {"type": "runtime", "name": "CPython"}, "os": "Linux"}});
    let contexts = view_of_stored(&payload).contexts;
    let names: Vec<&str> = contexts.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["os", "runtime", "app"]);
    assert_eq!(contexts[0].pairs, [("value".to_owned(), "Linux".to_owned())]);
    assert_eq!(contexts[1].pairs, [("name".to_owned(), "CPython".to_owned())]);
}

#[test]
fn message_user_sdk_and_tags() {
    let payload = json!({
        "logentry": {"message": "a %s", "formatted": "a b"}, "user": {"id": 7, "email": "x@y", "geo": {"city": "Oslo"}},
        "sdk": {"name": "sentry.python", "version": "2.75.0"}, "tags": {"region": "eu"}, "fingerprint": ["{{ default }}", "x"]
    });
    let view = view_of(&payload);
    assert_eq!(view.message.as_deref(), Some("a b"));
    assert_eq!(view.user[0], ("id".to_owned(), "7".to_owned()));
    assert!(view.user.contains(&("geo.city".to_owned(), "Oslo".to_owned())));
    assert_eq!(view.sdk.as_deref(), Some("sentry.python 2.75.0"));
    assert_eq!(view.tags, [("region".to_owned(), "eu".to_owned())]);
    assert_eq!(view.fingerprint, ["{{ default }}", "x"]);
}
