//! Releases and deploys, organization- and project-scoped, as sentry-cli 2.x and 3.x call them. Creating an
//! existing version merges into it (208, as Sentry answers), so re-running a deploy script succeeds.

use std::collections::HashMap;

use crate::domain::ProjectId;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::{ApiError, ApiResult};
use crate::api::json::release::{deploy as deploy_json, health_data, release as release_json};
use crate::api::params::RequestParams;
use crate::api::routes::release_commits::{commit_change, CommitBody, RefBody};
use crate::api::ApiState;
use crate::core::release_health::release_health;
use crate::core::{self, Access};
use crate::domain::accounts::Scope;
use crate::domain::normalize::parse_timestamp;
use crate::store::now_ms;
use crate::store::projects::{self, Project};
use crate::store::releases::{self, Deploy, ReleaseDetails};

/// Fields of a release body; dates are RFC 3339 (sentry-cli sends nanoseconds) or Unix seconds.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseBody {
    version: Option<String>,
    #[serde(default)]
    projects: Vec<Value>,
    url: Option<String>,
    #[serde(rename = "ref")]
    reference: Option<String>,
    date_started: Option<Value>,
    date_released: Option<Value>,
    status: Option<String>,
    /// sentry-cli `set-commits --local`: the commits themselves.
    commits: Option<Vec<CommitBody>>,
    /// sentry-cli `set-commits --commit REPO@SHA` / `--auto` / `--clear`: head commits of known repositories.
    refs: Option<Vec<RefBody>>,
}

type OrgPath = Path<String>;
type OrgVersionPath = Path<(String, String)>;
type ProjectPath = Path<(String, String)>;
type ProjectVersionPath = Path<(String, String, String)>;

pub async fn org_list(
    caller: Caller,
    State(state): State<ApiState>,
    Path(org): OrgPath,
    params: RequestParams,
) -> ApiResult<Json<Value>> {
    let access = read_access(&caller, &org)?;
    list(&state, &access, None, &params).await
}

pub async fn project_list(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project)): ProjectPath,
    params: RequestParams,
) -> ApiResult<Json<Value>> {
    let access = read_access(&caller, &org)?;
    let project = project_in(&state, &access, &project).await?;
    list(&state, &access, Some(project.id), &params).await
}

pub async fn org_create(
    caller: Caller,
    State(state): State<ApiState>,
    Path(org): OrgPath,
    Body(body): Body<ReleaseBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let access = caller.org(&org)?;
    create(&state, &access, Vec::new(), body).await
}

pub async fn project_create(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project)): ProjectPath,
    Body(body): Body<ReleaseBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (access, project) = caller.project(&state, &org, &project, Scope::ProjectReleases).await?;
    create(&state, &access, vec![project], body).await
}

pub async fn org_detail(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, version)): OrgVersionPath,
) -> ApiResult<Json<Value>> {
    let access = read_access(&caller, &org)?;
    show(&state, &access, &version).await
}

pub async fn project_detail(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project, version)): ProjectVersionPath,
) -> ApiResult<Json<Value>> {
    let access = read_access(&caller, &org)?;
    let project = project_in(&state, &access, &project).await?;
    let release = existing_in_project(&state, &access, &version, &project).await?;
    Ok(Json(release_json(&release)))
}

pub async fn org_update(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, version)): OrgVersionPath,
    Body(body): Body<ReleaseBody>,
) -> ApiResult<Json<Value>> {
    let access = caller.org(&org)?;
    update(&state, &access, &version, body).await
}

pub async fn project_update(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project, version)): ProjectVersionPath,
    Body(body): Body<ReleaseBody>,
) -> ApiResult<Json<Value>> {
    let (access, project) = caller.project(&state, &org, &project, Scope::ProjectReleases).await?;
    existing_in_project(&state, &access, &version, &project).await?;
    update(&state, &access, &version, body).await
}

pub async fn org_delete(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, version)): OrgVersionPath,
) -> ApiResult<StatusCode> {
    let access = caller.org(&org)?;
    core::releases::delete(&state.core, &access, &version).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn project_delete(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project, version)): ProjectVersionPath,
) -> ApiResult<StatusCode> {
    let (access, project) = caller.project(&state, &org, &project, Scope::ProjectReleases).await?;
    existing_in_project(&state, &access, &version, &project).await?;
    core::releases::delete(&state.core, &access, &version).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployBody {
    environment: Option<String>,
    name: Option<String>,
    url: Option<String>,
    date_started: Option<Value>,
    date_finished: Option<Value>,
}

pub async fn create_deploy(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, version)): OrgVersionPath,
    Body(body): Body<DeployBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let access = caller.org(&org)?;
    let deploy = Deploy {
        id: 0,
        environment: body.environment.unwrap_or_default(),
        name: body.name,
        url: body.url,
        date_started: optional_date("dateStarted", body.date_started.as_ref())?,
        // sentry-cli cannot read a deploy without `dateFinished`; Sentry fills it with "now" too.
        date_finished: optional_date("dateFinished", body.date_finished.as_ref())?.unwrap_or_else(now_ms),
    };
    let deploy = core::releases::create_deploy(&state.core, &access, &version, deploy).await?;
    Ok((StatusCode::CREATED, Json(deploy_json(&deploy))))
}

pub async fn deploys(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, version)): OrgVersionPath,
) -> ApiResult<Json<Value>> {
    let access = read_access(&caller, &org)?;
    existing(&state, &access, &version).await?;
    let deploys = releases::list_deploys(&state.db, access.organization.id, &version).await?;
    Ok(Json(deploys.iter().map(deploy_json).collect()))
}

