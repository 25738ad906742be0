//! Retention by age: each project keeps events for its retention (the server's default unless the project
//! sets its own); older events are expired, then the issues left with no events. Issues that keep events
//! keep their counters (times seen, users, tag and hour counts count every event ever accepted); issues
//! left without events go with their counters. One process at a time sweeps, under a lease.
//!
//! On Postgres a day whose events are past every project's retention is dropped as a whole partition;
//! what remains (projects with a shorter retention, the default partition) is deleted in chunks. Kept
//! transaction bodies expire after their own retention (`FAULTLINE_TRANSACTION_RETENTION_DAYS`, never
//! longer than their project's), in chunks too. The transaction rollups are folded from minutes into hours
//! after a day and deleted after the project's retention (`store::rollup_lifecycle`).

use crate::domain::artifacts::CHUNK_EXPIRY_MS;
use crate::domain::ids::ProjectId;
use crate::domain::performance::fold_before;
use crate::domain::sign_in_throttle;
use crate::store::issue_expiry::{self, IssueCounters};
use crate::store::partitions::{self, DAY_MS};
use crate::store::{
    artifacts, attachments, monitors, now_ms, release_health, retention, rollup_lifecycle, sign_in_failures,
    transaction_bodies, StoreError,
};

use std::time::Instant;

use crate::domain::chunking::ChunkSizer;

use super::storage::{chunk_sizer, pace_expiry, reclaim};
use super::Core;

/// Rows deleted per statement (on SQLite the first statement's; later ones are sized by time).
const CHUNK: i64 = 1_000;
/// Attachments deleted per statement (the first; later ones sized by time): each may carry megabytes.
const ATTACHMENT_CHUNK: i64 = 100;
/// Transaction names whose rollups are folded or expired per statement (the first; later ones sized by time).
const ROLLUP_NAMES: i64 = 20;
/// Emptied issues expired per step: marked in one statement, then their counters go in chunks of rows.
const ISSUE_BATCH: i64 = 200;
const LEASE_JOB: &str = "retention";
/// Postgres partitions are made this many days ahead of the clock.
const DAYS_AHEAD: i64 = 3;

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub events: u64,
    pub issues: u64,
    /// Whole days dropped (Postgres partitions).
    pub days: u64,
    /// Transaction bodies past their retention.
    pub bodies: u64,
    /// Attachments of expired events.
    pub attachments: u64,
    /// Source-map bundles past their retention (see `store::artifacts::expire_bundles`).
    pub bundles: u64,
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
    let retentions: Vec<_> = retention::project_retentions(&core.db)
        .await?
        .into_iter()
        .map(|(project_id, days)| (project_id, days.unwrap_or(default_days).max(1)))
        .collect();
    let longest = retentions.iter().map(|&(_, days)| days).max().unwrap_or(default_days);
    let mut swept = drop_expired_days(core, now, now - longest * DAY_MS).await?;
    let (mut events, mut ids, mut counters, mut bodies) = (
        chunk_sizer(core, CHUNK),
        chunk_sizer(core, CHUNK),
        chunk_sizer(core, CHUNK),
        chunk_sizer(core, CHUNK),
    );
    let mut files = chunk_sizer(core, ATTACHMENT_CHUNK);
    let mut rollups = chunk_sizer(core, ROLLUP_NAMES);
    for (project_id, days) in retentions {
        // Bodies keep their own, shorter retention, never longer than their project's events.
        let body_cutoff = now - days.min(core.bodies.retention_days.max(1)) * DAY_MS;
        swept.bodies += in_chunks(core, &mut bodies, |limit| {
            transaction_bodies::expire_bodies(&core.db, project_id, body_cutoff, limit)
        })
        .await?;
        let cutoff = now - days * DAY_MS;
        swept.events += in_chunks(core, &mut events, |limit| {
            retention::expire_events(&core.db, project_id, cutoff, limit)
        })
        .await?;
        in_chunks(core, &mut ids, |limit| {
            retention::expire_event_ids(&core.db, project_id, cutoff, limit)
        })
        .await?;
        // Attachments go with their events (by the event's time; a dropped day's too).
        swept.attachments += in_chunks(core, &mut files, |limit| {
            attachments::expire(&core.db, project_id, cutoff, limit)
        })
        .await?;
        expire_rollups(core, project_id, now, cutoff, &mut rollups).await?;
        // Source-map bundles: kept a retention past their upload, and past their release's last event.
        swept.bundles += in_chunks(core, &mut files, |limit| {
            artifacts::expire_bundles(&core.db, project_id, cutoff, limit)
        })
        .await?;
        // Release health: a few rows per release and hour (more with many distinct users), kept as long as
        // the project's events.
        release_health::expire(&core.db, project_id, cutoff).await?;
        // Cron check-ins and closed incidents, as long as the events (the monitors themselves stay).
        monitors::expire(&core.db, project_id, cutoff).await?;
        let events_done = started.elapsed().as_millis() as u64;
        let issues = expire_empty_issues(core, project_id, cutoff, &mut counters).await?;
        swept.issues += issues;
        if issues > 0 {
            let issues_ms = started.elapsed().as_millis() as u64 - events_done;
            tracing::info!(%project_id, events_done, issues, issues_ms, "retention expired a project's issues");
        }
    }
    // Chunks of an upload that never finished.
    artifacts::expire_chunks(&core.db, now - CHUNK_EXPIRY_MS).await?;
    // Failed sign-ins too old to slow anybody down.
    sign_in_failures::forget_older(&core.db, now - sign_in_throttle::MEMORY_MS).await?;
    if swept != Swept::default() {
        let reclaim_started = Instant::now();
        reclaim(core).await?;
        tracing::info!(
            reclaim_ms = reclaim_started.elapsed().as_millis() as u64,
            "retention gave the space back"
        );
        tracing::info!(
            events = swept.events,
            issues = swept.issues,
            days = swept.days,
            bodies = swept.bodies,
            attachments = swept.attachments,
            bundles = swept.bundles,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "retention expired old events"
        );
    }
    Ok(swept)
}

