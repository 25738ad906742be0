//! Lenient readers over stored event JSON. Payloads come from SDKs we do not control and from older
//! normalizers, so every reader accepts odd shapes (numbers as strings, objects as pair lists, missing
//! sections) and answers with "nothing" rather than failing.

use serde_json::Value;

/// A value as one line of text: strings as they are, scalars printed, lists and objects as compact JSON.
pub fn text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        Value::Bool(_) | Value::Number(_) => Some(value.to_string()),
        Value::Array(_) | Value::Object(_) => Some(value.to_string()),
    }
}

/// The text of `value[key]`, unless missing or empty.
pub fn field(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(text).filter(|text| !text.is_empty())
}

/// A list: an array as is, or the `values` array Sentry wraps interfaces in; anything else is empty.
pub fn list(value: &Value) -> &[Value] {
    match value {
        Value::Array(items) => items,
        Value::Object(_) => value.get("values").and_then(Value::as_array).map_or(&[], Vec::as_slice),
        _ => &[],
    }
}

/// Key/value pairs from an object, a list of `[key, value]` pairs, or a list of `{key, value}` objects.
/// Other list items are keyed by position; a lone scalar becomes one pair keyed "value".
pub fn pairs(value: &Value) -> Vec<(String, String)> {
    match value {
        Value::Object(map) => map
            .iter()
            .map(|(key, value)| (key.clone(), text(value).unwrap_or_default()))
            .collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(index, item)| pair_item(index, item))
            .collect(),
        Value::Null => Vec::new(),
        scalar => vec![("value".to_owned(), text(scalar).unwrap_or_default())],
    }
}

fn pair_item(index: usize, item: &Value) -> (String, String) {
    match item {
        Value::Array(pair) if pair.len() == 2 => {
            (text(&pair[0]).unwrap_or_default(), text(&pair[1]).unwrap_or_default())
        }
        Value::Object(map) if map.contains_key("key") => (
            field(item, "key").unwrap_or_default(),
            field(item, "value").unwrap_or_default(),
        ),
        other => (index.to_string(), text(other).unwrap_or_default()),
    }
}

/// A non-negative whole number, also when sent as a string.
pub fn number(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// True or false, also when sent as a string or 0/1.
pub fn flag(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(text) => match text.trim() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_i64().map(|n| n != 0),
        _ => None,
    }
}
