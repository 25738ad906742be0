//! Sentry's user-feedback API: `GET /api/0/projects/{org}/{project}/user-feedback/` lists the project's
//! feedback (newest first), `POST` stores one (`event_id`, `name`, `email`, `comments`), each in Sentry's shape.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::ApiResult;
use crate::api::json::time::iso8601_ms;
use crate::api::ApiState;
use crate::core::feedback;
use crate::domain::accounts::Scope;
use crate::store::feedback::Feedback;

pub async fn list(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let (access, project) = caller.project(&state, &org, &project, Scope::EventRead).await?;
    let found = feedback::for_project(&state.core, &access, &project).await?;
    Ok(Json(found.iter().map(feedback_json).collect()))
}

pub async fn create(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project)): Path<(String, String)>,
    Body(body): Body<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (access, project) = caller.project(&state, &org, &project, Scope::EventWrite).await?;
    let stored = feedback::submit(&state.core, &access, &project, &body).await?;
    Ok((StatusCode::OK, Json(feedback_json(&stored))))
}

fn feedback_json(feedback: &Feedback) -> Value {
    let event_id = feedback.event_id.clone().unwrap_or_default();
    json!({
        "id": feedback.id.to_string(),
        "eventID": event_id,
        "name": feedback.name,
        "email": feedback.email,
        "comments": feedback.comments,
        "dateCreated": iso8601_ms(feedback.received_at),
        "user": Value::Null,
        "event": {"id": event_id, "eventID": event_id},
        "issue": feedback.issue_id.map(|id| json!({"id": id.to_string()})),
    })
}
