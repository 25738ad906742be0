//! Issue lists (project and organization), bulk updates and deletes, and single issues by numeric or short id.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::{ApiError, ApiResult};
use crate::api::issue_update::parse_issue_update;
use crate::api::json::issue::{issue as issue_json, IssueContext, IssueStats};
use crate::api::params::RequestParams;
use crate::api::ApiState;
use crate::core::{self, Access};
use crate::domain::accounts::Scope;
use crate::domain::period::{bucket_counts, StatsPeriod};
use crate::domain::{IssueId, ProjectId};
use crate::store::issue_search::{search_issues, IssueSort};
use crate::store::issues::{self, Issue};
use crate::store::paging::{Keyset, PageRequest};
use crate::store::projects::Project;
use crate::store::{now_ms, Db};

use super::filters::issue_filter;
use super::scope::{find_issue, requested_projects};

/// Sentry answers 100 issues per page unless asked otherwise; sentry-cli relies on it.
const DEFAULT_PAGE: i64 = 100;
/// Bulk changes without ids touch at most this many issues (Sentry's limit too).
const BULK_LIMIT: i64 = 1000;

type OrgPath = Path<String>;
type ProjectPath = Path<(String, String)>;
type OrgIssuePath = Path<(String, String)>;

pub async fn project_list(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project)): ProjectPath,
    params: RequestParams,
) -> ApiResult<Response> {
    let (access, project) = caller.project(&state, &org, &project, Scope::EventRead).await?;
    list(&state, &access, vec![project], &params, false).await
}

pub async fn organization_list(
    caller: Caller,
    State(state): State<ApiState>,
    Path(org): OrgPath,
    params: RequestParams,
) -> ApiResult<Response> {
    let access = org_access(&caller, &org, Scope::EventRead)?;
    let projects = requested_projects(&state, &access, &params.all("project")).await?;
    list(&state, &access, projects, &params, true).await
}

pub async fn project_bulk_update(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project)): ProjectPath,
    params: RequestParams,
    Body(body): Body<Value>,
) -> ApiResult<Response> {
    let (access, project) = caller.project(&state, &org, &project, Scope::EventRead).await?;
    bulk_update(&state, &access, vec![project], &params, &body).await
}

pub async fn organization_bulk_update(
    caller: Caller,
    State(state): State<ApiState>,
    Path(org): OrgPath,
    params: RequestParams,
    Body(body): Body<Value>,
) -> ApiResult<Response> {
    let access = org_access(&caller, &org, Scope::EventRead)?;
    let projects = requested_projects(&state, &access, &params.all("project")).await?;
    bulk_update(&state, &access, projects, &params, &body).await
}

pub async fn project_bulk_delete(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project)): ProjectPath,
    params: RequestParams,
) -> ApiResult<StatusCode> {
    let (access, project) = caller.project(&state, &org, &project, Scope::EventRead).await?;
    bulk_delete(&state, &access, vec![project], &params).await
}

pub async fn organization_bulk_delete(
    caller: Caller,
    State(state): State<ApiState>,
    Path(org): OrgPath,
    params: RequestParams,
) -> ApiResult<StatusCode> {
    let access = org_access(&caller, &org, Scope::EventRead)?;
    let projects = requested_projects(&state, &access, &params.all("project")).await?;
    bulk_delete(&state, &access, projects, &params).await
}

pub async fn detail(caller: Caller, State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    show(&state, &caller, None, &id).await
}

pub async fn org_detail(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, id)): OrgIssuePath,
) -> ApiResult<Json<Value>> {
    show(&state, &caller, Some(&org), &id).await
}

pub async fn update(
    caller: Caller,
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Body(body): Body<Value>,
) -> ApiResult<Json<Value>> {
    update_one(&state, &caller, None, &id, &body).await
}

pub async fn org_update(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, id)): OrgIssuePath,
    Body(body): Body<Value>,
) -> ApiResult<Json<Value>> {
    update_one(&state, &caller, Some(&org), &id, &body).await
}

pub async fn delete(caller: Caller, State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    delete_one(&state, &caller, None, &id).await
}

pub async fn org_delete(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, id)): OrgIssuePath,
) -> ApiResult<StatusCode> {
    delete_one(&state, &caller, Some(&org), &id).await
}

fn org_access(caller: &Caller, org: &str, scope: Scope) -> ApiResult<Access> {
    let access = caller.org(org)?;
    access.require(scope)?;
    Ok(access)
}

async fn list(
    state: &ApiState,
    access: &Access,
    projects: Vec<Project>,
    params: &RequestParams,
    period_filters: bool,
) -> ApiResult<Response> {
    let filter = issue_filter(params, &projects, period_filters)?;
    let sort = params.get("sort").unwrap_or("date");
    let sort = IssueSort::parse(sort).ok_or_else(|| ApiError::bad_request(format!("invalid sort {sort:?}")))?;
    let page = params.page(DEFAULT_PAGE)?;
    let found = search_issues(&state.db, &filter, sort, &page).await?;
    let stats = issue_stats(&state.db, params, &found.items).await?;
    let by_id: HashMap<ProjectId, &Project> = projects.iter().map(|p| (p.id, p)).collect();
    let items: Vec<Value> = found
        .items
        .iter()
        .filter_map(|issue| {
            let context = context(state, access, by_id.get(&issue.project_id)?);
            Some(issue_json(issue, &context, stats.get(&issue.id)))
        })
        .collect();
    let key = |issue: &Issue| Keyset {
        value: sort.key_of(issue),
        id: issue.id.get(),
    };
    let link = params.link_header(&state.public_url, &page, &found, key);
    Ok(([(header::LINK, link)], Json(Value::Array(items))).into_response())
}

