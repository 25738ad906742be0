//! Organizations, projects and their client keys (the DSNs).

use crate::domain::filters::InboundFilters;
use crate::domain::limits::KeyRateLimit;
use crate::domain::quotas::DailyQuota;

use super::{alerts, is_unique_violation, now_ms, on_pool, organizations, Db, StoreError};
use crate::domain::{OrganizationId, ProjectId, RuleId};

pub const DEFAULT_ORGANIZATION: &str = "default";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: ProjectId,
    pub organization_id: OrganizationId,
    pub slug: String,
    pub name: String,
    pub platform: Option<String>,
    pub enabled: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProjectKey {
    pub id: i64,
    pub project_id: ProjectId,
    pub public_key: String,
    pub label: String,
    pub enabled: bool,
    pub created_at: i64,
    pub rate_limit_count: Option<i64>,
    pub rate_limit_window: Option<i64>,
}

impl ProjectKey {
    /// The key's rate limit, when it has a usable one.
    pub fn rate_limit(&self) -> Option<KeyRateLimit> {
        KeyRateLimit::new(self.rate_limit_count?, self.rate_limit_window?).ok()
    }
}

/// What ingest needs to know about a public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub key_id: i64,
    pub project_id: ProjectId,
    pub project_slug: String,
    pub key_enabled: bool,
    pub project_enabled: bool,
    pub scrub_keys: Vec<String>,
    pub filters: InboundFilters,
    pub rate_limit: Option<KeyRateLimit>,
    pub daily_quota: Option<DailyQuota>,
}

/// Returns the default organization's id, creating it on first start (`true` when it was created now).
pub async fn ensure_default_organization(db: &Db) -> Result<(OrganizationId, bool), StoreError> {
    if let Some(organization) = organizations::find_organization(db, DEFAULT_ORGANIZATION).await? {
        return Ok((organization.id, false));
    }
    match organizations::create_organization(db, DEFAULT_ORGANIZATION, "Default").await {
        Ok(organization) => Ok((organization.id, true)),
        // Another process created it between the two statements.
        Err(StoreError::Conflict(_)) => {
            let organization = organizations::find_organization(db, DEFAULT_ORGANIZATION).await?;
            let organization = organization.ok_or_else(|| StoreError::NotFound("default organization".into()))?;
            Ok((organization.id, false))
        }
        Err(e) => Err(e),
    }
}

/// Creates a project with one enabled client key.
pub async fn create_project(
    db: &Db,
    organization_id: OrganizationId,
    slug: &str,
    name: &str,
    platform: Option<&str>,
    public_key: &str,
) -> Result<Project, StoreError> {
    let now = now_ms();
    let insert_project = "INSERT INTO projects (organization_id, slug, name, platform, created_at) \
                          VALUES ($1, $2, $3, $4, $5) RETURNING id";
    let insert_key = "INSERT INTO project_keys (project_id, public_key, label, created_at) \
                      VALUES ($1, $2, 'Default', $3)";
    let link_team = "INSERT INTO project_teams (project_id, team_id) \
                     SELECT $1, MIN(id) FROM teams WHERE organization_id = $2";
    let result: Result<ProjectId, sqlx::Error> = on_pool!(db, pool => async {
        let mut tx = pool.begin().await?;
        let id: ProjectId = sqlx::query_scalar(insert_project)
            .bind(organization_id)
            .bind(slug)
            .bind(name)
            .bind(platform)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query(insert_key).bind(id).bind(public_key).bind(now).execute(&mut *tx).await?;
        sqlx::query(link_team).bind(id).bind(organization_id).execute(&mut *tx).await?;
        // Every project starts with the default rule: a new or regressed issue mails the members.
        let rule_id: RuleId = sqlx::query_scalar(alerts::INSERT_DEFAULT_RULE)
            .bind(id)
            .bind(now)
            .bind(alerts::DEFAULT_RULE_COOLDOWN)
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query(alerts::LINK_DEFAULT_RULE).bind(rule_id).bind(organization_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(id)
    }.await);
    match result {
        Ok(id) => Ok(Project {
            id,
            organization_id,
            slug: slug.to_owned(),
            name: name.to_owned(),
            platform: platform.map(str::to_owned),
            enabled: true,
            created_at: now,
        }),
        Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(format!("project {slug}"))),
        Err(e) => Err(e.into()),
    }
}

const PROJECT_COLUMNS: &str = "id, organization_id, slug, name, platform, enabled, created_at";

type ProjectRow = (ProjectId, OrganizationId, String, String, Option<String>, bool, i64);

fn project_from_row(row: ProjectRow) -> Project {
    let (id, organization_id, slug, name, platform, enabled, created_at) = row;
    Project {
        id,
        organization_id,
        slug,
        name,
        platform,
        enabled,
        created_at,
    }
}

pub async fn list_projects(db: &Db) -> Result<Vec<Project>, StoreError> {
    let sql = format!("SELECT {PROJECT_COLUMNS} FROM projects ORDER BY id");
    let rows: Vec<ProjectRow> = on_pool!(db, pool => sqlx::query_as(&sql).fetch_all(pool).await?);
    Ok(rows.into_iter().map(project_from_row).collect())
}

