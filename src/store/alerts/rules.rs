//! Alert rules of a project and the channels each sends to. Only rules of kind `issue` are read and written
//! here; metric rules share the table (and so the channels, messages and delivery log) but have their own
//! functions in `metric_rules`.

use crate::domain::{ChannelId, ProjectId, RuleId};
use std::collections::HashMap;

use crate::domain::alerts::{AlertRule, Conditions, RuleSet, RuleSpec, Threshold, Triggers};
use crate::domain::event::Level;

use super::super::{now_ms, on_pool, on_tx, Db, StoreError, Tx};

#[derive(sqlx::FromRow)]
struct RuleRow {
    id: RuleId,
    project_id: ProjectId,
    name: String,
    enabled: bool,
    on_new_issue: bool,
    on_regression: bool,
    frequency_count: Option<i64>,
    frequency_minutes: Option<i64>,
    users_count: Option<i64>,
    users_minutes: Option<i64>,
    min_level: Option<String>,
    environment: Option<String>,
    tag_key: Option<String>,
    tag_value: Option<String>,
    cooldown_minutes: i64,
}

const RULE_COLUMNS: &str = "id, project_id, name, enabled, on_new_issue, on_regression, frequency_count, \
    frequency_minutes, users_count, users_minutes, min_level, environment, tag_key, tag_value, cooldown_minutes";

impl RuleRow {
    fn into_rule(self, channel_ids: Vec<ChannelId>) -> AlertRule {
        let threshold = |count: Option<i64>, minutes: Option<i64>| {
            Some(Threshold {
                count: count?,
                minutes: minutes?,
            })
        };
        AlertRule {
            id: self.id,
            project_id: self.project_id,
            name: self.name,
            enabled: self.enabled,
            triggers: Triggers {
                new_issue: self.on_new_issue,
                regression: self.on_regression,
                frequency: threshold(self.frequency_count, self.frequency_minutes),
                users: threshold(self.users_count, self.users_minutes),
            },
            conditions: Conditions {
                min_level: self.min_level.as_deref().and_then(Level::parse),
                environment: self.environment,
                tag: self.tag_key.zip(self.tag_value),
            },
            cooldown_minutes: self.cooldown_minutes,
            channel_ids,
        }
    }
}

/// Every enabled rule with its channels, for the writer.
pub async fn load_rule_set(db: &Db) -> Result<RuleSet, StoreError> {
    let sql = format!("SELECT {RULE_COLUMNS} FROM alert_rules WHERE enabled = TRUE AND kind = 'issue'");
    let rows: Vec<RuleRow> = on_pool!(db, pool => sqlx::query_as(&sql).fetch_all(pool).await?);
    let links = "SELECT rc.rule_id, rc.channel_id FROM alert_rule_channels rc \
                 JOIN alert_rules r ON r.id = rc.rule_id WHERE r.enabled = TRUE";
    let links: Vec<(RuleId, ChannelId)> = on_pool!(db, pool => sqlx::query_as(links).fetch_all(pool).await?);
    Ok(RuleSet::new(attach_channels(rows, links)))
}

fn attach_channels(rows: Vec<RuleRow>, links: Vec<(RuleId, ChannelId)>) -> Vec<AlertRule> {
    let mut channels: HashMap<RuleId, Vec<ChannelId>> = HashMap::new();
    for (rule_id, channel_id) in links {
        channels.entry(rule_id).or_default().push(channel_id);
    }
    rows.into_iter()
        .map(|row| {
            let mut ids = channels.remove(&row.id).unwrap_or_default();
            ids.sort_unstable();
            row.into_rule(ids)
        })
        .collect()
}

pub async fn list_rules(db: &Db, project_id: ProjectId) -> Result<Vec<AlertRule>, StoreError> {
    let sql = format!("SELECT {RULE_COLUMNS} FROM alert_rules WHERE project_id = $1 AND kind = 'issue' ORDER BY id");
    let rows: Vec<RuleRow> = on_pool!(db, pool => sqlx::query_as(&sql).bind(project_id).fetch_all(pool).await?);
    let links = "SELECT rc.rule_id, rc.channel_id FROM alert_rule_channels rc \
                 JOIN alert_rules r ON r.id = rc.rule_id WHERE r.project_id = $1";
    let links: Vec<(RuleId, ChannelId)> =
        on_pool!(db, pool => sqlx::query_as(links).bind(project_id).fetch_all(pool).await?);
    Ok(attach_channels(rows, links))
}

/// A rule of this project; `None` for a rule of another project.
pub async fn get_rule(db: &Db, project_id: ProjectId, rule_id: RuleId) -> Result<Option<AlertRule>, StoreError> {
    Ok(list_rules(db, project_id)
        .await?
        .into_iter()
        .find(|rule| rule.id == rule_id))
}

/// Creates a rule. Its channels must belong to the project's organization.
pub async fn create_rule(db: &Db, project_id: ProjectId, spec: &RuleSpec) -> Result<AlertRule, StoreError> {
    check_channels(db, project_id, &spec.channel_ids).await?;
    let now = now_ms();
    // A bare row first; `write_rule` then fills it exactly as an edit would.
    let insert = "INSERT INTO alert_rules (project_id, name, enabled, on_new_issue, on_regression, \
                  cooldown_minutes, created_at, updated_at) VALUES ($1, '', FALSE, FALSE, FALSE, 0, $2, $2) RETURNING id";
    let mut tx = Tx::begin(db).await?;
    let id: RuleId = on_tx!(&mut tx, conn, Backend => sqlx::query_scalar(insert)
        .bind(project_id).bind(now).fetch_one(&mut *conn).await?);
    write_rule(&mut tx, project_id, id, spec).await?;
    tx.commit().await?;
    get_rule(db, project_id, id)
        .await?
        .ok_or_else(|| StoreError::NotFound("rule".into()))
}

