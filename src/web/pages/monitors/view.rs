//! How a monitor and its runs read on a page: health as a badge, each run as a colored block or a table
//! row, times relative to now. Health and status come from the store as text; only known values map to a
//! class, so nothing stored ever becomes a class name.

use crate::store::monitors::{CheckInRow, Incident, Monitor};
use crate::web::format::{moment, Moment};

/// Past this, a schedule is "never" due again (the store keeps such a monitor at `i64::MAX / 2`).
const NEVER_MS: i64 = 253_402_300_799_000;

/// A monitor's health as a badge.
pub struct HealthBadge {
    pub label: &'static str,
    pub class: &'static str,
}

pub fn health_badge(health: &str) -> HealthBadge {
    let (label, class) = match health {
        "active" => ("waiting for a check-in", "health-waiting"),
        "ok" => ("ok", "health-ok"),
        "error" => ("failing", "health-error"),
        "missed_checkin" => ("missed", "health-missed"),
        "timeout" => ("timed out", "health-error"),
        "in_progress" => ("running", "health-running"),
        _ => ("unknown", "health-waiting"),
    };
    HealthBadge { label, class }
}

/// One run as shown: in a timeline block (`title` is its tooltip) or a table row.
pub struct RunView {
    pub status: &'static str,
    pub class: &'static str,
    pub environment: String,
    pub at: Moment,
    pub duration: String,
    pub expected: Option<Moment>,
    pub title: String,
}

pub fn run_view(run: &CheckInRow, now: i64) -> RunView {
    let (status, class) = match run.status.as_str() {
        "ok" => ("ok", "run-ok"),
        "error" => ("error", "run-error"),
        "timeout" => ("timeout", "run-error"),
        "missed" => ("missed", "run-missed"),
        "in_progress" => ("in progress", "run-running"),
        _ => ("unknown", "run-running"),
    };
    let at = moment(run.created_at, now);
    let duration = run.duration_ms.map(duration_text).unwrap_or_default();
    let mut title = format!("{status} · {}", at.exact);
    if !duration.is_empty() {
        title.push_str(&format!(" · took {duration}"));
    }
    if let Some(expected) = run.expected_at {
        title.push_str(&format!(" · expected {}", moment(expected, now).exact));
    }
    RunView {
        status,
        class,
        environment: run.environment.clone().unwrap_or_default(),
        expected: run.expected_at.map(|at| moment(at, now)),
        at,
        duration,
        title,
    }
}

/// The runs of a timeline, oldest first (the store gives them newest first).
pub fn timeline(recent: &[CheckInRow], now: i64) -> Vec<RunView> {
    recent.iter().rev().map(|run| run_view(run, now)).collect()
}

/// "850 ms", "2.5 s", "3 min 4 s", "2 h 5 min".
pub fn duration_text(ms: i64) -> String {
    match ms {
        ..=999 => format!("{} ms", ms.max(0)),
        1_000..=59_999 => format!("{:.1} s", ms as f64 / 1_000.0),
        60_000..=3_599_999 => format!("{} min {} s", ms / 60_000, ms % 60_000 / 1_000),
        _ => format!("{} h {} min", ms / 3_600_000, ms % 3_600_000 / 60_000),
    }
}

/// When the next run is due: "in 5 minutes", "overdue", or "never" for a schedule past the calendar.
pub struct Due {
    pub text: String,
    pub exact: String,
}

pub fn due(next_ms: i64, now: i64) -> Due {
    if next_ms >= NEVER_MS {
        return Due {
            text: "never".into(),
            exact: String::new(),
        };
    }
    let minutes = (next_ms - now) / 60_000;
    let text = match minutes {
        ..=-1 => "overdue".to_owned(),
        0 => "within a minute".to_owned(),
        1 => "in 1 minute".to_owned(),
        2..=119 => format!("in {minutes} minutes"),
        120..=2_879 => format!("in {} hours", minutes / 60),
        _ => format!("in {} days", minutes / 1_440),
    };
    Due {
        text,
        exact: moment(next_ms, now).exact,
    }
}

/// An incident as shown.
pub struct IncidentView {
    pub opened: Moment,
    pub resolved: Option<Moment>,
    pub reason: String,
}

pub fn incident_view(incident: &Incident, now: i64) -> IncidentView {
    IncidentView {
        opened: moment(incident.opened_at, now),
        resolved: incident.resolved_at.map(|at| moment(at, now)),
        reason: incident.reason.clone(),
    }
}

/// The monitor's schedule in words, from its stored settings.
pub fn schedule_text(monitor: &Monitor) -> String {
    monitor
        .config()
        .map_or_else(|_| monitor.schedule.clone(), |config| config.schedule.describe())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_the_largest_sensible_unit() {
        assert_eq!(duration_text(850), "850 ms");
        assert_eq!(duration_text(2_500), "2.5 s");
        assert_eq!(duration_text(184_000), "3 min 4 s");
        assert_eq!(duration_text(7_500_000), "2 h 5 min");
    }

    #[test]
    fn unknown_statuses_never_become_a_class() {
        assert_eq!(health_badge("<script>").class, "health-waiting");
    }

    #[test]
    fn a_schedule_past_the_calendar_is_never_due() {
        assert_eq!(due(i64::MAX / 2, 0).text, "never");
        assert_eq!(due(10 * 60_000, 0).text, "in 10 minutes");
    }
}
