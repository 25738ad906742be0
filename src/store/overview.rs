//! Per-project figures for the projects overview: open issues and recent events per hour.

use super::paging::{bind_params, Param, SqlText};
use super::{on_pool, Db, StoreError};
use crate::domain::ProjectId;

/// (project id, unresolved issues) for each project that has any.
pub async fn unresolved_counts(db: &Db, project_ids: &[ProjectId]) -> Result<Vec<(ProjectId, i64)>, StoreError> {
    if project_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut text = SqlText::default();
    text.push("SELECT project_id, COUNT(*) FROM issues WHERE status = 'unresolved' AND project_id IN ")
        .bind_list(project_ids.iter().map(|id| Param::Int(id.get())))
        .push(" GROUP BY project_id");
    let SqlText { sql, params } = text;
    Ok(on_pool!(db, pool => bind_params!(sqlx::query_as(&sql), params).fetch_all(pool).await?))
}

/// (project id, hour start ms, events) since `since_ms`.
pub async fn project_hourly_counts(
    db: &Db,
    project_ids: &[ProjectId],
    since_ms: i64,
) -> Result<Vec<(ProjectId, i64, i64)>, StoreError> {
    if project_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut text = SqlText::default();
    text.push("SELECT project_id, hour, times_seen FROM project_hours WHERE hour >= ")
        .bind(Param::Int(since_ms))
        .push(" AND project_id IN ")
        .bind_list(project_ids.iter().map(|id| Param::Int(id.get())));
    let SqlText { sql, params } = text;
    Ok(on_pool!(db, pool => bind_params!(sqlx::query_as(&sql), params).fetch_all(pool).await?))
}
