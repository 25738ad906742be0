//! What a performance issue's event keeps of its transaction: the name, trace, the problem's query, and the
//! spans around it with the offending ones marked, so that the issue page can show the loop without the
//! transaction body. Database spans show their normalized query (no values, so no secrets in literals),
//! HTTP spans their URL without its query string; the list is bounded (offenders first, then the earliest others), and each span's depth under the
//! transaction is found by following parent ids a bounded number of steps, so a tree that loops ends.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::detectors::{db_queries, Problem};
use super::rollup::span_kind;
use super::transaction::Transaction;

/// Spans kept in the evidence.
pub const MAX_EVIDENCE_SPANS: usize = 250;
/// Longest span description kept, in characters.
const MAX_DESCRIPTION_CHARS: usize = 500;
/// Deepest nesting followed; deeper (or looping) spans show at this depth.
const MAX_DEPTH: usize = 24;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProblemEvidence {
    /// The issue type (`performance_n_plus_one_db_queries`, …).
    pub issue_type: String,
    pub transaction: String,
    pub trace_id: String,
    /// The transaction's own span id.
    pub span_id: String,
    pub query: String,
    pub offender_count: usize,
    pub offender_ms: f64,
    pub transaction_ms: f64,
    /// By start time.
    pub spans: Vec<EvidenceSpan>,
    /// Spans of the transaction not in `spans`.
    pub spans_left_out: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvidenceSpan {
    pub span_id: String,
    pub parent_span_id: String,
    pub op: String,
    pub description: String,
    /// From the transaction's start.
    pub start_ms: f64,
    pub duration_ms: f64,
    /// 0 for a child of the transaction itself.
    pub depth: usize,
    pub offender: bool,
}

/// The evidence of one problem found in `transaction`.
pub fn problem_evidence(transaction: &Transaction, problem: &Problem) -> ProblemEvidence {
    let spans = &transaction.spans;
    let kept = kept_spans(transaction, &problem.offenders);
    let queries = db_queries(spans);
    let depths = Depths::new(transaction);
    let mut offender = vec![false; spans.len()];
    for &index in &problem.offenders {
        offender[index] = true;
    }
    let evidence_spans = kept
        .iter()
        .map(|&index| {
            let span = &spans[index];
            let description = match &queries[index] {
                Some(query) => query.as_str(),
                // A URL's query string may carry tokens; its path says enough.
                None if span_kind(&span.op) == "http" => span.description.split('?').next().unwrap_or_default(),
                None => &span.description,
            };
            EvidenceSpan {
                span_id: span.span_id.clone(),
                parent_span_id: span.parent_span_id.clone(),
                op: span.op.clone(),
                description: description.chars().take(MAX_DESCRIPTION_CHARS).collect(),
                start_ms: (span.start - transaction.start) * 1000.0,
                duration_ms: span.duration_ms(),
                depth: depths.of(index),
                offender: offender[index],
            }
        })
        .collect();
    ProblemEvidence {
        issue_type: problem.kind.issue_type().to_owned(),
        transaction: transaction.name.clone(),
        trace_id: transaction.trace_id.clone(),
        span_id: transaction.span_id.clone(),
        query: problem.query.clone(),
        offender_count: problem.offenders.len(),
        offender_ms: problem.total_ms,
        transaction_ms: transaction.duration_ms(),
        spans_left_out: spans.len() - kept.len(),
        spans: evidence_spans,
    }
}

/// Indexes of the spans to keep, by start time: the offenders (as many as fit), then the earliest others.
fn kept_spans(transaction: &Transaction, offenders: &[usize]) -> Vec<usize> {
    let spans = &transaction.spans;
    let by_start = |a: &usize, b: &usize| spans[*a].start.total_cmp(&spans[*b].start).then(a.cmp(b));
    let mut kept: Vec<usize> = if spans.len() <= MAX_EVIDENCE_SPANS {
        (0..spans.len()).collect()
    } else {
        // `offenders` is sorted (the detectors sort it).
        let mut others: Vec<usize> = (0..spans.len())
            .filter(|i| offenders.binary_search(i).is_err())
            .collect();
        others.sort_by(by_start);
        let offenders = offenders.iter().copied().take(MAX_EVIDENCE_SPANS);
        let room = MAX_EVIDENCE_SPANS.saturating_sub(offenders.len());
        offenders.chain(others.into_iter().take(room)).collect()
    };
    kept.sort_by(by_start);
    kept
}

/// Depths by following parent ids from a span towards the transaction, at most [`MAX_DEPTH`] steps.
struct Depths<'t> {
    transaction: &'t Transaction,
    /// Span id → index of the first span with it.
    by_id: HashMap<&'t str, usize>,
}

