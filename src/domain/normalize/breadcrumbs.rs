//! Breadcrumbs (§7.1): `{"values": [...]}` or a bare list, newest 100 kept, lenient fields.

use serde_json::Value;

use super::attributes::parse_level;
use super::fields::{into_lenient_string, into_values, string_field, take, truncate_chars, Notes};
use super::timestamp::parse_timestamp;
use super::trim::{trim_databag, LARGE_BAG_BYTES};
use crate::domain::event::Breadcrumb;

/// SDKs keep at most 100 breadcrumbs; the oldest go first.
pub(super) const MAX_BREADCRUMBS: usize = 100;
const MAX_MESSAGE_CHARS: usize = 8192;
const MAX_NAME_CHARS: usize = 128;

pub(super) fn parse_breadcrumbs(raw: Value, notes: &mut Notes) -> Vec<Breadcrumb> {
    let mut items = into_values(raw, "breadcrumbs", notes);
    if items.len() > MAX_BREADCRUMBS {
        items.drain(..items.len() - MAX_BREADCRUMBS);
    }
    items
        .into_iter()
        .filter_map(|item| parse_breadcrumb(item, notes))
        .collect()
}

fn parse_breadcrumb(raw: Value, notes: &mut Notes) -> Option<Breadcrumb> {
    let Value::Object(mut object) = raw else {
        notes.invalid("breadcrumbs");
        return None;
    };
    let timestamp = take(&mut object, "timestamp").and_then(|raw| {
        let parsed = parse_timestamp(&raw);
        if parsed.is_none() {
            notes.invalid("breadcrumb.timestamp");
        }
        parsed
    });
    let level = take(&mut object, "level").and_then(|raw| {
        let parsed = parse_level(&raw);
        if parsed.is_none() {
            notes.invalid("breadcrumb.level");
        }
        parsed
    });
    let mut message = take(&mut object, "message").and_then(into_lenient_string);
    if let Some(message) = message.as_mut() {
        truncate_chars(message, MAX_MESSAGE_CHARS);
    }
    let data = take(&mut object, "data").map(|mut data| {
        trim_databag(&mut data, LARGE_BAG_BYTES);
        data
    });
    Some(Breadcrumb {
        timestamp,
        ty: string_field(&mut object, "type", MAX_NAME_CHARS, notes),
        category: string_field(&mut object, "category", MAX_NAME_CHARS, notes),
        message,
        level,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::Level;
    use serde_json::json;

    #[test]
    fn values_wrapper_and_bare_list_are_accepted() {
        let crumb = json!({"message": "m", "timestamp": 1_704_067_200.5, "level": "warn"});
        let mut notes = Notes::default();
        let wrapped = parse_breadcrumbs(json!({"values": [crumb.clone()]}), &mut notes);
        let bare = parse_breadcrumbs(json!([crumb]), &mut notes);
        assert_eq!(wrapped, bare);
        assert_eq!(wrapped[0].level, Some(Level::Warning));
        assert_eq!(wrapped[0].timestamp, Some(1_704_067_200.5));
    }

    #[test]
    fn rfc3339_timestamps_and_python_levels() {
        let raw = json!([{"timestamp": "2024-01-01T00:00:00Z", "level": 20, "type": "http", "category": "c", "data": {"url": "/x"}}]);
        let crumbs = parse_breadcrumbs(raw, &mut Notes::default());
        assert_eq!(crumbs[0].timestamp, Some(1_704_067_200.0));
        assert_eq!(crumbs[0].level, Some(Level::Info));
        assert_eq!(crumbs[0].ty.as_deref(), Some("http"));
        assert_eq!(crumbs[0].data, Some(json!({"url": "/x"})));
    }

    #[test]
    fn only_the_newest_hundred_are_kept() {
        let raw: Vec<Value> = (0..150).map(|n| json!({ "message": n.to_string() })).collect();
        let crumbs = parse_breadcrumbs(Value::Array(raw), &mut Notes::default());
        assert_eq!(crumbs.len(), MAX_BREADCRUMBS);
        assert_eq!(crumbs[0].message.as_deref(), Some("50"));
        assert_eq!(crumbs[99].message.as_deref(), Some("149"));
    }

    #[test]
    fn bad_fields_are_dropped_not_the_crumb() {
        let mut notes = Notes::default();
        let crumbs = parse_breadcrumbs(
            json!([{"timestamp": "soon", "level": "loud", "message": 5}, 3]),
            &mut notes,
        );
        assert_eq!(crumbs.len(), 1);
        assert_eq!((crumbs[0].timestamp, crumbs[0].level), (None, None));
        assert_eq!(crumbs[0].message.as_deref(), Some("5"));
        let names: Vec<String> = notes.into_vec().into_iter().map(|note| note.name).collect();
        assert_eq!(names, ["breadcrumb.timestamp", "breadcrumb.level", "breadcrumbs"]);
    }
}
