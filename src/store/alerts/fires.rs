//! The writer's side of alerting, inside the batch transaction: keep the trigger windows, evaluate the
//! rules, apply the cooldowns and write the outbox rows. A handful of statements per batch, none per event,
//! and none at all for batches whose projects have no rules.

use crate::domain::{IssueId, RuleId, Timestamp};
use std::collections::{HashMap, HashSet};

use sqlx::{QueryBuilder, Row};

use crate::domain::alerts::{evaluate, BatchIssue, Candidate, EventFacts, QuietMemo, RuleSet, Threshold, WindowCounts};
use crate::domain::event::Level;

use super::super::{on_tx, NewEvent, StoreError, Tx};

const MINUTE_MS: i64 = 60_000;
const ROW_CHUNK: usize = 500;

/// What the batch did that rules look at.
pub(in crate::store) struct BatchFacts<'a> {
    pub events: &'a [NewEvent],
    pub fresh: &'a [usize],
    pub issue_of: &'a [IssueId],
    pub new_issues: &'a HashSet<IssueId>,
    pub regressed: &'a HashSet<IssueId>,
    pub ignored: &'a HashSet<IssueId>,
    /// The batch's latest receive time: "now" for the windows and cooldowns.
    pub now: Timestamp,
}

/// A rule that fired for an issue in this batch, quiet for it until `quiet_until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fired {
    pub rule_id: RuleId,
    pub issue_id: IssueId,
    pub quiet_until: Timestamp,
}

/// Evaluates the rules over the batch and records what fires. Rules the writer knows to be quiet for an
/// issue (`memo`) are neither counted for it nor checked against the cooldown table.
pub(in crate::store) async fn record_fires(
    tx: &mut Tx,
    rules: &RuleSet,
    memo: &QuietMemo,
    batch: &BatchFacts<'_>,
) -> Result<Vec<Fired>, StoreError> {
    let alerting: Vec<usize> = batch
        .fresh
        .iter()
        .copied()
        .filter(|&i| !rules.for_project(batch.events[i].project_id).is_empty())
        .collect();
    if alerting.is_empty() {
        return Ok(Vec::new());
    }
    let issues = batch_issues(batch, &alerting);
    let counts = keep_windows(tx, rules, memo, batch, &alerting, &issues).await?;
    let mut candidates = evaluate(rules, &issues, &counts);
    candidates.retain(|c| !memo.is_quiet(c.rule_id, c.issue_id, batch.now));
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let firing = pass_cooldowns(tx, &candidates, batch.now).await?;
    insert_fires(tx, &firing, batch.now).await?;
    Ok(firing
        .iter()
        .map(|c| Fired {
            rule_id: c.rule_id,
            issue_id: c.issue_id,
            quiet_until: batch.now.saturating_add_millis(c.cooldown_minutes * MINUTE_MS),
        })
        .collect())
}

fn batch_issues<'a>(batch: &BatchFacts<'a>, alerting: &[usize]) -> Vec<BatchIssue<'a>> {
    let mut index: HashMap<IssueId, usize> = HashMap::new();
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
            received: event.received,
        });
    }
    issues
}

