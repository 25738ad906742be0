//! Alert rules, channels and deliveries as Faultline's own API shows them (Sentry has no equivalent that
//! tools rely on, so the shapes follow Faultline's model, in snake_case). Channels are always masked.

use serde_json::{json, Map, Value};

use crate::domain::alerts::channel::Channel;
use crate::domain::alerts::{AlertRule, Threshold};
use crate::domain::event::Level;
use crate::store::alerts::DeliveryRecord;

use super::time::iso8601_ms;

fn threshold(threshold: Option<Threshold>) -> Value {
    threshold.map_or(Value::Null, |t| json!({ "count": t.count, "minutes": t.minutes }))
}

pub fn rule(rule: &AlertRule) -> Value {
    let (t, c) = (&rule.triggers, &rule.conditions);
    json!({
        "id": rule.id,
        "name": rule.name,
        "enabled": rule.enabled,
        "triggers": {
            "new_issue": t.new_issue,
            "regression": t.regression,
            "frequency": threshold(t.frequency),
            "users": threshold(t.users),
        },
        "conditions": {
            "min_level": c.min_level.map(Level::as_str),
            "environment": c.environment,
            "tag": c.tag.as_ref().map(|(key, value)| json!({ "key": key, "value": value })),
        },
        "cooldown_minutes": rule.cooldown_minutes,
        "channels": rule.channel_ids,
    })
}

/// The channel with its settings masked; `settings` holds the kind's fields without the `kind` tag.
/// `not_configured` is why the channel cannot send from this server (e-mail without SMTP settings), so a
/// client can tell a channel whose deliveries are skipped from a working one.
pub fn channel(channel: &Channel, not_configured: Option<&str>) -> Value {
    let mut settings = match serde_json::to_value(channel.config.masked()) {
        Ok(Value::Object(fields)) => fields,
        _ => Map::new(),
    };
    settings.remove("kind");
    json!({
        "id": channel.id,
        "name": channel.name,
        "kind": channel.config.kind(),
        "builtin": channel.builtin,
        "configured": not_configured.is_none(),
        "not_configured_reason": not_configured,
        "settings": settings,
        "created_at": iso8601_ms(channel.created_at),
        "updated_at": iso8601_ms(channel.updated_at),
    })
}

pub fn delivery(record: &DeliveryRecord) -> Value {
    json!({
        "id": record.id,
        "created_at": iso8601_ms(record.created_at),
        "rule_name": record.rule_name,
        "channel_id": record.channel_id,
        "channel_name": record.channel_name,
        "status": record.status,
        "attempts": record.attempts,
        "last_error": record.last_error,
        "last_attempt_at": record.last_attempt_at.map(iso8601_ms),
        "next_attempt_at": (record.status == "pending").then(|| iso8601_ms(record.next_attempt_at)),
        "sent_at": record.sent_at.map(iso8601_ms),
        "issue_count": record.issue_count,
    })
}
