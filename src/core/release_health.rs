//! Release health: the sessions ingest reads (`domain::release_health`) stored per release, environment and
//! hour, and the figures read back from them: Sentry's sessions query for tools (`sessions/`) and each
//! release's crash-free sessions and users, adoption and the previous release's figures for the pages.

use std::collections::HashMap;

use crate::domain::accounts::Scope;
use crate::domain::release_health::{HealthUpdate, UserGrouping, HOUR_MS};
use crate::domain::session_query::{answer, parse_query, SessionGroup, SessionGroupAnswer, SessionQuery};
use crate::domain::ProjectId;
use crate::store::release_health::{self as store, HealthFilter};
use crate::store::{now_ms, Db, StoreError, Tx};

use super::discover::requested_projects;
use super::{Access, Core, CoreError, CoreResult};

/// Stores one item's sessions, its releases and environments, in one transaction.
pub async fn record(db: &Db, project_id: ProjectId, update: &HealthUpdate) -> Result<(), StoreError> {
    let mut tx = Tx::begin(db).await?;
    store::add(&mut tx, project_id, update).await?;
    tx.commit().await
}

/// The sessions query as sent (`GET …/sessions/`).
#[derive(Debug, Clone, Default)]
pub struct SessionsRequest {
    pub fields: Vec<String>,
    pub group_by: Vec<String>,
    pub stats_period: Option<String>,
    pub interval: Option<String>,
    /// Project ids (`-1`, or none: every project of the organization).
    pub projects: Vec<String>,
    pub environments: Vec<String>,
    /// `release:<version>` narrows to one release; an empty query is everything.
    pub query: String,
}

/// The answer: the intervals' starts (epoch ms) and the groups.
#[derive(Debug, Clone)]
pub struct SessionsAnswer {
    pub query: SessionQuery,
    pub start_ms: i64,
    pub end_ms: i64,
    pub intervals: Vec<i64>,
    pub groups: Vec<SessionGroupAnswer>,
}

