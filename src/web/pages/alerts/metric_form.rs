//! The metric alert form: what it posts, how that becomes a [`MetricRuleSpec`], and how a stored rule
//! fills it in. Numbers arrive as text so a half-filled form comes back with what was typed, plus the error.

use crate::domain::alerts::metric::{Metric, MetricCondition, MetricRule, MetricRuleError, MetricRuleSpec};
use crate::domain::alerts::DEFAULT_COOLDOWN_MINUTES;
use crate::domain::ChannelId;
use serde::Deserialize;

/// The metrics the form offers: `(value, label)`.
pub const METRICS: [(&str, &str); 3] = [
    ("p95", "p95 duration (ms)"),
    ("failure_rate", "failure rate (%)"),
    ("crash_free_sessions", "crash-free sessions of a release (%)"),
];

#[derive(Debug, Clone, Default, Deserialize)]
pub struct MetricRuleForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub transaction: String,
    #[serde(default)]
    pub environment: String,
    #[serde(default)]
    pub metric: String,
    #[serde(default)]
    pub threshold: String,
    #[serde(default)]
    pub window_minutes: String,
    #[serde(default)]
    pub min_count: String,
    #[serde(default)]
    pub cooldown_minutes: String,
    #[serde(default)]
    pub channel: Vec<ChannelId>,
    #[serde(default)]
    pub enabled: bool,
}

impl MetricRuleForm {
    /// A new rule's form, for `transaction` when the link that led here named one.
    pub fn blank(transaction: &str) -> MetricRuleForm {
        let mut spec = MetricRuleSpec::blank();
        spec.condition.transaction = transaction.to_owned();
        MetricRuleForm::from_spec(&spec)
    }

    pub fn from_rule(rule: &MetricRule) -> MetricRuleForm {
        MetricRuleForm::from_spec(&MetricRuleSpec {
            name: rule.name.clone(),
            enabled: rule.enabled,
            condition: rule.condition.clone(),
            cooldown_minutes: rule.cooldown_minutes,
            channel_ids: rule.channel_ids.clone(),
        })
    }

    fn from_spec(spec: &MetricRuleSpec) -> MetricRuleForm {
        let c = &spec.condition;
        MetricRuleForm {
            name: spec.name.clone(),
            transaction: c.transaction.clone(),
            environment: c.environment.clone().unwrap_or_default(),
            metric: c.metric.as_str().to_owned(),
            threshold: number_text(c.threshold),
            window_minutes: c.window_minutes.to_string(),
            min_count: c.min_count.to_string(),
            cooldown_minutes: spec.cooldown_minutes.to_string(),
            channel: spec.channel_ids.clone(),
            enabled: spec.enabled,
        }
    }

    /// What the user asked for; [`MetricRuleSpec::validate`] still checks the ranges.
    pub fn to_spec(&self) -> Result<MetricRuleSpec, MetricRuleError> {
        let metric = Metric::parse(self.metric.trim()).ok_or(MetricRuleError::Metric)?;
        let threshold_error = match metric {
            Metric::P95 => MetricRuleError::DurationThreshold,
            Metric::FailureRate => MetricRuleError::RateThreshold,
            Metric::CrashFreeSessions => MetricRuleError::CrashFreeThreshold,
        };
        let defaults = MetricRuleSpec::blank();
        Ok(MetricRuleSpec {
            name: self.name.clone(),
            enabled: self.enabled,
            condition: MetricCondition {
                transaction: self.transaction.clone(),
                environment: Some(self.environment.clone()),
                metric,
                threshold: self.threshold.trim().parse().map_err(|_| threshold_error)?,
                window_minutes: self
                    .window_minutes
                    .trim()
                    .parse()
                    .map_err(|_| MetricRuleError::Window)?,
                min_count: or_default(&self.min_count, defaults.condition.min_count, MetricRuleError::MinCount)?,
            },
            cooldown_minutes: or_default(
                &self.cooldown_minutes,
                DEFAULT_COOLDOWN_MINUTES,
                MetricRuleError::Cooldown,
            )?,
            channel_ids: self.channel.clone(),
        })
    }
}

/// A number field left empty takes its default.
fn or_default(text: &str, default: i64, error: MetricRuleError) -> Result<i64, MetricRuleError> {
    match text.trim() {
        "" => Ok(default),
        text => text.parse().map_err(|_| error),
    }
}

/// `500`, `12.5`: a threshold as the form shows it.
fn number_text(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled() -> MetricRuleForm {
        MetricRuleForm {
            name: "Slow checkout".into(),
            transaction: "/checkout/".into(),
            metric: "p95".into(),
            threshold: "500".into(),
            window_minutes: "5".into(),
            channel: vec![ChannelId(1)],
            enabled: true,
            ..MetricRuleForm::default()
        }
    }

    #[test]
    fn empty_optional_numbers_take_their_defaults() {
        let spec = filled().to_spec().unwrap().validate().unwrap();
        assert_eq!(spec.condition.min_count, 1);
        assert_eq!(spec.cooldown_minutes, DEFAULT_COOLDOWN_MINUTES);
        assert_eq!(spec.condition.threshold, 500.0);
        assert_eq!(spec.condition.environment, None);
    }

    #[test]
    fn unreadable_numbers_name_their_field() {
        let mut form = filled();
        form.threshold = "fast".into();
        assert_eq!(form.to_spec().unwrap_err(), MetricRuleError::DurationThreshold);
        form.metric = "failure_rate".into();
        assert_eq!(form.to_spec().unwrap_err(), MetricRuleError::RateThreshold);
        let mut form = filled();
        form.window_minutes = "".into();
        assert_eq!(form.to_spec().unwrap_err(), MetricRuleError::Window);
        form.metric = "p42".into();
        assert_eq!(form.to_spec().unwrap_err(), MetricRuleError::Metric);
    }

    #[test]
    fn a_stored_rule_fills_the_form_back_in() {
        let spec = filled().to_spec().unwrap();
        let form = MetricRuleForm::from_spec(&spec);
        assert_eq!((form.threshold.as_str(), form.window_minutes.as_str()), ("500", "5"));
        assert_eq!(number_text(12.5), "12.5");
    }
}
