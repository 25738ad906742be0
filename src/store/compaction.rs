//! Rebuilding Postgres indexes that deletes and updates left mostly empty (which ones: `domain::compaction`).
//! SQLite needs none of this: it has no separate index files to bloat, and freed pages go back through
//! incremental vacuum.

use crate::domain::compaction::IndexSize;

use super::{Db, StoreError};

/// Every valid index of this schema's tables with its size and its table's live rows; none on SQLite.
pub async fn index_sizes(db: &Db) -> Result<Vec<IndexSize>, StoreError> {
    let Db::Postgres(pool) = db else { return Ok(Vec::new()) };
    let sql = "SELECT i.relname, pg_relation_size(i.oid), CAST(t.reltuples AS DOUBLE PRECISION) \
               FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
               JOIN pg_namespace n ON n.oid = i.relnamespace \
               WHERE n.nspname = current_schema() AND i.relkind = 'i' AND x.indisvalid";
    let rows: Vec<(String, i64, f64)> = sqlx::query_as(sql).fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(|(name, bytes, rows)| IndexSize { name, bytes, rows })
        .collect())
}

/// Rebuilds one index without blocking writers. A rebuild cut short (a restart) leaves an invalid copy
/// behind, named `…_ccnew` or `…_ccold`; those are dropped first, as they take space and serve nothing.
pub async fn rebuild_index(db: &Db, name: &str) -> Result<(), StoreError> {
    let Db::Postgres(pool) = db else { return Ok(()) };
    let leftovers = "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
                     JOIN pg_namespace n ON n.oid = i.relnamespace \
                     WHERE n.nspname = current_schema() AND NOT x.indisvalid \
                     AND (i.relname LIKE '%\\_ccnew%' OR i.relname LIKE '%\\_ccold%')";
    let invalid: Vec<String> = sqlx::query_scalar(leftovers).fetch_all(pool).await?;
    for index in invalid {
        let drop = format!("DROP INDEX CONCURRENTLY IF EXISTS {}", quoted(&index));
        sqlx::query(&drop).execute(pool).await?;
    }
    let rebuild = format!("REINDEX INDEX CONCURRENTLY {}", quoted(name));
    sqlx::query(&rebuild).execute(pool).await?;
    Ok(())
}

/// A catalog name as an SQL identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
