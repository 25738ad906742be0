//! The counters a batch bumps besides the issue row: releases seen, tag facets, per-hour counts and
//! distinct users. Each is aggregated in memory per batch and written with one multi-row upsert.

use std::collections::{HashMap, HashSet};

use crate::domain::{IssueId, ProjectId};

use sqlx::QueryBuilder;

use super::{on_tx, NewEvent, StoreError, Tx};

const ROW_CHUNK: usize = 1000;
const HOUR_MS: i64 = 3_600_000;

/// The releases each project has seen: first seen (received) and the first and last event timestamps.
pub(super) async fn upsert_releases(tx: &mut Tx, events: &[NewEvent], fresh: &[usize]) -> Result<(), StoreError> {
    let mut seen: HashMap<(ProjectId, &str), (i64, i64, i64)> = HashMap::new();
    for &i in fresh {
        if let Some(release) = events[i].release.as_deref() {
            let at = events[i].timestamp.as_millis();
            let span = seen
                .entry((events[i].project_id, release))
                .or_insert((i64::MAX, at, at));
            *span = (
                span.0.min(events[i].received.as_millis()),
                span.1.min(at),
                span.2.max(at),
            );
        }
    }
    let mut rows: Vec<_> = seen.into_iter().collect();
    // One order for every batch, so concurrent Postgres writers lock these rows alike.
    rows.sort_unstable_by_key(|((project_id, version), _)| (*project_id, *version));
    for chunk in rows.chunks(ROW_CHUNK) {
        on_tx!(tx, conn, Backend => {
            let mut qb = QueryBuilder::<Backend>::new(
                "INSERT INTO releases (project_id, version, first_seen, first_event, last_event) ",
            );
            qb.push_values(chunk, |mut row, ((project_id, version), (received, first, last))| {
                row.push_bind(*project_id)
                    .push_bind(*version)
                    .push_bind(*received)
                    .push_bind(*first)
                    .push_bind(*last);
            });
            qb.push(
                " ON CONFLICT (project_id, version) DO UPDATE SET \
                 first_event = CASE WHEN releases.first_event IS NULL OR excluded.first_event < releases.first_event \
                   THEN excluded.first_event ELSE releases.first_event END, \
                 last_event = CASE WHEN releases.last_event IS NULL OR excluded.last_event > releases.last_event \
                   THEN excluded.last_event ELSE releases.last_event END",
            );
            qb.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}

/// The environments each project has seen, for the issue list's menu.
pub(super) async fn upsert_environments(tx: &mut Tx, events: &[NewEvent], fresh: &[usize]) -> Result<(), StoreError> {
    let mut seen: HashMap<(ProjectId, &str), i64> = HashMap::new();
    for &i in fresh {
        if let Some(environment) = events[i].environment.as_deref() {
            let at = seen.entry((events[i].project_id, environment)).or_insert(i64::MAX);
            *at = (*at).min(events[i].timestamp.as_millis());
        }
    }
    let rows: Vec<_> = seen.into_iter().collect();
    for chunk in rows.chunks(ROW_CHUNK) {
        on_tx!(tx, conn, Backend => {
            let mut qb =
                QueryBuilder::<Backend>::new("INSERT INTO project_environments (project_id, name, first_seen) ");
            qb.push_values(chunk, |mut row, ((project_id, name), at)| {
                row.push_bind(*project_id).push_bind(*name).push_bind(*at);
            });
            qb.push(" ON CONFLICT (project_id, name) DO NOTHING");
            qb.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}

/// Per (issue, key, value): count, first and last seen.
type TagTally<'e> = HashMap<(IssueId, &'e str, &'e str), (i64, i64, i64)>;

pub(super) async fn upsert_tags(
    tx: &mut Tx,
    events: &[NewEvent],
    fresh: &[usize],
    issue_of: &[IssueId],
) -> Result<(), StoreError> {
    let mut tally: TagTally = HashMap::new();
    for &i in fresh {
        let at = events[i].timestamp.as_millis();
        for (key, value) in &events[i].facets {
            let entry = tally.entry((issue_of[i], key, value)).or_insert((0, at, at));
            *entry = (entry.0 + events[i].occurrences, entry.1.min(at), entry.2.max(at));
        }
    }
    let rows: Vec<_> = tally.into_iter().collect();
    for chunk in rows.chunks(ROW_CHUNK) {
        on_tx!(tx, conn, Backend => {
            let mut qb = QueryBuilder::<Backend>::new(
                "INSERT INTO issue_tags (issue_id, key, value, times_seen, first_seen, last_seen) ",
            );
            qb.push_values(chunk, |mut row, ((issue_id, key, value), (count, first, last))| {
                row.push_bind(*issue_id)
                    .push_bind(*key)
                    .push_bind(*value)
                    .push_bind(*count)
                    .push_bind(*first)
                    .push_bind(*last);
            });
            qb.push(
                " ON CONFLICT (issue_id, key, value) DO UPDATE SET \
                 times_seen = issue_tags.times_seen + excluded.times_seen, \
                 first_seen = CASE WHEN issue_tags.first_seen > excluded.first_seen \
                 THEN excluded.first_seen ELSE issue_tags.first_seen END, \
                 last_seen = CASE WHEN issue_tags.last_seen < excluded.last_seen \
                 THEN excluded.last_seen ELSE issue_tags.last_seen END",
            );
            qb.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}

pub(super) async fn upsert_hours(
    tx: &mut Tx,
    events: &[NewEvent],
    fresh: &[usize],
    issue_of: &[IssueId],
) -> Result<(), StoreError> {
    let mut tally: HashMap<(IssueId, i64), i64> = HashMap::new();
    for &i in fresh {
        let hour = events[i].timestamp.as_millis().div_euclid(HOUR_MS) * HOUR_MS;
        *tally.entry((issue_of[i], hour)).or_default() += events[i].occurrences;
    }
    let rows: Vec<_> = tally.into_iter().collect();
    for chunk in rows.chunks(ROW_CHUNK) {
        on_tx!(tx, conn, Backend => {
            let mut qb = QueryBuilder::<Backend>::new("INSERT INTO issue_hours (issue_id, hour, times_seen) ");
            qb.push_values(chunk, |mut row, ((issue_id, hour), count)| {
                row.push_bind(*issue_id).push_bind(*hour).push_bind(*count);
            });
            qb.push(
                " ON CONFLICT (issue_id, hour) DO UPDATE SET \
                 times_seen = issue_hours.times_seen + excluded.times_seen",
            );
            qb.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}

/// Events per project and hour, for the projects overview's sparkline.
pub(super) async fn upsert_project_hours(tx: &mut Tx, events: &[NewEvent], fresh: &[usize]) -> Result<(), StoreError> {
    let mut tally: HashMap<(ProjectId, i64), i64> = HashMap::new();
    for &i in fresh {
        let hour = events[i].timestamp.as_millis().div_euclid(HOUR_MS) * HOUR_MS;
        *tally.entry((events[i].project_id, hour)).or_default() += events[i].occurrences;
    }
    let rows: Vec<_> = tally.into_iter().collect();
    for chunk in rows.chunks(ROW_CHUNK) {
        on_tx!(tx, conn, Backend => {
            let mut qb = QueryBuilder::<Backend>::new("INSERT INTO project_hours (project_id, hour, times_seen) ");
            qb.push_values(chunk, |mut row, ((project_id, hour), count)| {
                row.push_bind(*project_id).push_bind(*hour).push_bind(*count);
            });
            qb.push(
                " ON CONFLICT (project_id, hour) DO UPDATE SET \
                 times_seen = project_hours.times_seen + excluded.times_seen",
            );
            qb.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}

/// Records each (issue, user) pair once and raises `user_count` by the pairs that are new.
pub(super) async fn add_users(
    tx: &mut Tx,
    events: &[NewEvent],
    fresh: &[usize],
    issue_of: &[IssueId],
) -> Result<(), StoreError> {
    let pairs: HashSet<(IssueId, &str)> = fresh
        .iter()
        .filter_map(|&i| events[i].user_key.as_deref().map(|user| (issue_of[i], user)))
        .collect();
    let pairs: Vec<_> = pairs.into_iter().collect();
    let mut new_users: HashMap<IssueId, i64> = HashMap::new();
    for chunk in pairs.chunks(ROW_CHUNK) {
        let inserted: Vec<IssueId> = on_tx!(tx, conn, Backend => {
            let mut qb = QueryBuilder::<Backend>::new("INSERT INTO issue_users (issue_id, user_key) ");
            qb.push_values(chunk, |mut row, (issue_id, user)| {
                row.push_bind(*issue_id).push_bind(*user);
            });
            qb.push(" ON CONFLICT (issue_id, user_key) DO NOTHING RETURNING issue_id");
            qb.build_query_scalar().fetch_all(&mut *conn).await?
        });
        for issue_id in inserted {
            *new_users.entry(issue_id).or_default() += 1;
        }
    }
    // Every one of these issue rows is held by the batch already (created by it, or locked in its tail).
    let raised: Vec<(IssueId, i64)> = new_users.into_iter().collect();
    for chunk in raised.chunks(ROW_CHUNK) {
        on_tx!(tx, conn, Backend => {
            let mut qb = QueryBuilder::<Backend>::new(
                "UPDATE issues SET user_count = issues.user_count + v.column2 FROM (",
            );
            qb.push_values(chunk, |mut row, (issue_id, count)| {
                row.push_bind(*issue_id).push_bind(*count);
            });
            qb.push(") AS v WHERE issues.id = v.column1");
            qb.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}
