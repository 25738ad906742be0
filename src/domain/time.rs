//! The one instant type from the domain to the store: epoch milliseconds, as every stored instant is kept.
//! Sentry's wire format gives seconds as a float; [`Timestamp::from_seconds_f64`] and
//! [`Timestamp::as_seconds_f64`] convert at that edge.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An instant as epoch milliseconds (UTC).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type)]
#[serde(transparent)]
#[sqlx(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_millis(millis: i64) -> Timestamp {
        Timestamp(millis)
    }

    /// The current time.
    pub fn now() -> Timestamp {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(since_epoch.as_millis() as i64)
    }

    /// Unix seconds (Sentry's float form), rounded to the nearest millisecond.
    pub fn from_seconds_f64(seconds: f64) -> Timestamp {
        Timestamp((seconds * 1000.0).round() as i64)
    }

    pub fn as_seconds_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// This instant moved by a duration in milliseconds (negative moves back), saturating.
    pub const fn saturating_add_millis(self, millis: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(millis))
    }

    /// Milliseconds from `earlier` to this instant (negative when `earlier` is later).
    pub const fn millis_since(self, earlier: Timestamp) -> i64 {
        self.0 - earlier.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<i64> for Timestamp {
    fn from(millis: i64) -> Timestamp {
        Timestamp(millis)
    }
}

impl From<Timestamp> for i64 {
    fn from(at: Timestamp) -> i64 {
        at.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_millis_round_trip() {
        let at = Timestamp::from_seconds_f64(1_700_000_000.123);
        assert_eq!(at.as_millis(), 1_700_000_000_123);
        assert_eq!(at.as_seconds_f64(), 1_700_000_000.123);
        assert_eq!(Timestamp::from_seconds_f64(at.as_seconds_f64()), at);
        assert_eq!(
            Timestamp::from_seconds_f64(1_704_067_200.5).as_millis(),
            1_704_067_200_500
        );
        assert_eq!(Timestamp::from_seconds_f64(0.0), Timestamp::from_millis(0));
        assert_eq!(Timestamp::from_millis(-1500).as_seconds_f64(), -1.5);
    }

    #[test]
    fn timestamps_order_and_serialise_as_the_bare_millis() {
        let (early, late) = (Timestamp::from_millis(1), Timestamp::from_millis(2));
        assert!(early < late);
        assert_eq!(serde_json::to_string(&late).unwrap(), "2");
        assert_eq!(serde_json::from_str::<Timestamp>("2").unwrap(), late);
        assert_eq!(late.to_string(), "2");
    }

    #[test]
    fn now_is_after_2023() {
        assert!(Timestamp::now() > Timestamp::from_seconds_f64(1_700_000_000.0));
    }
}
