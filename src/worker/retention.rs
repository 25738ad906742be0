//! Runs the retention sweep every few minutes in whichever process holds the lease.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::core::retention::sweep_if_leader;
use crate::core::Core;
use crate::store::retention;
use crate::telemetry::Metrics;

#[derive(Debug, Clone)]
pub struct RetentionSettings {
    pub default_days: i64,
    pub every: Duration,
    /// Identifies this process as the lease's holder.
    pub holder: String,
}

pub async fn run_retention(
    core: Core,
    settings: RetentionSettings,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    // The lease outlives one interval, so the leader keeps it while it runs and another takes over
    // within two intervals if it dies.
    let lease_ms = settings.every.as_millis() as i64 * 2;
    loop {
        match sweep_if_leader(&core, &settings.holder, settings.default_days, lease_ms).await {
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
        tokio::select! {
            _ = tokio::time::sleep(settings.every) => {}
            _ = stop.wait_for(|stopped| *stopped) => break,
        }
    }
}
