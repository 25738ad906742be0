//! The sign-in throttle's use cases (the rule is `domain::sign_in_throttle`): failures are counted in the
//! database, so every process serving it makes a guesser wait the same.

use std::time::Duration;

use crate::domain::sign_in_throttle::{remaining_wait, MEMORY_MS};
use crate::store::{now_ms, sign_in_failures};

use super::{Core, CoreResult};

/// How long an attempt under these keys must still wait (None: it may be checked now).
pub async fn wait_before_attempt(core: &Core, keys: &[String]) -> CoreResult<Option<Duration>> {
    let now = now_ms();
    let recorded = sign_in_failures::failures(&core.db, keys).await?;
    Ok(recorded.into_iter().filter_map(|f| remaining_wait(f, now)).max())
}

/// A wrong password under these keys.
pub async fn attempt_failed(core: &Core, keys: &[String]) -> CoreResult<()> {
    Ok(sign_in_failures::add_failure(&core.db, keys, now_ms(), MEMORY_MS).await?)
}

/// A successful sign-in: its own keys start over.
pub async fn attempt_succeeded(core: &Core, keys: &[String]) -> CoreResult<()> {
    Ok(sign_in_failures::clear(&core.db, keys).await?)
}