/// Sentry's sessions query over the caller's projects (`event:read`).
pub async fn sessions(core: &Core, access: &Access, request: &SessionsRequest) -> CoreResult<SessionsAnswer> {
    access.require(Scope::EventRead)?;
    let query = parse_query(
        &request.fields,
        &request.group_by,
        request.stats_period.as_deref(),
        request.interval.as_deref(),
    )
    .map_err(CoreError::invalid)?;
    let release = release_condition(&request.query)?;
    if request.environments.len() > 1 {
        return Err(CoreError::Invalid("at most one environment at a time".into()));
    }
    let projects = requested_projects(core, access, &request.projects).await?;
    let ids: Vec<ProjectId> = projects.iter().map(|p| p.id).collect();
    let now = now_ms();
    let intervals = query.intervals(now);
    let start_ms = intervals.first().copied().unwrap_or(now);
    let end_ms = intervals.last().map_or(now, |last| last + query.interval_ms);
    let filter = HealthFilter {
        projects: &ids,
        since_ms: start_ms,
        until_ms: end_ms,
        environment: request.environments.first().map(String::as_str),
        release: release.as_deref(),
    };
    let hours = store::hours(&core.db, &filter).await?;
    let (users_total, users_hourly) = if query.needs_users() {
        let grouping = UserGrouping {
            by_release: query.grouped_by(SessionGroup::Release),
            by_environment: query.grouped_by(SessionGroup::Environment),
            by_hour: false,
        };
        let hourly = UserGrouping {
            by_hour: true,
            ..grouping
        };
        (
            store::users(&core.db, &filter, grouping).await?,
            store::users(&core.db, &filter, hourly).await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let groups = answer(&query, &intervals, &hours, &users_total, &users_hourly);
    Ok(SessionsAnswer {
        query,
        start_ms,
        end_ms,
        intervals,
        groups,
    })
}

/// `release:<version>` (quoted or not) or nothing; any other condition is refused by name.
fn release_condition(query: &str) -> CoreResult<Option<String>> {
    let query = query.trim();
    if query.is_empty() {
        return Ok(None);
    }
    match query.strip_prefix("release:") {
        Some(version) if !version.trim().is_empty() => Ok(Some(version.trim().trim_matches('"').to_owned())),
        _ => Err(CoreError::Invalid(format!(
            "unsupported query {query:?}: only release:<version> is supported here"
        ))),
    }
}

/// A release's health over the last day in one project: what Sentry's release list and page show.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReleaseHealth {
    pub sessions: i64,
    pub sessions_crashed: i64,
    pub sessions_errored: i64,
    pub users: i64,
    pub crash_free_sessions: Option<f64>,
    pub crash_free_users: Option<f64>,
    /// Its share of the project's sessions (and users) over the day, in percent.
    pub sessions_adoption: Option<f64>,
    pub users_adoption: Option<f64>,
}

/// How far back release figures look: Sentry's release list defaults to the last 24 hours.
pub const HEALTH_PERIOD_MS: i64 = 24 * HOUR_MS;

/// Each named release's health over the last day in the project (releases without sessions are absent).
pub async fn release_health(db: &Db, project_id: ProjectId) -> Result<HashMap<String, ReleaseHealth>, StoreError> {
    let now = now_ms();
    let projects = [project_id];
    let filter = HealthFilter {
        projects: &projects,
        since_ms: now - now.rem_euclid(HOUR_MS) - HEALTH_PERIOD_MS + HOUR_MS,
        until_ms: now + HOUR_MS,
        environment: None,
        release: None,
    };
    let hours = store::hours(db, &filter).await?;
    let by_release = UserGrouping {
        by_release: true,
        by_environment: false,
        by_hour: false,
    };
    let users = store::users(db, &filter, by_release).await?;
    let all_users = store::users(
        db,
        &filter,
        UserGrouping {
            by_release: false,
            ..by_release
        },
    )
    .await?;
    let mut health: HashMap<String, ReleaseHealth> = HashMap::new();
    for hour in &hours {
        let release = health.entry(hour.release.clone()).or_default();
        release.sessions += hour.started;
        release.sessions_crashed += hour.crashed;
        release.sessions_errored += hour.errored;
    }
    let mut crashed_users = HashMap::new();
    for count in &users {
        if let Some(name) = &count.release {
            health.entry(name.clone()).or_default().users = count.users;
            crashed_users.insert(name.clone(), count.crashed_users);
        }
    }
    let total_sessions: i64 = hours.iter().map(|h| h.started).sum();
    let total_users = all_users.first().map_or(0, |u| u.users);
    let share = |part: i64, all: i64| (all > 0).then(|| 100.0 * part as f64 / all as f64);
    let crash_free = |bad: i64, all: i64| (all > 0).then(|| 100.0 * (1.0 - bad.min(all) as f64 / all as f64));
    for (name, release) in health.iter_mut() {
        release.crash_free_sessions = crash_free(release.sessions_crashed, release.sessions);
        let crashed = crashed_users.get(name).copied().unwrap_or(0);
        release.crash_free_users = crash_free(crashed, release.users);
        release.sessions_adoption = share(release.sessions, total_sessions);
        release.users_adoption = share(release.users, total_users);
    }
    Ok(health)
}

/// A release of a project as its Releases page lists it: when it was first seen, its health over the last
/// day (none without sessions), and the previous release's crash-free sessions to compare with.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseRow {
    pub version: String,
    pub first_seen_ms: i64,
    pub health: Option<ReleaseHealth>,
    /// The release first seen before it in the project, and its crash-free sessions (percent).
    pub previous: Option<(String, Option<f64>)>,
}

/// Most releases a Releases page lists.
const RELEASES_LISTED: i64 = 100;

/// The project's releases, newest first, each with its health and its predecessor's.
pub async fn project_releases(
    db: &Db,
    organization_id: crate::domain::OrganizationId,
    project_id: ProjectId,
) -> Result<Vec<ReleaseRow>, StoreError> {
    let releases =
        crate::store::releases::list_releases(db, organization_id, Some(project_id), 0, RELEASES_LISTED).await?;
    let mut health = release_health(db, project_id).await?;
    let mut rows: Vec<ReleaseRow> = releases
        .iter()
        .map(|release| ReleaseRow {
            version: release.version.clone(),
            first_seen_ms: release.created_at,
            health: health.remove(&release.version),
            previous: None,
        })
        .collect();
    for i in 0..rows.len().saturating_sub(1) {
        let older = &rows[i + 1];
        let previous = (
            older.version.clone(),
            older.health.as_ref().and_then(|h| h.crash_free_sessions),
        );
        rows[i].previous = Some(previous);
    }
    Ok(rows)
}
