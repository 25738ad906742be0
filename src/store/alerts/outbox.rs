//! The notifier's side of the outbox. Due fires become messages (one per rule; a digest when several
//! issues wait) with one delivery per channel, in one transaction; deliveries are claimed with a lease, so
//! a notifier that dies mid-send leaves them to be claimed again, and are marked sent, retried or failed.

use crate::domain::{ChannelId, ProjectId, RuleId};
use std::collections::BTreeMap;

use sqlx::QueryBuilder;

use super::super::{on_pool, on_tx, Db, StoreError, Tx};
use crate::domain::alerts::channel::ChannelConfig;

const FIRES_PER_DISPATCH: i64 = 500;

#[derive(sqlx::FromRow)]
struct DueFire {
    id: i64,
    rule_id: RuleId,
}

/// Why a channel cannot send from this server whatever the message (`notify::NotifySettings::not_configured`),
/// or `None` when its deliveries should be tried. A function, so the store stays free of server settings.
pub type NotConfigured<'a> = &'a (dyn Fn(&ChannelConfig) -> Option<&'static str> + Sync);

/// Turns due fires into messages and deliveries; returns how many messages it made. A rule that sent a
/// message less than `digest_window_ms` ago holds its new fires until the window ends, so they go out
/// together as one digest. Deliveries to channels `not_configured` names are made as skipped.
pub async fn dispatch_fires(
    db: &Db,
    now_ms: i64,
    digest_window_ms: i64,
    not_configured: NotConfigured<'_>,
) -> Result<usize, StoreError> {
    // A read first: an idle server then takes no write lock and writes nothing on every poll.
    let any = "SELECT id FROM alert_fires WHERE message_id IS NULL AND due_at <= $1 LIMIT 1";
    let due: Option<i64> = on_pool!(db, pool => sqlx::query_scalar(any).bind(now_ms).fetch_optional(pool).await?);
    if due.is_none() {
        return Ok(0);
    }
    let mut tx = Tx::begin(db).await?;
    let select = "SELECT id, rule_id FROM alert_fires WHERE message_id IS NULL AND due_at <= $1 ORDER BY id LIMIT $2";
    let due: Vec<DueFire> = match &mut tx {
        Tx::Sqlite(t) => {
            sqlx::query_as(select)
                .bind(now_ms)
                .bind(FIRES_PER_DISPATCH)
                .fetch_all(&mut **t)
                .await?
        }
        // Several Faultline processes may dispatch at once: each takes rows the others have not locked.
        Tx::Postgres(t) => {
            sqlx::query_as(&format!("{select} FOR UPDATE SKIP LOCKED"))
                .bind(now_ms)
                .bind(FIRES_PER_DISPATCH)
                .fetch_all(&mut **t)
                .await?
        }
    };
    let mut by_rule: BTreeMap<RuleId, Vec<i64>> = BTreeMap::new();
    for fire in due {
        by_rule.entry(fire.rule_id).or_default().push(fire.id);
    }
    let mut messages = 0;
    for (rule_id, fire_ids) in by_rule {
        let last_sent = last_message_at(&mut tx, rule_id).await?;
        match last_sent {
            Some(at) if at + digest_window_ms > now_ms => hold(&mut tx, &fire_ids, at + digest_window_ms).await?,
            _ => {
                make_message(&mut tx, rule_id, &fire_ids, now_ms, not_configured).await?;
                messages += 1;
            }
        }
    }
    tx.commit().await?;
    Ok(messages)
}

async fn last_message_at(tx: &mut Tx, rule_id: RuleId) -> Result<Option<i64>, StoreError> {
    let sql = "SELECT MAX(created_at) FROM alert_messages WHERE rule_id = $1";
    Ok(on_tx!(tx, conn, Backend => sqlx::query_scalar(sql).bind(rule_id).fetch_one(&mut *conn).await?))
}

async fn hold(tx: &mut Tx, fire_ids: &[i64], until_ms: i64) -> Result<(), StoreError> {
    set_on_fires(tx, "due_at", until_ms, fire_ids).await
}

/// `UPDATE alert_fires SET {column} = value WHERE id IN (ids)`.
async fn set_on_fires(tx: &mut Tx, column: &str, value: i64, fire_ids: &[i64]) -> Result<(), StoreError> {
    on_tx!(tx, conn, Backend => {
        let mut qb = QueryBuilder::<Backend>::new(format!("UPDATE alert_fires SET {column} = "));
        qb.push_bind(value).push(" WHERE id IN (");
        let mut list = qb.separated(", ");
        for id in fire_ids {
            list.push_bind(*id);
        }
        qb.push(")");
        qb.build().execute(&mut *conn).await?;
    });
    Ok(())
}

/// A channel of the rule, as the message's delivery to it is made.
#[derive(sqlx::FromRow)]
pub(super) struct Target {
    pub channel_id: ChannelId,
    pub channel_name: String,
    pub settings: String,
    pub rule_name: String,
    pub project_id: ProjectId,
}

async fn make_message(
    tx: &mut Tx,
    rule_id: RuleId,
    fire_ids: &[i64],
    now_ms: i64,
    not_configured: NotConfigured<'_>,
) -> Result<(), StoreError> {
    let insert = "INSERT INTO alert_messages (rule_id, project_id, created_at) \
                  SELECT id, project_id, $2 FROM alert_rules WHERE id = $1 RETURNING id";
    let message_id: i64 =
        on_tx!(tx, conn, Backend => sqlx::query_scalar(insert).bind(rule_id).bind(now_ms).fetch_one(&mut *conn).await?);
    set_on_fires(tx, "message_id", message_id, fire_ids).await?;
    let channels = "SELECT c.id AS channel_id, c.name AS channel_name, c.settings, r.name AS rule_name, \
                    r.project_id FROM alert_rule_channels rc \
                    JOIN channels c ON c.id = rc.channel_id JOIN alert_rules r ON r.id = rc.rule_id \
                    WHERE rc.rule_id = $1 ORDER BY c.id";
    let targets: Vec<Target> =
        on_tx!(tx, conn, Backend => sqlx::query_as(channels).bind(rule_id).fetch_all(&mut *conn).await?);
    for target in targets {
        // Unreadable settings are left to the notifier, which fails the delivery with the reason.
        let config = serde_json::from_str::<ChannelConfig>(&target.settings).ok();
        let skipped = config.as_ref().and_then(not_configured);
        insert_delivery(tx, message_id, &target, skipped, now_ms).await?;
        if matches!(config, Some(ChannelConfig::PagerDuty(_))) {
            super::incidents::remember_for_message(tx, message_id, target.channel_id, now_ms).await?;
        }
    }
    Ok(())
}

/// A pending delivery, or, when the channel cannot send from this server, one already skipped with the
/// reason: it is shown in the delivery log but never claimed, so nothing fails or retries for nothing.
pub(super) async fn insert_delivery(
    tx: &mut Tx,
    message_id: i64,
    target: &Target,
    skipped: Option<&str>,
    now_ms: i64,
) -> Result<(), StoreError> {
    let insert = "INSERT INTO deliveries (message_id, project_id, channel_id, rule_name, channel_name, \
                  idempotency_key, status, attempts, next_attempt_at, last_error, created_at) \
                  VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $8)";
    let key = uuid::Uuid::new_v4().simple().to_string();
    let status = if skipped.is_some() { "skipped" } else { "pending" };
    on_tx!(tx, conn, Backend => sqlx::query(insert)
        .bind(message_id)
        .bind(target.project_id)
        .bind(target.channel_id)
        .bind(&target.rule_name)
        .bind(&target.channel_name)
        .bind(&key)
        .bind(status)
        .bind(now_ms)
        .bind(skipped)
        .execute(&mut *conn)
        .await?
        .rows_affected());
    Ok(())
}

/// A delivery the notifier now holds, until its lease runs out.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub message_id: i64,
    pub project_id: ProjectId,
    pub channel_id: Option<ChannelId>,
    pub idempotency_key: String,
    /// Including this one.
    pub attempts: i64,
}

