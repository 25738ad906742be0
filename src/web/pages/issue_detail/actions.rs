//! The issue page's actions. Resolving and ignoring are open to every member (Sentry's `event:write`);
//! deleting needs an admin or owner.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use crate::domain::accounts::Role;
use crate::domain::lifecycle::{IgnoreFor, StatusChange};
use crate::store::issues::{change_status, delete_issues};
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
    Path((org, issue_id)): Path<(String, i64)>,
    action: Action<ActionForm>,
) -> Result<impl IntoResponse, WebError> {
    let found = find_issue(&state.db, &action.viewer, &org, issue_id).await?;
    match parse_action(&action.form)? {
        IssueAction::Change(change) => {
            change_status(&state.db, &found.issue, &change).await?;
            Ok(Redirect::to(&format!("{}/", found.base())))
        }
        IssueAction::Delete => {
            if !matches!(found.role, Role::Admin | Role::Owner) {
                return Err(WebError::Forbidden(
                    "Only an admin or owner of the organization can delete issues.",
                ));
            }
            delete_issues(&state.db, &[found.issue.id]).await?;
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
