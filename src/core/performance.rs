//! Performance monitoring's use cases: a batch of transactions folded and added to the rollups, with the
//! bodies the sampling rules keep, in one database transaction; and the Performance page's figures per
//! transaction name, with each name's throughput per chart slot. A transaction's own page is
//! `transaction_detail`.

use std::collections::HashMap;

use crate::domain::performance::histogram::Histogram;
use crate::domain::performance::window::Period;
use crate::domain::performance::{Rollup, SamplingRules};
use crate::domain::ProjectId;
use crate::store::performance::{self, NameTotals, RollupFilter};
use crate::store::{Db, StoreError, Tx};

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

/// What a Performance page asks for: a project's transactions over a period ending now, optionally in one
/// environment and one release.
#[derive(Debug, Clone, PartialEq)]
pub struct PerformanceQuery {
    pub project_id: ProjectId,
    pub period: Period,
    pub now_ms: i64,
    pub environment: Option<String>,
    pub release: Option<String>,
}

impl PerformanceQuery {
    /// The rollups it reads, of every name or of one.
    pub(crate) fn rollups<'a>(&'a self, name: Option<&'a str>) -> RollupFilter<'a> {
        RollupFilter {
            project_id: self.project_id,
            since_ms: self.period.since_ms(self.now_ms),
            name,
            environment: self.environment.as_deref(),
            release: self.release.as_deref(),
        }
    }
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
    pub p75_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub apdex: Option<f64>,
}

impl TransactionSummary {
    /// The figures of `totals`, percentiles and Apdex read from its duration histogram.
    pub(crate) fn of(totals: NameTotals, histogram: &Histogram) -> TransactionSummary {
        let per_transaction = |value: f64| {
            if totals.count > 0 {
                value / totals.count as f64
            } else {
                0.0
            }
        };
        TransactionSummary {
            failure_rate: per_transaction(totals.failures as f64),
            average_ms: per_transaction(totals.duration_ms),
            p50_ms: histogram.percentile(0.5),
            p75_ms: histogram.percentile(0.75),
            p95_ms: histogram.percentile(0.95),
            p99_ms: histogram.percentile(0.99),
            apdex: histogram.apdex(APDEX_THRESHOLD_MS),
            name: totals.name,
            op: totals.op,
            count: totals.count,
        }
    }
}

/// A transaction name as the Performance page lists it: its figures and its throughput per slot.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedTransaction {
    pub summary: TransactionSummary,
    /// `(slot start, transactions)` for the slots with any, in no order.
    pub per_slot: Vec<(i64, i64)>,
}

/// The project's transactions since `since_ms` (optionally in one environment), busiest first.
pub async fn summaries(
    db: &Db,
    project_id: ProjectId,
    since_ms: i64,
    environment: Option<&str>,
) -> Result<Vec<TransactionSummary>, StoreError> {
    let filter = RollupFilter {
        project_id,
        since_ms,
        name: None,
        environment,
        release: None,
    };
    summarize(db, &filter).await
}

/// The figures of every name and operation `filter` selects, busiest first.
async fn summarize(db: &Db, filter: &RollupFilter<'_>) -> Result<Vec<TransactionSummary>, StoreError> {
    let totals = performance::name_totals(db, filter).await?;
    let mut buckets: HashMap<(String, String), Vec<(usize, i64)>> = HashMap::new();
    for (name, op, bucket, count) in performance::name_buckets(db, filter).await? {
        buckets
            .entry((name, op))
            .or_default()
            .push((bucket.max(0) as usize, count));
    }
    Ok(totals
        .into_iter()
        .map(|t| {
            let counts = buckets.remove(&(t.name.clone(), t.op.clone())).unwrap_or_default();
            TransactionSummary::of(t, &Histogram::from_counts(counts))
        })
        .collect())
}

/// The Performance page's list: every name and operation over the query's period, busiest first, each
/// with its throughput per slot of the period.
pub async fn list_transactions(db: &Db, query: &PerformanceQuery) -> Result<Vec<ListedTransaction>, StoreError> {
    let filter = query.rollups(None);
    let summaries = summarize(db, &filter).await?;
    let mut slots: HashMap<(String, String), Vec<(i64, i64)>> = HashMap::new();
    for (name, op, slot, count) in performance::name_slots(db, &filter, query.period.slot_ms()).await? {
        slots.entry((name, op)).or_default().push((slot, count));
    }
    Ok(summaries
        .into_iter()
        .map(|summary| ListedTransaction {
            per_slot: slots
                .remove(&(summary.name.clone(), summary.op.clone()))
                .unwrap_or_default(),
            summary,
        })
        .collect())
}
