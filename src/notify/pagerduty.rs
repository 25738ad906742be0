//! PagerDuty Events API v2 bodies. Every alert of an issue is a `trigger` whose `dedup_key` names the issue,
//! so PagerDuty keeps one incident per issue however often it fires; resolving the issue sends a `resolve`
//! with the same key. A metric rule's incident is keyed by the rule: it fires, then resolves on recovery.
//!
//! Wire facts (PagerDuty's Events API v2): `payload.summary` is at most 1024 characters; `severity` is one of
//! `critical`, `error`, `warning`, `info`; a resolve needs only `routing_key`, `event_action` and `dedup_key`.

use serde_json::{json, Map, Value};

use crate::domain::alerts::metric::Transition;
use crate::domain::{IssueId, RuleId};

use super::metric::{headline as metric_headline, MetricMessage};
use super::summary::{rfc3339, truncate};
use super::{AlertMessage, AlertedIssue};

/// PagerDuty's limit on `payload.summary`.
pub const SUMMARY_CHARS: usize = 1024;
/// PagerDuty's limit on `dedup_key`; ours are far shorter, a test's key included.
const DEDUP_KEY_CHARS: usize = 255;

/// The incident key of an issue: stable for its whole life, so a regression re-opens "the same" incident
/// name after a resolve.
pub fn issue_dedup_key(issue_id: IssueId) -> String {
    format!("faultline-issue-{issue_id}")
}

/// The incident key of a metric rule (one transaction, one condition: at most one crossing open at a time).
pub fn metric_dedup_key(rule_id: RuleId) -> String {
    format!("faultline-metric-rule-{rule_id}")
}

/// An event level as a PagerDuty severity: `fatal` pages as critical, `debug` is only information.
pub fn severity(level: &str) -> &'static str {
    match level {
        "fatal" => "critical",
        "error" => "error",
        "warning" => "warning",
        _ => "info",
    }
}

/// The events an issue alert sends, in order: one trigger per issue (a digest's too: each issue is its own
/// incident). A test notification triggers an incident of its own and resolves it at once, so it proves
/// the routing key without leaving anyone paged.
pub fn issue_events(message: &AlertMessage, routing_key: &str, idempotency_key: &str) -> Vec<Value> {
    if message.test {
        let dedup_key = truncate(&format!("faultline-test-{idempotency_key}"), DEDUP_KEY_CHARS);
        return message
            .issues
            .iter()
            .flat_map(|issue| {
                [
                    issue_trigger(message, issue, routing_key, &dedup_key),
                    resolve(routing_key, &dedup_key),
                ]
            })
            .collect();
    }
    message
        .issues
        .iter()
        .map(|issue| issue_trigger(message, issue, routing_key, &issue_dedup_key(issue.issue_id)))
        .collect()
}

fn issue_trigger(message: &AlertMessage, issue: &AlertedIssue, routing_key: &str, dedup_key: &str) -> Value {
    let mut details = Map::new();
    details.insert("issue".into(), json!(issue.short_id));
    details.insert("culprit".into(), json!(issue.culprit));
    details.insert("level".into(), json!(issue.level));
    details.insert("reason".into(), json!(issue.reason.as_str()));
    details.insert("times_seen".into(), json!(issue.times_seen));
    details.insert("users".into(), json!(issue.user_count));
    details.insert("first_seen".into(), json!(rfc3339(issue.first_seen_ms)));
    details.insert("last_seen".into(), json!(rfc3339(issue.last_seen_ms)));
    details.insert("project".into(), json!(message.project_name));
    details.insert("rule".into(), json!(message.rule_name));
    if let Some(environment) = &issue.environment {
        details.insert("environment".into(), json!(environment));
    }
    if let Some(release) = &issue.release {
        details.insert("release".into(), json!(release));
    }
    let mut payload = json!({
        "summary": truncate(&issue.title, SUMMARY_CHARS),
        "source": message.project_slug,
        "severity": severity(&issue.level),
        "timestamp": rfc3339(issue.last_seen_ms),
        "group": message.project_slug,
        "class": issue.reason.as_str(),
        "custom_details": details,
    });
    if !issue.culprit.is_empty() {
        payload["component"] = json!(truncate(&issue.culprit, SUMMARY_CHARS));
    }
    trigger(
        routing_key,
        dedup_key,
        payload,
        &issue.url,
        &format!("{} in Faultline", issue.short_id),
    )
}

/// The event a metric message sends: a trigger while the rule is above its threshold, a resolve once it is
/// back. `None` when the rule is gone: its incident's key is unknown.
pub fn metric_events(message: &MetricMessage, routing_key: &str) -> Option<Vec<Value>> {
    let dedup_key = metric_dedup_key(message.rule_id?);
    let latest = message.latest();
    if latest.transition == Transition::Resolve {
        return Some(vec![resolve(routing_key, &dedup_key)]);
    }
    let details: Map<String, Value> = message
        .facts()
        .into_iter()
        .map(|fact| (fact.label.to_lowercase().replace(' ', "_"), json!(fact.value)))
        .collect();
    let payload = json!({
        "summary": truncate(&metric_headline(latest), SUMMARY_CHARS),
        "source": message.project_slug,
        // A slow or failing transaction degrades a service; an issue's own level says when it is down.
        "severity": "warning",
        "timestamp": rfc3339(latest.at_ms),
        "component": truncate(&latest.transaction, SUMMARY_CHARS),
        "group": message.project_slug,
        "class": latest.metric.as_str(),
        "custom_details": details,
    });
    Some(vec![trigger(
        routing_key,
        &dedup_key,
        payload,
        &message.url,
        "Transaction in Faultline",
    )])
}

