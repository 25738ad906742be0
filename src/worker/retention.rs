//! The data lifecycle's clock: checks the storage budget every couple of seconds (a cheap read of the
//! stored totals; eviction only when over it) and sweeps retention every few minutes, each in whichever
//! process holds that job's lease.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::core::retention::sweep_if_leader;
use crate::core::{storage, Core};
use crate::domain::compaction::IndexBaselines;
use crate::store::retention;
use crate::telemetry::Metrics;

/// How often the storage budget is checked: at 1,000 events/s a few MB arrive between two checks.
const BUDGET_EVERY: Duration = Duration::from_secs(2);
/// How often Postgres's counter tables are vacuumed (and its most bloated index rebuilt, if one is): each
/// event updates a dozen of their rows, and an indexed counter (a tag value's times seen) makes every update
/// leave a dead row version behind, about 1.5 MB a second at 1,000 events/s.
const VACUUM_EVERY: Duration = Duration::from_secs(15);

#[derive(Debug, Clone)]
pub struct RetentionSettings {
    pub default_days: i64,
    pub every: Duration,
    /// Space stored events may take, in bytes; 0 for no budget.
    pub max_storage: u64,
    /// Identifies this process as the leases' holder.
    pub holder: String,
}

pub async fn run_retention(
    core: Core,
    settings: RetentionSettings,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let mut next_sweep = Instant::now();
    let mut next_vacuum = Instant::now() + VACUUM_EVERY;
    let mut index_baselines = IndexBaselines::default();
    loop {
        if Instant::now() >= next_sweep {
            sweep(&core, &settings, &metrics).await;
            next_sweep = Instant::now() + settings.every;
        }
        if Instant::now() >= next_vacuum && !core.db.single_writer() {
            let lease_ms = VACUUM_EVERY.as_millis() as i64;
            let vacuumed = storage::vacuum_if_leader(&core, &settings.holder, lease_ms, &mut index_baselines).await;
            if let Err(error) = vacuumed {
                tracing::warn!(%error, "vacuuming the counters failed; retrying soon");
            }
            next_vacuum = Instant::now() + VACUUM_EVERY;
        }
        enforce_budget(&core, &settings, &metrics).await;
        let pause = BUDGET_EVERY.min(next_sweep.saturating_duration_since(Instant::now()));
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.wait_for(|stopped| *stopped) => break,
        }
    }
}

async fn sweep(core: &Core, settings: &RetentionSettings, metrics: &Metrics) {
    // The lease outlives one interval, so the leader keeps it while it runs and another takes over
    // within two intervals if it dies.
    let lease_ms = settings.every.as_millis() as i64 * 2;
    match sweep_if_leader(core, &settings.holder, settings.default_days, lease_ms).await {
        Ok(Some(swept)) => {
            metrics.events_expired.inc_by(swept.events);
            metrics.issues_expired.inc_by(swept.issues);
        }
        Ok(None) => {}
        Err(error) => tracing::warn!(%error, "retention sweep failed; retrying at the next one"),
    }
    // Every process reports the size, leader or not: each one's /metrics answers for the same database.
    if let Ok(bytes) = retention::database_bytes(&core.db).await {
        metrics.database_bytes.set(bytes);
    }
}

async fn enforce_budget(core: &Core, settings: &RetentionSettings, metrics: &Metrics) {
    if let Ok(stored) = storage::stored(core).await {
        metrics.storage_used_bytes.set(stored);
    }
    if settings.max_storage == 0 {
        return;
    }
    let budget = i64::try_from(settings.max_storage).unwrap_or(i64::MAX);
    let lease_ms = BUDGET_EVERY.as_millis() as i64 * 5;
    match storage::enforce_if_leader(core, &settings.holder, budget, lease_ms).await {
        Ok(evicted) => metrics.events_evicted.inc_by(evicted.events as u64),
        Err(error) => tracing::warn!(%error, "storage budget eviction failed; retrying at the next check"),
    }
}
