//! Alert rules and channels as people change them (web and API alike): rules and channels are checked,
//! stored, and the writer's rule cache is cleared so a change applies to the very next event; a channel can
//! be tried with a test notification. Changing either needs `project:write`.

use crate::core::changes::Change;
use crate::domain::accounts::Scope;
use crate::domain::alerts::channel::{checked_name, Channel, ChannelConfig};
use crate::domain::alerts::{AlertRule, FireReason, RuleSpec};
use crate::domain::{ChannelId, IssueId, RuleId};
use crate::notify::{AlertMessage, AlertedIssue, Outgoing, SendError};
use crate::store::alerts::{self, ChannelDeletion};
use crate::store::now_ms;
use crate::store::organizations::Organization;
use crate::store::projects::Project;

use super::{Access, Core, CoreError, CoreResult};

/// Why the built-in channel stays.
pub const BUILTIN_CHANNEL_STAYS: &str =
    "The built-in members channel cannot be deleted; edit it or leave it out of rules.";

#[tracing::instrument(skip(core, access, project, spec), fields(project = project.id.get()))]
pub async fn create_rule(core: &Core, access: &Access, project: &Project, spec: RuleSpec) -> CoreResult<AlertRule> {
    rules_writable(access, project)?;
    let spec = spec.validate().map_err(CoreError::invalid)?;
    let rule = alerts::create_rule(&core.db, project.id, &spec).await?;
    core.changed(Change::Rules).await;
    Ok(rule)
}

#[tracing::instrument(skip(core, access, project, spec), fields(project = project.id.get()))]
pub async fn update_rule(
    core: &Core,
    access: &Access,
    project: &Project,
    rule_id: RuleId,
    spec: RuleSpec,
) -> CoreResult<AlertRule> {
    rules_writable(access, project)?;
    let spec = spec.validate().map_err(CoreError::invalid)?;
    let rule = alerts::update_rule(&core.db, project.id, rule_id, &spec).await?;
    core.changed(Change::Rules).await;
    rule.ok_or(CoreError::NotFound)
}

#[tracing::instrument(skip(core, access, project), fields(project = project.id.get()))]
pub async fn set_rule_enabled(
    core: &Core,
    access: &Access,
    project: &Project,
    rule_id: RuleId,
    enabled: bool,
) -> CoreResult<()> {
    rules_writable(access, project)?;
    let found = alerts::set_rule_enabled(&core.db, project.id, rule_id, enabled).await?;
    core.changed(Change::Rules).await;
    found.then_some(()).ok_or(CoreError::NotFound)
}

#[tracing::instrument(skip(core, access, project), fields(project = project.id.get()))]
pub async fn delete_rule(core: &Core, access: &Access, project: &Project, rule_id: RuleId) -> CoreResult<()> {
    rules_writable(access, project)?;
    let found = alerts::delete_rule(&core.db, project.id, rule_id).await?;
    core.changed(Change::Rules).await;
    found.then_some(()).ok_or(CoreError::NotFound)
}

/// Creates a channel of the caller's organization; a generic webhook without a secret gets a random one.
#[tracing::instrument(skip(core, access, config), fields(organization = access.organization.id.get()))]
pub async fn create_channel(core: &Core, access: &Access, name: &str, config: ChannelConfig) -> CoreResult<Channel> {
    access.require(Scope::ProjectWrite)?;
    let config = config
        .validate()
        .map_err(CoreError::invalid)?
        .with_secret_if_missing(fresh_secret);
    let name = checked_name(name).map_err(CoreError::invalid)?;
    Ok(alerts::create_channel(&core.db, access.organization.id, &name, &config).await?)
}

/// Replaces a channel's settings; secrets sent back empty or masked keep their stored value.
#[tracing::instrument(skip(core, access, config), fields(organization = access.organization.id.get()))]
pub async fn update_channel(
    core: &Core,
    access: &Access,
    channel_id: ChannelId,
    name: &str,
    config: ChannelConfig,
) -> CoreResult<Channel> {
    access.require(Scope::ProjectWrite)?;
    let organization_id = access.organization.id;
    let stored = alerts::get_channel(&core.db, organization_id, channel_id)
        .await?
        .ok_or(CoreError::NotFound)?;
    let config = config
        .keeping_secrets_of(&stored.config)
        .validate()
        .map_err(CoreError::invalid)?
        .with_secret_if_missing(fresh_secret);
    let name = checked_name(name).map_err(CoreError::invalid)?;
    let updated = alerts::update_channel(&core.db, organization_id, channel_id, &name, &config).await?;
    core.changed(Change::Rules).await;
    updated.ok_or(CoreError::NotFound)
}

#[tracing::instrument(skip(core, access), fields(organization = access.organization.id.get()))]
pub async fn delete_channel(core: &Core, access: &Access, channel_id: ChannelId) -> CoreResult<()> {
    access.require(Scope::ProjectWrite)?;
    let outcome = alerts::delete_channel(&core.db, access.organization.id, channel_id).await?;
    core.changed(Change::Rules).await;
    match outcome {
        ChannelDeletion::Deleted => Ok(()),
        ChannelDeletion::NotFound => Err(CoreError::NotFound),
        ChannelDeletion::Builtin => Err(CoreError::Conflict(BUILTIN_CHANNEL_STAYS.to_owned())),
    }
}

/// Sends a sample message through the channel now and reports how it went.
#[tracing::instrument(skip(core, access), fields(organization = access.organization.id.get()))]
pub async fn send_test(core: &Core, access: &Access, channel_id: ChannelId) -> CoreResult<Result<(), SendError>> {
    access.require(Scope::ProjectWrite)?;
    let organization = &access.organization;
    let channel = alerts::get_channel(&core.db, organization.id, channel_id)
        .await?
        .ok_or(CoreError::NotFound)?;
    let member_emails = alerts::member_emails(&core.db, organization.id).await?;
    let message = test_message(organization, &core.public_url);
    let key = uuid::Uuid::new_v4().simple().to_string();
    let outgoing = Outgoing {
        message: &message,
        idempotency_key: &key,
        member_emails: &member_emails,
    };
    Ok(core.notifier.send(&channel.config, outgoing).await)
}

/// The project is the caller's organization's, and they may change its rules (of either kind).
pub(super) fn rules_writable(access: &Access, project: &Project) -> CoreResult<()> {
    access.sees(project.organization_id)?;
    access.require(Scope::ProjectWrite)
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
            issue_id: IssueId(0),
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
