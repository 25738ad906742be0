//! A project's limits beyond its keys' own: the daily quota (events per UTC day, set per project) and spike
//! protection (a per-minute allowance derived from the project's usual rate, set server-wide), and the
//! arithmetic of counting any limit across several processes that share totals now and then.

pub const MINUTE_MS: i64 = 60_000;
pub const DAY_MS: i64 = 86_400_000;
const MINUTES_PER_DAY: u64 = 1440;

/// The largest daily quota accepted: a billion events a day is far beyond one server, so anything larger
/// is a typing mistake rather than a limit.
pub const MAX_DAILY_QUOTA: i64 = 1_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyQuota(pub u64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the daily quota must be a whole number of events from 1 to {MAX_DAILY_QUOTA}, not {0}")]
pub struct InvalidQuota(pub String);

impl DailyQuota {
    pub fn new(events: i64) -> Result<DailyQuota, InvalidQuota> {
        if (1..=MAX_DAILY_QUOTA).contains(&events) {
            Ok(DailyQuota(events as u64))
        } else {
            Err(InvalidQuota(events.to_string()))
        }
    }

    /// A quota as typed in a form: a whole number, else the sentence says what was typed.
    pub fn parse(text: &str) -> Result<DailyQuota, InvalidQuota> {
        let text = text.trim();
        text.parse::<i64>()
            .map_err(|_| InvalidQuota(format!("{text:?}")))
            .and_then(DailyQuota::new)
    }
}

/// A fixed window `[start, end)` in epoch ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Window {
    pub start_ms: i64,
    pub end_ms: i64,
}

impl Window {
    /// The window of `length_ms` that holds `now_ms`, aligned to the epoch (so UTC days and minutes).
    pub fn at(now_ms: i64, length_ms: i64) -> Window {
        let start_ms = now_ms - now_ms.rem_euclid(length_ms);
        Window {
            start_ms,
            end_ms: start_ms + length_ms,
        }
    }

    /// Whole seconds until the window ends, at least 1 (a client told 0 would retry at once).
    pub fn retry_after_secs(&self, now_ms: i64) -> u64 {
        let left_ms = (self.end_ms - now_ms).max(0);
        ((left_ms + 999) / 1000).max(1) as u64
    }
}

/// Spike protection: a project may take, per minute, `multiplier` times its average per-minute rate over
/// the last 24 hours, and never less than `floor` events. A project with no history gets the floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpikeRule {
    pub multiplier: u32,
    pub floor: u32,
}

impl SpikeRule {
    pub const DEFAULT: SpikeRule = SpikeRule {
        multiplier: 10,
        floor: 120_000,
    };

    /// `off` or `0`: no spike protection; `K`: K times the usual rate with the default floor; `K,FLOOR`.
    pub fn parse(text: &str) -> Result<Option<SpikeRule>, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") || text == "0" {
            return Ok(None);
        }
        let number = |part: &str| part.trim().parse::<u32>().ok().filter(|n| *n > 0);
        let (multiplier, floor) = match text.split_once(',') {
            Some((k, floor)) => (number(k), number(floor)),
            None => (number(text), Some(SpikeRule::DEFAULT.floor)),
        };
        match (multiplier, floor) {
            (Some(multiplier), Some(floor)) => Ok(Some(SpikeRule { multiplier, floor })),
            _ => Err(format!(
                "`{text}` is not off, a multiplier (10) or a multiplier and a per-minute floor (10,120000)"
            )),
        }
    }

    /// Events the project may take this minute, given what it had accepted in the last 24 hours.
    pub fn allowance(&self, accepted_last_day: u64) -> u64 {
        let usual = (u64::from(self.multiplier) * accepted_last_day).div_ceil(MINUTES_PER_DAY);
        usual.max(u64::from(self.floor))
    }
}

/// One limit's count as a process sees it: the shared total at its last sync (which includes everything it
/// had flushed), what it is flushing right now, and what it admitted since. Deciding on the sum costs no
/// database round trip; other processes' admissions since the last sync are the only thing not seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub synced: i64,
    pub in_flight: i64,
    pub unflushed: i64,
}

