//! Cron monitors, their check-ins and incidents. Changes run inside the caller's transaction, the monitor's
//! row locked first (Postgres; SQLite writes one at a time), so a check-in and the clock never interleave
//! on one monitor. The clock's moves are compare-and-set: a mark is written only by the transaction that
//! moved `next_expected_at` (or closed the run) from the value it read.

use crate::domain::monitors::{ConfigError, Health, MonitorConfig, Schedule};
use crate::domain::{IssueId, MonitorId, OrganizationId, ProjectId};

use super::{on_pool, on_tx, Db, StoreError, Tx};

/// A monitor as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Monitor {
    pub id: MonitorId,
    pub project_id: ProjectId,
    pub organization_id: OrganizationId,
    pub project_slug: String,
    pub guid: String,
    pub slug: String,
    pub name: String,
    pub schedule_type: String,
    pub schedule: String,
    pub schedule_unit: Option<String>,
    pub timezone: String,
    pub checkin_margin_min: i64,
    pub max_runtime_min: i64,
    pub failure_threshold: i64,
    pub recovery_threshold: i64,
    pub health: String,
    pub failures_in_row: i64,
    pub successes_in_row: i64,
    pub incident_open: bool,
    pub issue_id: Option<IssueId>,
    pub next_expected_at: i64,
    pub last_check_in_at: Option<i64>,
    pub created_at: i64,
}

impl Monitor {
    /// Its settings, read back; a row that does not read is corrupt (every row was checked when written).
    pub fn config(&self) -> Result<MonitorConfig, StoreError> {
        let corrupt = |e: ConfigError| StoreError::Corrupt(format!("monitor {}: {e}", self.id));
        let schedule = Schedule::from_stored(&self.schedule_type, &self.schedule, self.schedule_unit.as_deref())
            .map_err(corrupt)?;
        let mut config = MonitorConfig::with_schedule(schedule);
        config.timezone = crate::domain::monitors::parse_timezone(&self.timezone).map_err(corrupt)?;
        let count = |n: i64| u32::try_from(n).unwrap_or(1);
        config.checkin_margin_min = count(self.checkin_margin_min);
        config.max_runtime_min = count(self.max_runtime_min);
        config.failure_threshold = count(self.failure_threshold);
        config.recovery_threshold = count(self.recovery_threshold);
        Ok(config)
    }

    pub fn health_state(&self) -> Health {
        Health {
            failures_in_row: u32::try_from(self.failures_in_row).unwrap_or(u32::MAX),
            successes_in_row: u32::try_from(self.successes_in_row).unwrap_or(u32::MAX),
            incident_open: self.incident_open,
        }
    }
}

/// A check-in as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CheckInRow {
    pub id: i64,
    pub monitor_id: MonitorId,
    pub check_in_id: String,
    pub status: String,
    pub environment: Option<String>,
    pub release: Option<String>,
    pub duration_ms: Option<i64>,
    pub expected_at: Option<i64>,
    pub timeout_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A check-in to insert.
#[derive(Debug, Clone)]
pub struct NewCheckIn<'a> {
    pub monitor_id: MonitorId,
    pub check_in_id: &'a str,
    pub status: &'a str,
    pub environment: Option<&'a str>,
    pub release: Option<&'a str>,
    pub duration_ms: Option<i64>,
    pub expected_at: Option<i64>,
    pub timeout_at: Option<i64>,
    pub at: i64,
}

/// A monitor's incident.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Incident {
    pub id: i64,
    pub opened_at: i64,
    pub resolved_at: Option<i64>,
    pub reason: String,
}

const MONITOR_COLUMNS: &str = "id, project_id, \
    (SELECT p.organization_id FROM projects p WHERE p.id = monitors.project_id) AS organization_id, \
    (SELECT p.slug FROM projects p WHERE p.id = monitors.project_id) AS project_slug, guid, slug, \
    name, schedule_type, schedule, schedule_unit, timezone, checkin_margin_min, max_runtime_min, \
    failure_threshold, recovery_threshold, health, failures_in_row, successes_in_row, incident_open, issue_id, \
    next_expected_at, last_check_in_at, created_at";
const CHECK_IN_COLUMNS: &str = "id, monitor_id, check_in_id, status, environment, release, duration_ms, \
    expected_at, timeout_at, created_at, updated_at";

/// The project's monitor of that slug, its row locked until the transaction ends.
pub async fn lock_by_slug(tx: &mut Tx, project_id: ProjectId, slug: &str) -> Result<Option<Monitor>, StoreError> {
    let sql = format!("SELECT {MONITOR_COLUMNS} FROM monitors WHERE project_id = $1 AND slug = $2");
    lock_one(tx, &sql, project_id.get(), Some(slug)).await
}

