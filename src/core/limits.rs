//! Rate limits that hold across every Faultline process on one database: client keys' limits, projects'
//! daily quotas and spike protection. Ingest decides in memory (no database round trip per event) on the
//! shared total as of the last sync plus what this process admitted since; [`Limiter::sync`], run every
//! [`SYNC_EVERY`] by the worker, adds this process's admissions to `rate_counters` and reads the totals
//! back. So all processes together overshoot a limit by at most what the others admit in one sync
//! interval.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::domain::ids::ProjectId;
use crate::domain::limits::KeyRateLimit;
use crate::domain::quotas::{DailyQuota, SpikeRule, Tally, Window, DAY_MS, MINUTE_MS};
use crate::store::quotas::{accepted_since, add_counts, delete_ended_counters, CounterDelta};
use crate::store::{Db, StoreError};

/// How often the counts are shared: the bound on how stale another process's view is.
pub const SYNC_EVERY: Duration = Duration::from_millis(500);

/// Why a project's event was refused, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectLimited {
    /// The daily quota is spent until the next UTC midnight.
    Quota { retry_after_secs: u64 },
    /// Spike protection: this minute's allowance is spent.
    Spike { retry_after_secs: u64 },
}

type CounterKey = (String, Window);

#[derive(Default)]
struct State {
    tallies: HashMap<CounterKey, Tally>,
    /// Each project's accepted events over the last 24 hours, as of the last refresh.
    accepted_last_day: HashMap<ProjectId, u64>,
}

#[derive(Clone)]
pub struct Limiter {
    db: Db,
    spike: Option<SpikeRule>,
    state: Arc<Mutex<State>>,
}

impl Limiter {
    pub fn new(db: Db, spike: Option<SpikeRule>) -> Limiter {
        Limiter {
            db,
            spike,
            state: Arc::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes one event from the key's window; `Err(seconds to wait)` when the window is spent.
    pub fn take_key(&self, key_id: i64, limit: KeyRateLimit, now_ms: i64) -> Result<(), u64> {
        let window = Window::at(now_ms, i64::from(limit.window) * 1000);
        let mut state = self.state();
        let tally = state.tallies.entry((format!("key:{key_id}"), window)).or_default();
        if tally.take(u64::from(limit.count)) {
            Ok(())
        } else {
            Err(window.retry_after_secs(now_ms))
        }
    }

    /// Takes one event from the project's daily quota and its spike allowance, or from neither when one of
    /// them is spent (an event refused by spike protection does not use up the day's quota).
    pub fn take_project(
        &self,
        project_id: ProjectId,
        quota: Option<DailyQuota>,
        now_ms: i64,
    ) -> Result<(), ProjectLimited> {
        let mut state = self.state();
        let day = quota.map(|q| ((format!("day:{project_id}"), Window::at(now_ms, DAY_MS)), q.0));
        let minute = self.spike.map(|rule| {
            let usual = state.accepted_last_day.get(&project_id).copied().unwrap_or(0);
            let key = (format!("minute:{project_id}"), Window::at(now_ms, MINUTE_MS));
            (key, rule.allowance(usual))
        });
        if let Some((key, limit)) = &day {
            if !state.tallies.entry(key.clone()).or_default().has_room(*limit) {
                let retry_after_secs = key.1.retry_after_secs(now_ms);
                return Err(ProjectLimited::Quota { retry_after_secs });
            }
        }
        if let Some((key, limit)) = &minute {
            if !state.tallies.entry(key.clone()).or_default().take(*limit) {
                let retry_after_secs = key.1.retry_after_secs(now_ms);
                return Err(ProjectLimited::Spike { retry_after_secs });
            }
        }
        if let Some((key, limit)) = day {
            state.tallies.entry(key).or_default().take(limit);
        }
        Ok(())
    }

    /// Shares this process's counts: adds what it admitted since the last sync to the shared counters and
    /// reads their totals back. Counters of ended windows are forgotten once flushed. On failure the counts
    /// wait for the next sync (and decisions go on from what is known).
    pub async fn sync(&self, now_ms: i64) -> Result<(), StoreError> {
        let mut deltas: Vec<CounterDelta> = {
            let mut state = self.state();
            let tallies = state.tallies.iter_mut();
            tallies
                .map(|((scope, window), tally)| CounterDelta {
                    scope: scope.clone(),
                    window: *window,
                    delta: tally.begin_sync(),
                })
                .collect()
        };
        // One order for every process, so concurrent transactions never wait on each other in a cycle.
        deltas.sort_by(|a, b| (&a.scope, a.window).cmp(&(&b.scope, b.window)));
        let result = add_counts(&self.db, &deltas).await;
        let mut state = self.state();
        for (i, counter) in deltas.into_iter().enumerate() {
            let key = (counter.scope, counter.window);
            let Some(tally) = state.tallies.get_mut(&key) else {
                continue;
            };
            match &result {
                Ok(totals) => tally.synced_to(totals[i]),
                Err(_) => tally.sync_failed(),
            }
            if result.is_ok() && key.1.end_ms <= now_ms && tally.unflushed == 0 {
                state.tallies.remove(&key);
            }
        }
        result.map(|_| ())
    }

    /// Reads each project's accepted events of the last 24 hours (the usual rate spike protection allows a
    /// multiple of), and deletes the shared counters of windows that ended a while ago.
    pub async fn refresh(&self, now_ms: i64) -> Result<(), StoreError> {
        let this_hour = now_ms - now_ms.rem_euclid(3_600_000);
        let accepted = accepted_since(&self.db, this_hour - DAY_MS + 3_600_000).await?;
        self.state().accepted_last_day = accepted
            .into_iter()
            .map(|(project, count)| (project, count.max(0) as u64))
            .collect();
        // A minute's grace, so a process whose clock is a little behind still finds the row it adds to.
        delete_ended_counters(&self.db, now_ms - MINUTE_MS).await?;
        Ok(())
    }
}
