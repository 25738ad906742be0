//! Performance rollups: a batch's folded transactions (`domain::performance::Rollup`) added to the
//! per-minute rows in the writer's transaction, and read back per transaction name.

use std::collections::HashMap;

use sqlx::QueryBuilder;

use crate::domain::performance::{Rollup, RollupKey};
use crate::domain::ProjectId;

use super::{on_pool, on_tx, Db, StoreError, Tx};

/// Rows per multi-row statement.
const ROW_CHUNK: usize = 500;

/// Adds a folded batch to the rollups, inside the caller's transaction.
pub async fn add_rollup(tx: &mut Tx, rollup: &Rollup) -> Result<(), StoreError> {
    if rollup.minutes.is_empty() {
        return Ok(());
    }
    let ids = name_ids(tx, rollup).await?;
    add_minutes(tx, rollup, &ids).await?;
    add_buckets(tx, rollup, &ids).await?;
    add_span_ops(tx, rollup, &ids).await
}

/// The id of every key in the batch, creating the missing ones.
async fn name_ids(tx: &mut Tx, rollup: &Rollup) -> Result<HashMap<RollupKey, i64>, StoreError> {
    let mut keys: Vec<&RollupKey> = rollup.minutes.keys().map(|(key, _)| key).collect();
    keys.sort();
    keys.dedup();
    let mut ids = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(ROW_CHUNK) {
        on_tx!(tx, conn, Backend => {
            let mut insert = QueryBuilder::<Backend>::new(
                "INSERT INTO transaction_names (project_id, name, op, environment, release) ",
            );
            insert.push_values(chunk, |mut row, key| {
                row.push_bind(key.project_id)
                    .push_bind(&key.name)
                    .push_bind(&key.op)
                    .push_bind(&key.environment)
                    .push_bind(&key.release);
            });
            insert.push(" ON CONFLICT (project_id, name, op, environment, release) DO NOTHING");
            insert.build().execute(&mut *conn).await?;
            let mut select = QueryBuilder::<Backend>::new(
                "SELECT id, project_id, name, op, environment, release FROM transaction_names \
                 WHERE (project_id, name, op, environment, release) IN ",
            );
            select.push_tuples(chunk, |mut row, key| {
                row.push_bind(key.project_id)
                    .push_bind(&key.name)
                    .push_bind(&key.op)
                    .push_bind(&key.environment)
                    .push_bind(&key.release);
            });
            let found: Vec<(i64, ProjectId, String, String, String, String)> =
                select.build_query_as().fetch_all(&mut *conn).await?;
            for (id, project_id, name, op, environment, release) in found {
                ids.insert(RollupKey { project_id, environment, release, name, op }, id);
            }
        });
    }
    Ok(ids)
}

fn id_of(ids: &HashMap<RollupKey, i64>, key: &RollupKey) -> Result<i64, StoreError> {
    ids.get(key)
        .copied()
        .ok_or_else(|| StoreError::Corrupt(format!("no id for transaction name {:?}", key.name)))
}

