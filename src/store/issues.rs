//! Issues: reading them, their counters and facets, and changing their lifecycle state.

use crate::domain::lifecycle::{IgnoreCondition, IssueState, IssueStatus, Resolution, Substatus};
use crate::domain::{IssueId, OrganizationId, ProjectId, Timestamp};

use super::{on_pool, on_tx, Db, StoreError, Tx};

#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub id: IssueId,
    pub project_id: ProjectId,
    pub short_id_number: i64,
    pub fingerprint: String,
    pub grouping_components: Vec<String>,
    pub title: String,
    pub culprit: String,
    pub issue_type: String,
    pub level: String,
    pub metadata: serde_json::Value,
    pub state: IssueState,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub times_seen: i64,
    pub user_count: i64,
    pub first_release: Option<String>,
    pub last_release: Option<String>,
    pub is_unhandled: bool,
}

/// The lifecycle columns of an issue row, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct StateColumns {
    pub status: String,
    pub substatus: String,
    pub resolution: Option<String>,
    pub resolution_release: Option<String>,
    pub resolved_at: Option<Timestamp>,
    pub ignore_kind: Option<String>,
    pub ignore_until: Option<Timestamp>,
    pub ignore_until_count: Option<i64>,
}

impl StateColumns {
    pub(crate) fn from_state(state: &IssueState) -> StateColumns {
        let (resolution, resolution_release) = match &state.resolution {
            None => (None, None),
            Some(Resolution::Plain) => (Some("plain"), None),
            Some(Resolution::InNextRelease { latest_at_resolve }) => (Some("next_release"), latest_at_resolve.clone()),
            Some(Resolution::InRelease(release)) => (Some("in_release"), Some(release.clone())),
        };
        let (ignore_kind, ignore_until, ignore_until_count) = match &state.ignore {
            None => (None, None, None),
            Some(IgnoreCondition::Forever) => (Some("forever"), None, None),
            Some(IgnoreCondition::UntilTime { until }) => (Some("until_time"), Some(*until), None),
            Some(IgnoreCondition::UntilCount { times_seen_target }) => {
                (Some("until_count"), None, Some(*times_seen_target))
            }
        };
        StateColumns {
            status: state.status.as_str().to_owned(),
            substatus: state.substatus.as_str().to_owned(),
            resolution: resolution.map(str::to_owned),
            resolution_release,
            resolved_at: state.resolved_at,
            ignore_kind: ignore_kind.map(str::to_owned),
            ignore_until,
            ignore_until_count,
        }
    }

    pub(crate) fn into_state(self) -> Result<IssueState, StoreError> {
        let corrupt = |what: &str, value: &str| StoreError::Corrupt(format!("issues.{what} = {value:?}"));
        let status = IssueStatus::parse(&self.status).ok_or_else(|| corrupt("status", &self.status))?;
        let substatus = Substatus::parse(&self.substatus).ok_or_else(|| corrupt("substatus", &self.substatus))?;
        let resolution = match self.resolution.as_deref() {
            None => None,
            Some("plain") => Some(Resolution::Plain),
            Some("next_release") => Some(Resolution::InNextRelease {
                latest_at_resolve: self.resolution_release,
            }),
            Some("in_release") => Some(Resolution::InRelease(
                self.resolution_release
                    .ok_or_else(|| corrupt("resolution_release", "NULL"))?,
            )),
            Some(other) => return Err(corrupt("resolution", other)),
        };
        let ignore = match self.ignore_kind.as_deref() {
            None => None,
            Some("forever") => Some(IgnoreCondition::Forever),
            Some("until_time") => Some(IgnoreCondition::UntilTime {
                until: self.ignore_until.ok_or_else(|| corrupt("ignore_until", "NULL"))?,
            }),
            Some("until_count") => Some(IgnoreCondition::UntilCount {
                times_seen_target: self
                    .ignore_until_count
                    .ok_or_else(|| corrupt("ignore_until_count", "NULL"))?,
            }),
            Some(other) => return Err(corrupt("ignore_kind", other)),
        };
        Ok(IssueState {
            status,
            substatus,
            resolution,
            resolved_at: self.resolved_at,
            ignore,
        })
    }
}

