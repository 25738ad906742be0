//! User feedback: stored as ingest reads it (`user_report` and `feedback` items), submitted through Sentry's
//! user-feedback API (`event:write`, Sentry's `project:write` equivalent for event data), listed per project
//! and per issue (`event:read`).

use serde_json::Value;

use crate::domain::accounts::Scope;
use crate::domain::feedback::{read_user_report, NewFeedback};
use crate::domain::ProjectId;
use crate::store::feedback::{self as store, Feedback};
use crate::store::projects::Project;
use crate::store::{Db, StoreError};

use super::{Access, Core, CoreError, CoreResult};

/// Most feedback a list shows.
pub const LISTED: i64 = 100;

/// Stores what ingest read from one request, all or none.
pub async fn record(db: &Db, project_id: ProjectId, feedback: &[NewFeedback]) -> Result<(), StoreError> {
    store::insert_all(db, project_id, feedback).await.map(drop)
}

/// Sentry's `POST …/user-feedback/` body (`event_id`, `name`, `email`, `comments`), checked and stored.
pub async fn submit(core: &Core, access: &Access, project: &Project, body: &Value) -> CoreResult<Feedback> {
    access.require(Scope::EventWrite)?;
    let feedback = read_user_report(body).map_err(CoreError::invalid)?;
    Ok(store::insert(&core.db, project.id, &feedback).await?)
}

/// The project's feedback, newest first.
pub async fn for_project(core: &Core, access: &Access, project: &Project) -> CoreResult<Vec<Feedback>> {
    access.require(Scope::EventRead)?;
    Ok(store::for_project(&core.db, project.id, LISTED).await?)
}
