//! Projects and their client keys: the default project of a fresh install, creating projects, their
//! settings, keys and scrubbing. Every change of a key or of scrubbing clears ingest's key cache, so it
//! applies to the very next event (another process sees it within the cache's lifetime).

use crate::core::changes::Change;
use crate::domain::accounts::Scope;
use crate::domain::auth::{Dsn, PublicKey};
use crate::domain::filters::InboundFilters;
use crate::domain::project::ProjectSlug;
use crate::domain::quotas::DailyQuota;
use crate::store::projects::{self, KeyChange, Project, ProjectKey};
use crate::store::{organizations, project_filters, quotas, retention};
use crate::store::{Db, StoreError};

use super::{Access, Core, CoreError, CoreResult};

pub const DEFAULT_PROJECT: &str = "default";

/// Creates the default organization and project when the database has none (a user may have been created
/// before the first start).
pub async fn ensure_default_project(db: &Db, public_url: &url::Url) -> Result<(), StoreError> {
    let (organization_id, _) = projects::ensure_default_organization(db).await?;
    if !projects::list_organization_projects(db, &[organization_id])
        .await?
        .is_empty()
    {
        return Ok(());
    }
    let key = PublicKey::generate();
    let created = projects::create_project(db, organization_id, DEFAULT_PROJECT, "Default", None, key.as_str()).await;
    let project = match created {
        // Another process starting at the same moment made it.
        Err(StoreError::Conflict(_)) => return Ok(()),
        other => other?,
    };
    let dsn = Dsn::for_project(public_url, &key, project.id.get() as u64);
    tracing::info!(project = DEFAULT_PROJECT, %dsn, "created the default project");
    Ok(())
}

/// The DSN of the default project's first enabled key, for the start-up message (`None` once the project or
/// all its keys are gone).
pub async fn default_project_dsn(db: &Db, public_url: &url::Url) -> Result<Option<Dsn>, StoreError> {
    let Some(project) = projects::find_project_by_slug(db, DEFAULT_PROJECT).await? else {
        return Ok(None);
    };
    let keys = projects::list_keys(db, project.id).await?;
    let dsn = keys
        .into_iter()
        .filter(|key| key.enabled)
        .find_map(|key| PublicKey::parse(&key.public_key).ok())
        .map(|key| Dsn::for_project(public_url, &key, project.id.get() as u64));
    Ok(dsn)
}

/// The project with this slug in the caller's organization.
pub async fn find(core: &Core, access: &Access, slug: &str) -> CoreResult<Project> {
    projects::find_organization_project(&core.db, access.organization.id, slug)
        .await?
        .ok_or(CoreError::NotFound)
}

/// Creates a project with its first key in the caller's organization; returns it and its DSN.
#[tracing::instrument(skip(core, access), fields(organization = access.organization.id.get()))]
pub async fn create(
    core: &Core,
    access: &Access,
    slug: &ProjectSlug,
    name: Option<&str>,
    platform: Option<&str>,
) -> CoreResult<(Project, Dsn)> {
    access.require(Scope::ProjectWrite)?;
    let key = PublicKey::generate();
    let (organization_id, slug) = (access.organization.id, slug.as_str());
    let name = name.map(str::trim).filter(|name| !name.is_empty()).unwrap_or(slug);
    let project = projects::create_project(&core.db, organization_id, slug, name, platform, key.as_str()).await?;
    let dsn = Dsn::for_project(&core.public_url, &key, project.id.get() as u64);
    Ok((project, dsn))
}

/// Creates a project as the operator, in the organization with this slug or the default one; returns its
/// DSN. What `faultline project create` does.
pub async fn create_as_operator(
    core: &Core,
    organization: Option<&str>,
    slug: &ProjectSlug,
    name: Option<&str>,
    platform: Option<&str>,
) -> CoreResult<Dsn> {
    let slug_of_org = match organization {
        Some(slug) => slug,
        None => {
            projects::ensure_default_organization(&core.db).await?;
            projects::DEFAULT_ORGANIZATION
        }
    };
    let organization = organizations::find_organization(&core.db, slug_of_org)
        .await?
        .ok_or(CoreError::NotFound)?;
    let (_, dsn) = create(core, &Access::operator(organization), slug, name, platform).await?;
    Ok(dsn)
}