pub async fn find_project_by_slug(db: &Db, slug: &str) -> Result<Option<Project>, StoreError> {
    let sql = format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE slug = $1 ORDER BY id LIMIT 1");
    let row: Option<ProjectRow> = on_pool!(db, pool => sqlx::query_as(&sql).bind(slug).fetch_optional(pool).await?);
    Ok(row.map(project_from_row))
}

pub async fn list_keys(db: &Db, project_id: ProjectId) -> Result<Vec<ProjectKey>, StoreError> {
    let sql = "SELECT id, project_id, public_key, label, enabled, created_at, rate_limit_count, rate_limit_window \
               FROM project_keys \
               WHERE project_id = $1 ORDER BY id";
    Ok(on_pool!(db, pool => sqlx::query_as(sql).bind(project_id).fetch_all(pool).await?))
}

/// Adds an enabled client key to a project.
pub async fn create_key(
    db: &Db,
    project_id: ProjectId,
    public_key: &str,
    label: &str,
) -> Result<ProjectKey, StoreError> {
    let now = now_ms();
    let sql = "INSERT INTO project_keys (project_id, public_key, label, created_at) VALUES ($1, $2, $3, $4) \
               RETURNING id";
    let id: i64 = on_pool!(db, pool => sqlx::query_scalar(sql)
        .bind(project_id)
        .bind(public_key)
        .bind(label)
        .bind(now)
        .fetch_one(pool)
        .await?);
    Ok(ProjectKey {
        id,
        project_id,
        public_key: public_key.to_owned(),
        label: label.to_owned(),
        enabled: true,
        created_at: now,
        rate_limit_count: None,
        rate_limit_window: None,
    })
}

