//! Outcome counters: what became of what SDKs sent, per project, key, category, outcome, reason and hour.
//! Written in batches (the outcome log flushes every second); read as sums over a period for the Stats page
//! and `stats_v2`.

use sqlx::QueryBuilder;

use crate::domain::ids::{OrganizationId, ProjectId};

use super::{on_pool, on_tx, Db, StoreError, Tx};

/// One counter row and how much to add to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OutcomeKey {
    pub project_id: ProjectId,
    /// 0 when no key is known.
    pub key_id: i64,
    pub category: &'static str,
    pub outcome: &'static str,
    pub reason: String,
    /// Epoch ms of the hour's start.
    pub hour: i64,
}

const ROW_CHUNK: usize = 500;

/// Adds the quantities to their counters in one transaction. Rows of a project deleted meanwhile are
/// dropped with it (the foreign key would refuse them).
pub async fn add_outcomes(db: &Db, rows: &[(OutcomeKey, i64)]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut tx = Tx::begin(db).await?;
    for chunk in rows.chunks(ROW_CHUNK) {
        on_tx!(&mut tx, conn, Backend => {
            let mut qb = QueryBuilder::<Backend>::new(
                "INSERT INTO outcomes (project_id, key_id, category, outcome, reason, hour, quantity) ",
            );
            qb.push_values(chunk, |mut row, (key, quantity)| {
                row.push_bind(key.project_id)
                    .push_bind(key.key_id)
                    .push_bind(key.category)
                    .push_bind(key.outcome)
                    .push_bind(&key.reason)
                    .push_bind(key.hour)
                    .push_bind(*quantity);
            });
            qb.push(
                " ON CONFLICT (project_id, key_id, category, outcome, reason, hour) DO UPDATE SET \
                 quantity = outcomes.quantity + excluded.quantity",
            );
            qb.build().execute(&mut *conn).await?;
        });
    }
    tx.commit().await
}

/// One summed row of [`outcome_sums`]: the bucket's start (epoch ms), and the group's values.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OutcomeSum {
    pub bucket: i64,
    pub project_id: i64,
    pub category: String,
    pub outcome: String,
    pub reason: String,
    pub quantity: i64,
}

/// Sums per bucket of `bucket_ms` (a multiple of an hour), project, category, outcome and reason over
/// `[since, until)`, for the organization's projects.
pub async fn outcome_sums(
    db: &Db,
    organization_id: OrganizationId,
    since: i64,
    until: i64,
    bucket_ms: i64,
) -> Result<Vec<OutcomeSum>, StoreError> {
    let sql = "SELECT (o.hour - ((o.hour - $1) % $2)) AS bucket, o.project_id, o.category, o.outcome, o.reason, \
               CAST(SUM(o.quantity) AS BIGINT) AS quantity \
               FROM outcomes o JOIN projects p ON p.id = o.project_id \
               WHERE p.organization_id = $3 AND o.hour >= $1 AND o.hour < $4 \
               GROUP BY 1, o.project_id, o.category, o.outcome, o.reason ORDER BY 1";
    Ok(on_pool!(db, pool => sqlx::query_as(sql)
        .bind(since)
        .bind(bucket_ms)
        .bind(organization_id)
        .bind(until)
        .fetch_all(pool)
        .await?))
}
