//! Releases as the web API sees them: one per organization and version, linked to projects. Ingest records the
//! (project, version) pairs it sees; tools add details (url, ref, dates) and deploys.

use super::release_commits::{commit_summary, CommitSummary};
use super::{now_ms, on_pool, on_tx, Db, StoreError, Tx};
use crate::domain::{OrganizationId, ProjectId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub version: String,
    pub created_at: i64,
    pub date_started: Option<i64>,
    pub date_released: Option<i64>,
    pub url: Option<String>,
    pub reference: Option<String>,
    pub status: String,
    /// (slug, name) of the projects the release belongs to.
    pub projects: Vec<(String, String)>,
    /// Issues first seen in this release.
    pub new_groups: i64,
    /// Timestamps of the release's first and last event, over all its projects.
    pub first_event: Option<i64>,
    pub last_event: Option<i64>,
    pub deploy_count: i64,
    pub last_deploy: Option<Deploy>,
    pub commits: CommitSummary,
}

/// Fields a tool may set; `None` keeps the stored value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReleaseDetails {
    pub url: Option<String>,
    pub reference: Option<String>,
    pub date_started: Option<i64>,
    pub date_released: Option<i64>,
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Deploy {
    pub id: i64,
    pub environment: String,
    pub name: Option<String>,
    pub url: Option<String>,
    pub date_started: Option<i64>,
    pub date_finished: i64,
}

/// Creates the release (or adds projects to an existing one) and merges the given details.
pub async fn upsert_release(
    db: &Db,
    organization_id: OrganizationId,
    version: &str,
    project_ids: &[ProjectId],
    details: &ReleaseDetails,
) -> Result<(), StoreError> {
    let now = now_ms();
    let link = "INSERT INTO releases (project_id, version, first_seen) VALUES ($1, $2, $3) \
                ON CONFLICT (project_id, version) DO NOTHING";
    let insert_details = "INSERT INTO release_details (organization_id, version, created_at) \
                          SELECT $1, $2, COALESCE(MIN(r.first_seen), $3) FROM releases r \
                          JOIN projects p ON p.id = r.project_id WHERE p.organization_id = $1 AND r.version = $2 \
                          ON CONFLICT (organization_id, version) DO NOTHING";
    let mut tx = Tx::begin(db).await?;
    on_tx!(&mut tx, conn, Backend => {
        for project_id in project_ids {
            sqlx::query(link).bind(*project_id).bind(version).bind(now).execute(&mut *conn).await?;
        }
        sqlx::query(insert_details).bind(organization_id).bind(version).bind(now).execute(&mut *conn).await?;
    });
    update_details(&mut tx, organization_id, version, details).await?;
    tx.commit().await
}

/// Merges details into an existing release; `NotFound` when the organization has no such release.
pub async fn update_release(
    db: &Db,
    organization_id: OrganizationId,
    version: &str,
    details: &ReleaseDetails,
) -> Result<(), StoreError> {
    if get_release(db, organization_id, version).await?.is_none() {
        return Err(StoreError::NotFound(format!("release {version}")));
    }
    upsert_release(db, organization_id, version, &[], details).await
}

async fn update_details(
    tx: &mut Tx,
    organization_id: OrganizationId,
    version: &str,
    d: &ReleaseDetails,
) -> Result<(), StoreError> {
    let sql = "UPDATE release_details SET url = COALESCE($1, url), ref = COALESCE($2, ref), \
               date_started = COALESCE($3, date_started), date_released = COALESCE($4, date_released), \
               status = COALESCE($5, status) WHERE organization_id = $6 AND version = $7";
    on_tx!(tx, conn, Backend => sqlx::query(sql)
        .bind(&d.url)
        .bind(&d.reference)
        .bind(d.date_started)
        .bind(d.date_released)
        .bind(&d.status)
        .bind(organization_id)
        .bind(version)
        .execute(&mut *conn)
        .await?
        .rows_affected());
    Ok(())
}

pub async fn get_release(
    db: &Db,
    organization_id: OrganizationId,
    version: &str,
) -> Result<Option<Release>, StoreError> {
    let releases = load_releases(db, organization_id, &[version.to_owned()]).await?;
    Ok(releases.into_iter().next())
}

