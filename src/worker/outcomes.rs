//! Writes the outcome log out every second, and once more when the server stops.

use std::time::Duration;

use tokio::sync::watch;

use crate::core::outcomes::OutcomeLog;
use crate::store::Db;

const FLUSH_EVERY: Duration = Duration::from_secs(1);

pub async fn run_outcome_flusher(log: OutcomeLog, db: Db, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|stopped| *stopped) => break,
        }
        flush(&log, &db).await;
    }
    flush(&log, &db).await;
}

async fn flush(log: &OutcomeLog, db: &Db) {
    if let Err(error) = log.flush(db).await {
        tracing::warn!(%error, "outcome counts not written yet; kept for the next try");
    }
}
