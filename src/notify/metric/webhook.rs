//! The generic webhook's body for a metric alert (documented in docs/webhooks.md): version 1 as for issue
//! alerts, with `kind` `metric_alert` or `metric_resolved`, an empty `issues` list (so a receiver written
//! for issue alerts reads it without failing) and the crossing in `metric`.

use serde::Serialize;

use super::super::summary::rfc3339;
use super::super::webhook::PAYLOAD_VERSION;
use super::{MetricChange, MetricMessage};
use crate::domain::alerts::metric::{Metric, Transition};

#[derive(Serialize)]
struct Payload<'a> {
    version: &'static str,
    id: &'a str,
    kind: &'static str,
    rule: Rule<'a>,
    project: Project<'a>,
    issues: [(); 0],
    metric: Crossing<'a>,
    /// Every crossing of the message, oldest first (the last is `metric`).
    changes: Vec<Crossing<'a>>,
}

#[derive(Serialize)]
struct Rule<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct Project<'a> {
    slug: &'a str,
    name: &'a str,
    organization: &'a str,
    url: &'a str,
}

#[derive(Serialize)]
struct Crossing<'a> {
    name: &'static str,
    unit: &'static str,
    state: &'static str,
    transaction: &'a str,
    environment: Option<&'a str>,
    value: Option<f64>,
    threshold: f64,
    window_minutes: i64,
    count: i64,
    at: String,
    url: &'a str,
}

/// The exact bytes sent, which are also the bytes signed.
pub fn payload(message: &MetricMessage, idempotency_key: &str) -> Vec<u8> {
    let payload = Payload {
        version: PAYLOAD_VERSION,
        id: idempotency_key,
        kind: message.kind(),
        rule: Rule {
            name: &message.rule_name,
        },
        project: Project {
            slug: &message.project_slug,
            name: &message.project_name,
            organization: &message.organization_slug,
            url: &message.project_url,
        },
        issues: [],
        metric: crossing(message.latest(), &message.url),
        changes: message
            .changes
            .iter()
            .map(|change| crossing(change, &message.url))
            .collect(),
    };
    serde_json::to_vec(&payload).expect("plain data serializes")
}

fn crossing<'a>(change: &'a MetricChange, url: &'a str) -> Crossing<'a> {
    Crossing {
        name: change.metric.as_str(),
        unit: match change.metric {
            Metric::P95 => "ms",
            Metric::FailureRate | Metric::CrashFreeSessions => "%",
        },
        state: match change.transition {
            Transition::Fire => "firing",
            Transition::Resolve => "resolved",
        },
        transaction: &change.transaction,
        environment: change.environment.as_deref(),
        // Rounded as messages show it: the histogram's bucket bounds carry no meaningful decimals.
        value: change.value.map(|v| (v * 10.0).round() / 10.0),
        threshold: change.threshold,
        window_minutes: change.window_minutes,
        count: change.count,
        at: rfc3339(change.at_ms),
        url,
    }
}

#[cfg(test)]
mod tests {
    use super::super::samples::{change, fired, message};
    use super::*;

    #[test]
    fn the_body_carries_the_crossing_beside_an_empty_issue_list() {
        let body: serde_json::Value = serde_json::from_slice(&payload(&fired(), "delivery-1")).unwrap();
        assert_eq!(body["version"], "1");
        assert_eq!(body["id"], "delivery-1");
        assert_eq!(body["kind"], "metric_alert");
        assert_eq!(body["rule"]["name"], "Slow checkout");
        assert_eq!(body["issues"], serde_json::json!([]));
        let metric = &body["metric"];
        assert_eq!(metric["name"], "p95");
        assert_eq!(metric["unit"], "ms");
        assert_eq!(metric["state"], "firing");
        assert_eq!(metric["transaction"], "/checkout/{id}/");
        assert_eq!(metric["environment"], "production");
        assert_eq!(metric["value"], 2238.7);
        assert_eq!(metric["threshold"], 500.0);
        assert_eq!(metric["window_minutes"], 10);
        assert_eq!(metric["count"], 42);
        assert_eq!(metric["at"], "2024-05-01T12:34:56Z");
        assert!(metric["url"]
            .as_str()
            .unwrap()
            .contains("/performance/transaction/?name="));
        assert_eq!(body["changes"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn a_resolve_without_a_value_says_null() {
        let message = message(vec![
            change(Transition::Fire, Some(900.0)),
            change(Transition::Resolve, None),
        ]);
        let body: serde_json::Value = serde_json::from_slice(&payload(&message, "k")).unwrap();
        assert_eq!(body["kind"], "metric_resolved");
        assert_eq!(body["metric"]["state"], "resolved");
        assert!(body["metric"]["value"].is_null());
        assert_eq!(body["changes"][0]["state"], "firing");
    }
}
