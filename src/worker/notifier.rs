//! The notifier loop: woken by the writer when rules fired (or every poll interval), it turns due fires
//! into messages, claims due deliveries, sends each through [`Notifier`] and records the outcome. Failed
//! attempts are retried with exponential backoff until the attempt limit, then marked failed. Deliveries to a
//! channel this server cannot send to (e-mail without SMTP settings), and PagerDuty triggers for issues
//! resolved meanwhile, are recorded as skipped, never tried.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};

use crate::config::Config;
use crate::domain::alerts::channel::{Channel, ChannelConfig};
use crate::domain::alerts::FireReason;
use crate::domain::lifecycle::IssueStatus;
use crate::domain::short_id::encode_short_id;
use crate::domain::{ChannelId, IssueId};
use crate::notify::email::Envelope;
use crate::notify::{AlertMessage, AlertedIssue, Notifier, Outgoing, SendError, ALREADY_RESOLVED};
use crate::store::alerts::{self, ClaimedDelivery, MessageContent};
use crate::store::{now_ms, Db, StoreError};

use super::metric_message::metric_message;

const DELIVERIES_PER_ROUND: i64 = 20;
const PRUNE_EVERY: Duration = Duration::from_secs(600);
const MAX_BACKOFF_MS: i64 = 3_600_000;
/// How long finished deliveries stay in the log.
const DELIVERY_LOG_MS: i64 = 30 * 24 * 3_600_000;

#[derive(Debug, Clone)]
pub struct NotifierSettings {
    pub poll: Duration,
    pub max_attempts: i64,
    pub retry_base_ms: i64,
    pub digest_window_ms: i64,
    /// How long a claimed delivery is held before another notifier may take it over.
    pub lease_ms: i64,
    pub public_url: url::Url,
}

impl NotifierSettings {
    pub fn from_config(config: &Config) -> NotifierSettings {
        NotifierSettings {
            poll: Duration::from_millis(config.notify_poll_ms.max(10)),
            max_attempts: config.notify_max_attempts.max(1),
            retry_base_ms: config.notify_retry_base_ms.max(0),
            digest_window_ms: config.alert_digest_secs.max(0) * 1000,
            lease_ms: 120_000,
            public_url: config.public_url.clone(),
        }
    }
}

/// Runs until `stop` turns true; a send in flight then is finished first.
pub async fn run_notifier(
    db: Db,
    notifier: Notifier,
    settings: NotifierSettings,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let mut last_prune = Instant::now();
    loop {
        if let Err(error) = work_once(&db, &notifier, &settings).await {
            tracing::warn!(%error, "notifier round failed; retrying at the next one");
        }
        if last_prune.elapsed() > PRUNE_EVERY {
            last_prune = Instant::now();
            if let Err(error) = alerts::prune(&db, now_ms(), DELIVERY_LOG_MS).await {
                tracing::warn!(%error, "pruning old alert data failed");
            }
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(settings.poll) => {}
            _ = stop.wait_for(|stopped| *stopped) => break,
        }
    }
    tracing::info!("notifier stopped");
}

/// One round: dispatch due fires, then send due deliveries until none is left.
pub async fn work_once(db: &Db, notifier: &Notifier, settings: &NotifierSettings) -> Result<(), StoreError> {
    let not_configured = |channel: &ChannelConfig| notifier.not_configured(channel);
    alerts::dispatch_fires(db, now_ms(), settings.digest_window_ms, &not_configured).await?;
    loop {
        let claimed = alerts::claim_deliveries(db, now_ms(), settings.lease_ms, DELIVERIES_PER_ROUND).await?;
        if claimed.is_empty() {
            return Ok(());
        }
        let sends = claimed.iter().map(|delivery| deliver(db, notifier, settings, delivery));
        for result in futures::future::join_all(sends).await {
            result?;
        }
    }
}

async fn deliver(
    db: &Db,
    notifier: &Notifier,
    settings: &NotifierSettings,
    delivery: &ClaimedDelivery,
) -> Result<(), StoreError> {
    let result = attempt(db, notifier, settings, delivery).await?;
    let id = delivery.id;
    match result {
        Ok(()) => {
            tracing::info!(delivery = id, attempts = delivery.attempts, "alert delivered");
            alerts::mark_sent(db, id, now_ms()).await
        }
        Err(SendError::Retry(error)) if delivery.attempts < settings.max_attempts => {
            let wait = backoff_ms(settings.retry_base_ms, delivery.attempts);
            tracing::warn!(delivery = id, attempts = delivery.attempts, wait_ms = wait, %error, "alert delivery failed; will retry");
            alerts::mark_retry(db, id, now_ms() + wait, &error).await
        }
        // Nothing was tried. A missing SMTP setting is said once at start (see `serve`), not per delivery:
        // it is the server's state, not this alert's; a page made moot by a resolution is routine.
        Err(SendError::NotConfigured(why) | SendError::Moot(why)) => {
            tracing::debug!(delivery = id, why, "alert delivery skipped");
            alerts::mark_skipped(db, id, why).await
        }
        Err(SendError::Retry(error) | SendError::Permanent(error)) => {
            tracing::warn!(delivery = id, attempts = delivery.attempts, %error, "alert delivery failed for good");
            alerts::mark_failed(db, id, &error).await
        }
    }
}

