//! Metric alerts: a rule over one transaction's rollups ("p95 of /checkout/ above 800 ms over the last 10
//! minutes", "failure rate above 5 %"), what a user may ask for, and how one evaluation decides whether the
//! rule fires, resolves or stays as it is (`evaluate`). Pure: the evaluator hands in the window's counts
//! and the rule's stored state.

mod evaluate;
#[cfg(test)]
mod tests;

use crate::domain::{ChannelId, ProjectId, RuleId};

pub use evaluate::{measure, window_start, Evaluation, MetricState, Transition, WindowStats};

use super::DEFAULT_COOLDOWN_MINUTES;

/// What a metric rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// The 95th percentile of the transactions' durations, in milliseconds.
    P95,
    /// The share of transactions whose status is not ok, in percent.
    FailureRate,
    /// The share of a release's sessions that did not crash, in percent (release health); fires below.
    CrashFreeSessions,
}

impl Metric {
    pub const ALL: [Metric; 3] = [Metric::P95, Metric::FailureRate, Metric::CrashFreeSessions];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::P95 => "p95",
            Metric::FailureRate => "failure_rate",
            Metric::CrashFreeSessions => "crash_free_sessions",
        }
    }

    pub fn parse(text: &str) -> Option<Metric> {
        Self::ALL.into_iter().find(|metric| metric.as_str() == text)
    }

    /// How a sentence names it.
    pub fn label(self) -> &'static str {
        match self {
            Metric::P95 => "p95 duration",
            Metric::FailureRate => "failure rate",
            Metric::CrashFreeSessions => "crash-free sessions",
        }
    }

    /// What the rule names: a transaction, or for release health a release.
    pub fn subject(self) -> &'static str {
        match self {
            Metric::CrashFreeSessions => "release",
            Metric::P95 | Metric::FailureRate => "transaction",
        }
    }

    /// What its counts are of.
    pub fn counted(self) -> &'static str {
        match self {
            Metric::CrashFreeSessions => "sessions",
            Metric::P95 | Metric::FailureRate => "transactions",
        }
    }

    /// Which side of the threshold is bad: "above" (durations, failures) or "below" (crash-free sessions).
    pub fn side(self) -> &'static str {
        match self {
            Metric::CrashFreeSessions => "below",
            Metric::P95 | Metric::FailureRate => "above",
        }
    }

    /// Whether `value` is on the bad side of `threshold` (strictly).
    pub fn breached(self, value: f64, threshold: f64) -> bool {
        match self {
            Metric::CrashFreeSessions => value < threshold,
            Metric::P95 | Metric::FailureRate => value > threshold,
        }
    }

    /// A value with its unit: `1240 ms`, `12.5 %`.
    pub fn format(self, value: f64) -> String {
        match self {
            Metric::P95 if value >= 100.0 => format!("{value:.0} ms"),
            Metric::P95 => format!("{} ms", one_decimal(value)),
            Metric::FailureRate | Metric::CrashFreeSessions => format!("{} %", one_decimal(value)),
        }
    }

    /// The highest threshold a user may set: a p95 of more than about 2.8 hours is past the histogram's
    /// last bucket, and no failure rate is above 100 %.
    fn max_threshold(self) -> f64 {
        match self {
            Metric::P95 => 10_000_000.0,
            Metric::FailureRate | Metric::CrashFreeSessions => 100.0,
        }
    }
}

/// `12`, `12.5`: one decimal, without a trailing `.0`.
fn one_decimal(value: f64) -> String {
    let text = format!("{value:.1}");
    text.strip_suffix(".0").map(str::to_owned).unwrap_or(text)
}

/// When a metric rule fires: the metric of one transaction name (exact, as the Performance page lists it),
/// optionally in one environment, over the last `window_minutes`, is above `threshold` while at least
/// `min_count` transactions were seen in that window.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricCondition {
    pub transaction: String,
    pub environment: Option<String>,
    pub metric: Metric,
    pub threshold: f64,
    pub window_minutes: i64,
    pub min_count: i64,
}

impl MetricCondition {
    /// "p95 duration of /checkout/ above 800 ms over 10 min (production, at least 5 transactions)".
    pub fn describe(&self) -> String {
        let mut text = format!(
            "{} of {} {} {} over {} min",
            self.metric.label(),
            self.transaction,
            self.metric.side(),
            self.metric.format(self.threshold),
            self.window_minutes
        );
        let mut extras = Vec::new();
        if let Some(environment) = &self.environment {
            extras.push(format!("environment {environment}"));
        }
        if self.min_count > 1 {
            extras.push(format!("at least {} {}", self.min_count, self.metric.counted()));
        }
        if !extras.is_empty() {
            text.push_str(&format!(" ({})", extras.join(", ")));
        }
        text
    }
}

