//! The body of `PUT …/issues/` (§11.5) read into a status change. sentry-cli sends `muted` for ignore and
//! `resolvedInNextRelease`; Sentry's UI sends `statusDetails` with `inRelease`, `ignoreCount`, … Unknown
//! fields (hasSeen, isBookmarked, assignedTo…) are accepted and ignored.

use serde_json::{json, Value};

use crate::domain::lifecycle::{IgnoreFor, StatusChange};
use crate::domain::normalize::parse_timestamp;
use crate::domain::Timestamp;

use super::error::ApiError;

/// A parsed update: the change to apply (none when the body changes nothing we track) and the change set
/// to answer bulk updates with.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueUpdate {
    pub change: Option<StatusChange>,
    pub echo: Value,
}

pub fn parse_issue_update(body: &Value) -> Result<IssueUpdate, ApiError> {
    let Some(object) = body.as_object() else {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    };
    let details = object.get("statusDetails").cloned().unwrap_or_else(|| json!({}));
    let status = match object.get("status") {
        None | Some(Value::Null) => None,
        Some(Value::String(status)) => Some(status.as_str()),
        Some(_) => return Err(ApiError::bad_request("status must be a string")),
    };
    let change = match status {
        None => None,
        Some("resolved") => Some(resolution(&details)?),
        Some("resolvedInNextRelease") => Some(StatusChange::ResolveInNextRelease),
        Some("unresolved") => Some(StatusChange::Unresolve),
        Some("ignored" | "muted" | "archived") => Some(StatusChange::Ignore(ignore_for(object, &details)?)),
        Some(other) => return Err(ApiError::bad_request(format!("Invalid status {other:?}"))),
    };
    let echo = match &change {
        None => json!({}),
        Some(change) => json!({ "status": status_name(change), "statusDetails": details }),
    };
    Ok(IssueUpdate { change, echo })
}

fn resolution(details: &Value) -> Result<StatusChange, ApiError> {
    if details.get("inNextRelease").and_then(Value::as_bool) == Some(true) {
        return Ok(StatusChange::ResolveInNextRelease);
    }
    match details.get("inRelease") {
        None | Some(Value::Null) => Ok(StatusChange::Resolve),
        Some(Value::String(version)) if !version.trim().is_empty() => {
            Ok(StatusChange::ResolveInRelease(version.trim().to_owned()))
        }
        Some(_) => Err(ApiError::bad_request(
            "statusDetails.inRelease must be a release version",
        )),
    }
}

/// `ignoreCount` (events), `ignoreDuration`/`snoozeDuration` (minutes), `ignoreUntil` (a date), else forever.
/// Each may sit in `statusDetails` or at the top level.
fn ignore_for(body: &serde_json::Map<String, Value>, details: &Value) -> Result<IgnoreFor, ApiError> {
    let field = |name: &str| details.get(name).or_else(|| body.get(name)).filter(|v| !v.is_null());
    if let Some(count) = field("ignoreCount") {
        return positive(count, "ignoreCount").map(IgnoreFor::Count);
    }
    if let Some(minutes) = field("ignoreDuration").or_else(|| field("snoozeDuration")) {
        return positive(minutes, "ignoreDuration").map(IgnoreFor::Minutes);
    }
    if let Some(until) = field("ignoreUntil") {
        let seconds = parse_timestamp(until).ok_or_else(|| ApiError::bad_request("ignoreUntil must be a date"))?;
        return Ok(IgnoreFor::Until(Timestamp::from_millis((seconds * 1000.0) as i64)));
    }
    Ok(IgnoreFor::Forever)
}

fn positive(value: &Value, name: &str) -> Result<i64, ApiError> {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|text| text.trim().parse().ok()))
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::bad_request(format!("{name} must be a positive integer")))
}

fn status_name(change: &StatusChange) -> &'static str {
    match change {
        StatusChange::Resolve | StatusChange::ResolveInNextRelease | StatusChange::ResolveInRelease(_) => "resolved",
        StatusChange::Unresolve => "unresolved",
        StatusChange::Ignore(_) => "ignored",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(body: Value) -> Option<StatusChange> {
        parse_issue_update(&body).unwrap().change
    }

    #[test]
    fn sentry_cli_bodies_map_to_changes() {
        assert_eq!(
            change(json!({"status": "resolved", "snoozeDuration": null})),
            Some(StatusChange::Resolve)
        );
        assert_eq!(
            change(json!({"status": "resolvedInNextRelease", "snoozeDuration": null})),
            Some(StatusChange::ResolveInNextRelease)
        );
        assert_eq!(
            change(json!({"status": "muted", "snoozeDuration": null})),
            Some(StatusChange::Ignore(IgnoreFor::Forever))
        );
        assert_eq!(
            change(json!({"status": "unresolved", "snoozeDuration": null})),
            Some(StatusChange::Unresolve)
        );
    }

    #[test]
    fn status_details_choose_the_resolution_and_ignore_condition() {
        assert_eq!(
            change(json!({"status": "resolved", "statusDetails": {"inRelease": "2.0"}})),
            Some(StatusChange::ResolveInRelease("2.0".into()))
        );
        assert_eq!(
            change(json!({"status": "resolved", "statusDetails": {"inNextRelease": true}})),
            Some(StatusChange::ResolveInNextRelease)
        );
        assert_eq!(
            change(json!({"status": "ignored", "statusDetails": {"ignoreCount": 5}})),
            Some(StatusChange::Ignore(IgnoreFor::Count(5)))
        );
        assert_eq!(
            change(json!({"status": "ignored", "snoozeDuration": 30})),
            Some(StatusChange::Ignore(IgnoreFor::Minutes(30)))
        );
        assert_eq!(
            change(json!({"status": "ignored", "statusDetails": {"ignoreUntil": "2030-01-01T00:00:00.123456789Z"}})),
            Some(StatusChange::Ignore(IgnoreFor::Until(Timestamp::from_millis(
                1_893_456_000_123
            ))))
        );
    }

    #[test]
    fn bodies_without_a_status_change_nothing() {
        assert_eq!(change(json!({"hasSeen": true, "isBookmarked": false})), None);
    }

    #[test]
    fn unknown_statuses_and_bad_counts_are_refused() {
        for body in [
            json!({"status": "fixed"}),
            json!({"status": "ignored", "statusDetails": {"ignoreCount": 0}}),
            json!({"status": "ignored", "ignoreDuration": "soon"}),
            json!([1, 2]),
        ] {
            assert!(parse_issue_update(&body).is_err(), "{body}");
        }
    }
}
