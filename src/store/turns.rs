//! Turns at SQLite's one write lock. SQLite lets one connection write at a time, and a connection that finds
//! the lock taken sleeps in SQLite's busy handler (1, 2, 5, 10, … up to 100 ms between tries), so it can go
//! on sleeping long after the lock came free: behind a background delete the ingest writer's batches waited
//! up to ten times the delete's own length. This process's writers therefore queue here first, first come
//! first served, and each takes the lock the moment the previous one is done. Postgres needs no turns.

use std::future::Future;
use std::panic::Location;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::SqlitePool;
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::StoreError;

/// SQLite's writing side: the writers' turns, and the one connection every transaction writes through.
/// One connection because SQLite drops a connection's whole page cache when it finds that another
/// connection has committed since its last read: with writes spread over the pool, every batch began
/// cold and read its B-tree pages back from the file (`pread` was the largest cost in the profiles of
/// the transaction and retention benchmarks). The writer's own commits leave its cache warm.
#[derive(Clone, Debug)]
pub struct SqliteWriter {
    pub(super) turns: WriteTurns,
    pub(super) pool: SqlitePool,
}

/// How long a writer waits for its turn: SQLite's busy timeout, which it would have waited otherwise.
pub(super) const TURN_TIMEOUT: Duration = Duration::from_secs(10);

/// The queue of this process's writers to one SQLite database.
#[derive(Clone, Debug, Default)]
pub struct WriteTurns(Arc<Mutex<()>>);

/// A turn held or waited for longer than this is logged with the code that took it: everyone behind it
/// waited that long, and ingest's answers with them.
const LONG_TURN: Duration = Duration::from_millis(40);

/// A writer's turn; the next one's starts when this is dropped.
#[derive(Debug)]
pub struct WriteTurn {
    _guard: OwnedMutexGuard<()>,
    taken_at: Instant,
    by: &'static Location<'static>,
}

impl WriteTurns {
    /// Waits for this writer's turn; fails as a database that does not answer after [`TURN_TIMEOUT`] (a
    /// writer holding its turn that long is stuck, as a lock held that long would be). Not an `async fn`
    /// so that the caller's place in the code is known (`track_caller`) for the long-turn log.
    #[track_caller]
    pub fn take(&self) -> impl Future<Output = Result<WriteTurn, StoreError>> + Send + '_ {
        self.take_for(Location::caller())
    }

    pub(super) async fn take_for(&self, by: &'static Location<'static>) -> Result<WriteTurn, StoreError> {
        let asked_at = Instant::now();
        let guard = tokio::time::timeout(TURN_TIMEOUT, self.0.clone().lock_owned())
            .await
            .map_err(|_| StoreError::TimedOut(TURN_TIMEOUT))?;
        let taken_at = Instant::now();
        let waited = taken_at - asked_at;
        if waited > LONG_TURN {
            tracing::warn!(by = %by, waited_ms = waited.as_millis() as u64, "waited long for a write turn");
        }
        Ok(WriteTurn {
            _guard: guard,
            taken_at,
            by,
        })
    }
}

impl Drop for WriteTurn {
    fn drop(&mut self) {
        let held = self.taken_at.elapsed();
        if held > LONG_TURN {
            tracing::warn!(by = %self.by, held_ms = held.as_millis() as u64, "held a write turn long");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writers_take_turns_in_the_order_they_came() {
        let turns = WriteTurns::default();
        let first = turns.take().await.unwrap();
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut waiting = Vec::new();
        for writer in 0..3 {
            let (turns, order) = (turns.clone(), order.clone());
            // Each task is awaited below.
            #[allow(clippy::disallowed_methods)]
            waiting.push(tokio::spawn(async move {
                let _turn = turns.take().await.unwrap();
                order.lock().unwrap().push(writer);
            }));
            tokio::task::yield_now().await;
        }
        assert!(order.lock().unwrap().is_empty(), "nobody writes during another's turn");
        drop(first);
        for task in waiting {
            task.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_turn_never_given_fails_as_a_database_that_does_not_answer() {
        let turns = WriteTurns::default();
        let _stuck = turns.take().await.unwrap();
        let waited = turns.take().await.unwrap_err();
        assert!(matches!(waited, StoreError::TimedOut(t) if t == TURN_TIMEOUT));
    }
}
