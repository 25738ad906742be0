//! Evicting events under the storage budget: how many events each issue stores, and one thinning pass
//! over an issue (the rule, which positions go, is `domain::storage`'s; this is its SQL). An evicted
//! event's id goes with it: keeping the ids of every evicted event would grow without bound under a steady
//! load, and an SDK's retry comes within seconds, long before an event is old enough to be thinned out.

use sqlx::QueryBuilder;

use crate::domain::{IssueId, ProjectId};

use super::attachments::Removed;
use super::storage::{remove_stored, Stored};
use super::{on_pool, on_tx, Db, StoreError, Tx};

/// Every issue that stores at least `min_events` events, with its count.
pub async fn issue_event_counts(db: &Db, min_events: i64) -> Result<Vec<(IssueId, i64)>, StoreError> {
    let sql = "SELECT issue_id, COUNT(*) FROM events GROUP BY issue_id HAVING COUNT(*) >= $1";
    Ok(on_pool!(db, pool => sqlx::query_as(sql).bind(min_events).fetch_all(pool).await?))
}

/// Up to `limit` of the issue's events at even positions strictly between its first and its latest (by
/// time, then id), oldest first, as `(id, timestamp)`. A read: the deletes that follow take the write lock
/// only for themselves, in chunks ([`delete_events`]).
pub async fn thinnable_events(db: &Db, issue_id: IssueId, limit: i64) -> Result<Vec<(i64, i64)>, StoreError> {
    let sql = "SELECT id, timestamp FROM (\
                 SELECT id, timestamp, ROW_NUMBER() OVER (ORDER BY timestamp, id) AS position, \
                 COUNT(*) OVER () AS total FROM events WHERE issue_id = $1) ranked \
               WHERE position > 1 AND position < total AND position % 2 = 0 ORDER BY position LIMIT $2";
    Ok(on_pool!(db, pool => sqlx::query_as(sql).bind(issue_id).bind(limit).fetch_all(pool).await?))
}

/// Deletes the given events (`(id, timestamp)`, as [`thinnable_events`] lists them; any already gone are
/// skipped) with their ids and attachments, and takes them off the project's totals, in one transaction;
/// returns what was removed (the attachments' bytes included). The time range lets Postgres look only in
/// the partitions that hold them.
pub async fn delete_events(db: &Db, events: &[(i64, i64)]) -> Result<Stored, StoreError> {
    let (Some(earliest), Some(latest)) = (
        events.iter().map(|&(_, at)| at).min(),
        events.iter().map(|&(_, at)| at).max(),
    ) else {
        return Ok(Stored::default());
    };
    let mut tx = Tx::begin(db).await?;
    let rows: Vec<(ProjectId, String, i64)> = on_tx!(&mut tx, conn, Backend => {
        let mut qb = QueryBuilder::<Backend>::new("DELETE FROM events WHERE timestamp >= ");
        qb.push_bind(earliest).push(" AND timestamp <= ").push_bind(latest).push(" AND id IN (");
        let mut list = qb.separated(", ");
        for (id, _) in events {
            list.push_bind(*id);
        }
        qb.push(") RETURNING project_id, event_id, CAST(LENGTH(payload) AS BIGINT)");
        qb.build_query_as().fetch_all(&mut *conn).await?
    });
    let removed = Stored {
        events: rows.len() as i64,
        bytes: rows.iter().map(|(_, _, bytes)| bytes).sum(),
    };
    let mut attachments = Removed::default();
    if let Some((project_id, _, _)) = rows.first() {
        let ids: Vec<&str> = rows.iter().map(|(_, id, _)| id.as_str()).collect();
        forget_ids(&mut tx, *project_id, &ids).await?;
        remove_stored(&mut tx, *project_id, removed).await?;
        attachments = super::attachments::delete_for_events(&mut tx, *project_id, &ids).await?;
    }
    tx.commit().await?;
    super::attachments::remove_files(db, attachments.files).await;
    // What the budget freed: the events' payloads and their attachments' bytes.
    Ok(Stored {
        events: removed.events,
        bytes: removed.bytes + attachments.bytes,
    })
}

/// Deletes the ids of evicted events from `event_ids`.
async fn forget_ids(tx: &mut Tx, project_id: ProjectId, ids: &[&str]) -> Result<(), StoreError> {
    for chunk in ids.chunks(400) {
        on_tx!(tx, conn, Backend => {
            let mut qb = QueryBuilder::<Backend>::new("DELETE FROM event_ids WHERE project_id = ");
            qb.push_bind(project_id).push(" AND event_id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            qb.push(")");
            qb.build().execute(&mut *conn).await?.rows_affected()
        });
    }
    Ok(())
}
