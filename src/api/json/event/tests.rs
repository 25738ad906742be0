use serde_json::json;

use super::*;
use crate::domain::event::{Exception, Frame, Level, LogEntry, Mechanism, Request, Stacktrace};
use crate::domain::normalize::corpus_tests::{corpus_events, normalize_corpus_event};

const CTX: EventContext<'static> = EventContext {
    group_id: crate::domain::IssueId(42),
    project_id: crate::domain::ProjectId(7),
    project_slug: "shop",
    size: 1234,
};

fn message_event(text: &str) -> Event {
    Event {
        event_id: "afb1935b18734efe866b70b0926f225e".into(),
        timestamp: 1_735_732_800.123,
        received: 1_735_732_801.0,
        platform: "python".into(),
        logentry: Some(LogEntry {
            formatted: Some(text.into()),
            ..LogEntry::default()
        }),
        ..Event::default()
    }
}

fn error_event() -> Event {
    let crash = Frame {
        filename: Some("app/views.py".into()),
        module: Some("app.views".into()),
        function: Some("index".into()),
        in_app: Some(true),
        ..Frame::default()
    };
    Event {
        exception: vec![Exception {
            ty: Some("KeyError".into()),
            value: Some("'sku'".into()),
            mechanism: Some(Mechanism {
                ty: Some("django".into()),
                handled: Some(false),
                ..Mechanism::default()
            }),
            stacktrace: Some(Stacktrace {
                frames: vec![crash],
                ..Stacktrace::default()
            }),
            ..Exception::default()
        }],
        ..message_event("")
    }
}

fn tag_pairs(rendered: &Value) -> Vec<(String, String)> {
    let tags = rendered["tags"].as_array().expect("tags array");
    let pair = |tag: &Value| {
        (
            tag["key"].as_str().unwrap().to_owned(),
            tag["value"].as_str().unwrap().to_owned(),
        )
    };
    tags.iter().map(pair).collect()
}

fn tag<'a>(tags: &'a [(String, String)], key: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn corpus_detail(prefix: &str) -> Value {
    let events = corpus_events();
    let (_, header, payload) = events.iter().find(|(name, ..)| name.starts_with(prefix)).unwrap();
    event_detail(&normalize_corpus_event(header, payload.clone()), &CTX)
}

fn entry<'a>(detail: &'a Value, kind: &str) -> &'a Value {
    let entries = detail["entries"].as_array().expect("entries array");
    let found = entries.iter().find(|entry| entry["type"] == kind);
    &found.unwrap_or_else(|| panic!("no {kind} entry"))["data"]
}

#[test]
fn ids_are_strings_and_dates_are_iso() {
    let detail = event_detail(&message_event("hi"), &CTX);
    assert_eq!(detail["id"], "afb1935b18734efe866b70b0926f225e");
    assert_eq!(detail["eventID"], detail["id"]);
    assert_eq!((&detail["groupID"], &detail["projectID"]), (&json!("42"), &json!("7")));
    assert_eq!(detail["dateCreated"], "2025-01-01T12:00:00.123000Z");
    assert_eq!(detail["dateReceived"], "2025-01-01T12:00:01.000000Z");
    assert_eq!(
        (&detail["size"], &detail["projectSlug"]),
        (&json!(1234), &json!("shop"))
    );
}

#[test]
fn tags_are_sorted_and_include_derived_ones() {
    let mut event = error_event();
    event.tags = vec![("tenant".into(), "t-2".into()), ("region".into(), "eu".into())];
    event.environment = Some("production".into());
    event.release = Some("shop@1.2.3".into());
    event.server_name = Some("web-3".into());
    event.transaction = Some("/cart".into());
    event.user = Some(User {
        id: Some("42".into()),
        email: Some("a@b.example".into()),
        ..User::default()
    });
    event.request = Some(Request {
        url: Some("https://shop.example.com/cart".into()),
        ..Request::default()
    });
    let tags = tag_pairs(&event_detail(&event, &CTX));
    let keys: Vec<&str> = tags.iter().map(|(key, _)| key.as_str()).collect();
    let expected = [
        "environment",
        "handled",
        "level",
        "mechanism",
        "region",
        "release",
        "server_name",
        "tenant",
        "transaction",
        "url",
        "user",
        "user.email",
    ];
    assert_eq!(keys, expected);
    assert_eq!(tag(&tags, "user"), Some("id:42"));
    assert_eq!(tag(&tags, "level"), Some("error"));
    assert_eq!(tag(&tags, "handled"), Some("no"));
    assert_eq!(tag(&tags, "url"), Some("https://shop.example.com/cart"));
}

