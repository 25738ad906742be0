//! The tags of an event, defined once: ingest stores them as the facets (what search, tag
//! counts and alert conditions read) and the API shows them on the event. One definition keeps the
//! two in agreement, so every tag the API shows can be searched for.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::domain::event::{Event, User};

/// Sentry discards tag values it could not index; derived ones follow the same rule (§7.3).
const MAX_TAG_VALUE_CHARS: usize = 200;
/// Contexts that become a `name version` tag plus a `.name` tag, as Sentry derives them.
const NAMED_CONTEXTS: [&str; 3] = ["browser", "os", "runtime"];

/// The event's own tags plus the derived ones, sorted by key. A derived tag replaces a client tag
/// of the same key, as Sentry's `set_tag` does: the server's reading of the payload (its level,
/// release, user…) is what searches and the tag counts use.
pub fn event_tags(event: &Event) -> Vec<(String, String)> {
    let mut tags: BTreeMap<String, String> = event.tags.iter().cloned().collect();
    tags.extend(derived_tags(event));
    tags.into_iter().collect()
}

/// The tags the server reads off the payload, minus values Sentry could not index (too long, or
/// spanning lines).
pub fn derived_tags(event: &Event) -> Vec<(String, String)> {
    let mut tags = field_tags(event);
    tags.extend(context_tags(&event.contexts));
    tags.extend(mechanism_tags(event));
    tags.retain(|(_, value)| indexable(value));
    tags
}

fn indexable(value: &str) -> bool {
    value.chars().count() <= MAX_TAG_VALUE_CHARS && !value.contains(['\n', '\r'])
}

/// Tags from the event's own fields; blank values are no tag.
fn field_tags(event: &Event) -> Vec<(String, String)> {
    let user = event.user.as_ref();
    let url = event.request.as_ref().and_then(|r| r.url.clone());
    // Sentry only records a dist together with the release it belongs to.
    let dist = event.release.as_ref().and(event.dist.clone());
    let fields = [
        ("level", Some(event.level.as_str().to_owned())),
        ("logger", event.logger.clone()),
        ("environment", event.environment.clone()),
        ("release", event.release.clone()),
        ("dist", dist),
        ("user", user.and_then(User::identity)),
        // Searchable as `user.email:` even when the user is identified by id.
        ("user.email", user.and_then(|u| u.email.clone())),
        ("server_name", event.server_name.clone()),
        ("transaction", event.transaction.clone()),
        ("url", url),
    ];
    fields
        .into_iter()
        .filter_map(|(key, value)| Some((key.to_owned(), value.filter(|v| !v.trim().is_empty())?)))
        .collect()
}

/// `browser` = `Firefox 128.0` and `browser.name` = `Firefox`; likewise `os` and `runtime`.
fn context_tags(contexts: &Map<String, Value>) -> Vec<(String, String)> {
    let mut tags = Vec::new();
    for kind in NAMED_CONTEXTS {
        let Some(context) = contexts.get(kind) else {
            continue;
        };
        let Some(name) = context_text(context.get("name")) else {
            continue;
        };
        let full = match context_text(context.get("version")) {
            Some(version) => format!("{name} {version}"),
            None => name.clone(),
        };
        tags.push((kind.to_owned(), full));
        tags.push((format!("{kind}.name"), name));
    }
    tags
}

fn context_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) => Some(text.trim().to_owned()).filter(|t| !t.is_empty()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// `handled` (`yes`/`no`, agreeing with the issue's `isUnhandled`) and the raised exception's
/// `mechanism` type.
fn mechanism_tags(event: &Event) -> Vec<(String, String)> {
    let mechanisms = || event.exception.iter().rev().filter_map(|e| e.mechanism.as_ref());
    let handled = if event.is_unhandled() {
        Some("no")
    } else {
        mechanisms().any(|m| m.handled == Some(true)).then_some("yes")
    };
    let kind = mechanisms().find_map(|m| m.ty.clone()).filter(|t| !t.is_empty());
    let tags = [("handled", handled.map(str::to_owned)), ("mechanism", kind)];
    tags.into_iter()
        .filter_map(|(key, value)| Some((key.to_owned(), value?)))
        .collect()
}

/// How Sentry names a tag key in lists (`get_tag_key_label`): a few known keys by name, the others with
/// `_` as spaces and each word capitalized (`browser.name` → `Browser.Name`).
pub fn tag_key_label(key: &str) -> String {
    match key {
        "exc_type" => return "Exception Type".to_owned(),
        "os" => return "OS".to_owned(),
        "url" => return "URL".to_owned(),
        "server_name" => return "Server".to_owned(),
        _ => {}
    }
    let mut label = String::with_capacity(key.len());
    let mut word_start = true;
    for c in key.replace('_', " ").chars() {
        if word_start {
            label.extend(c.to_uppercase());
        } else {
            label.extend(c.to_lowercase());
        }
        word_start = !c.is_alphabetic();
    }
    label
}

#[cfg(test)]
mod tests;
