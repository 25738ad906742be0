//! One transaction name's page: its figures over a period (every operation it ran under together), its
//! duration histogram, throughput and p95 per chart slot, the time its spans took per kind, the p75 of
//! each web vital its page loads measured, and its slowest kept bodies with the errors of their traces.
//! Everything comes from the rollups but the samples, which are the few bodies the sampling rules kept.

use std::collections::HashMap;

use crate::domain::performance::histogram::{percentile_per_slot, Histogram};
use crate::domain::performance::vitals::Vital;
use crate::domain::performance::KeepReasons;
use crate::domain::ProjectId;
use crate::store::events::{errors_of_traces, TraceErrorLink};
use crate::store::performance::{self as rollups, NameTotals, RollupFilter};
use crate::store::projects::list_organization_projects;
use crate::store::transaction_bodies::{slowest_samples, BodySample};
use crate::store::transaction_vitals::vital_buckets;

use super::performance::{PerformanceQuery, TransactionSummary};
use super::{Access, Core, CoreResult};

/// Slowest kept bodies listed.
const SAMPLES: i64 = 20;
/// Errors of the samples' traces read, all together.
const SAMPLE_ERRORS: i64 = 100;
/// An error counts for a sample's trace when it happened within this long of the sample (bounding the
/// look-up to a few days' partitions on Postgres), as the body store decides which to keep.
const ERROR_WINDOW_MS: i64 = 3_600_000;
/// Columns of the duration histogram at most.
const HISTOGRAM_COLUMNS: usize = 40;

/// A transaction name over a period, as its page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct TransactionDetail {
    /// The figures of every operation together (`op` lists them, comma-separated).
    pub summary: TransactionSummary,
    /// `(upper bound ms, transactions)`, shortest first, contiguous.
    pub histogram: Vec<(f64, i64)>,
    /// `(slot start, transactions)` of the slots with any.
    pub per_slot: Vec<(i64, i64)>,
    /// `(slot start, p95 ms)` of the slots with any, oldest first.
    pub p95_per_slot: Vec<(i64, f64)>,
    pub span_kinds: Vec<SpanKindTime>,
    /// Only the vitals measured in the period, in [`Vital::ALL`]'s order.
    pub vitals: Vec<VitalFigure>,
    pub samples: Vec<Sample>,
}

/// The time spans of one kind took.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanKindTime {
    pub kind: String,
    pub total_ms: f64,
    pub spans: i64,
    /// Of the transactions' total duration, 0 to 1 (overlapping kinds can add up past 1).
    pub share: f64,
    pub per_transaction_ms: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VitalFigure {
    pub vital: Vital,
    /// In the vital's own unit: milliseconds, or the CLS score.
    pub p75: f64,
    pub measured: i64,
}

/// A kept body of the transaction, and the errors of its trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub body: BodySample,
    pub reasons: KeepReasons,
    pub errors: Vec<TraceErrorLink>,
}

/// What the project's rollups and kept bodies hold of transaction `name` over the query's period.
pub async fn transaction_detail(
    core: &Core,
    access: &Access,
    query: &PerformanceQuery,
    name: &str,
) -> CoreResult<TransactionDetail> {
    let filter = query.rollups(Some(name));
    let slot_ms = query.period.slot_ms();
    let slot_buckets: Vec<(i64, usize, i64)> = rollups::bucket_slots(&core.db, &filter, slot_ms)
        .await?
        .into_iter()
        .map(|(slot, bucket, count)| (slot, bucket.max(0) as usize, count))
        .collect();
    let histogram = Histogram::from_counts(slot_buckets.iter().map(|&(_, bucket, count)| (bucket, count)));
    let summary = summary(core, &filter, name, &histogram).await?;
    let per_slot = rollups::name_slots(&core.db, &filter, slot_ms)
        .await?
        .into_iter()
        .map(|(_, _, slot, count)| (slot, count))
        .collect();
    let total_ms = summary.average_ms * summary.count as f64;
    Ok(TransactionDetail {
        histogram: histogram.columns(HISTOGRAM_COLUMNS),
        per_slot,
        p95_per_slot: percentile_per_slot(&slot_buckets, 0.95),
        span_kinds: span_kinds(core, &filter, total_ms, summary.count).await?,
        vitals: vitals(core, &filter).await?,
        samples: samples(core, access, &filter).await?,
        summary,
    })
}