/// `base`, `2·base`, `4·base`, … capped at an hour.
fn backoff_ms(base_ms: i64, attempts: i64) -> i64 {
    let doublings = (attempts - 1).clamp(0, 30) as u32;
    base_ms.saturating_mul(1_i64 << doublings).min(MAX_BACKOFF_MS)
}

/// Loads what the delivery needs and sends it once; the outer error is the store's, the inner the send's.
async fn attempt(
    db: &Db,
    notifier: &Notifier,
    settings: &NotifierSettings,
    delivery: &ClaimedDelivery,
) -> Result<Result<(), SendError>, StoreError> {
    let (channel, content) = match load(db, delivery).await? {
        Ok(loaded) => loaded,
        Err(error) => return Ok(Err(error)),
    };
    if let Some(issue_id) = content.header.resolved_issue_id {
        return Ok(notifier.resolve_issue(&channel.config, issue_id).await);
    }
    let member_emails = match &channel.config {
        ChannelConfig::Email(email) if email.to.is_empty() => {
            alerts::member_emails(db, content.header.organization_id).await?
        }
        _ => Vec::new(),
    };
    if !content.metrics.is_empty() {
        let Some(message) = metric_message(&content, &settings.public_url) else {
            return Ok(Err(SendError::Permanent("the metric alert could not be read".into())));
        };
        let envelope = Envelope {
            idempotency_key: &delivery.idempotency_key,
            member_emails: &member_emails,
        };
        return Ok(notifier.send_metric(&channel.config, &message, envelope).await);
    }
    let mut message = alert_message(&content, &settings.public_url);
    if matches!(channel.config, ChannelConfig::PagerDuty(_)) {
        if let Err(moot) = page_open_issues_only(db, channel.id, &content, &mut message).await? {
            return Ok(Err(moot));
        }
    }
    let outgoing = Outgoing {
        message: &message,
        idempotency_key: &delivery.idempotency_key,
        member_emails: &member_emails,
    };
    Ok(notifier.send(&channel.config, outgoing).await)
}

/// The delivery's channel and message, or why there is nothing to send.
async fn load(db: &Db, delivery: &ClaimedDelivery) -> Result<Result<(Channel, MessageContent), SendError>, StoreError> {
    let channel = match delivery.channel_id {
        Some(id) => alerts::channel_for_delivery(db, id).await?,
        None => None,
    };
    let Some(channel) = channel else {
        return Ok(Err(SendError::Permanent("the channel was deleted".into())));
    };
    let content = alerts::load_message(db, delivery.message_id).await?;
    let Some(content) = content.filter(|c| !c.is_empty()) else {
        return Ok(Err(SendError::Permanent("the message's issues were deleted".into())));
    };
    Ok(Ok((channel, content)))
}

/// A page is only for issues still unresolved when it goes out: one resolved while its trigger waited (for
/// a retry, a digest) already sent its resolve, which a late trigger would undo. The issues paged are
/// remembered first, so that resolving them from now on resolves their incidents.
async fn page_open_issues_only(
    db: &Db,
    channel_id: ChannelId,
    content: &MessageContent,
    message: &mut AlertMessage,
) -> Result<Result<(), SendError>, StoreError> {
    let resolved = IssueStatus::Resolved.as_str();
    let open: Vec<IssueId> = content
        .issues
        .iter()
        .filter(|issue| issue.status != resolved)
        .map(|issue| issue.issue_id)
        .collect();
    message.issues.retain(|issue| open.contains(&issue.issue_id));
    if open.is_empty() {
        return Ok(Err(SendError::Moot(ALREADY_RESOLVED)));
    }
    alerts::remember_incidents(db, channel_id, &open, now_ms()).await?;
    Ok(Ok(()))
}

/// The message as channels render it, with links made from the public URL.
pub fn alert_message(content: &MessageContent, public_url: &url::Url) -> AlertMessage {
    let header = &content.header;
    let link = |path: String| public_url.join(&path).map(String::from).unwrap_or(path);
    let issues = content
        .issues
        .iter()
        .map(|issue| AlertedIssue {
            issue_id: issue.issue_id,
            short_id: encode_short_id(&header.project_slug, issue.short_id as u64),
            title: issue.title.clone(),
            culprit: issue.culprit.clone(),
            level: issue.level.clone(),
            reason: FireReason::parse(&issue.reason).unwrap_or(FireReason::NewIssue),
            environment: issue.environment.clone(),
            release: issue.release.clone(),
            times_seen: issue.times_seen,
            user_count: issue.user_count,
            first_seen_ms: issue.first_seen,
            last_seen_ms: issue.last_seen,
            url: link(format!(
                "organizations/{}/issues/{}/",
                header.organization_slug, issue.issue_id
            )),
        })
        .collect();
    AlertMessage {
        rule_name: header.rule_name.clone(),
        organization_slug: header.organization_slug.clone(),
        project_slug: header.project_slug.clone(),
        project_name: header.project_name.clone(),
        project_url: link(format!(
            "organizations/{}/issues/?project={}",
            header.organization_slug, header.project_slug
        )),
        issues,
        test: false,
    }
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;

    #[test]
    fn retries_wait_twice_as_long_each_time_up_to_an_hour() {
        assert_eq!(backoff_ms(1000, 1), 1000);
        assert_eq!(backoff_ms(1000, 2), 2000);
        assert_eq!(backoff_ms(1000, 4), 8000);
        assert_eq!(backoff_ms(30_000, 20), 3_600_000);
    }
}
