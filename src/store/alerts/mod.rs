//! Alerting's tables: rules and channels (edited from the UI and API), the trigger windows and cooldowns
//! the writer keeps, metric rules and their evaluator's state, the outbox of fires (issue and metric
//! alike), messages and deliveries the notifier works through, and the PagerDuty incidents a resolution closes.

mod channels;
mod fires;
mod incidents;
mod messages;
mod metric_fires;
mod metric_rules;
mod outbox;
mod rules;

use crate::domain::ChannelId;
pub use channels::{
    create_channel, delete_channel, get_channel, list_channels, member_emails, update_channel, ChannelDeletion,
};
pub(super) use channels::{DEFAULT_RULE_COOLDOWN, INSERT_BUILTIN_CHANNEL, INSERT_DEFAULT_RULE, LINK_DEFAULT_RULE};
pub use fires::Fired;
pub(super) use fires::{record_fires, BatchFacts};
pub use incidents::{queue_incident_resolves, remember_incidents};
pub use messages::{
    list_deliveries, load_message, DeliveryRecord, MessageContent, MessageHeader, MessageIssue, MessageMetric,
};
pub use metric_fires::{record_evaluations, window_stats, Evaluated};
pub use metric_rules::{
    create_metric_rule, delete_metric_rule, get_metric_rule, list_metric_rules, load_enabled_metric_rules,
    update_metric_rule,
};
pub use outbox::{
    claim_deliveries, dispatch_fires, mark_failed, mark_retry, mark_sent, mark_skipped, prune, ClaimedDelivery,
    NotConfigured,
};
pub use rules::{create_rule, delete_rule, get_rule, list_rules, load_rule_set, set_rule_enabled, update_rule};

/// Any channel by id, for the notifier, which sends for every organization.
pub async fn channel_for_delivery(
    db: &super::Db,
    channel_id: ChannelId,
) -> Result<Option<crate::domain::alerts::channel::Channel>, super::StoreError> {
    channels::channel_by_id(db, channel_id).await
}
