//! The writer's side of alerting, inside the batch transaction: keep the trigger windows, evaluate the
//! rules, apply the cooldowns and write the outbox rows. A handful of statements per batch, none per event,
//! and none at all for batches whose projects have no rules.

use std::collections::{HashMap, HashSet};

use sqlx::QueryBuilder;

use crate::domain::alerts::{evaluate, BatchIssue, Candidate, EventFacts, RuleSet, WindowCounts};
use crate::domain::event::Level;

use super::super::{on_tx, NewEvent, StoreError, Tx};

const MINUTE_MS: i64 = 60_000;
const ROW_CHUNK: usize = 500;

/// What the batch did that rules look at.
pub(in crate::store) struct BatchFacts<'a> {
    pub events: &'a [NewEvent],
    pub fresh: &'a [usize],
    pub issue_of: &'a [i64],
    pub new_issues: &'a HashSet<i64>,
    pub regressed: &'a HashSet<i64>,
    pub ignored: &'a HashSet<i64>,
    pub now_ms: i64,
}

/// Evaluates the rules over the batch and records what fires; returns how many fires were written.
pub(in crate::store) async fn record_fires(
    tx: &mut Tx,
    rules: &RuleSet,
    batch: &BatchFacts<'_>,
) -> Result<usize, StoreError> {
    let alerting: Vec<usize> = batch
        .fresh
        .iter()
        .copied()
        .filter(|&i| !rules.for_project(batch.events[i].project_id).is_empty())
        .collect();
    if alerting.is_empty() {
        return Ok(0);
    }
    let counts = keep_windows(tx, rules, batch, &alerting).await?;
    let issues = batch_issues(batch, &alerting);
    let candidates = evaluate(rules, &issues, &counts);
    if candidates.is_empty() {
        return Ok(0);
    }
    let firing = pass_cooldowns(tx, &candidates, batch.now_ms).await?;
    insert_fires(tx, &firing, batch.now_ms).await?;
    Ok(firing.len())
}

fn batch_issues<'a>(batch: &BatchFacts<'a>, alerting: &[usize]) -> Vec<BatchIssue<'a>> {
    let mut index: HashMap<i64, usize> = HashMap::new();
    let mut issues: Vec<BatchIssue> = Vec::new();
    for &i in alerting {
        let event = &batch.events[i];
        let issue_id = batch.issue_of[i];
        let slot = *index.entry(issue_id).or_insert_with(|| {
            issues.push(BatchIssue {
                issue_id,
                project_id: event.project_id,
                is_new: batch.new_issues.contains(&issue_id),
                regressed: batch.regressed.contains(&issue_id),
                muted: batch.ignored.contains(&issue_id),
                events: Vec::new(),
            });
            issues.len() - 1
        });
        issues[slot].events.push(EventFacts {
            event_id: &event.event_id,
            level: Level::parse(&event.level).unwrap_or_default(),
            environment: event.environment.as_deref(),
            release: event.release.as_deref(),
            tags: &event.facets,
            received_ms: event.received_ms,
        });
    }
    issues
}

/// Counts the batch's events into the frequency and user windows its projects' rules use, then reads
/// each window's totals for the batch's issues.
async fn keep_windows(
    tx: &mut Tx,
    rules: &RuleSet,
    batch: &BatchFacts<'_>,
    alerting: &[usize],
) -> Result<WindowCounts, StoreError> {
    let mut minutes: HashMap<(i64, i64), i64> = HashMap::new();
    let mut users: HashMap<(i64, &str), i64> = HashMap::new();
    let mut frequency_windows: HashMap<i64, HashSet<i64>> = HashMap::new();
    let mut user_windows: HashMap<i64, HashSet<i64>> = HashMap::new();
    for &i in alerting {
        let event = &batch.events[i];
        let issue_id = batch.issue_of[i];
        let frequency = rules.frequency_windows(event.project_id);
        if !frequency.is_empty() {
            *minutes.entry((issue_id, event.received_ms / MINUTE_MS)).or_default() += 1;
            frequency_windows.entry(issue_id).or_default().extend(frequency);
        }
        let user = rules.user_windows(event.project_id);
        if let (false, Some(key)) = (user.is_empty(), event.user_key.as_deref()) {
            let seen = users.entry((issue_id, key)).or_default();
            *seen = (*seen).max(event.received_ms);
            user_windows.entry(issue_id).or_default().extend(user);
        }
    }
    upsert_minutes(tx, &minutes).await?;
    upsert_users(tx, &users).await?;
    let mut counts = WindowCounts::default();
    for (window, issues) in by_window(&frequency_windows) {
        let since_minute = batch.now_ms / MINUTE_MS - window + 1;
        // SUM over BIGINT is NUMERIC on Postgres; the cast keeps one Rust type for both databases.
        let sql = "SELECT issue_id, CAST(SUM(times_seen) AS BIGINT) FROM alert_issue_minutes WHERE minute >= ";
        for (issue_id, total) in window_totals(tx, sql, since_minute, &issues).await? {
            counts.events.insert((issue_id, window), total);
        }
    }
    for (window, issues) in by_window(&user_windows) {
        let since = batch.now_ms - window * MINUTE_MS;
        let sql = "SELECT issue_id, COUNT(*) FROM alert_issue_users WHERE last_seen >= ";
        for (issue_id, total) in window_totals(tx, sql, since, &issues).await? {
            counts.users.insert((issue_id, window), total);
        }
    }
    Ok(counts)
}

