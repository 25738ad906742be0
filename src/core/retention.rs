//! Retention by age: each project keeps events for its retention (the server's default unless the project
//! sets its own); older events are expired, then the issues left with no event. Issues that keep events
//! keep their counters (times seen, users, tag and hour counts count every event ever accepted); issues
//! left without events go with their counters. One process at a time sweeps, under a lease.

use crate::store::{now_ms, retention, StoreError};

use super::Core;

const DAY_MS: i64 = 24 * 3_600_000;
/// Events deleted per statement: small enough that a sweep never holds the write lock for long.
const CHUNK: i64 = 5_000;
const LEASE_JOB: &str = "retention";

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub events: u64,
    pub issues: u64,
}

/// Runs one sweep if this process holds the retention lease (taken for `lease_ms`); `None` when another
/// process holds it.
#[tracing::instrument(skip(core))]
pub async fn sweep_if_leader(
    core: &Core,
    holder: &str,
    default_days: i64,
    lease_ms: i64,
) -> Result<Option<Swept>, StoreError> {
    let now = now_ms();
    if !retention::take_lease(&core.db, LEASE_JOB, holder, now, now + lease_ms).await? {
        return Ok(None);
    }
    sweep(core, default_days, now).await.map(Some)
}

/// Expires everything older than each project's retention, as of `now`.
pub async fn sweep(core: &Core, default_days: i64, now: i64) -> Result<Swept, StoreError> {
    let started = std::time::Instant::now();
    let mut swept = Swept::default();
    for (project_id, days) in retention::project_retentions(&core.db).await? {
        let cutoff = now - days.unwrap_or(default_days).max(1) * DAY_MS;
        loop {
            let deleted = retention::expire_events(&core.db, project_id, cutoff, CHUNK).await?;
            swept.events += deleted;
            if deleted < CHUNK as u64 {
                break;
            }
        }
        swept.issues += retention::expire_empty_issues(&core.db, project_id, cutoff).await?;
    }
    if swept.events > 0 || swept.issues > 0 {
        tracing::info!(
            events = swept.events,
            issues = swept.issues,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "retention expired old events"
        );
    }
    Ok(swept)
}
