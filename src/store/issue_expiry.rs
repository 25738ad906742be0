//! Expiring the issues that retention left without events, in steps small enough that ingest never waits
//! long behind them. An issue takes a few hundred counter rows with it (tag values, hours, users); deleting
//! them through the foreign keys' cascade would make each issue one long statement, so the sweep first
//! marks a batch of issues expired, then deletes their counters in chunks of rows, then the issues.
//!
//! Marking renames the issue's fingerprint to `expired:<id>` (real fingerprints are hex digests), in one
//! statement that re-checks the issue is still expired. From then on the batch writer, which finds issues by
//! fingerprint, cannot add an event to it: a new event with the old fingerprint makes a new issue, as in
//! Sentry once an issue's events are gone. A sweep interrupted half way leaves marked issues that still
//! qualify, so the next sweep finishes them.

use sqlx::QueryBuilder;

use crate::domain::ids::{IssueId, ProjectId};

use super::{on_tx, Db, StoreError, Tx};

/// The per-issue counter tables deleted in chunks before their issues, each with its primary key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueCounters {
    Tags,
    Hours,
    Users,
}

impl IssueCounters {
    pub const ALL: [IssueCounters; 3] = [IssueCounters::Tags, IssueCounters::Hours, IssueCounters::Users];

    /// `DELETE … WHERE (key) IN (SELECT key … WHERE issue_id IN (`: the id list and `) LIMIT n)` follow.
    fn delete_head(self) -> &'static str {
        match self {
            IssueCounters::Tags => {
                "DELETE FROM issue_tags WHERE (issue_id, key, value) IN \
                 (SELECT issue_id, key, value FROM issue_tags WHERE issue_id IN ("
            }
            IssueCounters::Hours => {
                "DELETE FROM issue_hours WHERE (issue_id, hour) IN \
                 (SELECT issue_id, hour FROM issue_hours WHERE issue_id IN ("
            }
            IssueCounters::Users => {
                "DELETE FROM issue_users WHERE (issue_id, user_key) IN \
                 (SELECT issue_id, user_key FROM issue_users WHERE issue_id IN ("
            }
        }
    }
}

/// Marks up to `limit` of the project's issues that have no event left and were last seen before
/// `before_ms` as expired (see the module's comment); returns their ids. The outer `last_seen` condition is
/// re-checked by Postgres on a row that an ingest batch updated meanwhile.
pub async fn mark_expired_issues(
    db: &Db,
    project_id: ProjectId,
    before_ms: i64,
    limit: i64,
) -> Result<Vec<IssueId>, StoreError> {
    let sql = "UPDATE issues SET fingerprint = 'expired:' || CAST(id AS TEXT) WHERE id IN \
               (SELECT id FROM issues WHERE project_id = $1 AND last_seen < $2 \
               AND NOT EXISTS (SELECT 1 FROM events e WHERE e.issue_id = issues.id) ORDER BY id LIMIT $3) \
               AND last_seen < $2 RETURNING id";
    let mut tx = Tx::begin(db).await?;
    let ids = on_tx!(&mut tx, conn, Backend => sqlx::query_scalar(sql)
        .bind(project_id)
        .bind(before_ms)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?);
    tx.commit().await?;
    Ok(ids)
}

/// Deletes up to `limit` rows of one counter table belonging to the marked issues `ids`; returns how many.
pub async fn delete_counters(db: &Db, counters: IssueCounters, ids: &[IssueId], limit: i64) -> Result<u64, StoreError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut tx = Tx::begin(db).await?;
    let deleted = on_tx!(&mut tx, conn, Backend => {
        let mut qb = QueryBuilder::<Backend>::new(counters.delete_head());
        let mut list = qb.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        qb.push(") LIMIT ").push_bind(limit).push(")");
        qb.build().execute(&mut *conn).await?.rows_affected()
    });
    tx.commit().await?;
    Ok(deleted)
}

/// Deletes the marked issues `ids` that still have no event (what is left of their rows goes by cascade);
/// returns how many.
pub async fn delete_marked_issues(db: &Db, ids: &[IssueId]) -> Result<u64, StoreError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut tx = Tx::begin(db).await?;
    let deleted = on_tx!(&mut tx, conn, Backend => {
        let mut qb = QueryBuilder::<Backend>::new(
            "DELETE FROM issues WHERE fingerprint = 'expired:' || CAST(id AS TEXT) \
             AND NOT EXISTS (SELECT 1 FROM events e WHERE e.issue_id = issues.id) AND id IN (",
        );
        let mut list = qb.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        qb.push(")");
        qb.build().execute(&mut *conn).await?.rows_affected()
    });
    tx.commit().await?;
    Ok(deleted)
}
