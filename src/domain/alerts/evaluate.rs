//! Rule evaluation over one batch. A rule fires for an issue when one of its triggers holds and at least
//! one of the batch's events of that issue passes its conditions; the cooldown is applied by the store.

use crate::domain::{IssueId, ProjectId, RuleId, Timestamp};
use std::collections::HashMap;

use super::{AlertRule, Conditions, FireReason, RuleSet};
use crate::domain::event::Level;

/// What conditions look at in one event.
#[derive(Debug, Clone, Copy)]
pub struct EventFacts<'a> {
    pub event_id: &'a str,
    pub level: Level,
    pub environment: Option<&'a str>,
    pub release: Option<&'a str>,
    /// Tag pairs, including level, environment and release.
    pub tags: &'a [(String, String)],
    pub received: Timestamp,
}

/// One issue the batch touched, with its events in the batch.
#[derive(Debug, Clone)]
pub struct BatchIssue<'a> {
    pub issue_id: IssueId,
    pub project_id: ProjectId,
    pub is_new: bool,
    pub regressed: bool,
    /// Ignored after the batch: no rule fires for it.
    pub muted: bool,
    pub events: Vec<EventFacts<'a>>,
}

/// Counts within the rules' windows, read by the store after the batch's own events were counted.
#[derive(Debug, Clone, Default)]
pub struct WindowCounts {
    /// `(issue id, minutes)` → events in that many minutes.
    pub events: HashMap<(IssueId, i64), i64>,
    /// `(issue id, minutes)` → distinct users in that many minutes.
    pub users: HashMap<(IssueId, i64), i64>,
}

/// A rule that wants to fire for an issue, before the cooldown is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub rule_id: RuleId,
    pub issue_id: IssueId,
    pub reason: FireReason,
    pub cooldown_minutes: i64,
    pub event_id: String,
    pub environment: Option<String>,
    pub release: Option<String>,
}

/// The candidates of a batch, at most one per rule and issue.
pub fn evaluate(rules: &RuleSet, issues: &[BatchIssue], counts: &WindowCounts) -> Vec<Candidate> {
    let mut candidates = Vec::new();
    for issue in issues.iter().filter(|issue| !issue.muted) {
        for rule in rules.for_project(issue.project_id) {
            let Some(reason) = triggered(rule, issue, counts) else {
                continue;
            };
            let newest_match = issue
                .events
                .iter()
                .filter(|event| rule.accepts(event))
                .max_by_key(|event| event.received);
            if let Some(event) = newest_match {
                candidates.push(Candidate {
                    rule_id: rule.id,
                    issue_id: issue.issue_id,
                    reason,
                    cooldown_minutes: rule.cooldown_minutes,
                    event_id: event.event_id.to_owned(),
                    environment: event.environment.map(str::to_owned),
                    release: event.release.map(str::to_owned),
                });
            }
        }
    }
    candidates
}

fn triggered(rule: &AlertRule, issue: &BatchIssue, counts: &WindowCounts) -> Option<FireReason> {
    let t = &rule.triggers;
    let reached = |table: &HashMap<(IssueId, i64), i64>, threshold: super::Threshold| {
        table.get(&(issue.issue_id, threshold.minutes)).copied().unwrap_or(0) >= threshold.count
    };
    if t.new_issue && issue.is_new {
        Some(FireReason::NewIssue)
    } else if t.regression && issue.regressed {
        Some(FireReason::Regression)
    } else if t.frequency.is_some_and(|f| reached(&counts.events, f)) {
        Some(FireReason::Frequency)
    } else if t.users.is_some_and(|u| reached(&counts.users, u)) {
        Some(FireReason::Users)
    } else {
        None
    }
}

impl AlertRule {
    /// Whether the event passes the rule's conditions (a rule fires only for issues with such an event).
    pub fn accepts(&self, event: &EventFacts) -> bool {
        passes(&self.conditions, event)
    }
}

fn passes(conditions: &Conditions, event: &EventFacts) -> bool {
    let level_ok = conditions.min_level.map_or(true, |min| event.level >= min);
    let environment_ok = conditions
        .environment
        .as_deref()
        .map_or(true, |wanted| event.environment == Some(wanted));
    let tag_ok = conditions.tag.as_ref().map_or(true, |(key, value)| {
        event.tags.iter().any(|(k, v)| k == key && v == value)
    });
    level_ok && environment_ok && tag_ok
}
