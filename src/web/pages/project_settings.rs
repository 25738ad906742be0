//! A project's settings page: name and platform, client keys with their DSNs, setup snippets, the
//! organization's members (see `members`), and extra scrubbing keys. Every member may look; only admins
//! and owners change anything.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use crate::core::{self, Access};
use crate::domain::accounts::{may_edit_member, Role, Scope};
use crate::domain::auth::{Dsn, PublicKey};
use crate::domain::scrub::default_sensitive_keys;
use crate::store::now_ms;
use crate::store::organizations::{self, Organization};
use crate::store::projects::{self, KeyChange, Project, ProjectKey};
use crate::web::format::{moment, Moment};
use crate::web::session::{Action, Viewer};
use crate::web::{Nav, WebError, WebState};

use super::members::{member_rows, MemberRow};
use super::project_data::{data_view, DataView};
use super::{path_segment, render, Notice, NoticeParam};

/// The platforms a project can name (Sentry's identifiers), with how the page shows them.
pub const PLATFORMS: [(&str, &str); 8] = [
    ("python", "Python"),
    ("python-django", "Django"),
    ("javascript", "JavaScript"),
    ("javascript-browser", "JavaScript (browser)"),
    ("node", "Node.js"),
    ("rust", "Rust"),
    ("go", "Go"),
    ("other", "Other"),
];

const NOTICES: [(&str, &str, bool); 15] = [
    ("general", "Project saved.", false),
    (
        "data",
        "Retention and filters saved; they apply to events received from now on.",
        false,
    ),
    (
        "name_required",
        "The project needs a name (up to 200 characters).",
        true,
    ),
    ("key_created", "Client key created.", false),
    ("key_enabled", "Client key enabled.", false),
    (
        "key_disabled",
        "Client key disabled: events sent with it are refused.",
        false,
    ),
    ("key_deleted", "Client key deleted.", false),
    ("member_added", "Member added.", false),
    ("role_changed", "Role changed.", false),
    ("member_removed", "Member removed.", false),
    (
        "no_user",
        "There is no user with that e-mail address; create the account first.",
        true,
    ),
    ("owner_only", "Only owners can make or unmake owners.", true),
    ("last_owner", "An organization needs at least one owner.", true),
    (
        "scrub",
        "Scrubbing keys saved; they apply to events received from now on.",
        false,
    ),
    (
        "too_many_keys",
        "Too many scrubbing keys (at most 200, each up to 100 characters).",
        true,
    ),
];

const MAX_NAME_CHARS: usize = 200;
const MAX_SCRUB_KEYS: usize = 200;
const MAX_SCRUB_KEY_CHARS: usize = 100;

pub struct KeyRow {
    pub key: ProjectKey,
    pub dsn: String,
    pub created: Moment,
}

#[derive(Template)]
#[template(path = "pages/project_settings.html")]
struct SettingsPage {
    nav: Nav,
    org: String,
    project: Project,
    base: String,
    can_manage: bool,
    notice: Option<Notice>,
    platforms: &'static [(&'static str, &'static str)],
    keys: Vec<KeyRow>,
    /// The DSN of the first enabled key, for the setup snippets.
    dsn: Option<String>,
    members: Vec<MemberRow>,
    role_choices: Vec<&'static str>,
    scrub_keys: String,
    default_scrub_keys: &'static [&'static str],
    data: DataView,
}

/// The project named in the URL, in an organization the viewer belongs to (else 404), and their role.
pub async fn viewed_project(
    state: &WebState,
    viewer: &Viewer,
    org: &str,
    slug: &str,
) -> Result<(Organization, Role, Project), WebError> {
    let (organization, role) = viewer.org(org)?;
    let project = projects::find_organization_project(&state.db, organization.id, slug)
        .await?
        .ok_or(WebError::NotFound)?;
    Ok((organization, role, project))
}

/// The project named in the URL with what the viewer may do there. Changes go to `core`, which checks
/// the access; the page only uses it to decide what to offer.
pub async fn project_access(
    state: &WebState,
    viewer: &Viewer,
    org: &str,
    slug: &str,
) -> Result<(Access, Project), WebError> {
    let access = viewer.access(org)?;
    let project = core::projects::find(&state.core, &access, slug).await?;
    Ok((access, project))
}

/// Where the settings page is, for links and redirects.
pub fn settings_path(org: &str, project: &str) -> String {
    format!(
        "/organizations/{}/projects/{}/settings/",
        path_segment(org),
        path_segment(project)
    )
}

/// Back to the page with a notice code from [`NOTICES`], at the section the form was in.
pub fn back_to(org: &str, project: &str, notice: &str, section: &str) -> Redirect {
    Redirect::to(&format!("{}?notice={notice}#{section}", settings_path(org, project)))
}

