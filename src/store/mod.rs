//! The only module that speaks SQL. One query text serves SQLite and Postgres: `on_pool!` expands the same
//! body for each native pool, and where the dialects differ the two arms sit side by side.

pub mod accounts;
pub mod alerts;
pub mod artifacts;
mod attachment_files;
pub mod attachments;
mod batch;
pub mod changes;
pub mod compaction;
mod counters;
pub mod discover;
pub mod events;
pub mod eviction;
pub mod feedback;
pub mod issue_expiry;
pub mod issue_search;
pub mod issues;
pub mod monitors;
pub mod organizations;
mod outage;
pub mod outcomes;
pub mod overview;
pub mod paging;
pub mod partitions;
pub mod performance;
pub mod project_filters;
pub mod projects;
pub mod quotas;
pub mod release_commits;
pub mod release_health;
mod release_order;
pub mod releases;
pub mod retention;
pub mod rollup_lifecycle;
pub mod sessions;
pub mod sign_in_failures;
pub mod storage;
pub mod transaction_bodies;
pub mod transaction_vitals;
mod turns;

use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Connection;

pub use batch::{record_batch, record_batch_alerting, record_events_in, BatchOutcome};
pub use events::NewEvent;
pub use outage::{probe_write, Outage};
pub use turns::{SqliteWriter, WriteTurn, WriteTurns};

/// How long a query waits for a Postgres connection. Short: a database that cannot hand one out within a
/// second is down as far as ingest and `/readyz` are concerned, and they answer 503 at once rather than
/// hold every client for the pool's default (with Postgres refusing connections, sqlx retries until then).
const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);
/// Pages in SQLite's write-ahead log (4 KB each) past which a commit checkpoints by itself (SQLite's default
/// is 1,000).
const WAL_AUTOCHECKPOINT_PAGES: u32 = 8_000;
/// The SQLite writer connection's page cache, in KiB (SQLite's negative `cache_size`): 16 MiB.
const WRITER_CACHE_KIB: i64 = -16 * 1024;
/// Rows SQLite's `ANALYZE` looks at per index (SQLite suggests 100 to 1,000 for a quick, approximate one).
const ANALYSIS_LIMIT_ROWS: u32 = 1_000;
/// Bytes the SQLite write-ahead log keeps after a checkpoint.
const WAL_SIZE_LIMIT: u64 = 16 * 1024 * 1024;
/// At start Postgres may still be coming up (a container started alongside): the first connection is
/// retried this long.
const POSTGRES_STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `$body` with `$pool` bound to the native pool of whichever database `$db` is.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($pool, _) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL (expected sqlite:// or postgres://)")]
    UnsupportedUrl,
    #[error("cannot create the database folder: {0}")]
    Folder(#[from] std::io::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
    /// An attachment's file (SQLite keeps attachments as files beside the database).
    #[error("attachment file: {0}")]
    File(std::io::Error),
    #[error("the database did not answer within {0:?}")]
    TimedOut(Duration),
}

/// A connection pool to either database (SQLite's with its writer: the turns at the write lock and the
/// connection transactions write through).
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool, SqliteWriter),
    Postgres(PgPool),
}

impl Db {
    /// Connects (creating a SQLite file and its folder when missing).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, StoreError> {
        if url.starts_with("sqlite:") {
            connect_sqlite(url, max_connections).await
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            connect_postgres(url, max_connections).await
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(pool, _) => {
                SQLITE_MIGRATIONS.run(pool).await?;
                convert_to_incremental_vacuum(pool).await?;
            }
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// The folder holding a SQLite database's file (whose disk the disk watcher measures); `None` for
    /// Postgres, whose disk is the database server's.
    pub fn sqlite_folder(&self) -> Option<std::path::PathBuf> {
        match self {
            Db::Sqlite(pool, _) => {
                let file = pool.connect_options().get_filename().to_path_buf();
                let folder = file.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
                Some(if folder.as_os_str().is_empty() {
                    ".".into()
                } else {
                    folder
                })
            }
            Db::Postgres(_) => None,
        }
    }

    /// A trivial round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Refreshes the query planner's statistics. Postgres plans the writer's event-id look-up by them; with
    /// autovacuum off (or lagging behind a fast-growing table) stale statistics make it scan a whole project's
    /// events instead of one index, so the writer calls this as the tables grow.
    pub async fn refresh_statistics(&self) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(_, writer) => {
                // `optimize` may re-analyze tables, a write: it waits its turn like the others.
                let _turn = writer.turns.take().await?;
                sqlx::query("PRAGMA optimize")
                    .execute(&writer.pool)
                    .await?
                    .rows_affected()
            }
            Db::Postgres(pool) => sqlx::query("ANALYZE events, issues, issue_tags")
                .execute(pool)
                .await?
                .rows_affected(),
        };
        Ok(())
    }

    /// Frees the rows that updates left behind and refreshes statistics; for bulk loads (`faultline seed`), where
    /// autovacuum may be off or too slow to keep up.
    pub async fn reclaim_space(&self) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(pool, _) => sqlx::query("ANALYZE").execute(pool).await?.rows_affected(),
            Db::Postgres(pool) => {
                sqlx::query("VACUUM ANALYZE issues, issue_tags, issue_hours, issue_users, events, releases")
                    .execute(pool)
                    .await?
                    .rows_affected()
            }
        };
        Ok(())
    }

    /// Whether writers take turns on one lock (SQLite): long-running deletes then go in small, paced chunks
    /// so that ingest's writer is never kept waiting long.
    pub fn single_writer(&self) -> bool {
        matches!(self, Db::Sqlite(..))
    }

    /// This process's turn at SQLite's write lock, for a write outside a [`Tx`] (which takes its own);
    /// `None` on Postgres.
    #[track_caller]
    pub fn write_turn(&self) -> impl std::future::Future<Output = Result<Option<WriteTurn>, StoreError>> + Send + '_ {
        let by = std::panic::Location::caller();
        async move {
            match self {
                Db::Sqlite(_, writer) => writer.turns.take_for(by).await.map(Some),
                Db::Postgres(_) => Ok(None),
            }
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Db::Sqlite(..) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await);
        if let Db::Sqlite(_, writer) = self {
            writer.pool.close().await;
        }
    }
}

