//! Building and sending alert messages: email over SMTP (lettre), Slack, Discord, Microsoft Teams, a
//! signed generic webhook and PagerDuty's Events API v2 (reqwest, through a client that refuses private
//! targets).
//!
//! The worker decides *what* to send and *when*; this module only turns an [`AlertMessage`] (issues) or a
//! [`MetricMessage`] (a metric rule's crossing) into one channel's wire format and delivers it once.
//! Errors never carry a webhook URL or a password.

use crate::domain::IssueId;
use std::sync::Arc;

use crate::config::{Config, Secret};
use crate::domain::alerts::channel::{ChannelConfig, PagerDutySettings, TlsMode};
use crate::domain::alerts::FireReason;

pub mod discord;
pub mod email;
pub mod guarded_http;
pub mod metric;
pub mod pagerduty;
pub mod slack;
pub mod summary;
pub mod teams;
pub mod webhook;

use guarded_http::GuardedHttp;
pub use metric::{MetricChange, MetricMessage};

/// One issue in a message, with its counts as they are at sending time.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertedIssue {
    pub issue_id: IssueId,
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

/// A message in every channel's wire format: issue alerts and metric alerts each render themselves, and
/// [`Notifier`] delivers either the same way.
pub trait Render: Sync {
    /// The webhook's `kind` and `X-Faultline-Event`.
    fn kind(&self) -> &'static str;
    fn email(&self) -> email::Mail;
    fn slack(&self) -> serde_json::Value;
    fn discord(&self) -> serde_json::Value;
    fn teams(&self) -> serde_json::Value;
    /// The exact bytes sent, which are also the bytes signed.
    fn webhook(&self, idempotency_key: &str) -> Vec<u8>;
    /// The Events API v2 bodies to post, in order; `None` when PagerDuty cannot be told (see `pagerduty`).
    fn pagerduty(&self, routing_key: &str, idempotency_key: &str) -> Option<Vec<serde_json::Value>>;
}

impl Render for AlertMessage {
    fn kind(&self) -> &'static str {
        summary::kind(self)
    }

    fn email(&self) -> email::Mail {
        email::mail(self)
    }

    fn slack(&self) -> serde_json::Value {
        slack::payload(self)
    }

    fn discord(&self) -> serde_json::Value {
        discord::payload(self)
    }

    fn teams(&self) -> serde_json::Value {
        teams::payload(self)
    }

    fn webhook(&self, idempotency_key: &str) -> Vec<u8> {
        webhook::payload(self, idempotency_key)
    }

    fn pagerduty(&self, routing_key: &str, idempotency_key: &str) -> Option<Vec<serde_json::Value>> {
        Some(pagerduty::issue_events(self, routing_key, idempotency_key))
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
    /// Nothing was tried: this server lacks what the channel needs (see [`NotifySettings::not_configured`]).
    /// The notifier records the delivery as skipped, not failed; only the operator can change this.
    #[error("{0}")]
    NotConfigured(&'static str),
    /// Nothing was sent: the message no longer applies (a PagerDuty trigger whose issues were all resolved
    /// before it went out). Recorded as skipped with the reason.
    #[error("{0}")]
    Moot(&'static str),
}

/// Why a PagerDuty trigger was not sent.
pub const ALREADY_RESOLVED: &str = "the issue was resolved before the page went out";

/// Why an e-mail channel that names no SMTP host cannot send from a server without one. Stored in the
/// delivery log beside the status "skipped", shown on the channels page and returned by the API.
pub const EMAIL_NOT_CONFIGURED: &str =
    "e-mail is not configured: FAULTLINE_SMTP_HOST is not set and the channel names no SMTP host";

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

    /// Why `channel` cannot send from this server, whatever the message, or `None` when it can try. Only
    /// an e-mail channel without its own SMTP host, on a server without `FAULTLINE_SMTP_HOST`, is such a
    /// channel (the built-in members channel of a fresh install): every attempt would fail the same way.
    pub fn not_configured(&self, channel: &ChannelConfig) -> Option<&'static str> {
        match channel {
            ChannelConfig::Email(email) if email.smtp_host.is_none() && self.smtp.is_none() => {
                Some(EMAIL_NOT_CONFIGURED)
            }
            _ => None,
        }
    }
}

/// Sends messages; cheap to clone (shared settings and one HTTP client).
#[derive(Clone)]
pub struct Notifier {
    settings: Arc<NotifySettings>,
    http: GuardedHttp,
}

