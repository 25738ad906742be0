//! Web vitals rollups (`transaction_vitals`): a batch's measured page loads per transaction name, minute,
//! vital and histogram bucket, added in the writer's transaction beside the other rollups, and read back
//! as counts per vital and bucket for a transaction's page.

use std::collections::HashMap;

use sqlx::QueryBuilder;

use crate::domain::performance::{Rollup, RollupKey};

use super::paging::{bind_params, SqlText};
use super::performance::{id_of, RollupFilter, ROW_CHUNK};
use super::{on_pool, on_tx, Db, StoreError, Tx};

/// Adds the batch's vitals, inside the caller's transaction (`ids`: every key's transaction name id).
pub(super) async fn add_vitals(tx: &mut Tx, rollup: &Rollup, ids: &HashMap<RollupKey, i64>) -> Result<(), StoreError> {
    let rows = rollup
        .vitals
        .iter()
        .map(|((key, minute, vital, bucket), count)| {
            Ok((id_of(ids, key)?, *minute, vital.key(), *bucket as i32, *count))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    for chunk in rows.chunks(ROW_CHUNK) {
        on_tx!(tx, conn, Backend => {
            let mut qb = QueryBuilder::<Backend>::new(
                "INSERT INTO transaction_vitals (name_id, minute, measurement, bucket, count) ",
            );
            qb.push_values(chunk, |mut row, (id, minute, measurement, bucket, count)| {
                row.push_bind(*id)
                    .push_bind(*minute)
                    .push_bind(*measurement)
                    .push_bind(*bucket)
                    .push_bind(*count);
            });
            qb.push(
                " ON CONFLICT (name_id, minute, measurement, bucket) DO UPDATE SET \
                 count = transaction_vitals.count + excluded.count",
            );
            qb.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}

/// `(measurement, bucket, count)`: each vital's histogram over the rollups `filter` selects.
pub async fn vital_buckets(db: &Db, filter: &RollupFilter<'_>) -> Result<Vec<(String, i32, i64)>, StoreError> {
    let mut text = SqlText::default();
    text.push(
        "SELECT v.measurement, v.bucket, CAST(SUM(v.count) AS BIGINT) \
         FROM transaction_names n JOIN transaction_vitals v ON v.name_id = n.id",
    );
    filter.push_where(&mut text, "n.", "v.minute");
    text.push(" GROUP BY v.measurement, v.bucket");
    let SqlText { sql, params } = text;
    Ok(on_pool!(db, pool => bind_params!(sqlx::query_as(&sql), params).fetch_all(pool).await?))
}