fn read_access(caller: &Caller, org: &str) -> ApiResult<Access> {
    let access = caller.org(org)?;
    if !access.allows(Scope::ProjectReleases) {
        access.require(Scope::ProjectRead)?;
    }
    Ok(access)
}

async fn project_in(state: &ApiState, access: &Access, slug: &str) -> ApiResult<Project> {
    projects::find_organization_project(&state.db, access.organization.id, slug)
        .await?
        .ok_or(ApiError::NotFound)
}

async fn list(
    state: &ApiState,
    access: &Access,
    project_id: Option<ProjectId>,
    params: &RequestParams,
) -> ApiResult<Json<Value>> {
    let limit = params.limit(100)?;
    let found = releases::list_releases(&state.db, access.organization.id, project_id, 0, limit).await?;
    with_health(state, access, &found, params).await.map(Json)
}

async fn show(state: &ApiState, access: &Access, version: &str) -> ApiResult<Json<Value>> {
    Ok(Json(release_json(&existing(state, access, version).await?)))
}

/// The releases as JSON; with `health=1`, each project of each release carries its `healthData`.
async fn with_health(
    state: &ApiState,
    access: &Access,
    found: &[releases::Release],
    params: &RequestParams,
) -> ApiResult<Value> {
    let mut answers: Vec<Value> = found.iter().map(release_json).collect();
    if !matches!(params.get("health"), Some("1" | "true")) {
        return Ok(Value::Array(answers));
    }
    let organization = projects::list_organization_projects(&state.db, &[access.organization.id]).await?;
    let mut by_slug = HashMap::new();
    for project in &organization {
        if found
            .iter()
            .any(|r| r.projects.iter().any(|(slug, _)| *slug == project.slug))
        {
            by_slug.insert(project.slug.clone(), release_health(&state.db, project.id).await?);
        }
    }
    for (answer, release) in answers.iter_mut().zip(found) {
        for (project, (slug, _)) in answer["projects"]
            .as_array_mut()
            .into_iter()
            .flatten()
            .zip(&release.projects)
        {
            let health = by_slug.get(slug).and_then(|h| h.get(&release.version));
            project["healthData"] = health_data(health);
            project["hasHealthData"] = Value::Bool(health.is_some());
        }
    }
    Ok(Value::Array(answers))
}

async fn existing(state: &ApiState, access: &Access, version: &str) -> ApiResult<releases::Release> {
    releases::get_release(&state.db, access.organization.id, version)
        .await?
        .ok_or(ApiError::NotFound)
}

/// The release, only when the project is one of its projects (the project-scoped routes).
async fn existing_in_project(
    state: &ApiState,
    access: &Access,
    version: &str,
    project: &Project,
) -> ApiResult<releases::Release> {
    let release = existing(state, access, version).await?;
    if !release.projects.iter().any(|(slug, _)| *slug == project.slug) {
        return Err(ApiError::NotFound);
    }
    Ok(release)
}

async fn create(
    state: &ApiState,
    access: &Access,
    mut projects: Vec<Project>,
    body: ReleaseBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    projects.extend(named_projects(state, access, &body.projects).await?);
    let version = body.version.as_deref().unwrap_or_default();
    let (release, existed) = core::releases::create(&state.core, access, version, &projects, &details(&body)?).await?;
    let status = if existed {
        StatusCode::ALREADY_REPORTED
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(release_json(&release))))
}

async fn update(state: &ApiState, access: &Access, version: &str, body: ReleaseBody) -> ApiResult<Json<Value>> {
    let projects = named_projects(state, access, &body.projects).await?;
    let details = details(&body)?;
    let commits = commit_change(body.commits, body.refs)?;
    let release = core::releases::update(&state.core, access, version, &projects, &details, commits).await?;
    Ok(Json(release_json(&release)))
}

/// Projects named by slug or id in a release body; an unknown one is a bad request.
async fn named_projects(state: &ApiState, access: &Access, names: &[Value]) -> ApiResult<Vec<Project>> {
    let all = projects::list_organization_projects(&state.db, &[access.organization.id]).await?;
    names
        .iter()
        .map(|name| {
            let text = name.as_str().map(str::to_owned).unwrap_or_else(|| name.to_string());
            all.iter()
                .find(|p| p.slug == text || p.id.to_string() == text)
                .cloned()
                .ok_or_else(|| ApiError::bad_request(format!("projects: unknown project {text:?}")))
        })
        .collect()
}

fn details(body: &ReleaseBody) -> ApiResult<ReleaseDetails> {
    if let Some(status) = body.status.as_deref().filter(|s| !matches!(*s, "open" | "archived")) {
        return Err(ApiError::bad_request(format!(
            "invalid status {status:?} (expected open or archived)"
        )));
    }
    Ok(ReleaseDetails {
        url: body.url.clone(),
        reference: body.reference.clone(),
        date_started: optional_date("dateStarted", body.date_started.as_ref())?,
        date_released: optional_date("dateReleased", body.date_released.as_ref())?,
        status: body.status.clone(),
    })
}

fn optional_date(name: &str, value: Option<&Value>) -> ApiResult<Option<i64>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(value) => parse_timestamp(value)
            .map(|seconds| Some((seconds * 1000.0).round() as i64))
            .ok_or_else(|| ApiError::bad_request(format!("{name} must be a date"))),
    }
}