pub(crate) const STATE_COLUMNS: &str =
    "status, substatus, resolution, resolution_release, resolved_at, ignore_kind, ignore_until, ignore_until_count";

#[derive(sqlx::FromRow)]
pub(crate) struct IssueRow {
    id: IssueId,
    project_id: ProjectId,
    short_id: i64,
    fingerprint: String,
    grouping_components: String,
    title: String,
    culprit: String,
    issue_type: String,
    level: String,
    metadata: String,
    #[sqlx(flatten)]
    state: StateColumns,
    first_seen: Timestamp,
    last_seen: Timestamp,
    times_seen: i64,
    user_count: i64,
    first_release: Option<String>,
    last_release: Option<String>,
    is_unhandled: bool,
}

fn parse_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("issues.{what}: {e}")))
}

impl IssueRow {
    pub(crate) fn into_issue(self) -> Result<Issue, StoreError> {
        Ok(Issue {
            id: self.id,
            project_id: self.project_id,
            short_id_number: self.short_id,
            fingerprint: self.fingerprint,
            grouping_components: parse_json("grouping_components", &self.grouping_components)?,
            title: self.title,
            culprit: self.culprit,
            issue_type: self.issue_type,
            level: self.level,
            metadata: parse_json("metadata", &self.metadata)?,
            state: self.state.into_state()?,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            times_seen: self.times_seen,
            user_count: self.user_count,
            first_release: self.first_release,
            last_release: self.last_release,
            is_unhandled: self.is_unhandled,
        })
    }
}

pub(crate) fn issue_select() -> String {
    format!(
        "SELECT id, project_id, short_id, fingerprint, grouping_components, title, culprit, issue_type, level, \
         metadata, {STATE_COLUMNS}, first_seen, last_seen, times_seen, user_count, first_release, last_release, \
         is_unhandled FROM issues"
    )
}

/// A project's issues, most recently seen first.
pub async fn list_issues(db: &Db, project_id: ProjectId) -> Result<Vec<Issue>, StoreError> {
    let sql = format!(
        "{} WHERE project_id = $1 ORDER BY last_seen DESC, id DESC",
        issue_select()
    );
    let rows: Vec<IssueRow> = on_pool!(db, pool => sqlx::query_as(&sql).bind(project_id).fetch_all(pool).await?);
    rows.into_iter().map(IssueRow::into_issue).collect()
}

pub async fn get_issue(db: &Db, issue_id: IssueId) -> Result<Option<Issue>, StoreError> {
    let sql = format!("{} WHERE id = $1", issue_select());
    let row: Option<IssueRow> = on_pool!(db, pool => sqlx::query_as(&sql).bind(issue_id).fetch_optional(pool).await?);
    row.map(IssueRow::into_issue).transpose()
}

pub async fn find_by_short_id(db: &Db, project_id: ProjectId, number: i64) -> Result<Option<Issue>, StoreError> {
    let sql = format!("{} WHERE project_id = $1 AND short_id = $2", issue_select());
    let row: Option<IssueRow> = on_pool!(db, pool => sqlx::query_as(&sql)
        .bind(project_id)
        .bind(number)
        .fetch_optional(pool)
        .await?);
    row.map(IssueRow::into_issue).transpose()
}

