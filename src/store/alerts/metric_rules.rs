//! Metric rules: an `alert_rules` row of kind `metric` (name, enabled, cooldown and channels, as every rule
//! has) with its condition and evaluation state in `metric_rules`.

use crate::domain::alerts::metric::{Metric, MetricCondition, MetricRule, MetricRuleSpec, MetricState};
use crate::domain::{ChannelId, ProjectId, RuleId};
use std::collections::HashMap;

use super::super::{now_ms, on_pool, on_tx, Db, StoreError, Tx};
use super::rules::{check_channels, link_channels};

#[derive(sqlx::FromRow)]
struct MetricRuleRow {
    id: RuleId,
    project_id: ProjectId,
    name: String,
    enabled: bool,
    cooldown_minutes: i64,
    transaction_name: String,
    environment: Option<String>,
    metric: String,
    threshold: f64,
    window_minutes: i64,
    min_count: i64,
    firing: bool,
    last_fired_at: Option<i64>,
    last_value: Option<f64>,
    last_count: Option<i64>,
    evaluated_at: Option<i64>,
}

const SELECT_RULES: &str = "SELECT r.id, r.project_id, r.name, r.enabled, r.cooldown_minutes, m.transaction_name, \
    m.environment, m.metric, m.threshold, m.window_minutes, m.min_count, m.firing, m.last_fired_at, m.last_value, \
    m.last_count, m.evaluated_at FROM alert_rules r JOIN metric_rules m ON m.rule_id = r.id";
const SELECT_LINKS: &str = "SELECT rc.rule_id, rc.channel_id FROM alert_rule_channels rc \
    JOIN alert_rules r ON r.id = rc.rule_id";

impl MetricRuleRow {
    fn into_rule(self, channel_ids: Vec<ChannelId>) -> Result<MetricRule, StoreError> {
        let metric = Metric::parse(&self.metric)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown metric {:?} of rule {}", self.metric, self.id)))?;
        Ok(MetricRule {
            id: self.id,
            project_id: self.project_id,
            name: self.name,
            enabled: self.enabled,
            condition: MetricCondition {
                transaction: self.transaction_name,
                environment: self.environment,
                metric,
                threshold: self.threshold,
                window_minutes: self.window_minutes,
                min_count: self.min_count,
            },
            cooldown_minutes: self.cooldown_minutes,
            channel_ids,
            state: MetricState {
                firing: self.firing,
                last_fired_at: self.last_fired_at,
                last_value: self.last_value,
                last_count: self.last_count,
                evaluated_at: self.evaluated_at,
            },
        })
    }
}

