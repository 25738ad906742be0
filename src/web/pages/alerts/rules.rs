//! A project's alert rules: the list (with enable/disable and delete, and its metric alerts below), and the
//! form that creates or edits an issue rule. A refused form comes back with what was typed and the reason.

use crate::domain::{ChannelId, RuleId};
use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::core::{self, Access, CoreError};
use crate::domain::accounts::Scope;
use crate::domain::alerts::AlertRule;
use crate::store::alerts;
use crate::store::organizations::Organization;
use crate::store::projects::Project;
use crate::web::session::{Action, Viewer};
use crate::web::{Nav, WebError, WebState};

use super::super::project_settings::{project_access, viewed_project};
use super::super::{render, NoticeParam};
use super::metric_rules::{metric_rows, MetricRow};
use super::rule_form::{conditions_in_words, triggers_in_words, RuleForm, LEVELS};
use super::{alerts_path, channels_path, sentence, Message};

const NOTICES: [(&str, &str, bool); 8] = [
    ("rule_created", "Rule created; it applies to the next event.", false),
    ("rule_saved", "Rule saved; it applies to the next event.", false),
    ("rule_enabled", "Rule enabled.", false),
    (
        "rule_disabled",
        "Rule disabled: it sends nothing until enabled again.",
        false,
    ),
    (
        "rule_deleted",
        "Rule deleted. Its past deliveries stay in the log.",
        false,
    ),
    (
        "metric_created",
        "Metric alert created; it is evaluated within a minute.",
        false,
    ),
    (
        "metric_saved",
        "Metric alert saved; it is evaluated within a minute.",
        false,
    ),
    (
        "metric_deleted",
        "Metric alert deleted. Its past deliveries stay in the log.",
        false,
    ),
];

