//! The organization's projects: open issues and a 24-hour event sparkline each.

use crate::domain::ProjectId;
use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::IntoResponse;

use crate::store::now_ms;
use crate::store::overview::{project_hourly_counts, unresolved_counts};
use crate::store::projects::{list_organization_projects, Project};
use crate::web::charts::{bar_chart, BarChart, DAY_MS, HOUR_MS};
use crate::web::session::Viewer;
use crate::web::{Nav, WebError, WebState};

use super::render;

pub struct ProjectRow {
    pub project: Project,
    pub unresolved: i64,
    pub last_day: BarChart,
}

#[derive(Template)]
#[template(path = "pages/projects.html")]
struct OverviewPage {
    nav: Nav,
    org: String,
    projects: Vec<ProjectRow>,
}

pub async fn overview(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(org): Path<String>,
) -> Result<impl IntoResponse, WebError> {
    let (organization, _) = viewer.org(&org)?;
    let projects = list_organization_projects(&state.db, &[organization.id]).await?;
    let ids: Vec<_> = projects.iter().map(|p| p.id).collect();
    let now = now_ms();
    let unresolved: HashMap<ProjectId, i64> = unresolved_counts(&state.db, &ids).await?.into_iter().collect();
    let mut hours: HashMap<ProjectId, Vec<(i64, i64)>> = HashMap::new();
    for (project_id, hour, count) in project_hourly_counts(&state.db, &ids, now - DAY_MS).await? {
        hours.entry(project_id).or_default().push((hour, count));
    }
    let projects = projects
        .into_iter()
        .map(|project| ProjectRow {
            unresolved: unresolved.get(&project.id).copied().unwrap_or(0),
            last_day: bar_chart(
                hours.get(&project.id).map_or(&[][..], Vec::as_slice),
                now,
                HOUR_MS,
                24,
                120.0,
                24.0,
            ),
            project,
        })
        .collect();
    render(&OverviewPage {
        nav: Nav::for_viewer(
            &viewer,
            format!("Projects · {}", organization.name),
            Some(&organization.slug),
        ),
        org: organization.slug,
        projects,
    })
}