async fn add_minutes(tx: &mut Tx, rollup: &Rollup, ids: &HashMap<RollupKey, i64>) -> Result<(), StoreError> {
    let rows = rollup
        .minutes
        .iter()
        .map(|((key, minute), counts)| Ok((id_of(ids, key)?, *minute, counts.clone())))
        .collect::<Result<Vec<_>, StoreError>>()?;
    for chunk in rows.chunks(ROW_CHUNK) {
        on_tx!(tx, conn, Backend => {
            let mut qb = QueryBuilder::<Backend>::new(
                "INSERT INTO transaction_minutes (name_id, minute, count, failures, duration_ms) ",
            );
            qb.push_values(chunk, |mut row, (id, minute, counts)| {
                row.push_bind(*id)
                    .push_bind(*minute)
                    .push_bind(counts.count)
                    .push_bind(counts.failures)
                    .push_bind(counts.duration_ms);
            });
            qb.push(
                " ON CONFLICT (name_id, minute) DO UPDATE SET count = transaction_minutes.count + excluded.count, \
                 failures = transaction_minutes.failures + excluded.failures, \
                 duration_ms = transaction_minutes.duration_ms + excluded.duration_ms",
            );
            qb.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}

async fn add_buckets(tx: &mut Tx, rollup: &Rollup, ids: &HashMap<RollupKey, i64>) -> Result<(), StoreError> {
    let rows = rollup
        .buckets
        .iter()
        .map(|((key, minute, bucket), count)| Ok((id_of(ids, key)?, *minute, *bucket as i32, *count)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    for chunk in rows.chunks(ROW_CHUNK) {
        on_tx!(tx, conn, Backend => {
            let mut qb = QueryBuilder::<Backend>::new(
                "INSERT INTO transaction_buckets (name_id, minute, bucket, count) ",
            );
            qb.push_values(chunk, |mut row, (id, minute, bucket, count)| {
                row.push_bind(*id).push_bind(*minute).push_bind(*bucket).push_bind(*count);
            });
            qb.push(
                " ON CONFLICT (name_id, minute, bucket) DO UPDATE SET count = transaction_buckets.count + excluded.count",
            );
            qb.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}

async fn add_span_ops(tx: &mut Tx, rollup: &Rollup, ids: &HashMap<RollupKey, i64>) -> Result<(), StoreError> {
    let rows = rollup
        .span_ops
        .iter()
        .map(|((key, minute, kind), (ms, spans))| Ok((id_of(ids, key)?, *minute, kind.as_str(), *ms, *spans)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    for chunk in rows.chunks(ROW_CHUNK) {
        on_tx!(tx, conn, Backend => {
            let mut qb = QueryBuilder::<Backend>::new(
                "INSERT INTO transaction_span_ops (name_id, minute, kind, duration_ms, spans) ",
            );
            qb.push_values(chunk, |mut row, (id, minute, kind, ms, spans)| {
                row.push_bind(*id).push_bind(*minute).push_bind(*kind).push_bind(*ms).push_bind(*spans);
            });
            qb.push(
                " ON CONFLICT (name_id, minute, kind) DO UPDATE SET \
                 duration_ms = transaction_span_ops.duration_ms + excluded.duration_ms, \
                 spans = transaction_span_ops.spans + excluded.spans",
            );
            qb.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}

/// One transaction name's totals over a period.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct NameTotals {
    pub name: String,
    pub op: String,
    pub count: i64,
    pub failures: i64,
    pub duration_ms: f64,
}

/// Totals per transaction name and operation of a project since `since_ms` (optionally one environment),
/// busiest first.
pub async fn name_totals(
    db: &Db,
    project_id: ProjectId,
    since_ms: i64,
    environment: Option<&str>,
) -> Result<Vec<NameTotals>, StoreError> {
    let sql = "SELECT n.name, n.op, CAST(SUM(m.count) AS BIGINT) AS count, \
               CAST(SUM(m.failures) AS BIGINT) AS failures, CAST(SUM(m.duration_ms) AS DOUBLE PRECISION) AS duration_ms \
               FROM transaction_names n JOIN transaction_minutes m ON m.name_id = n.id \
               WHERE n.project_id = $1 AND m.minute >= $2 AND ($3 IS NULL OR n.environment = $3) \
               GROUP BY n.name, n.op ORDER BY count DESC, n.name";
    Ok(on_pool!(db, pool => sqlx::query_as(sql)
        .bind(project_id)
        .bind(since_ms)
        .bind(environment)
        .fetch_all(pool)
        .await?))
}

/// `(name, op, bucket, count)` over a period: each name's duration histogram.
pub async fn name_buckets(
    db: &Db,
    project_id: ProjectId,
    since_ms: i64,
    environment: Option<&str>,
) -> Result<Vec<(String, String, i32, i64)>, StoreError> {
    let sql = "SELECT n.name, n.op, b.bucket, CAST(SUM(b.count) AS BIGINT) \
               FROM transaction_names n JOIN transaction_buckets b ON b.name_id = n.id \
               WHERE n.project_id = $1 AND b.minute >= $2 AND ($3 IS NULL OR n.environment = $3) \
               GROUP BY n.name, n.op, b.bucket";
    Ok(on_pool!(db, pool => sqlx::query_as(sql)
        .bind(project_id)
        .bind(since_ms)
        .bind(environment)
        .fetch_all(pool)
        .await?))
}
