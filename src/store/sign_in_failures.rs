//! Failed sign-ins per throttle key (`domain::sign_in_throttle`), shared by every process on the database.

use crate::domain::sign_in_throttle::Failures;

use super::{on_pool, on_tx, Db, StoreError, Tx};

/// The failures recorded under each of `keys` (keys without any are left out).
pub async fn failures(db: &Db, keys: &[String]) -> Result<Vec<Failures>, StoreError> {
    let sql = "SELECT failures, last_at FROM sign_in_failures WHERE throttle_key = $1";
    let mut found = Vec::with_capacity(keys.len());
    for key in keys {
        let row: Option<(i64, i64)> = on_pool!(db, pool => sqlx::query_as(sql).bind(key).fetch_optional(pool).await?);
        found.extend(row.map(|(count, last_ms)| Failures { count, last_ms }));
    }
    Ok(found)
}

/// One more failure under each key at `now_ms`; a count whose last failure is `memory_ms` old starts over.
pub async fn add_failure(db: &Db, keys: &[String], now_ms: i64, memory_ms: i64) -> Result<(), StoreError> {
    let sql = "INSERT INTO sign_in_failures (throttle_key, failures, last_at) VALUES ($1, 1, $2) \
               ON CONFLICT (throttle_key) DO UPDATE SET \
               failures = CASE WHEN $2 - sign_in_failures.last_at >= $3 THEN 1 \
                          ELSE sign_in_failures.failures + 1 END, \
               last_at = $2";
    let mut sorted: Vec<&String> = keys.iter().collect();
    // One order for every process, so two failing at once never wait on each other in a cycle.
    sorted.sort();
    let mut tx = Tx::begin(db).await?;
    for key in sorted {
        on_tx!(&mut tx, conn, Backend => sqlx::query(sql)
            .bind(key)
            .bind(now_ms)
            .bind(memory_ms)
            .execute(&mut *conn)
            .await?
            .rows_affected());
    }
    tx.commit().await?;
    Ok(())
}

/// Forgets the failures under `keys` (a successful sign-in).
pub async fn clear(db: &Db, keys: &[String]) -> Result<(), StoreError> {
    let sql = "DELETE FROM sign_in_failures WHERE throttle_key = $1";
    for key in keys {
        on_pool!(db, pool => sqlx::query(sql).bind(key).execute(pool).await?.rows_affected());
    }
    Ok(())
}

/// Deletes the records whose last failure is older than `before_ms`; returns how many.
pub async fn forget_older(db: &Db, before_ms: i64) -> Result<u64, StoreError> {
    let sql = "DELETE FROM sign_in_failures WHERE last_at < $1";
    Ok(on_pool!(db, pool => sqlx::query(sql).bind(before_ms).execute(pool).await?.rows_affected()))
}
