//! The event's other interfaces as the page shows them: message, breadcrumbs, request, user,
//! contexts and SDK.

use serde_json::Value;
use time::macros::format_description;
use time::OffsetDateTime;

use super::values::{field, list, pairs, text};
use crate::web::format::level_class;

#[derive(Debug, Clone, PartialEq)]
pub struct CrumbView {
    /// Time of day, e.g. `10:28:19.131`.
    pub time: String,
    pub category: String,
    pub level: String,
    pub level_class: &'static str,
    pub message: String,
    /// The crumb's data as `key=value` text.
    pub data: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestView {
    pub method: Option<String>,
    /// Shown as text, never as a link: it came from the event.
    pub url: Option<String>,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub cookies: Vec<(String, String)>,
    pub body: Option<String>,
    pub env: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContextView {
    pub name: String,
    pub pairs: Vec<(String, String)>,
}

/// The formatted log message, else its template, else a plain `message`.
pub fn message(payload: &Value) -> Option<String> {
    let logentry = payload
        .get("logentry")
        .or_else(|| payload.get("sentry.interfaces.Message"));
    let from_logentry = logentry.and_then(|entry| match entry {
        Value::Object(_) => field(entry, "formatted").or_else(|| field(entry, "message")),
        other => text(other),
    });
    from_logentry.or_else(|| match payload.get("message") {
        Some(entry @ Value::Object(_)) => field(entry, "formatted").or_else(|| field(entry, "message")),
        Some(other) => text(other).filter(|text| !text.is_empty()),
        None => None,
    })
}

pub fn breadcrumbs(payload: &Value) -> Vec<CrumbView> {
    list(payload.get("breadcrumbs").unwrap_or(&Value::Null))
        .iter()
        .filter(|crumb| crumb.is_object())
        .map(|crumb| {
            let level = field(crumb, "level").unwrap_or_else(|| "info".to_owned());
            CrumbView {
                time: crumb.get("timestamp").map(crumb_time).unwrap_or_default(),
                category: field(crumb, "category")
                    .or_else(|| field(crumb, "type"))
                    .unwrap_or_default(),
                level_class: level_class(&level),
                level,
                message: field(crumb, "message").unwrap_or_default(),
                data: key_value_text(crumb.get("data").unwrap_or(&Value::Null)),
            }
        })
        .collect()
}

/// Seconds since the epoch (or an RFC 3339 string) as a UTC time of day with milliseconds.
fn crumb_time(timestamp: &Value) -> String {
    let from_secs =
        |secs: f64| OffsetDateTime::from_unix_timestamp_nanos((secs * 1000.0).round() as i128 * 1_000_000).ok();
    let at = match timestamp {
        Value::Number(n) => n.as_f64().and_then(from_secs),
        Value::String(text) => OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .ok()
            .or_else(|| text.parse::<f64>().ok().and_then(from_secs)),
        _ => None,
    };
    match at {
        Some(at) => at
            .format(format_description!("[hour]:[minute]:[second].[subsecond digits:3]"))
            .unwrap_or_default(),
        None => text(timestamp).unwrap_or_default(),
    }
}

fn key_value_text(data: &Value) -> String {
    pairs(data)
        .into_iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn request(payload: &Value) -> Option<RequestView> {
    let request = payload.get("request").filter(|request| request.is_object())?;
    let query = match request.get("query_string").or_else(|| request.get("query")) {
        Some(Value::String(raw)) => raw_query_pairs(raw),
        Some(other) => pairs(other),
        None => Vec::new(),
    };
    let body = match request.get("data") {
        None | Some(Value::Null) => None,
        Some(Value::String(raw)) => Some(raw.clone()),
        Some(structured) => serde_json::to_string_pretty(structured).ok(),
    };
    let cookies = match request.get("cookies") {
        Some(Value::String(raw)) => vec![("cookies".to_owned(), raw.clone())],
        Some(other) => pairs(other),
        None => Vec::new(),
    };
    Some(RequestView {
        method: field(request, "method"),
        url: field(request, "url"),
        query,
        headers: pairs(request.get("headers").unwrap_or(&Value::Null)),
        cookies,
        body,
        env: pairs(request.get("env").unwrap_or(&Value::Null)),
    })
}

/// `a=1&b=2` as pairs, left undecoded as the event stored it.
fn raw_query_pairs(raw: &str) -> Vec<(String, String)> {
    raw.trim_start_matches('?')
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('=') {
            Some((key, value)) => (key.to_owned(), value.to_owned()),
            None => (part.to_owned(), String::new()),
        })
        .collect()
}

/// The user's identifying fields that are present, in a fixed order.
pub fn user(payload: &Value) -> Vec<(String, String)> {
    let Some(user) = payload.get("user").filter(|user| user.is_object()) else {
        return Vec::new();
    };
    let known = ["id", "email", "username", "ip_address", "name", "segment"];
    let mut shown: Vec<(String, String)> = known
        .iter()
        .filter_map(|key| field(user, key).map(|value| ((*key).to_owned(), value)))
        .collect();
    for key in ["geo", "data"] {
        shown.extend(
            pairs(user.get(key).unwrap_or(&Value::Null))
                .into_iter()
                .map(|(k, v)| (format!("{key}.{k}"), v)),
        );
    }
    shown
}

/// Contexts, the common ones (os, runtime, browser, device) first, then the others by name.
pub fn contexts(payload: &Value) -> Vec<ContextView> {
    let Some(Value::Object(contexts)) = payload.get("contexts") else {
        return Vec::new();
    };
    const FIRST: [&str; 4] = ["os", "runtime", "browser", "device"];
    let mut names: Vec<&String> = contexts.keys().collect();
    names.sort_by_key(|name| {
        (
            FIRST.iter().position(|first| first == name).unwrap_or(FIRST.len()),
            name.as_str(),
        )
    });
    names
        .into_iter()
        .map(|name| ContextView {
            name: name.clone(),
            pairs: pairs(&contexts[name])
                .into_iter()
                .filter(|(key, _)| key != "type")
                .collect(),
        })
        .collect()
}

/// `name version` of the SDK that sent the event.
pub fn sdk(payload: &Value) -> Option<String> {
    let sdk = payload.get("sdk")?;
    match (field(sdk, "name"), field(sdk, "version")) {
        (Some(name), Some(version)) => Some(format!("{name} {version}")),
        (Some(name), None) => Some(name),
        (None, Some(version)) => Some(version),
        (None, None) => None,
    }
}
