//! Copies SQLite's write-ahead log into the database file several times a second, off the writers' path.
//! Left to itself SQLite checkpoints inside the commit that crosses its threshold, so whichever writer comes
//! next (an ingest batch, most often) pays tens of milliseconds for pages a retention sweep or an eviction
//! wrote. A passive checkpoint takes no write lock: writers go on appending while it copies.

use std::time::Duration;

use tokio::sync::watch;

use crate::core::storage::checkpoint_wal;
use crate::store::Db;

const EVERY: Duration = Duration::from_millis(200);

pub async fn run_wal_checkpoints(db: Db, mut stop: watch::Receiver<bool>) {
    loop {
        if let Err(error) = checkpoint_wal(&db).await {
            tracing::warn!(%error, "write-ahead log checkpoint failed; the next one retries");
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = stop.wait_for(|stopped| *stopped) => break,
        }
    }
}
