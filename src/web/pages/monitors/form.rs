//! The monitor form (create and edit): what was typed, kept as text so a refused form comes back as typed,
//! and turned into Sentry's `monitor_config` JSON for `core`, which alone decides what is valid.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::store::monitors::Monitor;

/// The interval units the form offers (Sentry's names).
pub const UNITS: [&str; 6] = ["minute", "hour", "day", "week", "month", "year"];

#[derive(Debug, Clone, Deserialize)]
pub struct MonitorForm {
    #[serde(default)]
    pub name: String,
    /// Only on creation; empty makes one from the name.
    #[serde(default)]
    pub slug: String,
    #[serde(default)]
    pub schedule_type: String,
    #[serde(default)]
    pub crontab: String,
    #[serde(default)]
    pub interval_value: String,
    #[serde(default)]
    pub interval_unit: String,
    #[serde(default)]
    pub timezone: String,
    #[serde(default)]
    pub checkin_margin: String,
    #[serde(default)]
    pub max_runtime: String,
    #[serde(default)]
    pub failure_threshold: String,
    #[serde(default)]
    pub recovery_threshold: String,
}

impl MonitorForm {
    /// An empty form with Sentry's defaults filled in.
    pub fn blank() -> MonitorForm {
        MonitorForm {
            name: String::new(),
            slug: String::new(),
            schedule_type: "crontab".into(),
            crontab: "0 * * * *".into(),
            interval_value: "1".into(),
            interval_unit: "hour".into(),
            timezone: "UTC".into(),
            checkin_margin: "1".into(),
            max_runtime: "30".into(),
            failure_threshold: "1".into(),
            recovery_threshold: "1".into(),
        }
    }

    /// The monitor's settings, for its edit form.
    pub fn of(monitor: &Monitor) -> MonitorForm {
        let interval = monitor.schedule_type == "interval";
        let blank = MonitorForm::blank();
        MonitorForm {
            name: monitor.name.clone(),
            slug: monitor.slug.clone(),
            schedule_type: monitor.schedule_type.clone(),
            crontab: if interval {
                blank.crontab
            } else {
                monitor.schedule.clone()
            },
            interval_value: if interval {
                monitor.schedule.clone()
            } else {
                blank.interval_value
            },
            interval_unit: monitor.schedule_unit.clone().unwrap_or(blank.interval_unit),
            timezone: monitor.timezone.clone(),
            checkin_margin: monitor.checkin_margin_min.to_string(),
            max_runtime: monitor.max_runtime_min.to_string(),
            failure_threshold: monitor.failure_threshold.to_string(),
            recovery_threshold: monitor.recovery_threshold.to_string(),
        }
    }

    pub fn is_interval(&self) -> bool {
        self.schedule_type == "interval"
    }

    /// The slug asked for, if any.
    pub fn slug(&self) -> Option<&str> {
        Some(self.slug.trim()).filter(|slug| !slug.is_empty())
    }

    /// The config as an SDK's `monitor_config` carries it. Numbers that do not read are passed on as text,
    /// so that `core` refuses them with its own sentence; empty ones take the defaults.
    pub fn config(&self) -> Value {
        let schedule = if self.is_interval() {
            json!({"type": "interval", "value": number(&self.interval_value), "unit": self.interval_unit.trim()})
        } else {
            json!({"type": "crontab", "value": self.crontab.trim()})
        };
        let timezone = match self.timezone.trim() {
            "" => "UTC",
            named => named,
        };
        json!({
            "schedule": schedule,
            "timezone": timezone,
            "checkin_margin": number(&self.checkin_margin),
            "max_runtime": number(&self.max_runtime),
            "failure_issue_threshold": number(&self.failure_threshold),
            "recovery_threshold": number(&self.recovery_threshold),
        })
    }
}

fn number(text: &str) -> Value {
    match text.trim() {
        "" => Value::Null,
        text => text.parse::<u64>().map_or_else(|_| json!(text), Value::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interval_form_becomes_sentrys_interval_schedule() {
        let mut form = MonitorForm::blank();
        form.schedule_type = "interval".into();
        form.interval_value = " 2 ".into();
        form.interval_unit = "day".into();
        let config = form.config();
        assert_eq!(
            config["schedule"],
            json!({"type": "interval", "value": 2, "unit": "day"})
        );
        assert_eq!(config["timezone"], "UTC");
    }

    #[test]
    fn numbers_that_do_not_read_are_left_for_core_to_refuse() {
        let mut form = MonitorForm::blank();
        form.checkin_margin = "soon".into();
        form.max_runtime = String::new();
        let config = form.config();
        assert_eq!(config["checkin_margin"], "soon");
        assert_eq!(config["max_runtime"], Value::Null);
    }
}
