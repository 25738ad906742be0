//! First start: the default organization and project, and the DSN printed for the user.

use crate::domain::auth::{Dsn, PublicKey};
use crate::store::{projects, Db, StoreError};

pub const DEFAULT_PROJECT: &str = "default";

/// Creates the default organization and project when the database is new, and prints the DSN.
pub async fn ensure_default_project(db: &Db, public_url: &url::Url) -> Result<(), StoreError> {
    let (organization_id, created) = projects::ensure_default_organization(db).await?;
    if !created {
        return Ok(());
    }
    let key = PublicKey::generate();
    let project = projects::create_project(db, organization_id, DEFAULT_PROJECT, "Default", None, key.as_str()).await?;
    let dsn = Dsn::for_project(public_url, &key, project.id as u64);
    tracing::info!(project = DEFAULT_PROJECT, %dsn, "created the default project");
    println!("Faultline is ready. Send events to the default project with this DSN:\n\n    {dsn}\n");
    Ok(())
}

/// Creates a project in the default organization and returns its DSN.
pub async fn create_project(
    db: &Db,
    public_url: &url::Url,
    slug: &str,
    name: Option<&str>,
    platform: Option<&str>,
) -> Result<Dsn, StoreError> {
    let (organization_id, _) = projects::ensure_default_organization(db).await?;
    let key = PublicKey::generate();
    let project =
        projects::create_project(db, organization_id, slug, name.unwrap_or(slug), platform, key.as_str()).await?;
    Ok(Dsn::for_project(public_url, &key, project.id as u64))
}
