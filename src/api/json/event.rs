//! An event as Sentry's web API shows it (§11.4): the full detail of `…/events/{id}/` and the
//! "simple" list item of `…/events/?full=false`. Tools read `entries[type=exception]`, `tags`,
//! `user` and `dateCreated`, so those follow Sentry's names and shapes exactly.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::entries::event_entries;
use super::time::iso8601_secs;
use crate::domain::event::{Event, ProcessingError, User};
use crate::domain::title::{event_culprit, event_metadata, event_title, event_type, EventMetadata};

/// Sentry's fingerprint for an event that did not send its own.
const DEFAULT_FINGERPRINT: &str = "{{ default }}";
/// Sentry discards tag values it could not index; derived ones follow the same rule (§7.3).
const MAX_TAG_VALUE_CHARS: usize = 200;
/// Contexts that become a `name version` tag plus a `.name` tag, as Sentry derives them.
const NAMED_CONTEXTS: [&str; 3] = ["browser", "os", "runtime"];

/// What the store knows about the event beyond its payload.
#[derive(Debug, Clone, Copy)]
pub struct EventContext<'a> {
    pub group_id: i64,
    pub project_id: i64,
    pub project_slug: &'a str,
    /// Bytes of the stored payload.
    pub size: usize,
}

/// The full event (GET …/events/latest/, …/events/{id}/): §11.4.
pub fn event_detail(event: &Event, ctx: &EventContext) -> Value {
    let mut detail = common_fields(event, ctx);
    let release = event.release.as_ref().map(|version| json!({ "version": version }));
    let more = json!({
        "type": event_type(event),
        "projectSlug": ctx.project_slug,
        "metadata": metadata_json(event),
        "dateReceived": iso8601_secs(event.received),
        "contexts": event.contexts,
        "sdk": event.sdk,
        "context": event.extra,
        "packages": event.modules,
        "fingerprints": fingerprints(event),
        "errors": event.errors.iter().map(processing_error).collect::<Vec<_>>(),
        "release": release,
        "dist": event.dist,
        "size": ctx.size,
        "entries": event_entries(event),
        "crashFile": null,
    });
    if let Value::Object(more) = more {
        detail.extend(more);
    }
    Value::Object(detail)
}

/// The list item with `full=false` (the "simple" form of §11.4).
pub fn event_summary(event: &Event, ctx: &EventContext) -> Value {
    let mut summary = common_fields(event, ctx);
    summary.insert("event.type".to_owned(), event_type(event).into());
    summary.insert("crashFile".to_owned(), Value::Null);
    Value::Object(summary)
}

fn common_fields(event: &Event, ctx: &EventContext) -> Map<String, Value> {
    let common = json!({
        "id": event.event_id,
        "eventID": event.event_id,
        "groupID": ctx.group_id.to_string(),
        "projectID": ctx.project_id.to_string(),
        "title": event_title(event),
        "message": message(event),
        "culprit": event_culprit(event),
        "location": location(event),
        "platform": event.platform,
        "dateCreated": iso8601_secs(event.timestamp),
        "user": event.user.as_ref().map(user_json),
        "tags": event_tags(event),
    });
    match common {
        Value::Object(fields) => fields,
        _ => Map::new(),
    }
}

/// The formatted log message, else its template; events without one have `""`.
fn message(event: &Event) -> &str {
    let logentry = event.logentry.as_ref();
    let formatted = logentry.and_then(|l| l.formatted.as_deref()).filter(|m| !m.is_empty());
    formatted
        .or_else(|| logentry.and_then(|l| l.message.as_deref()))
        .unwrap_or_default()
}

/// Where the event happened in one short string: the crash frame's file, else the transaction.
fn location(event: &Event) -> Option<String> {
    event_metadata(event)
        .filename
        .or_else(|| event.transaction.clone().filter(|t| !t.is_empty()))
}

