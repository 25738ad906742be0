//! Time windows of the API (`statsPeriod=24h`, `14d`) and the hourly or daily buckets of issue stats.

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// A relative period such as `24h` or `14d`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsPeriod {
    pub name: String,
    pub length_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid period {0:?} (expected a number and a unit among s, m, h, d, w, e.g. 24h or 14d)")]
pub struct InvalidPeriod(pub String);

impl StatsPeriod {
    pub fn parse(text: &str) -> Result<StatsPeriod, InvalidPeriod> {
        let invalid = || InvalidPeriod(text.to_owned());
        let text = text.trim();
        let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(invalid)?;
        let (number, unit) = text.split_at(split);
        let number: i64 = number.parse().map_err(|_| invalid())?;
        let unit_ms = match unit {
            "s" => 1_000,
            "m" => 60_000,
            "h" => HOUR_MS,
            "d" => DAY_MS,
            "w" => 7 * DAY_MS,
            _ => return Err(invalid()),
        };
        let length_ms = number.checked_mul(unit_ms).filter(|ms| *ms > 0).ok_or_else(invalid)?;
        Ok(StatsPeriod {
            name: text.to_owned(),
            length_ms,
        })
    }

    /// Hourly buckets up to two days, daily beyond (Sentry: `24h` hourly, `14d` daily).
    pub fn bucket_ms(&self) -> i64 {
        if self.length_ms <= 2 * DAY_MS {
            HOUR_MS
        } else {
            DAY_MS
        }
    }

    /// Bucket starts (epoch ms), oldest first, covering the period up to the bucket holding `now_ms`.
    pub fn bucket_starts(&self, now_ms: i64) -> Vec<i64> {
        let size = self.bucket_ms();
        let last = now_ms - now_ms.rem_euclid(size);
        let count = (self.length_ms / size).max(1);
        (0..count).rev().map(|i| last - i * size).collect()
    }
}

/// Sums hourly counts `(hour start ms, n)` into the period's buckets: `(bucket start in unix seconds, n)`.
pub fn bucket_counts(period: &StatsPeriod, now_ms: i64, hourly: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let starts = period.bucket_starts(now_ms);
    let size = period.bucket_ms();
    starts
        .iter()
        .map(|start| {
            let n = hourly
                .iter()
                .filter(|(hour, _)| *hour >= *start && *hour < start + size)
                .map(|(_, n)| n)
                .sum();
            (start / 1000, n)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_with_their_units() {
        assert_eq!(StatsPeriod::parse("24h").unwrap().length_ms, DAY_MS);
        assert_eq!(StatsPeriod::parse("14d").unwrap().length_ms, 14 * DAY_MS);
        for bad in ["", "h", "24", "24x", "-1h", "0d"] {
            assert!(StatsPeriod::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_day_has_24_hourly_buckets_ending_with_the_current_hour() {
        let now = 1_700_000_000_000;
        let starts = StatsPeriod::parse("24h").unwrap().bucket_starts(now);
        assert_eq!(starts.len(), 24);
        assert_eq!(*starts.last().unwrap(), now - now % HOUR_MS);
        assert_eq!(starts[1] - starts[0], HOUR_MS);
    }

    #[test]
    fn fourteen_days_sum_hours_into_daily_buckets() {
        let period = StatsPeriod::parse("14d").unwrap();
        let now = 100 * DAY_MS + 5 * HOUR_MS;
        let today = 100 * DAY_MS;
        let counts = bucket_counts(
            &period,
            now,
            &[(today, 2), (today + HOUR_MS, 3), (today - DAY_MS, 1), (0, 9)],
        );
        assert_eq!(counts.len(), 14);
        assert_eq!(counts[13], (today / 1000, 5));
        assert_eq!(counts[12], ((today - DAY_MS) / 1000, 1));
        assert_eq!(counts.iter().map(|(_, n)| n).sum::<i64>(), 6);
    }
}
