//! Look-ups by short id and event id within an organization, and an issue's tag facets.

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use crate::api::auth::Caller;
use crate::api::error::{ApiError, ApiResult};
use crate::api::json::issue::{issue as issue_json, short_id as format_short_id};
use crate::api::json::time::iso8601;
use crate::api::ApiState;
use crate::domain::accounts::Scope;
use crate::store::events;
use crate::store::issues::{self, TagCount};
use crate::store::projects;

use super::events::render;
use super::scope::find_issue;

pub async fn short_id(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, short_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let scoped = find_issue(&state, &caller, Some(&org), &short_id, Scope::EventRead).await?;
    Ok(Json(json!({
        "organizationSlug": scoped.access.organization.slug,
        "projectSlug": scoped.project.slug,
        "groupId": scoped.issue.id.to_string(),
        "shortId": format_short_id(&scoped.issue, &scoped.project),
        "group": issue_json(&scoped.issue, &scoped.context(&state), None),
    })))
}

pub async fn event_id(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, event_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let access = caller.org(&org)?;
    let projects = projects::list_organization_projects(&state.db, &[access.organization.id]).await?;
    let ids: Vec<_> = projects.iter().map(|p| p.id).collect();
    let event_id = event_id.to_ascii_lowercase().replace('-', "");
    let stored = events::find_event(&state.db, &ids, &event_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    access.require(Scope::EventRead)?;
    let project = projects
        .iter()
        .find(|p| p.id == stored.project_id)
        .ok_or(ApiError::NotFound)?;
    Ok(Json(json!({
        "organizationSlug": access.organization.slug,
        "projectSlug": project.slug,
        "groupId": stored.issue_id.to_string(),
        "eventId": stored.event_id,
        "event": render(&state, &stored, project, true).await?,
    })))
}

pub async fn issue_tags(
    caller: Caller,
    State(state): State<ApiState>,
    Path(issue): Path<String>,
) -> ApiResult<Json<Value>> {
    let scoped = find_issue(&state, &caller, None, &issue, Scope::EventRead).await?;
    let counts = issues::tag_counts(&state.db, scoped.issue.id).await?;
    let mut keys: Vec<&str> = counts.iter().map(|c| c.key.as_str()).collect();
    keys.dedup();
    Ok(Json(keys.iter().map(|key| tag_summary(key, &counts)).collect()))
}

pub async fn issue_tag(
    caller: Caller,
    State(state): State<ApiState>,
    Path((issue, key)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let scoped = find_issue(&state, &caller, None, &issue, Scope::EventRead).await?;
    let counts = issues::tag_counts(&state.db, scoped.issue.id).await?;
    if !counts.iter().any(|c| c.key == key) {
        return Err(ApiError::NotFound);
    }
    Ok(Json(tag_summary(&key, &counts)))
}

pub async fn issue_tag_values(
    caller: Caller,
    State(state): State<ApiState>,
    Path((issue, key)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let scoped = find_issue(&state, &caller, None, &issue, Scope::EventRead).await?;
    let counts = issues::tag_counts(&state.db, scoped.issue.id).await?;
    let values: Vec<Value> = counts.iter().filter(|c| c.key == key).map(tag_value).collect();
    Ok(Json(Value::Array(values)))
}

/// `{key, name, totalValues, uniqueValues, topValues}`: counts are sorted most frequent first by the store.
fn tag_summary(key: &str, counts: &[TagCount]) -> Value {
    let values: Vec<&TagCount> = counts.iter().filter(|c| c.key == key).collect();
    json!({
        "key": key,
        "name": key,
        "totalValues": values.iter().map(|c| c.times_seen).sum::<i64>(),
        "uniqueValues": values.len(),
        "topValues": values.iter().take(9).map(|c| tag_value(c)).collect::<Vec<_>>(),
    })
}

fn tag_value(count: &TagCount) -> Value {
    json!({
        "key": count.key,
        "name": count.value,
        "value": count.value,
        "count": count.times_seen,
        "firstSeen": iso8601(count.first_seen),
        "lastSeen": iso8601(count.last_seen),
    })
}
