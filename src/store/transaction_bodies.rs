//! Kept transaction bodies (`domain::performance::sampling` decides which): written by the transaction
//! writer inside its batch's transaction, read back per trace, expired by age and evicted oldest first
//! under the storage budget. Every write and delete keeps the projects' body totals (`storage`) in step,
//! in the same transaction.

use std::collections::{HashMap, HashSet};

use sqlx::QueryBuilder;

use crate::domain::issue_category::IssueCategory;
use crate::domain::performance::sampling::StoredSlowest;
use crate::domain::performance::KeepReasons;
use crate::domain::ProjectId;

use super::paging::{bind_params, Param, SqlText};
use super::performance::RollupFilter;
use super::storage::{add_bodies, remove_bodies, Stored};
use super::{on_pool, on_tx, Db, StoreError, Tx};

/// Rows per multi-row statement (15 parameters each).
const ROW_CHUNK: usize = 200;
/// Trace ids per look-up statement.
const TRACE_CHUNK: usize = 500;

/// A body to keep.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBody<'a> {
    pub project_id: ProjectId,
    pub event_id: &'a str,
    /// Empty when the transaction has none.
    pub trace_id: &'a str,
    pub name: &'a str,
    pub op: &'a str,
    pub status: &'a str,
    pub environment: &'a str,
    pub release: &'a str,
    /// The transaction's end, epoch ms.
    pub timestamp: i64,
    pub hour: i64,
    pub duration_ms: f64,
    pub reasons: KeepReasons,
    /// The scrubbed transaction JSON, zstd-compressed.
    pub payload: &'a [u8],
}

/// A kept body as read back.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StoredBody {
    pub id: i64,
    pub project_id: ProjectId,
    pub event_id: String,
    pub trace_id: String,
    pub name: String,
    pub op: String,
    pub status: String,
    pub timestamp: i64,
    pub duration_ms: f64,
    pub for_error: bool,
    pub slowest: bool,
    pub sampled: bool,
    pub payload: Vec<u8>,
}

impl StoredBody {
    /// The transaction JSON as kept.
    pub fn json(&self) -> Result<serde_json::Value, StoreError> {
        let corrupt = |e: &dyn std::fmt::Display| StoreError::Corrupt(format!("transaction_bodies.payload: {e}"));
        let bytes = zstd::stream::decode_all(self.payload.as_slice()).map_err(|e| corrupt(&e))?;
        serde_json::from_slice(&bytes).map_err(|e| corrupt(&e))
    }
}

/// Which of a project's `trace_ids` have an error event between `from_ms` and `to_ms` (the time range
/// lets Postgres look only in those days' partitions). The events of performance issues are not errors:
/// a transaction's own N+1 does not keep its body.
pub async fn traces_with_errors(
    tx: &mut Tx,
    project_id: ProjectId,
    trace_ids: &[String],
    (from_ms, to_ms): (i64, i64),
) -> Result<HashSet<(ProjectId, String)>, StoreError> {
    let performance_types = IssueCategory::performance_types();
    let mut found = HashSet::new();
    for chunk in trace_ids.chunks(TRACE_CHUNK) {
        let rows: Vec<String> = match tx {
            // Without statistics SQLite walked every event of the window through the timestamp index on
            // each batch (and `trace_id IS NOT NULL` made the trace index a range scan): `+timestamp` keeps
            // it on one look-up per trace id, which `IN` already proves non-null.
            Tx::Sqlite(conn) => {
                let mut qb = QueryBuilder::<sqlx::Sqlite>::new(
                    "SELECT DISTINCT e.trace_id FROM events e JOIN issues i ON i.id = e.issue_id \
                     WHERE e.project_id = ",
                );
                qb.push_bind(project_id)
                    .push(" AND +e.timestamp >= ")
                    .push_bind(from_ms)
                    .push(" AND +e.timestamp <= ")
                    .push_bind(to_ms)
                    .push(" AND i.issue_type NOT IN (");
                let mut types = qb.separated(", ");
                for issue_type in &performance_types {
                    types.push_bind(*issue_type);
                }
                qb.push(") AND e.trace_id IN (");
                let mut list = qb.separated(", ");
                for id in chunk {
                    list.push_bind(id.as_str());
                }
                qb.push(")");
                qb.build_query_scalar().fetch_all(&mut **conn).await?
            }
            // One text whatever the batch (arrays, not lists), so its plan is prepared once per connection:
            // planning over every day's partition cost more than running it. The plain column prunes
            // partitions; the partial trace index needs the explicit condition.
            Tx::Postgres(conn) => {
                let sql = "SELECT DISTINCT e.trace_id FROM events e JOIN issues i ON i.id = e.issue_id \
                           WHERE e.project_id = $1 AND e.timestamp >= $2 AND e.timestamp <= $3 \
                           AND i.issue_type <> ALL($4) AND e.trace_id IS NOT NULL AND e.trace_id = ANY($5)";
                sqlx::query_scalar(sql)
                    .bind(project_id)
                    .bind(from_ms)
                    .bind(to_ms)
                    .bind(&performance_types)
                    .bind(chunk)
                    .fetch_all(&mut **conn)
                    .await?
            }
        };
        found.extend(rows.into_iter().map(|trace_id| (project_id, trace_id)));
    }
    Ok(found)
}