/// Renames a project and sets its platform.
#[tracing::instrument(skip(core, access, project), fields(project = project.id.get()))]
pub async fn update(
    core: &Core,
    access: &Access,
    project: &Project,
    name: &str,
    platform: Option<&str>,
) -> CoreResult<()> {
    writable(access, project)?;
    Ok(projects::update_project(&core.db, project.id, name, platform).await?)
}

/// A new client key with this label.
#[tracing::instrument(skip(core, access, project), fields(project = project.id.get()))]
pub async fn create_key(core: &Core, access: &Access, project: &Project, label: &str) -> CoreResult<ProjectKey> {
    writable(access, project)?;
    let key = projects::create_key(&core.db, project.id, PublicKey::generate().as_str(), label).await?;
    core.changed(Change::Keys).await;
    Ok(key)
}

/// Renames, enables or disables a key, or sets or removes its rate limit, in one statement.
#[tracing::instrument(skip(core, access, project), fields(project = project.id.get()))]
pub async fn update_key(
    core: &Core,
    access: &Access,
    project: &Project,
    public_key: &str,
    change: KeyChange<'_>,
) -> CoreResult<()> {
    writable(access, project)?;
    projects::update_key(&core.db, project.id, public_key, change).await?;
    core.changed(Change::Keys).await;
    Ok(())
}

#[tracing::instrument(skip(core, access, project), fields(project = project.id.get()))]
pub async fn delete_key(core: &Core, access: &Access, project: &Project, public_key: &str) -> CoreResult<()> {
    writable(access, project)?;
    projects::delete_key(&core.db, project.id, public_key).await?;
    core.changed(Change::Keys).await;
    Ok(())
}

/// Replaces the project's extra scrubbing keys.
#[tracing::instrument(skip(core, access, project, keys), fields(project = project.id.get()))]
pub async fn set_scrub_keys(core: &Core, access: &Access, project: &Project, keys: &[String]) -> CoreResult<()> {
    writable(access, project)?;
    projects::set_scrub_keys(&core.db, project.id, keys).await?;
    core.changed(Change::Keys).await;
    Ok(())
}

/// The project's inbound filters.
pub async fn filters(core: &Core, access: &Access, project: &Project) -> CoreResult<InboundFilters> {
    access.sees(project.organization_id)?;
    Ok(project_filters::filters(&core.db, project.id).await?)
}

/// Replaces the project's inbound filters; ingest applies them to the next event.
#[tracing::instrument(skip(core, access, project, filters), fields(project = project.id.get()))]
pub async fn set_filters(core: &Core, access: &Access, project: &Project, filters: &InboundFilters) -> CoreResult<()> {
    writable(access, project)?;
    project_filters::set_filters(&core.db, project.id, filters).await?;
    core.changed(Change::Keys).await;
    Ok(())
}

/// Sets how many days the project keeps its events (`None`: the server's default).
#[tracing::instrument(skip(core, access, project), fields(project = project.id.get()))]
pub async fn set_retention(core: &Core, access: &Access, project: &Project, days: Option<i64>) -> CoreResult<()> {
    writable(access, project)?;
    if let Some(days) = days.filter(|d| !(1..=3650).contains(d)) {
        return Err(CoreError::Invalid(format!(
            "retention must be from 1 to 3650 days, not {days}"
        )));
    }
    Ok(retention::set_retention(&core.db, project.id, days).await?)
}

/// Sets the project's daily quota (`None`: none); ingest applies it to the next event (another process:
/// within the key cache's lifetime).
#[tracing::instrument(skip(core, access, project), fields(project = project.id.get()))]
pub async fn set_daily_quota(
    core: &Core,
    access: &Access,
    project: &Project,
    quota: Option<DailyQuota>,
) -> CoreResult<()> {
    writable(access, project)?;
    let events = quota.map(|q| q.0 as i64);
    quotas::set_daily_quota(&core.db, project.id, events).await?;
    core.changed(Change::Keys).await;
    Ok(())
}

/// The project is the caller's organization's, and they may change projects there.
fn writable(access: &Access, project: &Project) -> CoreResult<()> {
    access.sees(project.organization_id)?;
    access.require(Scope::ProjectWrite)
}