impl Notifier {
    pub fn new(settings: NotifySettings) -> Notifier {
        Notifier {
            http: GuardedHttp::new(settings.allow_private_targets),
            settings: Arc::new(settings),
        }
    }

    /// See [`NotifySettings::not_configured`].
    pub fn not_configured(&self, channel: &ChannelConfig) -> Option<&'static str> {
        self.settings.not_configured(channel)
    }

    /// Delivers one issue alert to one channel, once.
    pub async fn send(&self, channel: &ChannelConfig, outgoing: Outgoing<'_>) -> Result<(), SendError> {
        let envelope = email::Envelope {
            idempotency_key: outgoing.idempotency_key,
            member_emails: outgoing.member_emails,
        };
        self.send_rendered(channel, outgoing.message, envelope).await
    }

    /// Delivers one metric alert to one channel, once.
    pub async fn send_metric(
        &self,
        channel: &ChannelConfig,
        message: &MetricMessage,
        envelope: email::Envelope<'_>,
    ) -> Result<(), SendError> {
        self.send_rendered(channel, message, envelope).await
    }

    async fn send_rendered(
        &self,
        channel: &ChannelConfig,
        message: &dyn Render,
        envelope: email::Envelope<'_>,
    ) -> Result<(), SendError> {
        if let Some(why) = self.not_configured(channel) {
            return Err(SendError::NotConfigured(why));
        }
        let key = envelope.idempotency_key;
        match channel {
            ChannelConfig::Email(email) => email::send(&self.settings, email, &message.email(), envelope).await,
            ChannelConfig::Slack(hook) => self.post(&hook.url, json_bytes(&message.slack()), &[], key).await,
            ChannelConfig::Discord(hook) => self.post(&hook.url, json_bytes(&message.discord()), &[], key).await,
            ChannelConfig::Teams(hook) => self.post(&hook.url, json_bytes(&message.teams()), &[], key).await,
            ChannelConfig::Webhook(hook) => {
                let body = message.webhook(key);
                let headers = webhook::signed_headers(message.kind(), &hook.secret, &body);
                self.post(&hook.url, body, &headers, key).await
            }
            ChannelConfig::PagerDuty(pagerduty) => {
                let events = message.pagerduty(&pagerduty.routing_key, key).ok_or_else(|| {
                    SendError::Permanent("the metric rule was deleted: its incident has no key".into())
                })?;
                self.enqueue(pagerduty, &events).await
            }
        }
    }

    /// Resolves the PagerDuty incident of an issue (resolved in Faultline) through `channel`, once.
    // Monitors (not built yet) get their own `resolve_*` beside this one, with their own dedup key.
    pub async fn resolve_issue(&self, channel: &ChannelConfig, issue_id: IssueId) -> Result<(), SendError> {
        let ChannelConfig::PagerDuty(pagerduty) = channel else {
            return Err(SendError::Permanent("only PagerDuty channels resolve incidents".into()));
        };
        let event = pagerduty::resolve(&pagerduty.routing_key, &pagerduty::issue_dedup_key(issue_id));
        self.enqueue(pagerduty, &[event]).await
    }

    /// Posts the events one after another and stops at the first that fails. A retry posts them all again,
    /// which PagerDuty absorbs: a repeated trigger joins the open incident of its dedup_key.
    async fn enqueue(&self, pagerduty: &PagerDutySettings, events: &[serde_json::Value]) -> Result<(), SendError> {
        let hide_key = |text: String| text.replace(&pagerduty.routing_key, "[routing key]");
        for event in events {
            // 202 is success; 400 (an invalid event) is permanent, 429 and 5xx are retried: `guarded_http`
            // classifies every HTTP API that way.
            self.http
                .post_json(pagerduty.events_url(), json_bytes(event), &[])
                .await
                .map_err(|error| match error {
                    SendError::Retry(text) => SendError::Retry(hide_key(text)),
                    SendError::Permanent(text) => SendError::Permanent(hide_key(text)),
                    other => other,
                })?;
        }
        Ok(())
    }

    async fn post(
        &self,
        url: &str,
        body: Vec<u8>,
        extra_headers: &[(&'static str, String)],
        idempotency_key: &str,
    ) -> Result<(), SendError> {
        let mut headers = vec![("Idempotency-Key", idempotency_key.to_owned())];
        headers.extend_from_slice(extra_headers);
        self.http.post_json(url, body, &headers).await
    }
}

fn json_bytes(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("a JSON value serializes")
}
