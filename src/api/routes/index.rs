//! `/api/0/` (who am I, which scopes) and the organizations.

use axum::extract::Path;
use axum::Json;
use serde_json::{json, Value};

use crate::api::auth::Caller;
use crate::api::error::{ApiError, ApiResult};
use crate::api::json::organization::{organization, user};
use crate::domain::accounts::Scope;

/// sentry-cli `info` reads `auth.scopes` and `user.{id,email}`.
pub async fn root(caller: Caller) -> Json<Value> {
    Json(json!({
        "version": "0",
        "auth": { "scopes": caller.token_scopes.names() },
        "user": user(&caller.user),
    }))
}

pub async fn organizations(caller: Caller) -> Json<Value> {
    let visible = caller
        .memberships
        .iter()
        .filter(|(o, _)| caller.org(&o.slug).is_ok_and(|access| access.allows(Scope::OrgRead)))
        .map(|(o, _)| organization(o))
        .collect();
    Json(Value::Array(visible))
}

pub async fn get_organization(caller: Caller, Path(org): Path<String>) -> ApiResult<Json<Value>> {
    let access = caller.org(&org)?;
    access.require(Scope::OrgRead)?;
    Ok(Json(organization(&access.organization)))
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
