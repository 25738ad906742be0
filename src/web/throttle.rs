//! Slowing down password guessing, per account: after a few free failures every further attempt on the
//! account must wait twice as long as the one before (capped), or it is refused unchecked. Failures never
//! count against an address as a whole, so guessing some accounts cannot lock out anybody else sharing the
//! address (everyone behind a proxy whose `X-Forwarded-For` is not trusted).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed before waits begin.
const FREE_FAILURES: u32 = 5;
const LONGEST_WAIT: Duration = Duration::from_secs(15 * 60);
/// Failures older than this are forgotten.
const MEMORY: Duration = Duration::from_secs(60 * 60);
/// Bounds the memory an attacker rotating names or addresses can make us use.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

/// In-memory, so per process: behind several Faultline processes each one counts on its own.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, Failures>>,
}

impl LoginThrottle {
    /// How long the caller must still wait before trying any of these keys again (None: may try now).
    pub fn wait_for(&self, keys: &[String], now: Instant) -> Option<Duration> {
        let failures = self.failures.lock().expect("throttle lock");
        keys.iter()
            .filter_map(|key| failures.get(key))
            .filter_map(|entry| remaining_wait(entry, now))
            .max()
    }

    pub fn record_failure(&self, keys: &[String], now: Instant) {
        let mut failures = self.failures.lock().expect("throttle lock");
        if failures.len() >= MAX_ENTRIES {
            failures.retain(|_, entry| now.duration_since(entry.last) < MEMORY);
        }
        for key in keys {
            let entry = failures.entry(key.clone()).or_insert(Failures { count: 0, last: now });
            if now.duration_since(entry.last) >= MEMORY {
                entry.count = 0;
            }
            entry.count += 1;
            entry.last = now;
        }
    }

    pub fn record_success(&self, keys: &[String]) {
        let mut failures = self.failures.lock().expect("throttle lock");
        for key in keys {
            failures.remove(key);
        }
    }
}

fn remaining_wait(entry: &Failures, now: Instant) -> Option<Duration> {
    if entry.count < FREE_FAILURES {
        return None;
    }
    let doublings = (entry.count - FREE_FAILURES).min(16);
    let wait = Duration::from_secs(1u64 << doublings).min(LONGEST_WAIT);
    let waited = now.duration_since(entry.last);
    (waited < wait).then(|| wait - waited)
}

/// The throttle keys of one attempt: the account named, from anywhere, and the account from this address.
/// A success clears only its own two, so the owner signing in does not reset a guesser's count elsewhere.
pub fn attempt_keys(email: &str, address: &str) -> Vec<String> {
    let account = email.trim().to_lowercase();
    vec![
        format!("account:{account}"),
        format!("account:{account} address:{address}"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_are_free_then_waits_double() {
        let throttle = LoginThrottle::default();
        let keys = attempt_keys("A@x.org", "10.0.0.1");
        let start = Instant::now();
        for _ in 0..5 {
            assert_eq!(throttle.wait_for(&keys, start), None);
            throttle.record_failure(&keys, start);
        }
        assert_eq!(throttle.wait_for(&keys, start), Some(Duration::from_secs(1)));
        throttle.record_failure(&keys, start);
        assert_eq!(throttle.wait_for(&keys, start), Some(Duration::from_secs(2)));
        assert_eq!(throttle.wait_for(&keys, start + Duration::from_secs(2)), None);
    }

    #[test]
    fn guessing_other_accounts_from_one_address_never_locks_this_one() {
        let throttle = LoginThrottle::default();
        let start = Instant::now();
        for n in 0..20 {
            throttle.record_failure(&attempt_keys(&format!("user{n}@x.org"), "10.0.0.9"), start);
        }
        assert_eq!(throttle.wait_for(&attempt_keys("new@x.org", "10.0.0.9"), start), None);
    }

    #[test]
    fn the_account_is_throttled_from_every_address() {
        let throttle = LoginThrottle::default();
        let start = Instant::now();
        for n in 0..6 {
            throttle.record_failure(&attempt_keys("a@x.org", &format!("10.0.0.{n}")), start);
        }
        assert!(throttle
            .wait_for(&attempt_keys("A@x.org", "10.0.0.99"), start)
            .is_some());
    }

    #[test]
    fn the_owners_sign_in_elsewhere_does_not_reset_the_guesser() {
        let throttle = LoginThrottle::default();
        let guesser = attempt_keys("a@x.org", "10.0.0.9");
        let start = Instant::now();
        for _ in 0..6 {
            throttle.record_failure(&guesser, start);
        }
        let owner = attempt_keys("a@x.org", "10.0.0.1");
        throttle.record_success(&owner);
        assert_eq!(throttle.wait_for(&owner, start), None);
        assert_eq!(throttle.wait_for(&guesser, start), Some(Duration::from_secs(2)));
    }

    #[test]
    fn success_clears_the_account() {
        let throttle = LoginThrottle::default();
        let keys = attempt_keys("a@x.org", "10.0.0.1");
        let start = Instant::now();
        for _ in 0..7 {
            throttle.record_failure(&keys, start);
        }
        throttle.record_success(&keys);
        assert_eq!(throttle.wait_for(&keys, start), None);
    }
}
