//! Lenient readers for raw JSON fields and the processing notes they leave behind (§7: a field of
//! the wrong shape is dropped and noted, never fatal).

use serde_json::{Map, Value};

use crate::domain::event::ProcessingError;

/// Hostile payloads can be wrong everywhere; the notes stored with an event stay bounded.
const MAX_NOTES: usize = 100;

/// Processing notes collected while normalizing; they end up in `Event::errors`.
#[derive(Debug, Default)]
pub(super) struct Notes(Vec<ProcessingError>);

impl Notes {
    pub(super) fn push(&mut self, kind: &str, name: &str) {
        self.record(ProcessingError {
            kind: kind.to_owned(),
            name: name.to_owned(),
            ..ProcessingError::default()
        });
    }

    pub(super) fn record(&mut self, note: ProcessingError) {
        if self.0.len() < MAX_NOTES {
            self.0.push(note);
        }
    }

    /// A field whose shape we cannot use; the value was dropped.
    pub(super) fn invalid(&mut self, name: &str) {
        self.push("invalid_data", name);
    }

    pub(super) fn too_long(&mut self, name: &str) {
        self.push("value_too_long", name);
    }

    pub(super) fn into_vec(self) -> Vec<ProcessingError> {
        self.0
    }
}

/// Removes `key`, treating an explicit `null` like an absent field.
pub(super) fn take(map: &mut Map<String, Value>, key: &str) -> Option<Value> {
    map.remove(key).filter(|value| !value.is_null())
}

/// A string field; any other shape is noted as invalid.
pub(super) fn into_string(value: Value, name: &str, notes: &mut Notes) -> Option<String> {
    match value {
        Value::String(text) => Some(strip_nul(text)),
        Value::Null => None,
        _ => {
            notes.invalid(name);
            None
        }
    }
}

/// Reads a string field and caps it at `max_chars`, noting a cut.
pub(super) fn string_field(
    map: &mut Map<String, Value>,
    key: &str,
    max_chars: usize,
    notes: &mut Notes,
) -> Option<String> {
    let mut text = into_string(take(map, key)?, key, notes)?;
    if truncate_chars(&mut text, max_chars) {
        notes.too_long(key);
    }
    Some(text)
}

/// Any scalar as text (numbers and booleans stringified, containers as compact JSON).
pub(super) fn into_lenient_string(value: Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(strip_nul(text)),
        other => Some(strip_nul(other.to_string())),
    }
}

/// Booleans, plus the `"true"`/`"false"` strings some SDKs send.
pub(super) fn into_bool(value: Value, name: &str, notes: &mut Notes) -> Option<bool> {
    match value {
        Value::Bool(flag) => Some(flag),
        Value::Null => None,
        Value::String(text) if text == "true" => Some(true),
        Value::String(text) if text == "false" => Some(false),
        _ => {
            notes.invalid(name);
            None
        }
    }
}

pub(super) fn bool_field(map: &mut Map<String, Value>, key: &str, notes: &mut Notes) -> Option<bool> {
    into_bool(take(map, key)?, key, notes)
}

/// Accepts `{"values": [...]}`, a bare list, or one object standing for a one-element list (§7.1).
pub(super) fn into_values(value: Value, name: &str, notes: &mut Notes) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        Value::Object(mut map) if map.contains_key("values") => match map.remove("values") {
            Some(Value::Array(items)) => items,
            Some(Value::Null) | None => Vec::new(),
            Some(_) => {
                notes.invalid(name);
                Vec::new()
            }
        },
        single @ Value::Object(_) => vec![single],
        Value::Null => Vec::new(),
        _ => {
            notes.invalid(name);
            Vec::new()
        }
    }
}

/// Postgres cannot store NUL characters (§7.6), so they never leave normalization.
pub(super) fn strip_nul(text: String) -> String {
    if text.contains('\0') {
        text.replace('\0', "")
    } else {
        text
    }
}

/// Cuts `text` to at most `max_chars` characters; returns whether anything was cut.
pub(super) fn truncate_chars(text: &mut String, max_chars: usize) -> bool {
    if text.len() <= max_chars {
        return false;
    }
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => {
            text.truncate(cut);
            true
        }
        None => false,
    }
}

/// Cuts `text` to at most `max_bytes` bytes without splitting a character.
pub(super) fn truncate_bytes(text: &mut String, max_bytes: usize) -> bool {
    if text.len() <= max_bytes {
        return false;
    }
    let mut cut = max_bytes;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_accept_wrapper_list_and_single_object() {
        let mut notes = Notes::default();
        let wrapped = into_values(json!({"values": [{"a": 1}]}), "x", &mut notes);
        let bare = into_values(json!([{"a": 1}]), "x", &mut notes);
        let single = into_values(json!({"a": 1}), "x", &mut notes);
        assert_eq!(wrapped, bare);
        assert_eq!(bare, single);
        assert!(notes.into_vec().is_empty());
    }

    #[test]
    fn values_of_a_scalar_are_invalid() {
        let mut notes = Notes::default();
        assert!(into_values(json!(7), "exception", &mut notes).is_empty());
        assert_eq!(notes.into_vec()[0].name, "exception");
    }

    #[test]
    fn truncation_respects_character_boundaries() {
        let mut text = "ééé".to_owned();
        assert!(truncate_chars(&mut text, 2));
        assert_eq!(text, "éé");
        let mut text = "ééé".to_owned();
        assert!(truncate_bytes(&mut text, 3));
        assert_eq!(text, "é");
    }

    #[test]
    fn nul_characters_are_stripped() {
        assert_eq!(strip_nul("a\0b".to_owned()), "ab");
    }

    #[test]
    fn wrong_shaped_string_is_noted_and_dropped() {
        let mut notes = Notes::default();
        assert_eq!(into_string(json!(5), "logger", &mut notes), None);
        assert_eq!(notes.into_vec()[0].kind, "invalid_data");
    }
}
