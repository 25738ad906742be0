//! Expiring what is older than a project's retention: events and their ids in bounded chunks (each its own
//! short transaction, so ingest never waits long behind a sweep; the emptied issues go by
//! `store::issue_expiry`). And the leases that let one process at a time run a periodic job.

use crate::domain::ids::ProjectId;

use super::storage::{remove_stored, Stored};
use super::{on_pool, on_tx, Db, StoreError, Tx};

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

/// Deletes up to `limit` of the project's events whose time is before `before_ms`, taking them off the
/// project's totals in the same transaction; returns how many.
pub async fn expire_events(db: &Db, project_id: ProjectId, before_ms: i64, limit: i64) -> Result<u64, StoreError> {
    // The outer conditions repeat the inner ones so that Postgres looks only in the old partitions.
    let sql = "DELETE FROM events WHERE project_id = $1 AND timestamp < $2 AND id IN \
               (SELECT id FROM events WHERE project_id = $1 AND timestamp < $2 ORDER BY timestamp LIMIT $3) \
               RETURNING CAST(LENGTH(payload) AS BIGINT)";
    let mut tx = Tx::begin(db).await?;
    let sizes: Vec<i64> = on_tx!(&mut tx, conn, Backend => sqlx::query_scalar(sql)
        .bind(project_id)
        .bind(before_ms)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?);
    let removed = Stored {
        events: sizes.len() as i64,
        bytes: sizes.iter().sum(),
    };
    remove_stored(&mut tx, project_id, removed).await?;
    tx.commit().await?;
    Ok(sizes.len() as u64)
}

/// Forgets up to `limit` of the project's accepted event ids older than `before_ms` (their events are
/// gone by then, so a re-send would be a new event); returns how many.
pub async fn expire_event_ids(db: &Db, project_id: ProjectId, before_ms: i64, limit: i64) -> Result<u64, StoreError> {
    let sql = "DELETE FROM event_ids WHERE project_id = $1 AND event_id IN \
               (SELECT event_id FROM event_ids WHERE project_id = $1 AND timestamp < $2 LIMIT $3)";
    let _turn = db.write_turn().await?;
    Ok(on_pool!(db, pool => sqlx::query(sql)
        .bind(project_id)
        .bind(before_ms)
        .bind(limit)
        .execute(pool)
        .await?
        .rows_affected()))
}

/// Takes (or renews) the lease on a job until `until_ms`; `false` while another holder's lease runs.
pub async fn take_lease(db: &Db, job: &str, holder: &str, now_ms: i64, until_ms: i64) -> Result<bool, StoreError> {
    let sql = "INSERT INTO job_leases (name, holder, until) VALUES ($1, $2, $3) \
               ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until \
               WHERE job_leases.until < $4 OR job_leases.holder = excluded.holder";
    // In turn with the other writers: waiting in SQLite's busy handler instead, it lost the lock to them
    // for seconds at a time while a sweep and ingest kept it busy.
    let _turn = db.write_turn().await?;
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

/// Makes the space of deleted events usable again, one bounded step at a time; returns whether another
/// step is due. SQLite gives free pages back to the file system once they add up to more than `threshold`
/// bytes (the database is created with `auto_vacuum = INCREMENTAL`; smaller amounts stay for the next writes
/// to reuse), at most `pages` per step: each step holds the write lock while it moves pages from the file's
/// end into free ones, so a whole sweep's gigabytes at once would hold it for tens of seconds. Postgres runs
/// a plain `VACUUM` of the events (and transaction bodies), which marks their dead rows' space reusable
/// without locking out writers: autovacuum may be off or too slow to keep a budgeted database from growing.
pub async fn reclaim_space(db: &Db, threshold: i64, pages: i64) -> Result<bool, StoreError> {
    match db {
        Db::Sqlite(pool, _) => {
            let sql = "SELECT freelist_count, page_size FROM pragma_freelist_count(), pragma_page_size()";
            let (free_pages, page_size): (i64, i64) = sqlx::query_as(sql).fetch_one(pool).await?;
            if free_pages * page_size <= threshold {
                return Ok(false);
            }
            let pages = pages.max(1);
            let step = format!("PRAGMA incremental_vacuum({pages})");
            let _turn = db.write_turn().await?;
            sqlx::query(&step).execute(pool).await?;
            Ok((free_pages - pages) * page_size > threshold)
        }
        Db::Postgres(pool) => {
            sqlx::query("VACUUM events, event_ids, transaction_bodies, attachments")
                .execute(pool)
                .await?;
            Ok(false)
        }
    }
}

/// Postgres: vacuums the tables every event updates (issues, their counters, the totals, the rollups),
/// whose old row versions would otherwise pile up wherever autovacuum is off or behind, and the catalogs
/// that statistics refreshes and index rebuilds rewrite (a database owner may vacuum those; for anyone
/// else Postgres skips them with a warning). SQLite rewrites rows in place: a no-op.
pub async fn vacuum_counters(db: &Db) -> Result<(), StoreError> {
    if let Db::Postgres(pool) = db {
        let sql = "VACUUM issues, issue_tags, issue_hours, issue_users, project_hours, project_environments, \
                   releases, project_storage, rate_counters, outcomes, job_leases, transaction_minutes, \
                   transaction_buckets, transaction_span_ops, transaction_vitals, pg_catalog.pg_statistic, \
                   pg_catalog.pg_class, pg_catalog.pg_attribute, pg_catalog.pg_index, pg_catalog.pg_depend";
        sqlx::query(sql).execute(pool).await?;
    }
    Ok(())
}

/// The database's size in bytes: SQLite's pages (free ones included, as they take disk), or Postgres's
/// `pg_database_size`.
pub async fn database_bytes(db: &Db) -> Result<i64, StoreError> {
    Ok(match db {
        Db::Sqlite(pool, _) => {
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