impl Tally {
    pub fn used(&self) -> i64 {
        self.synced + self.in_flight + self.unflushed
    }

    pub fn has_room(&self, limit: u64) -> bool {
        self.used() < i64::try_from(limit).unwrap_or(i64::MAX)
    }

    /// Counts one event when the limit has room; `false` when it is spent.
    pub fn take(&mut self, limit: u64) -> bool {
        if !self.has_room(limit) {
            return false;
        }
        self.unflushed += 1;
        true
    }

    /// Starts a sync: what was admitted moves in flight; returns the delta to add to the shared total.
    pub fn begin_sync(&mut self) -> i64 {
        self.in_flight += self.unflushed;
        self.unflushed = 0;
        self.in_flight
    }

    /// The sync succeeded: the shared total (with our delta in it) replaces what we knew.
    pub fn synced_to(&mut self, total: i64) {
        self.synced = total;
        self.in_flight = 0;
    }

    /// The sync failed: the delta waits for the next one.
    pub fn sync_failed(&mut self) {
        self.unflushed += self.in_flight;
        self.in_flight = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_daily_quota_outside_its_range_is_refused_with_a_sentence() {
        assert_eq!(DailyQuota::new(100), Ok(DailyQuota(100)));
        assert!(DailyQuota::new(-1).unwrap_err().to_string().contains("not -1"));
        assert!(DailyQuota::new(0).is_err());
        assert!(DailyQuota::new(1_000_000_000_000).is_err());
        let error = DailyQuota::parse("lots").unwrap_err().to_string();
        assert_eq!(
            error,
            "the daily quota must be a whole number of events from 1 to 1000000000, not \"lots\""
        );
    }

    #[test]
    fn a_day_window_ends_at_the_next_utc_midnight() {
        let noon = 19_000 * DAY_MS + DAY_MS / 2;
        let day = Window::at(noon, DAY_MS);
        assert_eq!((day.start_ms, day.end_ms), (19_000 * DAY_MS, 19_001 * DAY_MS));
        assert_eq!(day.retry_after_secs(noon), 43_200);
        assert_eq!(day.retry_after_secs(day.end_ms - 1), 1);
        assert_eq!(Window::at(day.end_ms, DAY_MS).start_ms, day.end_ms, "the next day");
    }

    #[test]
    fn the_spike_allowance_is_k_times_the_usual_rate_but_never_below_the_floor() {
        let rule = SpikeRule {
            multiplier: 10,
            floor: 100,
        };
        assert_eq!(rule.allowance(0), 100, "no history: the floor");
        assert_eq!(rule.allowance(1440), 100, "1 a minute usually: 10, below the floor");
        assert_eq!(rule.allowance(1440 * 50), 500, "50 a minute usually: 500");
        assert_eq!(rule.allowance(1441 * 50), 501, "rounded up");
    }

    #[test]
    fn spike_settings_read_off_a_multiplier_or_a_multiplier_and_floor() {
        assert_eq!(SpikeRule::parse("off"), Ok(None));
        assert_eq!(SpikeRule::parse("0"), Ok(None));
        assert_eq!(
            SpikeRule::parse("5"),
            Ok(Some(SpikeRule {
                multiplier: 5,
                floor: 120_000
            }))
        );
        assert_eq!(
            SpikeRule::parse("20, 50"),
            Ok(Some(SpikeRule {
                multiplier: 20,
                floor: 50
            }))
        );
        assert!(SpikeRule::parse("-3").is_err());
        assert!(SpikeRule::parse("10,0").is_err());
    }

    #[test]
    fn a_tally_decides_on_the_shared_total_and_what_is_not_yet_flushed() {
        let mut tally = Tally::default();
        assert!(tally.take(3) && tally.take(3));
        assert_eq!(tally.begin_sync(), 2);
        assert!(tally.take(3), "2 in flight, 1 more fits");
        assert!(!tally.take(3));
        tally.synced_to(5); // another process had admitted 3
        assert_eq!(tally.used(), 6);
        assert_eq!(tally.begin_sync(), 1);
        tally.sync_failed();
        assert_eq!((tally.unflushed, tally.in_flight), (1, 0), "kept for the next sync");
    }
}
