//! Releases as tools create them (sentry-cli, CI scripts): a version in some of the organization's
//! projects, its details, and its deploys. All of it needs `project:releases`.

use crate::domain::accounts::Scope;
use crate::domain::release_commits::CommitChange;
use crate::store::projects::Project;
use crate::store::release_commits::replace_commits;
use crate::store::releases::{self, Deploy, Release, ReleaseDetails};

use super::{Access, Core, CoreError, CoreResult};

/// Creates the release in these projects (or adds them to an existing one) and merges the details;
/// returns it and whether it existed before.
#[tracing::instrument(skip(core, access, projects, details), fields(organization = access.organization.id.get()))]
pub async fn create(
    core: &Core,
    access: &Access,
    version: &str,
    projects: &[Project],
    details: &ReleaseDetails,
) -> CoreResult<(Release, bool)> {
    access.require(Scope::ProjectReleases)?;
    let version = checked_version(version)?;
    if projects.is_empty() {
        return Err(CoreError::invalid("projects: a release needs at least one project"));
    }
    for project in projects {
        access.sees(project.organization_id)?;
    }
    let organization_id = access.organization.id;
    let existed = releases::get_release(&core.db, organization_id, version)
        .await?
        .is_some();
    let ids: Vec<_> = projects.iter().map(|p| p.id).collect();
    releases::upsert_release(&core.db, organization_id, version, &ids, details).await?;
    Ok((find(core, access, version).await?, existed))
}

/// Merges details (and more projects) into an existing release; a commit change replaces its commits
/// (checked before anything is stored).
#[tracing::instrument(skip(core, access, projects, details, commits), fields(organization = access.organization.id.get()))]
pub async fn update(
    core: &Core,
    access: &Access,
    version: &str,
    projects: &[Project],
    details: &ReleaseDetails,
    commits: Option<CommitChange>,
) -> CoreResult<Release> {
    access.require(Scope::ProjectReleases)?;
    find(core, access, version).await?;
    for project in projects {
        access.sees(project.organization_id)?;
    }
    let commits = match commits {
        Some(change) => Some(super::release_commits::checked_change(core, access, change).await?),
        None => None,
    };
    let ids: Vec<_> = projects.iter().map(|p| p.id).collect();
    releases::upsert_release(&core.db, access.organization.id, version, &ids, details).await?;
    if let Some(commits) = commits {
        replace_commits(&core.db, access.organization.id, version, &commits).await?;
    }
    find(core, access, version).await
}

/// Deletes the release from every project of the organization, with its details and deploys.
#[tracing::instrument(skip(core, access), fields(organization = access.organization.id.get()))]
pub async fn delete(core: &Core, access: &Access, version: &str) -> CoreResult<()> {
    access.require(Scope::ProjectReleases)?;
    Ok(releases::delete_release(&core.db, access.organization.id, version).await?)
}

/// Records a deploy of an existing release; returns it with its id.
#[tracing::instrument(skip(core, access, deploy), fields(organization = access.organization.id.get()))]
pub async fn create_deploy(core: &Core, access: &Access, version: &str, mut deploy: Deploy) -> CoreResult<Deploy> {
    access.require(Scope::ProjectReleases)?;
    find(core, access, version).await?;
    if deploy.environment.trim().is_empty() {
        return Err(CoreError::invalid("environment is required"));
    }
    deploy.id = releases::create_deploy(&core.db, access.organization.id, version, &deploy).await?;
    Ok(deploy)
}

/// The organization's release with this version.
pub async fn find(core: &Core, access: &Access, version: &str) -> CoreResult<Release> {
    releases::get_release(&core.db, access.organization.id, version)
        .await?
        .ok_or(CoreError::NotFound)
}

/// 1–200 characters without `/` or line breaks, and not `.` or `..` (Sentry's rule; a version is a path
/// segment in the API).
fn checked_version(version: &str) -> CoreResult<&str> {
    let version = version.trim();
    if version.is_empty() || version.len() > 200 || version.contains(['/', '\n']) || version == "." || version == ".." {
        return Err(CoreError::invalid(
            "version must be 1–200 characters without '/' or line breaks",
        ));
    }
    Ok(version)
}
