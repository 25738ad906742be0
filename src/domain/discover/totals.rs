//! What a group of rows adds up to, and the value of each function over it: counts and sums add, the
//! duration histograms merge (`performance::histogram`), and rates divide by the window. Also how rows
//! sort (nulls last either way) and how a top-events series is named (Sentry's `create_result_key`).

use std::cmp::Ordering;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::domain::performance::histogram::Histogram;

use super::field::Function;

/// One cell of a result row.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Int(i64),
    Float(f64),
    /// `None` is JSON null (a release that was never set).
    Text(Option<String>),
    /// Epoch milliseconds, written as an ISO 8601 string.
    Date(i64),
}

impl FieldValue {
    /// The number a series plots (0 for what is not a number).
    pub fn as_number(&self) -> f64 {
        match self {
            FieldValue::Int(n) => *n as f64,
            FieldValue::Float(x) => *x,
            FieldValue::Text(_) | FieldValue::Date(_) => 0.0,
        }
    }

    /// The value as a top-events series names it: nulls are empty.
    pub fn key_text(&self) -> String {
        match self {
            FieldValue::Int(n) => n.to_string(),
            FieldValue::Float(x) => x.to_string(),
            FieldValue::Text(text) => text.clone().unwrap_or_default(),
            FieldValue::Date(ms) => OffsetDateTime::from_unix_timestamp_nanos(i128::from(*ms) * 1_000_000)
                .ok()
                .and_then(|at| at.format(&Rfc3339).ok())
                .unwrap_or_default(),
        }
    }

    fn is_null(&self) -> bool {
        matches!(self, FieldValue::Text(None))
    }
}

/// What a value is computed against: the window's length (rates) and the default Apdex threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValueContext {
    pub span_ms: i64,
    pub apdex_threshold_ms: f64,
}

/// The sums of a group. Errors fill `count`, `users` and `last_seen_ms`; transactions fill `count`,
/// `failures`, `duration_ms`, the histogram `buckets` and `last_seen_ms` (the start of their last minute).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    pub count: i64,
    pub users: i64,
    pub last_seen_ms: Option<i64>,
    pub failures: i64,
    pub duration_ms: f64,
    /// `(histogram bucket, count)`, in any order, repeats allowed.
    pub buckets: Vec<(usize, i64)>,
}

impl Totals {
    /// Adds another part of the same group. Distinct users add too: a group's users come from one query.
    pub fn add(&mut self, other: &Totals) {
        self.count += other.count;
        self.users += other.users;
        self.last_seen_ms = self.last_seen_ms.max(other.last_seen_ms);
        self.failures += other.failures;
        self.duration_ms += other.duration_ms;
        self.buckets.extend_from_slice(&other.buckets);
    }

    pub fn value(&self, function: Function, context: &ValueContext) -> FieldValue {
        let ratio = |part: f64, whole: f64| if whole > 0.0 { part / whole } else { 0.0 };
        let count = self.count as f64;
        match function {
            Function::Count => FieldValue::Int(self.count),
            Function::CountUniqueUsers => FieldValue::Int(self.users),
            Function::FailureCount => FieldValue::Int(self.failures),
            Function::LastSeen => self.last_seen_ms.map_or(FieldValue::Text(None), FieldValue::Date),
            Function::Percentile(p) => FieldValue::Float(self.histogram().percentile(p.quantile()).unwrap_or(0.0)),
            Function::AvgDuration => FieldValue::Float(ratio(self.duration_ms, count)),
            Function::FailureRate => FieldValue::Float(ratio(self.failures as f64, count)),
            Function::Apdex(threshold) => {
                let threshold = threshold.map_or(context.apdex_threshold_ms, f64::from);
                FieldValue::Float(self.histogram().apdex(threshold).unwrap_or(0.0))
            }
            Function::PerMinute => FieldValue::Float(ratio(count, context.span_ms as f64 / 60_000.0)),
            Function::PerSecond => FieldValue::Float(ratio(count, context.span_ms as f64 / 1_000.0)),
        }
    }

    fn histogram(&self) -> Histogram {
        Histogram::from_counts(self.buckets.iter().copied())
    }
}

/// Orders two values of one column; nulls come last whichever the direction.
pub fn compare_values(a: &FieldValue, b: &FieldValue, descending: bool) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        (false, false) => {}
    }
    let ordering = match (a, b) {
        (FieldValue::Text(a), FieldValue::Text(b)) => a.cmp(b),
        (FieldValue::Int(a), FieldValue::Int(b)) | (FieldValue::Date(a), FieldValue::Date(b)) => a.cmp(b),
        _ => a.as_number().total_cmp(&b.as_number()),
    };
    if descending {
        ordering.reverse()
    } else {
        ordering
    }
}