pub async fn page(
    State(state): State<WebState>,
    viewer: Viewer,
    Path((org, slug)): Path<(String, String)>,
    Query(notice): Query<NoticeParam>,
) -> Result<impl IntoResponse, WebError> {
    let (organization, role, project) = viewed_project(&state, &viewer, &org, &slug).await?;
    let now = now_ms();
    let keys: Vec<KeyRow> = projects::list_keys(&state.db, project.id)
        .await?
        .into_iter()
        .map(|key| KeyRow {
            dsn: dsn_of(&state.public_url, &key),
            created: moment(key.created_at, now),
            key,
        })
        .collect();
    let dsn = keys
        .iter()
        .find(|row| row.key.enabled && !row.dsn.is_empty())
        .map(|row| row.dsn.clone());
    let members = organizations::list_members(&state.db, organization.id).await?;
    let scrub_keys = projects::scrub_keys(&state.db, project.id).await?.join("\n");
    let mut role_choices = vec![Role::Member.as_str(), Role::Admin.as_str()];
    // Only those who may change an owner may make one.
    if may_edit_member(role, Role::Owner) {
        role_choices.push(Role::Owner.as_str());
    }
    render(&SettingsPage {
        nav: Nav::for_viewer(
            &viewer,
            format!("Settings · {}", project.name),
            Some(&organization.slug),
        ),
        base: settings_path(&organization.slug, &project.slug),
        org: organization.slug,
        can_manage: role.scopes().contains(Scope::ProjectWrite),
        notice: notice.lookup(&NOTICES),
        platforms: &PLATFORMS,
        keys,
        dsn,
        members: member_rows(members, role, viewer.session.user.id),
        role_choices,
        scrub_keys,
        default_scrub_keys: default_sensitive_keys(),
        data: data_view(&state, &project).await?,
        project,
    })
}

/// The key's DSN; empty for a stored key that is not a valid public key (never written by Faultline).
fn dsn_of(public_url: &url::Url, key: &ProjectKey) -> String {
    PublicKey::parse(&key.public_key)
        .map(|public_key| Dsn::for_project(public_url, &public_key, key.project_id.get() as u64).to_string())
        .unwrap_or_default()
}

#[derive(Deserialize)]
pub struct GeneralForm {
    name: String,
    #[serde(default)]
    platform: String,
}

pub async fn general(
    State(state): State<WebState>,
    Path((org, slug)): Path<(String, String)>,
    action: Action<GeneralForm>,
) -> Result<Redirect, WebError> {
    let (access, project) = project_access(&state, &action.viewer, &org, &slug).await?;
    let name = action.form.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Ok(back_to(&org, &slug, "name_required", "general"));
    }
    let platform = match action.form.platform.as_str() {
        "" => None,
        given => Some(
            PLATFORMS
                .iter()
                .map(|(id, _)| *id)
                .find(|id| *id == given)
                .ok_or_else(|| WebError::BadRequest("unknown platform".into()))?,
        ),
    };
    core::projects::update(&state.core, &access, &project, name, platform).await?;
    Ok(back_to(&org, &slug, "general", "general"))
}

#[derive(Deserialize)]
pub struct NewKeyForm {
    #[serde(default)]
    label: String,
}

pub async fn create_key(
    State(state): State<WebState>,
    Path((org, slug)): Path<(String, String)>,
    action: Action<NewKeyForm>,
) -> Result<Redirect, WebError> {
    let (access, project) = project_access(&state, &action.viewer, &org, &slug).await?;
    let label: String = action.form.label.trim().chars().take(MAX_NAME_CHARS).collect();
    let label = if label.is_empty() { "Default".to_owned() } else { label };
    core::projects::create_key(&state.core, &access, &project, &label).await?;
    Ok(back_to(&org, &slug, "key_created", "keys"))
}

#[derive(Deserialize)]
pub struct KeyStateForm {
    key: String,
    enabled: bool,
}

/// Enables or disables a key; ingest's cache is cleared so the change applies to the next event.
pub async fn key_state(
    State(state): State<WebState>,
    Path((org, slug)): Path<(String, String)>,
    action: Action<KeyStateForm>,
) -> Result<Redirect, WebError> {
    let (access, project) = project_access(&state, &action.viewer, &org, &slug).await?;
    let form = action.form;
    let change = KeyChange {
        enabled: Some(form.enabled),
        ..KeyChange::default()
    };
    core::projects::update_key(&state.core, &access, &project, &form.key, change).await?;
    let notice = if form.enabled { "key_enabled" } else { "key_disabled" };
    Ok(back_to(&org, &slug, notice, "keys"))
}

#[derive(Deserialize)]
pub struct KeyForm {
    key: String,
}

pub async fn delete_key(
    State(state): State<WebState>,
    Path((org, slug)): Path<(String, String)>,
    action: Action<KeyForm>,
) -> Result<Redirect, WebError> {
    let (access, project) = project_access(&state, &action.viewer, &org, &slug).await?;
    core::projects::delete_key(&state.core, &access, &project, &action.form.key).await?;
    Ok(back_to(&org, &slug, "key_deleted", "keys"))
}

#[derive(Deserialize)]
pub struct ScrubForm {
    #[serde(default)]
    keys: String,
}

/// Replaces the extra scrubbing keys (one per line); ingest's cache is cleared so new events use them.
pub async fn scrub(
    State(state): State<WebState>,
    Path((org, slug)): Path<(String, String)>,
    action: Action<ScrubForm>,
) -> Result<Redirect, WebError> {
    let (access, project) = project_access(&state, &action.viewer, &org, &slug).await?;
    let Some(keys) = scrub_key_lines(&action.form.keys) else {
        return Ok(back_to(&org, &slug, "too_many_keys", "scrubbing"));
    };
    core::projects::set_scrub_keys(&state.core, &access, &project, &keys).await?;
    Ok(back_to(&org, &slug, "scrub", "scrubbing"))
}

/// The non-empty lines, trimmed and without repeats; `None` when there are too many or one is too long.
fn scrub_key_lines(text: &str) -> Option<Vec<String>> {
    let mut keys: Vec<String> = Vec::new();
    for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
        if line.chars().count() > MAX_SCRUB_KEY_CHARS {
            return None;
        }
        if !keys.iter().any(|key| key == line) {
            keys.push(line.to_owned());
        }
    }
    (keys.len() <= MAX_SCRUB_KEYS).then_some(keys)
}
