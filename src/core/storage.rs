//! The storage budget: when stored data takes more than the budget's high-water mark, it is evicted down
//! to its low-water mark: kept transaction bodies first, oldest first (a sample, worth less than any
//! error event), then events, least valuable first by `domain::storage`'s rules. Issue counters (times
//! seen, users, hours, tags) and the transaction rollups do not change: they count everything ever
//! accepted. One process at a time evicts, under a lease.

use std::time::{Duration, Instant};

use crate::domain::chunking::ChunkSizer;
use crate::domain::compaction::IndexBaselines;
use crate::domain::storage::{bytes_to_free, stored_body_bytes, stored_bytes, thinnable, EvictionQueue};
use crate::domain::IssueId;
use crate::store::storage::Stored;
use crate::store::{compaction, eviction, now_ms, retention, storage, transaction_bodies, Db, StoreError};

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
/// On SQLite, the pause between two chunks of an age expiry, which has no budget to keep up with. Every
/// chunk's pages pass through the write-ahead log, which the checkpointer copies in write turns of its own:
/// with a sweep at two thirds of the lock's time those turns held 40–80 ms (600 times in 7 minutes on the
/// retention benchmark), and ingest waited behind them. A third of the lock's time halves what each copies.
const EXPIRY_PAUSE: Duration = Duration::from_millis(16);
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
    /// Transaction bodies evicted (before any event).
    pub bodies: i64,
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

/// Copies SQLite's write-ahead log into the database, in a write turn of its own (nothing on Postgres).
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

/// Waits between two chunks of an age expiry where writers take turns (SQLite): longer than [`pace`].
pub(crate) async fn pace_expiry(core: &Core) {
    if core.db.single_writer() {
        tokio::time::sleep(EXPIRY_PAUSE).await;
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
    let mut chunks = chunk_sizer(core, CHUNK);
    let bodies = evict_bodies(core, to_free, &mut chunks).await?;
    to_free -= stored_body_bytes(bodies.events, bodies.bytes);
    evicted.bodies = bodies.events;
    let mut queue = if to_free > 0 {
        EvictionQueue::new(eviction::issue_event_counts(&core.db, 3).await?)
    } else {
        EvictionQueue::default()
    };
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
    if evicted.events > 0 || evicted.bodies > 0 {
        reclaim(core).await?;
    }
    if evicted.short_by > 0 {
        tracing::warn!(
            short_by = evicted.short_by,
            "the storage budget is exceeded, but every issue is down to its first and latest events"
        );
    }
    if evicted.events > 0 || evicted.bodies > 0 {
        tracing::info!(
            events = evicted.events,
            bytes = evicted.bytes,
            bodies = evicted.bodies,
            "storage budget evicted events"
        );
    }
    Ok(evicted)
}

/// Evicts the oldest transaction bodies, in paced chunks, until `to_free` bytes (as the budget counts
/// them) are gone or no body is left; returns what went. A chunk takes no more bodies than the bytes still
/// to free call for at their average size, so a small excess does not cost every body.
async fn evict_bodies(core: &Core, to_free: i64, chunks: &mut ChunkSizer) -> Result<Stored, StoreError> {
    let mut removed = Stored::default();
    let kept = storage::bodies_total(&core.db).await?;
    if kept.events <= 0 {
        return Ok(removed);
    }
    let average = (stored_body_bytes(kept.events, kept.bytes) / kept.events).max(1);
    loop {
        let left = to_free - stored_body_bytes(removed.events, removed.bytes);
        if left <= 0 {
            break;
        }
        let limit = chunks.rows().min((left + average - 1) / average).max(1);
        let started = Instant::now();
        let chunk = transaction_bodies::evict_oldest(&core.db, limit).await?;
        chunks.took(chunk.events as u64, started.elapsed());
        removed.events += chunk.events;
        removed.bytes += chunk.bytes;
        if chunk.events < limit {
            break;
        }
        pace(core).await;
    }
    Ok(removed)
}
