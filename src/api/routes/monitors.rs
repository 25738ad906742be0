//! Sentry's cron monitor API, as `sentry-cli monitors list` and scripts use it:
//! `GET|POST /api/0/organizations/{org}/monitors/` (`?project=<id>` narrows the list),
//! `GET|PUT|DELETE …/monitors/{slug}/` and `GET …/monitors/{slug}/checkins/`. Monitors are in Sentry's shape;
//! `status` carries the monitor's health (`ok`, `error`, `missed_checkin`, `timeout`, `in_progress`, or
//! `active` before its first check-in), which is what `monitors list` prints.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::{ApiError, ApiResult};
use crate::api::json::time::iso8601_ms;
use crate::api::ApiState;
use crate::core::monitors;
use crate::domain::accounts::Scope;
use crate::domain::ProjectId;
use crate::store::monitors::{CheckInRow, Monitor};

/// 9999-12-31T23:59:59Z.
const LAST_INSTANT_MS: i64 = 253_402_300_799_000;
/// Most check-ins one answer lists.
const LISTED_CHECK_INS: i64 = 100;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    project: Option<String>,
}

pub async fn list(
    caller: Caller,
    State(state): State<ApiState>,
    Path(org): Path<String>,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let access = caller.org(&org)?;
    // Sentry's `-1` (and no value) is every project.
    let project = match query.project.as_deref().map(str::trim) {
        None | Some("" | "-1") => None,
        Some(id) => Some(ProjectId::from(
            id.parse::<i64>()
                .map_err(|_| ApiError::bad_request("project must be a project id"))?,
        )),
    };
    let listed = monitors::list(&state.core, &access, project).await?;
    Ok(Json(listed.iter().map(|view| monitor_json(&view.monitor)).collect()))
}

#[derive(Debug, Deserialize)]
pub struct NewMonitor {
    project: String,
    name: String,
    #[serde(default)]
    slug: Option<String>,
    config: Value,
}

pub async fn create(
    caller: Caller,
    State(state): State<ApiState>,
    Path(org): Path<String>,
    Body(body): Body<NewMonitor>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (access, project) = caller.project(&state, &org, &body.project, Scope::ProjectWrite).await?;
    let monitor = monitors::create(
        &state.core,
        &access,
        &project,
        &body.name,
        body.slug.as_deref(),
        &body.config,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(monitor_json(&monitor))))
}

pub async fn get(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, slug)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let access = caller.org(&org)?;
    let monitor = monitors::get(&state.core, &access, &slug, None).await?;
    Ok(Json(monitor_json(&monitor)))
}

#[derive(Debug, Deserialize)]
pub struct MonitorChange {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    config: Option<Value>,
}

pub async fn update(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, slug)): Path<(String, String)>,
    Body(body): Body<MonitorChange>,
) -> ApiResult<Json<Value>> {
    let access = caller.org(&org)?;
    let monitor = monitors::get(&state.core, &access, &slug, None).await?;
    let updated = monitors::update(
        &state.core,
        &access,
        &monitor,
        body.name.as_deref(),
        body.config.as_ref(),
    )
    .await?;
    Ok(Json(monitor_json(&updated)))
}

pub async fn delete(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, slug)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let access = caller.org(&org)?;
    let monitor = monitors::get(&state.core, &access, &slug, None).await?;
    monitors::delete(&state.core, &access, &monitor).await?;
    Ok(StatusCode::ACCEPTED)
}

pub async fn check_ins(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, slug)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let access = caller.org(&org)?;
    let monitor = monitors::get(&state.core, &access, &slug, None).await?;
    let runs = monitors::check_ins(&state.core, &access, &monitor, LISTED_CHECK_INS).await?;
    Ok(Json(runs.iter().map(check_in_json).collect()))
}

fn monitor_json(monitor: &Monitor) -> Value {
    let schedule = match monitor.schedule_unit.as_deref() {
        Some(unit) => json!([monitor.schedule.parse::<i64>().unwrap_or(0), unit]),
        None => json!(monitor.schedule),
    };
    // A schedule past the calendar is due "never": shown as the last representable instant.
    let next = monitor.next_expected_at.min(LAST_INSTANT_MS);
    let next_latest = (next + monitor.checkin_margin_min * 60_000).min(LAST_INSTANT_MS);
    json!({
        "id": monitor.guid,
        "slug": monitor.slug,
        "name": monitor.name,
        "status": monitor.health,
        "type": "cron_job",
        "isMuted": false,
        "dateCreated": iso8601_ms(monitor.created_at),
        "project": {"id": monitor.project_id.to_string(), "slug": monitor.project_slug},
        "config": {
            "schedule_type": monitor.schedule_type,
            "schedule": schedule,
            "checkin_margin": monitor.checkin_margin_min,
            "max_runtime": monitor.max_runtime_min,
            "timezone": monitor.timezone,
            "failure_issue_threshold": monitor.failure_threshold,
            "recovery_threshold": monitor.recovery_threshold,
        },
        // Health is kept per monitor, not per environment: the last check-in's times stand for all.
        "lastCheckIn": monitor.last_check_in_at.map(iso8601_ms),
        "nextCheckIn": iso8601_ms(next),
        "nextCheckInLatest": iso8601_ms(next_latest),
        "issue": monitor.issue_id.map(|id| json!({"id": id.to_string()})),
    })
}

fn check_in_json(run: &CheckInRow) -> Value {
    let id = uuid::Uuid::try_parse(&run.check_in_id).map_or_else(|_| run.check_in_id.clone(), |u| u.to_string());
    json!({
        "id": id,
        "status": run.status,
        "duration": run.duration_ms,
        "environment": run.environment,
        "release": run.release,
        "dateCreated": iso8601_ms(run.created_at),
        "dateUpdated": iso8601_ms(run.updated_at),
        "expectedTime": run.expected_at.map(iso8601_ms),
    })
}
