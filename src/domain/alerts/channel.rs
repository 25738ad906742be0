//! Notification channels: where a rule's messages go. Their settings hold secrets (SMTP passwords, webhook
//! URLs, signing keys, PagerDuty routing keys), so `Debug` redacts them and [`ChannelConfig::masked`] is what
//! clients ever see.

use crate::domain::ChannelId;
use crate::domain::OrganizationId;
use std::fmt;

use serde::{Deserialize, Serialize};

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain text (a relay on the same host or network).
    None,
    /// Plain connection upgraded with STARTTLS (usually port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (usually port 465).
    Tls,
}

impl TlsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::None => "none",
            TlsMode::Starttls => "starttls",
            TlsMode::Tls => "tls",
        }
    }

    pub fn parse(text: &str) -> Option<TlsMode> {
        [TlsMode::None, TlsMode::Starttls, TlsMode::Tls]
            .into_iter()
            .find(|mode| mode.as_str() == text)
    }
}

/// Email over SMTP. Without a host the server's own SMTP settings are used; without recipients the
/// members of the alerting project's organization receive it.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailSettings {
    #[serde(default)]
    pub smtp_host: Option<String>,
    #[serde(default)]
    pub smtp_port: Option<u16>,
    #[serde(default)]
    pub tls: TlsMode,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Vec<String>,
}

/// A webhook whose URL is its secret (Slack, Discord and Teams URLs carry their token).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookSettings {
    pub url: String,
}

/// The generic JSON webhook, signed with a per-channel secret. Its URL is a secret too: receivers often
/// carry a token in the path or query.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedHookSettings {
    pub url: String,
    /// Empty in a request: generated on creation, kept on an update.
    #[serde(default)]
    pub secret: String,
}

/// PagerDuty's Events API v2 (US service region); the EU region has its own host.
pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// A PagerDuty service's Events API v2 integration. The routing key is the secret: whoever holds it can
/// open incidents on that service.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PagerDutySettings {
    pub routing_key: String,
    /// Another Events API endpoint (PagerDuty's EU region, a relay); `None` is [`PAGERDUTY_EVENTS_URL`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_url: Option<String>,
}

impl PagerDutySettings {
    /// Where events are posted.
    pub fn events_url(&self) -> &str {
        self.events_url.as_deref().unwrap_or(PAGERDUTY_EVENTS_URL)
    }
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Debug)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ChannelConfig {
    Email(EmailSettings),
    Slack(HookSettings),
    Discord(HookSettings),
    Teams(HookSettings),
    Webhook(SignedHookSettings),
    PagerDuty(PagerDutySettings),
}

/// A stored channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub id: ChannelId,
    pub organization_id: OrganizationId,
    pub name: String,
    /// The organization's "email to project members" channel that default rules use.
    pub builtin: bool,
    pub config: ChannelConfig,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    #[error("a channel needs a name of 1–200 characters")]
    Name,
    #[error("the URL must be an absolute http:// or https:// URL")]
    Url,
    #[error("a recipient or sender is not an email address: {0}")]
    Address(String),
    #[error("the SMTP port must be 1–65535")]
    Port,
    #[error("a PagerDuty routing key is the 32-character integration key of an Events API v2 integration")]
    RoutingKey,
}

pub const KINDS: [&str; 6] = ["email", "slack", "discord", "teams", "webhook", "pagerduty"];

/// How long PagerDuty's integration (routing) keys are.
const ROUTING_KEY_CHARS: usize = 32;

const MASK: &str = "••••••••";