async fn connect_sqlite(url: &str, max_connections: u32) -> Result<Db, StoreError> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        // Deleted events' pages can go back to the file system (see `retention::reclaim_space`).
        // Takes effect on a new file; an older one is converted once by `convert_to_incremental_vacuum`.
        .auto_vacuum(SqliteAutoVacuum::Incremental)
        .journal_mode(SqliteJournalMode::Wal)
        // After a checkpoint the write-ahead log is cut back to this size: a log that grew under a burst (or
        // while a long read held old pages) would otherwise keep its disk space, outside the storage budget.
        .pragma("journal_size_limit", WAL_SIZE_LIMIT.to_string())
        // The server checkpoints several times a second off the writers' path (`worker::checkpoint`), so a
        // commit rarely crosses this and pays for a checkpoint itself; without the server (the CLI, `seed`)
        // this keeps the log bounded.
        .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES.to_string())
        // FULL: a commit survives power loss, which is what a 2xx promises; batching makes it cheap.
        .synchronous(SqliteSynchronous::Full)
        // The statistics refresh (`PRAGMA optimize`) samples each index instead of reading it whole: on a
        // million events a full analysis held the write lock 250 ms, and ingest with it.
        .pragma("analysis_limit", ANALYSIS_LIMIT_ROWS.to_string())
        .busy_timeout(turns::TURN_TIMEOUT)
        .foreign_keys(true);
    if let Some(folder) = options.get_filename().parent() {
        if !folder.as_os_str().is_empty() {
            std::fs::create_dir_all(folder)?;
        }
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(max_connections)
        .after_release(|conn, _| Box::pin(sqlite_release(conn)))
        .connect_with(options.clone())
        .await?;
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .after_release(|conn, _| Box::pin(sqlite_release(conn)))
        // The writer's cache stays warm (see `SqliteWriter`), so it is worth more than the default 2 MB: the
        // hot B-tree pages of the events, issues and rollups fit.
        .connect_with(options.pragma("cache_size", WRITER_CACHE_KIB.to_string()))
        .await?;
    Ok(Db::Sqlite(
        pool,
        SqliteWriter {
            turns: WriteTurns::default(),
            pool: writer,
        },
    ))
}

/// Whether a SQLite connection goes back to its pool (see `pool_worthy`).
async fn sqlite_release(conn: &mut sqlx::SqliteConnection) -> Result<bool, sqlx::Error> {
    // A dropped transaction queues its ROLLBACK on the connection's worker thread; the ping queues behind
    // it, so the depth read afterwards is the one the rollback left.
    conn.ping().await?;
    Ok(pool_worthy(conn.is_in_transaction()))
}

async fn connect_postgres(url: &str, max_connections: u32) -> Result<Db, StoreError> {
    let options = PgConnectOptions::from_str(url)?;
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(POSTGRES_ACQUIRE_TIMEOUT)
        // Postgres lowers the depth as soon as a rollback is queued, so no round trip is needed here.
        .after_release(|conn, _| Box::pin(async move { Ok(pool_worthy(conn.is_in_transaction())) }))
        .connect_lazy_with(options);
    first_connection(&pool).await?;
    Ok(Db::Postgres(pool))
}

