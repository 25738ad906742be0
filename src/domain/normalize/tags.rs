//! Tags (§7.3): object or pair list in, at most 100 ordered unique pairs out, with Relay's key and
//! value rules, reserved keys removed and `environment` / `server_name` / `site` moved around.

use serde_json::{Map, Value};

use super::attributes::parse_environment;
use super::fields::{into_lenient_string, into_string, strip_nul, take, truncate_chars, Notes};
use crate::domain::event::Event;

const MAX_TAG_CHARS: usize = 200;
/// Bugsink's cap on tags per event (§7.3).
pub(super) const MAX_TAGS: usize = 100;
/// Keys the server derives itself (`sentry:release` and friends), so client values are dropped.
const RESERVED_KEYS: [&str; 5] = ["release", "dist", "user", "filename", "function"];

/// Reads `tags` (and the legacy `site` field) into `event.tags`.
pub(super) fn read_tags(map: &mut Map<String, Value>, event: &mut Event, notes: &mut Notes) {
    let site = take(map, "site").and_then(|raw| into_string(raw, "site", notes));
    let mut tags = Vec::new();
    let server_name = event.server_name.clone().map(Value::String);
    let moved_fields = [("server_name", server_name), ("site", site.map(Value::String))];
    for (key, value) in moved_fields {
        if let Some(value) = value {
            add_tag(&mut tags, key.to_owned(), value, event, notes);
        }
    }
    for (key, value) in raw_tags(take(map, "tags"), notes) {
        if tags.len() == MAX_TAGS {
            notes.push("too_many_tags", "tags");
            break;
        }
        add_tag(&mut tags, key, value, event, notes);
    }
    event.tags = tags;
}

/// The client's tags as (key, value) in order, from an object or a `[[key, value], …]` list.
fn raw_tags(raw: Option<Value>, notes: &mut Notes) -> Vec<(String, Value)> {
    match raw {
        None => Vec::new(),
        Some(Value::Object(object)) => object.into_iter().collect(),
        Some(Value::Array(items)) => items
            .into_iter()
            .filter_map(|item| match item {
                Value::Array(pair) if pair.len() == 2 => {
                    let mut pair = pair.into_iter();
                    let key = pair.next().and_then(into_lenient_string).unwrap_or_default();
                    Some((key, pair.next().unwrap_or_default()))
                }
                _ => {
                    notes.invalid("tags");
                    None
                }
            })
            .collect(),
        Some(_) => {
            notes.invalid("tags");
            Vec::new()
        }
    }
}

fn add_tag(tags: &mut Vec<(String, String)>, raw_key: String, raw_value: Value, event: &mut Event, notes: &mut Notes) {
    if raw_value.is_null() {
        return;
    }
    let Some(key) = normalize_key(&raw_key) else {
        notes.invalid("tags");
        return;
    };
    if RESERVED_KEYS.contains(&key.as_str()) || tags.iter().any(|(existing, _)| *existing == key) {
        return;
    }
    let Some(value) = normalize_value(raw_value, notes) else {
        notes.invalid(&format!("tags.{key}"));
        return;
    };
    if key == "environment" {
        if event.environment.is_none() {
            event.environment = parse_environment(&value, notes);
        }
        return;
    }
    tags.push((key, value));
}

/// Trimmed, spaces become `-`, only `a-zA-Z0-9_.:-`, at most 200 characters.
fn normalize_key(raw: &str) -> Option<String> {
    let key = raw.trim().replace(' ', "-");
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-');
    let valid = !key.is_empty() && key.len() <= MAX_TAG_CHARS && key.chars().all(allowed);
    valid.then_some(key)
}

/// Stringified like Python's `str()` for booleans, floats truncated toward zero, trimmed, no line
/// breaks; longer than 200 characters is cut and noted.
fn normalize_value(raw: Value, notes: &mut Notes) -> Option<String> {
    let mut value = match raw {
        Value::String(text) => strip_nul(text),
        Value::Bool(flag) => if flag { "True" } else { "False" }.to_owned(),
        Value::Number(number) => match number.as_f64() {
            Some(float) if number.is_f64() => truncated_float(float),
            _ => number.to_string(),
        },
        Value::Null | Value::Array(_) | Value::Object(_) => return None,
    };
    let trimmed = value.trim();
    if trimmed.len() != value.len() {
        value = trimmed.to_owned();
    }
    if value.is_empty() || value.contains(['\n', '\r']) {
        return None;
    }
    if truncate_chars(&mut value, MAX_TAG_CHARS) {
        notes.too_long("tags");
    }
    Some(value)
}

