//! First start (the default organization and project, and the DSN printed for the user), and the rules for
//! creating projects and users shared by the command line and the tests.

use crate::domain::accounts::{hash_password, Role};
use crate::domain::auth::{Dsn, PublicKey};
use crate::store::accounts::{self, User};
use crate::store::organizations::{self, Organization};
use crate::store::{projects, Db, StoreError};

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
    let dsn = Dsn::for_project(public_url, &key, project.id as u64);
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
        .map(|key| Dsn::for_project(public_url, &key, project.id as u64));
    Ok(dsn)
}

/// Creates a project in an organization (default: the default one) and returns its DSN.
pub async fn create_project(
    db: &Db,
    public_url: &url::Url,
    organization: Option<&str>,
    slug: &str,
    name: Option<&str>,
    platform: Option<&str>,
) -> Result<Dsn, StoreError> {
    let organization_id = match organization {
        None => projects::ensure_default_organization(db).await?.0,
        Some(org) => {
            organizations::find_organization(db, org)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("organization {org}")))?
                .id
        }
    };
    let key = PublicKey::generate();
    let project =
        projects::create_project(db, organization_id, slug, name.unwrap_or(slug), platform, key.as_str()).await?;
    Ok(Dsn::for_project(public_url, &key, project.id as u64))
}

/// Creates a user and makes them a member of an organization (default: the default one). An `--admin`
/// user becomes an owner there, so the first admin owns the default organization and project.
pub async fn create_user(
    db: &Db,
    email: &str,
    name: Option<&str>,
    password: &str,
    admin: bool,
    membership: (Option<&str>, Option<Role>),
) -> anyhow::Result<(User, Organization, Role)> {
    let (org, role) = membership;
    let organization = match org {
        None => {
            projects::ensure_default_organization(db).await?;
            organizations::find_organization(db, projects::DEFAULT_ORGANIZATION).await?
        }
        Some(slug) => organizations::find_organization(db, slug).await?,
    }
    .ok_or_else(|| anyhow::anyhow!("no organization {}", org.unwrap_or_default()))?;
    let email = email.trim();
    if !email.contains('@') {
        anyhow::bail!("{email:?} is not an email address");
    }
    let hash = hash_password(password)?;
    let user = accounts::create_user(db, email, name.unwrap_or(email), &hash, admin).await?;
    let role = role.unwrap_or(if admin { Role::Owner } else { Role::Member });
    organizations::set_member(db, organization.id, user.id, role).await?;
    Ok((user, organization, role))
}
