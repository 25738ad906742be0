//! A performance issue's event as the page shows it: what was found in which transaction, and the spans
//! around it with the offending ones marked, each with a bar placing it in the transaction's time. Every
//! string came from the SDK (span descriptions, names): the template shows it escaped.

use crate::domain::performance::detectors::ProblemKind;
use crate::domain::performance::evidence::ProblemEvidence;

/// Deepest indentation the page draws (CSS classes `depth-0` … `depth-6`).
const MAX_SHOWN_DEPTH: usize = 6;

#[derive(Debug, Clone, PartialEq)]
pub struct PerformanceView {
    /// "N+1 Query", "Slow DB Query".
    pub title: &'static str,
    pub transaction: String,
    pub trace_id: String,
    pub query: String,
    pub offender_count: usize,
    pub offender_ms: String,
    pub transaction_ms: String,
    pub spans: Vec<SpanRow>,
    pub spans_left_out: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SpanRow {
    pub op: String,
    pub description: String,
    /// Start from the transaction's, e.g. `12.3 ms`.
    pub start: String,
    pub duration: String,
    pub depth: usize,
    pub offender: bool,
    /// Where the bar starts and how wide it is, in percent of the transaction.
    pub bar_x: String,
    pub bar_width: String,
}

pub fn performance_view(evidence: &ProblemEvidence) -> PerformanceView {
    let whole = evidence.transaction_ms.max(0.001);
    let percent = |ms: f64| format!("{:.2}", (ms / whole * 100.0).clamp(0.0, 100.0));
    PerformanceView {
        title: ProblemKind::from_issue_type(&evidence.issue_type).map_or("Performance problem", ProblemKind::title),
        transaction: evidence.transaction.clone(),
        trace_id: evidence.trace_id.clone(),
        query: evidence.query.clone(),
        offender_count: evidence.offender_count,
        offender_ms: milliseconds(evidence.offender_ms),
        transaction_ms: milliseconds(evidence.transaction_ms),
        spans: evidence
            .spans
            .iter()
            .map(|span| SpanRow {
                op: span.op.clone(),
                description: span.description.clone(),
                start: milliseconds(span.start_ms),
                duration: milliseconds(span.duration_ms),
                depth: span.depth.min(MAX_SHOWN_DEPTH),
                offender: span.offender,
                bar_x: percent(span.start_ms),
                // At least a sliver, so that a 0.1 ms query still shows.
                bar_width: percent(span.duration_ms.max(whole / 400.0)),
            })
            .collect(),
        spans_left_out: evidence.spans_left_out,
    }
}

/// `0.25 ms`, `12.3 ms`, `1,643 ms`.
fn milliseconds(ms: f64) -> String {
    let ms = ms.max(0.0);
    if ms < 1.0 {
        format!("{ms:.2} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else {
        let digits = (ms.round() as u64).to_string();
        let mut grouped = String::new();
        for (i, digit) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        format!("{grouped} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::performance::evidence::EvidenceSpan;

    #[test]
    fn spans_become_rows_with_bars_inside_the_transaction() {
        let evidence = ProblemEvidence {
            issue_type: "performance_n_plus_one_db_queries".into(),
            transaction_ms: 200.0,
            offender_ms: 150.0,
            spans: vec![
                EvidenceSpan {
                    op: "db".into(),
                    start_ms: 50.0,
                    duration_ms: 0.1,
                    depth: 9,
                    offender: true,
                    ..EvidenceSpan::default()
                },
                EvidenceSpan {
                    start_ms: 150.0,
                    duration_ms: 1643.0,
                    ..EvidenceSpan::default()
                },
            ],
            ..ProblemEvidence::default()
        };
        let view = performance_view(&evidence);
        assert_eq!(view.title, "N+1 Query");
        assert_eq!(view.offender_ms, "150 ms");
        let row = &view.spans[0];
        assert_eq!((row.bar_x.as_str(), row.bar_width.as_str()), ("25.00", "0.25"));
        assert_eq!(
            (row.depth, row.start.as_str(), row.duration.as_str()),
            (6, "50.0 ms", "0.10 ms")
        );
        assert_eq!(view.spans[1].bar_width, "100.00", "clamped to the transaction");
        assert_eq!(view.spans[1].duration, "1,643 ms");
    }
}
