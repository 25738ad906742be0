//! A project's cron monitors: the list with each monitor's health and a timeline of its recent runs, and the
//! form that creates one (`list`); one monitor's page with its settings, incidents and check-ins, where it
//! is edited or deleted (`detail`). Every member may look; `core` lets only project writers change anything.

pub mod detail;
mod form;
mod view;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use crate::core::{monitors, Access, CoreError};
use crate::domain::accounts::Scope;
use crate::store::monitors::Monitor;
use crate::store::now_ms;
use crate::store::projects::Project;
use crate::web::session::{Action, Viewer};
use crate::web::{Nav, WebError, WebState};

use super::alerts::{sentence, Message};
use super::project_settings::project_access;
use super::{path_segment, render, NoticeParam};
use form::{MonitorForm, UNITS};
use view::{due, health_badge, schedule_text, timeline, Due, HealthBadge, RunView};

const NOTICES: [(&str, &str, bool); 1] = [("deleted", "Monitor deleted, with its check-ins and incidents.", false)];

/// One monitor in the list.
pub struct MonitorRow {
    pub name: String,
    pub slug: String,
    pub link: String,
    pub schedule: String,
    pub timezone: String,
    pub health: HealthBadge,
    pub last_check_in: Option<crate::web::format::Moment>,
    pub next: Due,
    pub runs: Vec<RunView>,
}

#[derive(Template)]
#[template(path = "pages/monitors.html")]
struct MonitorsPage {
    nav: Nav,
    org: String,
    project: String,
    base: String,
    can_manage: bool,
    notice: Option<Message>,
    rows: Vec<MonitorRow>,
    form: MonitorForm,
    units: &'static [&'static str],
}

/// Where a project's monitor list is, for links and redirects.
pub fn monitors_path(org: &str, project: &str) -> String {
    format!(
        "/organizations/{}/projects/{}/monitors/",
        path_segment(org),
        path_segment(project)
    )
}

/// Where a monitor's page is.
pub fn monitor_path(org: &str, monitor: &Monitor) -> String {
    format!(
        "{}{}/",
        monitors_path(org, &monitor.project_slug),
        path_segment(&monitor.slug)
    )
}

pub async fn list(
    State(state): State<WebState>,
    viewer: Viewer,
    Path((org, slug)): Path<(String, String)>,
    Query(notice): Query<NoticeParam>,
) -> Result<Response, WebError> {
    let (access, project) = project_access(&state, &viewer, &org, &slug).await?;
    let notice = notice.lookup(&NOTICES).map(Message::from);
    list_page(&state, &viewer, &access, &project, MonitorForm::blank(), notice).await
}

pub async fn create(
    State(state): State<WebState>,
    Path((org, slug)): Path<(String, String)>,
    action: Action<MonitorForm>,
) -> Result<Response, WebError> {
    let (viewer, form) = (action.viewer, action.form);
    let (access, project) = project_access(&state, &viewer, &org, &slug).await?;
    let created = monitors::create(&state.core, &access, &project, &form.name, form.slug(), &form.config()).await;
    match created {
        Ok(monitor) => Ok(Redirect::to(&monitor_path(&access.organization.slug, &monitor)).into_response()),
        Err(error) => {
            let (status, why) = refusal(error)?;
            let page = list_page(&state, &viewer, &access, &project, form, Some(Message::error(why))).await?;
            Ok((status, page).into_response())
        }
    }
}

/// A refused form's status and sentence: the form comes back as typed for what the person can fix (a bad
/// setting, a slug taken); anything else is the usual error page.
fn refusal(error: CoreError) -> Result<(StatusCode, String), WebError> {
    match error {
        CoreError::Invalid(why) => Ok((StatusCode::BAD_REQUEST, sentence(&why))),
        CoreError::Conflict(why) => Ok((StatusCode::CONFLICT, sentence(&why))),
        other => Err(other.into()),
    }
}

async fn list_page(
    state: &WebState,
    viewer: &Viewer,
    access: &Access,
    project: &Project,
    form: MonitorForm,
    notice: Option<Message>,
) -> Result<Response, WebError> {
    let listed = monitors::list(&state.core, access, Some(project.id)).await?;
    let org = access.organization.slug.clone();
    let now = now_ms();
    let rows = listed
        .iter()
        .map(|view| MonitorRow {
            name: view.monitor.name.clone(),
            slug: view.monitor.slug.clone(),
            link: monitor_path(&org, &view.monitor),
            schedule: schedule_text(&view.monitor),
            timezone: view.monitor.timezone.clone(),
            health: health_badge(&view.monitor.health),
            last_check_in: view
                .monitor
                .last_check_in_at
                .map(|at| crate::web::format::moment(at, now)),
            next: due(view.monitor.next_expected_at, now),
            runs: timeline(&view.recent, now),
        })
        .collect();
    Ok(render(&MonitorsPage {
        nav: Nav::for_viewer(viewer, format!("Cron monitors · {}", project.name), Some(&org)),
        base: monitors_path(&org, &project.slug),
        can_manage: access.role.scopes().contains(Scope::ProjectWrite),
        project: project.slug.clone(),
        org,
        notice,
        rows,
        form,
        units: &UNITS,
    })?
    .into_response())
}
