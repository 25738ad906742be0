//! The commits of releases and the repositories they name (sentry-cli `releases set-commits`, `repos list`).
//! A repository becomes known when commits naming it are set (what `set-commits --local` sends, as Sentry
//! does) or when it is added through the API; head refs (`--commit REPO@SHA`) must name a known one.

use crate::domain::accounts::Scope;
use crate::domain::release_commits::{
    check_repository_name, checked_commits, checked_refs, head_commits, Commit, CommitChange,
};
use crate::store::release_commits::{self, Repository, StoredCommit};

use super::{releases::find, Access, Core, CoreError, CoreResult};

/// The commits a change stands for, once checked: a valid list, or head refs of known repositories.
pub(super) async fn checked_change(core: &Core, access: &Access, change: CommitChange) -> CoreResult<Vec<Commit>> {
    match change {
        CommitChange::Commits(commits) => checked_commits(commits).map_err(CoreError::Invalid),
        CommitChange::Refs(refs) => {
            checked_refs(&refs).map_err(CoreError::Invalid)?;
            require_known(core, access, refs.iter().map(|r| r.repository.trim())).await?;
            checked_commits(head_commits(&refs)).map_err(CoreError::Invalid)
        }
    }
}

/// Refuses, naming them, repositories the organization does not know.
async fn require_known<'a>(core: &Core, access: &Access, names: impl Iterator<Item = &'a str>) -> CoreResult<()> {
    let known = release_commits::list_repositories(&core.db, access.organization.id).await?;
    let mut unknown: Vec<&str> = names.filter(|n| !known.iter().any(|r| r.name == *n)).collect();
    unknown.sort_unstable();
    unknown.dedup();
    match unknown.as_slice() {
        [] => Ok(()),
        names => Err(CoreError::invalid(format!(
            "Unknown repository {}: set its commits once with `sentry-cli releases set-commits --local` inside \
             a clone, or add it with POST /api/0/organizations/{}/repos/",
            names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", "),
            access.organization.slug
        ))),
    }
}

/// The release's commits in the order they were sent.
pub async fn commits(core: &Core, access: &Access, version: &str) -> CoreResult<Vec<StoredCommit>> {
    require_read(access)?;
    find(core, access, version).await?;
    Ok(release_commits::list_commits(&core.db, access.organization.id, version).await?)
}

/// The newest earlier release with commits, if any (sentry-cli starts `--local` after its last commit).
pub async fn previous_with_commits(
    core: &Core,
    access: &Access,
    version: &str,
) -> CoreResult<Option<crate::store::releases::Release>> {
    require_read(access)?;
    match release_commits::previous_with_commits(&core.db, access.organization.id, version).await? {
        Some(previous) => Ok(Some(find(core, access, &previous).await?)),
        None => Ok(None),
    }
}

pub async fn repositories(core: &Core, access: &Access) -> CoreResult<Vec<Repository>> {
    require_read(access)?;
    Ok(release_commits::list_repositories(&core.db, access.organization.id).await?)
}

/// Adds a repository by name (an existing one is returned as it is); returns it and whether it is new.
#[tracing::instrument(skip(core, access), fields(organization = access.organization.id.get()))]
pub async fn add_repository(
    core: &Core,
    access: &Access,
    name: &str,
    url: Option<&str>,
    provider: Option<&str>,
) -> CoreResult<(Repository, bool)> {
    access.require(Scope::ProjectReleases)?;
    let name = name.trim();
    check_repository_name("name", name).map_err(CoreError::Invalid)?;
    Ok(release_commits::add_repository(&core.db, access.organization.id, name, url, provider).await?)
}

fn require_read(access: &Access) -> CoreResult<()> {
    if !access.allows(Scope::ProjectReleases) {
        access.require(Scope::ProjectRead)?;
    }
    Ok(())
}
