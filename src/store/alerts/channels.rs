//! Notification channels of an organization. Settings are stored as JSON, secrets included; callers that
//! show them use `ChannelConfig::masked`.

use crate::domain::alerts::channel::{Channel, ChannelConfig};
use crate::domain::alerts::DEFAULT_COOLDOWN_MINUTES;
use crate::domain::{ChannelId, OrganizationId};

use super::super::{now_ms, on_pool, Db, StoreError};

/// Creates an organization's built-in "email to project members" channel (inside its creating transaction).
pub(in crate::store) const INSERT_BUILTIN_CHANNEL: &str =
    "INSERT INTO channels (organization_id, name, kind, settings, builtin, created_at, updated_at) \
     VALUES ($1, 'Email to project members', 'email', '{\"kind\":\"email\"}', TRUE, $2, $2)";

/// Creates a project's default rule (inside its creating transaction); `$3` is the cooldown.
pub(in crate::store) const INSERT_DEFAULT_RULE: &str =
    "INSERT INTO alert_rules (project_id, name, enabled, on_new_issue, on_regression, cooldown_minutes, \
     created_at, updated_at) VALUES ($1, 'New or regressed issue', TRUE, TRUE, TRUE, $3, $2, $2) RETURNING id";

/// Links the default rule `$1` to the built-in channel of organization `$2`.
pub(in crate::store) const LINK_DEFAULT_RULE: &str = "INSERT INTO alert_rule_channels (rule_id, channel_id) \
     SELECT $1, id FROM channels WHERE organization_id = $2 AND builtin = TRUE";

pub(in crate::store) const DEFAULT_RULE_COOLDOWN: i64 = DEFAULT_COOLDOWN_MINUTES;

#[derive(sqlx::FromRow)]
struct ChannelRow {
    id: ChannelId,
    organization_id: OrganizationId,
    name: String,
    builtin: bool,
    settings: String,
    created_at: i64,
    updated_at: i64,
}

impl ChannelRow {
    fn into_channel(self) -> Result<Channel, StoreError> {
        let config: ChannelConfig = serde_json::from_str(&self.settings)
            .map_err(|e| StoreError::Corrupt(format!("channel {} settings: {e}", self.id)))?;
        Ok(Channel {
            id: self.id,
            organization_id: self.organization_id,
            name: self.name,
            builtin: self.builtin,
            config,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

const CHANNEL_COLUMNS: &str = "id, organization_id, name, builtin, settings, created_at, updated_at";

pub async fn list_channels(db: &Db, organization_id: OrganizationId) -> Result<Vec<Channel>, StoreError> {
    let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE organization_id = $1 ORDER BY id");
    let rows: Vec<ChannelRow> = on_pool!(db, pool => sqlx::query_as(&sql).bind(organization_id).fetch_all(pool).await?);
    rows.into_iter().map(ChannelRow::into_channel).collect()
}

/// A channel of this organization; `None` for another organization's.
pub async fn get_channel(
    db: &Db,
    organization_id: OrganizationId,
    channel_id: ChannelId,
) -> Result<Option<Channel>, StoreError> {
    let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = $1 AND organization_id = $2");
    let row: Option<ChannelRow> = on_pool!(db, pool => sqlx::query_as(&sql)
        .bind(channel_id).bind(organization_id).fetch_optional(pool).await?);
    row.map(ChannelRow::into_channel).transpose()
}

/// Any channel by id, for the notifier (which acts for every organization).
pub(in crate::store) async fn channel_by_id(db: &Db, channel_id: ChannelId) -> Result<Option<Channel>, StoreError> {
    let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = $1");
    let row: Option<ChannelRow> =
        on_pool!(db, pool => sqlx::query_as(&sql).bind(channel_id).fetch_optional(pool).await?);
    row.map(ChannelRow::into_channel).transpose()
}

fn settings_json(config: &ChannelConfig) -> Result<String, StoreError> {
    serde_json::to_string(config).map_err(|e| StoreError::Corrupt(format!("channel settings: {e}")))
}

pub async fn create_channel(
    db: &Db,
    organization_id: OrganizationId,
    name: &str,
    config: &ChannelConfig,
) -> Result<Channel, StoreError> {
    let now = now_ms();
    let sql = "INSERT INTO channels (organization_id, name, kind, settings, builtin, created_at, updated_at) \
               VALUES ($1, $2, $3, $4, FALSE, $5, $5) RETURNING id";
    let settings = settings_json(config)?;
    let id: ChannelId = on_pool!(db, pool => sqlx::query_scalar(sql)
        .bind(organization_id).bind(name).bind(config.kind()).bind(&settings).bind(now)
        .fetch_one(pool).await?);
    get_channel(db, organization_id, id)
        .await?
        .ok_or_else(|| StoreError::NotFound("channel".into()))
}

/// Replaces a channel's name and settings; `None` when the organization has no such channel.
pub async fn update_channel(
    db: &Db,
    organization_id: OrganizationId,
    channel_id: ChannelId,
    name: &str,
    config: &ChannelConfig,
) -> Result<Option<Channel>, StoreError> {
    let sql = "UPDATE channels SET name = $1, kind = $2, settings = $3, updated_at = $4 \
               WHERE id = $5 AND organization_id = $6";
    let settings = settings_json(config)?;
    let changed = on_pool!(db, pool => sqlx::query(sql)
        .bind(name).bind(config.kind()).bind(&settings).bind(now_ms()).bind(channel_id).bind(organization_id)
        .execute(pool).await?.rows_affected());
    if changed == 0 {
        return Ok(None);
    }
    get_channel(db, organization_id, channel_id).await
}

/// How a request to delete a channel ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelDeletion {
    Deleted,
    NotFound,
    /// The built-in members channel stays; it can be edited or left out of rules.
    Builtin,
}

/// Deletes a channel; rules stop sending to it.
pub async fn delete_channel(
    db: &Db,
    organization_id: OrganizationId,
    channel_id: ChannelId,
) -> Result<ChannelDeletion, StoreError> {
    let sql = "DELETE FROM channels WHERE id = $1 AND organization_id = $2 AND builtin = FALSE";
    let deleted = on_pool!(db, pool => sqlx::query(sql)
        .bind(channel_id).bind(organization_id).execute(pool).await?.rows_affected());
    if deleted > 0 {
        return Ok(ChannelDeletion::Deleted);
    }
    Ok(match get_channel(db, organization_id, channel_id).await? {
        Some(_) => ChannelDeletion::Builtin,
        None => ChannelDeletion::NotFound,
    })
}

/// The e-mail addresses of an organization's members, who get the built-in channel's mail.
pub async fn member_emails(db: &Db, organization_id: OrganizationId) -> Result<Vec<String>, StoreError> {
    let sql = "SELECT u.email FROM members m JOIN users u ON u.id = m.user_id \
               WHERE m.organization_id = $1 ORDER BY u.email";
    Ok(on_pool!(db, pool => sqlx::query_scalar(sql).bind(organization_id).fetch_all(pool).await?))
}
