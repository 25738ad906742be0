//! The issue rows of a batch: found or created (without a lock) before the events are written, then locked
//! in one order and updated in the batch's tail.

use std::collections::{BTreeMap, HashMap, HashSet};

use sqlx::QueryBuilder;

use crate::domain::lifecycle::{self, IncomingEvent, IssueState, IssueStatus, Transition};
use crate::domain::{IssueId, ProjectId, Timestamp};
use crate::store::issues::{StateColumns, STATE_COLUMNS};
use crate::store::release_order::{load_release_order, ProjectReleases, ReleaseBook};
use crate::store::{on_tx, NewEvent, StoreError, Tx};

use super::{BatchOutcome, ExistingIssue, IssueGroup, EVENT_CHUNK};

/// Each event's issue: existing issues are found without a lock, new ones created (and listed in
/// `outcome.new_issues`). Returns the issue of each event and the groups of issues that existed.
pub(super) async fn assign_issues<'g, 'e>(
    tx: &mut Tx,
    groups: &'g [IssueGroup<'e>],
    events: &[NewEvent],
    outcome: &mut BatchOutcome,
) -> Result<(Vec<IssueId>, Vec<&'g IssueGroup<'e>>), StoreError> {
    let known = load_issues(tx, groups, Lock::No).await?;
    let mut issue_of = vec![IssueId(0); events.len()];
    let mut existing_groups = Vec::with_capacity(groups.len());
    for group in groups {
        let id = match known.get(&(group.project_id, group.fingerprint.to_owned())) {
            Some(issue) => {
                existing_groups.push(group);
                issue.id
            }
            None => match insert_issue(tx, group, events).await? {
                Some(id) => {
                    outcome.new_issues.push(id);
                    id
                }
                // Another process created it since this batch looked (Postgres): it is an existing issue now,
                // so it is counted once and its "new issue" alert fires once, there.
                None => {
                    existing_groups.push(group);
                    raced_issue_id(tx, group).await?
                }
            },
        };
        group.members.iter().for_each(|&i| issue_of[i] = id);
    }
    Ok((issue_of, existing_groups))
}

/// The batch's tail: the existing issues locked and read again (a status change meanwhile is kept), then
/// updated with one statement; regressions go to `outcome`. Returns the issues that stay ignored.
pub(super) async fn update_existing(
    tx: &mut Tx,
    groups: &[&IssueGroup<'_>],
    events: &[NewEvent],
    outcome: &mut BatchOutcome,
) -> Result<HashSet<IssueId>, StoreError> {
    let existing = load_issues(tx, groups.iter().copied(), Lock::ForUpdate).await?;
    let releases = load_release_order(tx, &existing).await?;
    let mut ignored = HashSet::new();
    let mut updates = Vec::with_capacity(groups.len());
    for group in groups {
        let issue = existing
            .get(&(group.project_id, group.fingerprint.to_owned()))
            .ok_or_else(|| StoreError::Corrupt(format!("issue {} vanished during a batch", group.fingerprint)))?;
        let (state, transitions) = apply_group(issue, group, events, &releases);
        if transitions.iter().any(|(t, _)| *t == Transition::Regressed) {
            outcome.regressed_issues.push(issue.id);
        }
        for (transition, event) in transitions {
            record_activity(tx, issue.id, transition, event).await?;
        }
        if state.status == IssueStatus::Ignored {
            ignored.insert(issue.id);
        }
        updates.push(IssueUpdate::new(issue.id, group, events, &state));
    }
    write_updates(tx, &updates).await?;
    Ok(ignored)
}

#[derive(sqlx::FromRow)]
struct ExistingRow {
    id: IssueId,
    project_id: ProjectId,
    fingerprint: String,
    times_seen: i64,
    #[sqlx(flatten)]
    state: StateColumns,
}

/// Whether [`load_issues`] locks the rows it reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lock {
    No,
    ForUpdate,
}

/// The issues of these groups that exist, read as they are now (`Lock::ForUpdate`: and locked).
async fn load_issues<'g, 'e: 'g>(
    tx: &mut Tx,
    groups: impl IntoIterator<Item = &'g IssueGroup<'e>>,
    lock: Lock,
) -> Result<HashMap<(ProjectId, String), ExistingIssue>, StoreError> {
    let mut fingerprints_by_project: BTreeMap<ProjectId, Vec<&str>> = BTreeMap::new();
    for group in groups {
        fingerprints_by_project
            .entry(group.project_id)
            .or_default()
            .push(group.fingerprint);
    }
    let mut found = HashMap::new();
    // Postgres: lock the rows so a status change made through the API meanwhile is not overwritten. Not
    // `FOR UPDATE`: the batch's events (inserted before) hold key-share locks on their issues, which that
    // would wait on in another batch, and it on ours. SQLite needs nothing: the batch's transaction is
    // IMMEDIATE, so it holds the write lock from its first read.
    let lock = if lock == Lock::ForUpdate && matches!(tx, Tx::Postgres(_)) {
        " FOR NO KEY UPDATE"
    } else {
        ""
    };
    for (project_id, fingerprints) in fingerprints_by_project {
        for chunk in fingerprints.chunks(EVENT_CHUNK) {
            let rows: Vec<ExistingRow> = on_tx!(tx, conn, Backend => {
                let mut qb = QueryBuilder::<Backend>::new(format!(
                    "SELECT id, project_id, fingerprint, times_seen, {STATE_COLUMNS} FROM issues WHERE project_id = "
                ));
                qb.push_bind(project_id).push(" AND fingerprint IN (");
                let mut list = qb.separated(", ");
                for fingerprint in chunk {
                    list.push_bind(*fingerprint);
                }
                // Locked in fingerprint order, as the groups are (sorted): the same order in every writer.
                qb.push(") ORDER BY fingerprint").push(lock);
                qb.build_query_as().fetch_all(&mut *conn).await?
            });
            for row in rows {
                let issue = ExistingIssue {
                    id: row.id,
                    times_seen: row.times_seen,
                    state: row.state.into_state()?,
                };
                found.insert((row.project_id, row.fingerprint), issue);
            }
        }
    }
    Ok(found)
}

