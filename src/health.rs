//! Whether the database takes writes, as the writer last found out. Ingest reads it before doing any work, to
//! answer 503 at once while writes fail; `/readyz` reports it; the writer records every batch's outcome and,
//! while writes fail, probes until one succeeds. A plain ping cannot tell: on a full disk reads still work.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use tokio::sync::Notify;

use crate::domain::size::format_byte_size;
use crate::store::Outage;

/// Since when, and why, writes fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failing {
    pub outage: Outage,
    pub since: Instant,
}

/// Free space on the database's disk below the floor: ingest stops before the database fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LowDisk {
    pub free_bytes: u64,
    pub floor_bytes: u64,
}

#[derive(Default)]
pub struct DbHealth {
    /// Mirrors `low_disk.is_some()`.
    is_low_disk: AtomicBool,
    low_disk: Mutex<Option<LowDisk>>,
    /// Mirrors `failing.is_some()`, so the healthy path of every request costs one atomic load.
    is_failing: AtomicBool,
    failing: Mutex<Option<Failing>>,
    /// Wakes the writer's prober when a failure is recorded.
    failed: Notify,
}

impl DbHealth {
    pub fn new() -> DbHealth {
        DbHealth::default()
    }

    /// `None` while writes succeed.
    pub fn failing(&self) -> Option<Failing> {
        if !self.is_failing.load(Ordering::Acquire) {
            return None;
        }
        *self.failing.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A write (or the database round trip before it) failed for a reason that is not the event's.
    pub fn record_failure(&self, outage: Outage, error: &dyn std::fmt::Display) {
        let mut failing = self.failing.lock().unwrap_or_else(|e| e.into_inner());
        match failing.as_mut() {
            // One log line per outage, not one per event: the kind may change (full disk, then I/O errors).
            Some(current) if current.outage == outage => {}
            Some(current) => {
                tracing::error!(%error, "database writes still failing, now: {outage}");
                current.outage = outage;
            }
            None => {
                tracing::error!(%error, "database writes failing: {outage}; ingest answers 503 until a write succeeds");
                *failing = Some(Failing {
                    outage,
                    since: Instant::now(),
                });
                self.is_failing.store(true, Ordering::Release);
                self.failed.notify_one();
            }
        }
    }

    /// `None` while the database's disk has room above the floor.
    pub fn low_disk(&self) -> Option<LowDisk> {
        if !self.is_low_disk.load(Ordering::Acquire) {
            return None;
        }
        *self.low_disk.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What the disk watcher measured; says so once when the disk goes below the floor and once when
    /// space returns.
    pub fn record_free_space(&self, free_bytes: u64, floor_bytes: u64) {
        let low = free_bytes < floor_bytes;
        let mut current = self.low_disk.lock().unwrap_or_else(|e| e.into_inner());
        match (current.is_some(), low) {
            (false, true) => tracing::error!(
                free = %format_byte_size(free_bytes),
                floor = %format_byte_size(floor_bytes),
                "free disk space below FAULTLINE_MIN_FREE_DISK; ingest answers 503 until space returns"
            ),
            (true, false) => {
                tracing::warn!(free = %format_byte_size(free_bytes), "free disk space is back above the floor")
            }
            _ => {}
        }
        *current = low.then_some(LowDisk {
            free_bytes,
            floor_bytes,
        });
        self.is_low_disk.store(low, Ordering::Release);
    }

    /// A write was committed.
    pub fn record_success(&self) {
        if !self.is_failing.load(Ordering::Acquire) {
            return;
        }
        let mut failing = self.failing.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(ended) = failing.take() {
            let secs = ended.since.elapsed().as_secs_f64();
            tracing::warn!(
                "database writes succeed again after {secs:.1} s ({} before)",
                ended.outage
            );
        }
        self.is_failing.store(false, Ordering::Release);
    }

    /// Resolves once writes fail, but not before `not_before`: when the next probe is due. (A deadline rather
    /// than an interval, so the writer's loop may drop and recreate this future without postponing it.)
    pub async fn probe_due(&self, not_before: Instant) {
        loop {
            let failed = self.failed.notified();
            if self.is_failing.load(Ordering::Acquire) {
                break;
            }
            failed.await;
        }
        tokio::time::sleep_until(not_before.into()).await;
    }
}
