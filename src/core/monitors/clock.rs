//! The monitor clock: marks **missed** every expected time that passed its margin without a check-in, and
//! **timeout** every run still in progress past its longest runtime. One tick does a bounded amount; the
//! next goes on. Its state is the database's (`next_expected_at`, the runs in progress), so a restart
//! neither repeats nor skips a mark; each monitor is handled in a transaction holding its row, re-read
//! there, so two processes ticking at once cannot mark one time twice. The worker runs it under a lease
//! ([`CLOCK_LEASE`]) so that normally only one process ticks.

use crate::domain::monitors::{missed_slots, CheckInStatus};
use crate::domain::{MonitorId, Timestamp};
use crate::store::monitors::{self as store, NewCheckIn};
use crate::store::{StoreError, Tx};

use super::incidents::{finish, Finished, Queued};
use super::MonitorBook;

/// The lease's name.
pub const CLOCK_LEASE: &str = "monitor-clock";
/// Monitors (and runs) looked at per tick.
const PER_TICK: i64 = 200;
/// Missed times marked per monitor per tick (after a long stop the rest follow on the next ticks).
const SLOTS_PER_MONITOR: usize = 50;

/// What one tick marked.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ClockMarks {
    pub missed: usize,
    pub timed_out: usize,
}

/// One tick at `now`.
pub async fn run_clock_tick(book: &MonitorBook, now: Timestamp) -> Result<ClockMarks, StoreError> {
    let overdue = store::overdue(&book.db, now.as_millis(), PER_TICK).await?;
    let running_late = store::timed_out(&book.db, now.as_millis(), PER_TICK).await?;
    if overdue.is_empty() && running_late.is_empty() {
        return Ok(ClockMarks::default());
    }
    // Only now: an idle tick reads nothing more.
    let rules = book.rules.rules().await?;
    let mut marks = ClockMarks::default();
    let mut queued = Queued::default();
    for id in overdue {
        let (missed, q) = mark_missed(book, &rules, id, now.as_millis()).await?;
        marks.missed += missed;
        queued.add(q);
    }
    for (monitor_id, run_id) in running_late {
        if let Some(q) = mark_timeout(book, &rules, monitor_id, run_id, now.as_millis()).await? {
            marks.timed_out += 1;
            queued.add(q);
        }
    }
    if queued.any() {
        book.outbox_wake.notify_one();
    }
    Ok(marks)
}

async fn mark_missed(
    book: &MonitorBook,
    rules: &crate::domain::alerts::RuleSet,
    id: MonitorId,
    now: i64,
) -> Result<(usize, Queued), StoreError> {
    let mut tx = Tx::begin(&book.db).await?;
    let Some(mut monitor) = store::lock(&mut tx, id).await? else {
        return Ok((0, Queued::default()));
    };
    let config = monitor.config()?;
    let expected = Timestamp::from_millis(monitor.next_expected_at);
    let (slots, next) = missed_slots(expected, Timestamp::from_millis(now), &config, SLOTS_PER_MONITOR);
    let mut queued = Queued::default();
    for slot in &slots {
        // The mark's id is its expected time: the same time is never marked twice, whoever marks it.
        let check_in_id = format!("{:032x}", slot.as_millis());
        let new = NewCheckIn {
            monitor_id: id,
            check_in_id: &check_in_id,
            status: CheckInStatus::Missed.as_str(),
            environment: None,
            release: None,
            duration_ms: None,
            expected_at: Some(slot.as_millis()),
            timeout_at: None,
            at: now,
        };
        store::insert_check_in(&mut tx, &new).await?;
        monitor.next_expected_at = next.as_millis();
        let run = Finished {
            status: CheckInStatus::Missed,
            check_in_id: &check_in_id,
            environment: None,
            release: None,
            at: now,
        };
        queued.add(finish(&mut tx, rules, &mut monitor, &config, &run).await?);
    }
    if slots.is_empty() {
        return Ok((0, queued));
    }
    tx.commit().await?;
    Ok((slots.len(), queued))
}

async fn mark_timeout(
    book: &MonitorBook,
    rules: &crate::domain::alerts::RuleSet,
    monitor_id: MonitorId,
    run_id: i64,
    now: i64,
) -> Result<Option<Queued>, StoreError> {
    let mut tx = Tx::begin(&book.db).await?;
    let Some(mut monitor) = store::lock(&mut tx, monitor_id).await? else {
        return Ok(None);
    };
    let Some(run) = store::check_in_by_id(&mut tx, run_id).await? else {
        return Ok(None);
    };
    // Closed only if still in progress: a close that came meanwhile (or another process) wins.
    if !store::close_check_in(
        &mut tx,
        run_id,
        CheckInStatus::Timeout.as_str(),
        Some(now - run.created_at),
        now,
    )
    .await?
    {
        return Ok(None);
    }
    let config = monitor.config()?;
    let finished = Finished {
        status: CheckInStatus::Timeout,
        check_in_id: &run.check_in_id,
        environment: run.environment.as_deref(),
        release: run.release.as_deref(),
        at: now,
    };
    let queued = finish(&mut tx, rules, &mut monitor, &config, &finished).await?;
    tx.commit().await?;
    Ok(Some(queued))
}
