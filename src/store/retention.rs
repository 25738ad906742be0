//! Expiring what is older than a project's retention: events in bounded chunks (each its own short
//! transaction, so ingest never waits long behind a sweep), then the issues left without events, with
//! their counters. And the leases that let one process at a time run a periodic job.

use crate::domain::ids::ProjectId;

use super::{on_pool, Db, StoreError};

/// Each project's id and its own retention in days (`None`: the server's default).
pub async fn project_retentions(db: &Db) -> Result<Vec<(ProjectId, Option<i64>)>, StoreError> {
    let sql = "SELECT id, CAST(retention_days AS BIGINT) FROM projects ORDER BY id";
    Ok(on_pool!(db, pool => sqlx::query_as(sql).fetch_all(pool).await?))
}

/// Sets a project's retention (`None`: the server's default).
pub async fn set_retention(db: &Db, project_id: ProjectId, days: Option<i64>) -> Result<(), StoreError> {
    let sql = "UPDATE projects SET retention_days = $1 WHERE id = $2";
    on_pool!(db, pool => sqlx::query(sql).bind(days).bind(project_id).execute(pool).await?.rows_affected());
    Ok(())
}

/// Deletes up to `limit` of the project's events whose time is before `before_ms`; returns how many.
pub async fn expire_events(db: &Db, project_id: ProjectId, before_ms: i64, limit: i64) -> Result<u64, StoreError> {
    let sql = "DELETE FROM events WHERE id IN \
               (SELECT id FROM events WHERE project_id = $1 AND timestamp < $2 ORDER BY timestamp LIMIT $3)";
    Ok(on_pool!(db, pool => sqlx::query(sql)
        .bind(project_id)
        .bind(before_ms)
        .bind(limit)
        .execute(pool)
        .await?
        .rows_affected()))
}

/// Deletes the project's issues that have no event left and were last seen before `before_ms` (an issue
/// whose only event is still being written is newer than that); returns how many.
pub async fn expire_empty_issues(db: &Db, project_id: ProjectId, before_ms: i64) -> Result<u64, StoreError> {
    let sql = "DELETE FROM issues WHERE project_id = $1 AND last_seen < $2 \
               AND NOT EXISTS (SELECT 1 FROM events e WHERE e.issue_id = issues.id)";
    Ok(on_pool!(db, pool => sqlx::query(sql)
        .bind(project_id)
        .bind(before_ms)
        .execute(pool)
        .await?
        .rows_affected()))
}

/// Takes (or renews) the lease on a job until `until_ms`; `false` while another holder's lease runs.
pub async fn take_lease(db: &Db, job: &str, holder: &str, now_ms: i64, until_ms: i64) -> Result<bool, StoreError> {
    let sql = "INSERT INTO job_leases (name, holder, until) VALUES ($1, $2, $3) \
               ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until \
               WHERE job_leases.until < $4 OR job_leases.holder = excluded.holder";
    let taken = on_pool!(db, pool => sqlx::query(sql)
        .bind(job)
        .bind(holder)
        .bind(until_ms)
        .bind(now_ms)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(taken == 1)
}

/// The database's size in bytes: SQLite's pages (free ones included, as they take disk), or Postgres's
/// `pg_database_size`.
pub async fn database_bytes(db: &Db) -> Result<i64, StoreError> {
    Ok(match db {
        Db::Sqlite(pool) => {
            sqlx::query_scalar("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
                .fetch_one(pool)
                .await?
        }
        Db::Postgres(pool) => {
            sqlx::query_scalar("SELECT pg_database_size(current_database())")
                .fetch_one(pool)
                .await?
        }
    })
}
