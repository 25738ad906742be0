//! What each process caches of the shared settings, and how a change reaches every process: the process
//! that made it forgets its copy at once and announces the change (`store::changes`); the others forget
//! theirs when they hear it (`worker::change_feed`), within a second. The caches' own lifetimes (30 s) stay
//! as the fallback when an announcement is lost.

use super::Core;
use crate::store::changes::announce;

/// A kind of cached setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Client keys and what ingest reads with them: project enabled, filters, scrubbing, limits, quotas.
    Keys,
    /// Alert rules and their channels.
    Rules,
    /// Uploaded source maps: lookups that found nothing are asked again.
    SourceMaps,
}

impl Change {
    const ALL: [Change; 3] = [Change::Keys, Change::Rules, Change::SourceMaps];

    fn name(self) -> &'static str {
        match self {
            Change::Keys => "keys",
            Change::Rules => "rules",
            Change::SourceMaps => "source_maps",
        }
    }

    pub fn parse(name: &str) -> Option<Change> {
        Change::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl Core {
    /// After `change` was committed: this process forgets its copy, and the others are told to.
    pub async fn changed(&self, change: Change) {
        self.forget(change);
        if let Err(error) = announce(&self.db, change.name()).await {
            tracing::warn!(%error, change = change.name(), "a change could not be announced; other processes see it when their cache expires");
        }
    }

    /// Forgets this process's copy of `change`.
    pub fn forget(&self, change: Change) {
        match change {
            Change::Keys => self.keys.invalidate(),
            Change::Rules => self.rules.invalidate(),
            Change::SourceMaps => self.source_maps.forget_misses(),
        }
    }

    /// Forgets every cached setting (announcements may have been missed).
    pub fn forget_all(&self) {
        Change::ALL.into_iter().for_each(|change| self.forget(change));
    }
}
