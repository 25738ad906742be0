//! Changing issues: resolving, ignoring and reopening (Sentry's `event:write`), and deleting
//! (`event:admin`). Each change reads the issue and the project's latest release and writes the new state
//! in one transaction, so a concurrent event or change cannot slip in between. Resolving an issue also
//! queues, in that transaction, the resolve of every PagerDuty incident it opened: whatever edge resolved it.

use crate::domain::accounts::Scope;
use crate::domain::lifecycle::{ChangeContext, IssueStatus, StatusChange};
use crate::domain::{IssueId, OrganizationId, Timestamp};
use crate::store::issues::{self, Issue};
use crate::store::{alerts, attachments, StoreError, Tx};

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
        if let Some((issue, queued)) = change_in(&mut tx, access.organization.id, *id, change).await? {
            resolves += queued;
            changed.push(issue);
        }
    }
    tx.commit().await?;
    if resolves > 0 {
        core.outbox_wake.notify_one();
    }
    Ok(changed)
}

/// Changes one issue of the organization inside the caller's transaction (also a cron monitor's recovery,
/// which resolves its issue with its check-in); returns it in its new state and how many incident resolves
/// were queued, or `None` when it is not there.
pub(super) async fn change_in(
    tx: &mut Tx,
    organization_id: OrganizationId,
    issue_id: IssueId,
    change: &StatusChange,
) -> Result<Option<(Issue, usize)>, StoreError> {
    let Some(mut issue) = issues::lock_organization_issue(tx, organization_id, issue_id).await? else {
        return Ok(None);
    };
    let latest_release = issues::latest_release_in(tx, issue.project_id).await?;
    let context = ChangeContext {
        now: Timestamp::now(),
        times_seen: issue.times_seen,
        latest_release: latest_release.as_deref(),
    };
    change.apply(&mut issue.state, &context);
    issues::write_state(tx, issue.id, &issue.state).await?;
    // Every kind of resolution (now, in a release, in the next one) closes the incidents: the issue
    // left everyone's list. Only open incidents have rows, so resolving again queues nothing.
    let mut resolves = 0;
    if issue.state.status == IssueStatus::Resolved {
        resolves = alerts::queue_incident_resolves(tx, issue.id, context.now.as_millis()).await?;
    }
    Ok(Some((issue, resolves)))
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
