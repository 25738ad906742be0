//! Changing issues: resolving, ignoring and reopening (Sentry's `event:write`), and deleting
//! (`event:admin`). Each change reads the issue and the project's latest release and writes the new state
//! in one transaction, so a concurrent event or change cannot slip in between. Resolving an issue also
//! queues, in that transaction, the resolve of every PagerDuty incident it opened: whatever edge resolved it.

use crate::domain::accounts::Scope;
use crate::domain::lifecycle::{ChangeContext, IssueStatus, StatusChange};
use crate::domain::{IssueId, Timestamp};
use crate::store::issues::{self, Issue};
use crate::store::{alerts, attachments, Tx};

use super::{Access, Core, CoreError, CoreResult};

/// Applies a status change to one issue of the caller's organization; returns it in its new state.
#[tracing::instrument(skip(core, access), fields(organization = access.organization.id.get()))]
pub async fn change_status(
    core: &Core,
    access: &Access,
    issue_id: IssueId,
    change: &StatusChange,
) -> CoreResult<Issue> {
    let mut changed = change_statuses(core, access, &[issue_id], change).await?;
    changed.pop().ok_or(CoreError::NotFound)
}

/// Applies a status change to those of the issues that are the caller's organization's (others are
/// skipped as if they did not exist), in one transaction; returns them in their new state.
#[tracing::instrument(skip(core, access, issue_ids), fields(organization = access.organization.id.get(), issues = issue_ids.len()))]
pub async fn change_statuses(
    core: &Core,
    access: &Access,
    issue_ids: &[IssueId],
    change: &StatusChange,
) -> CoreResult<Vec<Issue>> {
    access.require(Scope::EventWrite)?;
    let mut tx = Tx::begin(&core.db).await?;
    let mut changed = Vec::with_capacity(issue_ids.len());
    let mut resolves = 0;
    for id in issue_ids {
        let Some(mut issue) = issues::lock_organization_issue(&mut tx, access.organization.id, *id).await? else {
            continue;
        };
        let latest_release = issues::latest_release_in(&mut tx, issue.project_id).await?;
        let context = ChangeContext {
            now: Timestamp::now(),
            times_seen: issue.times_seen,
            latest_release: latest_release.as_deref(),
        };
        change.apply(&mut issue.state, &context);
        issues::write_state(&mut tx, issue.id, &issue.state).await?;
        // Every kind of resolution (now, in a release, in the next one) closes the incidents: the issue
        // left everyone's list. Only open incidents have rows, so resolving again queues nothing.
        if issue.state.status == IssueStatus::Resolved {
            resolves += alerts::queue_incident_resolves(&mut tx, issue.id, context.now.as_millis()).await?;
        }
        changed.push(issue);
    }
    tx.commit().await?;
    if resolves > 0 {
        core.outbox_wake.notify_one();
    }
    Ok(changed)
}

/// Deletes those of the issues that are the caller's organization's, with their events; returns how many.
#[tracing::instrument(skip(core, access, issue_ids), fields(organization = access.organization.id.get(), issues = issue_ids.len()))]
pub async fn delete(core: &Core, access: &Access, issue_ids: &[IssueId]) -> CoreResult<u64> {
    access.require(Scope::EventAdmin)?;
    let mut tx = Tx::begin(&core.db).await?;
    let files = attachments::files_of_issues(&mut tx, access.organization.id, issue_ids).await?;
    let deleted = issues::delete_organization_issues(&mut tx, access.organization.id, issue_ids).await?;
    tx.commit().await?;
    attachments::remove_files(&core.db, files).await;
    Ok(deleted)
}
