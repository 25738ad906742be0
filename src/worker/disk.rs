//! Measures the free space of the SQLite database's disk ten times a second (a statvfs call; at tens of MB/s
//! of ingest a slower watch lets too much through past the floor), so that ingest stops (503) below
//! `FAULTLINE_MIN_FREE_DISK` instead of filling the disk until the database fails, and resumes by itself
//! when space returns.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::health::DbHealth;

const EVERY: Duration = Duration::from_millis(100);

pub async fn run_disk_watch(folder: PathBuf, floor_bytes: u64, health: Arc<DbHealth>, mut stop: watch::Receiver<bool>) {
    loop {
        match free_bytes(&folder) {
            Ok(free) => health.record_free_space(free, floor_bytes),
            Err(error) => tracing::warn!(%error, folder = %folder.display(), "cannot measure free disk space"),
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = stop.wait_for(|stopped| *stopped) => break,
        }
    }
}

/// Bytes an unprivileged process may still write on the folder's file system.
fn free_bytes(folder: &std::path::Path) -> std::io::Result<u64> {
    let stats = rustix::fs::statvfs(folder)?;
    Ok(stats.f_bavail.saturating_mul(stats.f_frsize))
}