fn metadata_json(event: &Event) -> Value {
    let EventMetadata {
        ty,
        value,
        filename,
        function,
    } = event_metadata(event);
    let fields = [
        ("type", ty),
        ("value", value),
        ("filename", filename),
        ("function", function),
    ];
    let mut metadata: Map<String, Value> = fields
        .into_iter()
        .filter_map(|(key, value)| value.map(|v| (key.to_owned(), Value::String(v))))
        .collect();
    // Sentry titles message events from metadata; error titles are rebuilt from type and value.
    if event.exception.is_empty() {
        metadata.insert("title".to_owned(), event_title(event).into());
    }
    Value::Object(metadata)
}

fn user_json(user: &User) -> Value {
    json!({
        "id": user.id,
        "email": user.email,
        "username": user.username,
        "ip_address": user.ip_address,
        "name": user.name,
        "geo": user.geo,
        "data": user.data,
    })
}

fn fingerprints(event: &Event) -> Vec<&str> {
    if event.fingerprint.is_empty() {
        return vec![DEFAULT_FINGERPRINT];
    }
    event.fingerprint.iter().map(String::as_str).collect()
}

fn processing_error(error: &ProcessingError) -> Value {
    let mut data = Map::new();
    data.insert("name".to_owned(), json!(error.name));
    // Sentry's event errors carry the value as sent and a reason beside the name when known.
    if let Some(value) = &error.value {
        data.insert("value".to_owned(), json!(value));
    }
    if let Some(reason) = &error.reason {
        data.insert("reason".to_owned(), json!(reason));
    }
    json!({
        "type": error.kind,
        "message": processing_error_message(&error.kind),
        "data": data,
    })
}

/// Sentry's wording for the processing notes our normalizer records.
fn processing_error_message(kind: &str) -> &'static str {
    match kind {
        "invalid_data" => "Discarded invalid value",
        "value_too_long" => "Discarded value due to exceeding maximum length",
        "too_many_tags" => "Discarded tags beyond the maximum count",
        "future_timestamp" => "Invalid timestamp (in future)",
        "past_timestamp" => "Invalid timestamp (too old)",
        "clock_drift" => "Clock drift detected in SDK",
        _ => "Unknown error",
    }
}

/// The event's own tags plus the ones Sentry derives, sorted by key. A derived tag replaces a
/// client tag of the same key, as Sentry's `set_tag` does: the server's reading of the payload
/// (its level, release, user…) is what searches and the tag counts use.
fn event_tags(event: &Event) -> Vec<Value> {
    let mut tags: BTreeMap<String, String> = event.tags.iter().cloned().collect();
    for (key, value) in derived_tags(event) {
        if value.chars().count() <= MAX_TAG_VALUE_CHARS && !value.contains(['\n', '\r']) {
            tags.insert(key, value);
        }
    }
    tags.into_iter()
        .map(|(key, value)| json!({ "key": key, "value": value }))
        .collect()
}

fn derived_tags(event: &Event) -> Vec<(String, String)> {
    let url = event.request.as_ref().and_then(|r| r.url.clone());
    // Sentry only records a dist together with the release it belongs to.
    let dist = event.release.as_ref().and(event.dist.clone());
    let fields = [
        ("level", Some(event.level.as_str().to_owned())),
        ("logger", event.logger.clone()),
        ("environment", event.environment.clone()),
        ("release", event.release.clone()),
        ("dist", dist),
        ("user", event.user.as_ref().and_then(User::identity)),
        ("server_name", event.server_name.clone()),
        ("transaction", event.transaction.clone()),
        ("url", url),
    ];
    let mut tags: Vec<(String, String)> = fields
        .into_iter()
        .filter_map(|(key, value)| Some((key.to_owned(), value.filter(|v| !v.trim().is_empty())?)))
        .collect();
    tags.extend(context_tags(&event.contexts));
    tags.extend(mechanism_tags(event));
    tags
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

#[cfg(test)]
mod tests;
