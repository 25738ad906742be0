//! The channel form: one set of fields for every kind (the page shows those of the chosen kind), how it
//! becomes a [`ChannelConfig`], and how a stored channel fills it in, masked.

use serde::Deserialize;

use crate::domain::alerts::channel::{
    Channel, ChannelConfig, ChannelError, EmailSettings, HookSettings, PagerDutySettings, SignedHookSettings, TlsMode,
    KINDS,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelFormError {
    #[error("Choose a kind of channel: email, Slack, Discord, Teams, webhook or PagerDuty.")]
    UnknownKind,
    #[error("{0}")]
    Channel(#[from] ChannelError),
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ChannelForm {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub secret: String,
    /// PagerDuty's integration key; a secret like `password`.
    #[serde(default)]
    pub routing_key: String,
    #[serde(default)]
    pub smtp_host: String,
    #[serde(default)]
    pub smtp_port: String,
    #[serde(default)]
    pub tls: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub from: String,
    /// Recipients, one per line or separated by commas.
    #[serde(default)]
    pub to: String,
}

/// The kind as one of [`KINDS`], if it is one.
pub fn known_kind(text: &str) -> Option<&'static str> {
    KINDS.into_iter().find(|kind| *kind == text)
}

impl ChannelForm {
    pub fn blank(kind: &'static str) -> ChannelForm {
        ChannelForm {
            kind: kind.to_owned(),
            tls: TlsMode::default().as_str().to_owned(),
            ..ChannelForm::default()
        }
    }

    /// A stored channel's settings as the edit form shows them: hook URLs masked, password and signing
    /// secret empty (left empty, they keep their stored value).
    pub fn from_channel(channel: &Channel) -> ChannelForm {
        let mut form = ChannelForm::blank(channel.config.kind());
        form.name = channel.name.clone();
        match channel.config.masked() {
            ChannelConfig::Email(email) => {
                form.smtp_host = email.smtp_host.unwrap_or_default();
                form.smtp_port = email.smtp_port.map(|p| p.to_string()).unwrap_or_default();
                form.tls = email.tls.as_str().to_owned();
                form.username = email.username.unwrap_or_default();
                form.from = email.from.unwrap_or_default();
                form.to = email.to.join("\n");
            }
            ChannelConfig::Slack(hook) | ChannelConfig::Discord(hook) | ChannelConfig::Teams(hook) => {
                form.url = hook.url;
            }
            ChannelConfig::Webhook(hook) => form.url = hook.url,
            // The routing key stays empty, like a password: left empty, it keeps its stored value.
            ChannelConfig::PagerDuty(pagerduty) => form.url = pagerduty.events_url.unwrap_or_default(),
        }
        form
    }

    /// The same form without the password and secret the user typed, to show it again.
    pub fn without_secrets(mut self) -> ChannelForm {
        self.password.clear();
        self.secret.clear();
        self.routing_key.clear();
        self
    }

    /// The settings asked for; [`ChannelConfig::validate`] still checks URLs and addresses.
    pub fn to_config(&self) -> Result<ChannelConfig, ChannelFormError> {
        let kind = known_kind(&self.kind).ok_or(ChannelFormError::UnknownKind)?;
        let hook = || HookSettings { url: self.url.clone() };
        Ok(match kind {
            "email" => ChannelConfig::Email(self.email_settings()?),
            "slack" => ChannelConfig::Slack(hook()),
            "discord" => ChannelConfig::Discord(hook()),
            "teams" => ChannelConfig::Teams(hook()),
            "pagerduty" => ChannelConfig::PagerDuty(PagerDutySettings {
                routing_key: self.routing_key.clone(),
                events_url: Some(self.url.clone()),
            }),
            _ => ChannelConfig::Webhook(SignedHookSettings {
                url: self.url.clone(),
                secret: self.secret.clone(),
            }),
        })
    }

    fn email_settings(&self) -> Result<EmailSettings, ChannelError> {
        let smtp_port = match self.smtp_port.trim() {
            "" => None,
            text => Some(text.parse::<u16>().map_err(|_| ChannelError::Port)?),
        };
        let optional = |text: &str| Some(text.to_owned()).filter(|t| !t.trim().is_empty());
        Ok(EmailSettings {
            smtp_host: optional(&self.smtp_host),
            smtp_port,
            tls: TlsMode::parse(&self.tls).unwrap_or_default(),
            username: optional(&self.username),
            password: optional(&self.password),
            from: optional(&self.from),
            to: self
                .to
                .split(['\n', ','])
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect(),
        })
    }

    /// Whether a generic webhook is to get a generated secret (shown once after creation).
    pub fn wants_generated_secret(&self) -> bool {
        self.kind == "webhook" && self.secret.trim().is_empty()
    }
}

/// Where a channel sends, as the list shows it: masked, never a secret.
pub fn target_in_words(config: &ChannelConfig) -> String {
    match config.masked() {
        ChannelConfig::Email(email) => {
            let to = if email.to.is_empty() {
                "the project's organization members".to_owned()
            } else {
                email.to.join(", ")
            };
            let via = match (&email.smtp_host, email.smtp_port) {
                (Some(host), Some(port)) => format!("{host}:{port}"),
                (Some(host), None) => host.clone(),
                (None, _) => "the server's SMTP settings".to_owned(),
            };
            format!("to {to}, via {via}")
        }
        ChannelConfig::Slack(hook) | ChannelConfig::Discord(hook) | ChannelConfig::Teams(hook) => hook.url,
        ChannelConfig::Webhook(hook) => format!("{} (signed with {})", hook.url, hook.secret),
        ChannelConfig::PagerDuty(pagerduty) => {
            format!("{} (routing key {})", pagerduty.events_url(), pagerduty.routing_key)
        }
    }
}

/// The masked stored secret the edit form mentions beside an empty field; `None` when there is none.
pub fn stored_secret(config: &ChannelConfig) -> Option<String> {
    match config.masked() {
        ChannelConfig::Email(email) => email.password,
        ChannelConfig::Webhook(hook) => Some(hook.secret),
        ChannelConfig::PagerDuty(pagerduty) => Some(pagerduty.routing_key),
        _ => None,
    }
}
