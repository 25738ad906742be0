//! The event's other interfaces as the page shows them: message, breadcrumbs, request, user,
//! contexts and SDK.

use serde_json::Value;
use time::macros::format_description;
use time::OffsetDateTime;

use super::values::{field, map_pairs, non_empty, optional_pairs, pairs};
use crate::domain::event::{Breadcrumb, Event, Level, Request, User};
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

/// The formatted log message, else its template.
pub fn message(event: &Event) -> Option<String> {
    let logentry = event.logentry.as_ref()?;
    non_empty(&logentry.formatted).or_else(|| non_empty(&logentry.message))
}

pub fn breadcrumbs(event: &Event) -> Vec<CrumbView> {
    event.breadcrumbs.iter().map(crumb_view).collect()
}

fn crumb_view(crumb: &Breadcrumb) -> CrumbView {
    // A crumb without a level is an info crumb, as Sentry shows it.
    let level = crumb.level.map_or("info", Level::as_str).to_owned();
    CrumbView {
        time: crumb.timestamp.map(crumb_time).unwrap_or_default(),
        category: non_empty(&crumb.category)
            .or_else(|| non_empty(&crumb.ty))
            .unwrap_or_default(),
        level_class: level_class(&level),
        level,
        message: crumb.message.clone().unwrap_or_default(),
        data: key_value_text(crumb.data.as_ref()),
    }
}

/// Seconds since the epoch as a UTC time of day with milliseconds; a time out of range as the number.
fn crumb_time(secs: f64) -> String {
    let nanos = ((secs * 1000.0).round() as i128).checked_mul(1_000_000);
    match nanos.and_then(|nanos| OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()) {
        Some(at) => at
            .format(format_description!("[hour]:[minute]:[second].[subsecond digits:3]"))
            .unwrap_or_default(),
        None => serde_json::Number::from_f64(secs)
            .map(|n| n.to_string())
            .unwrap_or_default(),
    }
}

fn key_value_text(data: Option<&Value>) -> String {
    optional_pairs(data)
        .into_iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn request(event: &Event) -> Option<RequestView> {
    let request: &Request = event.request.as_ref()?;
    let body = match &request.data {
        None | Some(Value::Null) => None,
        Some(Value::String(raw)) => Some(raw.clone()),
        Some(structured) => serde_json::to_string_pretty(structured).ok(),
    };
    Some(RequestView {
        method: non_empty(&request.method),
        url: non_empty(&request.url),
        query: request.query_string.clone(),
        headers: request.headers.clone(),
        cookies: request.cookies.clone(),
        body,
        env: map_pairs(&request.env),
    })
}

/// The user's identifying fields that are present, in a fixed order, then its geo and data.
pub fn user(event: &Event) -> Vec<(String, String)> {
    let Some(user) = event.user.as_ref() else {
        return Vec::new();
    };
    let User {
        id,
        email,
        username,
        ip_address,
        name,
        segment,
        geo,
        data,
    } = user;
    let known = [
        ("id", id),
        ("email", email),
        ("username", username),
        ("ip_address", ip_address),
        ("name", name),
        ("segment", segment),
    ];
    let mut shown: Vec<(String, String)> = known
        .into_iter()
        .filter_map(|(key, value)| Some((key.to_owned(), non_empty(value)?)))
        .collect();
    for (key, value) in [("geo", geo), ("data", data)] {
        let nested = optional_pairs(value.as_ref()).into_iter();
        shown.extend(nested.map(|(k, v)| (format!("{key}.{k}"), v)));
    }
    shown
}

/// Contexts, the common ones (os, runtime, browser, device) first, then the others by name.
pub fn contexts(event: &Event) -> Vec<ContextView> {
    const FIRST: [&str; 4] = ["os", "runtime", "browser", "device"];
    let mut names: Vec<&String> = event.contexts.keys().collect();
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
            pairs: pairs(&event.contexts[name])
                .into_iter()
                .filter(|(key, _)| key != "type")
                .collect(),
        })
        .collect()
}

/// `name version` of the SDK that sent the event.
pub fn sdk(event: &Event) -> Option<String> {
    let sdk = event.sdk.as_ref()?;
    match (field(sdk, "name"), field(sdk, "version")) {
        (Some(name), Some(version)) => Some(format!("{name} {version}")),
        (Some(name), None) => Some(name),
        (None, Some(version)) => Some(version),
        (None, None) => None,
    }
}
