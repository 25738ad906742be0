//! Alerting's tables: rules and channels (edited from the UI and API), the trigger windows and cooldowns
//! the writer keeps, and the outbox of fires, messages and deliveries the notifier works through.

mod channels;
mod fires;
mod messages;
mod outbox;
mod rules;

use crate::domain::ChannelId;
pub use channels::{
    create_channel, delete_channel, get_channel, list_channels, member_emails, update_channel, ChannelDeletion,
};
pub(super) use channels::{DEFAULT_RULE_COOLDOWN, INSERT_BUILTIN_CHANNEL, INSERT_DEFAULT_RULE, LINK_DEFAULT_RULE};
pub(super) use fires::{record_fires, BatchFacts};
pub use messages::{list_deliveries, load_message, DeliveryRecord, MessageContent, MessageHeader, MessageIssue};
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
