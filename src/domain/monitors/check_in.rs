//! A check-in as SDKs send it (`check_in` envelope items, and the plain HTTP check-in URL's query or body):
//! which monitor, which run (`check_in_id`, shared by a run's `in_progress` and its closing `ok`/`error`),
//! its status and duration, and optionally the monitor's settings to create or update it with.

use serde_json::Value;

use super::schedule::{ConfigError, MonitorConfig};
use crate::domain::normalize::parse_event_id;

/// Longest monitor slug, as Sentry's.
const MAX_SLUG_CHARS: usize = 50;
/// Longest environment or release name kept.
const MAX_NAME_CHARS: usize = 200;

/// The state of one run of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckInStatus {
    InProgress,
    Ok,
    Error,
    /// Written by the clock: no check-in came by the expected time plus the margin.
    Missed,
    /// Written by the clock: the run stayed in progress past the monitor's longest run.
    Timeout,
}

impl CheckInStatus {
    pub fn parse(name: &str) -> Option<CheckInStatus> {
        Some(match name {
            "in_progress" => CheckInStatus::InProgress,
            "ok" => CheckInStatus::Ok,
            "error" => CheckInStatus::Error,
            "missed" => CheckInStatus::Missed,
            "timeout" => CheckInStatus::Timeout,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CheckInStatus::InProgress => "in_progress",
            CheckInStatus::Ok => "ok",
            CheckInStatus::Error => "error",
            CheckInStatus::Missed => "missed",
            CheckInStatus::Timeout => "timeout",
        }
    }

    /// Whether it counts towards an incident.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            CheckInStatus::Error | CheckInStatus::Missed | CheckInStatus::Timeout
        )
    }
}

/// Why a check-in was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckInError {
    #[error("a check-in must be a JSON object")]
    NotAnObject,
    #[error("a check-in is at most 100 KiB")]
    TooLarge,
    #[error("a check-in needs a monitor_slug of letters, digits, `-` or `_` (at most 50)")]
    BadSlug,
    #[error("a check-in's status must be in_progress, ok or error, not `{0}`")]
    BadStatus(String),
    #[error("a check-in's check_in_id must be a UUID")]
    BadCheckInId,
    #[error("a check-in's duration must be a number of seconds from 0")]
    BadDuration,
    #[error("the monitor_config of `{slug}` was refused: {error}")]
    Config { slug: String, error: ConfigError },
}

/// A check-in as read.
#[derive(Debug, Clone)]
pub struct CheckIn {
    /// 32 lowercase hex; a fresh one when the SDK sent none.
    pub check_in_id: String,
    pub monitor_slug: String,
    pub status: CheckInStatus,
    /// Milliseconds, when the SDK measured it.
    pub duration_ms: Option<i64>,
    pub environment: Option<String>,
    pub release: Option<String>,
    /// Settings to create or update the monitor with.
    pub config: Option<MonitorConfig>,
}

/// A monitor slug as Sentry keeps it: lowercase, other characters than letters, digits, `-` and `_` made
/// `-`; `None` when nothing is left or it is too long.
pub fn normalize_slug(slug: &str) -> Option<String> {
    let slug: String = slug
        .trim()
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-' | '_') => c,
            _ => '-',
        })
        .collect();
    let meaningful = slug.chars().any(|c| c.is_ascii_alphanumeric());
    (meaningful && slug.chars().count() <= MAX_SLUG_CHARS).then_some(slug)
}

