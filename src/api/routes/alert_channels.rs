//! An organization's notification channels (`/api/0/organizations/{org}/channels/`). Reads need `org:read`;
//! changes and test notifications need `project:write` (there is no `org:write` scope; it is what admins
//! and owners hold). Settings are always returned masked.
//!
//! A body is `{"name", "kind", "settings": {…}}`, `settings` holding the kind's fields (see the GET
//! shape). PUT keeps what it leaves out: without `settings` the stored ones stay; within `settings`, a
//! secret sent empty or still masked (as GET returned it) keeps its stored value. A webhook created
//! without a `secret` gets a generated one, returned once as `"secret"` in the POST answer.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::{ApiError, ApiResult};
use crate::api::json::alerts::channel as channel_json;
use crate::api::ApiState;
use crate::core::alerts;
use crate::domain::accounts::Scope;
use crate::domain::alerts::channel::{Channel, ChannelConfig, KINDS};
use crate::store::alerts as stored;

use super::alert_rules::parse_id;

#[derive(Debug, Deserialize)]
pub struct ChannelBody {
    name: Option<String>,
    kind: Option<String>,
    settings: Option<Map<String, Value>>,
}

/// The settings of `kind` from the body's fields.
fn config_of(kind: &str, settings: Option<Map<String, Value>>) -> ApiResult<ChannelConfig> {
    if !KINDS.contains(&kind) {
        return Err(ApiError::bad_request(format!(
            "unknown channel kind {kind:?} (expected one of: {})",
            KINDS.join(", ")
        )));
    }
    let mut fields = settings.unwrap_or_default();
    fields.insert("kind".into(), kind.into());
    serde_json::from_value(Value::Object(fields))
        .map_err(|error| ApiError::bad_request(format!("invalid {kind} settings: {error}")))
}

/// The channel as answered, with whether it can send from this server.
fn shown(state: &ApiState, channel: &Channel) -> Value {
    channel_json(channel, state.core.notifier.not_configured(&channel.config))
}

pub async fn list(caller: Caller, State(state): State<ApiState>, Path(org): Path<String>) -> ApiResult<Json<Value>> {
    let access = caller.org(&org)?;
    access.require(Scope::OrgRead)?;
    let channels = stored::list_channels(&state.db, access.organization.id).await?;
    Ok(Json(channels.iter().map(|channel| shown(&state, channel)).collect()))
}

pub async fn create(
    caller: Caller,
    State(state): State<ApiState>,
    Path(org): Path<String>,
    Body(body): Body<ChannelBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let access = caller.org(&org)?;
    let kind = body
        .kind
        .ok_or_else(|| ApiError::bad_request(format!("a channel needs a kind: {}", KINDS.join(", "))))?;
    let config = config_of(&kind, body.settings)?;
    let generates_secret = matches!(&config, ChannelConfig::Webhook(hook) if hook.secret.trim().is_empty());
    let name = body.name.unwrap_or_default();
    let channel = alerts::create_channel(&state.core, &access, &name, config).await?;
    let mut answer = shown(&state, &channel);
    if let (true, ChannelConfig::Webhook(hook)) = (generates_secret, &channel.config) {
        answer["secret"] = json!(hook.secret);
    }
    Ok((StatusCode::CREATED, Json(answer)))
}

pub async fn detail(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let access = caller.org(&org)?;
    let channel = stored::get_channel(&state.db, access.organization.id, parse_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    access.require(Scope::OrgRead)?;
    Ok(Json(shown(&state, &channel)))
}

pub async fn update(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, id)): Path<(String, String)>,
    Body(body): Body<ChannelBody>,
) -> ApiResult<Json<Value>> {
    let access = caller.org(&org)?;
    let id = parse_id(&id)?;
    let stored = stored::get_channel(&state.db, access.organization.id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let config = match (body.kind, body.settings) {
        (None, None) => stored.config,
        (kind, settings) => config_of(kind.as_deref().unwrap_or(stored.config.kind()), settings)?,
    };
    let name = body.name.unwrap_or(stored.name);
    let channel = alerts::update_channel(&state.core, &access, id, &name, config).await?;
    Ok(Json(shown(&state, &channel)))
}

/// 204; 409 for the built-in members channel.
pub async fn delete(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let access = caller.org(&org)?;
    alerts::delete_channel(&state.core, &access, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a test notification now: 200 `{"ok": true}`, or 200 `{"ok": false, "error": "…"}` when the
/// channel refused or could not be reached (the request itself succeeded).
pub async fn test(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let access = caller.org(&org)?;
    let outcome = alerts::send_test(&state.core, &access, parse_id(&id)?).await?;
    Ok(Json(match outcome {
        Ok(()) => json!({ "ok": true }),
        Err(error) => json!({ "ok": false, "error": error.to_string() }),
    }))
}