#[test]
fn the_tags_shown_are_the_ones_stored_for_search() {
    let mut event = error_event();
    let contexts = json!({"browser": {"name": "Firefox", "version": "128.0"}, "runtime": {"name": "CPython"}});
    event.contexts = contexts.as_object().unwrap().clone();
    event.tags = vec![("region".into(), "eu".into()), ("level".into(), "debug".into())];
    event.logger = Some("shop".into());
    event.user = Some(User {
        email: Some("a@b.example".into()),
        ..User::default()
    });
    // What ingest stores as the issue's facets: `domain::tags::event_tags`.
    let stored = event_tags(&event);
    assert_eq!(tag_pairs(&event_detail(&event, &CTX)), stored);
    assert_eq!(tag_pairs(&event_summary(&event, &CTX)), stored);
    let corpus = normalize_corpus_event(&corpus_events()[0].1, corpus_events()[0].2.clone());
    assert_eq!(tag_pairs(&event_detail(&corpus, &CTX)), event_tags(&corpus));
}

#[test]
fn derived_tags_replace_client_tags_of_the_same_key() {
    let mut event = message_event("hi");
    event.level = Level::Warning;
    event.tags = vec![("level".into(), "debug".into())];
    let tags = tag_pairs(&event_summary(&event, &CTX));
    assert_eq!(tags, [("level".to_owned(), "warning".to_owned())]);
}

#[test]
fn browser_and_os_tags_come_from_contexts() {
    let mut event = message_event("hi");
    let contexts = json!({"browser": {"name": "Firefox", "version": "128.0"}, "os": {"name": "Linux"}});
    event.contexts = contexts.as_object().unwrap().clone();
    let tags = tag_pairs(&event_detail(&event, &CTX));
    assert_eq!(tag(&tags, "browser"), Some("Firefox 128.0"));
    assert_eq!(tag(&tags, "browser.name"), Some("Firefox"));
    assert_eq!(tag(&tags, "os"), Some("Linux"));
    assert_eq!(tag(&tags, "os.name"), Some("Linux"));
}

#[test]
fn derived_tag_values_sentry_could_not_index_are_left_out() {
    let mut event = message_event("hi");
    event.transaction = Some(format!("/{}", "a".repeat(250)));
    assert_eq!(tag(&tag_pairs(&event_detail(&event, &CTX)), "transaction"), None);
}

#[test]
fn user_is_null_when_absent() {
    let detail = event_detail(&message_event("hi"), &CTX);
    assert_eq!(detail["user"], Value::Null);
    assert_eq!(event_summary(&message_event("hi"), &CTX)["user"], Value::Null);
}

#[test]
fn user_uses_sentry_api_field_names() {
    let mut event = message_event("hi");
    event.user = Some(User {
        id: Some("42".into()),
        ip_address: Some("192.0.2.1".into()),
        ..User::default()
    });
    let user = &event_detail(&event, &CTX)["user"];
    assert_eq!((&user["id"], &user["ip_address"]), (&json!("42"), &json!("192.0.2.1")));
    for key in ["email", "username", "name", "data"] {
        assert_eq!(user[key], Value::Null, "{key}");
    }
}

#[test]
fn summary_has_exactly_the_listed_keys() {
    let summary = event_summary(&error_event(), &CTX);
    let mut keys: Vec<&str> = summary.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected = [
        "id",
        "event.type",
        "groupID",
        "eventID",
        "projectID",
        "message",
        "title",
        "location",
        "culprit",
        "user",
        "tags",
        "platform",
        "dateCreated",
        "crashFile",
    ];
    expected.sort_unstable();
    assert_eq!(keys, expected);
    assert_eq!(summary["event.type"], "error");
}

#[test]
fn titles_culprits_and_locations_describe_the_crash() {
    let detail = event_detail(&error_event(), &CTX);
    assert_eq!(detail["title"], "KeyError: 'sku'");
    assert_eq!(detail["culprit"], "app.views in index");
    assert_eq!(detail["location"], "app/views.py");
    assert_eq!(detail["type"], "error");
    let metadata = json!({"type": "KeyError", "value": "'sku'", "filename": "app/views.py", "function": "index"});
    assert_eq!(detail["metadata"], metadata);
}