pub struct RuleRow {
    pub rule: AlertRule,
    pub triggers: String,
    pub conditions: String,
    /// `(name, kind)` of each channel.
    pub channels: Vec<(String, &'static str)>,
}

#[derive(Template)]
#[template(path = "pages/alert_rules.html")]
struct RulesPage {
    nav: Nav,
    org: String,
    project: Project,
    base: String,
    channels_link: String,
    tab: &'static str,
    can_manage: bool,
    notice: Option<Message>,
    rules: Vec<RuleRow>,
    metric_rules: Vec<MetricRow>,
}

pub struct ChannelChoice {
    pub id: ChannelId,
    pub name: String,
    pub kind: &'static str,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "pages/alert_rule_form.html")]
struct RuleFormPage {
    nav: Nav,
    project: Project,
    base: String,
    channels_link: String,
    /// Where the form posts: `new` or the rule's own page.
    action: String,
    is_new: bool,
    notice: Option<Message>,
    form: RuleForm,
    levels: &'static [&'static str],
    channels: Vec<ChannelChoice>,
}

pub async fn list(
    State(state): State<WebState>,
    viewer: Viewer,
    Path((org, slug)): Path<(String, String)>,
    Query(notice): Query<NoticeParam>,
) -> Result<impl IntoResponse, WebError> {
    let (organization, role, project) = viewed_project(&state, &viewer, &org, &slug).await?;
    let channels: HashMap<ChannelId, (String, &'static str)> = alerts::list_channels(&state.db, organization.id)
        .await?
        .into_iter()
        .map(|c| (c.id, (c.name, c.config.kind())))
        .collect();
    let rules = alerts::list_rules(&state.db, project.id)
        .await?
        .into_iter()
        .map(|rule| RuleRow {
            triggers: triggers_in_words(&rule.triggers),
            conditions: conditions_in_words(&rule.conditions),
            channels: rule
                .channel_ids
                .iter()
                .filter_map(|id| channels.get(id).cloned())
                .collect(),
            rule,
        })
        .collect();
    let metric_rules = alerts::list_metric_rules(&state.db, project.id).await?;
    let metric_rules = metric_rows(metric_rules, &channels, &organization.slug, &project.slug);
    render(&RulesPage {
        nav: Nav::for_viewer(&viewer, format!("Alerts · {}", project.name), Some(&organization.slug)),
        base: alerts_path(&organization.slug, &project.slug),
        channels_link: channels_path(&organization.slug),
        tab: "rules",
        can_manage: role.scopes().contains(Scope::ProjectWrite),
        notice: notice.lookup(&NOTICES).map(Message::from),
        org: organization.slug,
        project,
        rules,
        metric_rules,
    })
}

pub async fn new_form(
    State(state): State<WebState>,
    viewer: Viewer,
    Path((org, slug)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let (access, project) = editor_project(&state, &viewer, &org, &slug).await?;
    form_page(
        &state,
        &viewer,
        access.organization,
        project,
        None,
        RuleForm::blank(),
        None,
    )
    .await
}

pub async fn edit_form(
    State(state): State<WebState>,
    viewer: Viewer,
    Path((org, slug, rule_id)): Path<(String, String, RuleId)>,
) -> Result<Response, WebError> {
    let (access, project) = editor_project(&state, &viewer, &org, &slug).await?;
    let organization = access.organization;
    let rule = alerts::get_rule(&state.db, project.id, rule_id)
        .await?
        .ok_or(WebError::NotFound)?;
    let form = RuleForm::from_rule(&rule);
    form_page(&state, &viewer, organization, project, Some(rule_id), form, None).await
}

pub async fn create(
    State(state): State<WebState>,
    Path((org, slug)): Path<(String, String)>,
    action: Action<RuleForm>,
) -> Result<Response, WebError> {
    save(&state, action, &org, &slug, None).await
}

pub async fn update(
    State(state): State<WebState>,
    Path((org, slug, rule_id)): Path<(String, String, RuleId)>,
    action: Action<RuleForm>,
) -> Result<Response, WebError> {
    save(&state, action, &org, &slug, Some(rule_id)).await
}

/// Creates (`rule_id == None`) or replaces a rule; a refused form is shown again with the reason.
async fn save(
    state: &WebState,
    action: Action<RuleForm>,
    org: &str,
    slug: &str,
    rule_id: Option<RuleId>,
) -> Result<Response, WebError> {
    let (viewer, form) = (action.viewer, action.form);
    let (access, project) = project_access(state, &viewer, org, slug).await?;
    if let Some(id) = rule_id {
        alerts::get_rule(&state.db, project.id, id)
            .await?
            .ok_or(WebError::NotFound)?;
    }
    let saved = match (form.to_spec(), rule_id) {
        (Err(error), _) => Err(CoreError::invalid(error)),
        (Ok(spec), None) => core::alerts::create_rule(&state.core, &access, &project, spec).await,
        (Ok(spec), Some(id)) => core::alerts::update_rule(&state.core, &access, &project, id, spec).await,
    };
    let refusal = match saved {
        Ok(_) => {
            let notice = if rule_id.is_some() {
                "rule_saved"
            } else {
                "rule_created"
            };
            let target = format!("{}?notice={notice}", alerts_path(org, slug));
            return Ok(Redirect::to(&target).into_response());
        }
        // The rule was found above, so what is missing is a channel (deleted meanwhile).
        Err(CoreError::NotFound) => "One of the chosen channels no longer exists; choose again.".to_owned(),
        Err(CoreError::Invalid(why)) => sentence(&why),
        Err(other) => return Err(other.into()),
    };
    let page = form_page(
        state,
        &viewer,
        access.organization,
        project,
        rule_id,
        form,
        Some(refusal),
    )
    .await?;
    Ok((StatusCode::BAD_REQUEST, page).into_response())
}

async fn form_page(
    state: &WebState,
    viewer: &Viewer,
    organization: Organization,
    project: Project,
    rule_id: Option<RuleId>,
    form: RuleForm,
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
        Some(_) => format!("Edit rule · {}", project.name),
        None => format!("New rule · {}", project.name),
    };
    Ok(render(&RuleFormPage {
        nav: Nav::for_viewer(viewer, title, Some(&organization.slug)),
        action: rule_id.map_or_else(|| format!("{base}new"), |id| format!("{base}{id}/")),
        is_new: rule_id.is_none(),
        base,
        channels_link: channels_path(&organization.slug),
        notice: error.map(Message::error),
        project,
        form,
        levels: &LEVELS,
        channels,
    })?
    .into_response())
}

#[derive(Deserialize)]
pub struct StateForm {
    enabled: bool,
}

pub async fn set_state(
    State(state): State<WebState>,
    Path((org, slug, rule_id)): Path<(String, String, RuleId)>,
    action: Action<StateForm>,
) -> Result<Redirect, WebError> {
    let (access, project) = project_access(&state, &action.viewer, &org, &slug).await?;
    let enabled = action.form.enabled;
    core::alerts::set_rule_enabled(&state.core, &access, &project, rule_id, enabled).await?;
    let notice = if enabled { "rule_enabled" } else { "rule_disabled" };
    Ok(Redirect::to(&format!("{}?notice={notice}", alerts_path(&org, &slug))))
}

pub async fn delete(
    State(state): State<WebState>,
    Path((org, slug, rule_id)): Path<(String, String, RuleId)>,
    action: Action<NoFields>,
) -> Result<Redirect, WebError> {
    let (access, project) = project_access(&state, &action.viewer, &org, &slug).await?;
    core::alerts::delete_rule(&state.core, &access, &project, rule_id).await?;
    Ok(Redirect::to(&format!(
        "{}?notice=rule_deleted",
        alerts_path(&org, &slug)
    )))
}

/// A form with nothing but its CSRF token.
#[derive(Deserialize)]
pub struct NoFields {}

/// The project for a page that offers a change (a form): members get the same 403 the change itself
/// would get from `core`.
pub(super) async fn editor_project(
    state: &WebState,
    viewer: &Viewer,
    org: &str,
    slug: &str,
) -> Result<(Access, Project), WebError> {
    let (access, project) = project_access(state, viewer, org, slug).await?;
    access.require(Scope::ProjectWrite)?;
    Ok((access, project))
}
