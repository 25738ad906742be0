//! Inbound filters through Sentry's project API: `GET …/filters/` lists the four switches,
//! `PUT …/filters/{id}/` with `{"active": bool}` flips one, and `PUT /api/0/projects/{org}/{project}/` with
//! `{"options": {"filters:error_messages": "…", "filters:releases": "…"}}` (patterns one per line) sets
//! the patterns, as Sentry's settings page sends them; the same options carry Faultline's retention and
//! daily quota.

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
use crate::domain::quotas::{DailyQuota, InvalidQuota};
use crate::store::projects::Project;
use crate::store::{quotas, retention, Db, StoreError};

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

const RETENTION: &str = "faultline:retention-days";
const QUOTA: &str = "faultline:daily-quota";
const ATTACHMENT_QUOTA: &str = "faultline:attachment-quota";

/// `PUT /api/0/projects/{org}/{project}/`: the filter patterns among Sentry's project options, and
/// Faultline's own `faultline:retention-days`, `faultline:daily-quota` and `faultline:attachment-quota` (bytes)
/// (null: the default / none). Every
/// value is checked before anything is stored; other options are refused by name.
pub async fn update_project(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project)): Path<(String, String)>,
    Body(changes): Body<ProjectChanges>,
) -> ApiResult<Json<Value>> {
    let (access, project) = caller.project(&state, &org, &project, Scope::ProjectRead).await?;
    let mut filters = core::projects::filters(&state.core, &access, &project).await?;
    let (mut retention, mut quota, mut attachment_quota) = (None, None, None);
    for (name, value) in &changes.options {
        match name.as_str() {
            "filters:error_messages" => filters.error_messages = pattern_lines(name, value)?,
            "filters:releases" => filters.releases = pattern_lines(name, value)?,
            RETENTION => retention = Some(retention_days(value)?),
            QUOTA => quota = Some(daily_quota(value)?),
            ATTACHMENT_QUOTA => attachment_quota = Some(attachment_bytes(value)?),
            _ => unknown_option(name)?,
        }
    }
    // Retention is checked by core as it is stored, so it goes first: refused, nothing else is stored.
    if let Some(days) = retention {
        core::projects::set_retention(&state.core, &access, &project, days).await?;
    }
    core::projects::set_filters(&state.core, &access, &project, &filters).await?;
    if let Some(quota) = quota {
        core::projects::set_daily_quota(&state.core, &access, &project, quota).await?;
    }
    if let Some(bytes) = attachment_quota {
        core::attachments::set_quota(&state.core, &access, &project, bytes).await?;
    }
    Ok(Json(json!({
        "slug": project.slug,
        "options": options(&state.db, &project).await?,
    })))
}

/// The options `GET` and `PUT` of a project show: filter patterns, retention and daily quota.
pub async fn options(db: &Db, project: &Project) -> Result<Value, StoreError> {
    let filters = crate::store::project_filters::filters(db, project.id).await?;
    let days = retention::project_retentions(db)
        .await?
        .into_iter()
        .find(|(id, _)| *id == project.id)
        .and_then(|(_, days)| days);
    Ok(json!({
        "filters:error_messages": filters.error_messages.texts().join("\n"),
        "filters:releases": filters.releases.texts().join("\n"),
        RETENTION: days,
        QUOTA: quotas::daily_quota(db, project.id).await?,
        ATTACHMENT_QUOTA: crate::store::attachments::quota(db, project.id).await?,
    }))
}

fn pattern_lines(name: &str, value: &Value) -> ApiResult<Patterns> {
    let text = value
        .as_str()
        .ok_or_else(|| ApiError::bad_request(format!("{name} must be a string of patterns, one per line")))?;
    let lines: Vec<&str> = text.lines().collect();
    Patterns::parse(&lines).map_err(|e| ApiError::bad_request(format!("{name}: {e}")))
}

/// Days, or null for the server's default; the range is core's to check.
fn retention_days(value: &Value) -> ApiResult<Option<i64>> {
    if value.is_null() {
        return Ok(None);
    }
    value.as_i64().map(Some).ok_or_else(|| {
        ApiError::bad_request(format!(
            "{RETENTION} must be a whole number of days from 1 to 3650, or null, not {value}"
        ))
    })
}

fn daily_quota(value: &Value) -> ApiResult<Option<DailyQuota>> {
    if value.is_null() {
        return Ok(None);
    }
    let quota = match value.as_i64() {
        Some(events) => DailyQuota::new(events),
        None => Err(InvalidQuota(value.to_string())),
    };
    quota
        .map(Some)
        .map_err(|e| ApiError::bad_request(format!("{QUOTA}: {e}")))
}

/// Bytes, or null for the server's default; checked here so that a refusal stores nothing else.
fn attachment_bytes(value: &Value) -> ApiResult<Option<i64>> {
    match value.as_i64() {
        _ if value.is_null() => Ok(None),
        Some(bytes) if (0..=1 << 40).contains(&bytes) => Ok(Some(bytes)),
        _ => Err(ApiError::bad_request(format!(
            "{ATTACHMENT_QUOTA} must be a whole number of bytes from 0 to {}, or null, not {value}",
            1_i64 << 40
        ))),
    }
}

fn unknown_option(name: &str) -> ApiResult<()> {
    Err(ApiError::bad_request(format!(
        "unknown option {name:?} (supported: filters:error_messages, filters:releases, {RETENTION}, {QUOTA}, \
         {ATTACHMENT_QUOTA})"
    )))
}
