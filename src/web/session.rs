//! Who is looking: the session cookie, the signed-in user's memberships, and the CSRF check every form
//! passes. Sessions live in the database (only the cookie's SHA-256), so a restart keeps people signed in.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::request::Parts;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::core::Access;
use crate::domain::accounts::{hash_token, Role};
use crate::request_body::read_capped;
use crate::store::organizations::{self, Organization};
use crate::store::sessions::{self, Session};

use super::error::WebError;
use super::WebState;

pub const SESSION_COOKIE: &str = "faultline_session";
/// The double-submit token of forms shown before anyone is signed in (sign-in and first-run).
pub const PRE_SESSION_COOKIE: &str = "faultline_csrf";
pub const SESSION_LIFETIME_MS: i64 = 14 * 24 * 3600 * 1000;
const MAX_FORM_BYTES: usize = 64 * 1024;

/// A signed-in user and the organizations they belong to.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub session: Session,
    pub memberships: Vec<(Organization, Role)>,
}

impl Viewer {
    /// The organization with this slug and the viewer's role in it; not found when they are not a member.
    pub fn org(&self, slug: &str) -> Result<(Organization, Role), WebError> {
        self.memberships
            .iter()
            .find(|(organization, _)| organization.slug == slug)
            .cloned()
            .ok_or(WebError::NotFound)
    }

    /// What the viewer may do in the organization with this slug; not found when they are not a member.
    pub fn access(&self, slug: &str) -> Result<Access, WebError> {
        let (organization, role) = self.org(slug)?;
        Ok(Access::member(organization, role))
    }

    pub fn csrf(&self) -> &str {
        &self.session.csrf_token
    }
}

impl FromRequestParts<WebState> for Viewer {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Viewer, WebError> {
        let sign_in = || WebError::SignInRequired {
            next: parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
        };
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(cookie) = jar.get(SESSION_COOKIE) else {
            return Err(sign_in());
        };
        let session = sessions::find_session(&state.db, &hash_token(cookie.value()))
            .await?
            .ok_or_else(sign_in)?;
        let memberships = organizations::memberships(&state.db, session.user.id).await?;
        Ok(Viewer { session, memberships })
    }
}

impl OptionalFromRequestParts<WebState> for Viewer {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Option<Viewer>, WebError> {
        match <Viewer as FromRequestParts<WebState>>::from_request_parts(parts, state).await {
            Ok(viewer) => Ok(Some(viewer)),
            Err(WebError::SignInRequired { .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }
}

/// A form posted by a signed-in user whose CSRF token matched: the viewer and the parsed fields.
pub struct Action<T> {
    pub viewer: Viewer,
    pub form: T,
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

impl<T: DeserializeOwned> FromRequest<WebState> for Action<T> {
    type Rejection = WebError;

    async fn from_request(request: Request, state: &WebState) -> Result<Self, WebError> {
        let (mut parts, body) = request.into_parts();
        let viewer = <Viewer as FromRequestParts<WebState>>::from_request_parts(&mut parts, state).await?;
        let bytes = read_capped(body, MAX_FORM_BYTES)
            .await
            .map_err(|_| WebError::BadRequest("the form could not be read".into()))?;
        check_csrf(&bytes, viewer.csrf())?;
        let form = serde_html_form::from_bytes(&bytes)
            .map_err(|error| WebError::BadRequest(format!("invalid form: {error}")))?;
        Ok(Action { viewer, form })
    }
}

/// Reads a form posted before sign-in, checking its token against the pre-session cookie.
pub async fn read_pre_session_form<T: DeserializeOwned>(
    jar: &CookieJar,
    body: axum::body::Body,
) -> Result<T, WebError> {
    let bytes = read_capped(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| WebError::BadRequest("the form could not be read".into()))?;
    let expected = jar
        .get(PRE_SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    if expected.is_empty() {
        return Err(WebError::Forbidden("The form expired. Reload the page and try again."));
    }
    check_csrf(&bytes, &expected)?;
    serde_html_form::from_bytes(&bytes).map_err(|error| WebError::BadRequest(format!("invalid form: {error}")))
}

fn check_csrf(form: &[u8], expected: &str) -> Result<(), WebError> {
    let given: CsrfField = serde_html_form::from_bytes(form)
        .map_err(|_| WebError::Forbidden("The form expired. Reload the page and try again."))?;
    // Compares hashes so the time taken says nothing about how much of the token was right.
    if hash_token(&given.csrf) == hash_token(expected) && !expected.is_empty() {
        Ok(())
    } else {
        Err(WebError::Forbidden("The form expired. Reload the page and try again."))
    }
}

/// A random value for cookies and CSRF tokens: 32 bytes, hex.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

/// A cookie only this site's pages can use: HttpOnly, SameSite=Lax, Secure behind https.
pub fn site_cookie(name: &'static str, value: String, secure: bool, max_age_secs: i64) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(time::Duration::seconds(max_age_secs))
        .build()
}

/// The client's address: the first `X-Forwarded-For` entry behind a trusted proxy, else the peer.
#[derive(Debug, Clone)]
pub struct ClientAddress(pub String);

/// Whether the ignored `X-Forwarded-For` was warned about: once per process is enough to be noticed.
static FORWARDED_FOR_WARNED: AtomicBool = AtomicBool::new(false);

impl FromRequestParts<WebState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<ClientAddress, Self::Rejection> {
        let forwarded_for = parts.headers.get("x-forwarded-for");
        if forwarded_for.is_some() && !state.trust_proxy {
            warn_forwarded_for_ignored(&FORWARDED_FOR_WARNED);
        }
        let forwarded = forwarded_for
            .filter(|_| state.trust_proxy)
            .and_then(|list| list.to_str().ok())
            .and_then(|list| list.split(',').next())
            .and_then(|ip| ip.trim().parse::<IpAddr>().ok());
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let address = forwarded
            .or(peer)
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        Ok(ClientAddress(address))
    }
}

/// Logs the warning the first time only; true when it did.
fn warn_forwarded_for_ignored(warned: &AtomicBool) -> bool {
    let first = !warned.swap(true, Ordering::Relaxed);
    if first {
        tracing::warn!(
            "X-Forwarded-For is ignored because FAULTLINE_TRUST_PROXY is off; every client behind the proxy \
             shares one address"
        );
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ignored_forwarded_for_is_warned_about_once() {
        let warned = AtomicBool::new(false);
        assert!(warn_forwarded_for_ignored(&warned));
        assert!(!warn_forwarded_for_ignored(&warned));
        assert!(!warn_forwarded_for_ignored(&warned));
    }
}
