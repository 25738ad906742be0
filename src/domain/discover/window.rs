//! When a Discover query looks: `start`/`end` (ISO 8601; naive means UTC, as Grafana sends them) or
//! `statsPeriod` back from now, and for a time series its interval and the zero-filled buckets, by
//! Sentry's rules (`parse_stats_period`, `get_rollup_from_request`, `zerofill`).

use serde_json::Value;

use crate::domain::normalize::parse_timestamp;
use crate::domain::period::StatsPeriod;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Sentry's default period for Discover queries.
const DEFAULT_PERIOD: &str = "14d";
/// Sentry's `MAX_ROLLUP_POINTS`: more points than this (divided by the number of top events) fall back to
/// the default interval for the range.
const MAX_POINTS: i64 = 10_000;

/// `[start_ms, end_ms)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start_ms: i64,
    pub end_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WindowError(pub String);

impl Window {
    /// From the request's `start`, `end` and `statsPeriod` (empty values count as absent).
    pub fn resolve(
        start: Option<&str>,
        end: Option<&str>,
        stats_period: Option<&str>,
        now_ms: i64,
    ) -> Result<Window, WindowError> {
        let window = match (present(start), present(end)) {
            (Some(start), Some(end)) => Window {
                start_ms: instant("start", start)?,
                end_ms: instant("end", end)?,
            },
            (None, None) => {
                let period = present(stats_period).unwrap_or(DEFAULT_PERIOD);
                let length = StatsPeriod::parse(period).map_err(|e| WindowError(format!("statsPeriod: {e}")))?;
                Window {
                    start_ms: now_ms - length.length_ms,
                    end_ms: now_ms,
                }
            }
            _ => return Err(WindowError("start and end go together".to_owned())),
        };
        if window.end_ms <= window.start_ms {
            return Err(WindowError("end must be after start".to_owned()));
        }
        Ok(window)
    }

    pub fn length_ms(&self) -> i64 {
        self.end_ms - self.start_ms
    }
}

/// A parameter with something in it.
fn present(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

fn instant(name: &str, text: &str) -> Result<i64, WindowError> {
    parse_timestamp(&Value::String(text.to_owned()))
        .map(|seconds| (seconds * 1000.0).round() as i64)
        .ok_or_else(|| WindowError(format!("{name} must be a date (ISO 8601), got {text:?}")))
}

/// The interval of a series in ms. Sentry's rules: `^(\d+)([hdmsw]?)$` (no unit means seconds); anything
/// unreadable is an hour; zero, or more than 10,000 points (shared among the top events), falls back to
/// the default interval for the range. Then, because transactions are rolled up per minute, the interval
/// is rounded up to whole minutes.
pub fn series_interval(requested: Option<&str>, window: &Window, top_events: usize) -> i64 {
    let asked = requested
        .map_or(Some(HOUR_MS), |text| interval_ms(text.trim()))
        .unwrap_or(HOUR_MS);
    let max_points = MAX_POINTS / top_events.max(1) as i64;
    let interval = if asked > 0 && window.length_ms() / asked <= max_points {
        asked
    } else {
        // Past Sentry's ranges (years), the default would still be too many points.
        default_interval(window.length_ms()).max(window.length_ms() / MAX_POINTS + 1)
    };
    let minutes = interval / MINUTE_MS + i64::from(interval % MINUTE_MS != 0);
    minutes.max(1).saturating_mul(MINUTE_MS)
}

/// `^(\d+)([hdmsw]?)$` in ms; `None` when unreadable. Units are [`StatsPeriod`]'s; zero is readable
/// (it falls back to the default), which `StatsPeriod` is not.
fn interval_ms(text: &str) -> Option<i64> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let number: i64 = text[..digits].parse().ok()?;
    match &text[digits..] {
        "" => Some(number.saturating_mul(1000)),
        "s" | "m" | "h" | "d" | "w" if number == 0 => Some(0),
        _ => StatsPeriod::parse(text).ok().map(|p| p.length_ms),
    }
}

/// Sentry's `get_interval_from_range`.
fn default_interval(range_ms: i64) -> i64 {
    match range_ms {
        r if r >= 60 * DAY_MS => DAY_MS,
        r if r >= 30 * DAY_MS => 4 * HOUR_MS,
        r if r > DAY_MS => HOUR_MS,
        r if r > HOUR_MS => 5 * MINUTE_MS,
        _ => 15 * MINUTE_MS,
    }
}

/// The start (ms) of each bucket of a series over `window`: from the interval boundary at or before the
/// start, while a bucket starts before the end; without `partial`, a last bucket the end cuts short is
/// left out (Sentry's `zerofill` and `partial=1`).
pub fn bucket_starts(window: &Window, interval_ms: i64, partial: bool) -> Vec<i64> {
    let first = window.start_ms.div_euclid(interval_ms) * interval_ms;
    let end = if partial {
        window.end_ms
    } else {
        window.end_ms.div_euclid(interval_ms) * interval_ms
    };
    (0i64..)
        .map(|i| first.saturating_add(i.saturating_mul(interval_ms)))
        .take_while(|at| *at < end)
        .collect()
}

