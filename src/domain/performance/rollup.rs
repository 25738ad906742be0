//! Rolling transactions up: per project, environment, release, name and operation, per minute: how many,
//! how many failed, their summed duration, a duration histogram (`histogram`) and the time spent per span
//! operation (`db`, `http`, `template`, … : the op's first dotted part; overlapping spans of one kind count
//! once), and the web vitals of browser page loads in the same histogram buckets (`vitals`). A batch of transactions is folded here first, so that the store writes one row per key and minute
//! rather than one per transaction.

use std::collections::HashMap;

use crate::domain::ProjectId;

use super::histogram::bucket_of;
use super::transaction::{Span, Transaction};
use super::vitals::Vital;

const MINUTE_MS: i64 = 60_000;
/// Rollups older than [`FOLD_AFTER_MS`] are kept per hour: the row at the hour's start holds its sums.
pub const HOUR_MS: i64 = 3_600_000;
/// How long rollups stay per minute: a day, as Sentry's finest granularity beyond that is the hour.
pub const FOLD_AFTER_MS: i64 = 24 * HOUR_MS;

/// The hour start before which minutes are folded into hours, as of `now_ms`.
pub fn fold_before(now_ms: i64) -> i64 {
    let day_ago = now_ms - FOLD_AFTER_MS;
    day_ago - day_ago.rem_euclid(HOUR_MS)
}

/// What transactions are rolled up under.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RollupKey {
    pub project_id: ProjectId,
    pub environment: String,
    pub release: String,
    pub name: String,
    pub op: String,
}

/// One key's minute.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MinuteCounts {
    pub count: i64,
    pub failures: i64,
    pub duration_ms: f64,
}

/// A batch of transactions, folded.
#[derive(Debug, Default)]
pub struct Rollup {
    /// By key and minute start (epoch ms).
    pub minutes: HashMap<(RollupKey, i64), MinuteCounts>,
    /// By key, minute and histogram bucket.
    pub buckets: HashMap<(RollupKey, i64, usize), i64>,
    /// Milliseconds and spans by key, minute and span kind.
    pub span_ops: HashMap<(RollupKey, i64, String), (f64, i64)>,
    /// Measured page loads by key, minute, vital and histogram bucket (only browser SDKs send them).
    pub vitals: HashMap<(RollupKey, i64, Vital, usize), i64>,
}

impl Rollup {
    pub fn add(&mut self, project_id: ProjectId, transaction: &Transaction) {
        let key = RollupKey {
            project_id,
            environment: transaction.environment.clone(),
            release: transaction.release.clone(),
            name: transaction.name.clone(),
            op: transaction.op.clone(),
        };
        let minute = minute_of(transaction.end);
        let duration = transaction.duration_ms();
        let counts = self.minutes.entry((key.clone(), minute)).or_default();
        counts.count += 1;
        counts.failures += i64::from(transaction.is_failure());
        counts.duration_ms += duration;
        *self
            .buckets
            .entry((key.clone(), minute, bucket_of(duration)))
            .or_default() += 1;
        for (kind, (ms, spans)) in time_per_kind(&transaction.spans) {
            let entry = self.span_ops.entry((key.clone(), minute, kind)).or_default();
            entry.0 += ms;
            entry.1 += spans;
        }
        for &(vital, value) in &transaction.vitals {
            *self
                .vitals
                .entry((key.clone(), minute, vital, bucket_of(value)))
                .or_default() += 1;
        }
    }

    pub fn transactions(&self) -> i64 {
        self.minutes.values().map(|m| m.count).sum()
    }
}

/// The start (epoch ms) of the minute a time in Unix seconds falls in.
pub fn minute_of(seconds: f64) -> i64 {
    let ms = (seconds * 1000.0) as i64;
    ms - ms.rem_euclid(MINUTE_MS)
}

/// The kind of a span operation: its first dotted part (`db.sql.query` → `db`).
pub fn span_kind(op: &str) -> &str {
    op.split('.').next().unwrap_or(op)
}

