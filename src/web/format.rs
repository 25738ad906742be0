//! How times and counts read on a page: "5 minutes ago" with the exact UTC time on hover, "1.2k".

use time::macros::format_description;
use time::OffsetDateTime;

/// A moment shown relative to now, with its exact time for the hover title and `<time datetime>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moment {
    pub relative: String,
    pub exact: String,
    pub iso: String,
}

pub fn moment(at_ms: i64, now_ms: i64) -> Moment {
    let at =
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let exact = at
        .format(format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC"))
        .unwrap_or_default();
    let iso = at
        .format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"))
        .unwrap_or_default();
    Moment {
        relative: relative(now_ms - at_ms),
        exact,
        iso,
    }
}

fn relative(elapsed_ms: i64) -> String {
    let seconds = elapsed_ms / 1000;
    let (amount, unit) = match seconds {
        // SDK clocks run a little fast or slow; only a clearly future time is called one.
        ..=-300 => return "in the future".to_owned(),
        -299..=44 => return "just now".to_owned(),
        45..=3_599 => ((seconds + 30) / 60, "minute"),
        3_600..=86_399 => ((seconds + 1_800) / 3_600, "hour"),
        86_400..=2_591_999 => ((seconds + 43_200) / 86_400, "day"),
        2_592_000..=31_535_999 => (seconds / 2_592_000, "month"),
        _ => (seconds / 31_536_000, "year"),
    };
    let amount = amount.max(1);
    let plural = if amount == 1 { "" } else { "s" };
    format!("{amount} {unit}{plural} ago")
}

/// Counts as people read them at a glance: 999, 1.2k, 34k, 1.5M.
pub fn count(value: i64) -> String {
    match value {
        ..=999 => value.to_string(),
        1_000..=9_999 => format!("{:.1}k", value as f64 / 1_000.0),
        10_000..=999_999 => format!("{}k", value / 1_000),
        _ => format!("{:.1}M", value as f64 / 1_000_000.0),
    }
}

/// The CSS class of a level. Levels come from events, so only known names map to a class.
pub fn level_class(level: &str) -> &'static str {
    match level {
        "fatal" => "level-fatal",
        "error" => "level-error",
        "warning" => "level-warning",
        "info" => "level-info",
        "debug" => "level-debug",
        _ => "level-other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_round_to_the_nearest_unit() {
        assert_eq!(relative(10_000), "just now");
        assert_eq!(relative(-30_000), "just now", "a client clock a little fast");
        assert_eq!(relative(-3_600_000), "in the future");
        assert_eq!(relative(60_000), "1 minute ago");
        assert_eq!(relative(5 * 3_600_000 + 60_000), "5 hours ago");
        assert_eq!(relative(3 * 86_400_000), "3 days ago");
    }

    #[test]
    fn exact_time_is_utc() {
        let shown = moment(1_700_000_000_000, 1_700_000_060_000);
        assert_eq!(shown.exact, "2023-11-14 22:13:20 UTC");
        assert_eq!(shown.relative, "1 minute ago");
    }

    #[test]
    fn counts_shorten() {
        assert_eq!(count(999), "999");
        assert_eq!(count(1_234), "1.2k");
        assert_eq!(count(34_567), "34k");
        assert_eq!(count(1_500_000), "1.5M");
    }

    #[test]
    fn unknown_levels_get_a_neutral_class() {
        assert_eq!(level_class("error"), "level-error");
        assert_eq!(level_class("\" onmouseover=\"x"), "level-other");
    }
}