/// The organization's releases (optionally of one project), newest first, `offset`/`limit` paged.
pub async fn list_releases(
    db: &Db,
    organization_id: OrganizationId,
    project_id: Option<ProjectId>,
    offset: i64,
    limit: i64,
) -> Result<Vec<Release>, StoreError> {
    let sql = "SELECT r.version FROM releases r JOIN projects p ON p.id = r.project_id \
               WHERE p.organization_id = $1 AND ($2 IS NULL OR p.id = $2) \
               GROUP BY r.version ORDER BY MIN(r.first_seen) DESC, r.version DESC LIMIT $3 OFFSET $4";
    let versions: Vec<String> = on_pool!(db, pool => sqlx::query_scalar(sql)
        .bind(organization_id)
        .bind(project_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await?);
    let mut releases = load_releases(db, organization_id, &versions).await?;
    releases.sort_by_key(|r| versions.iter().position(|v| *v == r.version));
    Ok(releases)
}

/// Deletes the release from every project of the organization, with its details and deploys.
pub async fn delete_release(db: &Db, organization_id: OrganizationId, version: &str) -> Result<(), StoreError> {
    let unlink = "DELETE FROM releases WHERE version = $1 \
                  AND project_id IN (SELECT id FROM projects WHERE organization_id = $2)";
    let drop_details = "DELETE FROM release_details WHERE version = $1 AND organization_id = $2";
    let drop_deploys = "DELETE FROM deploys WHERE version = $1 AND organization_id = $2";
    let drop_commits = "DELETE FROM release_commits WHERE version = $1 AND organization_id = $2";
    let unlinked = on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let unlinked = sqlx::query(unlink).bind(version).bind(organization_id).execute(&mut *tx).await?;
        sqlx::query(drop_details).bind(version).bind(organization_id).execute(&mut *tx).await?;
        sqlx::query(drop_deploys).bind(version).bind(organization_id).execute(&mut *tx).await?;
        sqlx::query(drop_commits).bind(version).bind(organization_id).execute(&mut *tx).await?;
        tx.commit().await?;
        unlinked.rows_affected()
    });
    if unlinked == 0 {
        return Err(StoreError::NotFound(format!("release {version}")));
    }
    Ok(())
}

pub async fn create_deploy(
    db: &Db,
    organization_id: OrganizationId,
    version: &str,
    deploy: &Deploy,
) -> Result<i64, StoreError> {
    let sql = "INSERT INTO deploys (organization_id, version, environment, name, url, date_started, date_finished) \
               VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
    Ok(on_pool!(db, pool => sqlx::query_scalar(sql)
        .bind(organization_id)
        .bind(version)
        .bind(&deploy.environment)
        .bind(&deploy.name)
        .bind(&deploy.url)
        .bind(deploy.date_started)
        .bind(deploy.date_finished)
        .fetch_one(pool)
        .await?))
}

/// A release's deploys, newest first.
pub async fn list_deploys(db: &Db, organization_id: OrganizationId, version: &str) -> Result<Vec<Deploy>, StoreError> {
    let sql = "SELECT id, environment, name, url, date_started, date_finished FROM deploys \
               WHERE organization_id = $1 AND version = $2 ORDER BY date_finished DESC, id DESC";
    Ok(on_pool!(db, pool => sqlx::query_as(sql).bind(organization_id).bind(version).fetch_all(pool).await?))
}

type DetailsRow = (
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    String,
);

/// A release's link to one project: (slug, name, first seen, first event, last event).
type LinkRow = (String, String, i64, Option<i64>, Option<i64>);

/// Assembles releases from their project links, details, issue counts, deploys and commits.
async fn load_releases(
    db: &Db,
    organization_id: OrganizationId,
    versions: &[String],
) -> Result<Vec<Release>, StoreError> {
    let mut releases = Vec::with_capacity(versions.len());
    for version in versions {
        let projects_sql = "SELECT p.slug, p.name, r.first_seen, r.first_event, r.last_event \
                            FROM releases r JOIN projects p ON p.id = r.project_id \
                            WHERE p.organization_id = $1 AND r.version = $2 ORDER BY p.slug";
        let links: Vec<LinkRow> = on_pool!(db, pool =>
            sqlx::query_as(projects_sql).bind(organization_id).bind(version).fetch_all(pool).await?);
        let Some(first_seen) = links.iter().map(|l| l.2).min() else {
            continue;
        };
        let details_sql = "SELECT version, created_at, url, ref, date_started, date_released, status \
                           FROM release_details WHERE organization_id = $1 AND version = $2";
        let details: Option<DetailsRow> = on_pool!(db, pool =>
            sqlx::query_as(details_sql).bind(organization_id).bind(version).fetch_optional(pool).await?);
        let (new_groups, deploy_count) = counts(db, organization_id, version).await?;
        let last_deploy = list_deploys(db, organization_id, version).await?.into_iter().next();
        let (_, created_at, url, reference, date_started, date_released, status) =
            details.unwrap_or_else(|| (version.clone(), first_seen, None, None, None, None, "open".to_owned()));
        releases.push(Release {
            version: version.clone(),
            created_at,
            date_started,
            date_released,
            url,
            reference,
            status,
            first_event: links.iter().filter_map(|l| l.3).min(),
            last_event: links.iter().filter_map(|l| l.4).max(),
            projects: links.into_iter().map(|(slug, name, ..)| (slug, name)).collect(),
            new_groups,
            deploy_count,
            last_deploy,
            commits: commit_summary(db, organization_id, version).await?,
        });
    }
    Ok(releases)
}

/// Issues first seen in the release, and the release's deploys.
async fn counts(db: &Db, organization_id: OrganizationId, version: &str) -> Result<(i64, i64), StoreError> {
    let sql = "SELECT \
               (SELECT COUNT(*) FROM issues i JOIN projects p ON p.id = i.project_id \
                WHERE p.organization_id = $1 AND i.first_release = $2), \
               (SELECT COUNT(*) FROM deploys WHERE organization_id = $1 AND version = $2)";
    Ok(on_pool!(db, pool => sqlx::query_as(sql).bind(organization_id).bind(version).fetch_one(pool).await?))
}