/// The id of the issue another process created while this batch was inserting it.
async fn raced_issue_id(tx: &mut Tx, group: &IssueGroup<'_>) -> Result<IssueId, StoreError> {
    let found = load_issues(tx, [group], Lock::No).await?;
    found.into_values().next().map(|issue| issue.id).ok_or_else(|| {
        StoreError::Corrupt(format!(
            "issue {} conflicted on insert but is missing",
            group.fingerprint
        ))
    })
}

/// The member whose values (title, level, …) the issue shows: the newest by event time.
fn newest<'e>(group: &IssueGroup, events: &'e [NewEvent]) -> &'e NewEvent {
    let i = group
        .members
        .iter()
        .copied()
        .max_by_key(|&i| (events[i].timestamp, i))
        .unwrap_or(group.members[0]);
    &events[i]
}

fn span(group: &IssueGroup, events: &[NewEvent]) -> (Timestamp, Timestamp) {
    let times = group.members.iter().map(|&i| events[i].timestamp);
    let first = times.clone().min().unwrap_or_default();
    (first, times.max().unwrap_or_default())
}

/// How many occurrences the group's events stand for (one each, unless folded).
fn occurrences(group: &IssueGroup, events: &[NewEvent]) -> i64 {
    group.members.iter().map(|&i| events[i].occurrences).sum()
}

/// Whether any of the group's events was unhandled (an issue once unhandled stays so).
fn any_unhandled(group: &IssueGroup, events: &[NewEvent]) -> bool {
    group.members.iter().any(|&i| events[i].is_unhandled)
}

fn first_release<'e>(group: &IssueGroup, events: &'e [NewEvent]) -> Option<&'e str> {
    group.members.iter().find_map(|&i| events[i].release.as_deref())
}

/// The group's events applied, oldest first, to an existing issue's lifecycle: its state after them, and
/// the transitions they caused with the event that caused each.
fn apply_group<'e>(
    issue: &ExistingIssue,
    group: &IssueGroup<'_>,
    events: &'e [NewEvent],
    releases: &ReleaseBook,
) -> (IssueState, Vec<(Transition, &'e NewEvent)>) {
    let releases = ProjectReleases {
        book: releases,
        project_id: group.project_id,
    };
    let mut state = issue.state.clone();
    let mut transitions = Vec::new();
    let mut members = group.members.clone();
    members.sort_by_key(|&i| events[i].timestamp);
    let mut times_seen = issue.times_seen;
    for &i in &members {
        times_seen += events[i].occurrences;
        let incoming = IncomingEvent {
            release: events[i].release.as_deref(),
            timestamp: events[i].timestamp,
            times_seen_after: times_seen,
        };
        match lifecycle::apply_event(&mut state, &incoming, &releases) {
            Transition::Unchanged => {}
            change => transitions.push((change, &events[i])),
        }
    }
    (state, transitions)
}

/// What a batch writes into one existing issue's row.
struct IssueUpdate<'e> {
    id: IssueId,
    occurrences: i64,
    first_seen: Timestamp,
    last_seen: Timestamp,
    /// The newest event, whose title, culprit, level, metadata and release the issue shows.
    latest: &'e NewEvent,
    first_release: Option<&'e str>,
    is_unhandled: bool,
    state: StateColumns,
}

impl<'e> IssueUpdate<'e> {
    fn new(id: IssueId, group: &IssueGroup<'_>, events: &'e [NewEvent], state: &IssueState) -> Self {
        let (first_seen, last_seen) = span(group, events);
        IssueUpdate {
            id,
            occurrences: occurrences(group, events),
            first_seen,
            last_seen,
            latest: newest(group, events),
            first_release: first_release(group, events),
            is_unhandled: any_unhandled(group, events),
            state: StateColumns::from_state(state),
        }
    }
}

/// Rows per `UPDATE … FROM (VALUES …)`: 19 parameters each, well under either database's limit.
const UPDATE_CHUNK: usize = 400;