/// Claims due deliveries (and ones whose sender's lease ran out) for `lease_ms`.
pub async fn claim_deliveries(
    db: &Db,
    now_ms: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    let due = "SELECT id FROM deliveries WHERE status IN ('pending', 'sending') \
               AND ((status = 'pending' AND next_attempt_at <= $1) OR (status = 'sending' AND lease_until <= $1)) ORDER BY next_attempt_at LIMIT $3";
    let any = "SELECT id FROM deliveries WHERE status IN ('pending', 'sending') \
               AND ((status = 'pending' AND next_attempt_at <= $1) OR (status = 'sending' AND lease_until <= $1)) LIMIT 1";
    let found: Option<i64> = on_pool!(db, pool => sqlx::query_scalar(any).bind(now_ms).fetch_optional(pool).await?);
    if found.is_none() {
        return Ok(Vec::new());
    }
    let claim = |pick: &str| {
        format!(
            "UPDATE deliveries SET status = 'sending', lease_until = $1 + $2, attempts = attempts + 1, \
             last_attempt_at = $1 WHERE id IN ({pick}) \
             RETURNING id, message_id, project_id, channel_id, idempotency_key, attempts"
        )
    };
    Ok(match db {
        Db::Sqlite(pool, _) => {
            sqlx::query_as(&claim(due))
                .bind(now_ms)
                .bind(lease_ms)
                .bind(limit)
                .fetch_all(pool)
                .await?
        }
        // SKIP LOCKED: concurrent notifiers (several processes) never claim the same delivery.
        Db::Postgres(pool) => {
            sqlx::query_as(&claim(&format!("{due} FOR UPDATE SKIP LOCKED")))
                .bind(now_ms)
                .bind(lease_ms)
                .bind(limit)
                .fetch_all(pool)
                .await?
        }
    })
}

