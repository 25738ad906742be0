//! A project's metric alerts: their rows on the rules page, and the form that creates or edits one. A
//! refused form comes back with what was typed and the reason as a sentence.

use crate::domain::{ChannelId, RuleId};
use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::core::{self, CoreError};
use crate::domain::alerts::metric::{Metric, MetricRule};
use crate::store::alerts;
use crate::store::organizations::Organization;
use crate::store::projects::Project;
use crate::web::session::{Action, Viewer};
use crate::web::{Nav, WebError, WebState};

use super::super::path_segment;
use super::super::project_settings::project_access;
use super::super::render;
use super::metric_form::{MetricRuleForm, METRICS};
use super::rules::{editor_project, ChannelChoice, NoFields};
use super::{alerts_path, channels_path, sentence, Message};

/// A metric rule as the rules page lists it.
pub struct MetricRow {
    pub rule: MetricRule,
    pub condition: String,
    /// What the last evaluation found: "above: 2239 ms", "ok: 22.4 ms", "not evaluated yet".
    pub state: String,
    pub firing: bool,
    pub transaction_link: String,
    /// `(name, kind)` of each channel.
    pub channels: Vec<(String, &'static str)>,
}

/// The project's metric rules as rows, naming their channels from `channels`.
pub fn metric_rows(
    rules: Vec<MetricRule>,
    channels: &HashMap<ChannelId, (String, &'static str)>,
    org: &str,
    project: &str,
) -> Vec<MetricRow> {
    rules
        .into_iter()
        .map(|rule| {
            let s = &rule.state;
            let measured = s.last_value.map(|v| rule.condition.metric.format(v));
            let state = match (s.evaluated_at, s.firing, measured) {
                (None, _, _) => "not evaluated yet".to_owned(),
                (_, true, Some(value)) => format!("firing: {value}"),
                (_, true, None) => "firing".to_owned(),
                (_, false, Some(value)) => format!("ok: {value}"),
                (_, false, None) => format!("ok: too few {}", rule.condition.metric.counted()),
            };
            MetricRow {
                condition: rule.condition.describe(),
                firing: s.firing,
                state,
                transaction_link: if rule.condition.metric == Metric::CrashFreeSessions {
                    format!(
                        "/organizations/{}/projects/{}/releases/",
                        path_segment(org),
                        path_segment(project)
                    )
                } else {
                    transaction_path(org, project, &rule.condition.transaction)
                },
                channels: rule
                    .channel_ids
                    .iter()
                    .filter_map(|id| channels.get(id).cloned())
                    .collect(),
                rule,
            }
        })
        .collect()
}

/// The transaction's page under the project's Performance page.
fn transaction_path(org: &str, project: &str, transaction: &str) -> String {
    format!(
        "/organizations/{}/projects/{}/performance/transaction/?name={}",
        path_segment(org),
        path_segment(project),
        path_segment(transaction)
    )
}

#[derive(Template)]
#[template(path = "pages/metric_alert_form.html")]
struct MetricFormPage {
    nav: Nav,
    project: Project,
    base: String,
    channels_link: String,
    /// Where the form posts: `metric/new` or the rule's own page.
    action: String,
    is_new: bool,
    notice: Option<Message>,
    form: MetricRuleForm,
    metrics: &'static [(&'static str, &'static str)],
    channels: Vec<ChannelChoice>,
}

#[derive(Deserialize, Default)]
pub struct Prefill {
    #[serde(default)]
    transaction: String,
}

pub async fn new_form(
    State(state): State<WebState>,
    viewer: Viewer,
    Path((org, slug)): Path<(String, String)>,
    Query(prefill): Query<Prefill>,
) -> Result<Response, WebError> {
    let (access, project) = editor_project(&state, &viewer, &org, &slug).await?;
    let form = MetricRuleForm::blank(&prefill.transaction);
    form_page(&state, &viewer, access.organization, project, None, form, None).await
}

pub async fn edit_form(
    State(state): State<WebState>,
    viewer: Viewer,
    Path((org, slug, rule_id)): Path<(String, String, RuleId)>,
) -> Result<Response, WebError> {
    let (access, project) = editor_project(&state, &viewer, &org, &slug).await?;
    let rule = alerts::get_metric_rule(&state.db, project.id, rule_id)
        .await?
        .ok_or(WebError::NotFound)?;
    let form = MetricRuleForm::from_rule(&rule);
    form_page(&state, &viewer, access.organization, project, Some(rule_id), form, None).await
}

pub async fn create(
    State(state): State<WebState>,
    Path((org, slug)): Path<(String, String)>,
    action: Action<MetricRuleForm>,
) -> Result<Response, WebError> {
    save(&state, action, &org, &slug, None).await
}

pub async fn update(
    State(state): State<WebState>,
    Path((org, slug, rule_id)): Path<(String, String, RuleId)>,
    action: Action<MetricRuleForm>,
) -> Result<Response, WebError> {
    save(&state, action, &org, &slug, Some(rule_id)).await
}

/// Creates (`rule_id == None`) or replaces a metric rule; a refused form is shown again with the reason.
async fn save(
    state: &WebState,
    action: Action<MetricRuleForm>,
    org: &str,
    slug: &str,
    rule_id: Option<RuleId>,
) -> Result<Response, WebError> {
    let (viewer, form) = (action.viewer, action.form);
    let (access, project) = project_access(state, &viewer, org, slug).await?;
    if let Some(id) = rule_id {
        alerts::get_metric_rule(&state.db, project.id, id)
            .await?
            .ok_or(WebError::NotFound)?;
    }
    let core = &state.core;
    let saved = match (form.to_spec(), rule_id) {
        (Err(error), _) => Err(CoreError::invalid(error)),
        (Ok(spec), None) => core::metric_alerts::create_metric_rule(core, &access, &project, spec).await,
        (Ok(spec), Some(id)) => core::metric_alerts::update_metric_rule(core, &access, &project, id, spec).await,
    };
    let refusal = match saved {
        Ok(_) => {
            let notice = if rule_id.is_some() {
                "metric_saved"
            } else {
                "metric_created"
            };
            let target = format!("{}?notice={notice}", alerts_path(org, slug));
            return Ok(Redirect::to(&target).into_response());
        }
        // The rule was found above, so what is missing is a channel (deleted meanwhile).
        Err(CoreError::NotFound) => "One of the chosen channels no longer exists; choose again.".to_owned(),
        Err(CoreError::Invalid(why)) => sentence(&why),
        Err(other) => return Err(other.into()),
    };
    let organization = access.organization;
    let page = form_page(state, &viewer, organization, project, rule_id, form, Some(refusal)).await?;
    Ok((StatusCode::BAD_REQUEST, page).into_response())
}

async fn form_page(
    state: &WebState,
    viewer: &Viewer,
    organization: Organization,
    project: Project,
    rule_id: Option<RuleId>,
    form: MetricRuleForm,
    error: Option<String>,
) -> Result<Response, WebError> {
    let channels = alerts::list_channels(&state.db, organization.id)
        .await?
        .into_iter()
        .map(|c| ChannelChoice {
            checked: form.channel.contains(&c.id),
            kind: c.config.kind(),
            id: c.id,
            name: c.name,
        })
        .collect();
    let base = alerts_path(&organization.slug, &project.slug);
    let title = match rule_id {
        Some(_) => format!("Edit metric alert · {}", project.name),
        None => format!("New metric alert · {}", project.name),
    };
    Ok(render(&MetricFormPage {
        nav: Nav::for_viewer(viewer, title, Some(&organization.slug)),
        action: rule_id.map_or_else(|| format!("{base}metric/new"), |id| format!("{base}metric/{id}/")),
        is_new: rule_id.is_none(),
        base,
        channels_link: channels_path(&organization.slug),
        notice: error.map(Message::error),
        project,
        form,
        metrics: &METRICS,
        channels,
    })?
    .into_response())
}

pub async fn delete(
    State(state): State<WebState>,
    Path((org, slug, rule_id)): Path<(String, String, RuleId)>,
    action: Action<NoFields>,
) -> Result<Redirect, WebError> {
    let (access, project) = project_access(&state, &action.viewer, &org, &slug).await?;
    core::metric_alerts::delete_metric_rule(&state.core, &access, &project, rule_id).await?;
    Ok(Redirect::to(&format!(
        "{}?notice=metric_deleted",
        alerts_path(&org, &slug)
    )))
}
