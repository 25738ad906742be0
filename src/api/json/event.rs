//! An event as Sentry's web API shows it (§11.4): the full detail of `…/events/{id}/` and the
//! "simple" list item of `…/events/?full=false`. Tools read `entries[type=exception]`, `tags`,
//! `user` and `dateCreated`, so those follow Sentry's names and shapes exactly.

use crate::domain::{IssueId, ProjectId};
use serde_json::{json, Map, Value};

use super::entries::event_entries;
use super::time::iso8601_secs;
use crate::domain::event::{Event, ProcessingError, User};
use crate::domain::tags::event_tags;
use crate::domain::title::{event_culprit, event_metadata, event_title, event_type, EventMetadata};

/// Sentry's fingerprint for an event that did not send its own.
const DEFAULT_FINGERPRINT: &str = "{{ default }}";

/// What the store knows about the event beyond its payload.
#[derive(Debug, Clone, Copy)]
pub struct EventContext<'a> {
    pub group_id: IssueId,
    pub project_id: ProjectId,
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
        "tags": tags_json(event),
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

/// The event's tags (its own plus the derived ones, as stored for search), sorted by key.
fn tags_json(event: &Event) -> Vec<Value> {
    event_tags(event)
        .into_iter()
        .map(|(key, value)| json!({ "key": key, "value": value }))
        .collect()
}

#[cfg(test)]
mod tests;