/// Counts the batch's events into the frequency and user windows its projects' rules use, then reads the
/// totals of the windows that could make a rule fire now, one query per table: only for rules not quiet for
/// the issue and whose conditions one of the batch's events of the issue passes.
async fn keep_windows(
    tx: &mut Tx,
    rules: &RuleSet,
    memo: &QuietMemo,
    batch: &BatchFacts<'_>,
    alerting: &[usize],
    issues: &[BatchIssue<'_>],
) -> Result<WindowCounts, StoreError> {
    let mut minutes: HashMap<(IssueId, i64), i64> = HashMap::new();
    let mut users: HashMap<(IssueId, &str), i64> = HashMap::new();
    let mut wanted = Wanted::default();
    for issue in issues.iter().filter(|issue| !issue.muted) {
        for rule in rules.for_project(issue.project_id) {
            let able = !memo.is_quiet(rule.id, issue.issue_id, batch.now)
                && issue.events.iter().any(|event| rule.accepts(event));
            if able {
                wanted.add(issue.issue_id, rule.triggers.frequency, rule.triggers.users);
            }
        }
    }
    for &i in alerting {
        let event = &batch.events[i];
        let issue_id = batch.issue_of[i];
        let project_rules = rules.for_project(event.project_id);
        if project_rules.iter().any(|r| r.triggers.frequency.is_some()) {
            *minutes
                .entry((issue_id, event.received.as_millis() / MINUTE_MS))
                .or_default() += event.occurrences;
        }
        if let Some(key) = event.user_key.as_deref() {
            if project_rules.iter().any(|r| r.triggers.users.is_some()) {
                let seen = users.entry((issue_id, key)).or_default();
                *seen = (*seen).max(event.received.as_millis());
            }
        }
        for rule in project_rules
            .iter()
            .filter(|r| !memo.is_quiet(r.id, issue_id, batch.now))
        {
            wanted.add(issue_id, rule.triggers.frequency, rule.triggers.users);
        }
    }
    upsert_minutes(tx, &minutes).await?;
    upsert_users(tx, &users).await?;
    let mut counts = WindowCounts::default();
    // The window tables count by epoch minute and by epoch ms: bare numbers for the SQL bounds.
    let now_ms = batch.now.as_millis();
    let now_minute = now_ms / MINUTE_MS;
    let (issues, windows) = wanted.frequency();
    let starts: Vec<i64> = windows.iter().map(|w| now_minute - w + 1).collect();
    let totals = window_totals(tx, "alert_issue_minutes", "minute", "times_seen", &starts, &issues).await?;
    counts.events = spread(totals, &windows);
    let (issues, windows) = wanted.users();
    let starts: Vec<i64> = windows.iter().map(|w| now_ms - w * MINUTE_MS).collect();
    let totals = window_totals(tx, "alert_issue_users", "last_seen", "1", &starts, &issues).await?;
    counts.users = spread(totals, &windows);
    Ok(counts)
}

/// Which issues need which windows read.
#[derive(Default)]
struct Wanted {
    frequency: HashMap<IssueId, HashSet<i64>>,
    users: HashMap<IssueId, HashSet<i64>>,
}

impl Wanted {
    fn add(&mut self, issue_id: IssueId, frequency: Option<Threshold>, users: Option<Threshold>) {
        if let Some(f) = frequency {
            self.frequency.entry(issue_id).or_default().insert(f.minutes);
        }
        if let Some(u) = users {
            self.users.entry(issue_id).or_default().insert(u.minutes);
        }
    }

    fn frequency(&self) -> (Vec<IssueId>, Vec<i64>) {
        Self::flatten(&self.frequency)
    }

    fn users(&self) -> (Vec<IssueId>, Vec<i64>) {
        Self::flatten(&self.users)
    }

    /// The issues, and every window any of them needs (reading a window an issue does not need is harmless).
    fn flatten(wanted: &HashMap<IssueId, HashSet<i64>>) -> (Vec<IssueId>, Vec<i64>) {
        let issues: Vec<IssueId> = wanted.keys().copied().collect();
        let mut windows: Vec<i64> = wanted.values().flatten().copied().collect();
        windows.sort_unstable();
        windows.dedup();
        (issues, windows)
    }
}

/// `(issue, [total per window])` → `(issue, window)` → total.
fn spread(totals: Vec<(IssueId, Vec<i64>)>, windows: &[i64]) -> HashMap<(IssueId, i64), i64> {
    let mut counts = HashMap::new();
    for (issue_id, per_window) in totals {
        for (window, total) in windows.iter().zip(per_window) {
            counts.insert((issue_id, *window), total);
        }
    }
    counts
}

/// For each issue, the sum of `amount` over rows whose `column >= start`, for every start at once:
/// `SELECT issue_id, SUM(CASE WHEN column >= s1 THEN amount ELSE 0 END), … GROUP BY issue_id`.
async fn window_totals(
    tx: &mut Tx,
    table: &str,
    column: &str,
    amount: &str,
    starts: &[i64],
    issues: &[IssueId],
) -> Result<Vec<(IssueId, Vec<i64>)>, StoreError> {
    let Some(&earliest) = starts.iter().min() else {
        return Ok(Vec::new());
    };
    let mut totals = Vec::new();
    for chunk in issues.chunks(ROW_CHUNK) {
        on_tx!(tx, conn, Backend => {
            let mut qb = QueryBuilder::<Backend>::new("SELECT issue_id");
            for start in starts {
                // SUM over BIGINT is NUMERIC on Postgres; the cast keeps one Rust type for both databases.
                qb.push(format!(", CAST(SUM(CASE WHEN {column} >= "))
                    .push_bind(*start)
                    .push(format!(" THEN {amount} ELSE 0 END) AS BIGINT)"));
            }
            qb.push(format!(" FROM {table} WHERE {column} >= ")).push_bind(earliest).push(" AND issue_id IN (");
            let mut list = qb.separated(", ");
            for issue_id in chunk {
                list.push_bind(*issue_id);
            }
            qb.push(") GROUP BY issue_id");
            for row in qb.build().fetch_all(&mut *conn).await? {
                let per_window = (1..=starts.len()).map(|i| row.try_get::<i64, _>(i)).collect::<Result<_, _>>()?;
                totals.push((row.try_get::<IssueId, _>(0)?, per_window));
            }
        });
    }
    Ok(totals)
}

async fn upsert_minutes(tx: &mut Tx, minutes: &HashMap<(IssueId, i64), i64>) -> Result<(), StoreError> {
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

async fn upsert_users(tx: &mut Tx, users: &HashMap<(IssueId, &str), i64>) -> Result<(), StoreError> {
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
async fn pass_cooldowns(tx: &mut Tx, candidates: &[Candidate], now: Timestamp) -> Result<Vec<Candidate>, StoreError> {
    let mut passed: HashSet<(RuleId, IssueId)> = HashSet::new();
    for chunk in candidates.chunks(ROW_CHUNK) {
        let rows: Vec<(RuleId, IssueId)> = on_tx!(tx, conn, Backend => {
            let mut qb = QueryBuilder::<Backend>::new("INSERT INTO alert_cooldowns (rule_id, issue_id, quiet_until) ");
            qb.push_values(chunk, |mut row, candidate| {
                row.push_bind(candidate.rule_id)
                    .push_bind(candidate.issue_id)
                    .push_bind(now.saturating_add_millis(candidate.cooldown_minutes * MINUTE_MS));
            });
            qb.push(" ON CONFLICT (rule_id, issue_id) DO UPDATE SET quiet_until = excluded.quiet_until WHERE alert_cooldowns.quiet_until <= ")
                .push_bind(now)
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

async fn insert_fires(tx: &mut Tx, firing: &[Candidate], now: Timestamp) -> Result<(), StoreError> {
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
                    .push_bind(now)
                    .push_bind(now);
            });
            qb.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}
