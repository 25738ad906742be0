//! A trace's waterfall: the spans of its kept transactions (each transaction's own root span among them)
//! ordered as a tree by `parent_span_id`, each with its depth and its offset and width as percentages of
//! the whole trace. Every span the SDKs sent is shown once, whatever they claim: a parent that is
//! missing, the span itself, or part of a loop makes it a root, and the walk is iterative with a visited
//! set, so no tree can make it recurse or run forever.

use std::collections::HashMap;

/// Indentation stops growing here; deeper spans are still shown, at this depth.
pub const MAX_DEPTH: usize = 24;
/// The narrowest bar, in percent, so that a span of no length is still visible.
const MIN_WIDTH_PERCENT: f64 = 0.2;

/// A span as the waterfall needs it (times in Unix seconds).
#[derive(Debug, Clone, PartialEq)]
pub struct WaterfallSpan {
    pub span_id: String,
    pub parent_span_id: String,
    pub start: f64,
    pub end: f64,
}

/// One line of the waterfall.
#[derive(Debug, Clone, PartialEq)]
pub struct WaterfallRow {
    /// Index into the spans laid out.
    pub span: usize,
    /// 0 for a root, at most [`MAX_DEPTH`].
    pub depth: usize,
    pub offset_percent: f64,
    pub width_percent: f64,
}

/// Lays the spans out: roots by start time, each followed by its subtree (children by start time).
pub fn layout(spans: &[WaterfallSpan]) -> Vec<WaterfallRow> {
    let children = children_of(spans);
    let (start, end) = extent(spans);
    let total = (end - start).max(f64::EPSILON);
    let mut visited = vec![false; spans.len()];
    let mut rows = Vec::with_capacity(spans.len());
    // Real roots first; then whatever a loop kept out of reach, each unreached span (earliest first)
    // standing in as the root of what is left of its loop.
    let mut starts: Vec<usize> = children.roots.clone();
    starts.extend(by_start(spans, (0..spans.len()).collect()));
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for root in starts {
        stack.push((root, 0));
        while let Some((i, depth)) = stack.pop() {
            if visited[i] {
                continue;
            }
            visited[i] = true;
            let offset = within((spans[i].start - start) / total * 100.0, 0.0, 100.0 - MIN_WIDTH_PERCENT);
            let width = within(
                (spans[i].end - spans[i].start) / total * 100.0,
                MIN_WIDTH_PERCENT,
                100.0 - offset,
            );
            rows.push(WaterfallRow {
                span: i,
                depth: depth.min(MAX_DEPTH),
                offset_percent: offset,
                width_percent: width,
            });
            for &child in children.of[i].iter().rev() {
                if !visited[child] {
                    stack.push((child, depth + 1));
                }
            }
        }
    }
    rows
}

/// `value` clamped into `[low, high]`; a NaN (a caller's broken times) lands on `low`, never in a panic.
fn within(value: f64, low: f64, high: f64) -> f64 {
    if value.is_nan() {
        low
    } else {
        value.clamp(low, high.max(low))
    }
}

/// The earliest start and latest end of the spans (both 0 without spans).
pub fn extent(spans: &[WaterfallSpan]) -> (f64, f64) {
    if spans.is_empty() {
        return (0.0, 0.0);
    }
    let start = spans.iter().map(|s| s.start).fold(f64::INFINITY, f64::min);
    let end = spans.iter().map(|s| s.end).fold(f64::NEG_INFINITY, f64::max);
    (start, end.max(start))
}

struct Children {
    roots: Vec<usize>,
    of: Vec<Vec<usize>>,
}

/// Each span's children (by start time) and the spans whose parent is absent or themselves.
fn children_of(spans: &[WaterfallSpan]) -> Children {
    let mut by_id: HashMap<&str, usize> = HashMap::with_capacity(spans.len());
    for (i, span) in spans.iter().enumerate() {
        if !span.span_id.is_empty() {
            // A repeated id names its first span; the later ones can be children, never parents.
            by_id.entry(span.span_id.as_str()).or_insert(i);
        }
    }
    let mut roots = Vec::new();
    let mut of = vec![Vec::new(); spans.len()];
    for (i, span) in spans.iter().enumerate() {
        match by_id.get(span.parent_span_id.as_str()) {
            Some(&parent) if parent != i && !span.parent_span_id.is_empty() => of[parent].push(i),
            _ => roots.push(i),
        }
    }
    for list in &mut of {
        *list = by_start(spans, std::mem::take(list));
    }
    Children {
        roots: by_start(spans, roots),
        of,
    }
}

fn by_start(spans: &[WaterfallSpan], mut indexes: Vec<usize>) -> Vec<usize> {
    indexes.sort_by(|&a, &b| spans[a].start.total_cmp(&spans[b].start).then(a.cmp(&b)));
    indexes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, parent: &str, start: f64, end: f64) -> WaterfallSpan {
        WaterfallSpan {
            span_id: id.into(),
            parent_span_id: parent.into(),
            start,
            end,
        }
    }

    fn order(spans: &[WaterfallSpan]) -> Vec<(&str, usize)> {
        layout(spans)
            .iter()
            .map(|row| (spans[row.span].span_id.as_str(), row.depth))
            .collect()
    }

    #[test]
    fn children_follow_their_parent_by_start_time() {
        let spans = [
            span("db2", "root", 0.6, 0.7),
            span("root", "", 0.0, 1.0),
            span("db1", "root", 0.1, 0.3),
            span("sql", "db1", 0.15, 0.2),
        ];
        assert_eq!(order(&spans), vec![("root", 0), ("db1", 1), ("sql", 2), ("db2", 1)]);
        let rows = layout(&spans);
        let db1 = rows.iter().find(|r| spans[r.span].span_id == "db1").unwrap();
        assert!((db1.offset_percent - 10.0).abs() < 1e-9 && (db1.width_percent - 20.0).abs() < 1e-9);
    }

    #[test]
    fn a_missing_parent_makes_a_root() {
        let spans = [span("a", "gone", 0.5, 1.0), span("b", "", 0.0, 0.2)];
        assert_eq!(order(&spans), vec![("b", 0), ("a", 0)]);
    }

    #[test]
    fn a_loop_is_shown_once_from_its_earliest_span() {
        let spans = [
            span("x", "z", 0.2, 0.3),
            span("y", "x", 0.3, 0.4),
            span("z", "y", 0.1, 0.5),
            span("self", "self", 0.0, 0.1),
        ];
        assert_eq!(order(&spans), vec![("self", 0), ("z", 0), ("x", 1), ("y", 2)]);
    }

    #[test]
    fn a_deep_chain_is_walked_without_recursion_and_indented_at_most_so_far() {
        let mut spans = vec![span("s0", "", 0.0, 1.0)];
        for i in 1..50_000 {
            spans.push(span(&format!("s{i}"), &format!("s{}", i - 1), 0.0, 1.0));
        }
        let rows = layout(&spans);
        assert_eq!(rows.len(), 50_000);
        assert_eq!(rows.last().unwrap().depth, MAX_DEPTH);
    }

    #[test]
    fn repeated_ids_and_zero_lengths_still_show() {
        let spans = [
            span("a", "", 0.0, 2.0),
            span("a", "a", 1.0, 1.0),
            span("b", "", 2.0, 2.0),
        ];
        let rows = layout(&spans);
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(|r| r.width_percent >= MIN_WIDTH_PERCENT));
        assert!(rows.iter().all(|r| r.offset_percent + r.width_percent <= 100.0 + 1e-9));
        assert_eq!(layout(&[]), Vec::new());
    }
}