/// The monitor, its row locked until the transaction ends.
pub async fn lock(tx: &mut Tx, id: MonitorId) -> Result<Option<Monitor>, StoreError> {
    let sql = format!("SELECT {MONITOR_COLUMNS} FROM monitors WHERE id = $1");
    lock_one(tx, &sql, id.get(), None).await
}

async fn lock_one(tx: &mut Tx, sql: &str, first: i64, second: Option<&str>) -> Result<Option<Monitor>, StoreError> {
    Ok(match tx {
        Tx::Sqlite(t) => {
            let query = sqlx::query_as(sql).bind(first);
            let query = if let Some(second) = second {
                query.bind(second)
            } else {
                query
            };
            query.fetch_optional(&mut **t).await?
        }
        Tx::Postgres(t) => {
            let locked = format!("{sql} FOR UPDATE");
            let query = sqlx::query_as(&locked).bind(first);
            let query = if let Some(second) = second {
                query.bind(second)
            } else {
                query
            };
            query.fetch_optional(&mut **t).await?
        }
    })
}

/// Creates a monitor unless the slug is taken (another process's check-in may have created it meanwhile).
pub async fn insert(
    tx: &mut Tx,
    project_id: ProjectId,
    slug: &str,
    name: &str,
    config: &MonitorConfig,
    (next_expected_at, now): (i64, i64),
) -> Result<(), StoreError> {
    // The row first, its settings through `update_config`: one list of them to keep in step with the table.
    let sql = "INSERT INTO monitors (project_id, guid, slug, name, schedule_type, schedule, timezone, \
               checkin_margin_min, max_runtime_min, failure_threshold, recovery_threshold, health, next_expected_at, \
               created_at) VALUES ($1, $2, $3, $4, '', '', '', 0, 0, 0, 0, 'active', 0, $5) \
               ON CONFLICT (project_id, slug) DO NOTHING RETURNING id";
    let guid = uuid::Uuid::new_v4().to_string();
    let created: Option<MonitorId> = on_tx!(tx, conn, Backend => sqlx::query_scalar(sql)
        .bind(project_id)
        .bind(&guid)
        .bind(slug)
        .bind(name)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?);
    match created {
        Some(id) => update_config(tx, id, name, config, next_expected_at).await,
        None => Ok(()),
    }
}

/// Replaces the monitor's settings (and its name) and when it is next expected.
pub async fn update_config(
    tx: &mut Tx,
    id: MonitorId,
    name: &str,
    config: &MonitorConfig,
    next_expected_at: i64,
) -> Result<(), StoreError> {
    let sql = "UPDATE monitors SET name = $2, schedule_type = $3, schedule = $4, schedule_unit = $5, timezone = $6, \
               checkin_margin_min = $7, max_runtime_min = $8, failure_threshold = $9, recovery_threshold = $10, \
               next_expected_at = $11 WHERE id = $1";
    on_tx!(tx, conn, Backend => sqlx::query(sql)
        .bind(id)
        .bind(name)
        .bind(config.schedule.kind())
        .bind(config.schedule.value())
        .bind(config.schedule.unit().map(|u| u.as_str()))
        .bind(config.timezone.name())
        .bind(i64::from(config.checkin_margin_min))
        .bind(i64::from(config.max_runtime_min))
        .bind(i64::from(config.failure_threshold))
        .bind(i64::from(config.recovery_threshold))
        .bind(next_expected_at)
        .execute(&mut *conn)
        .await?
        .rows_affected());
    Ok(())
}

/// The monitor's state after a check-in or a mark.
#[derive(Debug, Clone)]
pub struct MonitorState<'a> {
    pub health_label: &'a str,
    pub health: Health,
    pub next_expected_at: i64,
    pub last_check_in_at: Option<i64>,
}

pub async fn write_state(tx: &mut Tx, id: MonitorId, state: &MonitorState<'_>) -> Result<(), StoreError> {
    let sql = "UPDATE monitors SET health = $2, failures_in_row = $3, successes_in_row = $4, incident_open = $5, \
               next_expected_at = $6, last_check_in_at = COALESCE($7, last_check_in_at) WHERE id = $1";
    on_tx!(tx, conn, Backend => sqlx::query(sql)
        .bind(id)
        .bind(state.health_label)
        .bind(i64::from(state.health.failures_in_row))
        .bind(i64::from(state.health.successes_in_row))
        .bind(state.health.incident_open)
        .bind(state.next_expected_at)
        .bind(state.last_check_in_at)
        .execute(&mut *conn)
        .await?
        .rows_affected());
    Ok(())
}