/// Every operation's totals together, read with the name's whole histogram.
async fn summary(
    core: &Core,
    filter: &RollupFilter<'_>,
    name: &str,
    histogram: &Histogram,
) -> CoreResult<TransactionSummary> {
    let mut totals = NameTotals {
        name: name.to_owned(),
        op: String::new(),
        count: 0,
        failures: 0,
        duration_ms: 0.0,
    };
    let mut ops = Vec::new();
    for row in rollups::name_totals(&core.db, filter).await? {
        totals.count += row.count;
        totals.failures += row.failures;
        totals.duration_ms += row.duration_ms;
        ops.push(row.op);
    }
    ops.sort();
    totals.op = ops.join(", ");
    Ok(TransactionSummary::of(totals, histogram))
}

async fn span_kinds(
    core: &Core,
    filter: &RollupFilter<'_>,
    total_ms: f64,
    transactions: i64,
) -> CoreResult<Vec<SpanKindTime>> {
    let share = |ms: f64, of: f64| if of > 0.0 { ms / of } else { 0.0 };
    Ok(rollups::span_op_totals(&core.db, filter)
        .await?
        .into_iter()
        .map(|(kind, ms, spans)| SpanKindTime {
            share: share(ms, total_ms),
            per_transaction_ms: share(ms, transactions as f64),
            kind,
            total_ms: ms,
            spans,
        })
        .collect())
}

async fn vitals(core: &Core, filter: &RollupFilter<'_>) -> CoreResult<Vec<VitalFigure>> {
    let mut by_vital: HashMap<Vital, Vec<(usize, i64)>> = HashMap::new();
    for (measurement, bucket, count) in vital_buckets(&core.db, filter).await? {
        if let Some(vital) = Vital::from_key(&measurement) {
            by_vital.entry(vital).or_default().push((bucket.max(0) as usize, count));
        }
    }
    Ok(Vital::ALL
        .into_iter()
        .filter_map(|vital| {
            let histogram = Histogram::from_counts(by_vital.remove(&vital)?);
            Some(VitalFigure {
                vital,
                p75: vital.natural(histogram.percentile(0.75)?),
                measured: histogram.total(),
            })
        })
        .collect())
}

/// The slowest kept bodies, each with the errors of its trace in any of the organization's projects (a
/// browser's trace may have failed in the API's project).
async fn samples(core: &Core, access: &Access, filter: &RollupFilter<'_>) -> CoreResult<Vec<Sample>> {
    let bodies = slowest_samples(&core.db, filter, SAMPLES).await?;
    let mut traces: Vec<String> = bodies
        .iter()
        .map(|b| b.trace_id.clone())
        .filter(|t| !t.is_empty())
        .collect();
    traces.sort_unstable();
    traces.dedup();
    let mut errors: HashMap<String, Vec<TraceErrorLink>> = HashMap::new();
    if !traces.is_empty() {
        let projects = list_organization_projects(&core.db, &[access.organization.id]).await?;
        let ids: Vec<ProjectId> = projects.iter().map(|p| p.id).collect();
        let from = bodies
            .iter()
            .map(|b| b.timestamp - b.duration_ms as i64)
            .min()
            .unwrap_or_default();
        let to = bodies.iter().map(|b| b.timestamp).max().unwrap_or_default();
        let window = (from - ERROR_WINDOW_MS, to + ERROR_WINDOW_MS);
        for error in errors_of_traces(&core.db, &ids, &traces, window, SAMPLE_ERRORS).await? {
            errors.entry(error.trace_id.clone()).or_default().push(error);
        }
    }
    Ok(bodies
        .into_iter()
        .map(|body| Sample {
            reasons: KeepReasons {
                for_error: body.for_error,
                slowest: body.slowest,
                sampled: body.sampled,
            },
            errors: errors.get(&body.trace_id).cloned().unwrap_or_default(),
            body,
        })
        .collect())
}
