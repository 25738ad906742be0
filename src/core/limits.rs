//! Client keys' rate limits, counted in this process's memory: one fixed window per key. With several
//! processes behind a load balancer each counts its own share (the limit is per process until the counts
//! are shared through the database).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::domain::limits::{take, KeyRateLimit, Window};
use crate::store::now_ms;

#[derive(Clone, Default)]
pub struct KeyLimiter {
    windows: Arc<Mutex<HashMap<i64, Window>>>,
}

impl KeyLimiter {
    /// Takes one event from the key's window; `Err(seconds to wait)` when the window is spent.
    pub fn take(&self, key_id: i64, limit: KeyRateLimit) -> Result<(), u64> {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        take(windows.entry(key_id).or_default(), limit, now_ms())
    }
}
