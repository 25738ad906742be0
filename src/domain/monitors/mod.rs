//! Cron monitors: the schedule a job is expected on, the check-ins it sends, and the health that turns
//! failures into incidents. The clock's arithmetic (which expected times were missed) is here too; the
//! store keeps the state and `core::monitors` applies the rules.

mod check_in;
mod health;
mod schedule;

pub use check_in::{normalize_slug, read_check_in, CheckIn, CheckInError, CheckInStatus};
pub use health::{missed_slots, Health, IncidentChange};
pub use schedule::{parse_timezone, ConfigError, IntervalUnit, MonitorConfig, Schedule};

/// The monitor's issue fingerprint: one issue per monitor, so that a failure after a recovery is a
/// regression of it (and alert rules on regressions fire).
pub fn issue_fingerprint(monitor_guid: &str) -> [String; 2] {
    ["faultline-monitor".to_owned(), monitor_guid.to_owned()]
}

/// The issue's message for a failed check-in, as Sentry words them.
pub fn failure_message(name: &str, status: CheckInStatus) -> String {
    match status {
        CheckInStatus::Missed => format!("Cron failure: {name} missed a check-in"),
        CheckInStatus::Timeout => format!("Cron failure: {name} timed out (it ran longer than its maximum runtime)"),
        _ => format!("Cron failure: {name} reported an error"),
    }
}
