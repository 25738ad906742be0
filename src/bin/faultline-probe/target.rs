//! The server under test as the DSN names it: where to connect, which paths to hit, which key is valid.

use std::net::SocketAddr;

use anyhow::{bail, Context, Result};
use reqwest::Url;

/// Everything the scenarios need to reach the server, derived from the DSN.
#[derive(Debug, Clone)]
pub struct Target {
    /// Where raw sockets connect; the scenarios speak HTTP/1.1 by hand over plain TCP.
    pub address: SocketAddr,
    /// `host[:port]` as the DSN spells it, sent as the Host header.
    pub host_header: String,
    /// Path of the envelope endpoint, e.g. `/api/1/envelope/`.
    pub envelope_path: String,
    pub envelope_url: Url,
    pub healthz_url: Url,
    pub public_key: String,
}

impl Target {
    /// `X-Sentry-Auth` carrying `key`.
    pub fn auth_header(key: &str) -> String {
        format!("Sentry sentry_version=7, sentry_key={key}, sentry_client=faultline-probe/0.1")
    }

    /// A well-formed key that no project has: 32 zeros.
    pub fn wrong_key() -> String {
        "0".repeat(32)
    }
}

/// Parses `http://KEY@host:port[/prefix]/PROJECT` and resolves the host.
pub async fn resolve_target(dsn: &str) -> Result<Target> {
    let mut base = Url::parse(dsn).with_context(|| format!("invalid DSN {dsn:?}"))?;
    if base.scheme() != "http" {
        bail!("the probe speaks plain HTTP over TCP: the DSN must be an http:// URL");
    }
    let public_key = base.username().to_owned();
    if public_key.is_empty() {
        bail!("the DSN has no public key (expected http://KEY@host:port/PROJECT)");
    }
    let path = base.path().trim_end_matches('/').to_owned();
    let (prefix, project) = path.rsplit_once('/').context("the DSN has no project id")?;
    if project.is_empty() {
        bail!("the DSN has no project id");
    }
    let host = base.host_str().context("the DSN has no host")?.to_owned();
    let port = base.port_or_known_default().unwrap_or(80);
    let host_header = match base.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.clone(),
    };
    let address = tokio::net::lookup_host((host.as_str(), port))
        .await
        .with_context(|| format!("cannot resolve {host}"))?
        .next()
        .with_context(|| format!("{host} has no address"))?;
    // Cannot fail on an http URL, which always has a host.
    let _ = base.set_username("");
    base.set_query(None);
    base.set_fragment(None);
    let envelope_path = format!("{prefix}/api/{project}/envelope/");
    let mut envelope_url = base.clone();
    envelope_url.set_path(&envelope_path);
    let mut healthz_url = base;
    healthz_url.set_path("/healthz");
    Ok(Target {
        address,
        host_header,
        envelope_path,
        envelope_url,
        healthz_url,
        public_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dsn_yields_address_paths_and_key() {
        let target = resolve_target("http://0123abcd@127.0.0.1:8011/sentry/7")
            .await
            .expect("valid DSN");
        assert_eq!(target.address, "127.0.0.1:8011".parse().unwrap());
        assert_eq!(target.host_header, "127.0.0.1:8011");
        assert_eq!(target.envelope_path, "/sentry/api/7/envelope/");
        assert_eq!(
            target.envelope_url.as_str(),
            "http://127.0.0.1:8011/sentry/api/7/envelope/"
        );
        assert_eq!(target.healthz_url.as_str(), "http://127.0.0.1:8011/healthz");
        assert_eq!(target.public_key, "0123abcd");
    }

    #[tokio::test]
    async fn https_or_keyless_or_projectless_dsn_is_refused() {
        assert!(resolve_target("https://key@127.0.0.1/1").await.is_err());
        assert!(resolve_target("http://127.0.0.1:8000/1").await.is_err());
        assert!(resolve_target("http://key@127.0.0.1:8000/").await.is_err());
    }
}
