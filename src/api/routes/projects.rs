//! Projects (list, detail, create) and their client keys (the DSNs).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::{ApiError, ApiResult};
use crate::api::json::organization::{project as project_json, project_key};
use crate::api::ApiState;
use crate::core;
use crate::domain::accounts::Scope;
use crate::domain::limits::KeyRateLimit;
use crate::domain::project::ProjectSlug;
use crate::store::organizations::{self, Organization};
use crate::store::projects::{self, KeyChange, Project};
use crate::store::{issues, Db, StoreError};

pub async fn all_projects(caller: Caller, State(state): State<ApiState>) -> ApiResult<Json<Value>> {
    let mut listed = Vec::new();
    for (organization, _) in &caller.memberships {
        let access = caller.org(&organization.slug)?;
        if access.allows(Scope::ProjectRead) {
            listed.extend(organization_project_list(&state.db, &access.organization).await?);
        }
    }
    Ok(Json(Value::Array(listed)))
}

pub async fn organization_projects(
    caller: Caller,
    State(state): State<ApiState>,
    Path(org): Path<String>,
) -> ApiResult<Json<Value>> {
    let access = caller.org(&org)?;
    access.require(Scope::ProjectRead)?;
    Ok(Json(Value::Array(
        organization_project_list(&state.db, &access.organization).await?,
    )))
}

pub async fn detail(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let (access, project) = caller.project(&state, &org, &project, Scope::ProjectRead).await?;
    let mut described = describe(&state.db, &access.organization, &project).await?;
    described["options"] = super::project_filters::options(&state.db, &project).await?;
    Ok(Json(described))
}

#[derive(Debug, Deserialize)]
pub struct NewProject {
    name: String,
    slug: Option<String>,
    platform: Option<String>,
}

/// `POST /api/0/teams/{org}/{team}/projects/`, Sentry's project creation.
pub async fn create(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, team)): Path<(String, String)>,
    Body(body): Body<NewProject>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let access = caller.org(&org)?;
    organizations::find_team(&state.db, access.organization.id, &team)
        .await?
        .ok_or(ApiError::NotFound)?;
    let slug = match body.slug.as_deref() {
        Some(slug) => ProjectSlug::parse(slug),
        None => ProjectSlug::from_name(&body.name),
    };
    let slug = slug.map_err(|e| ApiError::bad_request(e.to_string()))?;
    let (project, _) =
        core::projects::create(&state.core, &access, &slug, Some(&body.name), body.platform.as_deref()).await?;
    Ok((
        StatusCode::CREATED,
        Json(describe(&state.db, &access.organization, &project).await?),
    ))
}

/// `GET /api/0/teams/{org}/{team}/projects/`: the team's projects (Grafana's "projects" variable).
pub async fn team_projects(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, team)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let access = caller.org(&org)?;
    access.require(Scope::ProjectRead)?;
    let team = organizations::find_team(&state.db, access.organization.id, &team)
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut listed = Vec::new();
    for project in projects::list_team_projects(&state.db, team.id).await? {
        listed.push(describe(&state.db, &access.organization, &project).await?);
    }
    Ok(Json(Value::Array(listed)))
}

pub async fn keys(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let (_, project) = caller.project(&state, &org, &project, Scope::ProjectRead).await?;
    let keys = projects::list_keys(&state.db, project.id).await?;
    Ok(Json(keys.iter().map(|k| project_key(k, &state.public_url)).collect()))
}

pub async fn key(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project, key)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    let (_, project) = caller.project(&state, &org, &project, Scope::ProjectRead).await?;
    let keys = projects::list_keys(&state.db, project.id).await?;
    let found = keys.iter().find(|k| k.public_key == key).ok_or(ApiError::NotFound)?;
    Ok(Json(project_key(found, &state.public_url)))
}

#[derive(Debug, Default, Deserialize)]
pub struct KeyChanges {
    name: Option<String>,
    #[serde(rename = "isActive")]
    is_active: Option<bool>,
    /// `{"window": seconds, "count": events}`, or null to remove the limit; absent keeps it.
    #[serde(rename = "rateLimit", default, deserialize_with = "present")]
    rate_limit: Option<Value>,
}

/// A field that is present, even as null, is `Some` (serde's default makes an absent one `None`).
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// The limit a `rateLimit` value asks for: `None` to remove it.
fn rate_limit_of(value: &Value) -> ApiResult<Option<KeyRateLimit>> {
    if value.is_null() {
        return Ok(None);
    }
    let number = |name: &str| {
        value[name]
            .as_i64()
            .ok_or_else(|| ApiError::bad_request(format!("rateLimit.{name} must be a whole number")))
    };
    KeyRateLimit::new(number("count")?, number("window")?)
        .map(Some)
        .map_err(|e| ApiError::bad_request(e.to_string()))
}

pub async fn create_key(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project)): Path<(String, String)>,
    body: Option<Json<KeyChanges>>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (access, project) = caller.project(&state, &org, &project, Scope::ProjectRead).await?;
    let label = body.and_then(|Json(b)| b.name).unwrap_or_else(|| "Default".to_owned());
    let key = core::projects::create_key(&state.core, &access, &project, &label).await?;
    Ok((StatusCode::CREATED, Json(project_key(&key, &state.public_url))))
}

/// Renames or disables/enables a key (`{"isActive": false}`); ingest stops accepting it with the next
/// event (another process: within the key cache's lifetime, 30 s).
pub async fn update_key(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project, key)): Path<(String, String, String)>,
    Body(changes): Body<KeyChanges>,
) -> ApiResult<Json<Value>> {
    let (access, project) = caller.project(&state, &org, &project, Scope::ProjectRead).await?;
    let change = KeyChange {
        label: changes.name.as_deref(),
        enabled: changes.is_active,
        rate_limit: changes.rate_limit.as_ref().map(rate_limit_of).transpose()?,
    };
    core::projects::update_key(&state.core, &access, &project, &key, change).await?;
    let keys = projects::list_keys(&state.db, project.id).await?;
    let found = keys.iter().find(|k| k.public_key == key).ok_or(ApiError::NotFound)?;
    Ok(Json(project_key(found, &state.public_url)))
}

pub async fn delete_key(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project, key)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let (access, project) = caller.project(&state, &org, &project, Scope::ProjectRead).await?;
    core::projects::delete_key(&state.core, &access, &project, &key).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn organization_project_list(db: &Db, organization: &Organization) -> Result<Vec<Value>, StoreError> {
    let mut listed = Vec::new();
    for project in projects::list_organization_projects(db, &[organization.id]).await? {
        listed.push(describe(db, organization, &project).await?);
    }
    Ok(listed)
}

async fn describe(db: &Db, organization: &Organization, project: &Project) -> Result<Value, StoreError> {
    let teams = organizations::project_teams(db, project.id).await?;
    let environments = issues::environments(db, project.id).await?;
    Ok(project_json(project, organization, &teams, &environments))
}
