//! What a message says, read at sending time (so its counts are current), and the delivery log.

use super::super::{on_pool, Db, StoreError};
use crate::domain::{ChannelId, IssueId, OrganizationId, ProjectId, RuleId};

/// One issue of a message with its counts now.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MessageIssue {
    pub issue_id: IssueId,
    pub short_id: i64,
    pub title: String,
    pub culprit: String,
    pub level: String,
    /// The issue's status now (`resolved`, …), not when it fired.
    pub status: String,
    pub reason: String,
    pub environment: Option<String>,
    pub release: Option<String>,
    pub times_seen: i64,
    pub user_count: i64,
    pub first_seen: i64,
    pub last_seen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MessageHeader {
    /// `None` once the rule is deleted, and for a resolve.
    pub rule_id: Option<RuleId>,
    pub rule_name: String,
    pub project_id: ProjectId,
    pub project_slug: String,
    pub project_name: String,
    pub organization_id: OrganizationId,
    pub organization_slug: String,
    /// Set on a message that resolves this issue's PagerDuty incidents; it has no fires.
    pub resolved_issue_id: Option<IssueId>,
}

/// One crossing of a metric rule, as the evaluator recorded it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct MessageMetric {
    /// `metric_fired` or `metric_resolved`.
    pub reason: String,
    pub metric: String,
    pub transaction_name: String,
    pub environment: Option<String>,
    /// `None` when too few transactions were left to measure.
    pub metric_value: Option<f64>,
    pub metric_threshold: f64,
    pub metric_count: i64,
    pub window_minutes: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MessageContent {
    pub header: MessageHeader,
    /// In firing order, each issue once; empty when they were all deleted meanwhile.
    pub issues: Vec<MessageIssue>,
    /// A metric rule's crossings, oldest first (a message is about issues or about metrics, never both).
    pub metrics: Vec<MessageMetric>,
}

impl MessageContent {
    /// Nothing left to say: its issues were deleted meanwhile.
    pub fn is_empty(&self) -> bool {
        self.issues.is_empty() && self.metrics.is_empty() && self.header.resolved_issue_id.is_none()
    }
}

pub async fn load_message(db: &Db, message_id: i64) -> Result<Option<MessageContent>, StoreError> {
    let header = "SELECT m.rule_id, COALESCE(r.name, '(deleted rule)') AS rule_name, p.id AS project_id, \
                  p.slug AS project_slug, p.name AS project_name, o.id AS organization_id, \
                  o.slug AS organization_slug, m.resolved_issue_id FROM alert_messages m \
                  JOIN projects p ON p.id = m.project_id JOIN organizations o ON o.id = p.organization_id \
                  LEFT JOIN alert_rules r ON r.id = m.rule_id WHERE m.id = $1";
    let header: Option<MessageHeader> =
        on_pool!(db, pool => sqlx::query_as(header).bind(message_id).fetch_optional(pool).await?);
    let Some(header) = header else {
        return Ok(None);
    };
    let issues =
        "SELECT f.issue_id, i.short_id, i.title, i.culprit, i.level, i.status, f.reason, f.environment, f.release, \
                  i.times_seen, i.user_count, i.first_seen, i.last_seen FROM alert_fires f \
                  JOIN issues i ON i.id = f.issue_id WHERE f.message_id = $1 ORDER BY f.id";
    let mut issues: Vec<MessageIssue> =
        on_pool!(db, pool => sqlx::query_as(issues).bind(message_id).fetch_all(pool).await?);
    let mut seen = std::collections::HashSet::new();
    issues.retain(|issue| seen.insert(issue.issue_id));
    let metrics = "SELECT reason, metric, transaction_name, environment, metric_value, metric_threshold, \
                   metric_count, window_minutes, created_at FROM alert_fires \
                   WHERE message_id = $1 AND metric IS NOT NULL ORDER BY id";
    let metrics: Vec<MessageMetric> =
        on_pool!(db, pool => sqlx::query_as(metrics).bind(message_id).fetch_all(pool).await?);
    Ok(Some(MessageContent {
        header,
        issues,
        metrics,
    }))
}

/// One line of a project's delivery log.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeliveryRecord {
    pub id: i64,
    pub created_at: i64,
    pub rule_name: String,
    pub channel_id: Option<ChannelId>,
    pub channel_name: String,
    /// pending, sending, sent, failed, or skipped (never tried: the channel is not configured on this server).
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_attempt_at: Option<i64>,
    pub last_error: Option<String>,
    pub sent_at: Option<i64>,
    pub issue_count: i64,
}

/// The project's newest deliveries first.
pub async fn list_deliveries(db: &Db, project_id: ProjectId, limit: i64) -> Result<Vec<DeliveryRecord>, StoreError> {
    let sql = "SELECT d.id, d.created_at, d.rule_name, d.channel_id, d.channel_name, d.status, d.attempts, \
               d.next_attempt_at, d.last_attempt_at, d.last_error, d.sent_at, \
               (SELECT COUNT(*) FROM alert_fires f WHERE f.message_id = d.message_id AND f.issue_id IS NOT NULL) \
               AS issue_count \
               FROM deliveries d WHERE d.project_id = $1 ORDER BY d.id DESC LIMIT $2";
    Ok(on_pool!(db, pool => sqlx::query_as(sql).bind(project_id).bind(limit).fetch_all(pool).await?))
}
