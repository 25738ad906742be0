//! Metric alert messages: what every channel says when a metric rule fires or resolves (the headline, the
//! labelled facts, earlier crossings of the same message), before each channel's own format (`chat`,
//! `webhook`, `email`). Transaction names come from SDKs: every channel escapes them like issue titles.

mod chat;
mod email;
mod webhook;

use crate::domain::alerts::metric::{Metric, Transition};
use crate::domain::RuleId;

use super::summary::{truncate, utc_time, Fact, HEADLINE_TITLE_CHARS};

/// One crossing: the metric went above its threshold, or came back.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricChange {
    pub transition: Transition,
    pub metric: Metric,
    pub transaction: String,
    pub environment: Option<String>,
    /// `None` when too few transactions were left to measure.
    pub value: Option<f64>,
    pub threshold: f64,
    /// Transactions in the window.
    pub count: i64,
    pub window_minutes: i64,
    pub at_ms: i64,
}

/// A metric rule's message: usually one crossing; several when the digest window held them together.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricMessage {
    /// `None` once the rule is deleted.
    pub rule_id: Option<RuleId>,
    pub rule_name: String,
    pub organization_slug: String,
    pub project_slug: String,
    pub project_name: String,
    /// Link to the project's Performance page.
    pub project_url: String,
    /// Link to the transaction's page.
    pub url: String,
    /// Oldest first and never empty: the last is the rule's state now.
    pub changes: Vec<MetricChange>,
}

impl MetricMessage {
    pub fn latest(&self) -> &MetricChange {
        self.changes.last().expect("a metric message has a crossing")
    }

    /// The crossings before the latest one.
    pub fn earlier(&self) -> &[MetricChange] {
        &self.changes[..self.changes.len().saturating_sub(1)]
    }

    /// `metric_alert` or `metric_resolved`, after the latest crossing.
    pub fn kind(&self) -> &'static str {
        match self.latest().transition {
            Transition::Fire => "metric_alert",
            Transition::Resolve => "metric_resolved",
        }
    }

    /// `Metric alert` / `Metric alert resolved`.
    pub fn lead(&self) -> &'static str {
        match self.latest().transition {
            Transition::Fire => "Metric alert",
            Transition::Resolve => "Metric alert resolved",
        }
    }

    /// The email subject: the headline under the project's slug, on one line whatever the name holds.
    pub fn subject(&self) -> String {
        let subject = format!("[{}] {}", self.project_slug, headline(self.latest()));
        subject.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
    }

    /// The labelled facts of the latest crossing, in the order every channel shows them.
    pub fn facts(&self) -> Vec<Fact> {
        let change = self.latest();
        let mut facts = vec![
            fact("Project", self.project_name.clone()),
            fact(
                if change.metric.subject() == "release" {
                    "Release"
                } else {
                    "Transaction"
                },
                change.transaction.clone(),
            ),
        ];
        if let Some(environment) = &change.environment {
            facts.push(fact("Environment", environment.clone()));
        }
        facts.extend([
            fact("Metric", change.metric.label().to_owned()),
            fact("Value", value_text(change)),
            fact(
                "Threshold",
                format!("{} {}", change.metric.side(), change.metric.format(change.threshold)),
            ),
            fact(
                "Window",
                format!(
                    "last {} min, {} {}",
                    change.window_minutes,
                    change.count,
                    change.metric.counted()
                ),
            ),
            fact("At", utc_time(change.at_ms)),
        ]);
        facts
    }
}

/// "p95 duration of /checkout/ is 2239 ms, above 500 ms", "Resolved: … is 22.4 ms, no longer above 500 ms".
pub fn headline(change: &MetricChange) -> String {
    let subject = format!(
        "{} of {}",
        change.metric.label(),
        truncate(&change.transaction, HEADLINE_TITLE_CHARS)
    );
    let threshold = change.metric.format(change.threshold);
    let side = change.metric.side();
    match (change.transition, change.value) {
        (Transition::Fire, _) => format!("{subject} is {}, {side} {threshold}", value_text(change)),
        (Transition::Resolve, Some(_)) => format!(
            "Resolved: {subject} is {}, no longer {side} {threshold}",
            value_text(change)
        ),
        (Transition::Resolve, None) => format!(
            "Resolved: {subject} has too few {} to judge ({} in the last {} min)",
            change.metric.counted(),
            change.count,
            change.window_minutes
        ),
    }
}

