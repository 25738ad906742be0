//! The storage budget: when stored events take more than the budget's high-water mark, events are
//! evicted (least valuable first, by `domain::storage`'s rules) down to its low-water mark. Issue
//! counters (times seen, users, hours, tags) do not change: they count every event ever accepted. One
//! process at a time evicts, under a lease.

use std::time::{Duration, Instant};

use crate::domain::chunking::ChunkSizer;
use crate::domain::compaction::IndexBaselines;
use crate::domain::storage::{bytes_to_free, stored_bytes, thinnable, EvictionQueue};
use crate::domain::IssueId;
use crate::store::storage::Stored;
use crate::store::{compaction, eviction, now_ms, retention, storage, Db, StoreError};

use super::Core;

/// Events deleted per statement: a short write lock, so ingest never waits long behind eviction.
const CHUNK: i64 = 500;
/// On SQLite, how long one chunk of a long delete should hold the write lock: ingest's writer, queued for
/// its turn (`store::WriteTurns`), waits at most about this long behind it.
const CHUNK_TIME: Duration = Duration::from_millis(8);
/// On SQLite, the pause between two chunks. Turns are first come, first served, so a batch that waits gets
/// the lock next anyway; the pause only lets a batch being gathered queue up, and keeps a long delete to
/// about two thirds of the lock's time when nothing else writes. Eviction must keep up with ingest (it
/// deletes what arrives), so a longer pause would let the database outgrow its budget under a steady load.
const PAUSE_BETWEEN_CHUNKS: Duration = Duration::from_millis(4);
const LEASE_JOB: &str = "storage-budget";
const VACUUM_JOB: &str = "vacuum-counters";
/// Pages SQLite gives back in the first step of a reclaim (256 KB of 4 KB pages); later steps are sized by time.
const VACUUM_FIRST_STEP_PAGES: i64 = 64;
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

/// Gives deleted events' space back in steps sized by time like the deletes (in pages), paced like them:
/// moving pages from the file's end holds the write lock, and a 1 MB step took tens of milliseconds while
/// ingest ran.
pub(crate) async fn reclaim(core: &Core) -> Result<(), StoreError> {
    let mut steps = chunk_sizer(core, VACUUM_FIRST_STEP_PAGES);
    loop {
        let pages = steps.rows();
        let started = Instant::now();
        if !retention::reclaim_space(&core.db, FREE_PAGES_KEPT, pages).await? {
            return Ok(());
        }
        steps.took(pages as u64, started.elapsed());
        pace(core).await;
    }
}

/// Copies SQLite's write-ahead log into the database without taking the write lock (nothing on Postgres).
pub async fn checkpoint_wal(db: &Db) -> Result<(), StoreError> {
    storage::checkpoint_wal(db).await
}

/// How a long delete sizes its chunks: by time where writers take turns at one lock (SQLite), else `rows`.
pub(crate) fn chunk_sizer(core: &Core, rows: i64) -> ChunkSizer {
    if core.db.single_writer() {
        ChunkSizer::timed(rows, CHUNK_TIME)
    } else {
        ChunkSizer::fixed(rows)
    }
}

/// Waits between two chunks of a long delete where writers take turns (SQLite).
pub(crate) async fn pace(core: &Core) {
    if core.db.single_writer() {
        tokio::time::sleep(PAUSE_BETWEEN_CHUNKS).await;
    }
}

/// One thinning pass over an issue: up to `positions` of its events are picked by a read, then deleted in
/// chunks, paced, so the write lock is held only for the deletes themselves.
async fn thin(core: &Core, issue: IssueId, positions: i64, chunks: &mut ChunkSizer) -> Result<Stored, StoreError> {
    let picked = eviction::thinnable_events(&core.db, issue, positions).await?;
    let mut removed = Stored::default();
    let mut rest = picked.as_slice();
    while !rest.is_empty() {
        let (chunk, after) = rest.split_at((chunks.rows() as usize).min(rest.len()));
        let started = Instant::now();
        let deleted = eviction::delete_events(&core.db, chunk).await?;
        chunks.took(chunk.len() as u64, started.elapsed());
        removed.events += deleted.events;
        removed.bytes += deleted.bytes;
        rest = after;
        if !rest.is_empty() {
            pace(core).await;
        }
    }
    Ok(removed)
}

/// Vacuums the counters' tables and rebuilds the index most grown beyond its `baselines` (Postgres; at most
/// one per call, so the work stays bounded) if this process holds that job's lease.
pub async fn vacuum_if_leader(
    core: &Core,
    holder: &str,
    lease_ms: i64,
    baselines: &mut IndexBaselines,
) -> Result<(), StoreError> {
    let now = now_ms();
    if !retention::take_lease(&core.db, VACUUM_JOB, holder, now, now + lease_ms).await? {
        return Ok(());
    }
    retention::vacuum_counters(&core.db).await?;
    if let Some(index) = baselines.most_bloated(&compaction::index_sizes(&core.db).await?) {
        let started = Instant::now();
        compaction::rebuild_index(&core.db, &index).await?;
        baselines.rebuilt(&index);
        let elapsed_ms = started.elapsed().as_millis() as u64;
        tracing::info!(
            index,
            elapsed_ms,
            "rebuilt an index that deletes and updates had left mostly empty"
        );
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
    let mut chunks = chunk_sizer(core, CHUNK);
    while to_free > 0 {
        let Some((issue, count)) = queue.pop_biggest() else {
            evicted.short_by = to_free;
            break;
        };
        let removed = thin(core, issue, thinnable(count).min(CHUNK), &mut chunks).await?;
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
