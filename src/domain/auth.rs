//! Ingest credentials (protocol §1, §2): public keys, DSNs and the key an SDK request carries in
//! its headers or query string. Pure parsing; looking the key up is the store's job.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use url::Url;

/// Newest protocol version we speak (§2.2); Relay refuses anything above it.
const PROTOCOL_VERSION: u32 = 7;
/// Keep echoed input short in error messages.
const MAX_ECHOED: usize = 64;

/// A project's public DSN key: 32 hex characters, stored lowercase.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKey(String);

impl PublicKey {
    /// Accepts `<32 hex>` optionally followed by Relay's `.flags` suffix, which is dropped (§1).
    pub fn parse(text: &str) -> Result<PublicKey, AuthError> {
        let key = text.split_once('.').map_or(text, |(key, _flags)| key);
        if key.len() == 32 && key.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            Ok(PublicKey(key.to_ascii_lowercase()))
        } else {
            Err(AuthError::InvalidKey(echo(text)))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A fresh random key: a UUID v4 in its 32-hex simple form.
    pub fn generate() -> PublicKey {
        PublicKey(uuid::Uuid::new_v4().simple().to_string())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `{scheme}://{public_key}@{host}[:{port}]{path_prefix}/{project_id}` (§1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dsn {
    pub scheme: String,
    pub public_key: PublicKey,
    pub host: String,
    /// `None` when absent or the scheme's default port.
    pub port: Option<u16>,
    /// Reverse-proxy mount such as `/sentry`; empty or starting with `/`, never ending with `/`.
    pub path_prefix: String,
    pub project_id: u64,
}

impl Dsn {
    /// Parses a DSN; a legacy secret key (URL password), query and fragment are ignored.
    pub fn parse(text: &str) -> Result<Dsn, AuthError> {
        let invalid = |reason: &str| AuthError::InvalidDsn(format!("{reason}: {}", echo(text)));
        let url = Url::parse(text).map_err(|_| invalid("not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("scheme must be http or https"));
        }
        if url.username().is_empty() {
            return Err(invalid("missing public key"));
        }
        let public_key = PublicKey::parse(url.username())?;
        let host = url.host_str().ok_or_else(|| invalid("missing host"))?;
        // The project id is the last path segment; anything before it is the mount prefix.
        let path = url.path().trim_end_matches('/');
        let (path_prefix, project_id) = path.rsplit_once('/').unwrap_or(("", path));
        if project_id.is_empty() || !project_id.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(invalid("project id must be numeric"));
        }
        let project_id = project_id.parse().map_err(|_| invalid("project id too large"))?;
        Ok(Dsn {
            scheme: url.scheme().to_owned(),
            public_key,
            host: host.to_owned(),
            port: url.port(),
            path_prefix: path_prefix.to_owned(),
            project_id,
        })
    }

    /// The DSN our server hands out for a project, rooted at the server's public base URL.
    pub fn for_project(base_url: &Url, key: &PublicKey, project_id: u64) -> Dsn {
        Dsn {
            scheme: base_url.scheme().to_owned(),
            public_key: key.clone(),
            // Only a base URL without a host (never a valid config) reaches the fallback.
            host: base_url.host_str().unwrap_or("localhost").to_owned(),
            port: base_url.port(),
            path_prefix: base_url.path().trim_end_matches('/').to_owned(),
            project_id,
        }
    }

    pub fn envelope_url(&self) -> String {
        self.api_url("envelope")
    }

    pub fn store_url(&self) -> String {
        self.api_url("store")
    }

    fn api_url(&self, endpoint: &str) -> String {
        format!(
            "{}://{}{}/api/{}/{endpoint}/",
            self.scheme,
            self.authority(),
            self.path_prefix,
            self.project_id
        )
    }

    fn authority(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        }
    }
}

impl fmt::Display for Dsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}@{}{}/{}",
            self.scheme,
            self.public_key,
            self.authority(),
            self.path_prefix,
            self.project_id
        )
    }
}

/// Why a request's credentials were refused before any key lookup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing authorization information")]
    Missing,
    #[error("malformed authorization: {0}")]
    MalformedHeader(String),
    #[error("multiple authorization payloads naming different keys")]
    ConflictingKeys,
    #[error("invalid public key: {0}")]
    InvalidKey(String),
    #[error("unsupported protocol version {0}")]
    UnsupportedVersion(u32),
    #[error("invalid DSN: {0}")]
    InvalidDsn(String),
}