impl<'t> Depths<'t> {
    fn new(transaction: &'t Transaction) -> Depths<'t> {
        let mut by_id = HashMap::with_capacity(transaction.spans.len());
        for (index, span) in transaction.spans.iter().enumerate() {
            by_id.entry(span.span_id.as_str()).or_insert(index);
        }
        Depths { transaction, by_id }
    }

    fn of(&self, index: usize) -> usize {
        let mut parent = self.transaction.spans[index].parent_span_id.as_str();
        let mut depth = 0;
        while depth < MAX_DEPTH && parent != self.transaction.span_id {
            match self.by_id.get(parent) {
                Some(&up) => {
                    depth += 1;
                    parent = self.transaction.spans[up].parent_span_id.as_str();
                }
                None => break,
            }
        }
        depth
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::performance::detectors::{detect, Thresholds};
    use crate::domain::performance::transaction::Span;

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
            end: 1_700_000_001.0,
            trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
            span_id: "root".into(),
            environment: String::new(),
            release: String::new(),
            spans,
            spans_dropped: 0,
            vitals: Vec::new(),
        }
    }

    #[test]
    fn offenders_are_marked_queries_normalized_and_depths_counted() {
        let t = 1_700_000_000.0;
        let mut spans = vec![
            span("v", "root", "view.render", "books <script>", t + 0.001, 300.0),
            span(
                "h",
                "root",
                "http.client",
                "GET https://api.example.com/?token=1",
                t,
                5.0,
            ),
        ];
        spans.extend((0..6).map(|i| {
            let sql = format!("SELECT * FROM review WHERE book_id = {i}");
            span(&format!("q{i}"), "v", "db", &sql, t + 0.01 + i as f64 * 0.02, 20.0)
        }));
        let transaction = transaction(spans);
        let problem = detect(&transaction, &Thresholds::default()).remove(0);
        let evidence = problem_evidence(&transaction, &problem);
        assert_eq!(evidence.issue_type, "performance_n_plus_one_db_queries");
        assert_eq!(
            (evidence.offender_count, evidence.spans.len(), evidence.spans_left_out),
            (6, 8, 0)
        );
        assert_eq!(evidence.spans[0].span_id, "h", "by start time");
        assert_eq!((evidence.spans[1].depth, evidence.spans[1].offender), (0, false));
        let query = &evidence.spans[2];
        assert_eq!(query.description, "SELECT * FROM review WHERE book_id = %s");
        assert_eq!((query.depth, query.offender), (1, true));
        assert!((query.start_ms - 10.0).abs() < 0.01 && (query.duration_ms - 20.0).abs() < 0.01);
        assert_eq!(
            evidence.spans[1].description, "books <script>",
            "kept as text; the page escapes it"
        );
        assert_eq!(
            evidence.spans[0].description, "GET https://api.example.com/",
            "no query string"
        );
    }

    #[test]
    fn a_looping_tree_ends_and_a_crowd_is_trimmed_to_the_offenders_first() {
        let t = 1_700_000_000.0;
        let mut spans = vec![
            span("a", "b", "function", "a", t, 1.0),
            span("b", "a", "function", "b", t, 1.0),
        ];
        spans.extend((0..1_000).map(|i| span(&format!("x{i}"), "a", "template.render", "x", t, 0.1)));
        spans.extend((0..300).map(|i| span(&format!("q{i}"), "root", "db", "SELECT 1 FROM a", t + 0.5, 1.0)));
        let transaction = transaction(spans);
        let problem = detect(&transaction, &Thresholds::default()).remove(0);
        assert_eq!(problem.offenders.len(), 300);
        let evidence = problem_evidence(&transaction, &problem);
        assert_eq!(evidence.spans.len(), MAX_EVIDENCE_SPANS);
        assert!(
            evidence.spans.iter().all(|s| s.offender),
            "offenders fill the list first"
        );
        assert_eq!(evidence.spans_left_out, 1_302 - MAX_EVIDENCE_SPANS);
        assert_eq!(
            Depths::new(&transaction).of(0),
            MAX_DEPTH,
            "a loop stops at the depth bound"
        );
    }
}
