//! Signing in and out, the first-run page that creates the first admin, and the audit log.

use crate::domain::UserId;
use std::sync::LazyLock;

use askama::Template;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar};
use serde::Deserialize;

use crate::core::sign_in_throttle;
use crate::core::{self, accounts::NewUser};
use crate::domain::accounts::{
    hash_password, hash_token, landing_after_sign_in, verify_password, DEFAULT_LANDING, MIN_PASSWORD_CHARS,
};
use crate::domain::sign_in_throttle::attempt_keys;
use crate::store::accounts;
use crate::store::now_ms;
use crate::store::sessions::{self, AuditEntry};
use crate::web::format::{moment, Moment};
use crate::web::session::{
    random_token, read_pre_session_form, site_cookie, Action, ClientAddress, Viewer, PRE_SESSION_COOKIE,
    SESSION_COOKIE, SESSION_LIFETIME_MS,
};
use crate::web::{Nav, WebError, WebState};

use super::render;

/// A hash to check unknown e-mail addresses against, so an unknown account takes as long as a wrong password.
static DECOY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password("not anybody's password").expect("hashing a constant succeeds"));

#[derive(Template)]
#[template(path = "pages/login.html")]
struct LoginPage {
    nav: Nav,
    csrf: String,
    email: String,
    next: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/setup.html")]
struct SetupPage {
    nav: Nav,
    csrf: String,
    email: String,
    name: String,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct NextParam {
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
pub struct SetupForm {
    email: String,
    #[serde(default)]
    name: String,
    password: String,
    password_again: String,
}

#[derive(Deserialize)]
pub struct NoFields {}

pub async fn home(State(state): State<WebState>, viewer: Option<Viewer>) -> Result<Redirect, WebError> {
    match viewer {
        Some(viewer) => Ok(match viewer.memberships.first() {
            Some((organization, _)) => Redirect::to(&format!("/organizations/{}/", organization.slug)),
            None => Redirect::to("/settings/account/"),
        }),
        None if accounts::count_users(&state.db).await? == 0 => Ok(Redirect::to("/setup")),
        None => Ok(Redirect::to("/login")),
    }
}

pub async fn login_page(
    State(state): State<WebState>,
    jar: CookieJar,
    Query(params): Query<NextParam>,
) -> Result<Response, WebError> {
    if accounts::count_users(&state.db).await? == 0 {
        return Ok(Redirect::to("/setup").into_response());
    }
    let (jar, csrf) = pre_session_token(&state, jar);
    let page = LoginPage {
        nav: Nav::anonymous("Sign in"),
        csrf,
        email: String::new(),
        next: landing_after_sign_in(&params.next).to_owned(),
        error: None,
    };
    Ok((jar, render(&page)?).into_response())
}

pub async fn login(
    State(state): State<WebState>,
    ClientAddress(address): ClientAddress,
    jar: CookieJar,
    body: Body,
) -> Result<Response, WebError> {
    let form: LoginForm = read_pre_session_form(&jar, body).await?;
    let keys = attempt_keys(&form.email, &address);
    if let Some(wait) = sign_in_throttle::wait_before_attempt(&state.core, &keys).await? {
        sessions::record_audit(&state.db, None, &form.email, &address, "login_throttled", "").await?;
        return Err(WebError::TooManyAttempts(wait));
    }
    let credentials = accounts::find_credentials(&state.db, &form.email).await?;
    let (user, hash) = match credentials {
        Some((user, hash)) => (Some(user), hash),
        None => (None, DECOY_HASH.clone()),
    };
    let password = form.password.clone();
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let Some(user) = user.filter(|_| matches) else {
        sign_in_throttle::attempt_failed(&state.core, &keys).await?;
        sessions::record_audit(
            &state.db,
            None,
            &form.email,
            &address,
            "login_failed",
            "wrong e-mail or password",
        )
        .await?;
        let csrf = jar
            .get(PRE_SESSION_COOKIE)
            .map(|c| c.value().to_owned())
            .unwrap_or_default();
        let page = LoginPage {
            nav: Nav::anonymous("Sign in"),
            csrf,
            email: form.email,
            next: landing_after_sign_in(&form.next).to_owned(),
            error: Some("Wrong e-mail address or password.".to_owned()),
        };
        return Ok((StatusCode::UNAUTHORIZED, render(&page)?).into_response());
    };
    sign_in_throttle::attempt_succeeded(&state.core, &keys).await?;
    sessions::record_audit(&state.db, Some(user.id), &user.email, &address, "login", "").await?;
    let jar = start_session(&state, jar, user.id).await?;
    Ok((jar, redirect_after_sign_in(&form.next)).into_response())
}

pub async fn logout(
    State(state): State<WebState>,
    ClientAddress(address): ClientAddress,
    jar: CookieJar,
    action: Action<NoFields>,
) -> Result<Response, WebError> {
    let user = &action.viewer.session.user;
    sessions::delete_session(&state.db, &action.viewer.session.token_hash).await?;
    sessions::record_audit(&state.db, Some(user.id), &user.email, &address, "logout", "").await?;
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    Ok((jar, Redirect::to("/login")).into_response())
}

pub async fn setup_page(State(state): State<WebState>, jar: CookieJar) -> Result<Response, WebError> {
    if accounts::count_users(&state.db).await? > 0 {
        return Ok(Redirect::to("/login").into_response());
    }
    let (jar, csrf) = pre_session_token(&state, jar);
    let page = SetupPage {
        nav: Nav::anonymous("Welcome to Faultline"),
        csrf,
        email: String::new(),
        name: String::new(),
        error: None,
    };
    Ok((jar, render(&page)?).into_response())
}

pub async fn setup(
    State(state): State<WebState>,
    ClientAddress(address): ClientAddress,
    jar: CookieJar,
    body: Body,
) -> Result<Response, WebError> {
    let form: SetupForm = read_pre_session_form(&jar, body).await?;
    if accounts::count_users(&state.db).await? > 0 {
        return Ok(Redirect::to("/login").into_response());
    }
    if let Some(problem) = setup_problem(&form) {
        let page = SetupPage {
            nav: Nav::anonymous("Welcome to Faultline"),
            csrf: jar
                .get(PRE_SESSION_COOKIE)
                .map(|c| c.value().to_owned())
                .unwrap_or_default(),
            email: form.email,
            name: form.name,
            error: Some(problem.to_owned()),
        };
        return Ok((StatusCode::BAD_REQUEST, render(&page)?).into_response());
    }
    let name = Some(form.name.trim()).filter(|name| !name.is_empty());
    let new_user = NewUser {
        email: &form.email,
        name,
        password: &form.password,
        admin: true,
        organization: None,
        role: None,
    };
    let (user, _, _) = core::accounts::create_user(&state.core, new_user).await?;
    sessions::record_audit(
        &state.db,
        Some(user.id),
        &user.email,
        &address,
        "setup",
        "first admin created",
    )
    .await?;
    let jar = start_session(&state, jar, user.id).await?;
    Ok((jar, Redirect::to("/")).into_response())
}

fn setup_problem(form: &SetupForm) -> Option<&'static str> {
    if !form.email.contains('@') {
        Some("Enter an e-mail address.")
    } else if form.password.chars().count() < MIN_PASSWORD_CHARS {
        Some("The password needs at least 8 characters.")
    } else if form.password != form.password_again {
        Some("The two passwords differ.")
    } else {
        None
    }
}

#[derive(Template)]
#[template(path = "pages/audit.html")]
struct AuditPage {
    nav: Nav,
    entries: Vec<(AuditEntry, Moment)>,
}

pub async fn audit_log(State(state): State<WebState>, viewer: Viewer) -> Result<impl IntoResponse, WebError> {
    if !viewer.session.user.is_admin {
        return Err(WebError::Forbidden("Only administrators can read the audit log."));
    }
    let now = now_ms();
    let entries = sessions::recent_audit(&state.db, 500)
        .await?
        .into_iter()
        .map(|entry| {
            let at = moment(entry.created_at, now);
            (entry, at)
        })
        .collect();
    render(&AuditPage {
        nav: Nav::for_viewer(&viewer, "Audit log", None),
        entries,
    })
}

async fn start_session(state: &WebState, jar: CookieJar, user_id: UserId) -> Result<CookieJar, WebError> {
    let token = random_token();
    sessions::create_session(
        &state.db,
        &hash_token(&token),
        user_id,
        &random_token(),
        SESSION_LIFETIME_MS,
    )
    .await?;
    let cookie = site_cookie(SESSION_COOKIE, token, state.secure_cookies, SESSION_LIFETIME_MS / 1000);
    Ok(jar.add(cookie))
}

/// The pre-session CSRF cookie (made when missing) and its value.
fn pre_session_token(state: &WebState, jar: CookieJar) -> (CookieJar, String) {
    if let Some(existing) = jar.get(PRE_SESSION_COOKIE).map(|c| c.value().to_owned()) {
        return (jar, existing);
    }
    let token = random_token();
    let jar = jar.add(site_cookie(
        PRE_SESSION_COOKIE,
        token.clone(),
        state.secure_cookies,
        24 * 3600,
    ));
    (jar, token)
}

/// The answer to a successful sign-in. The landing is visible ASCII, so the header cannot fail; were it
/// ever to, the default landing beats a 500.
fn redirect_after_sign_in(next: &str) -> Response {
    match HeaderValue::from_str(landing_after_sign_in(next)) {
        Ok(location) => (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response(),
        Err(_) => Redirect::to(DEFAULT_LANDING).into_response(),
    }
}
