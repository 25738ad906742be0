//! The transaction rollups' own lifecycle: minutes older than a day are folded into their hour (the row at
//! the hour's start takes the sums, the other 59 go), and rows older than the project's retention are
//! deleted. Both in chunks of transaction names, each chunk one short transaction, so ingest's writer
//! never waits long behind them. Names themselves stay: one small row per name, operation, environment
//! and release, which a batch being written may be about to reference.

use crate::domain::performance::HOUR_MS;
use crate::domain::ProjectId;

use super::{on_tx, Db, StoreError, Tx};

/// The rollup tables, each with its key columns beyond `(name_id, minute)` and the columns it sums.
const TABLES: [RollupTable; 4] = [
    RollupTable {
        name: "transaction_minutes",
        keys: "",
        sums: &["count", "failures", "duration_ms"],
    },
    RollupTable {
        name: "transaction_buckets",
        keys: ", bucket",
        sums: &["count"],
    },
    RollupTable {
        name: "transaction_span_ops",
        keys: ", kind",
        sums: &["duration_ms", "spans"],
    },
    RollupTable {
        name: "transaction_vitals",
        keys: ", measurement, bucket",
        sums: &["count"],
    },
];

struct RollupTable {
    name: &'static str,
    /// Further key columns, each preceded by a comma.
    keys: &'static str,
    sums: &'static [&'static str],
}

impl RollupTable {
    /// Adds every minute row of the `names` (a list of ids) before `$1` that is not at an hour's start into
    /// the row at its hour's start.
    fn fold_sql(&self, names: &str) -> String {
        let (table, keys) = (self.name, self.keys);
        let sums: Vec<String> = self.sums.iter().map(|c| format!("SUM({c})")).collect();
        let updates: Vec<String> = self
            .sums
            .iter()
            .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
            .collect();
        format!(
            "INSERT INTO {table} (name_id, minute{keys}, {cols}) \
             SELECT name_id, minute - minute % {HOUR_MS} AS hour{keys}, {sums} FROM {table} \
             WHERE name_id IN ({names}) AND minute < $1 AND minute % {HOUR_MS} <> 0 \
             GROUP BY name_id, minute - minute % {HOUR_MS}{keys} \
             ON CONFLICT (name_id, minute{keys}) DO UPDATE SET {updates}",
            cols = self.sums.join(", "),
            sums = sums.join(", "),
            updates = updates.join(", "),
        )
    }

    fn delete_folded_sql(&self, names: &str) -> String {
        format!(
            "DELETE FROM {} WHERE name_id IN ({names}) AND minute < $1 AND minute % {HOUR_MS} <> 0",
            self.name
        )
    }

    fn delete_expired_sql(&self, names: &str) -> String {
        format!("DELETE FROM {} WHERE name_id IN ({names}) AND minute < $1", self.name)
    }
}

/// Up to `$3` of the project's (`$1`) names that still have minutes before `$2` which are not hour starts.
fn names_to_fold() -> String {
    format!(
        "SELECT id FROM transaction_names n WHERE project_id = $1 AND EXISTS \
         (SELECT 1 FROM transaction_minutes m WHERE m.name_id = n.id AND m.minute < $2 AND m.minute % {HOUR_MS} <> 0) \
         ORDER BY id LIMIT $3"
    )
}

/// Up to `$3` of the project's (`$1`) names that have rollup rows before `$2`.
const NAMES_TO_EXPIRE: &str = "SELECT id FROM transaction_names n WHERE project_id = $1 AND EXISTS \
    (SELECT 1 FROM transaction_minutes m WHERE m.name_id = n.id AND m.minute < $2) ORDER BY id LIMIT $3";

/// Folds the minutes before `before_ms` (an hour's start) of up to `limit` of the project's names into
/// hours, every table in one transaction; returns how many names it folded.
pub async fn fold_minutes_into_hours(
    db: &Db,
    project_id: ProjectId,
    before_ms: i64,
    limit: i64,
) -> Result<u64, StoreError> {
    debug_assert_eq!(before_ms % HOUR_MS, 0, "folding stops at an hour's start");
    let statements = |names: &str| {
        TABLES
            .iter()
            .flat_map(|t| [t.fold_sql(names), t.delete_folded_sql(names)])
            .collect()
    };
    for_some_names(db, (project_id, before_ms, limit), &names_to_fold(), statements).await
}

/// Deletes the rollup rows before `before_ms` of up to `limit` of the project's names; returns how many names.
pub async fn expire_rollups(db: &Db, project_id: ProjectId, before_ms: i64, limit: i64) -> Result<u64, StoreError> {
    // Minutes last: names are picked by their minutes, so every table of a picked name is cleared.
    let statements = |names: &str| TABLES.iter().rev().map(|t| t.delete_expired_sql(names)).collect();
    for_some_names(db, (project_id, before_ms, limit), NAMES_TO_EXPIRE, statements).await
}

/// Picks up to `limit` names with `pick` (binding the project, `before_ms` and `limit`), then runs the
/// `statements` made for them (binding `before_ms`), in one transaction; returns how many names.
async fn for_some_names(
    db: &Db,
    (project_id, before_ms, limit): (ProjectId, i64, i64),
    pick: &str,
    statements: impl Fn(&str) -> Vec<String>,
) -> Result<u64, StoreError> {
    let mut tx = Tx::begin(db).await?;
    let names: Vec<i64> = on_tx!(&mut tx, conn, Backend => sqlx::query_scalar(pick)
        .bind(project_id)
        .bind(before_ms)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?);
    if names.is_empty() {
        return Ok(0);
    }
    // The ids are this database's own integers, written out rather than bound: a list of binds would make
    // a new statement text per chunk size anyway.
    let list = names.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    for sql in statements(&list) {
        on_tx!(&mut tx, conn, Backend => sqlx::query(&sql).bind(before_ms).execute(&mut *conn).await?.rows_affected());
    }
    tx.commit().await?;
    Ok(names.len() as u64)
}
