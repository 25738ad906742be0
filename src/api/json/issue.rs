//! Issues (§11.3): counts as strings, `statusDetails` from the lifecycle state, optional `stats`.

use serde_json::{json, Map, Value};

use crate::domain::lifecycle::{IgnoreCondition, IssueState, Resolution};
use crate::domain::short_id::encode_short_id;
use crate::store::issues::Issue;
use crate::store::projects::Project;

use super::time::iso8601;

/// Where an issue lives, for its `project`, `shortId` and `permalink`.
#[derive(Debug, Clone, Copy)]
pub struct IssueContext<'a> {
    pub project: &'a Project,
    pub organization_slug: &'a str,
    pub public_url: &'a url::Url,
}

/// Event counts per bucket, keyed by the requested period (`24h` hourly, `14d` daily).
#[derive(Debug, Clone, PartialEq)]
pub struct IssueStats {
    pub period: String,
    /// (bucket start, unix seconds; events)
    pub buckets: Vec<(i64, i64)>,
}

pub fn issue(issue: &Issue, ctx: &IssueContext, stats: Option<&IssueStats>) -> Value {
    let mut value = json!({
        "id": issue.id.to_string(),
        "shortId": short_id(issue, ctx.project),
        "title": issue.title,
        "culprit": issue.culprit,
        "permalink": permalink(issue, ctx),
        "logger": Value::Null,
        "level": issue.level,
        "status": issue.state.status.as_str(),
        "substatus": issue.state.visible_substatus().map(|s| s.as_str()),
        "statusDetails": status_details(&issue.state, issue.times_seen),
        "isPublic": false,
        "platform": ctx.project.platform.clone().unwrap_or_else(|| "other".to_owned()),
        "project": {
            "id": ctx.project.id.to_string(),
            "name": ctx.project.name,
            "slug": ctx.project.slug,
            "platform": ctx.project.platform,
        },
        "type": issue.issue_type,
        "issueType": "error",
        "issueCategory": "error",
        "metadata": issue.metadata,
        "numComments": 0,
        "assignedTo": Value::Null,
        "isBookmarked": false,
        "isSubscribed": false,
        "subscriptionDetails": Value::Null,
        "hasSeen": false,
        "annotations": [],
        "isUnhandled": issue.is_unhandled,
        "count": issue.times_seen.to_string(),
        "userCount": issue.user_count,
        "firstSeen": iso8601(issue.first_seen),
        "lastSeen": iso8601(issue.last_seen),
        "firstRelease": issue.first_release.as_ref().map(|v| json!({ "version": v })),
        "lastRelease": issue.last_release.as_ref().map(|v| json!({ "version": v })),
        "priority": priority(&issue.level),
        "lifetime": {
            "count": issue.times_seen.to_string(),
            "userCount": issue.user_count,
            "firstSeen": iso8601(issue.first_seen),
            "lastSeen": iso8601(issue.last_seen),
        },
    });
    if let Some(stats) = stats {
        let buckets: Vec<Value> = stats.buckets.iter().map(|(at, n)| json!([at, n])).collect();
        value["stats"] = json!({ stats.period.clone(): buckets });
    }
    value
}

pub fn short_id(issue: &Issue, project: &Project) -> String {
    encode_short_id(&project.slug, issue.short_id_number.max(0) as u64)
}

fn permalink(issue: &Issue, ctx: &IssueContext) -> String {
    let mut url = ctx.public_url.clone();
    url.set_path(&format!(
        "/organizations/{}/issues/{}/",
        ctx.organization_slug, issue.id
    ));
    url.to_string()
}

/// Sentry's `statusDetails` for the lifecycle state; `{}` when there is nothing to say.
pub fn status_details(state: &IssueState, times_seen: i64) -> Value {
    let mut details = Map::new();
    match &state.resolution {
        Some(Resolution::InNextRelease { .. }) => {
            details.insert("inNextRelease".into(), true.into());
        }
        Some(Resolution::InRelease(version)) => {
            details.insert("inRelease".into(), version.clone().into());
        }
        Some(Resolution::Plain) | None => {}
    }
    match state.ignore {
        Some(IgnoreCondition::UntilTime { until }) => {
            details.insert("ignoreUntil".into(), iso8601(until).into());
        }
        // The number of events still to come before the issue returns.
        Some(IgnoreCondition::UntilCount { times_seen_target }) => {
            details.insert("ignoreCount".into(), (times_seen_target - times_seen).max(0).into());
        }
        Some(IgnoreCondition::Forever) | None => {}
    }
    Value::Object(details)
}

fn priority(level: &str) -> &'static str {
    match level {
        "fatal" | "error" => "high",
        "warning" => "medium",
        _ => "low",
    }
}
