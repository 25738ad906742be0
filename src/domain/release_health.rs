//! Release health: what the SDKs' `session` and `sessions` items say, read into per-hour counts per
//! release and environment (protocol §10.2). An individual `session` carries its whole state on every
//! update; it counts as started on its `init` update, as crashed or abnormal on the update that ends it
//! so, and as errored (by its `sid`, once however many updates say so) when it saw errors. A `sessions`
//! item is the SDK's own aggregate of many request sessions, one bucket per started minute. Distinct
//! users come from the `did` both carry.

use serde_json::Value;

use super::normalize::parse_timestamp;

/// Hours, in epoch milliseconds, as everything else is counted.
pub const HOUR_MS: i64 = 3_600_000;
/// Longest release or environment name kept, in characters (as events').
const MAX_NAME_CHARS: usize = 200;
/// Longest `did` kept, in characters.
const MAX_USER_CHARS: usize = 128;
/// Buckets read from one `sessions` item; Relay's limit is 100 (protocol §4.6).
pub const MAX_BUCKETS: usize = 100;

/// Where a session's counts go.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HealthKey {
    pub release: String,
    pub environment: String,
    /// The start of the hour the session started in.
    pub hour: i64,
}

/// What one item adds to its key's hour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthCounts {
    /// Sessions started.
    pub started: i64,
    /// Sessions that ended errored, crashed or abnormal, as aggregates count them (not by `sid`).
    pub errored: i64,
    pub crashed: i64,
    pub abnormal: i64,
}

/// A user seen in a key's hour, and whether one of their sessions crashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthUser {
    pub id: String,
    pub crashed: bool,
}

/// One item read: the counts of each key it touches, the errored `sid`s (counted once each), its users.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthUpdate {
    pub counts: Vec<(HealthKey, HealthCounts)>,
    pub errored_sessions: Vec<(HealthKey, String)>,
    pub users: Vec<(HealthKey, HealthUser)>,
}

impl HealthUpdate {
    /// The releases it names.
    pub fn releases(&self) -> impl Iterator<Item = &str> {
        self.counts.iter().map(|(key, _)| key.release.as_str())
    }
}

/// One release, environment and hour, summed over the filter's projects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthHour {
    pub release: String,
    pub environment: String,
    pub hour: i64,
    pub started: i64,
    /// Errored, crashed or abnormal: the aggregates' count plus the individual sessions' distinct sids.
    pub errored: i64,
    pub crashed: i64,
    pub abnormal: i64,
}

/// How distinct users are counted: over which columns, and per hour or over the whole period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserGrouping {
    pub by_release: bool,
    pub by_environment: bool,
    pub by_hour: bool,
}

/// Distinct users of one group: its release, environment and hour where grouped by them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserCount {
    pub release: Option<String>,
    pub environment: Option<String>,
    pub hour: Option<i64>,
    pub users: i64,
    /// Of them, those with a crashed session.
    pub crashed_users: i64,
}

/// Why an item cannot be read: a sentence for the 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("the session item is not a JSON object")]
    NotAnObject,
    #[error("a session needs attrs.release (release health is counted per release)")]
    NoRelease,
    #[error("a session needs a `started` time (RFC 3339 or Unix seconds)")]
    NoStart,
    #[error("a session needs its `sid`")]
    NoSid,
    #[error("`{0}` must be a whole number of at least 0")]
    BadCount(&'static str),
    #[error("a sessions item needs an `aggregates` list of at most {MAX_BUCKETS} buckets")]
    BadAggregates,
    #[error("unknown session status `{0}` (ok, exited, crashed, abnormal, errored)")]
    BadStatus(String),
}

/// Reads a `session` item (one session's current state).
pub fn read_session(value: &Value) -> Result<HealthUpdate, SessionError> {
    let object = value.as_object().ok_or(SessionError::NotAnObject)?;
    let key = key_of(value, object.get("started"))?;
    let sid = text(value, "sid").ok_or(SessionError::NoSid)?;
    let status = text(value, "status").unwrap_or("ok");
    if !matches!(status, "ok" | "exited" | "crashed" | "abnormal" | "errored") {
        return Err(SessionError::BadStatus(status.chars().take(40).collect()));
    }
    let errors = count(value, "errors")?;
    let init = value.get("init").and_then(Value::as_bool).unwrap_or(false);
    let crashed = status == "crashed";
    let counts = HealthCounts {
        started: i64::from(init),
        errored: 0,
        crashed: i64::from(crashed),
        abnormal: i64::from(status == "abnormal"),
    };
    let mut update = HealthUpdate::default();
    if errors > 0 || status != "ok" && status != "exited" {
        update
            .errored_sessions
            .push((key.clone(), truncated(sid, MAX_USER_CHARS)));
    }
    if let Some(user) = text(value, "did") {
        let id = truncated(user, MAX_USER_CHARS);
        update.users.push((key.clone(), HealthUser { id, crashed }));
    }
    update.counts.push((key, counts));
    Ok(update)
}

/// Reads a `sessions` item (the SDK's aggregate of many sessions).
pub fn read_aggregates(value: &Value) -> Result<HealthUpdate, SessionError> {
    value.as_object().ok_or(SessionError::NotAnObject)?;
    let buckets = value
        .get("aggregates")
        .and_then(Value::as_array)
        .filter(|buckets| buckets.len() <= MAX_BUCKETS)
        .ok_or(SessionError::BadAggregates)?;
    let mut update = HealthUpdate::default();
    for bucket in buckets {
        let key = key_of(value, bucket.get("started"))?;
        let [exited, errored, crashed, abnormal] =
            ["exited", "errored", "crashed", "abnormal"].map(|field| count(bucket, field));
        let (exited, errored, crashed, abnormal) = (exited?, errored?, crashed?, abnormal?);
        let counts = HealthCounts {
            started: exited + errored + crashed + abnormal,
            errored: errored + crashed + abnormal,
            crashed,
            abnormal,
        };
        if let Some(user) = text(bucket, "did") {
            let id = truncated(user, MAX_USER_CHARS);
            update.users.push((
                key.clone(),
                HealthUser {
                    id,
                    crashed: crashed > 0,
                },
            ));
        }
        update.counts.push((key, counts));
    }
    Ok(update)
}