/// Milliseconds covered by each kind's spans (overlaps counted once) and how many spans of it there were.
fn time_per_kind(spans: &[Span]) -> HashMap<String, (f64, i64)> {
    let mut by_kind: HashMap<&str, Vec<(f64, f64)>> = HashMap::new();
    for span in spans {
        by_kind
            .entry(span_kind(&span.op))
            .or_default()
            .push((span.start, span.end));
    }
    by_kind
        .into_iter()
        .map(|(kind, mut intervals)| {
            let spans = intervals.len() as i64;
            intervals.sort_by(|a, b| a.0.total_cmp(&b.0));
            let (mut covered, mut reach) = (0.0, f64::MIN);
            for (start, end) in intervals {
                let from = start.max(reach);
                if end > from {
                    covered += end - from;
                }
                reach = reach.max(end);
            }
            (kind.to_owned(), (covered * 1000.0, spans))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_fold_up_to_the_hour_that_began_a_full_day_ago() {
        let hour = 1_800_000 * HOUR_MS;
        assert_eq!(fold_before(hour + FOLD_AFTER_MS), hour, "at the hour itself");
        assert_eq!(
            fold_before(hour + FOLD_AFTER_MS + HOUR_MS - 1),
            hour,
            "not the hour still under a day old"
        );
        assert_eq!(fold_before(hour + FOLD_AFTER_MS - 1), hour - HOUR_MS);
    }

    fn span(op: &str, start: f64, end: f64) -> Span {
        Span {
            span_id: String::new(),
            parent_span_id: String::new(),
            op: op.into(),
            description: String::new(),
            start,
            end,
        }
    }

    fn transaction(name: &str, status: &str, start: f64, end: f64, spans: Vec<Span>) -> Transaction {
        Transaction {
            name: name.into(),
            op: "http.server".into(),
            status: status.into(),
            start,
            end,
            trace_id: String::new(),
            span_id: String::new(),
            environment: "production".into(),
            release: "1.0".into(),
            spans,
            spans_dropped: 0,
            vitals: Vec::new(),
        }
    }

    #[test]
    fn a_batch_folds_into_one_row_per_key_and_minute() {
        let project = ProjectId(1);
        let mut rollup = Rollup::default();
        let t0 = 1_700_000_070.0; // 30 s into a minute
        rollup.add(project, &transaction("/a", "ok", t0, t0 + 0.1, vec![]));
        rollup.add(
            project,
            &transaction("/a", "internal_error", t0 + 1.0, t0 + 1.3, vec![]),
        );
        rollup.add(project, &transaction("/a", "ok", t0 + 30.0, t0 + 30.1, vec![]));
        rollup.add(project, &transaction("/b", "ok", t0, t0 + 0.1, vec![]));
        assert_eq!(rollup.transactions(), 4);
        assert_eq!(rollup.minutes.len(), 3, "/a in two minutes, /b in one");
        let minute = minute_of(t0 + 0.1);
        let key = rollup
            .minutes
            .keys()
            .find(|(k, m)| k.name == "/a" && *m == minute)
            .unwrap()
            .clone();
        let counts = &rollup.minutes[&key];
        assert_eq!((counts.count, counts.failures), (2, 1));
        assert!((counts.duration_ms - 400.0).abs() < 0.01);
        assert_eq!(rollup.buckets.values().sum::<i64>(), 4);
    }

    #[test]
    fn vitals_fold_into_their_buckets_beside_the_durations() {
        let project = ProjectId(1);
        let mut rollup = Rollup::default();
        let t0 = 1_700_000_070.0;
        let mut pageload = transaction("/", "ok", t0, t0 + 2.0, vec![]);
        pageload.vitals = vec![(Vital::Lcp, 1_500.0), (Vital::Cls, 100.0)];
        rollup.add(project, &pageload);
        rollup.add(project, &pageload);
        rollup.add(project, &transaction("/", "ok", t0, t0 + 1.0, vec![]));
        assert_eq!(rollup.transactions(), 3);
        let lcp: Vec<_> = rollup
            .vitals
            .iter()
            .filter(|((_, _, vital, _), _)| *vital == Vital::Lcp)
            .map(|((_, _, _, bucket), count)| (*bucket, *count))
            .collect();
        assert_eq!(lcp, vec![(bucket_of(1_500.0), 2)], "two measured loads, one bucket");
        assert_eq!(rollup.vitals.len(), 2, "LCP and CLS; the load without vitals adds none");
    }

    #[test]
    fn overlapping_spans_of_a_kind_count_once() {
        let spans = vec![
            span("db.sql.query", 0.0, 0.010),
            span("db", 0.005, 0.020),
            span("db", 0.050, 0.060),
            span("template.render", 0.0, 0.030),
        ];
        let kinds = time_per_kind(&spans);
        let (db_ms, db_spans) = kinds["db"];
        assert!((db_ms - 30.0).abs() < 0.001, "{db_ms}");
        assert_eq!(db_spans, 3);
        assert!((kinds["template"].0 - 30.0).abs() < 0.001);
    }

    #[test]
    fn minutes_start_on_the_minute() {
        // 1_700_000_040 s is a whole minute.
        assert_eq!(minute_of(1_700_000_040.5), 1_700_000_040_000);
        assert_eq!(minute_of(1_700_000_099.9), 1_700_000_040_000);
        assert_eq!(minute_of(1_700_000_100.0), 1_700_000_100_000);
        assert_eq!(span_kind("http.client"), "http");
        assert_eq!(span_kind("db"), "db");
    }
}
