//! The "Data" part of a project's settings: how long its events are kept, how many it takes a day, and
//! which incoming events are filtered out (Sentry's inbound filters). Shown on the settings page; saved here
//! through `core`.

use axum::extract::{Path, State};
use axum::response::Redirect;
use serde::Deserialize;

use crate::core;
use crate::domain::filters::{InboundFilters, Patterns, TOGGLES};
use crate::domain::quotas::DailyQuota;
use crate::store::projects::Project;
use crate::store::retention;
use crate::web::session::Action;
use crate::web::{WebError, WebState};

use super::project_settings::{back_to, project_access};

/// One filter switch as the form shows it.
pub struct ToggleRow {
    pub id: &'static str,
    pub label: &'static str,
    pub on: bool,
}

/// What the Data section shows.
pub struct DataView {
    /// Empty: the server's default.
    pub retention_days: String,
    /// Empty: no quota.
    pub daily_quota: String,
    /// The first (default) key's rate limit, in words.
    pub key_rate_limit: String,
    /// Events this project stores and the space the storage budget counts for them, in words.
    pub stored: String,
    pub toggles: Vec<ToggleRow>,
    pub error_messages: String,
    pub releases: String,
}

pub async fn data_view(state: &WebState, project: &Project) -> Result<DataView, WebError> {
    let days = retention::project_retentions(&state.db)
        .await?
        .into_iter()
        .find(|(id, _)| *id == project.id)
        .and_then(|(_, days)| days);
    let filters = crate::store::project_filters::filters(&state.db, project.id).await?;
    let quota = crate::store::quotas::daily_quota(&state.db, project.id).await?;
    let keys = crate::store::projects::list_keys(&state.db, project.id).await?;
    let key_rate_limit = match keys.first().and_then(|key| key.rate_limit()) {
        Some(limit) => format!("{} events per {} seconds", limit.count, limit.window),
        None if keys.is_empty() => "no key".to_owned(),
        None => "none".to_owned(),
    };
    let stored = crate::store::storage::of_project(&state.db, project.id).await?;
    let toggles = TOGGLES
        .iter()
        .map(|id| ToggleRow {
            id,
            label: label(id),
            on: filters.toggle(id).unwrap_or(false),
        })
        .collect();
    Ok(DataView {
        retention_days: days.map(|d| d.to_string()).unwrap_or_default(),
        daily_quota: quota.map(|q| q.to_string()).unwrap_or_default(),
        key_rate_limit,
        stored: stored_in_words(stored),
        toggles,
        error_messages: filters.error_messages.texts().join("\n"),
        releases: filters.releases.texts().join("\n"),
    })
}

fn stored_in_words(stored: crate::store::storage::Stored) -> String {
    let bytes = crate::domain::storage::stored_bytes(stored.events, stored.bytes);
    let events = if stored.events == 1 { "event" } else { "events" };
    format!("{} {events}, {:.1} MB", stored.events, bytes as f64 / 1e6)
}

fn capitalized(error: &impl std::fmt::Display) -> String {
    let text = error.to_string();
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn label(id: &str) -> &'static str {
    match id {
        "browser-extensions" => "Errors caused by browser extensions",
        "localhost" => "Events from localhost (request URL or user IP)",
        "web-crawlers" => "Events from web crawlers (Googlebot, Bingbot, …)",
        _ => "Events from legacy browsers (Internet Explorer, browsers older than ten years)",
    }
}

#[derive(Deserialize)]
pub struct DataForm {
    #[serde(default)]
    retention_days: String,
    #[serde(default)]
    daily_quota: String,
    #[serde(default)]
    filter: Vec<String>,
    #[serde(default)]
    error_messages: String,
    #[serde(default)]
    releases: String,
}

/// Saves retention and filters; a bad value is a 400 page that says which and why, and nothing is saved.
pub async fn save(
    State(state): State<WebState>,
    Path((org, slug)): Path<(String, String)>,
    action: Action<DataForm>,
) -> Result<Redirect, WebError> {
    let (access, project) = project_access(&state, &action.viewer, &org, &slug).await?;
    let form = action.form;
    let days = match form.retention_days.trim() {
        "" => None,
        text => Some(
            text.parse::<i64>()
                .map_err(|_| WebError::BadRequest(format!("Retention must be a number of days, not {text:?}.")))?,
        ),
    };
    let quota = match form.daily_quota.trim() {
        "" => None,
        text => Some(DailyQuota::parse(text).map_err(|e| WebError::BadRequest(format!("{}.", capitalized(&e))))?),
    };
    let patterns = |name: &str, text: &str| {
        let lines: Vec<&str> = text.lines().collect();
        Patterns::parse(&lines).map_err(|e| WebError::BadRequest(format!("{name}: {e}.")))
    };
    let mut filters = InboundFilters {
        error_messages: patterns("Error messages", &form.error_messages)?,
        releases: patterns("Releases", &form.releases)?,
        ..InboundFilters::default()
    };
    for id in &form.filter {
        if !filters.set_toggle(id, true) {
            return Err(WebError::BadRequest(format!("There is no filter {id:?}.")));
        }
    }
    core::projects::set_retention(&state.core, &access, &project, days).await?;
    core::projects::set_filters(&state.core, &access, &project, &filters).await?;
    core::projects::set_daily_quota(&state.core, &access, &project, quota).await?;
    Ok(back_to(&org, &slug, "data", "data"))
}
