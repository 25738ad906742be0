//! Sentry's sessions query (`GET /api/0/organizations/{org}/sessions/`): which fields, groupings, period and
//! interval a caller asked for, and the answer's groups folded from the hourly counts. Supported fields:
//! `sum(session)`, `count_unique(user)`, `crash_free_rate(session)`, `crash_free_rate(user)`; groupings:
//! `release`, `environment`, `session.status` (with `sum(session)` only: `healthy`, `errored`, `crashed`,
//! `abnormal`, as Sentry splits them). Anything else is refused with a sentence naming it.

use std::collections::BTreeMap;

use super::period::StatsPeriod;
use super::release_health::{HealthHour, UserCount, HOUR_MS};

/// Most intervals one answer holds.
const MAX_INTERVALS: i64 = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SessionField {
    Sessions,
    Users,
    CrashFreeSessions,
    CrashFreeUsers,
}

impl SessionField {
    pub const ALL: [SessionField; 4] = [
        SessionField::Sessions,
        SessionField::Users,
        SessionField::CrashFreeSessions,
        SessionField::CrashFreeUsers,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SessionField::Sessions => "sum(session)",
            SessionField::Users => "count_unique(user)",
            SessionField::CrashFreeSessions => "crash_free_rate(session)",
            SessionField::CrashFreeUsers => "crash_free_rate(user)",
        }
    }

    fn needs_users(self) -> bool {
        matches!(self, SessionField::Users | SessionField::CrashFreeUsers)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SessionGroup {
    Release,
    Environment,
    Status,
}

impl SessionGroup {
    pub fn name(self) -> &'static str {
        match self {
            SessionGroup::Release => "release",
            SessionGroup::Environment => "environment",
            SessionGroup::Status => "session.status",
        }
    }
}

/// What a caller asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionQuery {
    pub fields: Vec<SessionField>,
    pub group_by: Vec<SessionGroup>,
    pub period: StatsPeriod,
    pub interval_ms: i64,
}

impl SessionQuery {
    /// Whether distinct users must be read.
    pub fn needs_users(&self) -> bool {
        self.fields.iter().any(|f| f.needs_users())
    }

    pub fn grouped_by(&self, group: SessionGroup) -> bool {
        self.group_by.contains(&group)
    }

    /// The interval starts (epoch ms) of a period ending at `now_ms`, oldest first.
    pub fn intervals(&self, now_ms: i64) -> Vec<i64> {
        let last = now_ms - now_ms.rem_euclid(self.interval_ms);
        let count = (self.period.length_ms / self.interval_ms).max(1);
        (0..count).rev().map(|i| last - i * self.interval_ms).collect()
    }
}

/// A query the endpoint cannot answer, as the 400's sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SessionQueryError(pub String);

/// Reads the query string's `field`, `groupBy`, `statsPeriod` (default 24h) and `interval` (default 1h).
pub fn parse_query(
    fields: &[String],
    group_by: &[String],
    stats_period: Option<&str>,
    interval: Option<&str>,
) -> Result<SessionQuery, SessionQueryError> {
    let refuse = |text: String| Err(SessionQueryError(text));
    if fields.is_empty() {
        return refuse("at least one field is required (e.g. field=sum(session))".into());
    }
    let mut parsed_fields = Vec::new();
    for name in fields {
        match SessionField::ALL.into_iter().find(|f| f.name() == name) {
            Some(field) => parsed_fields.push(field),
            None => return refuse(format!("unsupported field {name:?}; supported: sum(session), count_unique(user), crash_free_rate(session), crash_free_rate(user)")),
        }
    }
    let mut groups = Vec::new();
    for name in group_by {
        match [SessionGroup::Release, SessionGroup::Environment, SessionGroup::Status]
            .into_iter()
            .find(|g| g.name() == name)
        {
            Some(group) if !groups.contains(&group) => groups.push(group),
            Some(_) => {}
            None => {
                return refuse(format!(
                    "unsupported groupBy {name:?}; supported: release, environment, session.status"
                ))
            }
        }
    }
    if groups.contains(&SessionGroup::Status) {
        if let Some(other) = parsed_fields.iter().find(|f| **f != SessionField::Sessions) {
            return refuse(format!(
                "{} cannot be grouped by session.status (only sum(session) can)",
                other.name()
            ));
        }
    }
    let period = StatsPeriod::parse(stats_period.unwrap_or("24h")).map_err(|e| SessionQueryError(e.to_string()))?;
    let interval_ms = match interval {
        None => HOUR_MS,
        Some(text) => {
            StatsPeriod::parse(text)
                .map_err(|e| SessionQueryError(e.to_string()))?
                .length_ms
        }
    };
    if interval_ms % HOUR_MS != 0 {
        return refuse(format!(
            "interval {:?} must be a whole number of hours",
            interval.unwrap_or("")
        ));
    }
    if period.length_ms / interval_ms > MAX_INTERVALS {
        return refuse(format!(
            "at most {MAX_INTERVALS} intervals: use a longer interval or a shorter statsPeriod"
        ));
    }
    Ok(SessionQuery {
        fields: parsed_fields,
        group_by: groups,
        period,
        interval_ms,
    })
}

