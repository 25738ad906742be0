//! Performance rollups: a batch's folded transactions (`domain::performance::Rollup`) added to the
//! per-minute rows in the writer's transaction, and read back per transaction name (and per chart slot)
//! for the Performance page and a transaction's page. Web vitals have their own table
//! (`transaction_vitals`), written in the same call.

use std::collections::HashMap;

use sqlx::QueryBuilder;

use crate::domain::performance::{Rollup, RollupKey};
use crate::domain::ProjectId;

use super::paging::{bind_params, Param, SqlText};
use super::{on_pool, on_tx, transaction_vitals, Db, StoreError, Tx};

/// Rows per multi-row statement.
pub(super) const ROW_CHUNK: usize = 500;

/// Adds a folded batch to the rollups, inside the caller's transaction.
pub async fn add_rollup(tx: &mut Tx, rollup: &Rollup) -> Result<(), StoreError> {
    if rollup.minutes.is_empty() {
        return Ok(());
    }
    let ids = name_ids(tx, rollup).await?;
    add_minutes(tx, rollup, &ids).await?;
    add_buckets(tx, rollup, &ids).await?;
    add_span_ops(tx, rollup, &ids).await?;
    transaction_vitals::add_vitals(tx, rollup, &ids).await
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

pub(super) fn id_of(ids: &HashMap<RollupKey, i64>, key: &RollupKey) -> Result<i64, StoreError> {
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

/// Which rollups a page reads: a project's from a minute on, optionally of one transaction name, one
/// environment and one release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollupFilter<'a> {
    pub project_id: ProjectId,
    pub since_ms: i64,
    pub name: Option<&'a str>,
    pub environment: Option<&'a str>,
    pub release: Option<&'a str>,
}

impl RollupFilter<'_> {
    /// ` WHERE …` over the names' columns (`prefix`: their table's alias and a dot, or nothing) and the
    /// time column `time`. Only the conditions that apply are written, so an index on the name serves.
    pub(super) fn push_where(&self, text: &mut SqlText, prefix: &str, time: &str) {
        text.push(&format!(" WHERE {prefix}project_id = "))
            .bind(Param::Int(self.project_id.get()))
            .push(&format!(" AND {time} >= "))
            .bind(Param::Int(self.since_ms));
        let columns = [
            ("name", self.name),
            ("environment", self.environment),
            ("release", self.release),
        ];
        for (column, value) in columns {
            if let Some(value) = value {
                text.push(&format!(" AND {prefix}{column} = "))
                    .bind(Param::Text(value.to_owned()));
            }
        }
    }
}

/// The start of the `slot_ms`-wide slot (aligned on the epoch) a minute column falls in. `slot_ms` is
/// the page's own number, never the request's text.
fn slot_sql(minute: &str, slot_ms: i64) -> String {
    format!("CAST({minute} - {minute} % {} AS BIGINT)", slot_ms.max(1))
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

/// Totals per transaction name and operation, busiest first.
pub async fn name_totals(db: &Db, filter: &RollupFilter<'_>) -> Result<Vec<NameTotals>, StoreError> {
    let mut text = SqlText::default();
    text.push(
        "SELECT n.name, n.op, CAST(SUM(m.count) AS BIGINT) AS count, \
         CAST(SUM(m.failures) AS BIGINT) AS failures, CAST(SUM(m.duration_ms) AS DOUBLE PRECISION) AS duration_ms \
         FROM transaction_names n JOIN transaction_minutes m ON m.name_id = n.id",
    );
    filter.push_where(&mut text, "n.", "m.minute");
    text.push(" GROUP BY n.name, n.op ORDER BY count DESC, n.name");
    let SqlText { sql, params } = text;
    Ok(on_pool!(db, pool => bind_params!(sqlx::query_as(&sql), params).fetch_all(pool).await?))
}

/// `(name, op, bucket, count)`: each name's duration histogram.
pub async fn name_buckets(db: &Db, filter: &RollupFilter<'_>) -> Result<Vec<(String, String, i32, i64)>, StoreError> {
    let mut text = SqlText::default();
    text.push(
        "SELECT n.name, n.op, b.bucket, CAST(SUM(b.count) AS BIGINT) \
         FROM transaction_names n JOIN transaction_buckets b ON b.name_id = n.id",
    );
    filter.push_where(&mut text, "n.", "b.minute");
    text.push(" GROUP BY n.name, n.op, b.bucket");
    let SqlText { sql, params } = text;
    Ok(on_pool!(db, pool => bind_params!(sqlx::query_as(&sql), params).fetch_all(pool).await?))
}

/// `(name, op, slot start, count)`: how many transactions of each name fell in each slot.
pub async fn name_slots(
    db: &Db,
    filter: &RollupFilter<'_>,
    slot_ms: i64,
) -> Result<Vec<(String, String, i64, i64)>, StoreError> {
    let slot = slot_sql("m.minute", slot_ms);
    let mut text = SqlText::default();
    text.push(&format!(
        "SELECT n.name, n.op, {slot}, CAST(SUM(m.count) AS BIGINT) \
         FROM transaction_names n JOIN transaction_minutes m ON m.name_id = n.id"
    ));
    filter.push_where(&mut text, "n.", "m.minute");
    text.push(&format!(" GROUP BY n.name, n.op, {slot}"));
    let SqlText { sql, params } = text;
    Ok(on_pool!(db, pool => bind_params!(sqlx::query_as(&sql), params).fetch_all(pool).await?))
}

/// `(slot start, bucket, count)`: the duration histogram of each slot.
pub async fn bucket_slots(
    db: &Db,
    filter: &RollupFilter<'_>,
    slot_ms: i64,
) -> Result<Vec<(i64, i32, i64)>, StoreError> {
    let slot = slot_sql("b.minute", slot_ms);
    let mut text = SqlText::default();
    text.push(&format!(
        "SELECT {slot}, b.bucket, CAST(SUM(b.count) AS BIGINT) \
         FROM transaction_names n JOIN transaction_buckets b ON b.name_id = n.id"
    ));
    filter.push_where(&mut text, "n.", "b.minute");
    text.push(&format!(" GROUP BY {slot}, b.bucket"));
    let SqlText { sql, params } = text;
    Ok(on_pool!(db, pool => bind_params!(sqlx::query_as(&sql), params).fetch_all(pool).await?))
}

/// `(span kind, milliseconds, spans)`: the time spent per kind of span, most first.
pub async fn span_op_totals(db: &Db, filter: &RollupFilter<'_>) -> Result<Vec<(String, f64, i64)>, StoreError> {
    let mut text = SqlText::default();
    text.push(
        "SELECT s.kind, CAST(SUM(s.duration_ms) AS DOUBLE PRECISION) AS ms, CAST(SUM(s.spans) AS BIGINT) \
         FROM transaction_names n JOIN transaction_span_ops s ON s.name_id = n.id",
    );
    filter.push_where(&mut text, "n.", "s.minute");
    text.push(" GROUP BY s.kind ORDER BY ms DESC, s.kind");
    let SqlText { sql, params } = text;
    Ok(on_pool!(db, pool => bind_params!(sqlx::query_as(&sql), params).fetch_all(pool).await?))
}