/// The bodies a project keeps among the slowest of the given `(name, hour)`s.
pub async fn slowest_of(
    tx: &mut Tx,
    project_id: ProjectId,
    keys: &[(&str, i64)],
) -> Result<Vec<StoredSlowest>, StoreError> {
    let mut found = Vec::new();
    for chunk in keys.chunks(TRACE_CHUNK) {
        let rows: Vec<(i64, String, i64, f64, String, bool, bool)> = on_tx!(tx, conn, Backend => {
            let mut qb = QueryBuilder::<Backend>::new(
                "SELECT id, name, hour, duration_ms, trace_id, for_error, sampled FROM transaction_bodies \
                 WHERE project_id = ",
            );
            // The names and hours on their own as well: SQLite looks a row value up only by the index's
            // first column, and would otherwise walk every kept body of the project on each batch.
            qb.push_bind(project_id).push(" AND slowest AND name IN (");
            let mut names = qb.separated(", ");
            for (name, _) in chunk {
                names.push_bind(*name);
            }
            qb.push(") AND hour IN (");
            let mut hours = qb.separated(", ");
            for (_, hour) in chunk {
                hours.push_bind(*hour);
            }
            qb.push(") AND (name, hour) IN ");
            qb.push_tuples(chunk, |mut row, (name, hour)| {
                row.push_bind(*name).push_bind(*hour);
            });
            qb.build_query_as().fetch_all(&mut *conn).await?
        });
        found.extend(
            rows.into_iter().map(
                |(id, name, hour, duration_ms, trace_id, for_error, sampled)| StoredSlowest {
                    id,
                    project_id,
                    name,
                    hour,
                    duration_ms,
                    trace_id,
                    for_error,
                    sampled,
                },
            ),
        );
    }
    Ok(found)
}

/// Stores the bodies (a re-sent event id is kept once) and adds them to their projects' totals.
pub async fn insert_bodies(tx: &mut Tx, bodies: &[NewBody<'_>]) -> Result<(), StoreError> {
    let mut added: HashMap<ProjectId, Stored> = HashMap::new();
    for chunk in bodies.chunks(ROW_CHUNK) {
        let rows: Vec<(ProjectId, i64)> = on_tx!(tx, conn, Backend => {
            let mut qb = QueryBuilder::<Backend>::new(
                "INSERT INTO transaction_bodies (project_id, event_id, trace_id, name, op, status, environment, \
                 release, timestamp, hour, duration_ms, for_error, slowest, sampled, payload) ",
            );
            qb.push_values(chunk, |mut row, body| {
                row.push_bind(body.project_id)
                    .push_bind(body.event_id)
                    .push_bind(body.trace_id)
                    .push_bind(body.name)
                    .push_bind(body.op)
                    .push_bind(body.status)
                    .push_bind(body.environment)
                    .push_bind(body.release)
                    .push_bind(body.timestamp)
                    .push_bind(body.hour)
                    .push_bind(body.duration_ms)
                    .push_bind(body.reasons.for_error)
                    .push_bind(body.reasons.slowest)
                    .push_bind(body.reasons.sampled)
                    .push_bind(body.payload);
            });
            qb.push(
                " ON CONFLICT (project_id, event_id) DO NOTHING \
                 RETURNING project_id, CAST(LENGTH(payload) AS BIGINT)",
            );
            qb.build_query_as().fetch_all(&mut *conn).await?
        });
        for (project_id, bytes) in rows {
            let total = added.entry(project_id).or_default();
            total.events += 1;
            total.bytes += bytes;
        }
    }
    add_bodies(tx, &added).await
}

/// Bodies no longer among the slowest: kept with the reasons they have left, deleted when none is left.
pub async fn demote(tx: &mut Tx, displaced: &[(i64, KeepReasons)]) -> Result<(), StoreError> {
    let sql = "UPDATE transaction_bodies SET slowest = $1, for_error = $2, sampled = $3 WHERE id = $4";
    let mut gone = Vec::new();
    for &(id, reasons) in displaced {
        if !reasons.any() {
            gone.push(id);
            continue;
        }
        on_tx!(tx, conn, Backend => sqlx::query(sql)
            .bind(reasons.slowest)
            .bind(reasons.for_error)
            .bind(reasons.sampled)
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected());
    }
    delete_by_id(tx, &gone).await
}

async fn delete_by_id(tx: &mut Tx, ids: &[i64]) -> Result<(), StoreError> {
    for chunk in ids.chunks(TRACE_CHUNK) {
        let rows: Vec<(ProjectId, i64)> = on_tx!(tx, conn, Backend => {
            let mut qb = QueryBuilder::<Backend>::new("DELETE FROM transaction_bodies WHERE id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            qb.push(") RETURNING project_id, CAST(LENGTH(payload) AS BIGINT)");
            qb.build_query_as().fetch_all(&mut *conn).await?
        });
        release(tx, rows).await?;
    }
    Ok(())
}

/// Takes deleted bodies (`(project, payload bytes)` each) off their projects' totals; returns them summed.
async fn release(tx: &mut Tx, rows: Vec<(ProjectId, i64)>) -> Result<Stored, StoreError> {
    let mut per_project: HashMap<ProjectId, Stored> = HashMap::new();
    let mut all = Stored::default();
    for (project_id, bytes) in rows {
        let total = per_project.entry(project_id).or_default();
        total.events += 1;
        total.bytes += bytes;
        all.events += 1;
        all.bytes += bytes;
    }
    for (project_id, removed) in per_project {
        remove_bodies(tx, project_id, removed).await?;
    }
    Ok(all)
}

const BODY_COLUMNS: &str = "id, project_id, event_id, trace_id, name, op, status, timestamp, duration_ms, \
                            for_error, slowest, sampled, payload";

/// Up to `limit` kept bodies of a trace in any of the given projects, earliest end first.
pub async fn trace_bodies(
    db: &Db,
    project_ids: &[ProjectId],
    trace_id: &str,
    limit: i64,
) -> Result<Vec<StoredBody>, StoreError> {
    if project_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(on_pool!(db, pool => {
        let mut qb = QueryBuilder::new(format!("SELECT {BODY_COLUMNS} FROM transaction_bodies WHERE trace_id = "));
        qb.push_bind(trace_id).push(" AND project_id IN (");
        let mut list = qb.separated(", ");
        for id in project_ids {
            list.push_bind(*id);
        }
        qb.push(") ORDER BY timestamp, id LIMIT ").push_bind(limit);
        qb.build_query_as().fetch_all(pool).await?
    }))
}

/// A kept body as a transaction's page lists it, without its payload.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct BodySample {
    pub event_id: String,
    pub trace_id: String,
    pub op: String,
    pub status: String,
    pub timestamp: i64,
    pub duration_ms: f64,
    pub for_error: bool,
    pub slowest: bool,
    pub sampled: bool,
}

