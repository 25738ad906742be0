//! Events: an issue's events (list, latest, oldest, by id) and a project's events.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use crate::api::auth::Caller;
use crate::api::error::{ApiError, ApiResult};
use crate::api::json::event::{event_detail, event_summary, EventContext};
use crate::api::params::RequestParams;
use crate::api::ApiState;
use crate::domain::accounts::Scope;
use crate::store::events::{self, EventScope, StoredEvent};
use crate::store::paging::Keyset;
use crate::store::projects::Project;

use super::scope::find_issue;

const DEFAULT_PAGE: i64 = 100;

pub async fn issue_events(
    caller: Caller,
    State(state): State<ApiState>,
    Path(issue): Path<String>,
    params: RequestParams,
) -> ApiResult<Response> {
    list_issue_events(&state, &caller, None, &issue, &params).await
}

pub async fn org_issue_events(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, issue)): Path<(String, String)>,
    params: RequestParams,
) -> ApiResult<Response> {
    list_issue_events(&state, &caller, Some(&org), &issue, &params).await
}

pub async fn issue_event(
    caller: Caller,
    State(state): State<ApiState>,
    Path((issue, event)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    show_issue_event(&state, &caller, None, &issue, &event).await
}

pub async fn org_issue_event(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, issue, event)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    show_issue_event(&state, &caller, Some(&org), &issue, &event).await
}

pub async fn project_events(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project)): Path<(String, String)>,
    params: RequestParams,
) -> ApiResult<Response> {
    let (_, project) = caller.project(&state, &org, &project, Scope::EventRead).await?;
    list(&state, &project, EventScope::Project(project.id), &params).await
}

pub async fn project_event(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project, event_id)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    let (_, project) = caller.project(&state, &org, &project, Scope::EventRead).await?;
    let stored = events::find_event(
        &state.db,
        &[project.id],
        &event_id.to_ascii_lowercase().replace('-', ""),
    )
    .await?
    .ok_or(ApiError::NotFound)?;
    Ok(Json(render(&state, &stored, &project, true).await?))
}

async fn list_issue_events(
    state: &ApiState,
    caller: &Caller,
    org: Option<&str>,
    issue: &str,
    params: &RequestParams,
) -> ApiResult<Response> {
    let scoped = find_issue(state, caller, org, issue, Scope::EventRead).await?;
    list(state, &scoped.project, EventScope::Issue(scoped.issue.id), params).await
}

async fn list(state: &ApiState, project: &Project, scope: EventScope, params: &RequestParams) -> ApiResult<Response> {
    let page = params.page(DEFAULT_PAGE)?;
    let full = matches!(params.get("full"), Some("true" | "1"));
    let found = events::list_events(&state.db, scope, &page).await?;
    let mut items = Vec::with_capacity(found.items.len());
    for stored in &found.items {
        items.push(render(state, stored, project, full).await?);
    }
    let key = |e: &StoredEvent| Keyset {
        value: e.timestamp.as_millis(),
        id: e.id,
    };
    let link = params.link_header(&state.public_url, &page, &found, key);
    Ok(([(header::LINK, link)], Json(Value::Array(items))).into_response())
}

/// `latest`, `oldest`, `recommended` (the latest, here) or an event id.
async fn show_issue_event(
    state: &ApiState,
    caller: &Caller,
    org: Option<&str>,
    issue: &str,
    which: &str,
) -> ApiResult<Json<Value>> {
    let scoped = find_issue(state, caller, org, issue, Scope::EventRead).await?;
    let stored = match which {
        "latest" | "recommended" => events::edge_event(&state.db, scoped.issue.id, true).await?,
        "oldest" => events::edge_event(&state.db, scoped.issue.id, false).await?,
        event_id => {
            let event_id = event_id.to_ascii_lowercase().replace('-', "");
            let found = events::find_event(&state.db, &[scoped.project.id], &event_id).await?;
            found.filter(|e| e.issue_id == scoped.issue.id)
        }
    };
    let stored = stored.ok_or(ApiError::NotFound)?;
    Ok(Json(render(state, &stored, &scoped.project, true).await?))
}

/// The stored event in Sentry's API shape, full or as a list item. A full event's frames that stayed minified
/// are mapped with the source maps uploaded since, as the issue page shows them (resolve on read).
pub async fn render(state: &ApiState, stored: &StoredEvent, project: &Project, full: bool) -> ApiResult<Value> {
    let event = if full {
        state.core.source_maps.read(stored).await?
    } else {
        stored.event()?
    };
    let context = EventContext {
        group_id: stored.issue_id,
        project_id: project.id,
        project_slug: &project.slug,
        size: stored.payload.len(),
    };
    Ok(if full {
        event_detail(&event, &context)
    } else {
        event_summary(&event, &context)
    })
}
