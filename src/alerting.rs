//! The alert operations the web UI and the API share: rules and channels are checked, stored, and the
//! writer's rule cache is cleared so a change applies to the very next event; a channel can be tried with
//! a test notification.

use crate::domain::alerts::channel::{checked_name, Channel, ChannelConfig, ChannelError};
use crate::domain::alerts::{AlertRule, FireReason, RuleError, RuleSpec};
use crate::ingest::RuleCache;
use crate::notify::{AlertMessage, AlertedIssue, Notifier, Outgoing, SendError};
use crate::store::alerts::{self, ChannelDeletion};
use crate::store::organizations::Organization;
use crate::store::{now_ms, Db, StoreError};

#[derive(Clone)]
pub struct Alerting {
    pub db: Db,
    pub rules: RuleCache,
    pub notifier: Notifier,
    pub public_url: url::Url,
}

#[derive(Debug, thiserror::Error)]
pub enum AlertingError {
    #[error("{0}")]
    Rule(#[from] RuleError),
    #[error("{0}")]
    Channel(#[from] ChannelError),
    /// No such rule or channel here (or one of another organization).
    #[error("not found")]
    NotFound,
    #[error("the built-in members channel cannot be deleted; edit it or leave it out of rules")]
    BuiltinChannel,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AlertingError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(_) => AlertingError::NotFound,
            other => AlertingError::Store(other),
        }
    }
}

impl Alerting {
    pub async fn create_rule(&self, project_id: i64, spec: RuleSpec) -> Result<AlertRule, AlertingError> {
        let rule = alerts::create_rule(&self.db, project_id, &spec.validate()?).await?;
        self.rules.invalidate();
        Ok(rule)
    }

    pub async fn update_rule(&self, project_id: i64, rule_id: i64, spec: RuleSpec) -> Result<AlertRule, AlertingError> {
        let rule = alerts::update_rule(&self.db, project_id, rule_id, &spec.validate()?).await?;
        self.rules.invalidate();
        rule.ok_or(AlertingError::NotFound)
    }

    pub async fn set_rule_enabled(&self, project_id: i64, rule_id: i64, enabled: bool) -> Result<(), AlertingError> {
        let found = alerts::set_rule_enabled(&self.db, project_id, rule_id, enabled).await?;
        self.rules.invalidate();
        found.then_some(()).ok_or(AlertingError::NotFound)
    }

    pub async fn delete_rule(&self, project_id: i64, rule_id: i64) -> Result<(), AlertingError> {
        let found = alerts::delete_rule(&self.db, project_id, rule_id).await?;
        self.rules.invalidate();
        found.then_some(()).ok_or(AlertingError::NotFound)
    }

    /// Creates a channel; a generic webhook without a secret gets a random one.
    pub async fn create_channel(
        &self,
        organization_id: i64,
        name: &str,
        config: ChannelConfig,
    ) -> Result<Channel, AlertingError> {
        let config = config.validate()?.with_secret_if_missing(fresh_secret);
        Ok(alerts::create_channel(&self.db, organization_id, &checked_name(name)?, &config).await?)
    }

    /// Replaces a channel's settings; secrets sent back empty or masked keep their stored value.
    pub async fn update_channel(
        &self,
        organization_id: i64,
        channel_id: i64,
        name: &str,
        config: ChannelConfig,
    ) -> Result<Channel, AlertingError> {
        let stored = alerts::get_channel(&self.db, organization_id, channel_id)
            .await?
            .ok_or(AlertingError::NotFound)?;
        let config = config
            .keeping_secrets_of(&stored.config)
            .validate()?
            .with_secret_if_missing(fresh_secret);
        let name = checked_name(name)?;
        let updated = alerts::update_channel(&self.db, organization_id, channel_id, &name, &config).await?;
        self.rules.invalidate();
        updated.ok_or(AlertingError::NotFound)
    }

    pub async fn delete_channel(&self, organization_id: i64, channel_id: i64) -> Result<(), AlertingError> {
        let outcome = alerts::delete_channel(&self.db, organization_id, channel_id).await?;
        self.rules.invalidate();
        match outcome {
            ChannelDeletion::Deleted => Ok(()),
            ChannelDeletion::NotFound => Err(AlertingError::NotFound),
            ChannelDeletion::Builtin => Err(AlertingError::BuiltinChannel),
        }
    }

    /// Sends a sample message through the channel now and reports how it went.
    pub async fn send_test(
        &self,
        organization: &Organization,
        channel_id: i64,
    ) -> Result<Result<(), SendError>, AlertingError> {
        let channel = alerts::get_channel(&self.db, organization.id, channel_id)
            .await?
            .ok_or(AlertingError::NotFound)?;
        let member_emails = alerts::member_emails(&self.db, organization.id).await?;
        let message = test_message(organization, &self.public_url);
        let key = uuid::Uuid::new_v4().simple().to_string();
        let outgoing = Outgoing {
            message: &message,
            idempotency_key: &key,
            member_emails: &member_emails,
        };
        Ok(self.notifier.send(&channel.config, outgoing).await)
    }
}

fn fresh_secret() -> String {
    let bytes: [u8; 24] = rand::random();
    hex::encode(bytes)
}

fn test_message(organization: &Organization, public_url: &url::Url) -> AlertMessage {
    let org_url = public_url
        .join(&format!("organizations/{}/", organization.slug))
        .map(String::from)
        .unwrap_or_default();
    let now = now_ms();
    AlertMessage {
        rule_name: "Test notification".into(),
        organization_slug: organization.slug.clone(),
        project_slug: "test".into(),
        project_name: "Test".into(),
        project_url: org_url.clone(),
        issues: vec![AlertedIssue {
            issue_id: 0,
            short_id: "TEST-1".into(),
            title: "This is a test notification from Faultline".into(),
            culprit: "faultline.channels.test".into(),
            level: "info".into(),
            reason: FireReason::NewIssue,
            environment: None,
            release: None,
            times_seen: 1,
            user_count: 0,
            first_seen_ms: now,
            last_seen_ms: now,
            url: org_url,
        }],
        test: true,
    }
}