/// One group of the answer: its values of the grouping columns, its totals and per-interval series, in
/// the query's field order. A rate without sessions is `None` (JSON null), as Sentry answers.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionGroupAnswer {
    pub by: Vec<(SessionGroup, String)>,
    pub totals: Vec<(SessionField, Option<f64>)>,
    pub series: Vec<(SessionField, Vec<Option<f64>>)>,
}

/// Session counts of a group in one interval (or in total).
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    sessions: i64,
    crashed: i64,
    users: i64,
    crashed_users: i64,
}

type GroupKey = Vec<(SessionGroup, String)>;

/// Folds the hours (and distinct users over the period and per hour) into the answer's groups. Distinct
/// users per interval are summed from hours, so a user of two hours of one interval counts twice there;
/// totals count each once.
pub fn answer(
    query: &SessionQuery,
    starts: &[i64],
    hours: &[HealthHour],
    users_total: &[UserCount],
    users_hourly: &[UserCount],
) -> Vec<SessionGroupAnswer> {
    let mut totals: BTreeMap<GroupKey, Tally> = BTreeMap::new();
    let mut series: BTreeMap<GroupKey, Vec<Tally>> = BTreeMap::new();
    let slot = |hour: i64| starts.iter().rposition(|start| *start <= hour);
    for hour in hours {
        for (status, sessions, crashed) in split(query, hour) {
            let key = group_key(query, Some(&hour.release), Some(&hour.environment), status);
            let total = totals.entry(key.clone()).or_default();
            total.sessions += sessions;
            total.crashed += crashed;
            if let Some(i) = slot(hour.hour) {
                let row = series
                    .entry(key)
                    .or_insert_with(|| vec![Tally::default(); starts.len()]);
                row[i].sessions += sessions;
                row[i].crashed += crashed;
            }
        }
    }
    for users in users_total {
        let key = group_key(query, users.release.as_deref(), users.environment.as_deref(), None);
        let total = totals.entry(key).or_default();
        total.users += users.users;
        total.crashed_users += users.crashed_users;
    }
    for users in users_hourly {
        let key = group_key(query, users.release.as_deref(), users.environment.as_deref(), None);
        if let Some(i) = users.hour.and_then(slot) {
            let row = series
                .entry(key)
                .or_insert_with(|| vec![Tally::default(); starts.len()]);
            row[i].users += users.users;
            row[i].crashed_users += users.crashed_users;
        }
    }
    totals
        .into_iter()
        .map(|(by, total)| {
            let empty = vec![Tally::default(); starts.len()];
            let row = series.get(&by).unwrap_or(&empty);
            SessionGroupAnswer {
                totals: query.fields.iter().map(|f| (*f, value(*f, &total))).collect(),
                series: query
                    .fields
                    .iter()
                    .map(|f| (*f, row.iter().map(|t| value(*f, t)).collect()))
                    .collect(),
                by,
            }
        })
        .collect()
}

/// An hour's sessions as (status, sessions, crashed); one part unless grouped by status.
fn split(query: &SessionQuery, hour: &HealthHour) -> Vec<(Option<&'static str>, i64, i64)> {
    if !query.grouped_by(SessionGroup::Status) {
        return vec![(None, hour.started, hour.crashed)];
    }
    let errored_only = (hour.errored - hour.crashed - hour.abnormal).max(0);
    let healthy = (hour.started - hour.errored).max(0);
    vec![
        (Some("healthy"), healthy, 0),
        (Some("errored"), errored_only, 0),
        (Some("crashed"), hour.crashed, hour.crashed),
        (Some("abnormal"), hour.abnormal, 0),
    ]
}

