//! A client key's rate limit, as Sentry's key settings express it: at most `count` events per `window`
//! seconds. Counted in fixed windows; an event over the limit waits for the window's end.

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

/// One key's current window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub start_ms: i64,
    pub used: u32,
}

/// Takes one event from the window at `now_ms`; `Err(seconds)` until the window ends when it is spent.
pub fn take(window: &mut Window, limit: KeyRateLimit, now_ms: i64) -> Result<(), u64> {
    let length_ms = i64::from(limit.window) * 1000;
    let start = now_ms - now_ms.rem_euclid(length_ms);
    if window.start_ms != start {
        *window = Window {
            start_ms: start,
            used: 0,
        };
    }
    if window.used >= limit.count {
        let left_ms = start + length_ms - now_ms;
        return Err(((left_ms + 999) / 1000).max(1) as u64);
    }
    window.used += 1;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_admits_count_events_then_says_how_long_to_wait() {
        let limit = KeyRateLimit::new(2, 60).unwrap();
        let mut window = Window::default();
        assert_eq!(take(&mut window, limit, 60_000), Ok(()));
        assert_eq!(take(&mut window, limit, 60_500), Ok(()));
        assert_eq!(take(&mut window, limit, 90_000), Err(30));
        assert_eq!(take(&mut window, limit, 120_000), Ok(()), "a new window");
    }

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
