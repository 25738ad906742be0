//! Inbound filters, as Sentry's project settings name them: events from browser extensions, from
//! localhost, from web crawlers and from legacy browsers, and events whose message or release matches a
//! pattern. A filtered event is answered 200 and counted as a `filtered` outcome with the filter's id as
//! the reason, never stored.

mod browsers;
mod patterns;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::domain::event::Event;

pub use patterns::{InvalidPattern, Patterns};

/// The filters Sentry can switch on and off (`/filters/{id}/`).
pub const TOGGLES: [&str; 4] = ["browser-extensions", "localhost", "web-crawlers", "legacy-browsers"];

/// A project's filters, as stored (JSON) and as the ingest cache holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundFilters {
    #[serde(default)]
    pub browser_extensions: bool,
    #[serde(default)]
    pub localhost: bool,
    #[serde(default)]
    pub web_crawlers: bool,
    #[serde(default)]
    pub legacy_browsers: bool,
    /// Glob patterns (`*` any text) matched against the exception's `Type: value` or the message.
    #[serde(default)]
    pub error_messages: Patterns,
    /// Glob patterns matched against the release.
    #[serde(default)]
    pub releases: Patterns,
}

impl InboundFilters {
    /// Whether a toggle is on; `None` for a name that is not one.
    pub fn toggle(&self, id: &str) -> Option<bool> {
        Some(match id {
            "browser-extensions" => self.browser_extensions,
            "localhost" => self.localhost,
            "web-crawlers" => self.web_crawlers,
            "legacy-browsers" => self.legacy_browsers,
            _ => return None,
        })
    }

    /// Switches a toggle; `false` for a name that is not one.
    pub fn set_toggle(&mut self, id: &str, on: bool) -> bool {
        let slot = match id {
            "browser-extensions" => &mut self.browser_extensions,
            "localhost" => &mut self.localhost,
            "web-crawlers" => &mut self.web_crawlers,
            "legacy-browsers" => &mut self.legacy_browsers,
            _ => return false,
        };
        *slot = on;
        true
    }

    pub fn is_empty(&self) -> bool {
        *self == InboundFilters::default()
    }

    /// The first filter the event falls under, by its id (the outcome's reason); `None` to keep it.
    pub fn matches(&self, event: &Event) -> Option<&'static str> {
        let user_agent = browsers::user_agent(event);
        if self.browser_extensions && browsers::from_extension(event) {
            return Some("browser-extensions");
        }
        if self.localhost && from_localhost(event) {
            return Some("localhost");
        }
        if self.web_crawlers && user_agent.is_some_and(browsers::is_crawler) {
            return Some("web-crawlers");
        }
        if self.legacy_browsers && user_agent.is_some_and(browsers::is_legacy) {
            return Some("legacy-browsers");
        }
        if self.error_messages.matches_any(&messages(event)) {
            return Some("error-message");
        }
        if event
            .release
            .as_deref()
            .is_some_and(|r| self.releases.matches_any(&[r.to_owned()]))
        {
            return Some("release-version");
        }
        None
    }
}

/// The request came from, or the user is at, a loopback address or `localhost`.
fn from_localhost(event: &Event) -> bool {
    let local_host = |host: &str| matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "::1");
    let url_host = event
        .request
        .as_ref()
        .and_then(|r| r.url.as_deref())
        .and_then(|u| url::Url::parse(u).ok())
        .and_then(|u| u.host_str().map(str::to_owned));
    let ip = event.user.as_ref().and_then(|u| u.ip_address.as_deref());
    url_host.as_deref().is_some_and(local_host) || ip.is_some_and(local_host)
}

/// What message patterns are matched against: each exception's `Type: value`, and the log message.
fn messages(event: &Event) -> Vec<String> {
    let mut texts: Vec<String> = event
        .exception
        .iter()
        .map(|e| match (&e.ty, &e.value) {
            (Some(ty), Some(value)) => format!("{ty}: {value}"),
            (Some(ty), None) => ty.clone(),
            (None, Some(value)) => value.clone(),
            (None, None) => String::new(),
        })
        .filter(|t| !t.is_empty())
        .collect();
    if let Some(message) = event
        .logentry
        .as_ref()
        .and_then(|l| l.formatted.clone().or(l.message.clone()))
    {
        texts.push(message);
    }
    texts
}