/// Up to `limit` of the kept bodies `filter` selects (by their end), slowest first.
pub async fn slowest_samples(db: &Db, filter: &RollupFilter<'_>, limit: i64) -> Result<Vec<BodySample>, StoreError> {
    let mut text = SqlText::default();
    text.push(
        "SELECT event_id, trace_id, op, status, timestamp, duration_ms, for_error, slowest, sampled \
         FROM transaction_bodies",
    );
    filter.push_where(&mut text, "", "timestamp");
    text.push(" ORDER BY duration_ms DESC, id LIMIT ")
        .bind(Param::Int(limit));
    let SqlText { sql, params } = text;
    Ok(on_pool!(db, pool => bind_params!(sqlx::query_as(&sql), params).fetch_all(pool).await?))
}

/// Deletes up to `limit` of the project's bodies that ended before `before_ms`, taking them off its
/// totals in the same transaction; returns how many.
pub async fn expire_bodies(db: &Db, project_id: ProjectId, before_ms: i64, limit: i64) -> Result<u64, StoreError> {
    let sql = "DELETE FROM transaction_bodies WHERE id IN (SELECT id FROM transaction_bodies \
               WHERE project_id = $1 AND timestamp < $2 ORDER BY timestamp LIMIT $3) \
               RETURNING project_id, CAST(LENGTH(payload) AS BIGINT)";
    let mut tx = Tx::begin(db).await?;
    let rows: Vec<(ProjectId, i64)> = on_tx!(&mut tx, conn, Backend => sqlx::query_as(sql)
        .bind(project_id)
        .bind(before_ms)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?);
    let removed = release(&mut tx, rows).await?;
    tx.commit().await?;
    Ok(removed.events as u64)
}

/// Deletes the `limit` oldest bodies of any project (the storage budget's first to go), taking them off
/// their projects' totals in the same transaction; returns how many and their payload bytes.
pub async fn evict_oldest(db: &Db, limit: i64) -> Result<Stored, StoreError> {
    let sql = "DELETE FROM transaction_bodies WHERE id IN \
               (SELECT id FROM transaction_bodies ORDER BY timestamp LIMIT $1) \
               RETURNING project_id, CAST(LENGTH(payload) AS BIGINT)";
    let mut tx = Tx::begin(db).await?;
    let rows: Vec<(ProjectId, i64)> = on_tx!(&mut tx, conn, Backend => sqlx::query_as(sql)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?);
    let removed = release(&mut tx, rows).await?;
    tx.commit().await?;
    Ok(removed)
}