/// Records a successful send; it is never sent again.
pub async fn mark_sent(db: &Db, delivery_id: i64, now_ms: i64) -> Result<(), StoreError> {
    let sql = "UPDATE deliveries SET status = 'sent', sent_at = $1, lease_until = NULL, last_error = NULL \
               WHERE id = $2 AND status = 'sending'";
    on_pool!(db, pool => sqlx::query(sql).bind(now_ms).bind(delivery_id).execute(pool).await?.rows_affected());
    Ok(())
}

/// Records a failed attempt to be retried at `retry_at_ms`.
pub async fn mark_retry(db: &Db, delivery_id: i64, retry_at_ms: i64, error: &str) -> Result<(), StoreError> {
    let sql = "UPDATE deliveries SET status = 'pending', next_attempt_at = $1, lease_until = NULL, last_error = $2 \
               WHERE id = $3 AND status = 'sending'";
    on_pool!(db, pool => sqlx::query(sql).bind(retry_at_ms).bind(error).bind(delivery_id).execute(pool).await?.rows_affected());
    Ok(())
}

/// Gives a delivery up; the delivery log shows it as failed with its last error.
pub async fn mark_failed(db: &Db, delivery_id: i64, error: &str) -> Result<(), StoreError> {
    let sql = "UPDATE deliveries SET status = 'failed', lease_until = NULL, last_error = $1 \
               WHERE id = $2 AND status = 'sending'";
    on_pool!(db, pool => sqlx::query(sql).bind(error).bind(delivery_id).execute(pool).await?.rows_affected());
    Ok(())
}

/// Records that nothing was tried: the channel cannot send from this server (a delivery made before its
/// SMTP settings were removed, or whose channel lost its host since). The claim counted an attempt that
/// was never made, so it is taken back; the delivery log shows it as skipped with the reason.
pub async fn mark_skipped(db: &Db, delivery_id: i64, reason: &str) -> Result<(), StoreError> {
    let sql = "UPDATE deliveries SET status = 'skipped', attempts = attempts - 1, lease_until = NULL, \
               last_attempt_at = CASE WHEN attempts = 1 THEN NULL ELSE last_attempt_at END, last_error = $1 \
               WHERE id = $2 AND status = 'sending'";
    on_pool!(db, pool => sqlx::query(sql).bind(reason).bind(delivery_id).execute(pool).await?.rows_affected());
    Ok(())
}

/// Forgets what alerting no longer needs: trigger-window rows older than every window can reach (a day),
/// cooldowns that have ended, and messages older than `keep_log_ms` whose deliveries are all finished
/// (with their fires and deliveries, so the delivery log keeps that long).
pub async fn prune(db: &Db, now_ms: i64, keep_log_ms: i64) -> Result<(), StoreError> {
    let day_ms = 24 * 60 * 60_000;
    let minutes = "DELETE FROM alert_issue_minutes WHERE minute < $1";
    let users = "DELETE FROM alert_issue_users WHERE last_seen < $1";
    let cooldowns = "DELETE FROM alert_cooldowns WHERE quiet_until < $1";
    let messages = "DELETE FROM alert_messages WHERE created_at < $1 AND NOT EXISTS \
                    (SELECT 1 FROM deliveries d WHERE d.message_id = alert_messages.id \
                    AND d.status IN ('pending', 'sending'))";
    on_pool!(db, pool => {
        sqlx::query(minutes).bind((now_ms - day_ms) / 60_000).execute(pool).await?;
        sqlx::query(users).bind(now_ms - day_ms).execute(pool).await?;
        sqlx::query(cooldowns).bind(now_ms).execute(pool).await?;
        sqlx::query(messages).bind(now_ms - keep_log_ms).execute(pool).await?;
    });
    Ok(())
}