/// The release and environment from `attrs`, the hour from `started`.
fn key_of(item: &Value, started: Option<&Value>) -> Result<HealthKey, SessionError> {
    let attrs = item.get("attrs");
    let release = attrs
        .and_then(|a| a.get("release"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .ok_or(SessionError::NoRelease)?;
    let environment = attrs
        .and_then(|a| a.get("environment"))
        .and_then(Value::as_str)
        .unwrap_or("production");
    let seconds = started.and_then(parse_timestamp).ok_or(SessionError::NoStart)?;
    let ms = (seconds * 1000.0) as i64;
    Ok(HealthKey {
        release: truncated(release, MAX_NAME_CHARS),
        environment: truncated(environment, MAX_NAME_CHARS),
        hour: ms.div_euclid(HOUR_MS) * HOUR_MS,
    })
}

fn text<'v>(value: &'v Value, field: &str) -> Option<&'v str> {
    value.get(field).and_then(Value::as_str).filter(|t| !t.is_empty())
}

/// A count field: absent is 0; negative, fractional or not a number is refused.
fn count(value: &Value, field: &'static str) -> Result<i64, SessionError> {
    match value.get(field) {
        None | Some(Value::Null) => Ok(0),
        Some(n) => n
            .as_i64()
            .filter(|n| (0..=i64::from(u32::MAX)).contains(n))
            .ok_or(SessionError::BadCount(field)),
    }
}

fn truncated(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const STARTED: &str = "2026-12-05T10:42:17.5Z";
    const HOUR: i64 = 1_796_464_800_000;

    fn key(release: &str) -> HealthKey {
        HealthKey {
            release: release.into(),
            environment: "production".into(),
            hour: HOUR,
        }
    }

    #[test]
    fn a_first_update_starts_a_session_and_a_crash_ends_it() {
        let first = json!({"sid": "s1", "did": "u1", "init": true, "started": STARTED, "status": "ok",
                           "errors": 0, "attrs": {"release": "shop@1.0"}});
        let update = read_session(&first).unwrap();
        assert_eq!(
            update.counts,
            vec![(
                key("shop@1.0"),
                HealthCounts {
                    started: 1,
                    ..HealthCounts::default()
                }
            )]
        );
        assert!(update.errored_sessions.is_empty());
        assert_eq!(
            update.users[0].1,
            HealthUser {
                id: "u1".into(),
                crashed: false
            }
        );

        let crashed = json!({"sid": "s1", "did": "u1", "started": STARTED, "status": "crashed", "errors": 1,
                             "attrs": {"release": "shop@1.0"}});
        let update = read_session(&crashed).unwrap();
        assert_eq!(
            update.counts[0].1,
            HealthCounts {
                crashed: 1,
                ..HealthCounts::default()
            }
        );
        assert_eq!(update.errored_sessions, vec![(key("shop@1.0"), "s1".into())]);
        assert!(update.users[0].1.crashed);
    }

    #[test]
    fn aggregates_count_every_bucket() {
        let item = json!({"attrs": {"release": "shop@2.0", "environment": "staging"}, "aggregates": [
            {"started": STARTED, "exited": 7, "errored": 2},
            {"started": "2026-12-05T11:00:00Z", "did": "u9", "crashed": 1}
        ]});
        let update = read_aggregates(&item).unwrap();
        let staging = |hour| HealthKey {
            release: "shop@2.0".into(),
            environment: "staging".into(),
            hour,
        };
        assert_eq!(
            update.counts,
            vec![
                (
                    staging(HOUR),
                    HealthCounts {
                        started: 9,
                        errored: 2,
                        ..HealthCounts::default()
                    }
                ),
                (
                    staging(HOUR + HOUR_MS),
                    HealthCounts {
                        started: 1,
                        errored: 1,
                        crashed: 1,
                        abnormal: 0
                    }
                ),
            ]
        );
        assert_eq!(
            update.users,
            vec![(
                staging(HOUR + HOUR_MS),
                HealthUser {
                    id: "u9".into(),
                    crashed: true
                }
            )]
        );
    }

    #[test]
    fn bad_sessions_are_refused_with_a_sentence() {
        let negative = json!({"attrs": {"release": "1"}, "aggregates": [{"started": STARTED, "exited": -3}]});
        assert_eq!(read_aggregates(&negative), Err(SessionError::BadCount("exited")));
        let no_release = json!({"sid": "s", "started": STARTED, "attrs": {}});
        assert_eq!(read_session(&no_release), Err(SessionError::NoRelease));
        let no_start = json!({"sid": "s", "attrs": {"release": "1"}});
        assert_eq!(read_session(&no_start), Err(SessionError::NoStart));
        let odd = json!({"sid": "s", "started": STARTED, "status": "exploded", "attrs": {"release": "1"}});
        assert!(read_session(&odd).unwrap_err().to_string().contains("exploded"));
        let too_many = json!({"attrs": {"release": "1"}, "aggregates": vec![json!({"started": STARTED}); 101]});
        assert_eq!(read_aggregates(&too_many), Err(SessionError::BadAggregates));
        assert_eq!(read_session(&json!([1])), Err(SessionError::NotAnObject));
    }
}