fn attach_channels(rows: Vec<MetricRuleRow>, links: Vec<(RuleId, ChannelId)>) -> Result<Vec<MetricRule>, StoreError> {
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

/// Every enabled metric rule of every project, with its channels and state, for the evaluator.
pub async fn load_enabled_metric_rules(db: &Db) -> Result<Vec<MetricRule>, StoreError> {
    let sql = format!("{SELECT_RULES} WHERE r.enabled = TRUE ORDER BY r.id");
    let rows: Vec<MetricRuleRow> = on_pool!(db, pool => sqlx::query_as(&sql).fetch_all(pool).await?);
    let links = format!("{SELECT_LINKS} WHERE r.kind = 'metric' AND r.enabled = TRUE");
    let links: Vec<(RuleId, ChannelId)> = on_pool!(db, pool => sqlx::query_as(&links).fetch_all(pool).await?);
    attach_channels(rows, links)
}

/// The project's metric rules, oldest first.
pub async fn list_metric_rules(db: &Db, project_id: ProjectId) -> Result<Vec<MetricRule>, StoreError> {
    let sql = format!("{SELECT_RULES} WHERE r.project_id = $1 ORDER BY r.id");
    let rows: Vec<MetricRuleRow> = on_pool!(db, pool => sqlx::query_as(&sql).bind(project_id).fetch_all(pool).await?);
    let links = format!("{SELECT_LINKS} WHERE r.kind = 'metric' AND r.project_id = $1");
    let links: Vec<(RuleId, ChannelId)> =
        on_pool!(db, pool => sqlx::query_as(&links).bind(project_id).fetch_all(pool).await?);
    attach_channels(rows, links)
}

/// A metric rule of this project; `None` for another project's rule or an issue rule.
pub async fn get_metric_rule(
    db: &Db,
    project_id: ProjectId,
    rule_id: RuleId,
) -> Result<Option<MetricRule>, StoreError> {
    Ok(list_metric_rules(db, project_id)
        .await?
        .into_iter()
        .find(|rule| rule.id == rule_id))
}

/// Creates a metric rule, not firing. Its channels must belong to the project's organization.
pub async fn create_metric_rule(
    db: &Db,
    project_id: ProjectId,
    spec: &MetricRuleSpec,
) -> Result<MetricRule, StoreError> {
    check_channels(db, project_id, &spec.channel_ids).await?;
    let rule = "INSERT INTO alert_rules (project_id, name, enabled, on_new_issue, on_regression, cooldown_minutes, \
                kind, created_at, updated_at) VALUES ($1, $2, $3, FALSE, FALSE, $4, 'metric', $5, $5) RETURNING id";
    let mut tx = Tx::begin(db).await?;
    let id: RuleId = on_tx!(&mut tx, conn, Backend => sqlx::query_scalar(rule)
        .bind(project_id)
        .bind(&spec.name)
        .bind(spec.enabled)
        .bind(spec.cooldown_minutes)
        .bind(now_ms())
        .fetch_one(&mut *conn)
        .await?);
    let condition = "INSERT INTO metric_rules (rule_id, transaction_name, environment, metric, threshold, \
                     window_minutes, min_count) VALUES ($7, $1, $2, $3, $4, $5, $6)";
    bind_condition(&mut tx, condition, id, &spec.condition).await?;
    link_channels(&mut tx, id, &spec.channel_ids).await?;
    tx.commit().await?;
    get_metric_rule(db, project_id, id)
        .await?
        .ok_or_else(|| StoreError::NotFound("rule".into()))
}

/// Runs `sql` with the condition bound as `$1`–`$6` and the rule's id as `$7`.
async fn bind_condition(tx: &mut Tx, sql: &str, id: RuleId, c: &MetricCondition) -> Result<(), StoreError> {
    on_tx!(tx, conn, Backend => sqlx::query(sql)
        .bind(&c.transaction)
        .bind(&c.environment)
        .bind(c.metric.as_str())
        .bind(c.threshold)
        .bind(c.window_minutes)
        .bind(c.min_count)
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected());
    Ok(())
}

/// Replaces a metric rule's settings and channels; `None` when the project has no such metric rule. A rule
/// whose condition changed starts afresh (not firing, no cooldown): its earlier crossings were about
/// something else. A rename or a new channel keeps its state.
pub async fn update_metric_rule(
    db: &Db,
    project_id: ProjectId,
    rule_id: RuleId,
    spec: &MetricRuleSpec,
) -> Result<Option<MetricRule>, StoreError> {
    let Some(stored) = get_metric_rule(db, project_id, rule_id).await? else {
        return Ok(None);
    };
    check_channels(db, project_id, &spec.channel_ids).await?;
    let rule = "UPDATE alert_rules SET name = $1, enabled = $2, cooldown_minutes = $3, updated_at = $4 \
                WHERE id = $5 AND project_id = $6 AND kind = 'metric'";
    let mut tx = Tx::begin(db).await?;
    let changed = on_tx!(&mut tx, conn, Backend => sqlx::query(rule)
        .bind(&spec.name)
        .bind(spec.enabled)
        .bind(spec.cooldown_minutes)
        .bind(now_ms())
        .bind(rule_id)
        .bind(project_id)
        .execute(&mut *conn)
        .await?
        .rows_affected());
    if changed == 0 {
        return Ok(None);
    }
    let condition = if stored.condition == spec.condition {
        "UPDATE metric_rules SET transaction_name = $1, environment = $2, metric = $3, threshold = $4, \
         window_minutes = $5, min_count = $6 WHERE rule_id = $7"
    } else {
        "UPDATE metric_rules SET transaction_name = $1, environment = $2, metric = $3, threshold = $4, \
         window_minutes = $5, min_count = $6, firing = FALSE, last_fired_at = NULL, last_value = NULL, \
         last_count = NULL, evaluated_at = NULL WHERE rule_id = $7"
    };
    bind_condition(&mut tx, condition, rule_id, &spec.condition).await?;
    link_channels(&mut tx, rule_id, &spec.channel_ids).await?;
    tx.commit().await?;
    get_metric_rule(db, project_id, rule_id).await
}

/// Deletes a metric rule with its state and pending fires; its past deliveries stay in the log.
pub async fn delete_metric_rule(db: &Db, project_id: ProjectId, rule_id: RuleId) -> Result<bool, StoreError> {
    let sql = "DELETE FROM alert_rules WHERE id = $1 AND project_id = $2 AND kind = 'metric'";
    let deleted =
        on_pool!(db, pool => sqlx::query(sql).bind(rule_id).bind(project_id).execute(pool).await?.rows_affected());
    Ok(deleted > 0)
}
