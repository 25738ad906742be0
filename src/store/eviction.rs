//! Evicting events under the storage budget: how many events each issue stores, and one thinning pass
//! over an issue (the rule, which positions go, is `domain::storage`'s; this is its SQL). The event's id
//! stays in `event_ids`, so a re-sent copy of an evicted event is still recognised and not counted twice.

use crate::domain::{IssueId, ProjectId};

use super::storage::{remove_stored, Stored};
use super::{on_pool, on_tx, Db, StoreError, Tx};

/// Every issue that stores at least `min_events` events, with its count.
pub async fn issue_event_counts(db: &Db, min_events: i64) -> Result<Vec<(IssueId, i64)>, StoreError> {
    let sql = "SELECT issue_id, COUNT(*) FROM events GROUP BY issue_id HAVING COUNT(*) >= $1";
    Ok(on_pool!(db, pool => sqlx::query_as(sql).bind(min_events).fetch_all(pool).await?))
}

/// Deletes up to `limit` of the issue's events at even positions strictly between its first and its
/// latest (by time, then id), oldest first, and takes them off the project's totals in the same
/// transaction; returns what was removed.
pub async fn thin_issue(db: &Db, issue_id: IssueId, limit: i64) -> Result<Stored, StoreError> {
    let sql = "DELETE FROM events WHERE issue_id = $1 AND id IN (\
                 SELECT id FROM (\
                   SELECT id, ROW_NUMBER() OVER (ORDER BY timestamp, id) AS position, COUNT(*) OVER () AS total \
                   FROM events WHERE issue_id = $1) ranked \
                 WHERE position > 1 AND position < total AND position % 2 = 0 \
                 ORDER BY position LIMIT $2) \
               RETURNING project_id, CAST(LENGTH(payload) AS BIGINT)";
    let mut tx = Tx::begin(db).await?;
    let rows: Vec<(ProjectId, i64)> = on_tx!(&mut tx, conn, Backend => sqlx::query_as(sql)
        .bind(issue_id)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?);
    let removed = Stored {
        events: rows.len() as i64,
        bytes: rows.iter().map(|(_, bytes)| bytes).sum(),
    };
    if let Some((project_id, _)) = rows.first() {
        remove_stored(&mut tx, *project_id, removed).await?;
    }
    tx.commit().await?;
    Ok(removed)
}
