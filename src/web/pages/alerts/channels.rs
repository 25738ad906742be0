//! An organization's notification channels: the list (with "send a test notification"), the form of each
//! kind for creating and editing, and deletion. The built-in members channel can be edited, not deleted.

use crate::domain::ChannelId;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::core::{self, CoreError};
use crate::domain::accounts::{Role, Scope};
use crate::domain::alerts::channel::ChannelConfig;
use crate::store::alerts;
use crate::store::organizations::Organization;
use crate::web::session::{Action, Viewer};
use crate::web::{Nav, WebError, WebState};

use super::super::{render, NoticeParam};
use super::channel_form::{known_kind, stored_secret, target_in_words, ChannelForm};
use super::rules::NoFields;
use super::{channels_path, editor_access, sentence, Message};

const NOTICES: [(&str, &str, bool); 3] = [
    ("channel_created", "Channel created.", false),
    ("channel_saved", "Channel saved.", false),
    ("channel_deleted", "Channel deleted; rules no longer send to it.", false),
];

/// The kinds offered for a new channel, with how the page names them.
const KIND_LABELS: [(&str, &str); 6] = [
    ("email", "Email"),
    ("slack", "Slack"),
    ("discord", "Discord"),
    ("teams", "Microsoft Teams"),
    ("webhook", "Webhook (signed JSON)"),
    ("pagerduty", "PagerDuty"),
];

