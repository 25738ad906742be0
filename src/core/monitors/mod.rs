//! Cron monitors: check-ins recorded as SDKs send them (creating or updating the monitor from its
//! `monitor_config`), the clock that marks what did not come (`clock`), incidents (`incidents`), and the
//! monitors as the UI and Sentry's monitor API manage them (`manage`). Every change of a monitor happens in
//! one transaction holding its row: the check-in, the health, the failure's event and its alert fires.

mod clock;
mod incidents;
mod manage;

use std::sync::Arc;

use crate::domain::monitors::{CheckIn, CheckInStatus, MonitorConfig};
use crate::domain::{ProjectId, Timestamp};
use crate::store::monitors::{self as store, Monitor, MonitorState, NewCheckIn};
use crate::store::{Db, StoreError, Tx};

use super::RuleCache;
use incidents::{finish, health_label, Finished, Queued};

pub use clock::{run_clock_tick, ClockMarks, CLOCK_LEASE};
pub use manage::{check_ins, create, delete, get, incidents as monitor_incidents, list, update, MonitorView, RECENT};

/// What check-ins and the clock need: the database, the alert rules failures are evaluated against, and
/// the outbox worker's wake-up.
#[derive(Clone)]
pub struct MonitorBook {
    pub db: Db,
    pub rules: RuleCache,
    pub outbox_wake: Arc<tokio::sync::Notify>,
}

impl super::Core {
    pub fn monitor_book(&self) -> MonitorBook {
        MonitorBook {
            db: self.db.clone(),
            rules: self.rules.clone(),
            outbox_wake: self.outbox_wake.clone(),
        }
    }
}

/// Why a check-in was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum CheckInRefused {
    #[error("no monitor `{0}` exists in this project, and the check-in has no monitor_config to create it with")]
    UnknownMonitor(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What became of a check-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// A new run, or a run closed now.
    Stored,
    /// Its run was closed already (a re-send, or a close after the clock timed it out): nothing changed.
    AlreadyClosed,
}

/// Records one check-in, creating or updating its monitor when it carries a config, in one transaction.
pub async fn record_check_in(
    book: &MonitorBook,
    project_id: ProjectId,
    check_in: &CheckIn,
) -> Result<Recorded, CheckInRefused> {
    let rules = book.rules.rules().await?;
    let now = Timestamp::now().as_millis();
    let mut tx = Tx::begin(&book.db).await?;
    let mut monitor = monitor_for(&mut tx, project_id, check_in, now).await?;
    let config = monitor.config()?;
    let (recorded, queued) = apply_check_in(&mut tx, &rules, &mut monitor, &config, check_in, now).await?;
    tx.commit().await?;
    if queued.any() {
        book.outbox_wake.notify_one();
    }
    Ok(recorded)
}

/// The check-in's monitor, its row held: created or updated from the check-in's config when it has one.
async fn monitor_for(
    tx: &mut Tx,
    project_id: ProjectId,
    check_in: &CheckIn,
    now: i64,
) -> Result<Monitor, CheckInRefused> {
    let slug = &check_in.monitor_slug;
    let existing = store::lock_by_slug(tx, project_id, slug).await?;
    match (existing, &check_in.config) {
        (Some(monitor), None) => Ok(monitor),
        (Some(monitor), Some(config)) => {
            let next = next_expected(config, now);
            store::update_config(tx, monitor.id, &monitor.name, config, next).await?;
            Ok(store::lock(tx, monitor.id)
                .await?
                .ok_or(StoreError::NotFound("monitor".into()))?)
        }
        (None, Some(config)) => {
            store::insert(tx, project_id, slug, slug, config, (next_expected(config, now), now)).await?;
            Ok(store::lock_by_slug(tx, project_id, slug)
                .await?
                .ok_or(StoreError::NotFound("monitor".into()))?)
        }
        (None, None) => Err(CheckInRefused::UnknownMonitor(slug.clone())),
    }
}

/// When a run is next due after `at`; a schedule past the calendar is never due.
fn next_expected(config: &MonitorConfig, at: i64) -> i64 {
    config
        .next_after(Timestamp::from_millis(at))
        .map_or(i64::MAX / 2, Timestamp::as_millis)
}

async fn apply_check_in(
    tx: &mut Tx,
    rules: &crate::domain::alerts::RuleSet,
    monitor: &mut Monitor,
    config: &MonitorConfig,
    check_in: &CheckIn,
    now: i64,
) -> Result<(Recorded, Queued), StoreError> {
    let run = Finished {
        status: check_in.status,
        check_in_id: &check_in.check_in_id,
        environment: check_in.environment.as_deref(),
        release: check_in.release.as_deref(),
        at: now,
    };
    match store::find_check_in(tx, monitor.id, &check_in.check_in_id).await? {
        // A run closing: its duration is the SDK's, or the time since it started.
        Some(open) if check_in.status != CheckInStatus::InProgress => {
            let duration = check_in.duration_ms.or(Some(now - open.created_at));
            if !store::close_check_in(tx, open.id, check_in.status.as_str(), duration, now).await? {
                return Ok((Recorded::AlreadyClosed, Queued::default()));
            }
            Ok((Recorded::Stored, finish(tx, rules, monitor, config, &run).await?))
        }
        Some(_) => Ok((Recorded::AlreadyClosed, Queued::default())),
        None => {
            let running = check_in.status == CheckInStatus::InProgress;
            let new = NewCheckIn {
                monitor_id: monitor.id,
                check_in_id: &check_in.check_in_id,
                status: check_in.status.as_str(),
                environment: run.environment,
                release: run.release,
                duration_ms: check_in.duration_ms,
                expected_at: None,
                timeout_at: running.then(|| now + config.max_runtime_ms()),
                at: now,
            };
            store::insert_check_in(tx, &new).await?;
            // A new run answers the expected time: the next one is due after it.
            monitor.next_expected_at = next_expected(config, now);
            if running {
                let state = MonitorState {
                    health_label: health_label(CheckInStatus::InProgress),
                    health: monitor.health_state(),
                    next_expected_at: monitor.next_expected_at,
                    last_check_in_at: Some(now),
                };
                store::write_state(tx, monitor.id, &state).await?;
                return Ok((Recorded::Stored, Queued::default()));
            }
            Ok((Recorded::Stored, finish(tx, rules, monitor, config, &run).await?))
        }
    }
}
