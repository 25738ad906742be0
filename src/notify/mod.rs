//! Building and sending alert messages: email over SMTP (lettre), Slack, Discord, Microsoft Teams and a
//! signed generic webhook (reqwest, through a client that refuses private targets).
//!
//! The worker decides *what* to send and *when*; this module only turns an [`AlertMessage`] into one
//! channel's wire format and delivers it once. Errors never carry a webhook URL or a password.

use crate::config::{Config, Secret};
use crate::domain::alerts::channel::{ChannelConfig, TlsMode};
use crate::domain::alerts::FireReason;

/// One issue in a message, with its counts as they are at sending time.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertedIssue {
    pub issue_id: i64,
    /// `WEB-1A`.
    pub short_id: String,
    pub title: String,
    pub culprit: String,
    pub level: String,
    pub reason: FireReason,
    pub environment: Option<String>,
    pub release: Option<String>,
    pub times_seen: i64,
    pub user_count: i64,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    /// Absolute link to the issue page, made from `FAULTLINE_URL`.
    pub url: String,
}

/// What a message is about: one issue, or a digest of several that fired the same rule.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertMessage {
    pub rule_name: String,
    pub organization_slug: String,
    pub project_slug: String,
    pub project_name: String,
    /// Link to the project's issue list.
    pub project_url: String,
    pub issues: Vec<AlertedIssue>,
    /// Sent from the channel page's "send a test notification".
    pub test: bool,
}

impl AlertMessage {
    pub fn is_digest(&self) -> bool {
        self.issues.len() > 1
    }
}

/// One delivery of a message to one channel.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    pub message: &'a AlertMessage,
    /// Stable across retries of this delivery, so a receiver can drop a repeat.
    pub idempotency_key: &'a str,
    /// Who gets an email whose channel names no recipients: the project's organization members.
    pub member_emails: &'a [String],
}

/// Why a delivery failed. The text is safe to store, show and log: no URL, no password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying later: timeouts, refused connections, 429 and 5xx answers, SMTP 4xx replies.
    #[error("{0}")]
    Retry(String),
    /// Retrying cannot help: refused target, bad settings, 4xx answers, SMTP 5xx replies.
    #[error("{0}")]
    Permanent(String),
}

/// The server's own SMTP settings, used by email channels that name no host.
#[derive(Debug, Clone)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: Option<String>,
    pub password: Option<Secret>,
}

#[derive(Debug, Clone)]
pub struct NotifySettings {
    pub smtp: Option<SmtpServer>,
    pub email_from: String,
    /// Operator opt-in to loopback/private/link-local webhook targets.
    pub allow_private_targets: bool,
}

impl NotifySettings {
    pub fn from_config(config: &Config) -> NotifySettings {
        NotifySettings {
            smtp: config.smtp_host.clone().map(|host| SmtpServer {
                host,
                port: config.smtp_port,
                tls: config.smtp_tls,
                username: config.smtp_username.clone(),
                password: config.smtp_password.clone(),
            }),
            email_from: config.email_from.clone(),
            allow_private_targets: config.webhook_allow_private,
        }
    }
}

/// Sends messages; cheap to clone (one shared HTTP client).
#[derive(Clone)]
pub struct Notifier {
    settings: NotifySettings,
}

impl Notifier {
    pub fn new(settings: NotifySettings) -> Notifier {
        Notifier { settings }
    }

    /// Delivers one message to one channel, once.
    pub async fn send(&self, channel: &ChannelConfig, outgoing: Outgoing<'_>) -> Result<(), SendError> {
        let _ = (channel, outgoing, &self.settings);
        Err(SendError::Permanent("sending is not built yet".into()))
    }
}
