//! Event attachments: stored as ingest reads them, within the project's attachment quota (its own, or the
//! server's default), only for an event that is stored; listed and downloaded by whoever may read the
//! project's events (`event:read`); the quota set by whoever may change the project (`project:write`).

use crate::domain::accounts::Scope;
use crate::domain::attachments::{fitting, NewAttachment};
use crate::domain::{AttachmentId, ProjectId};
use crate::store::attachments::{self as store, Attachment};
use crate::store::projects::Project;
use crate::store::{Db, StoreError};

use super::{Access, Core, CoreError, CoreResult};

/// The largest quota a project may set: a terabyte, far beyond one server's disk.
const MAX_QUOTA_BYTES: i64 = 1 << 40;

/// What became of an envelope's attachments.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Accepted {
    /// Sizes of those stored now.
    pub stored: Vec<i64>,
    /// Sizes of those stored before (a re-sent envelope).
    pub duplicates: Vec<i64>,
    /// Sizes of those over the project's quota, not stored.
    pub over_quota: Vec<i64>,
    /// Sizes of those whose event is not stored, not stored either.
    pub no_event: Vec<i64>,
}

/// Stores the attachments of the project's event `event_id` that fit its quota (`default_quota` unless
/// the project sets its own). The quota is checked against what is stored when the request reads it, so
/// two requests at once may overshoot it by one request's attachments.
pub async fn accept(
    db: &Db,
    project_id: ProjectId,
    event_id: &str,
    attachments: Vec<NewAttachment>,
    default_quota: i64,
) -> Result<Accepted, StoreError> {
    let quota = store::quota(db, project_id).await?.unwrap_or(default_quota);
    let used = store::project_bytes(db, project_id).await?;
    let sizes: Vec<i64> = attachments.iter().map(NewAttachment::size).collect();
    let fits = fitting(&sizes, used, quota);
    let mut accepted = Accepted::default();
    let mut kept = Vec::new();
    for (attachment, fits) in attachments.into_iter().zip(fits) {
        if fits {
            kept.push(attachment);
        } else {
            accepted.over_quota.push(attachment.size());
        }
    }
    if kept.is_empty() {
        return Ok(accepted);
    }
    match store::insert_for_event(db, project_id, event_id, &kept).await? {
        None => accepted.no_event = kept.iter().map(NewAttachment::size).collect(),
        Some(new) => {
            for (attachment, new) in kept.iter().zip(new) {
                let into = if new {
                    &mut accepted.stored
                } else {
                    &mut accepted.duplicates
                };
                into.push(attachment.size());
            }
        }
    }
    Ok(accepted)
}

/// The attachments of one of the project's events (none when the event has none or is not stored).
pub async fn for_event(core: &Core, access: &Access, project: &Project, event_id: &str) -> CoreResult<Vec<Attachment>> {
    readable(access, project)?;
    Ok(store::for_event(&core.db, project.id, &normalize(event_id)).await?)
}

/// One attachment of one of the project's events.
pub async fn find(
    core: &Core,
    access: &Access,
    project: &Project,
    event_id: &str,
    id: AttachmentId,
) -> CoreResult<Attachment> {
    readable(access, project)?;
    store::get(&core.db, project.id, &normalize(event_id), id)
        .await?
        .ok_or(CoreError::NotFound)
}

/// The bytes of an attachment [`find`] found.
pub async fn bytes(core: &Core, attachment: &Attachment) -> CoreResult<Vec<u8>> {
    Ok(store::read_bytes(&core.db, attachment).await?)
}

/// The project's own attachment quota in bytes (`None`: the server's default).
pub async fn quota(core: &Core, project: &Project) -> CoreResult<Option<i64>> {
    Ok(store::quota(&core.db, project.id).await?)
}

/// Sets the project's attachment quota (`None`: the server's default); 0 refuses every attachment.
pub async fn set_quota(core: &Core, access: &Access, project: &Project, bytes: Option<i64>) -> CoreResult<()> {
    access.sees(project.organization_id)?;
    access.require(Scope::ProjectWrite)?;
    if let Some(bytes) = bytes.filter(|b| !(0..=MAX_QUOTA_BYTES).contains(b)) {
        return Err(CoreError::Invalid(format!(
            "the attachment quota must be a whole number of bytes from 0 to {MAX_QUOTA_BYTES}, not {bytes}"
        )));
    }
    Ok(store::set_quota(&core.db, project.id, bytes).await?)
}

fn readable(access: &Access, project: &Project) -> CoreResult<()> {
    access.sees(project.organization_id)?;
    access.require(Scope::EventRead)
}

/// An event id as URLs may spell it (dashes, capitals) as stored: 32 lowercase hex.
fn normalize(event_id: &str) -> String {
    event_id.to_ascii_lowercase().replace('-', "")
}
