//! The use cases: what a person, a token or the writer may do, enforced once, here. Web pages, the API,
//! the command line and the ingest writer all call these functions; none of them carries a rule of its
//! own. One module per aggregate (issues, projects and keys, members, accounts, alerts, releases), each
//! reading and writing through [`crate::store`] and applying [`crate::domain`]'s pure rules. A change of
//! several rows happens in one transaction. Every failure is one [`CoreError`], which every edge maps the
//! same way (see [`CoreError::kind`]).

pub mod access;
pub mod accounts;
pub mod alerts;
pub mod artifacts;
pub mod attachments;
pub mod changes;
pub mod discover;
pub mod events;
pub mod feedback;
pub mod issues;
mod keys;
pub mod limits;
pub mod members;
pub mod metric_alerts;
pub mod monitors;
pub mod outcomes;
pub mod performance;
pub mod performance_issues;
pub mod projects;
pub mod release_commits;
pub mod release_health;
pub mod releases;
pub mod retention;
mod rules;
pub mod sign_in_throttle;
pub mod source_maps;
pub mod storage;
pub mod traces;
pub mod transaction_bodies;
pub mod transaction_detail;

use std::sync::Arc;

pub use access::Access;
pub use keys::{KeyCache, ProjectAuth};
pub use rules::RuleCache;

use crate::domain::accounts::{MemberRuleError, Scope};
use crate::notify::{Notifier, NotifySettings};
use crate::store::{Db, StoreError};

/// The shared handle every edge holds: the database, the caches that must forget what a change made
/// stale, the notifier's wake-up, and the settings use cases need.
#[derive(Clone)]
pub struct Core {
    pub db: Db,
    /// Project keys and scrubbing settings, as ingest authenticates events.
    pub keys: KeyCache,
    /// The enabled alert rules, as the writer evaluates them.
    pub rules: RuleCache,
    /// Sends test notifications now (the outbox worker sends the rest).
    pub notifier: Notifier,
    /// Wakes the outbox worker when a commit queued deliveries.
    pub outbox_wake: Arc<tokio::sync::Notify>,
    /// Where DSNs and links point.
    pub public_url: url::Url,
    /// Outcome counts waiting to be written (by the outcome worker).
    pub outcomes: outcomes::OutcomeLog,
    /// The rate-limit counts (keys, daily quotas, spike protection), shared through the database.
    pub limits: limits::Limiter,
    /// Which transaction bodies are kept, and for how long.
    pub bodies: transaction_bodies::BodySettings,
    /// Parsed source maps (bounded in memory) and recent lookups, for ingest and the event page.
    pub source_maps: source_maps::SourceMaps,
}

impl Core {
    pub fn new(db: Db, notifier: Notifier, public_url: url::Url) -> Core {
        Core {
            keys: KeyCache::new(db.clone()),
            rules: RuleCache::new(db.clone()),
            notifier,
            outbox_wake: Arc::new(tokio::sync::Notify::new()),
            public_url,
            outcomes: outcomes::OutcomeLog::default(),
            limits: limits::Limiter::new(db.clone(), None),
            bodies: transaction_bodies::BodySettings::default(),
            source_maps: source_maps::SourceMaps::new(db.clone(), DEFAULT_SOURCE_MAP_CACHE_BYTES),
            db,
        }
    }

    /// The use cases for the command line, tools and tests: nothing is sent from here (test notifications
    /// are the server's), and the caches are private to the caller.
    pub fn offline(db: Db, public_url: url::Url) -> Core {
        let settings = NotifySettings {
            smtp: None,
            email_from: String::new(),
            allow_private_targets: false,
        };
        Core::new(db, Notifier::new(settings), public_url)
    }
}

/// Memory parsed source maps may take unless configured (`FAULTLINE_SOURCE_MAP_CACHE`).
pub const DEFAULT_SOURCE_MAP_CACHE_BYTES: u64 = 256 * 1024 * 1024;

/// Why a use case did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// No such object, or one the caller may not see: the two are never told apart.
    #[error("not found")]
    NotFound,
    /// The caller may see the object but lacks the scope the change needs.
    #[error("You do not have permission to perform this action (missing scope {0}).")]
    MissingScope(Scope),
    /// The input breaks a rule of its kind (a bad e-mail, an invalid rule spec…).
    #[error("{0}")]
    Invalid(String),
    /// The change conflicts with what is stored (the name is taken, the built-in channel…).
    #[error("{0}")]
    Conflict(String),
    /// A membership change the owner rules refuse.
    #[error("{0}")]
    Member(#[from] MemberRuleError),
    /// The database did not answer (unreachable, pool exhausted, timed out): worth retrying.
    #[error("the database is unavailable: {0}")]
    Unavailable(StoreError),
    /// Anything else the store failed with: a bug or corrupt data, logged by the edge.
    #[error("internal error: {0}")]
    Internal(StoreError),
}

/// The few answers an edge gives, so web and API map every error the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 404
    NotFound,
    /// 403
    Forbidden,
    /// 400
    Invalid,
    /// 409
    Conflict,
    /// 503 with `Retry-After`
    Unavailable,
    /// 500, logged
    Internal,
}

impl ErrorKind {
    /// The HTTP status web pages and the API both answer with.
    pub fn status(self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::Invalid => StatusCode::BAD_REQUEST,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Seconds a client is asked to wait after an outage answer.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

impl CoreError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            CoreError::NotFound => ErrorKind::NotFound,
            CoreError::Conflict(_) | CoreError::Member(MemberRuleError::LastOwner) => ErrorKind::Conflict,
            CoreError::MissingScope(_) | CoreError::Member(_) => ErrorKind::Forbidden,
            CoreError::Invalid(_) => ErrorKind::Invalid,
            CoreError::Unavailable(_) => ErrorKind::Unavailable,
            CoreError::Internal(_) => ErrorKind::Internal,
        }
    }

    pub fn invalid(why: impl std::fmt::Display) -> CoreError {
        CoreError::Invalid(why.to_string())
    }
}

impl From<StoreError> for CoreError {
    fn from(error: StoreError) -> CoreError {
        match error {
            StoreError::NotFound(_) => CoreError::NotFound,
            StoreError::Conflict(what) => CoreError::Conflict(format!("{what} already exists")),
            error if error.outage().is_some() => CoreError::Unavailable(error),
            error => CoreError::Internal(error),
        }
    }
}

pub type CoreResult<T> = Result<T, CoreError>;

#[cfg(test)]
mod tests;