fn context<'a>(state: &'a ApiState, access: &'a Access, project: &'a Project) -> IssueContext<'a> {
    IssueContext {
        project,
        organization_slug: &access.organization.slug,
        public_url: &state.public_url,
    }
}

/// Per-issue buckets when `statsPeriod` asks for them (an empty value means none).
async fn issue_stats(db: &Db, params: &RequestParams, issues: &[Issue]) -> ApiResult<HashMap<IssueId, IssueStats>> {
    let Some(period) = params.get("statsPeriod").filter(|p| !p.is_empty()) else {
        return Ok(HashMap::new());
    };
    let period = StatsPeriod::parse(period).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let now = now_ms();
    let since = period.bucket_starts(now).first().copied().unwrap_or(now);
    let ids: Vec<_> = issues.iter().map(|i| i.id).collect();
    let mut hourly: HashMap<IssueId, Vec<(i64, i64)>> = HashMap::new();
    for (issue_id, hour, n) in issues::hourly_counts_since(db, &ids, since).await? {
        hourly.entry(issue_id).or_default().push((hour, n));
    }
    Ok(ids
        .iter()
        .map(|id| {
            let buckets = bucket_counts(&period, now, hourly.get(id).map_or(&[][..], Vec::as_slice));
            let stats = IssueStats {
                period: period.name.clone(),
                buckets,
            };
            (*id, stats)
        })
        .collect())
}

/// The issues a bulk request names: `id=` values within the projects, else those matching the filters.
async fn bulk_targets(state: &ApiState, projects: &[Project], params: &RequestParams) -> ApiResult<Vec<Issue>> {
    let ids = params.all("id");
    if ids.is_empty() {
        let filter = issue_filter(params, projects, false)?;
        let page = PageRequest {
            from: None,
            limit: BULK_LIMIT,
        };
        return Ok(search_issues(&state.db, &filter, IssueSort::Date, &page).await?.items);
    }
    if ids.len() as i64 > BULK_LIMIT {
        return Err(ApiError::bad_request(format!("at most {BULK_LIMIT} ids at once")));
    }
    let mut targets = Vec::with_capacity(ids.len());
    for id in ids {
        let id: IssueId = id
            .parse()
            .map_err(|_| ApiError::bad_request(format!("invalid issue id {id:?}")))?;
        if let Some(issue) = issues::get_issue(&state.db, id).await? {
            if projects.iter().any(|p| p.id == issue.project_id) {
                targets.push(issue);
            }
        }
    }
    Ok(targets)
}

async fn bulk_update(
    state: &ApiState,
    access: &Access,
    projects: Vec<Project>,
    params: &RequestParams,
    body: &Value,
) -> ApiResult<Response> {
    let update = parse_issue_update(body)?;
    let targets = bulk_targets(state, &projects, params).await?;
    if targets.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    if let Some(change) = &update.change {
        let ids: Vec<_> = targets.iter().map(|i| i.id).collect();
        core::issues::change_statuses(&state.core, access, &ids, change).await?;
    }
    Ok(Json(update.echo).into_response())
}

async fn bulk_delete(
    state: &ApiState,
    access: &Access,
    projects: Vec<Project>,
    params: &RequestParams,
) -> ApiResult<StatusCode> {
    let targets = bulk_targets(state, &projects, params).await?;
    let ids: Vec<_> = targets.iter().map(|i| i.id).collect();
    core::issues::delete(&state.core, access, &ids).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn show(state: &ApiState, caller: &Caller, org: Option<&str>, id: &str) -> ApiResult<Json<Value>> {
    let scoped = find_issue(state, caller, org, id, Scope::EventRead).await?;
    Ok(Json(issue_json(&scoped.issue, &scoped.context(state), None)))
}

async fn update_one(
    state: &ApiState,
    caller: &Caller,
    org: Option<&str>,
    id: &str,
    body: &Value,
) -> ApiResult<Json<Value>> {
    let mut scoped = find_issue(state, caller, org, id, Scope::EventRead).await?;
    let update = parse_issue_update(body)?;
    if let Some(change) = &update.change {
        scoped.issue = core::issues::change_status(&state.core, &scoped.access, scoped.issue.id, change).await?;
    }
    Ok(Json(issue_json(&scoped.issue, &scoped.context(state), None)))
}

async fn delete_one(state: &ApiState, caller: &Caller, org: Option<&str>, id: &str) -> ApiResult<StatusCode> {
    let scoped = find_issue(state, caller, org, id, Scope::EventRead).await?;
    core::issues::delete(&state.core, &scoped.access, &[scoped.issue.id]).await?;
    Ok(StatusCode::ACCEPTED)
}