impl AuthError {
    /// §2.4: absent or garbled credentials are 401; understood but unusable ones are 400.
    pub fn status_code(&self) -> u16 {
        match self {
            AuthError::Missing
            | AuthError::MalformedHeader(_)
            | AuthError::ConflictingKeys
            | AuthError::InvalidDsn(_) => 401,
            AuthError::InvalidKey(_) | AuthError::UnsupportedVersion(_) => 400,
        }
    }
}

/// The raw credential carriers of an ingest request.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestCredentials<'a> {
    pub x_sentry_auth: Option<&'a str>,
    pub authorization: Option<&'a str>,
    pub query: Option<&'a str>,
}

/// §2.1/§2.2: the key named by `X-Sentry-Auth`, `Authorization` (`Sentry …` or
/// `Basic base64(key:…)`) or the query's `sentry_key` (only inspected if the query contains
/// `sentry_`). `Ok(None)` when none is present; sources naming different keys → `ConflictingKeys`.
pub fn key_from_request(creds: &RequestCredentials) -> Result<Option<PublicKey>, AuthError> {
    let sources = [
        creds.x_sentry_auth.map(key_from_sentry_header).transpose()?,
        creds.authorization.map(key_from_authorization).transpose()?.flatten(),
        creds.query.map(key_from_query).transpose()?.flatten(),
    ];
    let mut keys = sources.into_iter().flatten();
    let Some(first) = keys.next() else {
        return Ok(None);
    };
    // Stricter than Bugsink, looser than Relay (§2.1): agreeing duplicates are harmless.
    if keys.any(|other| other != first) {
        return Err(AuthError::ConflictingKeys);
    }
    Ok(Some(first))
}

/// `Sentry sentry_version=7, sentry_key=<key>, …`; the scheme is matched case-insensitively.
fn key_from_sentry_header(value: &str) -> Result<PublicKey, AuthError> {
    let params = strip_scheme(value, "sentry")
        .ok_or_else(|| AuthError::MalformedHeader("expected `Sentry` auth scheme".to_owned()))?;
    let pairs = params
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (name.trim(), value.trim()));
    key_from_pairs(pairs)
}

/// Old SDKs put the `Sentry …` grammar in `Authorization`; some proxies use Basic with the key as
/// user name. Other schemes (e.g. a proxy's `Bearer`) are not ours and are ignored.
fn key_from_authorization(value: &str) -> Result<Option<PublicKey>, AuthError> {
    if strip_scheme(value, "sentry").is_some() {
        return key_from_sentry_header(value).map(Some);
    }
    let Some(encoded) = strip_scheme(value, "basic") else {
        return Ok(None);
    };
    let malformed = || AuthError::MalformedHeader("invalid Basic credentials".to_owned());
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let user = decoded.split_once(':').map_or(decoded.as_str(), |(user, _)| user);
    PublicKey::parse(user).map(Some)
}

/// Query auth as used by every JavaScript transport; a query without `sentry_key` carries none.
fn key_from_query(query: &str) -> Result<Option<PublicKey>, AuthError> {
    if !query.contains("sentry_") {
        return Ok(None);
    }
    let pairs: Vec<_> = url::form_urlencoded::parse(query.as_bytes()).collect();
    if !pairs.iter().any(|(name, _)| name == "sentry_key") {
        return Ok(None);
    }
    key_from_pairs(pairs.iter().map(|(name, value)| (name.as_ref(), value.trim()))).map(Some)
}

fn key_from_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Result<PublicKey, AuthError> {
    let mut key = None;
    for (name, value) in pairs {
        match name {
            "sentry_key" => key = Some(value),
            "sentry_version" => check_version(value)?,
            _ => {}
        }
    }
    match key {
        Some(key) if !key.is_empty() => PublicKey::parse(key),
        _ => Err(AuthError::MalformedHeader("missing sentry_key".to_owned())),
    }
}

/// §2.2: only the integer before any `.` counts (`7.0` is 7).
fn check_version(value: &str) -> Result<(), AuthError> {
    let major = value.split_once('.').map_or(value, |(major, _)| major);
    let version: u32 = major
        .parse()
        .map_err(|_| AuthError::MalformedHeader(format!("invalid sentry_version {}", echo(value))))?;
    if version > PROTOCOL_VERSION {
        return Err(AuthError::UnsupportedVersion(version));
    }
    Ok(())
}

/// Returns what follows `scheme` and at least one space, matching the scheme case-insensitively.
fn strip_scheme<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let value = value.trim_start();
    let (name, rest) = value.split_once(char::is_whitespace).unwrap_or((value, ""));
    name.eq_ignore_ascii_case(scheme).then_some(rest)
}

fn echo(text: &str) -> String {
    text.chars().take(MAX_ECHOED).collect()
}

#[cfg(test)]
mod tests;
