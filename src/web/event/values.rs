//! Free-form values of the typed event (contexts, extra, frame variables, user geo and data,
//! breadcrumb data, the request body and environment, the SDK) as the text the page shows. These
//! stay JSON in the event because SDKs put anything there, so any shape reads as something.

use serde_json::{Map, Value};

/// A value as one line of text: strings as they are, scalars printed, lists and objects as compact JSON.
pub fn text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

/// The text of `value[key]`, unless missing or empty.
pub fn field(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(text).filter(|text| !text.is_empty())
}

/// Key/value pairs from an object, a list of `[key, value]` pairs, or a list of `{key, value}` objects.
/// Other list items are keyed by position; a lone scalar becomes one pair keyed "value".
pub fn pairs(value: &Value) -> Vec<(String, String)> {
    match value {
        Value::Object(map) => map_pairs(map),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(index, item)| pair_item(index, item))
            .collect(),
        Value::Null => Vec::new(),
        scalar => vec![("value".to_owned(), text(scalar).unwrap_or_default())],
    }
}

/// An object's entries, each value as text.
pub fn map_pairs(map: &Map<String, Value>) -> Vec<(String, String)> {
    map.iter()
        .map(|(key, value)| (key.clone(), text(value).unwrap_or_default()))
        .collect()
}

/// Pairs of a value the event may lack.
pub fn optional_pairs(value: Option<&Value>) -> Vec<(String, String)> {
    value.map(pairs).unwrap_or_default()
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

/// A text field of the typed event, unless missing or empty (the page shows those as absent).
pub fn non_empty(text: &Option<String>) -> Option<String> {
    text.clone().filter(|text| !text.is_empty())
}