/// The monitor's check-in of that id.
pub async fn find_check_in(
    tx: &mut Tx,
    monitor_id: MonitorId,
    check_in_id: &str,
) -> Result<Option<CheckInRow>, StoreError> {
    let sql = format!("SELECT {CHECK_IN_COLUMNS} FROM monitor_check_ins WHERE monitor_id = $1 AND check_in_id = $2");
    Ok(on_tx!(tx, conn, Backend => sqlx::query_as(&sql)
        .bind(monitor_id)
        .bind(check_in_id)
        .fetch_optional(&mut *conn)
        .await?))
}

/// A check-in by its row id.
pub async fn check_in_by_id(tx: &mut Tx, id: i64) -> Result<Option<CheckInRow>, StoreError> {
    let sql = format!("SELECT {CHECK_IN_COLUMNS} FROM monitor_check_ins WHERE id = $1");
    Ok(on_tx!(tx, conn, Backend => sqlx::query_as(&sql).bind(id).fetch_optional(&mut *conn).await?))
}

pub async fn insert_check_in(tx: &mut Tx, new: &NewCheckIn<'_>) -> Result<(), StoreError> {
    let sql = "INSERT INTO monitor_check_ins (monitor_id, check_in_id, status, environment, release, duration_ms, \
               expected_at, timeout_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)";
    on_tx!(tx, conn, Backend => sqlx::query(sql)
        .bind(new.monitor_id)
        .bind(new.check_in_id)
        .bind(new.status)
        .bind(new.environment)
        .bind(new.release)
        .bind(new.duration_ms)
        .bind(new.expected_at)
        .bind(new.timeout_at)
        .bind(new.at)
        .execute(&mut *conn)
        .await?
        .rows_affected());
    Ok(())
}

/// Closes a run that is still in progress; `false` when it was closed already (by its SDK or the clock).
pub async fn close_check_in(
    tx: &mut Tx,
    id: i64,
    status: &str,
    duration_ms: Option<i64>,
    now: i64,
) -> Result<bool, StoreError> {
    let sql = "UPDATE monitor_check_ins SET status = $2, duration_ms = $3, timeout_at = NULL, updated_at = $4 \
               WHERE id = $1 AND status = 'in_progress'";
    let done = on_tx!(tx, conn, Backend => sqlx::query(sql)
        .bind(id)
        .bind(status)
        .bind(duration_ms)
        .bind(now)
        .execute(&mut *conn)
        .await?
        .rows_affected());
    Ok(done == 1)
}

/// Moves the monitor's expected time from `from` to `to`; `false` when another process moved it first.
pub async fn advance_expected(tx: &mut Tx, id: MonitorId, from: i64, to: i64) -> Result<bool, StoreError> {
    let sql = "UPDATE monitors SET next_expected_at = $3 WHERE id = $1 AND next_expected_at = $2";
    let moved = on_tx!(tx, conn, Backend => sqlx::query(sql)
        .bind(id)
        .bind(from)
        .bind(to)
        .execute(&mut *conn)
        .await?
        .rows_affected());
    Ok(moved == 1)
}

/// Monitors whose expected check-in is past its margin at `now`, most overdue first.
pub async fn overdue(db: &Db, now: i64, limit: i64) -> Result<Vec<MonitorId>, StoreError> {
    let sql = "SELECT id FROM monitors WHERE next_expected_at + checkin_margin_min * 60000 < $1 \
               ORDER BY next_expected_at LIMIT $2";
    Ok(on_pool!(db, pool => sqlx::query_scalar(sql).bind(now).bind(limit).fetch_all(pool).await?))
}

/// Runs still in progress past their longest runtime at `now`: (monitor, check-in row id).
pub async fn timed_out(db: &Db, now: i64, limit: i64) -> Result<Vec<(MonitorId, i64)>, StoreError> {
    let sql = "SELECT monitor_id, id FROM monitor_check_ins WHERE status = 'in_progress' AND timeout_at < $1 \
               ORDER BY timeout_at LIMIT $2";
    Ok(on_pool!(db, pool => sqlx::query_as(sql).bind(now).bind(limit).fetch_all(pool).await?))
}

/// Remembers the monitor's issue.
pub async fn set_issue(tx: &mut Tx, id: MonitorId, project_id: ProjectId, event_id: &str) -> Result<(), StoreError> {
    let sql = "UPDATE monitors SET issue_id = \
               (SELECT e.issue_id FROM events e WHERE e.project_id = $2 AND e.event_id = $3) WHERE id = $1";
    on_tx!(tx, conn, Backend => sqlx::query(sql)
        .bind(id)
        .bind(project_id)
        .bind(event_id)
        .execute(&mut *conn)
        .await?
        .rows_affected());
    Ok(())
}