/// Writes the batch's existing issues with one statement per chunk (one hop to the database, not one per
/// issue). `VALUES` names its columns `column1`, `column2`, … in both dialects.
async fn write_updates(tx: &mut Tx, updates: &[IssueUpdate<'_>]) -> Result<(), StoreError> {
    for chunk in updates.chunks(UPDATE_CHUNK) {
        on_tx!(tx, conn, Backend => {
            let mut qb = QueryBuilder::<Backend>::new(
                "UPDATE issues SET times_seen = issues.times_seen + v.column2, \
                 first_seen = CASE WHEN issues.first_seen > v.column3 THEN v.column3 ELSE issues.first_seen END, \
                 last_seen = CASE WHEN issues.last_seen < v.column4 THEN v.column4 ELSE issues.last_seen END, \
                 title = v.column5, culprit = v.column6, level = v.column7, metadata = v.column8, \
                 last_release = COALESCE(v.column9, issues.last_release), \
                 first_release = COALESCE(issues.first_release, v.column10), \
                 is_unhandled = (issues.is_unhandled OR v.column11), status = v.column12, substatus = v.column13, \
                 resolution = v.column14, resolution_release = v.column15, resolved_at = v.column16, \
                 ignore_kind = v.column17, ignore_until = v.column18, ignore_until_count = v.column19 FROM (",
            );
            qb.push_values(chunk, |mut row, u| {
                let c = &u.state;
                row.push_bind(u.id)
                    .push_bind(u.occurrences)
                    .push_bind(u.first_seen)
                    .push_bind(u.last_seen)
                    .push_bind(&u.latest.title)
                    .push_bind(&u.latest.culprit)
                    .push_bind(&u.latest.level)
                    .push_bind(&u.latest.metadata)
                    .push_bind(&u.latest.release)
                    .push_bind(u.first_release)
                    .push_bind(u.is_unhandled)
                    .push_bind(&c.status)
                    .push_bind(&c.substatus)
                    .push_bind(&c.resolution)
                    .push_bind(&c.resolution_release)
                    .push_bind(c.resolved_at)
                    .push_bind(&c.ignore_kind)
                    .push_bind(c.ignore_until)
                    .push_bind(c.ignore_until_count);
            });
            qb.push(") AS v WHERE issues.id = v.column1");
            qb.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}

async fn record_activity(
    tx: &mut Tx,
    issue_id: IssueId,
    transition: Transition,
    event: &NewEvent,
) -> Result<(), StoreError> {
    let kind = match transition {
        Transition::Regressed => "regression",
        Transition::Unignored => "unignored",
        Transition::Unchanged => return Ok(()),
    };
    let data = serde_json::json!({ "event_id": event.event_id, "release": event.release }).to_string();
    let sql = "INSERT INTO issue_activity (issue_id, kind, data, created_at) VALUES ($1, $2, $3, $4)";
    on_tx!(tx, conn, Backend => sqlx::query(sql)
        .bind(issue_id)
        .bind(kind)
        .bind(data)
        .bind(event.received)
        .execute(&mut *conn)
        .await?
        .rows_affected());
    Ok(())
}

/// Creates the issue with the next short-id number of its project; `None` when another process created it
/// first (its short-id number is then skipped).
async fn insert_issue(tx: &mut Tx, group: &IssueGroup<'_>, events: &[NewEvent]) -> Result<Option<IssueId>, StoreError> {
    let bump = "UPDATE projects SET next_short_id = next_short_id + 1 WHERE id = $1 RETURNING next_short_id";
    let next: i64 =
        on_tx!(tx, conn, Backend => sqlx::query_scalar(bump).bind(group.project_id).fetch_one(&mut *conn).await?);
    let latest = newest(group, events);
    let (first_seen, last_seen) = span(group, events);
    let c = StateColumns::from_state(&IssueState::new_issue());
    let components = serde_json::to_string(&latest.grouping_components).unwrap_or_else(|_| "[]".into());
    let sql = "INSERT INTO issues (project_id, short_id, fingerprint, grouping_version, grouping_components, \
               title, culprit, issue_type, level, metadata, status, substatus, first_seen, last_seen, times_seen, \
               user_count, first_release, last_release, is_unhandled) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 0, $16, $17, $18) \
               ON CONFLICT (project_id, fingerprint) DO NOTHING RETURNING id";
    let id: Option<IssueId> = on_tx!(tx, conn, Backend => sqlx::query_scalar(sql)
        .bind(group.project_id)
        .bind(next - 1)
        .bind(group.fingerprint)
        .bind(&latest.grouping_version)
        .bind(components)
        .bind(&latest.title)
        .bind(&latest.culprit)
        .bind(&latest.issue_type)
        .bind(&latest.level)
        .bind(&latest.metadata)
        .bind(&c.status)
        .bind(&c.substatus)
        .bind(first_seen)
        .bind(last_seen)
        .bind(occurrences(group, events))
        .bind(first_release(group, events))
        .bind(&latest.release)
        .bind(any_unhandled(group, events))
        .fetch_optional(&mut *conn)
        .await?);
    Ok(id)
}
