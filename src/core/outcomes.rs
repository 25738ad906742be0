//! Counting outcomes without a database round trip per request: ingest records into an in-memory log,
//! which the outcome worker writes out every second (and once more at shutdown) in one transaction. A
//! failed write keeps the counts for the next one. These are statistics, not events: a crash loses at most
//! the last second of counts, never an acknowledged event.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::domain::accounts::Scope;
use crate::domain::ids::ProjectId;
use crate::domain::outcomes::{group_sums, Category, GroupBy, Outcome, OutcomeStats, SumRow};
use crate::store::outcomes::{add_outcomes, outcome_sums, OutcomeKey};
use crate::store::{Db, StoreError};

use super::{Access, Core, CoreError, CoreResult};

pub const HOUR_MS: i64 = 3_600_000;
/// Bounds the log when the database stays unreachable: beyond this many distinct counters, new ones are
/// dropped (and said so in the log) rather than growing without end.
const MAX_PENDING: usize = 100_000;

#[derive(Clone, Default)]
pub struct OutcomeLog {
    pending: Arc<Mutex<HashMap<OutcomeKey, i64>>>,
}

/// Where an outcome happened.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    pub project_id: ProjectId,
    /// 0 when no key is known.
    pub key_id: i64,
    pub at_ms: i64,
}

impl OutcomeLog {
    pub fn record(&self, origin: Origin, category: Category, outcome: Outcome, reason: &str, quantity: u64) {
        if quantity == 0 {
            return;
        }
        let key = OutcomeKey {
            project_id: origin.project_id,
            key_id: origin.key_id,
            category: category.as_str(),
            outcome: outcome.as_str(),
            reason: reason.to_owned(),
            hour: origin.at_ms.div_euclid(HOUR_MS) * HOUR_MS,
        };
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let full = pending.len() >= MAX_PENDING;
        match pending.get_mut(&key) {
            Some(total) => *total += quantity as i64,
            None if !full => {
                pending.insert(key, quantity as i64);
            }
            None => tracing::warn!("outcome log full; an outcome counter was dropped"),
        }
    }

    /// Writes what was recorded since the last flush; on failure the counts stay for the next one.
    pub async fn flush(&self, db: &Db) -> Result<usize, StoreError> {
        let taken: Vec<(OutcomeKey, i64)> = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.drain().collect()
        };
        if taken.is_empty() {
            return Ok(0);
        }
        match add_outcomes(db, &taken).await {
            Ok(()) => Ok(taken.len()),
            Err(error) => {
                let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
                for (key, quantity) in taken {
                    *pending.entry(key).or_default() += quantity;
                }
                Err(error)
            }
        }
    }
}

/// What to sum: the window `[start, end)` (hour-aligned), its interval, the grouping and the filters
/// (empty filters keep everything).
#[derive(Debug, Clone, Default)]
pub struct StatsQuery {
    pub start: i64,
    pub end: i64,
    pub interval_ms: i64,
    pub group_by: Vec<GroupBy>,
    pub projects: Vec<i64>,
    pub categories: Vec<String>,
    pub outcomes: Vec<String>,
}

/// The organization's outcome sums, grouped (`org:read`).
#[tracing::instrument(skip(core, access, query), fields(organization = access.organization.id.get()))]
pub async fn stats(core: &Core, access: &Access, query: &StatsQuery) -> CoreResult<OutcomeStats> {
    access.require(Scope::OrgRead)?;
    if query.interval_ms < HOUR_MS || query.interval_ms % HOUR_MS != 0 || query.end <= query.start {
        return Err(CoreError::invalid(
            "the interval must be whole hours within a non-empty period",
        ));
    }
    let intervals = (query.end - query.start) / query.interval_ms;
    if intervals > MAX_INTERVALS {
        return Err(CoreError::Invalid(format!(
            "at most {MAX_INTERVALS} intervals; choose a longer interval or a shorter period"
        )));
    }
    let sums = outcome_sums(
        &core.db,
        access.organization.id,
        query.start,
        query.end,
        query.interval_ms,
    )
    .await?;
    let keep = |list: &[String], value: &str| list.is_empty() || list.iter().any(|v| v == value);
    let rows: Vec<SumRow> = sums
        .into_iter()
        .filter(|s| query.projects.is_empty() || query.projects.contains(&s.project_id))
        .filter(|s| keep(&query.categories, &s.category) && keep(&query.outcomes, &s.outcome))
        .map(|s| SumRow {
            bucket: s.bucket,
            project_id: s.project_id,
            category: s.category,
            outcome: s.outcome,
            reason: s.reason,
            quantity: s.quantity,
        })
        .collect();
    Ok(group_sums(
        &rows,
        &query.group_by,
        query.start,
        query.end,
        query.interval_ms,
    ))
}

/// Bounds one answer: 90 days of hours is 2,160.
const MAX_INTERVALS: i64 = 2_200;
