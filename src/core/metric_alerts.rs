//! Metric alerts: rules over a transaction's rollups, as people change them and as the evaluator runs
//! them. A round reads each enabled rule's window from the rollups, lets `domain::alerts::metric` decide,
//! and stores every state and crossing in one transaction; the notifier then delivers the crossings through
//! the rule's channels like any alert. One process at a time evaluates, under a lease. Changing a rule
//! needs `project:write`.

use crate::domain::alerts::metric::{window_start, Metric, MetricRule, MetricRuleSpec, Transition, WindowStats};
use crate::domain::release_health::HOUR_MS;
use crate::domain::RuleId;
use crate::store::alerts::{self, Evaluated};
use crate::store::projects::Project;
use crate::store::release_health::{self, HealthFilter};
use crate::store::{now_ms, retention, StoreError};

use super::alerts::rules_writable;
use super::{Access, Core, CoreError, CoreResult};

const LEASE_JOB: &str = "metric_alerts";

#[tracing::instrument(skip(core, access, project, spec), fields(project = project.id.get()))]
pub async fn create_metric_rule(
    core: &Core,
    access: &Access,
    project: &Project,
    spec: MetricRuleSpec,
) -> CoreResult<MetricRule> {
    rules_writable(access, project)?;
    let spec = spec.validate().map_err(CoreError::invalid)?;
    Ok(alerts::create_metric_rule(&core.db, project.id, &spec).await?)
}

#[tracing::instrument(skip(core, access, project, spec), fields(project = project.id.get()))]
pub async fn update_metric_rule(
    core: &Core,
    access: &Access,
    project: &Project,
    rule_id: RuleId,
    spec: MetricRuleSpec,
) -> CoreResult<MetricRule> {
    rules_writable(access, project)?;
    let spec = spec.validate().map_err(CoreError::invalid)?;
    alerts::update_metric_rule(&core.db, project.id, rule_id, &spec)
        .await?
        .ok_or(CoreError::NotFound)
}

#[tracing::instrument(skip(core, access, project), fields(project = project.id.get()))]
pub async fn delete_metric_rule(core: &Core, access: &Access, project: &Project, rule_id: RuleId) -> CoreResult<()> {
    rules_writable(access, project)?;
    let found = alerts::delete_metric_rule(&core.db, project.id, rule_id).await?;
    found.then_some(()).ok_or(CoreError::NotFound)
}

/// What one evaluation round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    pub evaluated: usize,
    pub fired: usize,
    pub resolved: usize,
}

/// Runs a round if this process holds the evaluator's lease (taken for `lease_ms`); `None` when another
/// process holds it.
pub async fn evaluate_if_leader(core: &Core, holder: &str, lease_ms: i64) -> Result<Option<Round>, StoreError> {
    let now = now_ms();
    if !retention::take_lease(&core.db, LEASE_JOB, holder, now, now + lease_ms).await? {
        return Ok(None);
    }
    evaluate(core, now).await.map(Some)
}

/// The rule's window: the transaction's rollups by the minute, or for crash-free sessions the release's
/// sessions of every hour the window touches (sessions are counted per hour, so a 10-minute window reads the
/// current hour).
async fn window(core: &Core, rule: &MetricRule, now: i64) -> Result<WindowStats, StoreError> {
    let condition = &rule.condition;
    let since = window_start(now, condition.window_minutes);
    if condition.metric != Metric::CrashFreeSessions {
        let environment = condition.environment.as_deref();
        return alerts::window_stats(
            &core.db,
            rule.project_id,
            &condition.transaction,
            environment,
            since,
            now,
        )
        .await;
    }
    let projects = [rule.project_id];
    let filter = HealthFilter {
        projects: &projects,
        since_ms: since - since.rem_euclid(HOUR_MS),
        until_ms: now + 1,
        environment: condition.environment.as_deref(),
        release: Some(&condition.transaction),
    };
    let hours = release_health::hours(&core.db, &filter).await?;
    Ok(WindowStats {
        count: hours.iter().map(|h| h.started).sum(),
        crashed: hours.iter().map(|h| h.crashed).sum(),
        ..WindowStats::default()
    })
}

/// Evaluates every enabled metric rule that has a channel, as of `now` (epoch ms), and wakes the notifier
/// when a rule fired or resolved.
#[tracing::instrument(skip(core))]
pub async fn evaluate(core: &Core, now: i64) -> Result<Round, StoreError> {
    let mut rules = alerts::load_enabled_metric_rules(&core.db).await?;
    rules.retain(|rule| !rule.channel_ids.is_empty());
    let mut round = Vec::with_capacity(rules.len());
    for rule in &rules {
        let stats = window(core, rule, now).await?;
        round.push(Evaluated {
            rule,
            evaluation: rule.evaluate(&stats, now),
        });
    }
    let recorded = alerts::record_evaluations(&core.db, &round, now).await?;
    if !recorded.is_empty() {
        core.outbox_wake.notify_one();
    }
    let count = |wanted: Transition| recorded.iter().filter(|(_, t)| *t == wanted).count();
    Ok(Round {
        evaluated: round.len(),
        fired: count(Transition::Fire),
        resolved: count(Transition::Resolve),
    })
}
