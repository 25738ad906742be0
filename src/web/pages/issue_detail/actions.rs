//! The issue page's actions, carried out by `core::issues`: resolving and ignoring need Sentry's
//! `event:write` (every member), deleting `event:admin` (admins and owners).

use crate::domain::IssueId;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use crate::core::{self, Access};
use crate::domain::lifecycle::{IgnoreFor, StatusChange};
use crate::web::session::Action;
use crate::web::{WebError, WebState};

use super::find_issue;

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    action: String,
    #[serde(default)]
    count: String,
    #[serde(default)]
    minutes: String,
}

enum IssueAction {
    Change(StatusChange),
    Delete,
}

pub async fn action(
    State(state): State<WebState>,
    Path((org, issue_id)): Path<(String, IssueId)>,
    action: Action<ActionForm>,
) -> Result<impl IntoResponse, WebError> {
    let found = find_issue(&state.db, &action.viewer, &org, issue_id).await?;
    let access = Access::member(found.organization.clone(), found.role);
    match parse_action(&action.form)? {
        IssueAction::Change(change) => {
            core::issues::change_status(&state.core, &access, found.issue.id, &change).await?;
            Ok(Redirect::to(&format!("{}/", found.base())))
        }
        IssueAction::Delete => {
            core::issues::delete(&state.core, &access, &[found.issue.id]).await?;
            Ok(Redirect::to(&format!(
                "/organizations/{}/issues/",
                found.organization.slug
            )))
        }
    }
}

fn parse_action(form: &ActionForm) -> Result<IssueAction, WebError> {
    let change = match form.action.as_str() {
        "resolve" => StatusChange::Resolve,
        "resolve_next_release" => StatusChange::ResolveInNextRelease,
        // "latest" is the project's newest release when the change is applied (see StatusChange).
        "resolve_current_release" => StatusChange::ResolveInRelease("latest".to_owned()),
        "ignore_forever" => StatusChange::Ignore(IgnoreFor::Forever),
        "ignore_count" => StatusChange::Ignore(IgnoreFor::Count(positive(&form.count, "number of events")?)),
        "ignore_minutes" => StatusChange::Ignore(IgnoreFor::Minutes(positive(&form.minutes, "duration")?)),
        "unresolve" => StatusChange::Unresolve,
        "delete" => return Ok(IssueAction::Delete),
        _ => return Err(WebError::BadRequest("Unknown action.".into())),
    };
    Ok(IssueAction::Change(change))
}

/// A whole number from 1 to a year's worth of minutes or a million events.
fn positive(text: &str, what: &str) -> Result<i64, WebError> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| (1..=1_000_000).contains(n))
        .ok_or_else(|| WebError::BadRequest(format!("The {what} must be a whole number from 1 to 1000000.")))
}
