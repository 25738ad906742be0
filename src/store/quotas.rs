//! A project's daily quota, the rate-limit counters every Faultline process on one database shares, and
//! each project's accepted events of the last day (the usual rate spike protection compares against).

use crate::domain::ids::ProjectId;
use crate::domain::quotas::Window;

use super::{on_pool, on_tx, Db, StoreError, Tx};

/// The project's daily quota in events (`None`: none).
pub async fn daily_quota(db: &Db, project_id: ProjectId) -> Result<Option<i64>, StoreError> {
    let sql = "SELECT CAST(daily_quota AS BIGINT) FROM projects WHERE id = $1";
    let row: Option<Option<i64>> =
        on_pool!(db, pool => sqlx::query_scalar(sql).bind(project_id).fetch_optional(pool).await?);
    Ok(row.flatten())
}

/// Sets the project's daily quota (`None`: none).
pub async fn set_daily_quota(db: &Db, project_id: ProjectId, events: Option<i64>) -> Result<(), StoreError> {
    let sql = "UPDATE projects SET daily_quota = $1 WHERE id = $2";
    on_pool!(db, pool => sqlx::query(sql).bind(events).bind(project_id).execute(pool).await?.rows_affected());
    Ok(())
}

/// One shared counter and what this process adds to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterDelta {
    pub scope: String,
    pub window: Window,
    pub delta: i64,
}

const ADD: &str = "INSERT INTO rate_counters (scope, window_start, window_end, count) VALUES ($1, $2, $3, $4) \
                   ON CONFLICT (scope, window_start) DO UPDATE SET count = rate_counters.count + excluded.count \
                   RETURNING count";
const READ: &str = "SELECT count FROM rate_counters WHERE scope = $1 AND window_start = $2";

/// Adds each delta to its counter and returns every counter's total, in the order given. The additions are
/// one transaction, taken in the caller's order (sorted), so two processes never wait on each other in a
/// cycle; counters with nothing to add are only read.
pub async fn add_counts(db: &Db, counters: &[CounterDelta]) -> Result<Vec<i64>, StoreError> {
    let mut totals = vec![0; counters.len()];
    if counters.iter().any(|c| c.delta != 0) {
        let mut tx = Tx::begin(db).await?;
        for (i, counter) in counters.iter().enumerate().filter(|(_, c)| c.delta != 0) {
            totals[i] = on_tx!(&mut tx, conn, Backend => sqlx::query_scalar(ADD)
                .bind(&counter.scope)
                .bind(counter.window.start_ms)
                .bind(counter.window.end_ms)
                .bind(counter.delta)
                .fetch_one(&mut *conn)
                .await?);
        }
        tx.commit().await?;
    }
    for (i, counter) in counters.iter().enumerate().filter(|(_, c)| c.delta == 0) {
        let total: Option<i64> = on_pool!(db, pool => sqlx::query_scalar(READ)
            .bind(&counter.scope)
            .bind(counter.window.start_ms)
            .fetch_optional(pool)
            .await?);
        totals[i] = total.unwrap_or(0);
    }
    Ok(totals)
}

/// Deletes the counters whose window ended before `before_ms`; returns how many.
pub async fn delete_ended_counters(db: &Db, before_ms: i64) -> Result<u64, StoreError> {
    let sql = "DELETE FROM rate_counters WHERE window_end < $1";
    let _turn = db.write_turn().await?;
    Ok(on_pool!(db, pool => sqlx::query(sql).bind(before_ms).execute(pool).await?.rows_affected()))
}

/// Each project's accepted events (both stored categories) counted in the hours from `since_ms` on.
pub async fn accepted_since(db: &Db, since_ms: i64) -> Result<Vec<(ProjectId, i64)>, StoreError> {
    let sql = "SELECT project_id, CAST(SUM(quantity) AS BIGINT) FROM outcomes \
               WHERE outcome = 'accepted' AND hour >= $1 GROUP BY project_id";
    Ok(on_pool!(db, pool => sqlx::query_as(sql).bind(since_ms).fetch_all(pool).await?))
}
