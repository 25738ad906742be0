//! A trace as its page shows it: the kept transactions of one trace across the caller's organization's
//! projects, their spans laid out as one waterfall (`domain::performance::waterfall`), and the trace's
//! error events, each placed on the span and transaction it happened in (`contexts.trace.span_id`).
//! Everything is bounded: transactions, errors and spans read per trace are capped.

use std::collections::HashMap;

use serde_json::Value;

use crate::domain::performance::waterfall::{extent, layout, WaterfallSpan};
use crate::domain::performance::{parse_trace_id, read_transaction, KeepReasons, Transaction};
use crate::domain::{IssueId, ProjectId};
use crate::store::events::{trace_events, StoredEvent};
use crate::store::projects::list_organization_projects;
use crate::store::transaction_bodies::{trace_bodies, StoredBody};

use super::{Access, Core, CoreError, CoreResult};

/// Kept transactions read per trace.
const MAX_TRANSACTIONS: i64 = 100;
/// Error events read per trace.
const MAX_ERRORS: i64 = 100;
/// Spans shown per trace (each transaction's own span among them); the rest are counted.
const MAX_SPANS: usize = 10_000;

/// A trace with what is kept of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub trace_id: String,
    pub transactions: Vec<TraceTransaction>,
    /// In waterfall order.
    pub spans: Vec<TraceSpan>,
    pub errors: Vec<TraceError>,
    /// From the earliest span's start to the latest one's end.
    pub duration_ms: f64,
    /// Spans beyond [`MAX_SPANS`], not shown.
    pub spans_left_out: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TraceTransaction {
    pub project: String,
    pub event_id: String,
    pub name: String,
    pub op: String,
    pub status: String,
    pub duration_ms: f64,
    pub reasons: KeepReasons,
    /// Indexes into [`Trace::errors`]: the errors that happened in this transaction.
    pub errors: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TraceSpan {
    /// Index into [`Trace::transactions`].
    pub transaction: usize,
    /// The transaction's own span (its name as description).
    pub is_transaction: bool,
    pub op: String,
    pub description: String,
    pub start_ms: f64,
    pub duration_ms: f64,
    pub depth: usize,
    pub offset_percent: f64,
    pub width_percent: f64,
    /// Indexes into [`Trace::errors`] of the errors that happened in this span.
    pub errors: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TraceError {
    pub project_id: ProjectId,
    pub issue_id: IssueId,
    pub event_id: String,
    pub title: String,
    /// Milliseconds from the trace's start.
    pub at_ms: f64,
    /// Index into [`Trace::transactions`] of the transaction it happened in, when that one is kept.
    pub transaction: Option<usize>,
}

/// A span with what the page needs beside its place in the tree.
struct Node {
    span: WaterfallSpan,
    transaction: usize,
    is_transaction: bool,
    op: String,
    description: String,
}

/// The trace `trace_id` as far as the organization's projects keep it; not found when nothing of it is.
pub async fn trace(core: &Core, access: &Access, trace_id: &str) -> CoreResult<Trace> {
    let trace_id = parse_trace_id(trace_id).ok_or(CoreError::NotFound)?;
    let projects = list_organization_projects(&core.db, &[access.organization.id]).await?;
    let ids: Vec<ProjectId> = projects.iter().map(|p| p.id).collect();
    let bodies = trace_bodies(&core.db, &ids, &trace_id, MAX_TRANSACTIONS).await?;
    let events = trace_events(&core.db, &ids, &trace_id, MAX_ERRORS).await?;
    if bodies.is_empty() && events.is_empty() {
        return Err(CoreError::NotFound);
    }
    let slugs: HashMap<ProjectId, &str> = projects.iter().map(|p| (p.id, p.slug.as_str())).collect();
    let mut transactions = Vec::new();
    let mut nodes = Vec::new();
    let mut spans_left_out = 0;
    for body in &bodies {
        let Some((transaction, parent)) = read_body(body) else {
            continue;
        };
        let index = transactions.len();
        spans_left_out += add_nodes(&mut nodes, index, &transaction, parent);
        transactions.push(TraceTransaction {
            project: slugs.get(&body.project_id).copied().unwrap_or_default().to_owned(),
            event_id: body.event_id.clone(),
            name: body.name.clone(),
            op: body.op.clone(),
            status: body.status.clone(),
            duration_ms: body.duration_ms,
            reasons: KeepReasons {
                for_error: body.for_error,
                slowest: body.slowest,
                sampled: body.sampled,
            },
            errors: Vec::new(),
        });
    }
    Ok(assemble(trace_id, transactions, nodes, &events, spans_left_out))
}

/// The kept transaction and the span it continues (from another service's transaction), if readable.
fn read_body(body: &StoredBody) -> Option<(Transaction, String)> {
    let json = body
        .json()
        .map_err(|error| tracing::warn!(%error, body = body.id, "unreadable transaction body"))
        .ok()?;
    let parent = text_at(&json, "/contexts/trace/parent_span_id");
    read_transaction(&json).ok().map(|transaction| (transaction, parent))
}

fn text_at(json: &Value, pointer: &str) -> String {
    json.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Adds the transaction's own span and its spans, as far as [`MAX_SPANS`] allows; returns how many are
/// not shown (those beyond the 2,000 a transaction's spans are read up to among them).
fn add_nodes(nodes: &mut Vec<Node>, index: usize, transaction: &Transaction, parent: String) -> usize {
    let room = MAX_SPANS.saturating_sub(nodes.len());
    if room == 0 {
        return transaction.spans.len() + 1 + transaction.spans_dropped;
    }
    nodes.push(Node {
        span: WaterfallSpan {
            span_id: transaction.span_id.clone(),
            parent_span_id: parent,
            start: transaction.start,
            end: transaction.end,
        },
        transaction: index,
        is_transaction: true,
        op: transaction.op.clone(),
        description: transaction.name.clone(),
    });
    let fitting = transaction.spans.len().min(room - 1);
    nodes.extend(transaction.spans[..fitting].iter().map(|span| Node {
        span: WaterfallSpan {
            span_id: span.span_id.clone(),
            // A span without a parent hangs from its transaction.
            parent_span_id: if span.parent_span_id.is_empty() {
                transaction.span_id.clone()
            } else {
                span.parent_span_id.clone()
            },
            start: span.start,
            end: span.end,
        },
        transaction: index,
        is_transaction: false,
        op: span.op.clone(),
        description: span.description.clone(),
    }));
    transaction.spans.len() - fitting + transaction.spans_dropped
}

/// Lays the spans out and places each error on its span and transaction.
fn assemble(
    trace_id: String,
    mut transactions: Vec<TraceTransaction>,
    nodes: Vec<Node>,
    events: &[StoredEvent],
    spans_left_out: usize,
) -> Trace {
    let waterfall: Vec<WaterfallSpan> = nodes.iter().map(|node| node.span.clone()).collect();
    let (start, end) = if waterfall.is_empty() {
        // Only errors are kept of this trace: it starts with the first.
        let first = events.iter().map(|e| e.timestamp.as_millis()).min().unwrap_or_default() as f64 / 1000.0;
        (first, first)
    } else {
        extent(&waterfall)
    };
    let mut by_span_id: HashMap<&str, usize> = HashMap::new();
    for (i, node) in nodes.iter().enumerate() {
        by_span_id.entry(node.span.span_id.as_str()).or_insert(i);
    }
    let mut errors_of_node: HashMap<usize, Vec<usize>> = HashMap::new();
    let errors: Vec<TraceError> = events
        .iter()
        .enumerate()
        .map(|(e, event)| {
            let node = error_span_id(event).and_then(|id| by_span_id.get(id.as_str()).copied());
            if let Some(node) = node {
                errors_of_node.entry(node).or_default().push(e);
                transactions[nodes[node].transaction].errors.push(e);
            }
            TraceError {
                project_id: event.project_id,
                issue_id: event.issue_id,
                event_id: event.event_id.clone(),
                title: event.title.clone(),
                at_ms: event.timestamp.as_millis() as f64 - start * 1000.0,
                transaction: node.map(|node| nodes[node].transaction),
            }
        })
        .collect();
    let spans = layout(&waterfall)
        .into_iter()
        .map(|row| {
            let node = &nodes[row.span];
            TraceSpan {
                transaction: node.transaction,
                is_transaction: node.is_transaction,
                op: node.op.clone(),
                description: node.description.clone(),
                start_ms: (node.span.start - start) * 1000.0,
                duration_ms: (node.span.end - node.span.start) * 1000.0,
                depth: row.depth,
                offset_percent: row.offset_percent,
                width_percent: row.width_percent,
                errors: errors_of_node.remove(&row.span).unwrap_or_default(),
            }
        })
        .collect();
    Trace {
        trace_id,
        transactions,
        spans,
        errors,
        duration_ms: (end - start) * 1000.0,
        spans_left_out,
    }
}

/// The span an error event happened in, as its SDK recorded it.
fn error_span_id(event: &StoredEvent) -> Option<String> {
    let decoded = event.event().ok()?;
    let span_id = decoded.contexts.get("trace")?.get("span_id")?.as_str()?;
    (!span_id.is_empty()).then(|| span_id.to_owned())
}