fn trigger(routing_key: &str, dedup_key: &str, payload: Value, url: &str, link_text: &str) -> Value {
    json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": payload,
        "links": [{"href": url, "text": link_text}],
        "client": "Faultline",
        "client_url": url,
    })
}

/// Closes the incident of `dedup_key`; PagerDuty needs nothing else to find it.
pub fn resolve(routing_key: &str, dedup_key: &str) -> Value {
    json!({
        "routing_key": routing_key,
        "event_action": "resolve",
        "dedup_key": dedup_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::metric::samples::{change, fired, message as metric_message};
    use crate::notify::summary::samples::{issue, many, message};

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn levels_map_to_pagerduty_severities() {
        let mapped: Vec<&str> = ["fatal", "error", "warning", "info", "debug", "sample"]
            .into_iter()
            .map(severity)
            .collect();
        assert_eq!(mapped, ["critical", "error", "warning", "info", "info", "info"]);
    }

    #[test]
    fn an_issue_triggers_with_its_own_dedup_key_summary_severity_details_and_link() {
        let events = issue_events(&message(vec![issue(7, "TypeError: x is undefined")]), KEY, "d-1");
        assert_eq!(events.len(), 1);
        let event = &events[0];
        assert_eq!(event["routing_key"], KEY);
        assert_eq!(event["event_action"], "trigger");
        assert_eq!(event["dedup_key"], "faultline-issue-7");
        let payload = &event["payload"];
        assert_eq!(payload["summary"], "TypeError: x is undefined");
        assert_eq!(payload["source"], "web");
        assert_eq!(payload["severity"], "error");
        assert_eq!(payload["timestamp"], "2024-05-01T13:34:56.789Z");
        assert_eq!(payload["component"], "app.views in checkout");
        let details = &payload["custom_details"];
        assert_eq!(details["culprit"], "app.views in checkout");
        assert_eq!(details["times_seen"], 42);
        assert_eq!(details["environment"], "production");
        assert_eq!(details["release"], "web@1.2.3");
        assert_eq!(
            event["links"][0]["href"],
            "https://faultline.example.com/acme/web/issues/7/"
        );
    }

    #[test]
    fn unknown_environment_and_release_are_left_out() {
        let mut bare = issue(1, "Boom");
        bare.environment = None;
        bare.release = None;
        let event = &issue_events(&message(vec![bare]), KEY, "d")[0];
        let details = event["payload"]["custom_details"].as_object().unwrap();
        assert!(!details.contains_key("environment") && !details.contains_key("release"));
    }

    #[test]
    fn a_long_title_is_cut_to_pagerdutys_summary_limit() {
        let event = &issue_events(&message(vec![issue(1, &"é".repeat(5000))]), KEY, "d")[0];
        let summary = event["payload"]["summary"].as_str().unwrap();
        assert_eq!(summary.chars().count(), SUMMARY_CHARS);
        assert!(summary.ends_with('…'));
    }

    #[test]
    fn a_digest_triggers_each_issue_on_its_own_incident() {
        let keys: Vec<String> = issue_events(&many(3), KEY, "d")
            .iter()
            .map(|event| event["dedup_key"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(keys, ["faultline-issue-1", "faultline-issue-2", "faultline-issue-3"]);
    }

    #[test]
    fn a_test_triggers_then_resolves_an_incident_of_its_own() {
        let mut test = message(vec![issue(0, "This is a test")]);
        test.test = true;
        let events = issue_events(&test, KEY, "abc");
        let actions: Vec<&str> = events.iter().map(|e| e["event_action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["trigger", "resolve"]);
        assert_eq!(events[0]["dedup_key"], "faultline-test-abc");
        assert_eq!(events[1]["dedup_key"], "faultline-test-abc");
    }

    #[test]
    fn a_resolve_carries_only_the_key_the_action_and_the_dedup_key() {
        let event = resolve(KEY, &issue_dedup_key(IssueId(9)));
        assert_eq!(
            event,
            json!({"routing_key": KEY, "event_action": "resolve", "dedup_key": "faultline-issue-9"})
        );
    }

    #[test]
    fn a_metric_rule_triggers_then_resolves_its_own_incident() {
        let mut firing = fired();
        firing.rule_id = Some(RuleId(4));
        let trigger = &metric_events(&firing, KEY).unwrap()[0];
        assert_eq!(trigger["event_action"], "trigger");
        assert_eq!(trigger["dedup_key"], "faultline-metric-rule-4");
        assert_eq!(trigger["payload"]["severity"], "warning");
        assert_eq!(trigger["payload"]["custom_details"]["metric"], "p95 duration");
        let mut back = metric_message(vec![
            change(Transition::Fire, Some(900.0)),
            change(Transition::Resolve, Some(20.0)),
        ]);
        back.rule_id = Some(RuleId(4));
        assert_eq!(
            metric_events(&back, KEY).unwrap(),
            vec![resolve(KEY, "faultline-metric-rule-4")]
        );
        back.rule_id = None;
        assert!(
            metric_events(&back, KEY).is_none(),
            "a deleted rule's incident has no key"
        );
    }
}
