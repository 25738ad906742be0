//! Release health's tables: sessions per project, release, environment and hour; the errored sessions by
//! `sid`; the distinct users. Written by ingest in one transaction per item, read back per release and hour.

use sqlx::{QueryBuilder, Row};

use super::{now_ms, on_pool, on_tx, Db, StoreError, Tx};
use crate::domain::release_health::{HealthHour, HealthUpdate, UserCount, UserGrouping};
use crate::domain::ProjectId;

/// Adds an item's counts, errored sessions and users, and records the releases and environments it names,
/// all in the caller's transaction.
pub async fn add(tx: &mut Tx, project_id: ProjectId, update: &HealthUpdate) -> Result<(), StoreError> {
    let counts = "INSERT INTO release_health_hours \
                  (project_id, release, environment, hour, started, errored, crashed, abnormal) \
                  VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                  ON CONFLICT (project_id, release, environment, hour) DO UPDATE SET \
                  started = release_health_hours.started + excluded.started, \
                  errored = release_health_hours.errored + excluded.errored, \
                  crashed = release_health_hours.crashed + excluded.crashed, \
                  abnormal = release_health_hours.abnormal + excluded.abnormal";
    let errored = "INSERT INTO release_health_errored (project_id, release, environment, hour, sid) \
                   VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";
    let users = "INSERT INTO release_health_users (project_id, release, environment, hour, user_id, crashed) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (project_id, release, environment, hour, user_id) DO UPDATE SET \
                 crashed = (release_health_users.crashed OR excluded.crashed)";
    let release = "INSERT INTO releases (project_id, version, first_seen) VALUES ($1, $2, $3) \
                   ON CONFLICT (project_id, version) DO NOTHING";
    // First seen when received, as with events.
    let received_ms = now_ms();
    let environment = "INSERT INTO project_environments (project_id, name, first_seen) VALUES ($1, $2, $3) \
                       ON CONFLICT (project_id, name) DO NOTHING";
    on_tx!(tx, conn, Backend => {
        for (key, c) in &update.counts {
            sqlx::query(counts).bind(project_id).bind(&key.release).bind(&key.environment).bind(key.hour)
                .bind(c.started).bind(c.errored).bind(c.crashed).bind(c.abnormal)
                .execute(&mut *conn).await?;
            sqlx::query(release).bind(project_id).bind(&key.release).bind(received_ms).execute(&mut *conn).await?;
            sqlx::query(environment).bind(project_id).bind(&key.environment).bind(received_ms)
                .execute(&mut *conn).await?;
        }
        for (key, sid) in &update.errored_sessions {
            sqlx::query(errored).bind(project_id).bind(&key.release).bind(&key.environment).bind(key.hour)
                .bind(sid).execute(&mut *conn).await?;
        }
        for (key, user) in &update.users {
            sqlx::query(users).bind(project_id).bind(&key.release).bind(&key.environment).bind(key.hour)
                .bind(&user.id).bind(user.crashed).execute(&mut *conn).await?;
        }
    });
    Ok(())
}

/// Which projects, hours and environment a read covers.
#[derive(Debug, Clone)]
pub struct HealthFilter<'a> {
    pub projects: &'a [ProjectId],
    /// Hours starting at or after this (epoch ms)…
    pub since_ms: i64,
    /// …and before this.
    pub until_ms: i64,
    pub environment: Option<&'a str>,
    pub release: Option<&'a str>,
}

/// The sessions of every release, environment and hour in the filter.
pub async fn hours(db: &Db, filter: &HealthFilter<'_>) -> Result<Vec<HealthHour>, StoreError> {
    if filter.projects.is_empty() {
        return Ok(Vec::new());
    }
    let rows = on_pool!(db, pool => {
        let mut qb = QueryBuilder::new(
            "SELECT h.release, h.environment, h.hour, CAST(SUM(h.started) AS BIGINT), \
             CAST(SUM(h.errored + (SELECT COUNT(*) FROM release_health_errored e WHERE e.project_id = h.project_id \
             AND e.release = h.release AND e.environment = h.environment AND e.hour = h.hour)) AS BIGINT), \
             CAST(SUM(h.crashed) AS BIGINT), CAST(SUM(h.abnormal) AS BIGINT) FROM release_health_hours h WHERE ",
        );
        push_filter(&mut qb, filter, "h");
        qb.push(" GROUP BY h.release, h.environment, h.hour ORDER BY h.hour, h.release, h.environment");
        qb.build().fetch_all(pool).await?.iter().map(|row| -> Result<HealthHour, sqlx::Error> {
            Ok(HealthHour {
                release: row.try_get(0)?,
                environment: row.try_get(1)?,
                hour: row.try_get(2)?,
                started: row.try_get(3)?,
                errored: row.try_get(4)?,
                crashed: row.try_get(5)?,
                abnormal: row.try_get(6)?,
            })
        }).collect::<Result<Vec<_>, _>>()?
    });
    Ok(rows)
}

