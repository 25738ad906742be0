//! One monitor's page: its settings and health, its issue, incidents and recent check-ins, with the forms
//! that edit and delete it.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};

use crate::core::{monitors, Access};
use crate::domain::accounts::Scope;
use crate::store::monitors::Monitor;
use crate::store::now_ms;
use crate::store::projects::Project;
use crate::web::format::{moment, Moment};
use crate::web::pages::alerts::rules::NoFields;
use crate::web::session::{Action, Viewer};
use crate::web::{Nav, WebError, WebState};

use super::super::{path_segment, render, NoticeParam};
use super::form::{MonitorForm, UNITS};
use super::view::{due, health_badge, incident_view, run_view, schedule_text, Due, HealthBadge, IncidentView, RunView};
use super::{monitor_path, monitors_path, project_access, refusal, Message};

/// Check-ins the page lists.
const LISTED_CHECK_INS: i64 = 50;

const NOTICES: [(&str, &str, bool); 1] = [(
    "saved",
    "Monitor saved; its next check-in is expected by the new schedule.",
    false,
)];

#[derive(Template)]
#[template(path = "pages/monitor.html")]
struct MonitorPage {
    nav: Nav,
    project: String,
    list: String,
    base: String,
    can_manage: bool,
    notice: Option<Message>,
    monitor: Monitor,
    schedule: String,
    health: HealthBadge,
    last_check_in: Option<Moment>,
    next: Due,
    issue_link: Option<String>,
    incidents: Vec<IncidentView>,
    runs: Vec<RunView>,
    form: MonitorForm,
    units: &'static [&'static str],
}

pub async fn page(
    State(state): State<WebState>,
    viewer: Viewer,
    Path((org, slug, monitor)): Path<(String, String, String)>,
    Query(notice): Query<NoticeParam>,
) -> Result<Response, WebError> {
    let (access, project) = project_access(&state, &viewer, &org, &slug).await?;
    let monitor = project_monitor(&state, &access, &project, &monitor).await?;
    let notice = notice.lookup(&NOTICES).map(Message::from);
    let form = MonitorForm::of(&monitor);
    monitor_page(&state, &viewer, &access, monitor, form, notice).await
}

pub async fn update(
    State(state): State<WebState>,
    Path((org, slug, monitor)): Path<(String, String, String)>,
    action: Action<MonitorForm>,
) -> Result<Response, WebError> {
    let (viewer, form) = (action.viewer, action.form);
    let (access, project) = project_access(&state, &viewer, &org, &slug).await?;
    let monitor = project_monitor(&state, &access, &project, &monitor).await?;
    let config = form.config();
    match monitors::update(&state.core, &access, &monitor, Some(&form.name), Some(&config)).await {
        Ok(updated) => {
            let path = monitor_path(&access.organization.slug, &updated);
            Ok(Redirect::to(&format!("{path}?notice=saved")).into_response())
        }
        Err(error) => {
            let (status, why) = refusal(error)?;
            let page = monitor_page(&state, &viewer, &access, monitor, form, Some(Message::error(why))).await?;
            Ok((status, page).into_response())
        }
    }
}

pub async fn delete(
    State(state): State<WebState>,
    Path((org, slug, monitor)): Path<(String, String, String)>,
    action: Action<NoFields>,
) -> Result<Redirect, WebError> {
    let (access, project) = project_access(&state, &action.viewer, &org, &slug).await?;
    let monitor = project_monitor(&state, &access, &project, &monitor).await?;
    monitors::delete(&state.core, &access, &monitor).await?;
    let list = monitors_path(&access.organization.slug, &project.slug);
    Ok(Redirect::to(&format!("{list}?notice=deleted")))
}

/// The project's monitor of that slug (slugs are unique per project).
async fn project_monitor(
    state: &WebState,
    access: &Access,
    project: &Project,
    slug: &str,
) -> Result<Monitor, WebError> {
    Ok(monitors::get(&state.core, access, slug, Some(project.id)).await?)
}

async fn monitor_page(
    state: &WebState,
    viewer: &Viewer,
    access: &Access,
    monitor: Monitor,
    form: MonitorForm,
    notice: Option<Message>,
) -> Result<Response, WebError> {
    let incidents = monitors::monitor_incidents(&state.core, access, &monitor).await?;
    let runs = monitors::check_ins(&state.core, access, &monitor, LISTED_CHECK_INS).await?;
    let org = access.organization.slug.clone();
    let now = now_ms();
    Ok(render(&MonitorPage {
        nav: Nav::for_viewer(viewer, format!("Monitor · {}", monitor.name), Some(&org)),
        list: monitors_path(&org, &monitor.project_slug),
        base: monitor_path(&org, &monitor),
        project: monitor.project_slug.clone(),
        can_manage: access.role.scopes().contains(Scope::ProjectWrite),
        notice,
        schedule: schedule_text(&monitor),
        health: health_badge(&monitor.health),
        last_check_in: monitor.last_check_in_at.map(|at| moment(at, now)),
        next: due(monitor.next_expected_at, now),
        issue_link: monitor
            .issue_id
            .map(|id| format!("/organizations/{}/issues/{id}/", path_segment(&org))),
        incidents: incidents.iter().map(|i| incident_view(i, now)).collect(),
        runs: runs.iter().map(|run| run_view(run, now)).collect(),
        monitor,
        form,
        units: &UNITS,
    })?
    .into_response())
}
