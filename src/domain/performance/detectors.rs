//! Performance problems in one transaction, each of which becomes an event of a performance issue:
//!
//! - **N+1 queries** (`performance_n_plus_one_db_queries`): the same normalized query (`query`) run at least
//!   N times by sibling spans (one parent), costing at least M ms together: a loop that asks the database
//!   once per row.
//! - **Slow DB query** (`performance_slow_db_query`): one query span longer than a threshold.
//!
//! Only database spans count (the op's kind is `db`, caches such as `db.redis` excepted), and only queries:
//! `connect`, `BEGIN`, `COMMIT` and their like repeat on every request. Spans are grouped by their parent id as
//! given, never walked as a tree, so a tree that loops costs nothing more; the work is linear in the spans.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::domain::ProjectId;

use super::query::{is_query, normalize_query};
use super::rollup::span_kind;
use super::transaction::{Span, Transaction};

/// When a problem is one (settings, see `config`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// N: sibling spans running the same query.
    pub n_plus_one_min_queries: usize,
    /// M: their summed duration.
    pub n_plus_one_min_total_ms: f64,
    /// A single query at least this long is slow.
    pub slow_db_query_ms: f64,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            n_plus_one_min_queries: 5,
            n_plus_one_min_total_ms: 50.0,
            slow_db_query_ms: 1000.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    NPlusOneDbQueries,
    SlowDbQuery,
}

impl ProblemKind {
    pub const ALL: [ProblemKind; 2] = [ProblemKind::NPlusOneDbQueries, ProblemKind::SlowDbQuery];

    /// The issue type, as Sentry names it.
    pub fn issue_type(self) -> &'static str {
        match self {
            ProblemKind::NPlusOneDbQueries => "performance_n_plus_one_db_queries",
            ProblemKind::SlowDbQuery => "performance_slow_db_query",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ProblemKind::NPlusOneDbQueries => "N+1 Query",
            ProblemKind::SlowDbQuery => "Slow DB Query",
        }
    }

    pub fn from_issue_type(issue_type: &str) -> Option<ProblemKind> {
        ProblemKind::ALL
            .into_iter()
            .find(|kind| kind.issue_type() == issue_type)
    }
}

/// One problem found in a transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub kind: ProblemKind,
    /// The normalized query.
    pub query: String,
    /// Indexes of the offending spans in the transaction's `spans`, in order.
    pub offenders: Vec<usize>,
    /// The offending spans' summed duration.
    pub total_ms: f64,
}

/// Every problem of the transaction: at most one per kind and query, N+1s first.
pub fn detect(transaction: &Transaction, thresholds: &Thresholds) -> Vec<Problem> {
    let queries = db_queries(&transaction.spans);
    let mut problems = n_plus_one(&transaction.spans, &queries, thresholds);
    problems.extend(slow_queries(&transaction.spans, &queries, thresholds));
    problems
}

/// The normalized query of each span that is a database query; identical descriptions (an N+1's) are
/// normalized once.
pub fn db_queries(spans: &[Span]) -> Vec<Option<String>> {
    let mut seen: HashMap<&str, Option<String>> = HashMap::new();
    spans
        .iter()
        .map(|span| {
            if span_kind(&span.op) != "db" || span.op.starts_with("db.redis") || span.description.is_empty() {
                return None;
            }
            seen.entry(span.description.as_str())
                .or_insert_with(|| Some(normalize_query(&span.description)).filter(|q| is_query(q)))
                .clone()
        })
        .collect()
}

fn n_plus_one(spans: &[Span], queries: &[Option<String>], thresholds: &Thresholds) -> Vec<Problem> {
    let mut siblings: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (index, query) in queries.iter().enumerate() {
        if let Some(query) = query {
            let parent = spans[index].parent_span_id.as_str();
            siblings.entry((parent, query.as_str())).or_default().push(index);
        }
    }
    let repeated = siblings.into_iter().filter(|(_, members)| {
        let total: f64 = members.iter().map(|&i| spans[i].duration_ms()).sum();
        members.len() >= thresholds.n_plus_one_min_queries.max(2) && total >= thresholds.n_plus_one_min_total_ms
    });
    by_query(
        ProblemKind::NPlusOneDbQueries,
        spans,
        repeated.map(|((_, query), members)| (query, members)),
    )
}

fn slow_queries(spans: &[Span], queries: &[Option<String>], thresholds: &Thresholds) -> Vec<Problem> {
    let slow = queries.iter().enumerate().filter_map(|(index, query)| {
        let query = query.as_deref()?;
        (spans[index].duration_ms() >= thresholds.slow_db_query_ms).then(|| (query, vec![index]))
    });
    by_query(ProblemKind::SlowDbQuery, spans, slow)
}