/// A database file made before Faultline set `auto_vacuum = INCREMENTAL` keeps its freed pages forever;
/// one `VACUUM` rewrites it with the setting. That takes a while on a large file (and needs free space
/// for a copy), once.
async fn convert_to_incremental_vacuum(pool: &SqlitePool) -> Result<(), StoreError> {
    const INCREMENTAL: i64 = 2;
    let mut conn = pool.acquire().await?;
    let mode: i64 = sqlx::query_scalar("PRAGMA auto_vacuum").fetch_one(&mut *conn).await?;
    if mode != INCREMENTAL {
        tracing::info!("converting the SQLite database to incremental vacuum (once; takes a while on a large file)");
        sqlx::query("PRAGMA auto_vacuum = INCREMENTAL")
            .execute(&mut *conn)
            .await?;
        sqlx::query("VACUUM").execute(&mut *conn).await?;
    }
    Ok(())
}

/// Whether a released connection may go back to the pool: not while sqlx still counts it inside a
/// transaction. On SQLite an error such as SQLITE_FULL makes SQLite roll the transaction back itself; the
/// ROLLBACK sqlx then sends fails ("no transaction is active"), so sqlx never lowers its depth counter, and
/// every later `BEGIN IMMEDIATE` on that connection fails with "begin_with at non-zero transaction depth"
/// while plain queries (and pings) still work. Such a connection is closed; the pool opens a fresh one.
fn pool_worthy(in_transaction: bool) -> bool {
    if in_transaction {
        tracing::warn!("closing a database connection that a failed transaction left marked as inside it");
    }
    !in_transaction
}

/// Waits for Postgres to accept a first connection, retrying refused or unanswered ones for a while.
async fn first_connection(pool: &PgPool) -> Result<(), sqlx::Error> {
    let started = Instant::now();
    loop {
        match pool.acquire().await {
            Ok(_) => return Ok(()),
            Err(sqlx::Error::PoolTimedOut) if started.elapsed() < POSTGRES_STARTUP_TIMEOUT => continue,
            Err(error) => return Err(error),
        }
    }
}

/// Current time as epoch milliseconds, the unit every stored instant uses: [`crate::domain::time::Timestamp::now`] as the bare
/// number, for the columns (issue lifecycle, sessions, tokens, the outbox) that are still plain `i64`.
pub fn now_ms() -> i64 {
    crate::domain::Timestamp::now().as_millis()
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// An open transaction on either database. Use cases (`core`) open one around a change of several rows;
/// the store functions that take `&mut Tx` run inside it.
pub enum Tx {
    Sqlite(SqliteTx),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    /// Opens a transaction (on SQLite after this process's write turn). Not an `async fn` so that the
    /// turn knows which code took it (`track_caller`; see `turns`).
    #[track_caller]
    pub fn begin(db: &Db) -> impl std::future::Future<Output = Result<Tx, StoreError>> + Send + '_ {
        Self::begin_for(db, std::panic::Location::caller())
    }

    async fn begin_for(db: &Db, by: &'static std::panic::Location<'static>) -> Result<Tx, StoreError> {
        Ok(match db {
            // IMMEDIATE takes the write lock up front (waiting out the busy timeout). A deferred transaction
            // reads first and then fails at once with SQLITE_BUSY if another connection (an API write, a
            // statistics refresh) wrote in between.
            Db::Sqlite(_, writer) => {
                let turn = writer.turns.take_for(by).await?;
                Tx::Sqlite(SqliteTx {
                    tx: writer.pool.begin_with("BEGIN IMMEDIATE").await?,
                    _turn: turn,
                })
            }
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(SqliteTx { tx, _turn }) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// A SQLite transaction, holding its writer's turn (see [`WriteTurns`]) until it ends. Fields drop in
/// order: a transaction dropped unfinished queues its rollback before the next writer's turn begins.
pub struct SqliteTx {
    tx: sqlx::Transaction<'static, sqlx::Sqlite>,
    _turn: WriteTurn,
}

impl std::ops::Deref for SqliteTx {
    type Target = sqlx::SqliteConnection;
    fn deref(&self) -> &sqlx::SqliteConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for SqliteTx {
    fn deref_mut(&mut self) -> &mut sqlx::SqliteConnection {
        &mut self.tx
    }
}

/// Runs `$body` with `$conn` bound to the transaction's native connection and `$backend` naming its
/// database type (for `QueryBuilder::<$backend>`).
macro_rules! on_tx {
    ($tx:expr, $conn:ident, $backend:ident => $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite(t) => {
                #[allow(dead_code)]
                type $backend = sqlx::Sqlite;
                let $conn = &mut **t;
                $body
            }
            $crate::store::Tx::Postgres(t) => {
                #[allow(dead_code)]
                type $backend = sqlx::Postgres;
                let $conn = &mut **t;
                $body
            }
        }
    };
}
pub(crate) use on_tx;
