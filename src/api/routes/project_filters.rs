//! Inbound filters through Sentry's project API: `GET …/filters/` lists the four switches,
//! `PUT …/filters/{id}/` with `{"active": bool}` flips one, and `PUT /api/0/projects/{org}/{project}/` with
//! `{"options": {"filters:error_messages": "…", "filters:releases": "…"}}` (patterns one per line) sets
//! the patterns, as Sentry's settings page sends them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::{ApiError, ApiResult};
use crate::api::ApiState;
use crate::core;
use crate::domain::accounts::Scope;
use crate::domain::filters::{Patterns, TOGGLES};

pub async fn list(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let (access, project) = caller.project(&state, &org, &project, Scope::ProjectRead).await?;
    let filters = core::projects::filters(&state.core, &access, &project).await?;
    let listed = TOGGLES
        .iter()
        .map(|id| json!({ "id": id, "active": filters.toggle(id).unwrap_or(false) }))
        .collect();
    Ok(Json(Value::Array(listed)))
}

#[derive(Debug, Deserialize)]
pub struct Toggle {
    active: bool,
}

pub async fn update(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project, id)): Path<(String, String, String)>,
    Body(toggle): Body<Toggle>,
) -> ApiResult<StatusCode> {
    let (access, project) = caller.project(&state, &org, &project, Scope::ProjectRead).await?;
    let mut filters = core::projects::filters(&state.core, &access, &project).await?;
    if !filters.set_toggle(&id, toggle.active) {
        return Err(ApiError::NotFound);
    }
    core::projects::set_filters(&state.core, &access, &project, &filters).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct ProjectChanges {
    #[serde(default)]
    options: Map<String, Value>,
}

/// `PUT /api/0/projects/{org}/{project}/`: the filter patterns among Sentry's project options; other
/// options are not settings here and are refused by name.
pub async fn update_project(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project)): Path<(String, String)>,
    Body(changes): Body<ProjectChanges>,
) -> ApiResult<Json<Value>> {
    let (access, project) = caller.project(&state, &org, &project, Scope::ProjectRead).await?;
    let mut filters = core::projects::filters(&state.core, &access, &project).await?;
    for (name, value) in &changes.options {
        let patterns = pattern_lines(name, value)?;
        match name.as_str() {
            "filters:error_messages" => filters.error_messages = patterns,
            "filters:releases" => filters.releases = patterns,
            _ => unknown_option(name)?,
        }
    }
    core::projects::set_filters(&state.core, &access, &project, &filters).await?;
    Ok(Json(json!({
        "slug": project.slug,
        "options": {
            "filters:error_messages": filters.error_messages.texts().join("\n"),
            "filters:releases": filters.releases.texts().join("\n"),
        },
    })))
}

fn pattern_lines(name: &str, value: &Value) -> ApiResult<Patterns> {
    if !matches!(name, "filters:error_messages" | "filters:releases") {
        unknown_option(name)?;
    }
    let text = value
        .as_str()
        .ok_or_else(|| ApiError::bad_request(format!("{name} must be a string of patterns, one per line")))?;
    let lines: Vec<&str> = text.lines().collect();
    Patterns::parse(&lines).map_err(|e| ApiError::bad_request(format!("{name}: {e}")))
}

fn unknown_option(name: &str) -> ApiResult<()> {
    Err(ApiError::bad_request(format!(
        "unknown option {name:?} (supported: filters:error_messages, filters:releases)"
    )))
}
