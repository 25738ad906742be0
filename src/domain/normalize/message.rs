//! The log entry (§7.1): `logentry` and its legacy alias `message` (string or object), with
//! `formatted` backfilled from the template and its parameters.

use serde_json::{Map, Value};

use super::fields::{into_lenient_string, take, truncate_chars, Notes};
use super::format::format_message;
use super::trim::{trim_databag, LARGE_BAG_BYTES};
use crate::domain::event::LogEntry;

const MAX_MESSAGE_CHARS: usize = 8192;

/// Reads `logentry`, falling back to the legacy `message` / `sentry.interfaces.Message` aliases.
pub(super) fn read_logentry(map: &mut Map<String, Value>, notes: &mut Notes) -> Option<LogEntry> {
    let primary = take(map, "logentry").or_else(|| take(map, "sentry.interfaces.Message"));
    let legacy = take(map, "message");
    let entry = primary
        .and_then(parse_logentry)
        .filter(has_text)
        .or_else(|| legacy.and_then(parse_logentry).filter(has_text))?;
    Some(finish(entry, notes))
}

/// A string is the formatted message; `false` means "no message"; other scalars are stringified.
fn parse_logentry(raw: Value) -> Option<LogEntry> {
    match raw {
        Value::Object(mut object) => Some(LogEntry {
            message: take(&mut object, "message").and_then(into_lenient_string),
            formatted: take(&mut object, "formatted").and_then(into_lenient_string),
            params: take(&mut object, "params"),
        }),
        Value::Bool(false) | Value::Null => None,
        other => Some(LogEntry {
            formatted: into_lenient_string(other),
            ..LogEntry::default()
        }),
    }
}

fn has_text(entry: &LogEntry) -> bool {
    has_content(entry.message.as_deref()) || has_content(entry.formatted.as_deref())
}

fn has_content(text: Option<&str>) -> bool {
    matches!(text, Some(text) if !text.is_empty())
}

fn finish(mut entry: LogEntry, notes: &mut Notes) -> LogEntry {
    cap(&mut entry.message, notes);
    if let Some(params) = entry.params.as_mut() {
        trim_databag(params, LARGE_BAG_BYTES);
    }
    if !has_content(entry.formatted.as_deref()) {
        entry.formatted = entry.message.as_deref().map(|template| {
            entry
                .params
                .as_ref()
                .and_then(|params| format_message(template, params))
                .unwrap_or_else(|| template.to_owned())
        });
    }
    cap(&mut entry.formatted, notes);
    entry
}

fn cap(text: &mut Option<String>, notes: &mut Notes) {
    if let Some(text) = text.as_mut() {
        if truncate_chars(text, MAX_MESSAGE_CHARS) {
            notes.too_long("logentry");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(raw: Value) -> Option<LogEntry> {
        let Value::Object(mut map) = raw else { unreachable!() };
        read_logentry(&mut map, &mut Notes::default())
    }

    fn formatted(raw: Value) -> Option<String> {
        read(raw).and_then(|entry| entry.formatted)
    }

    #[test]
    fn legacy_string_message_becomes_formatted() {
        let entry = read(json!({"message": "hi"})).unwrap();
        assert_eq!(entry.formatted.as_deref(), Some("hi"));
        assert_eq!(entry.message, None);
    }

    #[test]
    fn false_message_is_ignored_and_other_json_stringified() {
        assert_eq!(read(json!({"message": false})), None);
        assert_eq!(formatted(json!({"message": 42})).as_deref(), Some("42"));
        assert_eq!(formatted(json!({"message": ["a", 1]})).as_deref(), Some(r#"["a",1]"#));
    }

    #[test]
    fn message_object_is_an_alias_of_logentry() {
        let entry = read(json!({"message": {"message": "x %s", "params": ["y"]}})).unwrap();
        assert_eq!(entry.message.as_deref(), Some("x %s"));
        assert_eq!(entry.formatted.as_deref(), Some("x y"));
    }

    #[test]
    fn logentry_wins_over_message() {
        let raw = json!({"logentry": {"formatted": "from logentry"}, "message": "legacy"});
        assert_eq!(formatted(raw).as_deref(), Some("from logentry"));
        let raw = json!({"logentry": {}, "message": "legacy"});
        assert_eq!(formatted(raw).as_deref(), Some("legacy"));
    }

    #[test]
    fn formatted_is_backfilled_from_template_and_params() {
        let raw = json!({"logentry": {"message": "Payment %s failed: %d", "params": ["p1", 7]}});
        assert_eq!(formatted(raw).as_deref(), Some("Payment p1 failed: 7"));
        let raw = json!({"logentry": {"message": "no params"}});
        assert_eq!(formatted(raw).as_deref(), Some("no params"));
        let raw = json!({"logentry": {"message": "too few %s %s", "params": ["a"]}});
        assert_eq!(formatted(raw).as_deref(), Some("too few %s %s"));
    }

    #[test]
    fn client_formatted_text_is_kept() {
        let raw = json!({"logentry": {"message": "a %s", "formatted": "a b", "params": ["zzz"]}});
        assert_eq!(formatted(raw).as_deref(), Some("a b"));
    }

    #[test]
    fn messages_are_capped_at_8192_characters() {
        let entry = read(json!({"logentry": {"message": "m".repeat(10_000)}})).unwrap();
        assert_eq!(entry.message.unwrap().len(), MAX_MESSAGE_CHARS);
        assert_eq!(entry.formatted.unwrap().len(), MAX_MESSAGE_CHARS);
    }
}