/// Projects of the given organizations, by slug.
pub async fn list_organization_projects(
    db: &Db,
    organization_ids: &[OrganizationId],
) -> Result<Vec<Project>, StoreError> {
    if organization_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<ProjectRow> = on_pool!(db, pool => {
        let mut qb = sqlx::QueryBuilder::new(format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE organization_id IN ("));
        let mut list = qb.separated(", ");
        for id in organization_ids {
            list.push_bind(*id);
        }
        qb.push(") ORDER BY slug, id");
        qb.build_query_as().fetch_all(pool).await?
    });
    Ok(rows.into_iter().map(project_from_row).collect())
}

/// The projects a team owns, by slug.
pub async fn list_team_projects(db: &Db, team_id: i64) -> Result<Vec<Project>, StoreError> {
    let sql = format!(
        "SELECT {PROJECT_COLUMNS} FROM projects WHERE id IN (SELECT project_id FROM project_teams WHERE team_id = $1) \
         ORDER BY slug, id"
    );
    let rows: Vec<ProjectRow> = on_pool!(db, pool => sqlx::query_as(&sql).bind(team_id).fetch_all(pool).await?);
    Ok(rows.into_iter().map(project_from_row).collect())
}

pub async fn find_organization_project(
    db: &Db,
    organization_id: OrganizationId,
    slug: &str,
) -> Result<Option<Project>, StoreError> {
    let sql = format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE organization_id = $1 AND slug = $2");
    let row: Option<ProjectRow> =
        on_pool!(db, pool => sqlx::query_as(&sql).bind(organization_id).bind(slug).fetch_optional(pool).await?);
    Ok(row.map(project_from_row))
}

pub async fn get_project(db: &Db, project_id: ProjectId) -> Result<Option<Project>, StoreError> {
    let sql = format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE id = $1");
    let row: Option<ProjectRow> =
        on_pool!(db, pool => sqlx::query_as(&sql).bind(project_id).fetch_optional(pool).await?);
    Ok(row.map(project_from_row))
}

/// A key's row with its project's ingest settings: key id, project id and slug, key and project enabled,
/// scrub keys and inbound filters (both JSON).
type KeyRow = (
    i64,
    ProjectId,
    String,
    bool,
    bool,
    String,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

/// Looks up a public key with its project's ingest settings.
pub async fn find_key(db: &Db, public_key: &str) -> Result<Option<KeyRecord>, StoreError> {
    let sql = "SELECT k.id, k.project_id, p.slug, k.enabled, p.enabled, p.scrub_keys, p.inbound_filters, \
               k.rate_limit_count, k.rate_limit_window, CAST(p.daily_quota AS BIGINT) \
               FROM project_keys k JOIN projects p ON p.id = k.project_id WHERE k.public_key = $1";
    let row: Option<KeyRow> = on_pool!(db, pool => sqlx::query_as(sql).bind(public_key).fetch_optional(pool).await?);
    row.map(
        |(
            key_id,
            project_id,
            project_slug,
            key_enabled,
            project_enabled,
            scrub_keys,
            filters,
            count,
            window,
            quota,
        )| {
            let scrub_keys = serde_json::from_str(&scrub_keys)
                .map_err(|e| StoreError::Corrupt(format!("projects.scrub_keys: {e}")))?;
            let filters = super::project_filters::parse(filters.as_deref())?;
            Ok(KeyRecord {
                rate_limit: count.zip(window).and_then(|(c, w)| KeyRateLimit::new(c, w).ok()),
                daily_quota: quota.and_then(|q| DailyQuota::new(q).ok()),
                filters,
                key_id,
                project_id,
                project_slug,
                key_enabled,
                project_enabled,
                scrub_keys,
            })
        },
    )
    .transpose()
}

pub async fn set_project_enabled(db: &Db, project_id: ProjectId, enabled: bool) -> Result<(), StoreError> {
    let sql = "UPDATE projects SET enabled = $1 WHERE id = $2";
    on_pool!(db, pool => sqlx::query(sql).bind(enabled).bind(project_id).execute(pool).await?.rows_affected());
    Ok(())
}

pub async fn set_key_enabled(db: &Db, public_key: &str, enabled: bool) -> Result<(), StoreError> {
    let sql = "UPDATE project_keys SET enabled = $1 WHERE public_key = $2";
    on_pool!(db, pool => sqlx::query(sql).bind(enabled).bind(public_key).execute(pool).await?.rows_affected());
    Ok(())
}

/// What to change of a key; `None` keeps a field. `rate_limit: Some(None)` removes the limit.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyChange<'a> {
    pub label: Option<&'a str>,
    pub enabled: Option<bool>,
    pub rate_limit: Option<Option<KeyRateLimit>>,
}

/// Changes a key in one statement; `NotFound` when the project has no such key.
pub async fn update_key(
    db: &Db,
    project_id: ProjectId,
    public_key: &str,
    change: KeyChange<'_>,
) -> Result<(), StoreError> {
    let sql = "UPDATE project_keys SET label = COALESCE($1, label), enabled = COALESCE($2, enabled), \
               rate_limit_count = CASE WHEN $3 THEN $4 ELSE rate_limit_count END, \
               rate_limit_window = CASE WHEN $3 THEN $5 ELSE rate_limit_window END \
               WHERE project_id = $6 AND public_key = $7";
    let limit = change.rate_limit.flatten();
    let done = on_pool!(db, pool => sqlx::query(sql)
        .bind(change.label)
        .bind(change.enabled)
        .bind(change.rate_limit.is_some())
        .bind(limit.map(|l| i64::from(l.count)))
        .bind(limit.map(|l| i64::from(l.window)))
        .bind(project_id)
        .bind(public_key)
        .execute(pool)
        .await?
        .rows_affected());
    if done == 0 {
        return Err(StoreError::NotFound(format!("key {public_key}")));
    }
    Ok(())
}

/// Renames a project and sets its platform; `NotFound` when it does not exist.
pub async fn update_project(
    db: &Db,
    project_id: ProjectId,
    name: &str,
    platform: Option<&str>,
) -> Result<(), StoreError> {
    let sql = "UPDATE projects SET name = $1, platform = $2 WHERE id = $3";
    let done = on_pool!(db, pool => sqlx::query(sql)
        .bind(name)
        .bind(platform)
        .bind(project_id)
        .execute(pool)
        .await?
        .rows_affected());
    if done == 0 {
        return Err(StoreError::NotFound(format!("project {project_id}")));
    }
    Ok(())
}

/// The project's extra scrubbing keys (those added to the built-in list).
pub async fn scrub_keys(db: &Db, project_id: ProjectId) -> Result<Vec<String>, StoreError> {
    let sql = "SELECT scrub_keys FROM projects WHERE id = $1";
    let json: Option<String> =
        on_pool!(db, pool => sqlx::query_scalar(sql).bind(project_id).fetch_optional(pool).await?);
    let json = json.ok_or_else(|| StoreError::NotFound(format!("project {project_id}")))?;
    serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("projects.scrub_keys: {e}")))
}

/// Replaces the project's extra scrubbing keys.
pub async fn set_scrub_keys(db: &Db, project_id: ProjectId, keys: &[String]) -> Result<(), StoreError> {
    let json = serde_json::to_string(keys).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let sql = "UPDATE projects SET scrub_keys = $1 WHERE id = $2";
    let done = on_pool!(db, pool => sqlx::query(sql).bind(json).bind(project_id).execute(pool).await?.rows_affected());
    if done == 0 {
        return Err(StoreError::NotFound(format!("project {project_id}")));
    }
    Ok(())
}

/// Removes a client key; `NotFound` unless it belongs to the project.
pub async fn delete_key(db: &Db, project_id: ProjectId, public_key: &str) -> Result<(), StoreError> {
    let sql = "DELETE FROM project_keys WHERE project_id = $1 AND public_key = $2";
    let done =
        on_pool!(db, pool => sqlx::query(sql).bind(project_id).bind(public_key).execute(pool).await?.rows_affected());
    if done == 0 {
        return Err(StoreError::NotFound(format!("key {public_key}")));
    }
    Ok(())
}
