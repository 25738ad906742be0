use serde_json::{json, Map};

use super::*;
use crate::domain::event::{Level, Mechanism};

fn frame(function: &str, in_app: Option<bool>) -> Frame {
    Frame {
        filename: Some("app/views.py".into()),
        abs_path: Some("/srv/app/views.py".into()),
        module: Some("app.views".into()),
        function: Some(function.into()),
        in_app,
        ..Frame::default()
    }
}

fn stack(frames: Vec<Frame>) -> Option<Stacktrace> {
    Some(Stacktrace {
        frames,
        ..Stacktrace::default()
    })
}

fn error_event(frames: Vec<Frame>) -> Event {
    Event {
        platform: "python".into(),
        exception: vec![Exception {
            ty: Some("KeyError".into()),
            value: Some("'sku'".into()),
            mechanism: Some(Mechanism {
                ty: Some("django".into()),
                handled: Some(false),
                ..Mechanism::default()
            }),
            stacktrace: stack(frames),
            ..Exception::default()
        }],
        ..Event::default()
    }
}

fn entry_of<'a>(entries: &'a [Value], kind: &str) -> &'a Value {
    let found = entries.iter().find(|entry| entry["type"] == kind);
    &found.unwrap_or_else(|| panic!("no {kind} entry in {entries:?}"))["data"]
}

