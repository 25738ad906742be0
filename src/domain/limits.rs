//! A client key's rate limit, as Sentry's key settings express it: at most `count` events per `window`
//! seconds. Counted in fixed windows (see `quotas`); an event over the limit waits for the window's end.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRateLimit {
    pub count: u32,
    /// Seconds.
    pub window: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRateLimit {
    #[error("rateLimit.count must be from 1 to 1000000, not {0}")]
    Count(i64),
    #[error("rateLimit.window must be from 60 to 86400 seconds, not {0}")]
    Window(i64),
}

impl KeyRateLimit {
    pub fn new(count: i64, window: i64) -> Result<KeyRateLimit, InvalidRateLimit> {
        let count = u32::try_from(count)
            .ok()
            .filter(|c| (1..=1_000_000).contains(c))
            .ok_or(InvalidRateLimit::Count(count))?;
        let window = u32::try_from(window)
            .ok()
            .filter(|w| (60..=86_400).contains(w))
            .ok_or(InvalidRateLimit::Window(window))?;
        Ok(KeyRateLimit { count, window })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_outside_sentrys_ranges_are_refused_with_a_sentence() {
        assert_eq!(KeyRateLimit::new(-1, 60), Err(InvalidRateLimit::Count(-1)));
        assert_eq!(
            KeyRateLimit::new(1_000_000_000_000, 60),
            Err(InvalidRateLimit::Count(1_000_000_000_000))
        );
        assert!(KeyRateLimit::new(10, 5)
            .unwrap_err()
            .to_string()
            .contains("60 to 86400 seconds"));
    }
}
