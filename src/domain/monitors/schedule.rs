//! A monitor's schedule and settings as `monitor_config` carries them (Sentry's crons protocol): a crontab of
//! five fields or an interval, read in the monitor's time zone, with the check-in margin and the longest
//! run in minutes and the failure and recovery thresholds. Crontabs are parsed and stepped by `croner`
//! (POSIX/Vixie semantics, `@hourly` and friends); time zones come from the IANA database (`chrono-tz`).

use std::str::FromStr;

use chrono::{DateTime, Months, TimeZone, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;
use serde_json::Value;

use crate::domain::Timestamp;

/// Sentry's bounds: a margin or a run longer than 28 days is refused.
const MAX_MINUTES: u64 = 40_320;
/// Thresholds above this make no sense for a schedule and would never trip.
const MAX_THRESHOLD: u64 = 720;

/// When a monitor's job is expected to run.
#[derive(Debug, Clone)]
pub enum Schedule {
    Crontab { expression: String, cron: Box<Cron> },
    Interval { every: u32, unit: IntervalUnit },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntervalUnit {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl IntervalUnit {
    pub fn parse(name: &str) -> Option<IntervalUnit> {
        Some(match name {
            "minute" | "minutes" => IntervalUnit::Minute,
            "hour" | "hours" => IntervalUnit::Hour,
            "day" | "days" => IntervalUnit::Day,
            "week" | "weeks" => IntervalUnit::Week,
            "month" | "months" => IntervalUnit::Month,
            "year" | "years" => IntervalUnit::Year,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            IntervalUnit::Minute => "minute",
            IntervalUnit::Hour => "hour",
            IntervalUnit::Day => "day",
            IntervalUnit::Week => "week",
            IntervalUnit::Month => "month",
            IntervalUnit::Year => "year",
        }
    }
}

/// Why a `monitor_config` was refused; each says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("monitor_config must be an object with a schedule")]
    NotAnObject,
    #[error("monitor_config.schedule must be {{\"type\": \"crontab\", \"value\": \"0 * * * *\"}} or {{\"type\": \"interval\", \"value\": 2, \"unit\": \"hour\"}}")]
    BadSchedule,
    #[error("a crontab has five fields (minute hour day-of-month month day-of-week); `{0}` has {1}")]
    CrontabFields(String, usize),
    #[error("the crontab `{0}` cannot be read: {1}")]
    Crontab(String, String),
    #[error("the crontab `{0}` never comes due")]
    NeverDue(String),
    #[error(
        "an interval must be a whole number from 1 to 10000 with a unit of minute, hour, day, week, month or year"
    )]
    BadInterval,
    #[error("`{0}` is not a time zone of the IANA database (e.g. Europe/Vienna, America/New_York, UTC)")]
    Timezone(String),
    #[error("{0} must be a whole number of minutes from 1 to 40320")]
    Minutes(&'static str),
    #[error("{0} must be a whole number from 1 to 720")]
    Threshold(&'static str),
}

/// A monitor's settings.
#[derive(Debug, Clone)]
pub struct MonitorConfig {
    pub schedule: Schedule,
    pub timezone: Tz,
    /// Minutes after the expected time before a check-in counts as missed.
    pub checkin_margin_min: u32,
    /// Minutes a check-in may stay in progress before it counts as timed out.
    pub max_runtime_min: u32,
    /// Failures in a row that open an incident.
    pub failure_threshold: u32,
    /// Successes in a row that close it.
    pub recovery_threshold: u32,
}

impl Schedule {
    /// A crontab of five fields (or an `@` nickname); six or seven fields (seconds, years) are refused, as
    /// Sentry's crontabs have minute granularity.
    pub fn crontab(expression: &str) -> Result<Schedule, ConfigError> {
        let expression = expression.trim();
        let fields = expression.split_whitespace().count();
        if !expression.starts_with('@') && fields != 5 {
            return Err(ConfigError::CrontabFields(expression.to_owned(), fields));
        }
        let parser = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build();
        let cron = parser
            .parse(expression)
            .map_err(|e| ConfigError::Crontab(expression.to_owned(), e.to_string()))?;
        let schedule = Schedule::Crontab {
            expression: expression.to_owned(),
            cron: Box::new(cron),
        };
        // `0 0 30 2 *` parses but never comes due: refused now rather than never checked.
        if schedule.next_after(Timestamp::from_millis(0), Tz::UTC).is_none() {
            return Err(ConfigError::NeverDue(expression.to_owned()));
        }
        Ok(schedule)
    }

    pub fn interval(every: u64, unit: &str) -> Result<Schedule, ConfigError> {
        let unit = IntervalUnit::parse(unit).ok_or(ConfigError::BadInterval)?;
        if !(1..=10_000).contains(&every) {
            return Err(ConfigError::BadInterval);
        }
        Ok(Schedule::Interval {
            every: every as u32,
            unit,
        })
    }

    /// The first time the job is due strictly after `after`, read in `timezone`; `None` past the calendar.
    pub fn next_after(&self, after: Timestamp, timezone: Tz) -> Option<Timestamp> {
        let local = Utc
            .timestamp_millis_opt(after.as_millis())
            .single()?
            .with_timezone(&timezone);
        let next: DateTime<Tz> = match self {
            Schedule::Crontab { cron, .. } => cron.find_next_occurrence(&local, false).ok()?,
            Schedule::Interval { every, unit } => {
                let every = *every;
                match unit {
                    IntervalUnit::Minute => local + chrono::Duration::minutes(every.into()),
                    IntervalUnit::Hour => local + chrono::Duration::hours(every.into()),
                    IntervalUnit::Day => local + chrono::Duration::days(every.into()),
                    IntervalUnit::Week => local + chrono::Duration::weeks(every.into()),
                    IntervalUnit::Month => local.checked_add_months(Months::new(every))?,
                    IntervalUnit::Year => local.checked_add_months(Months::new(every.checked_mul(12)?))?,
                }
            }
        };
        Some(Timestamp::from_millis(next.timestamp_millis()))
    }

    /// `crontab` or `interval`, as stored and as the API shows it.
    pub fn kind(&self) -> &'static str {
        match self {
            Schedule::Crontab { .. } => "crontab",
            Schedule::Interval { .. } => "interval",
        }
    }

    /// The crontab, or the interval's count, as stored.
    pub fn value(&self) -> String {
        match self {
            Schedule::Crontab { expression, .. } => expression.clone(),
            Schedule::Interval { every, .. } => every.to_string(),
        }
    }

    pub fn unit(&self) -> Option<IntervalUnit> {
        match self {
            Schedule::Crontab { .. } => None,
            Schedule::Interval { unit, .. } => Some(*unit),
        }
    }

    /// Reads a stored schedule back (kind, value, unit as [`Schedule::kind`] and friends wrote them).
    pub fn from_stored(kind: &str, value: &str, unit: Option<&str>) -> Result<Schedule, ConfigError> {
        match kind {
            "interval" => Schedule::interval(value.parse().map_err(|_| ConfigError::BadInterval)?, unit.unwrap_or("")),
            _ => Schedule::crontab(value),
        }
    }

    /// As people read it: "0 3 * * *" or "every 2 hours".
    pub fn describe(&self) -> String {
        match self {
            Schedule::Crontab { expression, .. } => expression.clone(),
            Schedule::Interval { every: 1, unit } => format!("every {}", unit.as_str()),
            Schedule::Interval { every, unit } => format!("every {every} {}s", unit.as_str()),
        }
    }
}

/// A time zone by its IANA name.
pub fn parse_timezone(name: &str) -> Result<Tz, ConfigError> {
    Tz::from_str(name.trim()).map_err(|_| ConfigError::Timezone(name.to_owned()))
}

impl MonitorConfig {
    /// Sentry's defaults: a one-minute margin, 30 minutes of runtime, one failure opens an incident and one
    /// success closes it.
    pub fn with_schedule(schedule: Schedule) -> MonitorConfig {
        MonitorConfig {
            schedule,
            timezone: Tz::UTC,
            checkin_margin_min: 1,
            max_runtime_min: 30,
            failure_threshold: 1,
            recovery_threshold: 1,
        }
    }

    /// Reads `monitor_config` (also the API's `config`): `schedule` (with `schedule_type` beside a bare
    /// value, as the API allows), `timezone`, `checkin_margin`, `max_runtime`, `failure_issue_threshold`,
    /// `recovery_threshold`. Null or missing settings take the defaults.
    pub fn read(config: &Value) -> Result<MonitorConfig, ConfigError> {
        let object = config.as_object().ok_or(ConfigError::NotAnObject)?;
        let schedule = read_schedule(object.get("schedule"), object.get("schedule_type"))?;
        let mut read = MonitorConfig::with_schedule(schedule);
        if let Some(name) = object.get("timezone").and_then(Value::as_str) {
            read.timezone = parse_timezone(name)?;
        } else if object.get("timezone").is_some_and(|v| !v.is_null()) {
            return Err(ConfigError::Timezone(object["timezone"].to_string()));
        }
        let number = |key: &'static str, max: u64, error: fn(&'static str) -> ConfigError| match object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => match value.as_u64() {
                Some(n) if (1..=max).contains(&n) => Ok(Some(n as u32)),
                _ => Err(error(key)),
            },
        };
        if let Some(margin) = number("checkin_margin", MAX_MINUTES, ConfigError::Minutes)? {
            read.checkin_margin_min = margin;
        }
        if let Some(runtime) = number("max_runtime", MAX_MINUTES, ConfigError::Minutes)? {
            read.max_runtime_min = runtime;
        }
        if let Some(failures) = number("failure_issue_threshold", MAX_THRESHOLD, ConfigError::Threshold)? {
            read.failure_threshold = failures;
        }
        if let Some(recoveries) = number("recovery_threshold", MAX_THRESHOLD, ConfigError::Threshold)? {
            read.recovery_threshold = recoveries;
        }
        Ok(read)
    }

    /// The first time the job is due strictly after `after`.
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        self.schedule.next_after(after, self.timezone)
    }

    pub fn margin_ms(&self) -> i64 {
        i64::from(self.checkin_margin_min) * 60_000
    }

    pub fn max_runtime_ms(&self) -> i64 {
        i64::from(self.max_runtime_min) * 60_000
    }
}

