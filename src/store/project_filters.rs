//! A project's inbound filters, stored as JSON on its row.

use crate::domain::filters::InboundFilters;
use crate::domain::ids::ProjectId;

use super::{on_pool, Db, StoreError};

pub async fn filters(db: &Db, project_id: ProjectId) -> Result<InboundFilters, StoreError> {
    let sql = "SELECT inbound_filters FROM projects WHERE id = $1";
    let stored: Option<Option<String>> =
        on_pool!(db, pool => sqlx::query_scalar(sql).bind(project_id).fetch_optional(pool).await?);
    let stored = stored.ok_or_else(|| StoreError::NotFound(format!("project {project_id}")))?;
    parse(stored.as_deref())
}

pub async fn set_filters(db: &Db, project_id: ProjectId, filters: &InboundFilters) -> Result<(), StoreError> {
    let sql = "UPDATE projects SET inbound_filters = $1 WHERE id = $2";
    let text = (!filters.is_empty())
        .then(|| serde_json::to_string(filters))
        .transpose()
        .map_err(|e| StoreError::Corrupt(format!("projects.inbound_filters: {e}")))?;
    on_pool!(db, pool => sqlx::query(sql).bind(text).bind(project_id).execute(pool).await?.rows_affected());
    Ok(())
}

pub(super) fn parse(stored: Option<&str>) -> Result<InboundFilters, StoreError> {
    match stored {
        None => Ok(InboundFilters::default()),
        Some(text) => {
            serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("projects.inbound_filters: {e}")))
        }
    }
}
