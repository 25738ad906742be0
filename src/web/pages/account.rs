//! The signed-in user's own settings: change the password (signing out their other sessions) and
//! API tokens (created with chosen scopes, the token shown once, revoked). Every change is audited.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use crate::core;
use crate::core::sign_in_throttle;
use crate::domain::accounts::{verify_password, Scope, ScopeSet, MIN_PASSWORD_CHARS};
use crate::domain::sign_in_throttle::attempt_keys;
use crate::store::accounts::{self, TokenListing};
use crate::store::{now_ms, sessions};
use crate::web::format::{moment, Moment};
use crate::web::session::{Action, ClientAddress, Viewer};
use crate::web::{Nav, WebError, WebState};

use super::{render, Notice, NoticeParam};

const NOTICES: [(&str, &str, bool); 7] = [
    (
        "password_changed",
        "Password changed. Your other sessions were signed out.",
        false,
    ),
    ("wrong_password", "The current password is wrong.", true),
    ("too_short", "The new password needs at least 8 characters.", true),
    ("mismatch", "The two new passwords differ.", true),
    ("token_revoked", "Token revoked.", false),
    ("token_name", "Give the token a name (up to 100 characters).", true),
    ("no_scopes", "Choose at least one scope for the token.", true),
];

/// Scopes ticked in the creation form: enough for sentry-cli to upload releases and read issues.
const DEFAULT_SCOPES: [Scope; 4] = [
    Scope::OrgRead,
    Scope::ProjectRead,
    Scope::ProjectReleases,
    Scope::EventRead,
];
const MAX_TOKEN_NAME_CHARS: usize = 100;

pub struct TokenRow {
    pub token: TokenListing,
    pub created: Moment,
    pub last_used: Option<Moment>,
}

#[derive(Template)]
#[template(path = "pages/account.html")]
struct AccountPage {
    nav: Nav,
    notice: Option<Notice>,
    tokens: Vec<TokenRow>,
    /// `(scope, ticked by default)` for the creation form.
    scopes: Vec<(&'static str, bool)>,
    /// A token just created: its plaintext, shown on this response only.
    new_token: Option<String>,
}

async fn account_page(
    state: &WebState,
    viewer: &Viewer,
    notice: Option<Notice>,
    new_token: Option<String>,
) -> Result<impl IntoResponse, WebError> {
    let now = now_ms();
    let tokens = accounts::list_tokens(&state.db, viewer.session.user.id)
        .await?
        .into_iter()
        .map(|token| TokenRow {
            created: moment(token.created_at, now),
            last_used: token.last_used_at.map(|at| moment(at, now)),
            token,
        })
        .collect();
    render(&AccountPage {
        nav: Nav::for_viewer(viewer, "Account", None),
        notice,
        tokens,
        scopes: Scope::ALL
            .iter()
            .map(|s| (s.as_str(), DEFAULT_SCOPES.contains(s)))
            .collect(),
        new_token,
    })
}

pub async fn page(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(notice): Query<NoticeParam>,
) -> Result<impl IntoResponse, WebError> {
    account_page(&state, &viewer, notice.lookup(&NOTICES), None).await
}

fn back(notice: &str, section: &str) -> Redirect {
    Redirect::to(&format!("/settings/account/?notice={notice}#{section}"))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
    new_password_again: String,
}

/// Wrong current passwords count as failed sign-ins, so a borrowed session cannot guess the password.
pub async fn change_password(
    State(state): State<WebState>,
    ClientAddress(address): ClientAddress,
    action: Action<PasswordForm>,
) -> Result<Redirect, WebError> {
    let (viewer, form) = (action.viewer, action.form);
    let user = &viewer.session.user;
    let keys = attempt_keys(&user.email, &address);
    if let Some(wait) = sign_in_throttle::wait_before_attempt(&state.core, &keys).await? {
        return Err(WebError::TooManyAttempts(wait));
    }
    let (_, stored) = accounts::find_credentials(&state.db, &user.email)
        .await?
        .ok_or(WebError::NotFound)?;
    let current = form.current_password;
    if !blocking(move || verify_password(&current, &stored)).await? {
        sign_in_throttle::attempt_failed(&state.core, &keys).await?;
        sessions::record_audit(
            &state.db,
            Some(user.id),
            &user.email,
            &address,
            "password_change_failed",
            "",
        )
        .await?;
        return Ok(back("wrong_password", "password"));
    }
    if form.new_password.chars().count() < MIN_PASSWORD_CHARS {
        return Ok(back("too_short", "password"));
    }
    if form.new_password != form.new_password_again {
        return Ok(back("mismatch", "password"));
    }
    core::accounts::change_password(&state.core, user.id, form.new_password, &viewer.session.token_hash).await?;
    sessions::record_audit(&state.db, Some(user.id), &user.email, &address, "password_changed", "").await?;
    Ok(back("password_changed", "password"))
}

/// Argon2 takes tens of milliseconds of CPU: off the async workers.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, WebError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| WebError::BadRequest("The password could not be checked.".into()))
}

#[derive(Deserialize)]
pub struct NewTokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: Vec<String>,
}

/// Creates a token and answers with the page itself, the plaintext in it: it is never put in a URL or
/// cookie and cannot be shown again (only its hash is kept).
pub async fn create_token(
    State(state): State<WebState>,
    ClientAddress(address): ClientAddress,
    action: Action<NewTokenForm>,
) -> Result<axum::response::Response, WebError> {
    let (viewer, form) = (action.viewer, action.form);
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > MAX_TOKEN_NAME_CHARS {
        return Ok(back("token_name", "tokens").into_response());
    }
    let scopes = form
        .scope
        .iter()
        .map(|s| Scope::parse(s))
        .collect::<Result<ScopeSet, _>>()
        .map_err(|e| WebError::BadRequest(e.to_string()))?;
    if scopes.is_empty() {
        return Ok(back("no_scopes", "tokens").into_response());
    }
    let user = &viewer.session.user;
    let (id, token) = core::accounts::create_token(&state.core, user.id, name, &scopes).await?;
    let detail = format!("token {id} \"{name}\": {}", scopes.to_text());
    sessions::record_audit(
        &state.db,
        Some(user.id),
        &user.email,
        &address,
        "token_created",
        &detail,
    )
    .await?;
    Ok(account_page(&state, &viewer, None, Some(token.plaintext))
        .await?
        .into_response())
}

#[derive(Deserialize)]
pub struct RevokeForm {
    token_id: i64,
}

/// Revokes one of the viewer's own tokens; another user's token id is a 404.
pub async fn revoke_token(
    State(state): State<WebState>,
    ClientAddress(address): ClientAddress,
    action: Action<RevokeForm>,
) -> Result<Redirect, WebError> {
    let user = &action.viewer.session.user;
    let id = action.form.token_id;
    core::accounts::revoke_token(&state.core, Some(user.id), id).await?;
    let detail = format!("token {id}");
    sessions::record_audit(
        &state.db,
        Some(user.id),
        &user.email,
        &address,
        "token_revoked",
        &detail,
    )
    .await?;
    Ok(back("token_revoked", "tokens"))
}
