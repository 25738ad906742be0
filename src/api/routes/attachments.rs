//! Sentry's event-attachment API: `GET /api/0/projects/{org}/{project}/events/{event_id}/attachments/` lists
//! an event's attachments, `…/attachments/{id}/` shows one, and with `?download=1` serves its bytes as a
//! download (never inline: see `domain::attachments::download_headers`). `event:read`, as Sentry's.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::api::auth::Caller;
use crate::api::error::{ApiError, ApiResult};
use crate::api::json::time::iso8601_ms;
use crate::api::params::RequestParams;
use crate::api::ApiState;
use crate::core::attachments;
use crate::domain::accounts::Scope;
use crate::domain::attachments::download_headers;
use crate::domain::AttachmentId;
use crate::store::attachments::Attachment;

pub async fn list(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project, event_id)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    let (access, project) = caller.project(&state, &org, &project, Scope::EventRead).await?;
    let found = attachments::for_event(&state.core, &access, &project, &event_id).await?;
    Ok(Json(found.iter().map(attachment_json).collect()))
}

pub async fn detail(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project, event_id, id)): Path<(String, String, String, String)>,
    params: RequestParams,
) -> ApiResult<Response> {
    let id: AttachmentId = id.parse().map_err(|_| ApiError::NotFound)?;
    let (access, project) = caller.project(&state, &org, &project, Scope::EventRead).await?;
    let attachment = attachments::find(&state.core, &access, &project, &event_id, id).await?;
    if matches!(params.get("download"), Some(v) if !matches!(v, "0" | "false")) {
        let bytes = attachments::bytes(&state.core, &attachment).await?;
        return Ok((download(&attachment), bytes).into_response());
    }
    Ok(Json(attachment_json(&attachment)).into_response())
}

fn download(attachment: &Attachment) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in download_headers(&attachment.name) {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    headers
}

/// Sentry's shape of an event attachment.
fn attachment_json(attachment: &Attachment) -> Value {
    json!({
        "id": attachment.id.to_string(),
        "event_id": attachment.event_id,
        "type": attachment.attachment_type,
        "name": attachment.name,
        "mimetype": attachment.content_type,
        "headers": {"Content-Type": attachment.content_type},
        "size": attachment.size,
        "sha1": attachment.sha1,
        "dateCreated": iso8601_ms(attachment.created_at),
    })
}
