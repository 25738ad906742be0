//! A project's User Feedback page: what users wrote, newest first, each linked to the issue of its event when
//! that event is stored.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::IntoResponse;

use crate::core::feedback::for_project;
use crate::store::now_ms;
use crate::web::format::{moment, Moment};
use crate::web::session::Viewer;
use crate::web::{Nav, WebError, WebState};

use super::project_settings::project_access;
use super::render;

/// One piece of feedback as shown.
pub struct Row {
    pub comments: String,
    pub who: String,
    pub url: String,
    pub when: Moment,
    /// The issue page of its event, when that event is stored.
    pub issue_link: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/feedback.html")]
struct FeedbackPage {
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
    let found = for_project(&state.core, &access, &project).await?;
    let org = access.organization.slug.clone();
    let now = now_ms();
    let rows = found
        .into_iter()
        .map(|f| Row {
            who: f.signed(),
            issue_link: f
                .issue_id
                .map(|id| format!("/organizations/{}/issues/{id}/", super::path_segment(&org))),
            comments: f.comments,
            url: f.url,
            when: moment(f.received_at, now),
        })
        .collect();
    render(&FeedbackPage {
        nav: Nav::for_viewer(&viewer, "User feedback", Some(&org)),
        rows,
        project: project.slug,
        org,
    })
}