/// One problem per query (the same N+1 under two parents is one problem), ordered by first offender.
fn by_query<'q>(kind: ProblemKind, spans: &[Span], found: impl Iterator<Item = (&'q str, Vec<usize>)>) -> Vec<Problem> {
    let mut merged: HashMap<&str, Vec<usize>> = HashMap::new();
    for (query, members) in found {
        merged.entry(query).or_default().extend(members);
    }
    let mut problems: Vec<Problem> = merged
        .into_iter()
        .map(|(query, mut offenders)| {
            offenders.sort_unstable();
            Problem {
                kind,
                query: query.to_owned(),
                total_ms: offenders.iter().map(|&i| spans[i].duration_ms()).sum(),
                offenders,
            }
        })
        .collect();
    problems.sort_by_key(|problem| problem.offenders[0]);
    problems
}

/// The issue a problem belongs to: 64 hex of SHA-256 over the length-prefixed project, type, transaction
/// name and normalized query, so every transaction of one endpoint running one loop lands in one issue.
pub fn problem_fingerprint(project_id: ProjectId, kind: ProblemKind, transaction: &str, query: &str) -> String {
    let mut hasher = Sha256::new();
    let project = project_id.get().to_string();
    for part in [project.as_str(), kind.issue_type(), transaction, query] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOK_REVIEWS: &str = "SELECT COUNT(*) AS \"__count\" FROM \"review\" WHERE \"review\".\"book_id\" = %s";

    fn span(id: &str, parent: &str, op: &str, description: &str, start: f64, ms: f64) -> Span {
        Span {
            span_id: id.into(),
            parent_span_id: parent.into(),
            op: op.into(),
            description: description.into(),
            start,
            end: start + ms / 1000.0,
        }
    }

    fn transaction(spans: Vec<Span>) -> Transaction {
        Transaction {
            name: "/books/".into(),
            op: "http.server".into(),
            status: "ok".into(),
            start: 1_700_000_000.0,
            end: 1_700_000_002.0,
            trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
            span_id: "root".into(),
            environment: "production".into(),
            release: "1.0".into(),
            spans,
            spans_dropped: 0,
            vitals: Vec::new(),
        }
    }

    /// The Django N+1: connect, the page of books, then one review count per book (`each_ms` each).
    fn books_page(rows: usize, each_ms: f64) -> Vec<Span> {
        let t = 1_700_000_000.0;
        let mut spans = vec![
            span("c", "root", "db", "connect", t, 0.2),
            span(
                "p",
                "root",
                "db",
                "SELECT * FROM \"book\" ORDER BY id LIMIT 10",
                t + 0.001,
                0.3,
            ),
        ];
        for row in 0..rows {
            let at = t + 0.002 + row as f64 * each_ms / 1000.0;
            spans.push(span(&format!("q{row}"), "root", "db", BOOK_REVIEWS, at, each_ms));
        }
        spans
    }

    #[test]
    fn ten_review_counts_of_twenty_ms_are_one_n_plus_one() {
        let problems = detect(&transaction(books_page(10, 20.0)), &Thresholds::default());
        assert_eq!(problems.len(), 1, "{problems:?}");
        let problem = &problems[0];
        assert_eq!(problem.kind, ProblemKind::NPlusOneDbQueries);
        assert_eq!(problem.query, BOOK_REVIEWS);
        assert_eq!(problem.offenders, (2..12).collect::<Vec<_>>());
        assert!((problem.total_ms - 200.0).abs() < 0.01);
    }

    #[test]
    fn too_few_or_too_fast_repeats_are_no_problem() {
        let thresholds = Thresholds::default();
        assert!(
            detect(&transaction(books_page(4, 30.0)), &thresholds).is_empty(),
            "4 < N"
        );
        assert!(
            detect(&transaction(books_page(10, 4.0)), &thresholds).is_empty(),
            "40 ms < M"
        );
        assert!(detect(&transaction(vec![]), &thresholds).is_empty());
        let lenient = Thresholds {
            n_plus_one_min_queries: 3,
            n_plus_one_min_total_ms: 10.0,
            ..thresholds
        };
        assert_eq!(
            detect(&transaction(books_page(4, 4.0)), &lenient).len(),
            1,
            "settings apply"
        );
    }

    #[test]
    fn only_siblings_repeating_one_query_count() {
        let t = 1_700_000_000.0;
        // Five counts, but under five different parents: each parent runs it once.
        let scattered: Vec<Span> = (0..5)
            .map(|i| span(&format!("q{i}"), &format!("p{i}"), "db", BOOK_REVIEWS, t, 30.0))
            .collect();
        assert!(detect(&transaction(scattered), &Thresholds::default()).is_empty());
        // Five statements that differ only in their literals are one query; commits and caches are none.
        let mut literals: Vec<Span> = (0..5)
            .map(|i| {
                span(
                    &format!("q{i}"),
                    "root",
                    "db.sql.query",
                    &format!("SELECT * FROM a WHERE id = {i}"),
                    t,
                    30.0,
                )
            })
            .collect();
        literals.extend((0..5).map(|i| span(&format!("c{i}"), "root", "db", "COMMIT", t, 30.0)));
        literals.extend((0..5).map(|i| span(&format!("r{i}"), "root", "db.redis", "GET session:1", t, 30.0)));
        literals.extend((0..5).map(|i| span(&format!("h{i}"), "root", "http.client", "GET /a", t, 30.0)));
        let problems = detect(&transaction(literals), &Thresholds::default());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].query, "SELECT * FROM a WHERE id = %s");
        assert_eq!(problems[0].offenders, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn a_query_over_the_threshold_is_slow() {
        let t = 1_700_000_000.0;
        let report =
            "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < %s) SELECT COUNT(*) FROM c";
        let spans = vec![
            span("c", "root", "db", "connect", t, 1500.0),
            span("a", "root", "db", report, t, 1643.0),
            span("b", "root", "db", "SELECT 1", t + 1.7, 999.0),
            span("d", "root", "db", report, t + 1.7, 1200.0),
        ];
        let problems = detect(&transaction(spans), &Thresholds::default());
        assert_eq!(
            problems.len(),
            1,
            "a slow connect is no query; 999 ms is not slow: {problems:?}"
        );
        assert_eq!(problems[0].kind, ProblemKind::SlowDbQuery);
        assert_eq!(problems[0].offenders, vec![1, 3], "both runs of the query, one problem");
    }

    #[test]
    fn a_span_tree_that_loops_is_just_spans() {
        let t = 1_700_000_000.0;
        // a → b → a: each the other's parent, five queries under each.
        let mut spans = vec![
            span("a", "b", "function", "outer", t, 100.0),
            span("b", "a", "function", "inner", t, 100.0),
        ];
        spans.extend((0..5).map(|i| span(&format!("q{i}"), "a", "db", BOOK_REVIEWS, t, 20.0)));
        spans.extend((0..5).map(|i| span(&format!("r{i}"), "b", "db", BOOK_REVIEWS, t, 20.0)));
        let problems = detect(&transaction(spans), &Thresholds::default());
        assert_eq!(problems.len(), 1);
        assert_eq!(
            problems[0].offenders.len(),
            10,
            "one problem for the query under both parents"
        );
    }

    #[test]
    fn a_hundred_thousand_spans_are_read_in_linear_time() {
        let started = std::time::Instant::now();
        let t = 1_700_000_000.0;
        let spans: Vec<Span> = (0..100_000)
            .map(|i| {
                let description = format!("SELECT * FROM item WHERE id = {i}");
                let parent = if i % 2 == 0 { "root" } else { "other" };
                span(&format!("s{i}"), parent, "db", &description, t + i as f64 * 1e-5, 0.01)
            })
            .collect();
        let problems = detect(&transaction(spans), &Thresholds::default());
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].offenders.len(), 100_000);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn fingerprints_separate_projects_types_transactions_and_queries() {
        let base = problem_fingerprint(ProjectId(1), ProblemKind::NPlusOneDbQueries, "/books/", BOOK_REVIEWS);
        assert_eq!(base.len(), 64);
        assert!(base.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(
            base,
            problem_fingerprint(ProjectId(1), ProblemKind::NPlusOneDbQueries, "/books/", BOOK_REVIEWS)
        );
        for other in [
            problem_fingerprint(ProjectId(2), ProblemKind::NPlusOneDbQueries, "/books/", BOOK_REVIEWS),
            problem_fingerprint(ProjectId(1), ProblemKind::SlowDbQuery, "/books/", BOOK_REVIEWS),
            problem_fingerprint(ProjectId(1), ProblemKind::NPlusOneDbQueries, "/authors/", BOOK_REVIEWS),
            problem_fingerprint(ProjectId(1), ProblemKind::NPlusOneDbQueries, "/books/", "SELECT 1"),
            problem_fingerprint(ProjectId(1), ProblemKind::NPlusOneDbQueries, "/books/S", "ELECT 1"),
        ] {
            assert_ne!(base, other);
        }
        assert_eq!(
            ProblemKind::from_issue_type("performance_slow_db_query"),
            Some(ProblemKind::SlowDbQuery)
        );
        assert_eq!(ProblemKind::from_issue_type("error"), None);
    }
}
