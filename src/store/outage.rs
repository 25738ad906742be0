//! Which database errors mean the database itself cannot take writes now (it is unreachable, its disk is full,
//! its storage fails), as opposed to one statement or one event being at fault. The first kind makes ingest
//! answer 503 with `Retry-After` until a write succeeds again; the second fails only the event concerned.

use std::fmt;

use super::{now_ms, on_pool, Db, StoreError};

/// Why the database cannot take writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// No connection: refused, reset, timed out, or the pool could not hand one out in time.
    Unreachable,
    /// SQLITE_FULL, or Postgres' `disk_full`.
    DiskFull,
    /// Any other failure of the database as a whole: I/O errors, a read-only file, a lock never released.
    Storage,
}

impl fmt::Display for Outage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outage::Unreachable => "database unreachable",
            Outage::DiskFull => "database or disk full",
            Outage::Storage => "database storage error",
        })
    }
}

impl StoreError {
    /// The outage this error reveals, `None` when it concerns only the statement that failed.
    pub fn outage(&self) -> Option<Outage> {
        match self {
            StoreError::Database(error) => outage_of(error),
            StoreError::TimedOut(_) => Some(Outage::Unreachable),
            _ => None,
        }
    }
}

fn outage_of(error: &sqlx::Error) -> Option<Outage> {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Some(Outage::Unreachable),
        sqlx::Error::Database(db) => match db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
            Some(postgres) => postgres_outage(postgres.code()),
            // SQLite's code is its extended result code, as a number.
            None => sqlite_outage(db.code()?.parse().ok()?),
        },
        _ => None,
    }
}

/// Postgres classes 08 (connection), 53 (insufficient resources), 57 (operator intervention: shutdown,
/// cannot connect now) and 58 (system error: I/O).
fn postgres_outage(sqlstate: &str) -> Option<Outage> {
    match sqlstate.get(..2)? {
        _ if sqlstate == "53100" => Some(Outage::DiskFull),
        "08" | "57" => Some(Outage::Unreachable),
        "53" | "58" => Some(Outage::Storage),
        _ => None,
    }
}

/// SQLite primary result codes (the low byte of the extended code): BUSY (5) and LOCKED (6) once the busy
/// timeout is spent, NOMEM (7), READONLY (8), IOERR (10), CORRUPT (11), FULL (13), CANTOPEN (14).
fn sqlite_outage(extended: i32) -> Option<Outage> {
    match extended & 0xff {
        13 => Some(Outage::DiskFull),
        5 | 6 | 7 | 8 | 10 | 11 | 14 => Some(Outage::Storage),
        _ => None,
    }
}

/// Commits one small write: after an outage, the proof that writes succeed again.
pub async fn probe_write(db: &Db) -> Result<(), StoreError> {
    let sql = "INSERT INTO write_probe (id, written_at) VALUES (1, $1) \
               ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at";
    let _turn = db.write_turn().await?;
    on_pool!(db, pool => sqlx::query(sql).bind(now_ms()).execute(pool).await?.rows_affected());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_codes_name_the_outage_by_their_primary_code() {
        assert_eq!(sqlite_outage(13), Some(Outage::DiskFull));
        assert_eq!(sqlite_outage(10 | (4 << 8)), Some(Outage::Storage)); // SQLITE_IOERR_READ
        assert_eq!(sqlite_outage(5), Some(Outage::Storage)); // SQLITE_BUSY after the busy timeout
        assert_eq!(sqlite_outage(2067), None); // SQLITE_CONSTRAINT_UNIQUE: the statement's fault
    }

    #[test]
    fn postgres_sqlstates_name_the_outage_by_their_class() {
        assert_eq!(postgres_outage("53100"), Some(Outage::DiskFull));
        assert_eq!(postgres_outage("08006"), Some(Outage::Unreachable));
        assert_eq!(postgres_outage("57P01"), Some(Outage::Unreachable));
        assert_eq!(postgres_outage("58030"), Some(Outage::Storage));
        assert_eq!(postgres_outage("23505"), None);
        assert_eq!(postgres_outage("22P02"), None);
    }

    #[test]
    fn lost_connections_and_timeouts_are_outages() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(StoreError::Database(refused.into()).outage(), Some(Outage::Unreachable));
        assert_eq!(
            StoreError::Database(sqlx::Error::PoolTimedOut).outage(),
            Some(Outage::Unreachable)
        );
        assert_eq!(
            StoreError::TimedOut(std::time::Duration::from_secs(1)).outage(),
            Some(Outage::Unreachable)
        );
        assert_eq!(StoreError::Database(sqlx::Error::RowNotFound).outage(), None);
        assert_eq!(StoreError::Corrupt("x".into()).outage(), None);
    }
}
