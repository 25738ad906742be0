//! An in-memory cache of project keys, so authenticating an event costs no database round trip.
//! A change is forgotten at once in every process (`core::changes`); entries also expire after a short
//! while, in case an announcement was lost.

use crate::domain::ProjectId;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::domain::auth::PublicKey;
use crate::domain::filters::InboundFilters;
use crate::domain::limits::KeyRateLimit;
use crate::domain::quotas::DailyQuota;
use crate::domain::scrub::Scrubber;
use crate::store::{projects, Db, StoreError};

const TTL: Duration = Duration::from_secs(30);
/// Bounds the cache when it is flooded with random unknown keys.
const MAX_ENTRIES: usize = 10_000;

/// What ingest knows about an enabled, valid key.
#[derive(Clone)]
pub struct ProjectAuth {
    pub project_id: ProjectId,
    /// The key's id, for outcome counts per key.
    pub key_id: i64,
    pub enabled: bool,
    pub scrubber: Arc<Scrubber>,
    pub filters: Arc<InboundFilters>,
    pub rate_limit: Option<KeyRateLimit>,
    /// The project's daily quota.
    pub daily_quota: Option<DailyQuota>,
}

#[derive(Clone)]
struct Entry {
    found: Option<ProjectAuth>,
    fetched: Instant,
}

#[derive(Clone)]
pub struct KeyCache {
    db: Db,
    entries: Arc<RwLock<HashMap<String, Entry>>>,
}

impl KeyCache {
    pub fn new(db: Db) -> KeyCache {
        KeyCache {
            db,
            entries: Arc::default(),
        }
    }

    /// The project behind a key, `None` when the key is unknown.
    pub async fn lookup(&self, key: &PublicKey) -> Result<Option<ProjectAuth>, StoreError> {
        if let Some(found) = self.cached(key.as_str()) {
            return Ok(found);
        }
        let found = projects::find_key(&self.db, key.as_str())
            .await?
            .map(|record| ProjectAuth {
                project_id: record.project_id,
                key_id: record.key_id,
                enabled: record.key_enabled && record.project_enabled,
                scrubber: Arc::new(Scrubber::new(&record.scrub_keys)),
                filters: Arc::new(record.filters),
                rate_limit: record.rate_limit,
                daily_quota: record.daily_quota,
            });
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, entry| entry.fetched.elapsed() < TTL);
        }
        if entries.len() < MAX_ENTRIES {
            let entry = Entry {
                found: found.clone(),
                fetched: Instant::now(),
            };
            entries.insert(key.as_str().to_owned(), entry);
        }
        Ok(found)
    }

    fn cached(&self, key: &str) -> Option<Option<ProjectAuth>> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|entry| entry.fetched.elapsed() < TTL)
            .map(|entry| entry.found.clone())
    }

    /// Forgets every entry, after keys or projects changed (here or in another process).
    pub fn invalidate(&self) {
        self.entries.write().unwrap_or_else(|e| e.into_inner()).clear();
    }
}