fn by_window(windows_of_issue: &HashMap<i64, HashSet<i64>>) -> HashMap<i64, Vec<i64>> {
    let mut issues_of_window: HashMap<i64, Vec<i64>> = HashMap::new();
    for (&issue_id, windows) in windows_of_issue {
        for &window in windows {
            issues_of_window.entry(window).or_default().push(issue_id);
        }
    }
    issues_of_window
}

/// Runs `select_from … >= $since AND issue_id IN (…) GROUP BY issue_id`.
async fn window_totals(
    tx: &mut Tx,
    select_from: &str,
    since: i64,
    issues: &[i64],
) -> Result<Vec<(i64, i64)>, StoreError> {
    let mut totals = Vec::new();
    for chunk in issues.chunks(ROW_CHUNK) {
        let rows: Vec<(i64, i64)> = on_tx!(tx, conn, Backend => {
            let mut qb = QueryBuilder::<Backend>::new(select_from);
            qb.push_bind(since).push(" AND issue_id IN (");
            let mut list = qb.separated(", ");
            for issue_id in chunk {
                list.push_bind(*issue_id);
            }
            qb.push(") GROUP BY issue_id");
            qb.build_query_as().fetch_all(&mut *conn).await?
        });
        totals.extend(rows);
    }
    Ok(totals)
}

async fn upsert_minutes(tx: &mut Tx, minutes: &HashMap<(i64, i64), i64>) -> Result<(), StoreError> {
    let rows: Vec<_> = minutes.iter().collect();
    for chunk in rows.chunks(ROW_CHUNK) {
        on_tx!(tx, conn, Backend => {
            let mut qb = QueryBuilder::<Backend>::new("INSERT INTO alert_issue_minutes (issue_id, minute, times_seen) ");
            qb.push_values(chunk, |mut row, ((issue_id, minute), count)| {
                row.push_bind(*issue_id).push_bind(*minute).push_bind(**count);
            });
            qb.push(
                " ON CONFLICT (issue_id, minute) DO UPDATE \
                  SET times_seen = alert_issue_minutes.times_seen + excluded.times_seen",
            );
            qb.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}

async fn upsert_users(tx: &mut Tx, users: &HashMap<(i64, &str), i64>) -> Result<(), StoreError> {
    let rows: Vec<_> = users.iter().collect();
    for chunk in rows.chunks(ROW_CHUNK) {
        on_tx!(tx, conn, Backend => {
            let mut qb = QueryBuilder::<Backend>::new("INSERT INTO alert_issue_users (issue_id, user_key, last_seen) ");
            qb.push_values(chunk, |mut row, ((issue_id, user), seen)| {
                row.push_bind(*issue_id).push_bind(*user).push_bind(**seen);
            });
            qb.push(
                " ON CONFLICT (issue_id, user_key) DO UPDATE SET last_seen = excluded.last_seen \
                  WHERE alert_issue_users.last_seen < excluded.last_seen",
            );
            qb.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}

/// Keeps the candidates whose rule is not cooling down for their issue, and starts their cooldown. One
/// conditional upsert decides, so two writers never both fire the same rule for the same issue.
async fn pass_cooldowns(tx: &mut Tx, candidates: &[Candidate], now_ms: i64) -> Result<Vec<Candidate>, StoreError> {
    let mut passed: HashSet<(i64, i64)> = HashSet::new();
    for chunk in candidates.chunks(ROW_CHUNK) {
        let rows: Vec<(i64, i64)> = on_tx!(tx, conn, Backend => {
            let mut qb = QueryBuilder::<Backend>::new("INSERT INTO alert_cooldowns (rule_id, issue_id, quiet_until) ");
            qb.push_values(chunk, |mut row, candidate| {
                row.push_bind(candidate.rule_id)
                    .push_bind(candidate.issue_id)
                    .push_bind(now_ms + candidate.cooldown_minutes * MINUTE_MS);
            });
            qb.push(" ON CONFLICT (rule_id, issue_id) DO UPDATE SET quiet_until = excluded.quiet_until WHERE alert_cooldowns.quiet_until <= ")
                .push_bind(now_ms)
                .push(" RETURNING rule_id, issue_id");
            qb.build_query_as().fetch_all(&mut *conn).await?
        });
        passed.extend(rows);
    }
    Ok(candidates
        .iter()
        .filter(|c| passed.contains(&(c.rule_id, c.issue_id)))
        .cloned()
        .collect())
}

async fn insert_fires(tx: &mut Tx, firing: &[Candidate], now_ms: i64) -> Result<(), StoreError> {
    for chunk in firing.chunks(ROW_CHUNK) {
        on_tx!(tx, conn, Backend => {
            let mut qb = QueryBuilder::<Backend>::new(
                "INSERT INTO alert_fires (rule_id, issue_id, reason, event_id, environment, release, created_at, due_at) ",
            );
            qb.push_values(chunk, |mut row, fire| {
                row.push_bind(fire.rule_id)
                    .push_bind(fire.issue_id)
                    .push_bind(fire.reason.as_str())
                    .push_bind(&fire.event_id)
                    .push_bind(&fire.environment)
                    .push_bind(&fire.release)
                    .push_bind(now_ms)
                    .push_bind(now_ms);
            });
            qb.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}