fn group_key(query: &SessionQuery, release: Option<&str>, environment: Option<&str>, status: Option<&str>) -> GroupKey {
    query
        .group_by
        .iter()
        .map(|group| {
            let value = match group {
                SessionGroup::Release => release,
                SessionGroup::Environment => environment,
                SessionGroup::Status => status,
            };
            (*group, value.unwrap_or_default().to_owned())
        })
        .collect()
}

fn value(field: SessionField, tally: &Tally) -> Option<f64> {
    let rate = |bad: i64, all: i64| (all > 0).then(|| 1.0 - bad.min(all) as f64 / all as f64);
    match field {
        SessionField::Sessions => Some(tally.sessions as f64),
        SessionField::Users => Some(tally.users as f64),
        SessionField::CrashFreeSessions => rate(tally.crashed, tally.sessions),
        SessionField::CrashFreeUsers => rate(tally.crashed_users, tally.users),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(fields: &[&str], group_by: &[&str]) -> Result<SessionQuery, SessionQueryError> {
        let owned = |texts: &[&str]| texts.iter().map(|t| t.to_string()).collect::<Vec<_>>();
        parse_query(&owned(fields), &owned(group_by), Some("2h"), None)
    }

    fn hour(release: &str, at: i64, started: i64, errored: i64, crashed: i64) -> HealthHour {
        HealthHour {
            release: release.into(),
            environment: "production".into(),
            hour: at,
            started,
            errored,
            crashed,
            abnormal: 0,
        }
    }

    #[test]
    fn unsupported_fields_and_groupings_are_named() {
        let error = query(&["avg(session.duration)"], &[]).unwrap_err();
        assert!(error.0.contains("avg(session.duration)"), "{error}");
        let error = query(&["sum(session)"], &["project"]).unwrap_err();
        assert!(error.0.contains("\"project\""), "{error}");
        let error = query(&["crash_free_rate(session)"], &["session.status"]).unwrap_err();
        assert!(error.0.contains("crash_free_rate(session)"), "{error}");
        assert!(query(&[], &[]).is_err());
        let odd = parse_query(&["sum(session)".into()], &[], Some("24h"), Some("90m")).unwrap_err();
        assert!(odd.0.contains("hours"), "{odd}");
    }

    #[test]
    fn releases_get_their_sessions_and_crash_free_rates() {
        let q = query(
            &["sum(session)", "crash_free_rate(session)", "crash_free_rate(user)"],
            &["release"],
        )
        .unwrap();
        let starts = [0, HOUR_MS];
        let hours = [
            hour("1.0", 0, 8, 2, 1),
            hour("1.0", HOUR_MS, 2, 0, 0),
            hour("2.0", HOUR_MS, 5, 5, 5),
        ];
        let users = [
            UserCount {
                release: Some("1.0".into()),
                users: 4,
                crashed_users: 1,
                ..UserCount::default()
            },
            UserCount {
                release: Some("2.0".into()),
                users: 1,
                crashed_users: 1,
                ..UserCount::default()
            },
        ];
        let groups = answer(&q, &starts, &hours, &users, &[]);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].by, vec![(SessionGroup::Release, "1.0".to_string())]);
        assert_eq!(
            groups[0].totals,
            vec![
                (SessionField::Sessions, Some(10.0)),
                (SessionField::CrashFreeSessions, Some(0.9)),
                (SessionField::CrashFreeUsers, Some(0.75)),
            ]
        );
        assert_eq!(groups[0].series[0].1, vec![Some(8.0), Some(2.0)]);
        assert_eq!(groups[1].series[1].1, vec![None, Some(0.0)], "no sessions: no rate");
    }

    #[test]
    fn statuses_split_the_sessions_as_sentry_does() {
        let q = query(&["sum(session)"], &["session.status"]).unwrap();
        let mut one = hour("1.0", 0, 10, 4, 1);
        one.abnormal = 1;
        let groups = answer(&q, &[0], &[one], &[], &[]);
        let by_status: Vec<(String, Option<f64>)> = groups.iter().map(|g| (g.by[0].1.clone(), g.totals[0].1)).collect();
        assert_eq!(
            by_status,
            vec![
                ("abnormal".into(), Some(1.0)),
                ("crashed".into(), Some(1.0)),
                ("errored".into(), Some(2.0)),
                ("healthy".into(), Some(6.0)),
            ]
        );
    }
}