/// The minimum number of transactions in the window when a rule names none: one. A window without any
/// transaction has no p95 and no failure rate, so it never fires (and resolves a firing rule).
pub const DEFAULT_MIN_COUNT: i64 = 1;
const MAX_MIN_COUNT: i64 = 1_000_000;
const MAX_TRANSACTION_CHARS: usize = 500;

/// A metric rule as stored and evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRule {
    pub id: RuleId,
    pub project_id: ProjectId,
    pub name: String,
    pub enabled: bool,
    pub condition: MetricCondition,
    pub cooldown_minutes: i64,
    pub channel_ids: Vec<ChannelId>,
    pub state: MetricState,
}

/// What a user asks for when creating or editing a metric rule; checked by [`MetricRuleSpec::validate`].
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRuleSpec {
    pub name: String,
    pub enabled: bool,
    pub condition: MetricCondition,
    pub cooldown_minutes: i64,
    pub channel_ids: Vec<ChannelId>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricRuleError {
    #[error("a rule needs a name of 1–200 characters")]
    Name,
    #[error("a metric alert needs the transaction's name as the Performance page shows it, or for crash-free sessions the release (1–500 characters)")]
    Transaction,
    #[error("choose the metric: p95 duration or failure rate")]
    Metric,
    #[error("the p95 threshold must be a number of milliseconds above 0 and at most 10000000")]
    DurationThreshold,
    #[error("the failure-rate threshold must be a percentage from 0 up to (not including) 100")]
    RateThreshold,
    #[error("the crash-free threshold must be a percentage above 0 and at most 100")]
    CrashFreeThreshold,
    #[error("the window must be 1 to 1440 minutes (a day)")]
    Window,
    #[error("the minimum number of transactions must be 1 to 1000000")]
    MinCount,
    #[error("the cooldown must be 0 to 10080 minutes (a week)")]
    Cooldown,
    #[error("a rule needs at least one channel")]
    NoChannel,
}

impl MetricRuleSpec {
    /// A new metric rule's defaults, before the user fills in the transaction and threshold.
    pub fn blank() -> MetricRuleSpec {
        MetricRuleSpec {
            name: String::new(),
            enabled: true,
            condition: MetricCondition {
                transaction: String::new(),
                environment: None,
                metric: Metric::P95,
                threshold: 1000.0,
                window_minutes: 10,
                min_count: DEFAULT_MIN_COUNT,
            },
            cooldown_minutes: DEFAULT_COOLDOWN_MINUTES,
            channel_ids: Vec::new(),
        }
    }

    pub fn validate(mut self) -> Result<MetricRuleSpec, MetricRuleError> {
        self.name = self.name.trim().to_owned();
        if self.name.is_empty() || self.name.chars().count() > 200 {
            return Err(MetricRuleError::Name);
        }
        let c = &mut self.condition;
        c.transaction = c.transaction.trim().to_owned();
        if c.transaction.is_empty() || c.transaction.chars().count() > MAX_TRANSACTION_CHARS {
            return Err(MetricRuleError::Transaction);
        }
        c.environment = c
            .environment
            .take()
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty());
        check_threshold(c.metric, c.threshold)?;
        if !(1..=super::Threshold::MAX_MINUTES).contains(&c.window_minutes) {
            return Err(MetricRuleError::Window);
        }
        if !(1..=MAX_MIN_COUNT).contains(&c.min_count) {
            return Err(MetricRuleError::MinCount);
        }
        if !(0..=7 * 24 * 60).contains(&self.cooldown_minutes) {
            return Err(MetricRuleError::Cooldown);
        }
        self.channel_ids.sort_unstable();
        self.channel_ids.dedup();
        if self.channel_ids.is_empty() {
            return Err(MetricRuleError::NoChannel);
        }
        Ok(self)
    }
}

/// A p95 threshold is above 0 ms (every transaction takes longer); a failure rate of 100 % can never be
/// exceeded, so a rule "above 100 %" would never fire.
fn check_threshold(metric: Metric, threshold: f64) -> Result<(), MetricRuleError> {
    let fits = threshold.is_finite()
        && match metric {
            Metric::P95 => threshold > 0.0 && threshold <= metric.max_threshold(),
            Metric::FailureRate => (0.0..metric.max_threshold()).contains(&threshold),
            Metric::CrashFreeSessions => threshold > 0.0 && threshold <= metric.max_threshold(),
        };
    match (fits, metric) {
        (true, _) => Ok(()),
        (false, Metric::P95) => Err(MetricRuleError::DurationThreshold),
        (false, Metric::FailureRate) => Err(MetricRuleError::RateThreshold),
        (false, Metric::CrashFreeSessions) => Err(MetricRuleError::CrashFreeThreshold),
    }
}
