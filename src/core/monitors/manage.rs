//! Monitors as people manage them, through the UI and Sentry's monitor API: listed with their recent runs,
//! created and edited with a config (`project:write`), deleted with their check-ins and incidents. Reading
//! needs `project:read`, as Sentry's monitor endpoints do.

use std::collections::HashMap;

use serde_json::Value;

use crate::core::{Access, Core, CoreError, CoreResult};
use crate::domain::accounts::Scope;
use crate::domain::monitors::{normalize_slug, MonitorConfig};
use crate::domain::{MonitorId, ProjectId, Timestamp};
use crate::store::monitors::{self as store, CheckInRow, Incident, Monitor};
use crate::store::projects::Project;
use crate::store::Tx;

use super::next_expected;

/// Runs a list shows per monitor (its timeline).
pub const RECENT: usize = 30;
/// How far back a list looks for them.
const RECENT_DAYS: i64 = 14;
/// Longest monitor name.
const MAX_NAME_CHARS: usize = 128;

/// A monitor with its latest runs, newest first.
#[derive(Debug, Clone)]
pub struct MonitorView {
    pub monitor: Monitor,
    pub recent: Vec<CheckInRow>,
}

/// The organization's monitors (of one project when given), each with its recent runs.
pub async fn list(core: &Core, access: &Access, project_id: Option<ProjectId>) -> CoreResult<Vec<MonitorView>> {
    access.require(Scope::ProjectRead)?;
    let monitors = store::for_organization(&core.db, access.organization.id, project_id).await?;
    let ids: Vec<MonitorId> = monitors.iter().map(|m| m.id).collect();
    let since = Timestamp::now().as_millis() - RECENT_DAYS * 86_400_000;
    let limit = (ids.len() * RECENT) as i64;
    let mut runs: HashMap<MonitorId, Vec<CheckInRow>> = HashMap::new();
    for run in store::check_ins_since(&core.db, &ids, since, limit.max(1)).await? {
        let of_monitor = runs.entry(run.monitor_id).or_default();
        if of_monitor.len() < RECENT {
            of_monitor.push(run);
        }
    }
    Ok(monitors
        .into_iter()
        .map(|monitor| MonitorView {
            recent: runs.remove(&monitor.id).unwrap_or_default(),
            monitor,
        })
        .collect())
}

/// The organization's monitor of that slug, in that project when given (slugs are unique per project; the
/// API names none, as Sentry's organization-wide slugs).
pub async fn get(core: &Core, access: &Access, slug: &str, project_id: Option<ProjectId>) -> CoreResult<Monitor> {
    access.require(Scope::ProjectRead)?;
    let slug = normalize_slug(slug).ok_or(CoreError::NotFound)?;
    store::by_slug(&core.db, access.organization.id, &slug, project_id)
        .await?
        .ok_or(CoreError::NotFound)
}

/// The monitor's runs, newest first.
pub async fn check_ins(core: &Core, access: &Access, monitor: &Monitor, limit: i64) -> CoreResult<Vec<CheckInRow>> {
    access.require(Scope::ProjectRead)?;
    Ok(store::check_ins_since(&core.db, &[monitor.id], 0, limit).await?)
}

/// The monitor's incidents, newest first.
pub async fn incidents(core: &Core, access: &Access, monitor: &Monitor) -> CoreResult<Vec<Incident>> {
    access.require(Scope::ProjectRead)?;
    Ok(store::incidents(&core.db, monitor.id, 50).await?)
}

/// Creates a monitor in the project: `name`, optional `slug` (else made from the name) and `config`.
pub async fn create(
    core: &Core,
    access: &Access,
    project: &Project,
    name: &str,
    slug: Option<&str>,
    config: &Value,
) -> CoreResult<Monitor> {
    access.require(Scope::ProjectWrite)?;
    let name = checked_name(name)?;
    let slug = normalize_slug(slug.unwrap_or(&name))
        .ok_or_else(|| CoreError::invalid("a slug needs letters or digits (at most 50 characters)"))?;
    let config = MonitorConfig::read(config).map_err(CoreError::invalid)?;
    let now = Timestamp::now().as_millis();
    let mut tx = Tx::begin(&core.db).await?;
    if store::lock_by_slug(&mut tx, project.id, &slug).await?.is_some() {
        return Err(CoreError::Conflict(format!(
            "a monitor `{slug}` already exists in this project"
        )));
    }
    store::insert(
        &mut tx,
        project.id,
        &slug,
        &name,
        &config,
        (next_expected(&config, now), now),
    )
    .await?;
    let monitor = store::lock_by_slug(&mut tx, project.id, &slug)
        .await?
        .ok_or(CoreError::NotFound)?;
    tx.commit().await?;
    Ok(monitor)
}

/// Renames a monitor and replaces its config (each when given).
pub async fn update(
    core: &Core,
    access: &Access,
    monitor: &Monitor,
    name: Option<&str>,
    config: Option<&Value>,
) -> CoreResult<Monitor> {
    access.require(Scope::ProjectWrite)?;
    let name = name
        .map(checked_name)
        .transpose()?
        .unwrap_or_else(|| monitor.name.clone());
    let config = match config {
        Some(config) => MonitorConfig::read(config).map_err(CoreError::invalid)?,
        None => monitor.config()?,
    };
    let mut tx = Tx::begin(&core.db).await?;
    store::lock(&mut tx, monitor.id).await?.ok_or(CoreError::NotFound)?;
    // From now: a schedule changed between two runs is not charged with the runs it did not ask for.
    let next = next_expected(&config, Timestamp::now().as_millis());
    store::update_config(&mut tx, monitor.id, &name, &config, next).await?;
    let updated = store::lock(&mut tx, monitor.id).await?.ok_or(CoreError::NotFound)?;
    tx.commit().await?;
    Ok(updated)
}

/// Deletes a monitor with its runs and incidents (its issue stays, as any issue does).
pub async fn delete(core: &Core, access: &Access, monitor: &Monitor) -> CoreResult<()> {
    access.require(Scope::ProjectWrite)?;
    let mut tx = Tx::begin(&core.db).await?;
    store::delete(&mut tx, monitor.id).await?;
    tx.commit().await?;
    Ok(())
}

fn checked_name(name: &str) -> CoreResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(CoreError::invalid("a monitor needs a name of at most 128 characters"));
    }
    Ok(name.to_owned())
}
