//! The cron monitors' clock: every few seconds the process holding its lease marks missed check-ins and
//! timed-out runs (`core::monitors::run_clock_tick`). The marks are the database's state, so the lease only
//! keeps the work in one place: a tick of a process that lost the lease mid-way marks nothing twice.

use std::time::Duration;

use tokio::sync::watch;

use crate::core::monitors::{run_clock_tick, MonitorBook, CLOCK_LEASE};
use crate::domain::Timestamp;
use crate::store::retention::take_lease;

#[derive(Debug, Clone)]
pub struct MonitorClockSettings {
    pub every: Duration,
    /// Identifies this process as the lease's holder.
    pub holder: String,
}

pub async fn run_monitor_clock(book: MonitorBook, settings: MonitorClockSettings, mut stop: watch::Receiver<bool>) {
    // Three ticks: the holder renews it at every tick; another process takes over within three of its death.
    let lease_ms = i64::try_from(settings.every.as_millis()).unwrap_or(i64::MAX / 4) * 3;
    loop {
        let now = Timestamp::now();
        match take_lease(
            &book.db,
            CLOCK_LEASE,
            &settings.holder,
            now.as_millis(),
            now.as_millis() + lease_ms,
        )
        .await
        {
            Ok(true) => match run_clock_tick(&book, now).await {
                Ok(marks) if marks.missed + marks.timed_out > 0 => {
                    tracing::info!(
                        missed = marks.missed,
                        timed_out = marks.timed_out,
                        "monitor clock marked check-ins"
                    );
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "the monitor clock's tick failed; retrying at the next"),
            },
            Ok(false) => {}
            Err(error) => tracing::warn!(%error, "the monitor clock's lease could not be taken"),
        }
        tokio::select! {
            _ = tokio::time::sleep(settings.every) => {}
            _ = stop.wait_for(|stopped| *stopped) => break,
        }
    }
}