/// `topEvents`: absent, or 1 to 10, with Sentry's messages.
pub fn parse_top_events(text: Option<&str>) -> Result<Option<usize>, WindowError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let n: i64 = text
        .parse()
        .map_err(|_| WindowError("topEvents must be an integer".to_owned()))?;
    match n {
        n if n > 10 => Err(WindowError("Can only get up to 10 top events".to_owned())),
        n if n < 1 => Err(WindowError("If topEvents needs to be at least 1".to_owned())),
        n => Ok(Some(n as usize)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_767_351_600_000; // 2026-01-02T11:00:00Z

    fn window(hours: i64) -> Window {
        Window {
            start_ms: NOW - hours * HOUR_MS,
            end_ms: NOW,
        }
    }

    #[test]
    fn naive_times_are_utc_and_offsets_are_honoured() {
        let naive = Window::resolve(Some("2026-01-02T06:00:00"), Some("2026-01-02T12:00:00"), None, NOW).unwrap();
        let zoned = Window::resolve(
            Some("2026-01-02T08:00:00+02:00"),
            Some("2026-01-02T12:00:00Z"),
            None,
            NOW,
        )
        .unwrap();
        assert_eq!(naive, zoned);
        assert_eq!(naive.start_ms, 1_767_333_600_000);
        assert_eq!(naive.length_ms(), 6 * HOUR_MS);
    }

    #[test]
    fn a_period_counts_back_from_now_and_fourteen_days_is_the_default() {
        assert_eq!(Window::resolve(None, None, Some("24h"), NOW).unwrap(), window(24));
        assert_eq!(Window::resolve(None, None, None, NOW).unwrap(), window(14 * 24));
        assert_eq!(Window::resolve(Some(""), Some(""), Some("1h"), NOW).unwrap(), window(1));
        assert!(Window::resolve(None, None, Some("24x"), NOW).is_err());
        assert!(Window::resolve(Some("2026-01-02T06:00:00"), None, None, NOW).is_err());
        assert!(Window::resolve(Some("2026-01-02T06:00:00"), Some("2026-01-02T06:00:00"), None, NOW).is_err());
        assert!(Window::resolve(Some("yesterday"), Some("2026-01-02T06:00:00"), None, NOW).is_err());
    }

    #[test]
    fn intervals_follow_sentry_and_round_up_to_minutes() {
        let six_hours = window(6);
        assert_eq!(series_interval(Some("5m"), &six_hours, 10), 5 * MINUTE_MS);
        assert_eq!(series_interval(Some("3h"), &six_hours, 10), 3 * HOUR_MS);
        assert_eq!(
            series_interval(Some("300"), &six_hours, 10),
            5 * MINUTE_MS,
            "no unit: seconds"
        );
        assert_eq!(
            series_interval(Some("90s"), &six_hours, 1),
            2 * MINUTE_MS,
            "whole minutes"
        );
        assert_eq!(series_interval(Some("10s"), &six_hours, 1), MINUTE_MS);
        assert_eq!(series_interval(Some("nonsense"), &six_hours, 1), HOUR_MS);
        assert_eq!(series_interval(Some("0x"), &six_hours, 1), HOUR_MS);
        assert_eq!(
            series_interval(Some("99999999999999999d"), &six_hours, 1) % MINUTE_MS,
            0
        );
        assert_eq!(series_interval(None, &six_hours, 1), HOUR_MS);
        // `0s` (Grafana's sub-second interval) and too many points fall back to the range's default.
        assert_eq!(series_interval(Some("0s"), &six_hours, 10), 5 * MINUTE_MS);
        assert_eq!(series_interval(Some("1m"), &window(90 * 24), 10), DAY_MS);
        assert_eq!(series_interval(Some("1m"), &window(40 * 24), 1), 4 * HOUR_MS);
        assert_eq!(series_interval(Some("0s"), &window(1), 1), 15 * MINUTE_MS);
        let centuries = Window {
            start_ms: 0,
            end_ms: 200 * 365 * DAY_MS,
        };
        let interval = series_interval(Some("1m"), &centuries, 1);
        assert!(bucket_starts(&centuries, interval, true).len() as i64 <= MAX_POINTS + 1);
    }

    #[test]
    fn buckets_start_on_interval_boundaries_and_keep_the_partial_last_one_on_request() {
        let window = Window {
            start_ms: 10 * MINUTE_MS + 1_000,
            end_ms: 40 * MINUTE_MS + 1_000,
        };
        let starts = bucket_starts(&window, 10 * MINUTE_MS, true);
        assert_eq!(starts, [10, 20, 30, 40].map(|m| m * MINUTE_MS));
        let whole = bucket_starts(&window, 10 * MINUTE_MS, false);
        assert_eq!(whole, [10, 20, 30].map(|m| m * MINUTE_MS));
    }

    #[test]
    fn top_events_is_one_to_ten() {
        assert_eq!(parse_top_events(None), Ok(None));
        assert_eq!(parse_top_events(Some("10")), Ok(Some(10)));
        assert_eq!(
            parse_top_events(Some("x")).unwrap_err().0,
            "topEvents must be an integer"
        );
        assert_eq!(
            parse_top_events(Some("11")).unwrap_err().0,
            "Can only get up to 10 top events"
        );
        assert!(parse_top_events(Some("0")).is_err());
    }
}
