//! Slowing down password guessing, per account: after a few free failures every further attempt on the
//! account must wait twice as long as the one before (capped), or it is refused unchecked. Failures never
//! count against an address as a whole, so guessing some accounts cannot lock out anybody else sharing the
//! address (everyone behind a proxy whose `X-Forwarded-For` is not trusted). The counts are the database's,
//! so every process behind a load balancer throttles the same guesser.

use std::time::Duration;

/// Failures allowed before waits begin.
const FREE_FAILURES: i64 = 5;
const LONGEST_WAIT: Duration = Duration::from_secs(15 * 60);
/// Failures older than this are forgotten.
pub const MEMORY_MS: i64 = 60 * 60 * 1000;

/// One throttle key's record: failures in a row, and when the last one was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    pub count: i64,
    pub last_ms: i64,
}

/// How long an attempt at `now_ms` must still wait after these failures (None: it may try now).
pub fn remaining_wait(failures: Failures, now_ms: i64) -> Option<Duration> {
    let waited_ms = now_ms.saturating_sub(failures.last_ms).max(0);
    if failures.count < FREE_FAILURES || waited_ms >= MEMORY_MS {
        return None;
    }
    let doublings = (failures.count - FREE_FAILURES).min(16) as u32;
    let wait = Duration::from_secs(1u64 << doublings).min(LONGEST_WAIT);
    let waited = Duration::from_millis(waited_ms as u64);
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

    fn after(count: i64) -> Failures {
        Failures { count, last_ms: 0 }
    }

    #[test]
    fn five_failures_are_free_then_waits_double() {
        assert_eq!(remaining_wait(after(4), 0), None);
        assert_eq!(remaining_wait(after(5), 0), Some(Duration::from_secs(1)));
        assert_eq!(remaining_wait(after(6), 0), Some(Duration::from_secs(2)));
        assert_eq!(remaining_wait(after(6), 500), Some(Duration::from_millis(1500)));
        assert_eq!(remaining_wait(after(6), 2_000), None);
        assert_eq!(remaining_wait(after(40), 0), Some(LONGEST_WAIT));
    }

    #[test]
    fn old_failures_are_forgotten() {
        assert_eq!(remaining_wait(after(40), MEMORY_MS), None);
    }

    #[test]
    fn keys_name_the_account_alone_and_from_the_address() {
        let keys = attempt_keys(" A@x.org", "10.0.0.1");
        assert_eq!(keys, ["account:a@x.org", "account:a@x.org address:10.0.0.1"]);
    }
}