/// Distinct users per group (a user of two hours is one user of the day).
pub async fn users(db: &Db, filter: &HealthFilter<'_>, grouping: UserGrouping) -> Result<Vec<UserCount>, StoreError> {
    if filter.projects.is_empty() {
        return Ok(Vec::new());
    }
    // Fixed column names only, never caller text.
    let columns: Vec<&str> = [
        (grouping.by_release, "u.release"),
        (grouping.by_environment, "u.environment"),
        (grouping.by_hour, "u.hour"),
    ]
    .into_iter()
    .filter_map(|(on, column)| on.then_some(column))
    .collect();
    let mut select = String::from("SELECT ");
    for column in &columns {
        select.push_str(column);
        select.push_str(", ");
    }
    select.push_str(
        "CAST(COUNT(DISTINCT u.user_id) AS BIGINT), \
         CAST(COUNT(DISTINCT CASE WHEN u.crashed THEN u.user_id END) AS BIGINT) FROM release_health_users u WHERE ",
    );
    let counts = on_pool!(db, pool => {
        let mut qb = QueryBuilder::new(select);
        push_filter(&mut qb, filter, "u");
        if !columns.is_empty() {
            qb.push(" GROUP BY ");
            qb.push(columns.join(", "));
        }
        qb.build().fetch_all(pool).await?.iter().map(|row| -> Result<UserCount, sqlx::Error> {
            let mut at = 0;
            let mut next = || { at += 1; at - 1 };
            let release = if grouping.by_release { Some(row.try_get(next())?) } else { None };
            let environment = if grouping.by_environment { Some(row.try_get(next())?) } else { None };
            let hour = if grouping.by_hour { Some(row.try_get(next())?) } else { None };
            Ok(UserCount { release, environment, hour, users: row.try_get(next())?, crashed_users: row.try_get(next())? })
        }).collect::<Result<Vec<_>, _>>()?
    });
    Ok(counts)
}

fn push_filter<'q, DB: sqlx::Database>(qb: &mut QueryBuilder<'q, DB>, filter: &HealthFilter<'q>, table: &str)
where
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    ProjectId: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    qb.push(format!("{table}.project_id IN ("));
    let mut projects = qb.separated(", ");
    for project in filter.projects {
        projects.push_bind(*project);
    }
    qb.push(format!(") AND {table}.hour >= "));
    qb.push_bind(filter.since_ms);
    qb.push(format!(" AND {table}.hour < "));
    qb.push_bind(filter.until_ms);
    if let Some(environment) = filter.environment {
        qb.push(format!(" AND {table}.environment = "));
        qb.push_bind(environment);
    }
    if let Some(release) = filter.release {
        qb.push(format!(" AND {table}.release = "));
        qb.push_bind(release);
    }
}

/// Deletes the hours older than `before_ms` of one project (the retention sweep, per project's retention).
pub async fn expire(db: &Db, project_id: ProjectId, before_ms: i64) -> Result<u64, StoreError> {
    let mut tx = Tx::begin(db).await?;
    let mut deleted = 0;
    for table in ["release_health_hours", "release_health_errored", "release_health_users"] {
        let sql = format!("DELETE FROM {table} WHERE project_id = $1 AND hour < $2");
        deleted += on_tx!(&mut tx, conn, Backend => sqlx::query(&sql).bind(project_id).bind(before_ms)
            .execute(&mut *conn).await?.rows_affected());
    }
    tx.commit().await?;
    Ok(deleted)
}
