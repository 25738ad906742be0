//! Timestamps (§7.4): parsing Unix seconds or RFC 3339, clock-drift correction against the
//! envelope's `sent_at`, and clamping implausible times to the receive time.

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::fields::Notes;
use crate::domain::event::Event;

/// `10000-01-01T00:00:00Z`: years past 9999 are invalid (§7.4).
const END_OF_YEAR_9999: f64 = 253_402_300_800.0;
/// Smallest sender/receiver clock difference treated as drift (§7.4, Relay's ~55 minutes).
const MIN_CLOCK_DRIFT_SECS: f64 = 55.0 * 60.0;
const MAX_SECS_IN_FUTURE: f64 = 60.0;
const MAX_SECS_IN_PAST: f64 = 30.0 * 24.0 * 3600.0;

/// Parses a timestamp given as Unix seconds (number or numeric string) or RFC 3339 text; a
/// string without offset is UTC. `None` when unusable.
pub fn parse_timestamp(value: &Value) -> Option<f64> {
    let seconds = match value {
        Value::Number(number) => number.as_f64()?,
        Value::String(text) => parse_timestamp_text(text.trim())?,
        _ => return None,
    };
    (seconds.is_finite() && (0.0..END_OF_YEAR_9999).contains(&seconds)).then(|| round_to_micros(seconds))
}

fn parse_timestamp_text(text: &str) -> Option<f64> {
    if let Ok(seconds) = text.parse::<f64>() {
        return Some(seconds);
    }
    let instant = match OffsetDateTime::parse(text, &Rfc3339) {
        Ok(instant) => instant,
        Err(_) => OffsetDateTime::parse(&as_utc_rfc3339(text)?, &Rfc3339).ok()?,
    };
    Some(instant.unix_timestamp_nanos() as f64 / 1e9)
}

/// Turns `2024-01-01T00:00:00` (or with a space separator) into `2024-01-01T00:00:00Z`:
/// naive timestamps are UTC (§7.1).
fn as_utc_rfc3339(text: &str) -> Option<String> {
    let (date, rest) = (text.get(..10)?, text.get(10..)?);
    let clock = rest
        .strip_prefix(['T', 't', ' '])
        .filter(|clock| !clock.contains(['Z', 'z', '+', '-']))?;
    Some(format!("{date}T{clock}Z"))
}

/// Timestamps are stored with microsecond precision (§7.4).
fn round_to_micros(seconds: f64) -> f64 {
    (seconds * 1e6).round() / 1e6
}

/// Sets `event.timestamp` from the payload's value, correcting clock drift and clamping it to
/// the receive time when implausible; breadcrumbs move along so relative times survive.
pub(super) fn settle_timestamps(raw: Option<Value>, sent_at: Option<f64>, event: &mut Event, notes: &mut Notes) {
    let received = event.received;
    let mut timestamp = raw.and_then(|value| {
        let parsed = parse_timestamp(&value);
        if parsed.is_none() {
            notes.invalid("timestamp");
        }
        parsed
    });
    if let Some(sent_at) = sent_at.filter(|sent_at| sent_at.is_finite()) {
        let drift = received - sent_at;
        if drift.abs() > MIN_CLOCK_DRIFT_SECS {
            timestamp = timestamp.map(|seconds| seconds + drift);
            shift_breadcrumbs(event, drift);
            notes.push("clock_drift", "sent_at");
        }
    }
    let timestamp = timestamp.unwrap_or(received);
    let clamp = if timestamp > received + MAX_SECS_IN_FUTURE {
        Some("future_timestamp")
    } else if timestamp < received - MAX_SECS_IN_PAST {
        Some("past_timestamp")
    } else {
        None
    };
    event.timestamp = round_to_micros(timestamp);
    if let Some(kind) = clamp {
        shift_breadcrumbs(event, received - timestamp);
        event.timestamp = received;
        notes.push(kind, "timestamp");
    }
}

