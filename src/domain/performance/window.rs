//! The periods the Performance pages offer (the last hour to the last 14 days) and the slots their charts
//! group the per-minute rollups into: 25 to 31 bars whatever the period, each a whole number of minutes
//! aligned on the epoch, so that a slot is `minute - minute % slot` in SQL and in Rust alike.

const MINUTE_MS: i64 = 60_000;

/// A period a page shows, and the slot its charts use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// As in the URL (`?period=7d`).
    pub key: &'static str,
    pub label: &'static str,
    pub minutes: i64,
    pub slot_minutes: i64,
}

/// Every period offered, shortest first.
pub const PERIODS: [Period; 4] = [
    Period {
        key: "1h",
        label: "last hour",
        minutes: 60,
        slot_minutes: 2,
    },
    Period {
        key: "24h",
        label: "last 24 hours",
        minutes: 24 * 60,
        slot_minutes: 60,
    },
    Period {
        key: "7d",
        label: "last 7 days",
        minutes: 7 * 24 * 60,
        slot_minutes: 6 * 60,
    },
    Period {
        key: "14d",
        label: "last 14 days",
        minutes: 14 * 24 * 60,
        slot_minutes: 12 * 60,
    },
];

impl Period {
    /// The period called `key`; the last 24 hours for anything else.
    pub fn named(key: &str) -> Period {
        PERIODS
            .into_iter()
            .find(|period| period.key == key)
            .unwrap_or(PERIODS[1])
    }

    /// The first minute (epoch ms) the period counts, when it ends at `now_ms`.
    pub fn since_ms(self, now_ms: i64) -> i64 {
        now_ms - self.minutes * MINUTE_MS
    }

    pub fn slot_ms(self) -> i64 {
        self.slot_minutes * MINUTE_MS
    }

    /// How many slots cover the period: from the one holding its start to the one holding its end.
    pub fn slots(self) -> usize {
        (self.minutes / self.slot_minutes) as usize + 1
    }

    /// The start (epoch ms) of the slot a minute falls in.
    pub fn slot_of(self, minute_ms: i64) -> i64 {
        minute_ms - minute_ms.rem_euclid(self.slot_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_period_is_drawn_in_about_thirty_bars_of_whole_minutes() {
        for period in PERIODS {
            assert_eq!(period.minutes % period.slot_minutes, 0, "{}", period.key);
            assert!(
                (25..=31).contains(&period.slots()),
                "{}: {}",
                period.key,
                period.slots()
            );
        }
        assert_eq!(Period::named("7d").slot_ms(), 6 * 3_600_000);
        assert_eq!(Period::named("nonsense"), PERIODS[1], "24 hours unless asked");
    }

    #[test]
    fn the_slots_cover_the_whole_period() {
        let period = Period::named("24h");
        let now = 1_700_000_123_456;
        let first_slot = period.slot_of(now) - period.slot_ms() * (period.slots() as i64 - 1);
        assert!(first_slot <= period.since_ms(now), "the oldest minute has a bar");
        assert_eq!(period.slot_of(first_slot + 59 * MINUTE_MS), first_slot);
    }
}