impl ChannelConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            ChannelConfig::Email(_) => "email",
            ChannelConfig::Slack(_) => "slack",
            ChannelConfig::Discord(_) => "discord",
            ChannelConfig::Teams(_) => "teams",
            ChannelConfig::Webhook(_) => "webhook",
            ChannelConfig::PagerDuty(_) => "pagerduty",
        }
    }

    /// The settings with every secret replaced by a mask that shows at most its last four characters.
    pub fn masked(&self) -> ChannelConfig {
        let mut copy = self.clone();
        match &mut copy {
            ChannelConfig::Email(email) => {
                if email.password.is_some() {
                    email.password = Some(MASK.into());
                }
            }
            ChannelConfig::Slack(hook) | ChannelConfig::Discord(hook) | ChannelConfig::Teams(hook) => {
                hook.url = mask_url(&hook.url);
            }
            ChannelConfig::Webhook(hook) => {
                hook.url = mask_url(&hook.url);
                hook.secret = mask_tail(&hook.secret);
            }
            ChannelConfig::PagerDuty(pagerduty) => pagerduty.routing_key = mask_tail(&pagerduty.routing_key),
        }
        copy
    }

    /// An edit keeps the stored secret wherever the form sent it back empty or still masked.
    pub fn keeping_secrets_of(mut self, stored: &ChannelConfig) -> ChannelConfig {
        let kept = |new: &str| new.is_empty() || new.contains(MASK);
        match (&mut self, stored) {
            (ChannelConfig::Email(new), ChannelConfig::Email(old)) if new.password.as_deref().map_or(true, kept) => {
                new.password = old.password.clone();
            }
            (ChannelConfig::Slack(new), ChannelConfig::Slack(old))
            | (ChannelConfig::Discord(new), ChannelConfig::Discord(old))
            | (ChannelConfig::Teams(new), ChannelConfig::Teams(old))
                if kept(&new.url) =>
            {
                new.url = old.url.clone();
            }
            (ChannelConfig::Webhook(new), ChannelConfig::Webhook(old)) => {
                if kept(&new.url) {
                    new.url = old.url.clone();
                }
                if kept(&new.secret) {
                    new.secret = old.secret.clone();
                }
            }
            (ChannelConfig::PagerDuty(new), ChannelConfig::PagerDuty(old)) if kept(&new.routing_key) => {
                new.routing_key = old.routing_key.clone();
            }
            _ => {}
        }
        self
    }

    /// Checks and tidies the settings a user sent.
    pub fn validate(mut self) -> Result<ChannelConfig, ChannelError> {
        match &mut self {
            ChannelConfig::Email(email) => {
                let blank_to_none = |v: &mut Option<String>| {
                    *v = v.take().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
                };
                blank_to_none(&mut email.smtp_host);
                blank_to_none(&mut email.username);
                blank_to_none(&mut email.from);
                if email.password.as_deref() == Some("") {
                    email.password = None;
                }
                if email.smtp_port == Some(0) {
                    return Err(ChannelError::Port);
                }
                email.to = email
                    .to
                    .iter()
                    .map(|a| a.trim().to_owned())
                    .filter(|a| !a.is_empty())
                    .collect();
                for address in email.to.iter().chain(email.from.iter()) {
                    if !looks_like_address(address) {
                        return Err(ChannelError::Address(address.clone()));
                    }
                }
            }
            ChannelConfig::Slack(hook) | ChannelConfig::Discord(hook) | ChannelConfig::Teams(hook) => {
                hook.url = checked_url(&hook.url)?;
            }
            ChannelConfig::Webhook(hook) => {
                hook.url = checked_url(&hook.url)?;
                hook.secret = hook.secret.trim().to_owned();
            }
            ChannelConfig::PagerDuty(pagerduty) => {
                pagerduty.routing_key = checked_routing_key(&pagerduty.routing_key)?;
                pagerduty.events_url = match pagerduty.events_url.as_deref().map(str::trim) {
                    None | Some("") => None,
                    Some(url) => Some(checked_url(url)?),
                };
            }
        }
        Ok(self)
    }

    /// The generic webhook's secret, when it has none yet.
    pub fn with_secret_if_missing(mut self, fresh_secret: impl FnOnce() -> String) -> ChannelConfig {
        if let ChannelConfig::Webhook(hook) = &mut self {
            if hook.secret.is_empty() {
                hook.secret = fresh_secret();
            }
        }
        self
    }
}

/// A display name is 1–200 characters once trimmed.
pub fn checked_name(name: &str) -> Result<String, ChannelError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ChannelError::Name);
    }
    Ok(name.to_owned())
}

fn checked_url(text: &str) -> Result<String, ChannelError> {
    let url = url::Url::parse(text.trim()).map_err(|_| ChannelError::Url)?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ChannelError::Url);
    }
    Ok(url.to_string())
}

/// Integration keys are 32 letters and digits; anything else would only fail later, at 3 a.m.
fn checked_routing_key(text: &str) -> Result<String, ChannelError> {
    let key = text.trim();
    if key.chars().count() != ROUTING_KEY_CHARS || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(ChannelError::RoutingKey);
    }
    Ok(key.to_owned())
}

fn looks_like_address(text: &str) -> bool {
    let bare = text
        .rsplit_once('<')
        .map_or(text, |(_, rest)| rest.trim_end_matches('>'));
    let well_formed = match bare.split_once('@') {
        Some((local, domain)) => !local.is_empty() && (domain.contains('.') || domain == "localhost"),
        None => false,
    };
    well_formed && !text.chars().any(char::is_control)
}

/// `https://hooks.slack.com/••••••••1234`: the host tells which service, the tail which hook; the path and
/// query, where tokens live, are never shown.
fn mask_url(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(url) => format!(
            "{}://{}/{}",
            url.scheme(),
            url.host_str().unwrap_or_default(),
            mask_tail(text)
        ),
        Err(_) => MASK.into(),
    }
}

fn mask_tail(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 12 {
        return MASK.into();
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{MASK}{tail}")
}

impl fmt::Debug for EmailSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailSettings")
            .field("smtp_host", &self.smtp_host)
            .field("smtp_port", &self.smtp_port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .field("to", &self.to)
            .finish()
    }
}

impl fmt::Debug for HookSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookSettings").field("url", &"<redacted>").finish()
    }
}

impl fmt::Debug for SignedHookSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedHookSettings")
            .field("url", &"<redacted>")
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl fmt::Debug for PagerDutySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PagerDutySettings")
            .field("routing_key", &"<redacted>")
            .field("events_url", &self.events_url)
            .finish()
    }
}