fn shift_breadcrumbs(event: &mut Event, delta: f64) {
    for crumb in &mut event.breadcrumbs {
        if let Some(seconds) = crumb.timestamp.as_mut() {
            *seconds = round_to_micros(*seconds + delta);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::Breadcrumb;
    use serde_json::json;

    const NEW_YEAR_2024: f64 = 1_704_067_200.0;

    fn settle(raw: Option<Value>, received: f64, sent_at: Option<f64>) -> (Event, Vec<String>) {
        let mut event = Event {
            received,
            breadcrumbs: vec![Breadcrumb {
                timestamp: Some(NEW_YEAR_2024 - 10.0),
                ..Breadcrumb::default()
            }],
            ..Event::default()
        };
        let mut notes = Notes::default();
        settle_timestamps(raw, sent_at, &mut event, &mut notes);
        let kinds = notes.into_vec().into_iter().map(|note| note.kind).collect();
        (event, kinds)
    }

    #[test]
    fn float_zulu_and_naive_strings_name_the_same_instants() {
        assert_eq!(parse_timestamp(&json!(1_704_067_200.5)), Some(NEW_YEAR_2024 + 0.5));
        assert_eq!(
            parse_timestamp(&json!("2024-01-01T00:00:00.5Z")),
            Some(NEW_YEAR_2024 + 0.5)
        );
        assert_eq!(parse_timestamp(&json!("2024-01-01T00:00:00")), Some(NEW_YEAR_2024));
        assert_eq!(
            parse_timestamp(&json!("2024-01-01 00:00:00.5")),
            Some(NEW_YEAR_2024 + 0.5)
        );
        assert_eq!(parse_timestamp(&json!(1_704_067_200)), Some(NEW_YEAR_2024));
    }

    #[test]
    fn offsets_are_honoured() {
        assert_eq!(
            parse_timestamp(&json!("2024-01-01T02:00:00+02:00")),
            Some(NEW_YEAR_2024)
        );
        assert_eq!(
            parse_timestamp(&json!("2026-11-21T10:28:19.134740Z")),
            Some(1_795_256_899.134_74)
        );
    }

    #[test]
    fn years_past_9999_and_garbage_are_invalid() {
        assert_eq!(parse_timestamp(&json!(253_402_300_800.0)), None);
        assert_eq!(parse_timestamp(&json!("10000-01-01T00:00:00Z")), None);
        assert_eq!(parse_timestamp(&json!("yesterday")), None);
        assert_eq!(parse_timestamp(&json!(true)), None);
        assert_eq!(parse_timestamp(&json!("2024-01-01T00:00:00é")), None);
    }

    #[test]
    fn missing_timestamp_is_the_receive_time() {
        let (event, kinds) = settle(None, NEW_YEAR_2024, None);
        assert_eq!(event.timestamp, NEW_YEAR_2024);
        assert!(kinds.is_empty());
    }

    #[test]
    fn future_timestamp_is_clamped_and_breadcrumbs_follow() {
        let two_days = 2.0 * 86_400.0;
        let (event, kinds) = settle(Some(json!(NEW_YEAR_2024 + two_days)), NEW_YEAR_2024, None);
        assert_eq!(event.timestamp, NEW_YEAR_2024);
        assert_eq!(kinds, ["future_timestamp"]);
        assert_eq!(event.breadcrumbs[0].timestamp, Some(NEW_YEAR_2024 - 10.0 - two_days));
    }

    #[test]
    fn timestamps_older_than_thirty_days_are_clamped() {
        let (event, kinds) = settle(Some(json!(NEW_YEAR_2024 - 31.0 * 86_400.0)), NEW_YEAR_2024, None);
        assert_eq!(event.timestamp, NEW_YEAR_2024);
        assert_eq!(kinds, ["past_timestamp"]);
    }

    #[test]
    fn small_skew_is_kept() {
        let (event, kinds) = settle(Some(json!(NEW_YEAR_2024 + 30.0)), NEW_YEAR_2024, None);
        assert_eq!(event.timestamp, NEW_YEAR_2024 + 30.0);
        assert!(kinds.is_empty());
    }

    #[test]
    fn clock_drift_shifts_event_and_breadcrumbs() {
        // The device clock runs two hours behind: sent_at and timestamp are both two hours early.
        let behind = 7_200.0;
        let received = NEW_YEAR_2024 + 5.0;
        let (event, kinds) = settle(Some(json!(NEW_YEAR_2024 - behind)), received, Some(received - behind));
        assert_eq!(event.timestamp, NEW_YEAR_2024);
        let crumb = event.breadcrumbs[0].timestamp;
        assert_eq!(crumb, Some(NEW_YEAR_2024 - 10.0 + behind));
        assert_eq!(kinds, ["clock_drift"]);
    }

    #[test]
    fn drift_under_55_minutes_is_ignored() {
        let received = NEW_YEAR_2024;
        let (event, kinds) = settle(Some(json!(received - 50.0)), received, Some(received - 1_800.0));
        assert_eq!(event.timestamp, received - 50.0);
        assert!(kinds.is_empty());
    }
}
