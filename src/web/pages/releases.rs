//! A project's Releases page: its releases, newest first, each with the last day's release health (sessions,
//! crash-free sessions and users, adoption) beside the previous release's crash-free sessions.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::IntoResponse;

use crate::core::release_health::{project_releases, ReleaseRow};
use crate::store::now_ms;
use crate::web::format::{moment, Moment};
use crate::web::session::Viewer;
use crate::web::{Nav, WebError, WebState};

use super::project_settings::project_access;
use super::render;

/// One release as shown.
pub struct Row {
    pub version: String,
    pub first_seen: Moment,
    pub sessions: String,
    pub crash_free_sessions: String,
    pub crash_free_users: String,
    pub adoption: String,
    /// "+0.4 pts vs 1.0" (or "first release", or "–" without figures to compare).
    pub compared: String,
}

#[derive(Template)]
#[template(path = "pages/releases.html")]
struct ReleasesPage {
    nav: Nav,
    org: String,
    project: String,
    rows: Vec<Row>,
}

pub async fn page(
    State(state): State<WebState>,
    viewer: Viewer,
    Path((org, slug)): Path<(String, String)>,
) -> Result<impl IntoResponse, WebError> {
    let (access, project) = project_access(&state, &viewer, &org, &slug).await?;
    let releases = project_releases(&state.db, access.organization.id, project.id).await?;
    let org = access.organization.slug.clone();
    let now = now_ms();
    render(&ReleasesPage {
        nav: Nav::for_viewer(&viewer, "Releases", Some(&org)),
        rows: releases.iter().map(|r| row(r, now)).collect(),
        project: project.slug,
        org,
    })
}

fn row(release: &ReleaseRow, now: i64) -> Row {
    let health = release.health.as_ref();
    let percent = |value: Option<f64>| value.map_or_else(|| "–".to_owned(), |v| format!("{v:.1} %"));
    let crash_free = health.and_then(|h| h.crash_free_sessions);
    let compared = match (&release.previous, crash_free) {
        (None, _) => "first release".to_owned(),
        (Some((version, Some(before))), Some(now)) => format!("{:+.1} pts vs {version}", now - before),
        (Some((version, _)), _) => format!("– (no sessions to compare with {version})"),
    };
    Row {
        version: release.version.clone(),
        first_seen: moment(release.first_seen_ms, now),
        sessions: health.map_or_else(|| "0".to_owned(), |h| h.sessions.to_string()),
        crash_free_sessions: percent(crash_free),
        crash_free_users: percent(health.and_then(|h| h.crash_free_users)),
        adoption: percent(health.and_then(|h| h.sessions_adoption)),
        compared,
    }
}