/// An earlier crossing in one line: "Fired at 2024-05-01 12:34:56 UTC: 2239 ms".
pub fn earlier_line(change: &MetricChange) -> String {
    let what = match change.transition {
        Transition::Fire => "Fired",
        Transition::Resolve => "Resolved",
    };
    format!("{what} at {}: {}", utc_time(change.at_ms), value_text(change))
}

fn value_text(change: &MetricChange) -> String {
    change
        .value
        .map_or_else(|| "not measured".to_owned(), |v| change.metric.format(v))
}

fn fact(label: &'static str, value: String) -> Fact {
    Fact { label, value }
}

impl super::Render for MetricMessage {
    fn kind(&self) -> &'static str {
        MetricMessage::kind(self)
    }

    fn email(&self) -> super::email::Mail {
        email::mail(self)
    }

    fn slack(&self) -> serde_json::Value {
        chat::slack(self)
    }

    fn discord(&self) -> serde_json::Value {
        chat::discord(self)
    }

    fn teams(&self) -> serde_json::Value {
        chat::teams(self)
    }

    fn webhook(&self, idempotency_key: &str) -> Vec<u8> {
        webhook::payload(self, idempotency_key)
    }

    fn pagerduty(&self, routing_key: &str, _idempotency_key: &str) -> Option<Vec<serde_json::Value>> {
        super::pagerduty::metric_events(self, routing_key)
    }
}

#[cfg(test)]
pub mod samples {
    //! Metric messages for the payload builders' tests.
    use super::*;

    pub fn change(transition: Transition, value: Option<f64>) -> MetricChange {
        MetricChange {
            transition,
            metric: Metric::P95,
            transaction: "/checkout/{id}/".to_owned(),
            environment: Some("production".to_owned()),
            value,
            threshold: 500.0,
            count: 42,
            window_minutes: 10,
            at_ms: 1_714_566_896_000,
        }
    }

    pub fn message(changes: Vec<MetricChange>) -> MetricMessage {
        MetricMessage {
            rule_id: Some(RuleId(1)),
            rule_name: "Slow checkout".to_owned(),
            organization_slug: "acme".to_owned(),
            project_slug: "web".to_owned(),
            project_name: "Web shop".to_owned(),
            project_url: "https://faultline.example.com/organizations/acme/projects/web/performance/".to_owned(),
            url: "https://faultline.example.com/organizations/acme/projects/web/performance/transaction/?name=%2Fcheckout%2F%7Bid%7D%2F".to_owned(),
            changes,
        }
    }

    pub fn fired() -> MetricMessage {
        message(vec![change(Transition::Fire, Some(2238.7))])
    }
}

#[cfg(test)]
mod tests {
    use super::samples::*;
    use super::*;

    #[test]
    fn a_firing_headline_names_metric_transaction_value_and_threshold() {
        let message = fired();
        assert_eq!(
            headline(message.latest()),
            "p95 duration of /checkout/{id}/ is 2239 ms, above 500 ms"
        );
        assert_eq!(
            message.subject(),
            "[web] p95 duration of /checkout/{id}/ is 2239 ms, above 500 ms"
        );
        assert_eq!(message.kind(), "metric_alert");
    }

    #[test]
    fn a_resolved_headline_says_so_first() {
        let message = message(vec![
            change(Transition::Fire, Some(2238.7)),
            change(Transition::Resolve, Some(22.4)),
        ]);
        assert_eq!(
            headline(message.latest()),
            "Resolved: p95 duration of /checkout/{id}/ is 22.4 ms, no longer above 500 ms"
        );
        assert_eq!(message.kind(), "metric_resolved");
        assert_eq!(message.earlier().len(), 1);
        assert_eq!(
            earlier_line(&message.earlier()[0]),
            "Fired at 2024-05-01 12:34:56 UTC: 2239 ms"
        );
        let mut quiet = change(Transition::Resolve, None);
        quiet.count = 0;
        assert_eq!(
            headline(&quiet),
            "Resolved: p95 duration of /checkout/{id}/ has too few transactions to judge (0 in the last 10 min)"
        );
    }

    #[test]
    fn a_subject_stays_on_one_line() {
        let mut change = change(Transition::Fire, Some(900.0));
        change.transaction = "/a\r\nBcc: victim@example.com".to_owned();
        assert!(!message(vec![change]).subject().contains('\n'));
    }

    #[test]
    fn facts_leave_out_an_unknown_environment() {
        let mut change = change(Transition::Fire, Some(900.0));
        change.environment = None;
        let labels: Vec<&str> = message(vec![change]).facts().iter().map(|f| f.label).collect();
        assert_eq!(
            labels,
            ["Project", "Transaction", "Metric", "Value", "Threshold", "Window", "At"]
        );
    }
}