/// Replaces a rule's settings and channels; `None` when the project has no such rule.
pub async fn update_rule(
    db: &Db,
    project_id: ProjectId,
    rule_id: RuleId,
    spec: &RuleSpec,
) -> Result<Option<AlertRule>, StoreError> {
    check_channels(db, project_id, &spec.channel_ids).await?;
    let mut tx = Tx::begin(db).await?;
    let found = write_rule(&mut tx, project_id, rule_id, spec).await?;
    tx.commit().await?;
    if !found {
        return Ok(None);
    }
    get_rule(db, project_id, rule_id).await
}

/// Writes the spec into the rule's row and replaces its channel links; `false` when the project has no such rule.
async fn write_rule(tx: &mut Tx, project_id: ProjectId, rule_id: RuleId, spec: &RuleSpec) -> Result<bool, StoreError> {
    let sql = "UPDATE alert_rules SET name = $1, enabled = $2, on_new_issue = $3, on_regression = $4, \
               frequency_count = $5, frequency_minutes = $6, users_count = $7, users_minutes = $8, min_level = $9, \
               environment = $10, tag_key = $11, tag_value = $12, cooldown_minutes = $13, updated_at = $14 \
               WHERE id = $15 AND project_id = $16 AND kind = 'issue'";
    let (t, c) = (&spec.triggers, &spec.conditions);
    let changed = on_tx!(tx, conn, Backend => sqlx::query(sql)
        .bind(&spec.name)
        .bind(spec.enabled)
        .bind(t.new_issue)
        .bind(t.regression)
        .bind(t.frequency.map(|f| f.count))
        .bind(t.frequency.map(|f| f.minutes))
        .bind(t.users.map(|u| u.count))
        .bind(t.users.map(|u| u.minutes))
        .bind(c.min_level.map(Level::as_str))
        .bind(&c.environment)
        .bind(c.tag.as_ref().map(|(k, _)| k))
        .bind(c.tag.as_ref().map(|(_, v)| v))
        .bind(spec.cooldown_minutes)
        .bind(now_ms())
        .bind(rule_id)
        .bind(project_id)
        .execute(&mut *conn)
        .await?
        .rows_affected());
    if changed == 0 {
        return Ok(false);
    }
    link_channels(tx, rule_id, &spec.channel_ids).await?;
    Ok(true)
}

/// Replaces the rule's channel links (of either kind of rule).
pub(super) async fn link_channels(tx: &mut Tx, rule_id: RuleId, channel_ids: &[ChannelId]) -> Result<(), StoreError> {
    let unlink = "DELETE FROM alert_rule_channels WHERE rule_id = $1";
    on_tx!(tx, conn, Backend => sqlx::query(unlink).bind(rule_id).execute(&mut *conn).await?.rows_affected());
    let link = "INSERT INTO alert_rule_channels (rule_id, channel_id) VALUES ($1, $2)";
    for channel_id in channel_ids {
        on_tx!(tx, conn, Backend => sqlx::query(link).bind(rule_id).bind(channel_id).execute(&mut *conn).await?.rows_affected());
    }
    Ok(())
}

/// Turns a rule on or off; `false` when the project has no such rule.
pub async fn set_rule_enabled(
    db: &Db,
    project_id: ProjectId,
    rule_id: RuleId,
    enabled: bool,
) -> Result<bool, StoreError> {
    let sql =
        "UPDATE alert_rules SET enabled = $1, updated_at = $2 WHERE id = $3 AND project_id = $4 AND kind = 'issue'";
    let changed = on_pool!(db, pool => sqlx::query(sql)
        .bind(enabled).bind(now_ms()).bind(rule_id).bind(project_id)
        .execute(pool).await?.rows_affected());
    Ok(changed > 0)
}

/// Deletes a rule with its pending fires; its past deliveries stay in the log.
pub async fn delete_rule(db: &Db, project_id: ProjectId, rule_id: RuleId) -> Result<bool, StoreError> {
    let sql = "DELETE FROM alert_rules WHERE id = $1 AND project_id = $2 AND kind = 'issue'";
    let deleted =
        on_pool!(db, pool => sqlx::query(sql).bind(rule_id).bind(project_id).execute(pool).await?.rows_affected());
    Ok(deleted > 0)
}

/// Refuses channels that are not the project organization's own.
pub(super) async fn check_channels(
    db: &Db,
    project_id: ProjectId,
    channel_ids: &[ChannelId],
) -> Result<(), StoreError> {
    let sql = "SELECT c.id FROM channels c JOIN projects p ON p.organization_id = c.organization_id \
               WHERE p.id = $1";
    let owned: Vec<ChannelId> = on_pool!(db, pool => sqlx::query_scalar(sql).bind(project_id).fetch_all(pool).await?);
    match channel_ids.iter().find(|id| !owned.contains(id)) {
        Some(id) => Err(StoreError::NotFound(format!("channel {id}"))),
        None => Ok(()),
    }
}
