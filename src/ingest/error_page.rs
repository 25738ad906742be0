//! Sentry's crash-report dialog (`/api/embed/error-page/`), which the JS SDK's `showReportDialog` loads with
//! `?dsn=…&eventId=…` (and `name`, `email` of the user when known): `GET` answers a script that shows a
//! form on the page, `POST` (the form: `name`, `email`, `comments`) stores it as user feedback about that
//! event. The DSN in the query authenticates both, as the SDK's own requests do.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::json;

use crate::core::feedback::record;
use crate::domain::auth::Dsn;
use crate::domain::feedback::read_user_report;
use crate::domain::ProjectId;

use super::admission::authorize;
use super::error::IngestError;
use super::pipeline::store_failed;
use super::Ingest;

/// The dialog's code; `__FAULTLINE_OPTIONS__` becomes the options as JSON.
const DIALOG: &str = include_str!("../../static/error-page.js");

#[derive(Debug, Deserialize)]
pub struct DialogQuery {
    #[serde(default)]
    dsn: String,
    #[serde(default, rename = "eventId")]
    event_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    title: String,
}

#[derive(Debug, Deserialize)]
pub struct DialogForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    comments: String,
}

/// `GET`: the dialog's script, for a known DSN and an event id.
pub async fn dialog(
    State(ingest): State<Arc<Ingest>>,
    Query(query): Query<DialogQuery>,
) -> Result<Response, IngestError> {
    project_of(&ingest, &query).await?;
    let options = json!({
        "eventId": query.event_id, "name": query.name, "email": query.email,
        "title": if query.title.is_empty() { "It looks like we're having issues." } else { &query.title },
    });
    // JSON inside a script: `<` escaped so that no `</script>` (or `<!--`) can end or bend it.
    let options = options.to_string().replace('<', "\\u003c");
    let script = DIALOG.replace("__FAULTLINE_OPTIONS__", &options);
    Ok((
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (CACHE_CONTROL, "no-store"),
        ],
        script,
    )
        .into_response())
}

/// `POST`: the form, stored as feedback about the event.
pub async fn submit(
    State(ingest): State<Arc<Ingest>>,
    Query(query): Query<DialogQuery>,
    Form(form): Form<DialogForm>,
) -> Result<Response, IngestError> {
    let project_id = project_of(&ingest, &query).await?;
    let report = json!({"event_id": query.event_id, "name": form.name, "email": form.email, "comments": form.comments});
    let feedback = read_user_report(&report).map_err(|e| IngestError::InvalidEvent(e.to_string()))?;
    record(&ingest.db, project_id, std::slice::from_ref(&feedback))
        .await
        .map_err(|error| store_failed(&ingest, &error, "report dialog"))?;
    Ok(Json(json!({})).into_response())
}

/// The project of the query's DSN, once its key is known and enabled; an event id is required.
async fn project_of(ingest: &Ingest, query: &DialogQuery) -> Result<ProjectId, IngestError> {
    let dsn = Dsn::parse(&query.dsn)?;
    if query.event_id.trim().is_empty() {
        return Err(IngestError::InvalidEvent(
            "the report dialog needs the event's id (eventId)".into(),
        ));
    }
    let project_id = ProjectId::from(i64::try_from(dsn.project_id).map_err(|_| IngestError::InvalidProjectId)?);
    Ok(authorize(ingest, &dsn.public_key, project_id).await?.project_id)
}
