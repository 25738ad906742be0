//! The enabled alert rules, held in memory so the writer evaluates them without a database round trip.
//! A change invalidates the cache at once in every process (`core::changes`); the time-to-live is the
//! fallback when an announcement was lost.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::domain::alerts::RuleSet;
use crate::store::{alerts, Db, StoreError};

const TTL: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Loaded {
    rules: Option<(Arc<RuleSet>, Instant)>,
    /// Bumped by every invalidation, so a load that started before one is not kept.
    generation: u64,
}

#[derive(Clone)]
pub struct RuleCache {
    db: Db,
    current: Arc<RwLock<Loaded>>,
}

impl RuleCache {
    pub fn new(db: Db) -> RuleCache {
        RuleCache {
            db,
            current: Arc::default(),
        }
    }

    /// The rules now in force, loaded again when invalidated or older than the time-to-live.
    pub async fn rules(&self) -> Result<Arc<RuleSet>, StoreError> {
        let generation = {
            let current = self.current.read().unwrap_or_else(|e| e.into_inner());
            if let Some((rules, loaded)) = current.rules.as_ref() {
                if loaded.elapsed() < TTL {
                    return Ok(rules.clone());
                }
            }
            current.generation
        };
        let rules = Arc::new(alerts::load_rule_set(&self.db).await?);
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        if current.generation == generation {
            current.rules = Some((rules.clone(), Instant::now()));
        }
        Ok(rules)
    }

    /// Forgets the loaded rules, after a rule or channel changed (here or in another process).
    pub fn invalidate(&self) {
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        current.rules = None;
        current.generation += 1;
    }
}
