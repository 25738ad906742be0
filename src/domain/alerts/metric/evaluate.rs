//! One evaluation of a metric rule: the metric over its window, and whether that starts a crossing (the
//! rule fires), ends one (it resolves) or changes nothing. A rule fires once per crossing, not at every
//! evaluation while the metric stays above its threshold.

use crate::domain::performance::histogram::Histogram;

use super::{Metric, MetricCondition, MetricRule};

const MINUTE_MS: i64 = 60_000;

/// The rollups of the watched transaction within a rule's window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WindowStats {
    /// Transactions, or for crash-free sessions the sessions started.
    pub count: i64,
    pub failures: i64,
    /// Sessions that crashed (crash-free sessions only).
    pub crashed: i64,
    pub histogram: Histogram,
}

/// The start (epoch ms) of a window of `window_minutes` ending now. Rollups are kept per minute, so the
/// window is the current minute (so far) and the `window_minutes - 1` whole minutes before it.
pub fn window_start(now_ms: i64, window_minutes: i64) -> i64 {
    let current = now_ms - now_ms.rem_euclid(MINUTE_MS);
    current - (window_minutes.max(1) - 1) * MINUTE_MS
}

/// The metric over the window: the p95 duration in ms (read from the histogram, so up to one bucket,
/// about 12 %, above the exact value) or the failure rate in %. `None` when the window holds fewer than the
/// rule's minimum count of transactions: too few to judge, so never above the threshold.
pub fn measure(condition: &MetricCondition, stats: &WindowStats) -> Option<f64> {
    if stats.count < condition.min_count.max(1) {
        return None;
    }
    match condition.metric {
        Metric::P95 => stats.histogram.percentile(0.95),
        Metric::FailureRate => Some(stats.failures as f64 * 100.0 / stats.count as f64),
        Metric::CrashFreeSessions => Some(100.0 - stats.crashed.min(stats.count) as f64 * 100.0 / stats.count as f64),
    }
}

/// A change of a rule's state that is announced on its channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The metric went above the threshold.
    Fire,
    /// It is back at or below the threshold (or too few transactions are left to judge).
    Resolve,
}

impl Transition {
    /// The outbox's `reason` for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Transition::Fire => "metric_fired",
            Transition::Resolve => "metric_resolved",
        }
    }

    pub fn parse(text: &str) -> Option<Transition> {
        [Transition::Fire, Transition::Resolve]
            .into_iter()
            .find(|t| t.as_str() == text)
    }
}

/// A rule's state between evaluations, kept in the database.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MetricState {
    /// A crossing was announced and has not resolved yet.
    pub firing: bool,
    /// When the rule last fired (epoch ms): the start of its cooldown.
    pub last_fired_at: Option<i64>,
    /// What the last evaluation measured, and over how many transactions.
    pub last_value: Option<f64>,
    pub last_count: Option<i64>,
    pub evaluated_at: Option<i64>,
}

/// What one evaluation found and decided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    pub value: Option<f64>,
    pub count: i64,
    pub transition: Option<Transition>,
    /// The state to store, when the stored one is still what the evaluator read.
    pub next: MetricState,
}

impl MetricRule {
    /// Evaluates the rule over its window's rollups at `now_ms`. Above the threshold (strictly) it fires,
    /// unless it is firing already or fired less than its cooldown ago; in that case it fires at the first
    /// evaluation after the cooldown if the metric is still above. Not above while firing, it resolves:
    /// a resolve ends an announced crossing, so no cooldown holds it back.
    pub fn evaluate(&self, stats: &WindowStats, now_ms: i64) -> Evaluation {
        let value = measure(&self.condition, stats);
        let above = value.is_some_and(|v| self.condition.metric.breached(v, self.condition.threshold));
        let state = self.state;
        let cooling = state
            .last_fired_at
            .is_some_and(|at| now_ms < at.saturating_add(self.cooldown_minutes.saturating_mul(MINUTE_MS)));
        let transition = match (state.firing, above) {
            (false, true) if !cooling => Some(Transition::Fire),
            (true, false) => Some(Transition::Resolve),
            _ => None,
        };
        let next = MetricState {
            firing: match transition {
                Some(Transition::Fire) => true,
                Some(Transition::Resolve) => false,
                None => state.firing,
            },
            last_fired_at: match transition {
                Some(Transition::Fire) => Some(now_ms),
                _ => state.last_fired_at,
            },
            last_value: value,
            last_count: Some(stats.count),
            evaluated_at: Some(now_ms),
        };
        Evaluation {
            value,
            count: stats.count,
            transition,
            next,
        }
    }
}