#[test]
fn message_events_show_their_message() {
    let detail = event_detail(&message_event("Disk almost full"), &CTX);
    assert_eq!(detail["message"], "Disk almost full");
    assert_eq!(detail["type"], "default");
    assert_eq!(detail["metadata"]["title"], "Disk almost full");
    assert_eq!(detail["location"], Value::Null);
    let error = event_detail(&error_event(), &CTX);
    assert_eq!(error["message"], "");
}

#[test]
fn fingerprints_default_to_the_default_grouping() {
    let mut event = message_event("hi");
    assert_eq!(event_detail(&event, &CTX)["fingerprints"], json!(["{{ default }}"]));
    event.fingerprint = vec!["{{ default }}".into(), "tenant-2".into()];
    assert_eq!(
        event_detail(&event, &CTX)["fingerprints"],
        json!(["{{ default }}", "tenant-2"])
    );
}

#[test]
fn processing_errors_read_as_sentry_event_errors() {
    let mut event = message_event("hi");
    event.errors = vec![
        ProcessingError {
            kind: "future_timestamp".into(),
            name: "timestamp".into(),
            ..ProcessingError::default()
        },
        ProcessingError {
            kind: "invalid_data".into(),
            name: "extra.big".into(),
            value: Some("1e400".into()),
            reason: Some("kept as a string".into()),
        },
    ];
    let expected = json!([{
        "type": "future_timestamp",
        "message": "Invalid timestamp (in future)",
        "data": {"name": "timestamp"},
    }, {
        "type": "invalid_data",
        "message": "Discarded invalid value",
        "data": {"name": "extra.big", "value": "1e400", "reason": "kept as a string"},
    }]);
    assert_eq!(event_detail(&event, &CTX)["errors"], expected);
}

#[test]
fn the_release_is_an_object_or_null() {
    let mut event = message_event("hi");
    assert_eq!(event_detail(&event, &CTX)["release"], Value::Null);
    event.release = Some("shop@1.2.3".into());
    assert_eq!(event_detail(&event, &CTX)["release"], json!({"version": "shop@1.2.3"}));
}

#[test]
fn a_corpus_python_error_renders_its_crash_frame_with_source() {
    let detail = corpus_detail("000");
    let exception = entry(&detail, "exception");
    let frames = exception["values"][0]["stacktrace"]["frames"].as_array().unwrap();
    assert_eq!(frames.len(), 13);
    let crash = frames.last().unwrap();
    assert_eq!(crash["inApp"], true);
    assert_eq!(crash["lineNo"], 79);
    let context = crash["context"].as_array().unwrap();
    assert!(context.iter().any(|line| line[0] == 79), "{context:?}");
    assert_eq!(detail["title"], "ZeroDivisionError: division by zero");
    assert_eq!(detail["dateCreated"], "2026-11-21T10:28:19.134740Z");
}

#[test]
fn a_corpus_python_error_carries_request_tags_and_user() {
    let detail = corpus_detail("000");
    let headers = entry(&detail, "request")["headers"].as_array().unwrap();
    assert!(headers.iter().all(|pair| pair.as_array().is_some_and(|p| p.len() == 2)));
    assert_eq!(headers[0][0], "Accept");
    let tags = tag_pairs(&detail);
    assert_eq!(tag(&tags, "user"), Some("id:100"));
    assert_eq!(tag(&tags, "environment"), Some("production"));
    assert_eq!(tag(&tags, "runtime"), Some("CPython 3.11.7"));
    assert_eq!(tag(&tags, "region"), Some("eu-west-1"));
    assert_eq!(detail["user"]["username"], "user100");
    assert_eq!(
        entry(&detail, "breadcrumbs")["values"].as_array().map(Vec::len),
        Some(3)
    );
}

#[test]
fn a_corpus_log_message_renders_a_message_entry() {
    let detail = corpus_detail("004");
    let formatted = "Payment pay_00000 failed for customer cus_000000: gateway returned card_declined";
    assert_eq!(detail["message"], formatted);
    assert_eq!(entry(&detail, "message")["formatted"], formatted);
    assert_eq!(entry(&detail, "message")["params"][0], "pay_00000");
}