/// Reads one check-in. Only `in_progress`, `ok` and `error` are a client's to send.
pub fn read_check_in(value: &Value) -> Result<CheckIn, CheckInError> {
    let object = value.as_object().ok_or(CheckInError::NotAnObject)?;
    let slug = object
        .get("monitor_slug")
        .and_then(Value::as_str)
        .and_then(normalize_slug)
        .ok_or(CheckInError::BadSlug)?;
    let status_name = object.get("status").and_then(Value::as_str).unwrap_or_default();
    let status = CheckInStatus::parse(status_name)
        .filter(|s| matches!(s, CheckInStatus::InProgress | CheckInStatus::Ok | CheckInStatus::Error))
        .ok_or_else(|| CheckInError::BadStatus(status_name.to_owned()))?;
    let check_in_id = match object.get("check_in_id").and_then(Value::as_str) {
        Some(id) => parse_event_id(id).map_err(|_| CheckInError::BadCheckInId)?,
        None if object.get("check_in_id").is_some_and(|v| !v.is_null()) => return Err(CheckInError::BadCheckInId),
        None => uuid::Uuid::new_v4().simple().to_string(),
    };
    let duration_ms = match object.get("duration") {
        None | Some(Value::Null) => None,
        Some(seconds) => match seconds.as_f64() {
            Some(s) if (0.0..1e9).contains(&s) => Some((s * 1000.0).round() as i64),
            _ => return Err(CheckInError::BadDuration),
        },
    };
    let config = match object.get("monitor_config") {
        None | Some(Value::Null) => None,
        Some(config) => Some(MonitorConfig::read(config).map_err(|error| CheckInError::Config {
            slug: slug.clone(),
            error,
        })?),
    };
    Ok(CheckIn {
        check_in_id,
        monitor_slug: slug,
        status,
        duration_ms,
        environment: name(object.get("environment")),
        release: name(object.get("release")),
        config,
    })
}

fn name(value: Option<&Value>) -> Option<String> {
    let text = value?.as_str()?.trim();
    (!text.is_empty()).then(|| text.chars().take(MAX_NAME_CHARS).collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_python_sdks_check_in_reads() {
        let read = read_check_in(&json!({
            "check_in_id": "83a7c03ed0a04e1b97e2e3b18d38f244", "monitor_slug": "Nightly Report",
            "status": "ok", "duration": 1.5, "environment": "production", "release": "shop@1.0",
            "monitor_config": {"schedule": {"type": "crontab", "value": "0 3 * * *"}, "checkin_margin": 5}
        }))
        .unwrap();
        assert_eq!(read.monitor_slug, "nightly-report");
        assert_eq!(read.status, CheckInStatus::Ok);
        assert_eq!(read.duration_ms, Some(1500));
        assert_eq!(read.config.unwrap().checkin_margin_min, 5);
        assert_eq!(read.environment.as_deref(), Some("production"));
    }

    #[test]
    fn dashed_ids_are_kept_without_dashes_and_a_missing_id_is_made() {
        let read = read_check_in(
            &json!({"check_in_id": "83A7C03E-D0A0-4E1B-97E2-E3B18D38F244", "monitor_slug": "a", "status": "in_progress"}),
        );
        assert_eq!(read.unwrap().check_in_id, "83a7c03ed0a04e1b97e2e3b18d38f244");
        let made = read_check_in(&json!({"monitor_slug": "a", "status": "ok"})).unwrap();
        assert_eq!(made.check_in_id.len(), 32);
    }

    #[test]
    fn what_a_client_may_not_say_is_refused() {
        let base = |extra: Value| {
            let mut value = json!({"monitor_slug": "job", "status": "ok"});
            value
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            read_check_in(&value)
        };
        assert_eq!(
            base(json!({"status": "missed"})).unwrap_err(),
            CheckInError::BadStatus("missed".into())
        );
        assert_eq!(base(json!({"monitor_slug": "!!!"})).unwrap_err(), CheckInError::BadSlug);
        assert_eq!(base(json!({"duration": -3})).unwrap_err(), CheckInError::BadDuration);
        assert_eq!(
            base(json!({"check_in_id": "nope"})).unwrap_err(),
            CheckInError::BadCheckInId
        );
        let seven = base(json!({"monitor_config": {"schedule": {"type": "crontab", "value": "* * * * * * *"}}}));
        assert!(seven.unwrap_err().to_string().contains("five fields"));
        assert_eq!(read_check_in(&json!([1])).unwrap_err(), CheckInError::NotAnObject);
    }
}
