//! The metric evaluator's reads and writes: a watched transaction's rollups over a window, and a round of
//! evaluations stored in one transaction (each rule's new state, and an outbox row for every crossing), so
//! the notifier delivers metric alerts exactly as it delivers issue alerts.

use crate::domain::alerts::metric::{Evaluation, MetricRule, Transition, WindowStats};
use crate::domain::performance::histogram::Histogram;
use crate::domain::{ProjectId, RuleId};

use super::super::{on_pool, on_tx, Db, StoreError, Tx};

/// The rollups of one transaction name (all its releases and operations, in one environment or all) whose
/// minutes start from `since_ms` to `until_ms`.
pub async fn window_stats(
    db: &Db,
    project_id: ProjectId,
    transaction: &str,
    environment: Option<&str>,
    since_ms: i64,
    until_ms: i64,
) -> Result<WindowStats, StoreError> {
    let totals = "SELECT CAST(COALESCE(SUM(m.count), 0) AS BIGINT), CAST(COALESCE(SUM(m.failures), 0) AS BIGINT) \
                  FROM transaction_names n JOIN transaction_minutes m ON m.name_id = n.id \
                  WHERE n.project_id = $1 AND n.name = $2 AND ($3 IS NULL OR n.environment = $3) \
                  AND m.minute >= $4 AND m.minute <= $5";
    let (count, failures): (i64, i64) = on_pool!(db, pool => sqlx::query_as(totals)
        .bind(project_id)
        .bind(transaction)
        .bind(environment)
        .bind(since_ms)
        .bind(until_ms)
        .fetch_one(pool)
        .await?);
    if count == 0 {
        return Ok(WindowStats::default());
    }
    let buckets = "SELECT b.bucket, CAST(SUM(b.count) AS BIGINT) \
                   FROM transaction_names n JOIN transaction_buckets b ON b.name_id = n.id \
                   WHERE n.project_id = $1 AND n.name = $2 AND ($3 IS NULL OR n.environment = $3) \
                   AND b.minute >= $4 AND b.minute <= $5 GROUP BY b.bucket";
    let buckets: Vec<(i32, i64)> = on_pool!(db, pool => sqlx::query_as(buckets)
        .bind(project_id)
        .bind(transaction)
        .bind(environment)
        .bind(since_ms)
        .bind(until_ms)
        .fetch_all(pool)
        .await?);
    let histogram = Histogram::from_counts(buckets.into_iter().map(|(b, c)| (b.max(0) as usize, c)));
    Ok(WindowStats {
        count,
        failures,
        crashed: 0,
        histogram,
    })
}

/// A rule and what evaluating it found.
pub struct Evaluated<'a> {
    pub rule: &'a MetricRule,
    pub evaluation: Evaluation,
}

/// Stores a round of evaluations in one transaction and returns the crossings recorded. A rule's new state
/// is stored only while its `firing` is still what the evaluator read, and a crossing's outbox row only
/// with it: an evaluator whose lease ran out during the round, racing the next one, never announces a
/// crossing twice.
pub async fn record_evaluations(
    db: &Db,
    round: &[Evaluated<'_>],
    now_ms: i64,
) -> Result<Vec<(RuleId, Transition)>, StoreError> {
    let mut recorded = Vec::new();
    if round.is_empty() {
        return Ok(recorded);
    }
    let mut tx = Tx::begin(db).await?;
    for evaluated in round {
        let stored = store_state(&mut tx, evaluated).await?;
        if let (true, Some(transition)) = (stored, evaluated.evaluation.transition) {
            insert_fire(&mut tx, evaluated, transition, now_ms).await?;
            recorded.push((evaluated.rule.id, transition));
        }
    }
    tx.commit().await?;
    Ok(recorded)
}

async fn store_state(tx: &mut Tx, evaluated: &Evaluated<'_>) -> Result<bool, StoreError> {
    let sql = "UPDATE metric_rules SET firing = $1, last_fired_at = $2, last_value = $3, last_count = $4, \
               evaluated_at = $5 WHERE rule_id = $6 AND firing = $7";
    let next = evaluated.evaluation.next;
    let changed = on_tx!(tx, conn, Backend => sqlx::query(sql)
        .bind(next.firing)
        .bind(next.last_fired_at)
        .bind(next.last_value)
        .bind(next.last_count)
        .bind(next.evaluated_at)
        .bind(evaluated.rule.id)
        .bind(evaluated.rule.state.firing)
        .execute(&mut *conn)
        .await?
        .rows_affected());
    Ok(changed == 1)
}

/// The outbox row of a crossing: what was measured, against which condition, due at once.
async fn insert_fire(
    tx: &mut Tx,
    evaluated: &Evaluated<'_>,
    transition: Transition,
    now_ms: i64,
) -> Result<(), StoreError> {
    let sql = "INSERT INTO alert_fires (rule_id, reason, environment, created_at, due_at, metric, transaction_name, \
               metric_value, metric_threshold, metric_count, window_minutes) \
               VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9, $10)";
    let (rule, evaluation) = (evaluated.rule, &evaluated.evaluation);
    let condition = &rule.condition;
    on_tx!(tx, conn, Backend => sqlx::query(sql)
        .bind(rule.id)
        .bind(transition.as_str())
        .bind(&condition.environment)
        .bind(now_ms)
        .bind(condition.metric.as_str())
        .bind(&condition.transaction)
        .bind(evaluation.value)
        .bind(condition.threshold)
        .bind(evaluation.count)
        .bind(condition.window_minutes)
        .execute(&mut *conn)
        .await?
        .rows_affected());
    Ok(())
}