pub async fn open_incident(tx: &mut Tx, id: MonitorId, now: i64, reason: &str) -> Result<(), StoreError> {
    let sql = "INSERT INTO monitor_incidents (monitor_id, opened_at, reason) VALUES ($1, $2, $3)";
    on_tx!(tx, conn, Backend => sqlx::query(sql).bind(id).bind(now).bind(reason).execute(&mut *conn).await?.rows_affected());
    Ok(())
}

pub async fn resolve_incident(tx: &mut Tx, id: MonitorId, now: i64) -> Result<(), StoreError> {
    let sql = "UPDATE monitor_incidents SET resolved_at = $2 WHERE monitor_id = $1 AND resolved_at IS NULL";
    on_tx!(tx, conn, Backend => sqlx::query(sql).bind(id).bind(now).execute(&mut *conn).await?.rows_affected());
    Ok(())
}

/// The organization's monitors (of one project when given), by name.
pub async fn for_organization(
    db: &Db,
    organization_id: OrganizationId,
    project_id: Option<ProjectId>,
) -> Result<Vec<Monitor>, StoreError> {
    let sql = format!(
        "SELECT {MONITOR_COLUMNS} FROM monitors WHERE project_id IN \
         (SELECT id FROM projects WHERE organization_id = $1) AND ($2 IS NULL OR project_id = $2) ORDER BY name, id"
    );
    Ok(on_pool!(db, pool => sqlx::query_as(&sql)
        .bind(organization_id)
        .bind(project_id)
        .fetch_all(pool)
        .await?))
}

/// The organization's monitor of that slug, in `project_id` when given (else the first project's, should
/// two projects share a slug).
pub async fn by_slug(
    db: &Db,
    organization_id: OrganizationId,
    slug: &str,
    project_id: Option<ProjectId>,
) -> Result<Option<Monitor>, StoreError> {
    let sql = format!(
        "SELECT {MONITOR_COLUMNS} FROM monitors WHERE slug = $2 AND ($3 IS NULL OR project_id = $3) AND project_id IN \
         (SELECT id FROM projects WHERE organization_id = $1) ORDER BY project_id LIMIT 1"
    );
    Ok(on_pool!(db, pool => sqlx::query_as(&sql)
        .bind(organization_id)
        .bind(slug)
        .bind(project_id)
        .fetch_optional(pool)
        .await?))
}

/// The monitors' check-ins since `since`, newest first, at most `limit` in all.
pub async fn check_ins_since(
    db: &Db,
    monitor_ids: &[MonitorId],
    since: i64,
    limit: i64,
) -> Result<Vec<CheckInRow>, StoreError> {
    if monitor_ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = monitor_ids
        .iter()
        .map(|id| id.get().to_string())
        .collect::<Vec<_>>()
        .join(",");
    let sql = format!(
        "SELECT {CHECK_IN_COLUMNS} FROM monitor_check_ins WHERE monitor_id IN ({ids}) AND created_at >= $1 \
         ORDER BY created_at DESC, id DESC LIMIT $2"
    );
    Ok(on_pool!(db, pool => sqlx::query_as(&sql).bind(since).bind(limit).fetch_all(pool).await?))
}

/// The monitor's incidents, newest first.
pub async fn incidents(db: &Db, id: MonitorId, limit: i64) -> Result<Vec<Incident>, StoreError> {
    let sql = "SELECT id, opened_at, resolved_at, reason FROM monitor_incidents WHERE monitor_id = $1 \
               ORDER BY opened_at DESC, id DESC LIMIT $2";
    Ok(on_pool!(db, pool => sqlx::query_as(sql).bind(id).bind(limit).fetch_all(pool).await?))
}

pub async fn delete(tx: &mut Tx, id: MonitorId) -> Result<bool, StoreError> {
    let done = on_tx!(tx, conn, Backend => sqlx::query("DELETE FROM monitors WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected());
    Ok(done == 1)
}

/// The project's finished check-ins and closed incidents older than `before` go (retention, as its events
/// do); returns how many rows.
pub async fn expire(db: &Db, project_id: ProjectId, before: i64) -> Result<u64, StoreError> {
    let statements = [
        "DELETE FROM monitor_check_ins WHERE created_at < $2 AND status <> 'in_progress' \
         AND monitor_id IN (SELECT id FROM monitors WHERE project_id = $1)",
        "DELETE FROM monitor_incidents WHERE resolved_at < $2 \
         AND monitor_id IN (SELECT id FROM monitors WHERE project_id = $1)",
    ];
    let mut tx = Tx::begin(db).await?;
    let mut gone = 0;
    for sql in statements {
        gone += on_tx!(&mut tx, conn, Backend => sqlx::query(sql)
            .bind(project_id)
            .bind(before)
            .execute(&mut *conn)
            .await?
            .rows_affected());
    }
    tx.commit().await?;
    Ok(gone)
}
