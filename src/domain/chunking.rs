//! How big the chunks of a long delete are. On a database with one write lock (SQLite) every chunk keeps
//! ingest's writer waiting for as long as it runs, and how long a row takes to delete depends on the machine,
//! the disk and the row (a large payload, an issue with many counters), so a fixed row count is either slow
//! or too long a wait. Chunks are sized from the last one's time instead, to take about a target each.

use std::time::Duration;

/// The size of the next chunk of a long delete.
#[derive(Debug, Clone)]
pub struct ChunkSizer {
    rows: i64,
    /// `None`: a fixed size.
    target: Option<Duration>,
}

/// A timed chunk never shrinks below this many rows (the sweep must end)…
const MIN_ROWS: i64 = 20;
/// …nor grows above this many (a row count worth one statement's parameters and memory).
const MAX_ROWS: i64 = 5_000;

impl ChunkSizer {
    /// Always `rows` rows.
    pub fn fixed(rows: i64) -> ChunkSizer {
        ChunkSizer { rows, target: None }
    }

    /// Starts at `rows` rows, then sizes each chunk to take about `target`.
    pub fn timed(rows: i64, target: Duration) -> ChunkSizer {
        ChunkSizer {
            rows: rows.clamp(MIN_ROWS, MAX_ROWS),
            target: Some(target),
        }
    }

    /// Rows the next chunk takes.
    pub fn rows(&self) -> i64 {
        self.rows
    }

    /// Learns from a chunk that deleted `deleted` rows in `took`. The size moves at most by half or double
    /// per chunk, so one slow chunk (a checkpoint, a busy disk) does not swing it to the bounds.
    pub fn took(&mut self, deleted: u64, took: Duration) {
        let Some(target) = self.target else { return };
        if deleted == 0 {
            return;
        }
        let per_row = took.as_secs_f64() / deleted as f64;
        let wanted = if per_row > 0.0 {
            (target.as_secs_f64() / per_row) as i64
        } else {
            MAX_ROWS
        };
        self.rows = wanted.clamp(self.rows / 2, self.rows * 2).clamp(MIN_ROWS, MAX_ROWS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_fixed_size_never_changes() {
        let mut sizer = ChunkSizer::fixed(1_000);
        sizer.took(1_000, 900 * MS);
        assert_eq!(sizer.rows(), 1_000);
    }

    #[test]
    fn slow_chunks_shrink_towards_the_target_by_halves() {
        let mut sizer = ChunkSizer::timed(1_000, 10 * MS);
        sizer.took(1_000, 100 * MS);
        assert_eq!(sizer.rows(), 500, "no more than half at once");
        sizer.took(500, 50 * MS);
        assert_eq!(sizer.rows(), 250);
        sizer.took(250, 25 * MS);
        assert_eq!(sizer.rows(), 125);
        sizer.took(125, 12500 * Duration::from_micros(1));
        assert_eq!(sizer.rows(), 100, "10 ms at 100 µs a row");
    }

    #[test]
    fn fast_chunks_grow_by_doubling_up_to_the_cap() {
        let mut sizer = ChunkSizer::timed(1_000, 10 * MS);
        sizer.took(1_000, MS);
        assert_eq!(sizer.rows(), 2_000);
        sizer.took(2_000, 2 * MS);
        assert_eq!(sizer.rows(), 4_000);
        sizer.took(4_000, 4 * MS);
        assert_eq!(sizer.rows(), MAX_ROWS);
        sizer.took(5_000, Duration::ZERO);
        assert_eq!(sizer.rows(), MAX_ROWS);
    }

    #[test]
    fn a_very_slow_chunk_never_stops_the_delete() {
        let mut sizer = ChunkSizer::timed(30, 10 * MS);
        sizer.took(30, Duration::from_secs(5));
        assert_eq!(sizer.rows(), MIN_ROWS);
        sizer.took(0, Duration::from_secs(5));
        assert_eq!(sizer.rows(), MIN_ROWS, "an empty chunk says nothing about the rate");
    }
}