/// Stores a new lifecycle state (resolve, ignore, reopen) on its own, for tools and tests; use cases change
/// status through `core::issues`, which reads and writes in one transaction.
pub async fn set_state(db: &Db, issue_id: IssueId, state: &IssueState) -> Result<(), StoreError> {
    let mut tx = Tx::begin(db).await?;
    if write_state(&mut tx, issue_id, state).await? == 0 {
        return Err(StoreError::NotFound(format!("issue {issue_id}")));
    }
    tx.commit().await
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TagCount {
    pub key: String,
    pub value: String,
    pub times_seen: i64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
}

/// Tag facets of an issue, most frequent value first within each key.
pub async fn tag_counts(db: &Db, issue_id: IssueId) -> Result<Vec<TagCount>, StoreError> {
    let sql = "SELECT key, value, times_seen, first_seen, last_seen FROM issue_tags WHERE issue_id = $1 \
               ORDER BY key, times_seen DESC, value";
    Ok(on_pool!(db, pool => sqlx::query_as(sql).bind(issue_id).fetch_all(pool).await?))
}

/// The `per_key` most frequent values of each of an issue's tags, in `tag_counts` order. A busy issue has a
/// tag row per user: each key is read from the `issue_tags_top_values` index, a few entries at a time.
pub async fn top_tag_values(db: &Db, issue_id: IssueId, per_key: i64) -> Result<Vec<TagCount>, StoreError> {
    let keys_sql = "SELECT DISTINCT key FROM issue_tags WHERE issue_id = $1 ORDER BY key";
    let keys: Vec<String> = on_pool!(db, pool => sqlx::query_scalar(keys_sql).bind(issue_id).fetch_all(pool).await?);
    let sql = "SELECT key, value, times_seen, first_seen, last_seen FROM issue_tags WHERE issue_id = $1 AND key = $2 \
               ORDER BY times_seen DESC, value LIMIT $3";
    let mut top = Vec::new();
    for key in keys {
        let values: Vec<TagCount> = on_pool!(db, pool => sqlx::query_as(sql)
            .bind(issue_id)
            .bind(&key)
            .bind(per_key)
            .fetch_all(pool)
            .await?);
        top.extend(values);
    }
    Ok(top)
}

/// Events per hour (hour start in epoch ms, count), oldest first.
pub async fn hourly_counts(db: &Db, issue_id: IssueId) -> Result<Vec<(i64, i64)>, StoreError> {
    let sql = "SELECT hour, times_seen FROM issue_hours WHERE issue_id = $1 ORDER BY hour";
    Ok(on_pool!(db, pool => sqlx::query_as(sql).bind(issue_id).fetch_all(pool).await?))
}

/// Lifecycle activity (`regression`, `unignored`) as (kind, JSON data, at ms), oldest first.
pub async fn activity(db: &Db, issue_id: IssueId) -> Result<Vec<(String, String, i64)>, StoreError> {
    let sql = "SELECT kind, data, created_at FROM issue_activity WHERE issue_id = $1 ORDER BY id";
    Ok(on_pool!(db, pool => sqlx::query_as(sql).bind(issue_id).fetch_all(pool).await?))
}

/// The project's most recently first-seen release, which "resolve in next release" remembers.
pub async fn latest_release(db: &Db, project_id: ProjectId) -> Result<Option<String>, StoreError> {
    let sql = "SELECT version FROM releases WHERE project_id = $1 ORDER BY first_seen DESC LIMIT 1";
    Ok(on_pool!(db, pool => sqlx::query_scalar(sql).bind(project_id).fetch_optional(pool).await?))
}

/// An issue of one of the organization's projects, locked for a change in this transaction (Postgres
/// locks the row; SQLite's transaction already holds the write lock). `None` when it is not there.
pub async fn lock_organization_issue(
    tx: &mut Tx,
    organization_id: OrganizationId,
    issue_id: IssueId,
) -> Result<Option<Issue>, StoreError> {
    let sql = format!(
        "{} WHERE id = $1 AND project_id IN (SELECT id FROM projects WHERE organization_id = $2)",
        issue_select()
    );
    let row: Option<IssueRow> = match tx {
        Tx::Sqlite(t) => {
            sqlx::query_as(&sql)
                .bind(issue_id)
                .bind(organization_id)
                .fetch_optional(&mut **t)
                .await?
        }
        Tx::Postgres(t) => {
            let locked = format!("{sql} FOR UPDATE");
            sqlx::query_as(&locked)
                .bind(issue_id)
                .bind(organization_id)
                .fetch_optional(&mut **t)
                .await?
        }
    };
    row.map(IssueRow::into_issue).transpose()
}

/// [`latest_release`], read inside a transaction.
pub async fn latest_release_in(tx: &mut Tx, project_id: ProjectId) -> Result<Option<String>, StoreError> {
    let sql = "SELECT version FROM releases WHERE project_id = $1 ORDER BY first_seen DESC LIMIT 1";
    Ok(on_tx!(tx, conn, Backend => sqlx::query_scalar(sql).bind(project_id).fetch_optional(&mut *conn).await?))
}

/// Stores an issue's new lifecycle state inside a transaction; returns how many rows it changed (0 or 1).
pub async fn write_state(tx: &mut Tx, issue_id: IssueId, state: &IssueState) -> Result<u64, StoreError> {
    let c = StateColumns::from_state(state);
    let sql = "UPDATE issues SET status = $1, substatus = $2, resolution = $3, resolution_release = $4, \
               resolved_at = $5, ignore_kind = $6, ignore_until = $7, ignore_until_count = $8 WHERE id = $9";
    let done = on_tx!(tx, conn, Backend => sqlx::query(sql)
        .bind(&c.status)
        .bind(&c.substatus)
        .bind(&c.resolution)
        .bind(&c.resolution_release)
        .bind(c.resolved_at)
        .bind(&c.ignore_kind)
        .bind(c.ignore_until)
        .bind(c.ignore_until_count)
        .bind(issue_id)
        .execute(&mut *conn)
        .await?
        .rows_affected());
    Ok(done)
}

/// Deletes those of the issues that belong to the organization's projects, with their events and
/// counters, inside a transaction; returns how many there were.
pub async fn delete_organization_issues(
    tx: &mut Tx,
    organization_id: OrganizationId,
    issue_ids: &[IssueId],
) -> Result<u64, StoreError> {
    let sql = "DELETE FROM issues WHERE id = $1 AND project_id IN (SELECT id FROM projects WHERE organization_id = $2)";
    let mut deleted = 0;
    for id in issue_ids {
        super::storage::release_issue(tx, organization_id, *id).await?;
        deleted += on_tx!(tx, conn, Backend => sqlx::query(sql)
            .bind(*id)
            .bind(organization_id)
            .execute(&mut *conn)
            .await?
            .rows_affected());
    }
    Ok(deleted)
}

/// Events per hour since `since_ms` for each issue, as (issue id, hour start ms, count).
pub async fn hourly_counts_since(
    db: &Db,
    issue_ids: &[IssueId],
    since_ms: i64,
) -> Result<Vec<(IssueId, i64, i64)>, StoreError> {
    if issue_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut text = super::paging::SqlText::default();
    text.push("SELECT issue_id, hour, times_seen FROM issue_hours WHERE hour >= ")
        .bind(super::paging::Param::Int(since_ms))
        .push(" AND issue_id IN ")
        .bind_list(issue_ids.iter().map(|id| super::paging::Param::Int(id.get())));
    let super::paging::SqlText { sql, params } = text;
    Ok(on_pool!(db, pool => super::paging::bind_params!(sqlx::query_as(&sql), params).fetch_all(pool).await?))
}

/// The environments a project's issues were seen in.
pub async fn environments(db: &Db, project_id: ProjectId) -> Result<Vec<String>, StoreError> {
    let sql = "SELECT name FROM project_environments WHERE project_id = $1 ORDER BY name LIMIT 100";
    Ok(on_pool!(db, pool => sqlx::query_scalar(sql).bind(project_id).fetch_all(pool).await?))
}

/// The grouping algorithm version the issue's fingerprint was computed with.
pub async fn grouping_version(db: &Db, issue_id: IssueId) -> Result<Option<String>, StoreError> {
    let sql = "SELECT grouping_version FROM issues WHERE id = $1";
    Ok(on_pool!(db, pool => sqlx::query_scalar(sql).bind(issue_id).fetch_optional(pool).await?))
}
