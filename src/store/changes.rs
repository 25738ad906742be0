//! Changes every process serving the database must see at once (client keys and project settings, alert
//! rules, uploaded source maps), announced with Postgres's `NOTIFY` and heard with `LISTEN`. Several
//! processes share only a Postgres database; a SQLite file has one server, which needs no announcement.

use sqlx::postgres::PgListener;

use super::{Db, StoreError};

/// The notification channel; the payload names what changed.
const CHANNEL: &str = "faultline_changes";

/// Tells the other processes that `what` changed (nothing to tell on SQLite).
pub async fn announce(db: &Db, what: &str) -> Result<(), StoreError> {
    if let Db::Postgres(pool) = db {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(what)
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// What a listener heard.
#[derive(Debug, PartialEq, Eq)]
pub enum Heard {
    /// Another process (or this one) announced this change.
    Changed(String),
    /// The connection dropped and was made again: announcements in between may be lost.
    Reconnected,
}

/// A connection listening for announced changes.
pub struct ChangeListener(PgListener);

impl ChangeListener {
    /// Listens on Postgres; `None` on SQLite.
    pub async fn start(db: &Db) -> Result<Option<ChangeListener>, StoreError> {
        let Db::Postgres(pool) = db else {
            return Ok(None);
        };
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(Some(ChangeListener(listener)))
    }

    /// Waits for the next announcement. A lost connection is made again on the next call.
    pub async fn next(&mut self) -> Result<Heard, StoreError> {
        Ok(match self.0.try_recv().await? {
            Some(notification) => Heard::Changed(notification.payload().to_owned()),
            None => Heard::Reconnected,
        })
    }
}
