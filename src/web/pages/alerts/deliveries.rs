//! A project's delivery log: the last messages its rules sent (or tried to), newest first.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::IntoResponse;

use crate::domain::accounts::Scope;
use crate::store::alerts::{self, DeliveryRecord};
use crate::store::now_ms;
use crate::store::projects::Project;
use crate::web::format::{moment, Moment};
use crate::web::session::Viewer;
use crate::web::{Nav, WebError, WebState};

use super::super::project_settings::viewed_project;
use super::super::render;
use super::{alerts_path, channels_path, Message};

const SHOWN: i64 = 50;

pub struct DeliveryRow {
    pub record: DeliveryRecord,
    pub created: Moment,
    pub status_class: &'static str,
}

#[derive(Template)]
#[template(path = "pages/alert_deliveries.html")]
struct DeliveriesPage {
    nav: Nav,
    org: String,
    project: Project,
    base: String,
    channels_link: String,
    tab: &'static str,
    can_manage: bool,
    notice: Option<Message>,
    deliveries: Vec<DeliveryRow>,
}

/// The CSS class of a delivery status; only known statuses map to one.
fn status_class(status: &str) -> &'static str {
    match status {
        "sent" => "delivery-sent",
        "failed" => "delivery-failed",
        "sending" => "delivery-sending",
        "skipped" => "delivery-skipped",
        _ => "delivery-pending",
    }
}

pub async fn list(
    State(state): State<WebState>,
    viewer: Viewer,
    Path((org, slug)): Path<(String, String)>,
) -> Result<impl IntoResponse, WebError> {
    let (organization, role, project) = viewed_project(&state, &viewer, &org, &slug).await?;
    let now = now_ms();
    let deliveries = alerts::list_deliveries(&state.db, project.id, SHOWN)
        .await?
        .into_iter()
        .map(|record| DeliveryRow {
            created: moment(record.created_at, now),
            status_class: status_class(&record.status),
            record,
        })
        .collect();
    render(&DeliveriesPage {
        nav: Nav::for_viewer(
            &viewer,
            format!("Alert deliveries · {}", project.name),
            Some(&organization.slug),
        ),
        base: alerts_path(&organization.slug, &project.slug),
        channels_link: channels_path(&organization.slug),
        tab: "deliveries",
        can_manage: role.scopes().contains(Scope::ProjectWrite),
        notice: None,
        org: organization.slug,
        project,
        deliveries,
    })
}
