//! Performance monitoring's use cases: a batch of transactions folded and added to the rollups, with the
//! bodies the sampling rules keep, in one database transaction; and the Performance page's figures per
//! transaction name.

use std::collections::HashMap;

use crate::domain::performance::histogram::Histogram;
use crate::domain::performance::{Rollup, SamplingRules};
use crate::domain::ProjectId;
use crate::store::{performance, Db, StoreError, Tx};

use super::transaction_bodies::{keep_bodies, IncomingTransaction};

/// Apdex's threshold T (Sentry's default): satisfied up to T, tolerated up to 4T.
pub const APDEX_THRESHOLD_MS: f64 = 300.0;

/// Adds a batch of transactions to the rollups (every one counts) and stores the bodies `rules` keep,
/// all or nothing.
pub async fn record_transactions(
    db: &Db,
    batch: &[IncomingTransaction],
    rules: &SamplingRules,
) -> Result<(), StoreError> {
    let mut rollup = Rollup::default();
    for incoming in batch {
        rollup.add(incoming.project_id, &incoming.transaction);
    }
    let mut tx = Tx::begin(db).await?;
    performance::add_rollup(&mut tx, &rollup).await?;
    keep_bodies(&mut tx, batch, rules).await?;
    tx.commit().await
}

/// One transaction name's figures over a period.
#[derive(Debug, Clone, PartialEq)]
pub struct TransactionSummary {
    pub name: String,
    pub op: String,
    pub count: i64,
    pub failure_rate: f64,
    pub average_ms: f64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub apdex: Option<f64>,
}

/// The project's transactions since `since_ms` (optionally in one environment), busiest first.
pub async fn summaries(
    db: &Db,
    project_id: ProjectId,
    since_ms: i64,
    environment: Option<&str>,
) -> Result<Vec<TransactionSummary>, StoreError> {
    let totals = performance::name_totals(db, project_id, since_ms, environment).await?;
    let mut buckets: HashMap<(String, String), Vec<(usize, i64)>> = HashMap::new();
    for (name, op, bucket, count) in performance::name_buckets(db, project_id, since_ms, environment).await? {
        buckets
            .entry((name, op))
            .or_default()
            .push((bucket.max(0) as usize, count));
    }
    Ok(totals
        .into_iter()
        .map(|t| {
            let histogram = Histogram::from_counts(buckets.remove(&(t.name.clone(), t.op.clone())).unwrap_or_default());
            TransactionSummary {
                failure_rate: if t.count > 0 {
                    t.failures as f64 / t.count as f64
                } else {
                    0.0
                },
                average_ms: if t.count > 0 {
                    t.duration_ms / t.count as f64
                } else {
                    0.0
                },
                p50_ms: histogram.percentile(0.5),
                p95_ms: histogram.percentile(0.95),
                apdex: histogram.apdex(APDEX_THRESHOLD_MS),
                name: t.name,
                op: t.op,
                count: t.count,
            }
        })
        .collect())
}