fn read_schedule(schedule: Option<&Value>, schedule_type: Option<&Value>) -> Result<Schedule, ConfigError> {
    let (kind, value, unit) = match schedule {
        Some(Value::Object(object)) => (object.get("type"), object.get("value"), object.get("unit")),
        Some(bare) => (schedule_type, Some(bare), None),
        None => return Err(ConfigError::BadSchedule),
    };
    match (kind.and_then(Value::as_str), value) {
        (Some("crontab") | None, Some(Value::String(crontab))) => Schedule::crontab(crontab),
        (Some("interval"), Some(every)) => {
            let every = every.as_u64().ok_or(ConfigError::BadInterval)?;
            Schedule::interval(every, unit.and_then(Value::as_str).unwrap_or(""))
        }
        (Some("interval"), None) => Err(ConfigError::BadInterval),
        _ => Err(ConfigError::BadSchedule),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn at(text: &str) -> Timestamp {
        let parsed = DateTime::parse_from_rfc3339(text).expect("a test time");
        Timestamp::from_millis(parsed.timestamp_millis())
    }

    #[test]
    fn a_crontab_steps_to_its_next_minute_in_its_time_zone() {
        let config = MonitorConfig::read(&json!({
            "schedule": {"type": "crontab", "value": "30 3 * * *"}, "timezone": "Europe/Vienna"
        }))
        .unwrap();
        // 03:30 in Vienna in December is 02:30 UTC.
        let next = config.next_after(at("2026-12-05T12:00:00Z")).unwrap();
        assert_eq!(next, at("2026-12-06T02:30:00Z"));
        assert_eq!(config.checkin_margin_min, 1);
        assert_eq!(config.max_runtime_min, 30);
    }

    #[test]
    fn intervals_add_their_unit() {
        let config =
            MonitorConfig::read(&json!({"schedule": {"type": "interval", "value": 2, "unit": "hour"}})).unwrap();
        let next = config.next_after(at("2026-12-05T12:00:00Z")).unwrap();
        assert_eq!(next, at("2026-12-05T14:00:00Z"));
        let monthly = Schedule::interval(1, "month").unwrap();
        assert_eq!(
            monthly.next_after(at("2026-01-31T00:00:00Z"), Tz::UTC),
            Some(at("2026-02-28T00:00:00Z"))
        );
    }

    #[test]
    fn seven_fields_a_missing_zone_and_a_dead_date_are_refused_with_their_reason() {
        let seven = MonitorConfig::read(&json!({"schedule": {"type": "crontab", "value": "* * * * * * *"}}));
        assert_eq!(
            seven.unwrap_err(),
            ConfigError::CrontabFields("* * * * * * *".into(), 7)
        );
        let zone = MonitorConfig::read(&json!({"schedule": "0 * * * *", "timezone": "Mars/Olympus_Mons"}));
        assert!(zone.unwrap_err().to_string().contains("Mars/Olympus_Mons"));
        let never = Schedule::crontab("0 0 30 2 *");
        assert!(matches!(never, Err(ConfigError::NeverDue(_))));
        let garbage = Schedule::crontab("61 * * * *");
        assert!(matches!(garbage, Err(ConfigError::Crontab(..))));
    }

    #[test]
    fn settings_outside_their_bounds_are_refused() {
        let schedule = json!({"type": "crontab", "value": "@hourly"});
        assert!(MonitorConfig::read(&json!({"schedule": schedule, "checkin_margin": 0})).is_err());
        assert!(MonitorConfig::read(&json!({"schedule": schedule, "max_runtime": 50000})).is_err());
        assert!(MonitorConfig::read(&json!({"schedule": schedule, "failure_issue_threshold": -1})).is_err());
        let fine = MonitorConfig::read(&json!({
            "schedule": schedule, "checkin_margin": 5, "max_runtime": 10,
            "failure_issue_threshold": 2, "recovery_threshold": 3, "timezone": null
        }))
        .unwrap();
        assert_eq!((fine.checkin_margin_min, fine.max_runtime_min), (5, 10));
        assert_eq!((fine.failure_threshold, fine.recovery_threshold), (2, 3));
    }

    #[test]
    fn a_stored_schedule_reads_back() {
        let interval = Schedule::interval(10, "minute").unwrap();
        let back =
            Schedule::from_stored(interval.kind(), &interval.value(), interval.unit().map(|u| u.as_str())).unwrap();
        assert_eq!(back.describe(), "every 10 minutes");
    }
}
