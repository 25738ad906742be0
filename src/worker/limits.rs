//! Shares the rate-limit counts with the other processes on the database every [`SYNC_EVERY`], and once a
//! minute refreshes the projects' usual rates (for spike protection) and deletes ended counters.

use std::time::Duration;

use tokio::sync::watch;

use crate::core::limits::{Limiter, SYNC_EVERY};
use crate::store::now_ms;

const REFRESH_EVERY: Duration = Duration::from_secs(60);

pub async fn run_limit_sync(limiter: Limiter, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(SYNC_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut refresh = tokio::time::interval(REFRESH_EVERY);
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // The branches only choose: `wait_for`'s guard must be gone before anything is awaited.
        let refreshing = tokio::select! {
            _ = refresh.tick() => true,
            _ = tick.tick() => false,
            _ = stop.wait_for(|stopped| *stopped) => break,
        };
        if !refreshing {
            sync(&limiter).await;
        } else if let Err(error) = limiter.refresh(now_ms()).await {
            tracing::warn!(%error, "usual rates for spike protection not refreshed");
        }
    }
    // What this process admitted last still counts for the others.
    sync(&limiter).await;
}

async fn sync(limiter: &Limiter) {
    if let Err(error) = limiter.sync(now_ms()).await {
        tracing::debug!(%error, "rate-limit counts not shared yet; kept for the next sync");
    }
}