/// The name of a top-events series: the group's values sorted by field name, joined with `,`; a group
/// named `Other` is told apart from the "Other" series by its first field.
pub fn group_key(values: &[(&str, &FieldValue)]) -> String {
    let mut sorted: Vec<&(&str, &FieldValue)> = values.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let key = sorted.iter().map(|(_, v)| v.key_text()).collect::<Vec<_>>().join(",");
    match (key.as_str(), values.first()) {
        (OTHER, Some((first, _))) => format!("{OTHER} ({first})"),
        _ => key,
    }
}

/// The series of everything outside the top events.
pub const OTHER: &str = "Other";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::discover::field::Percentile;
    use crate::domain::performance::histogram::bucket_of;

    const CONTEXT: ValueContext = ValueContext {
        span_ms: 3_600_000,
        apdex_threshold_ms: 300.0,
    };

    fn transactions(durations: &[f64], failures: i64) -> Totals {
        Totals {
            count: durations.len() as i64,
            failures,
            duration_ms: durations.iter().sum(),
            buckets: durations.iter().map(|d| (bucket_of(*d), 1)).collect(),
            last_seen_ms: Some(60_000),
            ..Totals::default()
        }
    }

    #[test]
    fn parts_of_a_group_add_up_and_percentiles_come_from_the_merged_histogram() {
        let mut total = transactions(&[20.0; 9], 0);
        total.add(&transactions(&[800.0], 1));
        assert_eq!(total.value(Function::Count, &CONTEXT), FieldValue::Int(10));
        assert_eq!(total.value(Function::FailureRate, &CONTEXT), FieldValue::Float(0.1));
        assert_eq!(total.value(Function::FailureCount, &CONTEXT), FieldValue::Int(1));
        assert_eq!(total.value(Function::AvgDuration, &CONTEXT), FieldValue::Float(98.0));
        let p50 = total.value(Function::Percentile(Percentile::P50), &CONTEXT).as_number();
        let p95 = total.value(Function::Percentile(Percentile::P95), &CONTEXT).as_number();
        assert!(
            (20.0..23.0).contains(&p50) && (800.0..900.0).contains(&p95),
            "{p50} {p95}"
        );
        assert_eq!(total.value(Function::Apdex(None), &CONTEXT), FieldValue::Float(0.95));
        assert_eq!(total.value(Function::Apdex(Some(1)), &CONTEXT), FieldValue::Float(0.0));
        assert_eq!(total.value(Function::LastSeen, &CONTEXT), FieldValue::Date(60_000));
    }

    #[test]
    fn rates_divide_by_the_window_and_an_empty_group_is_all_zeros() {
        let busy = Totals {
            count: 120,
            ..Totals::default()
        };
        assert_eq!(busy.value(Function::PerMinute, &CONTEXT), FieldValue::Float(2.0));
        assert_eq!(busy.value(Function::PerSecond, &CONTEXT).as_number(), 120.0 / 3600.0);
        let empty = Totals::default();
        for function in [
            Function::Count,
            Function::FailureRate,
            Function::AvgDuration,
            Function::Percentile(Percentile::P99),
            Function::Apdex(None),
        ] {
            assert_eq!(empty.value(function, &CONTEXT).as_number(), 0.0, "{function:?}");
        }
        assert_eq!(empty.value(Function::LastSeen, &CONTEXT), FieldValue::Text(None));
    }

    #[test]
    fn nulls_sort_last_in_both_directions() {
        let null = FieldValue::Text(None);
        let a = FieldValue::Text(Some("a".into()));
        let b = FieldValue::Text(Some("b".into()));
        let mut values = vec![null.clone(), b.clone(), a.clone()];
        values.sort_by(|x, y| compare_values(x, y, false));
        assert_eq!(values, [a.clone(), b.clone(), null.clone()]);
        values.sort_by(|x, y| compare_values(x, y, true));
        assert_eq!(values, [b, a, null]);
        assert_eq!(
            compare_values(&FieldValue::Int(2), &FieldValue::Float(2.5), false),
            Ordering::Less
        );
    }

    #[test]
    fn series_are_named_by_their_values_sorted_by_field() {
        let release = FieldValue::Text(Some("1.0".into()));
        let project = FieldValue::Text(Some("web".into()));
        assert_eq!(group_key(&[("release", &release), ("project", &project)]), "web,1.0");
        assert_eq!(group_key(&[("release", &FieldValue::Text(None))]), "");
        let other = FieldValue::Text(Some("Other".into()));
        assert_eq!(group_key(&[("transaction", &other)]), "Other (transaction)");
        assert_eq!(FieldValue::Date(0).key_text(), "1970-01-01T00:00:00Z");
    }
}