fn entry_types(event: &Event) -> Vec<String> {
    let entries = event_entries(event);
    entries.iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn frames_use_camel_case_keys() {
    let mut crash = frame("index", Some(true));
    crash.raw_function = Some("index(request)".into());
    crash.instruction_addr = Some("0x1a2b".into());
    crash.colno = Some(7);
    let entries = event_entries(&error_event(vec![crash]));
    let rendered = &entry_of(&entries, "exception")["values"][0]["stacktrace"]["frames"][0];
    assert_eq!(rendered["absPath"], "/srv/app/views.py");
    assert_eq!(rendered["rawFunction"], "index(request)");
    assert_eq!(rendered["instructionAddr"], "0x1a2b");
    assert_eq!(rendered["colNo"], 7);
    assert_eq!(rendered["inApp"], true);
    for key in ["lineNo", "symbolAddr", "trust", "errors", "vars", "context"] {
        assert!(rendered.get(key).is_some(), "missing {key}");
    }
    let keys = rendered.as_object().unwrap().keys();
    assert!(
        keys.clone().all(|key| !key.contains('_')),
        "snake_case key in {rendered}"
    );
}

#[test]
fn source_context_numbers_lines_around_the_frame_line() {
    let mut crash = frame("index", Some(true));
    crash.lineno = Some(10);
    crash.pre_context = vec!["def index(request):".into(), "    cart = load()".into()];
    crash.context_line = Some("    return cart['sku']".into());
    crash.post_context = vec!["".into(), "def other():".into()];
    let entries = event_entries(&error_event(vec![crash]));
    let context = &entry_of(&entries, "exception")["values"][0]["stacktrace"]["frames"][0]["context"];
    let expected = json!([
        [8, "def index(request):"],
        [9, "    cart = load()"],
        [10, "    return cart['sku']"],
        [11, ""],
        [12, "def other():"],
    ]);
    assert_eq!(*context, expected);
}

#[test]
fn source_context_is_empty_without_a_line_number() {
    let mut crash = frame("index", Some(true));
    crash.context_line = Some("return cart['sku']".into());
    assert!(source_context(&crash).is_empty());
}

#[test]
fn source_context_without_its_center_line_keeps_the_numbering() {
    let mut crash = frame("index", Some(true));
    crash.lineno = Some(3);
    crash.pre_context = vec!["a".into()];
    crash.post_context = vec!["c".into()];
    assert_eq!(source_context(&crash), [(2, "a"), (4, "c")]);
}

#[test]
fn frames_keep_the_stored_oldest_first_order() {
    let frames = vec![frame("outer", Some(false)), frame("inner", Some(true))];
    let entries = event_entries(&error_event(frames));
    let rendered = &entry_of(&entries, "exception")["values"][0]["stacktrace"]["frames"];
    assert_eq!(rendered[0]["function"], "outer");
    assert_eq!(rendered[1]["function"], "inner");
}

#[test]
fn frames_of_unknown_or_library_origin_are_not_in_app() {
    let mut vendored = frame("get", Some(true));
    vendored.abs_path = Some("/usr/lib/python3.11/site-packages/requests/api.py".into());
    let frames = vec![frame("run", None), vendored, frame("index", Some(true))];
    let entries = event_entries(&error_event(frames));
    let rendered = &entry_of(&entries, "exception")["values"][0]["stacktrace"]["frames"];
    let in_app: Vec<&Value> = (0..3).map(|i| &rendered[i]["inApp"]).collect();
    assert_eq!(in_app, [&json!(false), &json!(false), &json!(true)]);
}

#[test]
fn system_frames_are_flagged_only_in_a_mixed_stack() {
    let mixed = event_entries(&error_event(vec![
        frame("run", Some(false)),
        frame("index", Some(true)),
    ]));
    let exception = entry_of(&mixed, "exception");
    assert_eq!(exception["hasSystemFrames"], true);
    assert_eq!(exception["values"][0]["stacktrace"]["hasSystemFrames"], true);
    let app_only = event_entries(&error_event(vec![frame("index", Some(true))]));
    assert_eq!(entry_of(&app_only, "exception")["hasSystemFrames"], false);
}

#[test]
fn exception_values_carry_type_value_and_mechanism() {
    let entries = event_entries(&error_event(vec![frame("index", Some(true))]));
    let data = entry_of(&entries, "exception");
    let value = &data["values"][0];
    assert_eq!(value["type"], "KeyError");
    assert_eq!(value["value"], "'sku'");
    assert_eq!(value["mechanism"], json!({"type": "django", "handled": false}));
    assert_eq!(value["rawStacktrace"], Value::Null);
    assert!(value.get("threadId").is_some() && data.get("excOmitted").is_some());
}

#[test]
fn an_exception_without_frames_has_a_null_stacktrace() {
    let entries = event_entries(&error_event(Vec::new()));
    assert_eq!(entry_of(&entries, "exception")["values"][0]["stacktrace"], Value::Null);
}

#[test]
fn entries_follow_sentry_display_order() {
    let mut event = error_event(vec![frame("index", Some(true))]);
    event.logentry = Some(LogEntry {
        formatted: Some("checkout failed".into()),
        ..LogEntry::default()
    });
    event.breadcrumbs = vec![Breadcrumb::default()];
    event.request = Some(Request::default());
    assert_eq!(entry_types(&event), ["message", "exception", "breadcrumbs", "request"]);
}

#[test]
fn events_without_interfaces_have_no_entries() {
    assert!(event_entries(&Event::default()).is_empty());
}

#[test]
fn thread_stacks_render_like_exception_stacks() {
    let event = Event {
        threads: vec![Thread {
            id: Some(json!(1)),
            name: Some("main".into()),
            crashed: Some(true),
            stacktrace: stack(vec![frame("main", Some(true))]),
            ..Thread::default()
        }],
        ..Event::default()
    };
    assert_eq!(entry_types(&event), ["threads"]);
    let entries = event_entries(&event);
    let thread = &entry_of(&entries, "threads")["values"][0];
    assert_eq!(
        (&thread["id"], &thread["crashed"], &thread["current"]),
        (&json!(1), &json!(true), &json!(false))
    );
    assert_eq!(thread["stacktrace"]["frames"][0]["function"], "main");
}

#[test]
fn a_legacy_stacktrace_becomes_a_stacktrace_entry() {
    let event = Event {
        stacktrace: stack(vec![frame("main", Some(true))]),
        ..Event::default()
    };
    let entries = event_entries(&event);
    assert_eq!(
        entry_of(&entries, "stacktrace")["frames"][0]["absPath"],
        "/srv/app/views.py"
    );
}

#[test]
fn the_message_entry_falls_back_to_the_template() {
    let logentry = LogEntry {
        message: Some("Payment %s failed".into()),
        params: Some(json!(["pay_1"])),
        ..LogEntry::default()
    };
    let expected = json!({"formatted": "Payment %s failed", "message": "Payment %s failed", "params": ["pay_1"]});
    assert_eq!(message_data(&logentry), expected);
}

#[test]
fn request_headers_are_sorted_pairs() {
    let request = Request {
        url: Some("https://shop.example.com/cart".into()),
        method: Some("POST".into()),
        headers: vec![
            ("User-Agent".into(), "curl/8".into()),
            ("Content-Type".into(), "application/json; charset=utf-8".into()),
        ],
        query_string: vec![("page".into(), "2".into())],
        cookies: vec![("session".into(), "[Filtered]".into())],
        ..Request::default()
    };
    let data = request_data(&request);
    let headers = json!([
        ["Content-Type", "application/json; charset=utf-8"],
        ["User-Agent", "curl/8"]
    ]);
    assert_eq!(data["headers"], headers);
    assert_eq!(data["query"], json!([["page", "2"]]));
    assert_eq!(data["cookies"], json!([["session", "[Filtered]"]]));
    assert_eq!(data["inferredContentType"], "application/json");
    assert_eq!(data["env"], Value::Null);
}

#[test]
fn a_structured_body_without_a_content_type_reads_as_json() {
    let mut env = Map::new();
    env.insert("REMOTE_ADDR".into(), json!("127.0.0.1"));
    let request = Request {
        data: Some(json!({"sku": 4})),
        env,
        ..Request::default()
    };
    let data = request_data(&request);
    assert_eq!(data["inferredContentType"], "application/json");
    assert_eq!(data["env"]["REMOTE_ADDR"], "127.0.0.1");
}

#[test]
fn breadcrumbs_get_iso_times_and_sentry_defaults() {
    let crumbs = vec![
        Breadcrumb {
            timestamp: Some(1_704_067_200.25),
            message: Some("loading cart".into()),
            ..Breadcrumb::default()
        },
        Breadcrumb {
            ty: Some("http".into()),
            level: Some(Level::Warning),
            ..Breadcrumb::default()
        },
    ];
    let values = &breadcrumbs_data(&crumbs)["values"];
    assert_eq!(values[0]["timestamp"], "2024-01-01T00:00:00.250000Z");
    assert_eq!(
        (&values[0]["type"], &values[0]["level"]),
        (&json!("default"), &json!("info"))
    );
    assert_eq!(
        (&values[1]["type"], &values[1]["level"]),
        (&json!("http"), &json!("warning"))
    );
    assert_eq!(values[1]["timestamp"], Value::Null);
    assert!(values[0].get("event_id").is_some());
}