fn truncated_float(float: f64) -> String {
    let whole = float.trunc();
    if whole.abs() < 9.0e15 {
        format!("{}", whole as i64)
    } else {
        format!("{whole:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(raw: Value) -> (Event, Vec<String>) {
        let Value::Object(mut map) = raw else { unreachable!() };
        let mut event = Event {
            server_name: map.remove("server_name").and_then(|v| v.as_str().map(str::to_owned)),
            environment: map.remove("environment").and_then(|v| v.as_str().map(str::to_owned)),
            ..Event::default()
        };
        let mut notes = Notes::default();
        read_tags(&mut map, &mut event, &mut notes);
        (event, notes.into_vec().into_iter().map(|note| note.kind).collect())
    }

    fn tags(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn object_and_pair_list_give_the_same_tags() {
        let expected = tags(&[("foo-bar", "True"), ("n", "42")]);
        let pairs = read(json!({"tags": [["foo bar", true], ["n", 42]]})).0.tags;
        assert_eq!(pairs, expected);
        let mut object = read(json!({"tags": {"foo bar": true, "n": 42}})).0.tags;
        object.sort();
        assert_eq!(object, expected);
    }

    #[test]
    fn values_are_stringified_python_style() {
        let raw = json!({"tags": [["f", false], ["x", 2.9], ["y", -2.9], ["s", "  padded  "], ["k", 7]]});
        let expected = tags(&[("f", "False"), ("x", "2"), ("y", "-2"), ("s", "padded"), ("k", "7")]);
        assert_eq!(read(raw).0.tags, expected);
    }

    #[test]
    fn reserved_keys_are_dropped() {
        let raw =
            json!({"tags": {"release": "1.0", "dist": "1", "user": "u", "filename": "f", "function": "g", "ok": "y"}});
        assert_eq!(read(raw).0.tags, tags(&[("ok", "y")]));
    }

    #[test]
    fn environment_tag_fills_an_empty_field() {
        let (event, _) = read(json!({"tags": {"environment": "prod"}}));
        assert_eq!(event.environment.as_deref(), Some("prod"));
        assert!(event.tags.is_empty());
        let (event, _) = read(json!({"environment": "staging", "tags": {"environment": "prod"}}));
        assert_eq!(event.environment.as_deref(), Some("staging"));
        assert!(event.tags.is_empty());
    }

    #[test]
    fn server_name_and_site_become_tags() {
        let (event, _) = read(json!({"server_name": "web-1", "site": "eu", "tags": {"server_name": "spoofed"}}));
        assert_eq!(event.tags, tags(&[("server_name", "web-1"), ("site", "eu")]));
    }

    #[test]
    fn long_values_are_trimmed_to_200_and_noted() {
        let (event, kinds) = read(json!({"tags": {"long": "v".repeat(300)}}));
        assert_eq!(event.tags[0].1.len(), MAX_TAG_CHARS);
        assert_eq!(kinds, ["value_too_long"]);
    }

    #[test]
    fn invalid_keys_and_values_are_dropped_and_noted() {
        let raw = json!({"tags": [["", "x"], ["bad/key", "x"], ["k".repeat(201), "x"], ["empty", " "], ["nl", "a\nb"], ["obj", {}], ["nothing", null], "junk"]});
        let (event, kinds) = read(raw);
        assert!(event.tags.is_empty());
        assert_eq!(kinds.len(), 7);
        assert!(kinds.iter().all(|kind| kind == "invalid_data"));
    }

    #[test]
    fn duplicates_keep_the_first() {
        let (event, _) = read(json!({"tags": [["a", "1"], ["a", "2"]]}));
        assert_eq!(event.tags, tags(&[("a", "1")]));
    }

    #[test]
    fn at_most_100_tags() {
        let raw: Vec<Value> = (0..150).map(|n| json!([format!("t{n}"), "v"])).collect();
        let (event, kinds) = read(json!({ "tags": raw }));
        assert_eq!(event.tags.len(), MAX_TAGS);
        assert_eq!(event.tags[99].0, "t99");
        assert_eq!(kinds, ["too_many_tags"]);
    }
}
