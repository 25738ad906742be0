//! Grouping of real Python SDK captures: four captures of each of nine error kinds.

use super::compute_grouping;
use crate::domain::event::Event;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Reshapes the raw SDK event into the normalized contract, for the fields grouping reads.
/// The real normalizer does much more; this only unwraps the SDK's alternative shapes.
fn event_from_sdk_json(raw: &Value) -> Event {
    let values = |key: &str| match raw.get(key) {
        Some(Value::Object(wrapper)) => wrapper.get("values").cloned().unwrap_or(json!([])),
        Some(list @ Value::Array(_)) => list.clone(),
        _ => json!([]),
    };
    let tags: Vec<Value> = raw
        .get("tags")
        .and_then(Value::as_object)
        .map(|tags| {
            tags.iter()
                .map(|(k, v)| json!([k, v.as_str().map_or_else(|| v.to_string(), str::to_string)]))
                .collect()
        })
        .unwrap_or_default();
    let logentry = match (raw.get("logentry"), raw.get("message")) {
        (Some(logentry), _) => logentry.clone(),
        (None, Some(Value::String(text))) => json!({ "formatted": text }),
        _ => Value::Null,
    };
    let mut shaped = Map::new();
    shaped.insert("event_id".into(), raw["event_id"].clone());
    shaped.insert("timestamp".into(), json!(0.0));
    shaped.insert("received".into(), json!(0.0));
    for key in ["platform", "level", "logger", "transaction", "fingerprint"] {
        if let Some(value) = raw.get(key) {
            shaped.insert(key.into(), value.clone());
        }
    }
    shaped.insert("exception".into(), values("exception"));
    shaped.insert("threads".into(), values("threads"));
    shaped.insert("tags".into(), Value::Array(tags));
    if !logentry.is_null() {
        shaped.insert("logentry".into(), logentry);
    }
    serde_json::from_value(Value::Object(shaped)).expect("reshaped corpus event fits the contract")
}

/// (kind, event) for every capture; the kind is the file name without its sequence number.
fn corpus_events() -> Vec<(String, Event)> {
    crate::corpus::python_envelopes()
        .into_iter()
        .map(|(file_name, bytes)| {
            let text = std::str::from_utf8(bytes).expect("envelope is UTF-8");
            let event_line = text.lines().nth(2).expect("line 3 holds the event");
            let raw: Value = serde_json::from_str(event_line).expect("event line is JSON");
            let name = file_name.trim_end_matches(".envelope");
            let kind = name.split_once('_').map_or(name, |(_, kind)| kind);
            (kind.to_string(), event_from_sdk_json(&raw))
        })
        .collect()
}

fn hashes_by_kind() -> BTreeMap<String, Vec<String>> {
    let mut by_kind: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (kind, event) in corpus_events() {
        by_kind.entry(kind).or_default().push(compute_grouping(&event).hash);
    }
    by_kind
}

fn distinct(hashes: &[String]) -> usize {
    hashes.iter().collect::<BTreeSet<_>>().len()
}

#[test]
fn the_corpus_holds_four_captures_of_nine_kinds() {
    let by_kind = hashes_by_kind();
    assert_eq!(by_kind.len(), 9, "{:?}", by_kind.keys());
    assert!(by_kind.values().all(|hashes| hashes.len() == 4));
}

#[test]
fn repeated_captures_of_an_unchanged_bug_share_one_group() {
    for (kind, hashes) in hashes_by_kind() {
        assert_eq!(distinct(&hashes), 1, "{kind}");
    }
}

#[test]
fn the_corpus_forms_exactly_one_group_per_kind() {
    let all: Vec<String> = hashes_by_kind().into_values().flatten().collect();
    assert_eq!(distinct(&all), 9);
}

/// The captures recurse through `resolve_setting`/`resolve_setting_inner` to stack depths 13,
/// 19, 25 and 29; the repeated pair collapses to one copy, so the depth does not split.
#[test]
fn recursion_depth_through_alternating_functions_does_not_split_an_issue() {
    let by_kind = hashes_by_kind();
    assert_eq!(distinct(&by_kind["nested_key_error"]), 1);
    let (_, event) = corpus_events()
        .into_iter()
        .find(|(kind, _)| kind == "nested_key_error")
        .expect("a nested-key-error capture");
    let functions: Vec<String> = compute_grouping(&event).components[1..]
        .iter()
        .filter_map(|line| line.split(" | ").nth(1).map(str::to_string))
        .collect();
    assert_eq!(
        functions,
        [
            "nested_key_error",
            "load_config",
            "resolve_setting",
            "resolve_setting_inner",
            "resolve_setting"
        ]
    );
}

/// `Disk usage above threshold on volume /data0` … `/data3`: the digits ending the volume name
/// become `<int>`, so the volumes share one issue.
#[test]
fn messages_naming_different_volumes_share_one_group() {
    let by_kind = hashes_by_kind();
    assert_eq!(distinct(&by_kind["capture_message"]), 1);
    let (_, event) = corpus_events()
        .into_iter()
        .find(|(kind, _)| kind == "capture_message")
        .expect("a capture-message capture");
    assert_eq!(
        compute_grouping(&event).components,
        ["message: Disk usage above threshold on volume /data<int>"]
    );
}

#[test]
fn different_kinds_never_share_a_group() {
    let by_kind = hashes_by_kind();
    let all: Vec<String> = by_kind.values().flatten().cloned().collect();
    let per_kind_total: usize = by_kind.values().map(|hashes| distinct(hashes)).sum();
    assert_eq!(distinct(&all), per_kind_total);
}

#[test]
fn wsgi_errors_group_by_type_and_in_app_frames_with_recursion_collapsed() {
    let (_, event) = corpus_events()
        .into_iter()
        .find(|(kind, _)| kind == "wsgi_zero_division")
        .expect("a zero-division capture");
    let components = compute_grouping(&event).components;
    assert_eq!(components[0], "exception type: ZeroDivisionError");
    let functions: Vec<&str> = components[1..]
        .iter()
        .filter_map(|line| line.split(" | ").nth(1))
        .collect();
    assert_eq!(
        functions,
        vec![
            "wsgi_app",
            "__call__",
            "resolve_and_call_view",
            "order_summary_view",
            "apply_discount",
            "compute_average_price"
        ]
    );
}

#[test]
fn logged_exceptions_group_by_in_app_frames_only() {
    let (_, event) = corpus_events()
        .into_iter()
        .find(|(kind, _)| kind == "logged_exception")
        .expect("a logged-exception capture");
    let components = compute_grouping(&event).components;
    assert_eq!(components.len(), 2, "{components:#?}");
    assert!(components[1].starts_with("in-app frame: __main__ | logged_exception | json.loads("));
}