pub struct ChannelRow {
    pub id: ChannelId,
    pub name: String,
    pub kind: &'static str,
    pub builtin: bool,
    pub target: String,
    /// Why the channel cannot send from this server (e-mail without SMTP settings), as a sentence; its
    /// deliveries are skipped.
    pub not_configured: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/channels.html")]
struct ChannelsPage {
    nav: Nav,
    org: String,
    base: String,
    can_manage: bool,
    notice: Option<Message>,
    channels: Vec<ChannelRow>,
    kinds: &'static [(&'static str, &'static str)],
    /// A webhook secret Faultline just generated: shown on this response only.
    new_secret: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/channel_form.html")]
struct ChannelFormPage {
    nav: Nav,
    org: String,
    base: String,
    action: String,
    is_new: bool,
    kind_label: &'static str,
    notice: Option<Message>,
    form: ChannelForm,
    tls_modes: [&'static str; 3],
    /// The stored password or signing secret, masked, for the "leave blank to keep" hint.
    stored_secret: Option<String>,
}

pub async fn list(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(org): Path<String>,
    Query(notice): Query<NoticeParam>,
) -> Result<Response, WebError> {
    let (organization, role) = viewer.org(&org)?;
    let notice = notice.lookup(&NOTICES).map(Message::from);
    list_page(&state, &viewer, organization, role, notice, None).await
}

async fn list_page(
    state: &WebState,
    viewer: &Viewer,
    organization: Organization,
    role: Role,
    notice: Option<Message>,
    new_secret: Option<String>,
) -> Result<Response, WebError> {
    let notifier = &state.core.notifier;
    let channels = alerts::list_channels(&state.db, organization.id)
        .await?
        .into_iter()
        .map(|c| ChannelRow {
            not_configured: notifier.not_configured(&c.config).map(sentence),
            kind: c.config.kind(),
            target: target_in_words(&c.config),
            id: c.id,
            name: c.name,
            builtin: c.builtin,
        })
        .collect();
    Ok(render(&ChannelsPage {
        nav: Nav::for_viewer(viewer, "Alert channels", Some(&organization.slug)),
        base: channels_path(&organization.slug),
        org: organization.slug,
        can_manage: role.scopes().contains(Scope::ProjectWrite),
        notice,
        channels,
        kinds: &KIND_LABELS,
        new_secret,
    })?
    .into_response())
}

#[derive(Deserialize)]
pub struct KindParam {
    #[serde(default)]
    kind: String,
}

pub async fn new_form(
    viewer: Viewer,
    Path(org): Path<String>,
    Query(KindParam { kind }): Query<KindParam>,
) -> Result<Response, WebError> {
    let organization = editor_access(&viewer, &org)?.organization;
    let kind = known_kind(&kind).ok_or(WebError::NotFound)?;
    form_page(&viewer, &organization, None, ChannelForm::blank(kind), None, None)
}

pub async fn edit_form(
    State(state): State<WebState>,
    viewer: Viewer,
    Path((org, channel_id)): Path<(String, ChannelId)>,
) -> Result<Response, WebError> {
    let organization = editor_access(&viewer, &org)?.organization;
    let channel = alerts::get_channel(&state.db, organization.id, channel_id)
        .await?
        .ok_or(WebError::NotFound)?;
    let secret = stored_secret(&channel.config);
    form_page(
        &viewer,
        &organization,
        Some(channel_id),
        ChannelForm::from_channel(&channel),
        secret,
        None,
    )
}

pub async fn create(
    State(state): State<WebState>,
    Path(org): Path<String>,
    action: Action<ChannelForm>,
) -> Result<Response, WebError> {
    let (viewer, form) = (action.viewer, action.form);
    let access = viewer.access(&org)?;
    let organization = access.organization.clone();
    let created = match form.to_config() {
        Ok(config) => core::alerts::create_channel(&state.core, &access, &form.name, config).await,
        Err(error) => return refused(&viewer, &organization, None, form, error.to_string()),
    };
    match created {
        Ok(channel) if form.wants_generated_secret() => {
            let secret = match channel.config {
                ChannelConfig::Webhook(hook) => Some(hook.secret),
                _ => None,
            };
            let notice = Some(Message::ok("Channel created."));
            list_page(&state, &viewer, organization, access.role, notice, secret).await
        }
        Ok(_) => Ok(Redirect::to(&format!("{}?notice=channel_created", channels_path(&org))).into_response()),
        Err(error) => form_error(&viewer, &organization, None, form, error),
    }
}

pub async fn update(
    State(state): State<WebState>,
    Path((org, channel_id)): Path<(String, ChannelId)>,
    action: Action<ChannelForm>,
) -> Result<Response, WebError> {
    let (viewer, form) = (action.viewer, action.form);
    let access = viewer.access(&org)?;
    let organization = access.organization.clone();
    let updated = match form.to_config() {
        Ok(config) => core::alerts::update_channel(&state.core, &access, channel_id, &form.name, config).await,
        Err(error) => return refused(&viewer, &organization, Some(channel_id), form, error.to_string()),
    };
    match updated {
        Ok(_) => Ok(Redirect::to(&format!("{}?notice=channel_saved", channels_path(&org))).into_response()),
        Err(error) => form_error(&viewer, &organization, Some(channel_id), form, error),
    }
}

fn form_error(
    viewer: &Viewer,
    organization: &Organization,
    channel_id: Option<ChannelId>,
    form: ChannelForm,
    error: CoreError,
) -> Result<Response, WebError> {
    match error {
        CoreError::Invalid(why) => refused(viewer, organization, channel_id, form, why),
        other => Err(other.into()),
    }
}

/// The form again, as typed (but without the password or secret), with why it was refused.
fn refused(
    viewer: &Viewer,
    organization: &Organization,
    channel_id: Option<ChannelId>,
    form: ChannelForm,
    why: String,
) -> Result<Response, WebError> {
    let page = form_page(
        viewer,
        organization,
        channel_id,
        form.without_secrets(),
        None,
        Some(sentence(&why)),
    )?;
    Ok((StatusCode::BAD_REQUEST, page).into_response())
}

fn form_page(
    viewer: &Viewer,
    organization: &Organization,
    channel_id: Option<ChannelId>,
    form: ChannelForm,
    stored_secret: Option<String>,
    error: Option<String>,
) -> Result<Response, WebError> {
    let base = channels_path(&organization.slug);
    let kind_label = KIND_LABELS
        .iter()
        .find(|(kind, _)| *kind == form.kind)
        .map_or("Channel", |(_, label)| label);
    let title = if channel_id.is_some() {
        "Edit channel"
    } else {
        "New channel"
    };
    Ok(render(&ChannelFormPage {
        nav: Nav::for_viewer(viewer, title, Some(&organization.slug)),
        org: organization.slug.clone(),
        action: channel_id.map_or_else(|| format!("{base}new"), |id| format!("{base}{id}/")),
        is_new: channel_id.is_none(),
        base,
        kind_label,
        notice: error.map(Message::error),
        form,
        tls_modes: ["starttls", "tls", "none"],
        stored_secret,
    })?
    .into_response())
}

pub async fn delete(
    State(state): State<WebState>,
    Path((org, channel_id)): Path<(String, ChannelId)>,
    action: Action<NoFields>,
) -> Result<Redirect, WebError> {
    let access = action.viewer.access(&org)?;
    core::alerts::delete_channel(&state.core, &access, channel_id).await?;
    Ok(Redirect::to(&format!("{}?notice=channel_deleted", channels_path(&org))))
}

/// Sends a sample message through the channel now; the page says how it went.
pub async fn test(
    State(state): State<WebState>,
    Path((org, channel_id)): Path<(String, ChannelId)>,
    action: Action<NoFields>,
) -> Result<Response, WebError> {
    let access = action.viewer.access(&org)?;
    let outcome = core::alerts::send_test(&state.core, &access, channel_id).await?;
    let (organization, role) = (access.organization, access.role);
    let notice = match outcome {
        Ok(()) => Message::ok("Test notification sent."),
        Err(error) => Message::error(format!("The test notification failed: {error}")),
    };
    list_page(&state, &action.viewer, organization, role, Some(notice), None).await
}