/// Folds the project's transaction rollups older than a day into hours and deletes those past `cutoff`
/// (the project's retention, as its events'), in chunks of names.
async fn expire_rollups(
    core: &Core,
    project_id: ProjectId,
    now: i64,
    cutoff: i64,
    names: &mut ChunkSizer,
) -> Result<(), StoreError> {
    in_chunks(core, names, |limit| {
        rollup_lifecycle::expire_rollups(&core.db, project_id, cutoff, limit)
    })
    .await?;
    in_chunks(core, names, |limit| {
        rollup_lifecycle::fold_minutes_into_hours(&core.db, project_id, fold_before(now), limit)
    })
    .await?;
    Ok(())
}

/// Makes the coming days' partitions and drops those wholly before `cutoff` (Postgres; nothing on SQLite).
async fn drop_expired_days(core: &Core, now: i64, cutoff: i64) -> Result<Swept, StoreError> {
    partitions::ensure(&core.db, now - DAY_MS, now + DAYS_AHEAD * DAY_MS).await?;
    let mut swept = Swept::default();
    for day in partitions::list(&core.db).await? {
        if day.end_ms() <= cutoff {
            swept.events += partitions::drop_day(&core.db, &day).await? as u64;
            swept.days += 1;
        }
    }
    Ok(swept)
}

/// Expires the project's issues left without events before `cutoff`, a batch at a time: marked, their
/// counters deleted in paced chunks of rows, then the issues themselves (see `store::issue_expiry`).
async fn expire_empty_issues(
    core: &Core,
    project_id: ProjectId,
    cutoff: i64,
    counters: &mut ChunkSizer,
) -> Result<u64, StoreError> {
    let mut expired = 0;
    loop {
        let batch = issue_expiry::mark_expired_issues(&core.db, project_id, cutoff, ISSUE_BATCH).await?;
        for table in IssueCounters::ALL {
            in_chunks(core, counters, |limit| {
                issue_expiry::delete_counters(&core.db, table, &batch, limit)
            })
            .await?;
        }
        expired += issue_expiry::delete_marked_issues(&core.db, &batch).await?;
        if (batch.len() as i64) < ISSUE_BATCH {
            return Ok(expired);
        }
        pace_expiry(core).await;
    }
}

/// Repeats a chunked delete (given its row limit), paced, until a chunk comes back short; returns the total.
async fn in_chunks<F, Fut>(core: &Core, chunks: &mut ChunkSizer, mut delete: F) -> Result<u64, StoreError>
where
    F: FnMut(i64) -> Fut,
    Fut: std::future::Future<Output = Result<u64, StoreError>>,
{
    let mut total = 0;
    loop {
        let limit = chunks.rows();
        let started = Instant::now();
        let deleted = delete(limit).await?;
        chunks.took(deleted, started.elapsed());
        total += deleted;
        if deleted < limit as u64 {
            return Ok(total);
        }
        pace_expiry(core).await;
    }
}
