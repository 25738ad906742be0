//! The metric alerts' clock: every `FAULTLINE_METRIC_ALERT_EVERY_MS` (30 s by default) the process holding
//! the evaluator's lease evaluates every metric rule over the transaction rollups
//! (`core::metric_alerts::evaluate`); the crossings it records go out through the notifier.

use std::time::Duration;

use tokio::sync::watch;

use crate::core::metric_alerts::evaluate_if_leader;
use crate::core::Core;

#[derive(Debug, Clone)]
pub struct MetricAlertSettings {
    pub every: Duration,
    /// Identifies this process as the lease's holder.
    pub holder: String,
}

pub async fn run_metric_alerts(core: Core, settings: MetricAlertSettings, mut stop: watch::Receiver<bool>) {
    // Three intervals: the leader renews it at every round, and another process takes over within three
    // intervals of the leader's death. A round that outlasts it is harmless: states change only from what
    // their evaluator read, so no crossing is announced twice.
    let lease_ms = i64::try_from(settings.every.as_millis()).unwrap_or(i64::MAX / 4) * 3;
    loop {
        match evaluate_if_leader(&core, &settings.holder, lease_ms).await {
            Ok(Some(round)) if round.fired + round.resolved > 0 => {
                tracing::info!(
                    fired = round.fired,
                    resolved = round.resolved,
                    "metric alerts changed state"
                );
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "evaluating the metric alerts failed; retrying at the next round"),
        }
        tokio::select! {
            _ = tokio::time::sleep(settings.every) => {}
            _ = stop.wait_for(|stopped| *stopped) => break,
        }
    }
}
