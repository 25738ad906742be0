//! The issue filter a list or bulk request describes: `query` (parsed by `domain::search`), `status`,
//! `environment`, and the time window (`start`/`end`, or `statsPeriod` on organization lists).

use serde_json::Value;

use crate::api::error::{ApiError, ApiResult};
use crate::api::params::RequestParams;
use crate::domain::lifecycle::IssueStatus;
use crate::domain::normalize::parse_timestamp;
use crate::domain::period::StatsPeriod;
use crate::domain::search::{parse_search, SearchQuery, Term, TermKind};
use crate::store::issue_search::IssueFilter;
use crate::store::now_ms;
use crate::store::projects::Project;

/// A missing `query` means Sentry's default, unresolved issues; a present but empty one means all issues
/// (sentry-cli always sends `query=` and documents it as "no filtering").
pub fn issue_filter(params: &RequestParams, projects: &[Project], period_filters: bool) -> ApiResult<IssueFilter> {
    let status = params.get("status").filter(|s| !s.is_empty());
    let mut query = match params.get("query") {
        // A `status` filter (sentry-cli `-s muted`) replaces the default.
        None if status.is_some() => SearchQuery::default(),
        None => SearchQuery::default_unresolved(),
        Some(text) => parse_search(text)?,
    };
    if let Some(status) = status {
        query.terms.push(Term {
            negated: false,
            kind: TermKind::Status(vec![status_filter(status)?]),
        });
    }
    let (start_ms, end_ms) = window(params, period_filters)?;
    Ok(IssueFilter {
        project_ids: projects.iter().map(|p| p.id).collect(),
        query,
        environments: params.all("environment").into_iter().map(str::to_owned).collect(),
        start_ms,
        end_ms,
        category: None,
    })
}

/// sentry-cli's `-s muted` is the legacy name of ignored.
fn status_filter(name: &str) -> ApiResult<IssueStatus> {
    match name {
        "muted" | "archived" => Ok(IssueStatus::Ignored),
        other => IssueStatus::parse(other).ok_or_else(|| ApiError::bad_request(format!("invalid status {other:?}"))),
    }
}

fn window(params: &RequestParams, period_filters: bool) -> ApiResult<(Option<i64>, Option<i64>)> {
    let start = params.get("start").map(|t| parse_instant("start", t)).transpose()?;
    let end = params.get("end").map(|t| parse_instant("end", t)).transpose()?;
    if start.is_some() || end.is_some() || !period_filters {
        return Ok((start, end));
    }
    match params.get("statsPeriod").filter(|p| !p.is_empty()) {
        None => Ok((None, None)),
        Some(period) => {
            let period = StatsPeriod::parse(period).map_err(|e| ApiError::bad_request(e.to_string()))?;
            Ok((Some(now_ms() - period.length_ms), None))
        }
    }
}

/// ISO 8601 (a missing zone means UTC, as Grafana sends it) or Unix seconds.
fn parse_instant(name: &str, text: &str) -> ApiResult<i64> {
    parse_timestamp(&Value::String(text.to_owned()))
        .map(|seconds| (seconds * 1000.0) as i64)
        .ok_or_else(|| ApiError::bad_request(format!("invalid {name} {text:?}")))
}
