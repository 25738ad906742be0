//! The writer's group commit: one transaction stores a whole batch of events, upserting their issues
//! (aggregated per fingerprint), skipping re-sent event ids, and bumping tag, hour and user counters.

use crate::domain::{IssueId, ProjectId};
use std::collections::HashMap;

use sqlx::QueryBuilder;

use crate::domain::alerts::{QuietMemo, RuleSet};
use crate::domain::lifecycle::IssueState;

use super::alerts::{record_fires, BatchFacts, Fired};
use super::counters::{
    add_users, upsert_environments, upsert_hours, upsert_project_hours, upsert_releases, upsert_tags,
};
use super::{on_tx, storage, Db, NewEvent, StoreError, Tx};

mod issue_rows;
use issue_rows::{assign_issues, update_existing};

/// What a committed batch did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Per input event: `true` when stored now, `false` when its id was already stored (a re-send).
    pub stored: Vec<bool>,
    pub new_issues: Vec<IssueId>,
    pub regressed_issues: Vec<IssueId>,
    /// Alert fires written to the outbox.
    pub fires: usize,
}

/// Events of one batch that land in the same issue, in input order.
struct IssueGroup<'a> {
    project_id: ProjectId,
    fingerprint: &'a str,
    members: Vec<usize>,
}

pub(super) struct ExistingIssue {
    pub id: IssueId,
    pub times_seen: i64,
    pub state: IssueState,
}

const EVENT_CHUNK: usize = 400;

/// Stores a batch in one transaction; see the module doc. No alert rule is evaluated.
pub async fn record_batch(db: &Db, events: &[NewEvent]) -> Result<BatchOutcome, StoreError> {
    record_batch_alerting(db, events, &RuleSet::default(), &mut QuietMemo::default()).await
}

/// Stores a batch like [`record_batch`] and, in the same transaction, writes an outbox row for every rule
/// that fires, so a committed event never misses its alert. `memo` learns, once committed, which rules are
/// now quiet for which issues.
pub async fn record_batch_alerting(
    db: &Db,
    events: &[NewEvent],
    rules: &RuleSet,
    memo: &mut QuietMemo,
) -> Result<BatchOutcome, StoreError> {
    let mut tx = Tx::begin(db).await?;
    let (mut outcome, fired) = record_events_in(&mut tx, events, rules, memo).await?;
    tx.commit().await?;
    let now = events.iter().map(|e| e.received).max().unwrap_or_default();
    for fire in &fired {
        memo.remember(fire.rule_id, fire.issue_id, fire.quiet_until, now);
    }
    outcome.fires = fired.len();
    Ok(outcome)
}

/// Stores events and records their alert fires inside the caller's transaction (a cron monitor's failure is
/// stored with its check-in); returns what the batch did and the fires, which `memo` learns of only once
/// the caller committed.
pub async fn record_events_in(
    tx: &mut Tx,
    events: &[NewEvent],
    rules: &RuleSet,
    memo: &QuietMemo,
) -> Result<(BatchOutcome, Vec<Fired>), StoreError> {
    let stored = storage::claim_event_ids(tx, events).await?;
    let groups = group_by_issue(events, &stored);
    let mut outcome = BatchOutcome {
        stored,
        ..BatchOutcome::default()
    };
    // The events are written before any row other batches write too is locked: two processes storing
    // events of the same issues then overlap in all but the short tail below (the issue rows and counters,
    // then the commit).
    let (issue_of, existing_groups) = assign_issues(tx, &groups, events, &mut outcome).await?;
    let fresh: Vec<usize> = (0..events.len()).filter(|&i| outcome.stored[i]).collect();
    insert_events(tx, events, &fresh, &issue_of).await?;
    let ignored = update_existing(tx, &existing_groups, events, &mut outcome).await?;
    storage::add_stored(tx, events, &fresh).await?;
    upsert_releases(tx, events, &fresh).await?;
    upsert_tags(tx, events, &fresh, &issue_of).await?;
    upsert_hours(tx, events, &fresh, &issue_of).await?;
    upsert_environments(tx, events, &fresh).await?;
    upsert_project_hours(tx, events, &fresh).await?;
    add_users(tx, events, &fresh, &issue_of).await?;
    let facts = BatchFacts {
        events,
        fresh: &fresh,
        issue_of: &issue_of,
        new_issues: &outcome.new_issues.iter().copied().collect(),
        regressed: &outcome.regressed_issues.iter().copied().collect(),
        ignored: &ignored,
        now: events.iter().map(|e| e.received).max().unwrap_or_default(),
    };
    let fired = record_fires(tx, rules, memo, &facts).await?;
    outcome.fires = fired.len();
    Ok((outcome, fired))
}

fn group_by_issue<'a>(events: &'a [NewEvent], fresh: &[bool]) -> Vec<IssueGroup<'a>> {
    let mut index: HashMap<(ProjectId, &str), usize> = HashMap::new();
    let mut groups: Vec<IssueGroup> = Vec::new();
    for (i, event) in events.iter().enumerate().filter(|(i, _)| fresh[*i]) {
        let key = (event.project_id, event.fingerprint.as_str());
        let slot = *index.entry(key).or_insert_with(|| {
            groups.push(IssueGroup {
                project_id: key.0,
                fingerprint: key.1,
                members: Vec::new(),
            });
            groups.len() - 1
        });
        groups[slot].members.push(i);
    }
    // One order for every writer (the issues' rows are locked and created in it), so two processes' batches
    // never wait on each other in a cycle.
    groups.sort_unstable_by(|a, b| (a.project_id, a.fingerprint).cmp(&(b.project_id, b.fingerprint)));
    groups
}

async fn insert_events(
    tx: &mut Tx,
    events: &[NewEvent],
    fresh: &[usize],
    issue_of: &[IssueId],
) -> Result<(), StoreError> {
    for chunk in fresh.chunks(EVENT_CHUNK) {
        on_tx!(tx, conn, Backend => {
            let mut qb = QueryBuilder::<Backend>::new(
                "INSERT INTO events (project_id, issue_id, event_id, timestamp, received, level, release, \
                 environment, user_key, transaction_name, trace_id, platform, title, payload) ",
            );
            qb.push_values(chunk, |mut row, &i| {
                let e = &events[i];
                row.push_bind(e.project_id)
                    .push_bind(issue_of[i])
                    .push_bind(&e.event_id)
                    .push_bind(e.timestamp)
                    .push_bind(e.received)
                    .push_bind(&e.level)
                    .push_bind(&e.release)
                    .push_bind(&e.environment)
                    .push_bind(&e.user_key)
                    .push_bind(&e.transaction)
                    .push_bind(&e.trace_id)
                    .push_bind(&e.platform)
                    .push_bind(&e.title)
                    .push_bind(&e.payload);
            });
            qb.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}
