//! The storage budget: when stored events take more than the budget's high-water mark, events are
//! evicted (least valuable first, by `domain::storage`'s rules) down to its low-water mark. Issue
//! counters (times seen, users, hours, tags) do not change: they count every event ever accepted. One
//! process at a time evicts, under a lease.

use crate::domain::storage::{bytes_to_free, stored_bytes, thinnable, EvictionQueue};
use crate::store::{eviction, now_ms, retention, storage, StoreError};

use super::Core;

/// Events deleted per statement: a short write lock, so ingest never waits long behind eviction.
const CHUNK: i64 = 500;
/// On SQLite, the pause between two deleting statements in which ingest's writer takes its turn (SQLite's
/// busy handler retries a waiting writer every few tens of milliseconds, so a shorter gap could be missed).
const PAUSE_BETWEEN_CHUNKS: std::time::Duration = std::time::Duration::from_millis(50);
const LEASE_JOB: &str = "storage-budget";
const VACUUM_JOB: &str = "vacuum-counters";
/// Free pages SQLite keeps for the next writes before they go back to the file system.
pub(crate) const FREE_PAGES_KEPT: i64 = 16 * 1024 * 1024;

/// What one enforcement did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evicted {
    pub events: i64,
    pub bytes: i64,
    /// Space the budget still exceeds because every issue is down to its first and latest events.
    pub short_by: i64,
}

/// Gives deleted events' space back in bounded steps, paced like the deletes.
pub(crate) async fn reclaim(core: &Core) -> Result<(), StoreError> {
    while retention::reclaim_space(&core.db, FREE_PAGES_KEPT).await? {
        pace(core).await;
    }
    Ok(())
}

/// Waits between two chunks of a long delete where writers take turns (SQLite).
pub(crate) async fn pace(core: &Core) {
    if core.db.single_writer() {
        tokio::time::sleep(PAUSE_BETWEEN_CHUNKS).await;
    }
}

/// Vacuums the counters' tables (Postgres) if this process holds that job's lease.
pub async fn vacuum_if_leader(core: &Core, holder: &str, lease_ms: i64) -> Result<(), StoreError> {
    let now = now_ms();
    if retention::take_lease(&core.db, VACUUM_JOB, holder, now, now + lease_ms).await? {
        retention::vacuum_counters(&core.db).await?;
    }
    Ok(())
}

/// The space the budget counts (`store::storage::space_used`).
pub async fn stored(core: &Core) -> Result<i64, StoreError> {
    storage::space_used(&core.db).await
}

/// Evicts down to the budget if it is exceeded and this process holds the lease (taken for `lease_ms`).
pub async fn enforce_if_leader(core: &Core, holder: &str, budget: i64, lease_ms: i64) -> Result<Evicted, StoreError> {
    if bytes_to_free(stored(core).await?, budget).is_none() {
        return Ok(Evicted::default());
    }
    let now = now_ms();
    if !retention::take_lease(&core.db, LEASE_JOB, holder, now, now + lease_ms).await? {
        return Ok(Evicted::default());
    }
    enforce(core, budget).await
}

/// Evicts until stored events fit under the budget's low-water mark, or nothing more may go.
pub async fn enforce(core: &Core, budget: i64) -> Result<Evicted, StoreError> {
    let mut evicted = Evicted::default();
    let Some(mut to_free) = bytes_to_free(stored(core).await?, budget) else {
        return Ok(evicted);
    };
    let mut queue = EvictionQueue::new(eviction::issue_event_counts(&core.db, 3).await?);
    while to_free > 0 {
        let Some((issue, count)) = queue.pop_biggest() else {
            evicted.short_by = to_free;
            break;
        };
        let removed = eviction::thin_issue(&core.db, issue, thinnable(count).min(CHUNK)).await?;
        to_free -= stored_bytes(removed.events, removed.bytes);
        evicted.events += removed.events;
        evicted.bytes += removed.bytes;
        if removed.events > 0 {
            queue.requeue(issue, count - removed.events);
        }
        pace(core).await;
    }
    if evicted.events > 0 {
        reclaim(core).await?;
    }
    if evicted.short_by > 0 {
        tracing::warn!(
            short_by = evicted.short_by,
            "the storage budget is exceeded, but every issue is down to its first and latest events"
        );
    }
    if evicted.events > 0 {
        tracing::info!(
            events = evicted.events,
            bytes = evicted.bytes,
            "storage budget evicted events"
        );
    }
    Ok(evicted)
}
