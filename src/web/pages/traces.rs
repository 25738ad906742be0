//! A trace's page: the waterfall of the spans of its kept transactions (across the organization's
//! projects), each bar's offset and width a share of the whole trace, drawn as SVG so no script or inline
//! style is needed; the trace's errors on the spans they happened in, each transaction's errors beside it,
//! every error linked to its event on its issue's page.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::IntoResponse;

use crate::core::traces::{self, Trace, TraceError};
use crate::domain::performance::KeepReasons;
use crate::domain::IssueId;
use crate::web::session::Viewer;
use crate::web::{Nav, WebError, WebState};

use super::project_settings::project_access;
use super::{path_segment, render};

/// An error as a link to its event.
pub struct ErrorLink {
    pub title: String,
    pub url: String,
}

pub struct ErrorRow {
    pub link: ErrorLink,
    /// From the trace's start.
    pub at: String,
    /// The transaction it happened in, when that one is kept.
    pub transaction: Option<String>,
}

pub struct TransactionRow {
    pub project: String,
    pub name: String,
    pub op: String,
    pub status: String,
    pub duration: String,
    pub kept_because: String,
    pub errors: Vec<ErrorLink>,
}

pub struct SpanRow {
    pub depth: usize,
    pub is_transaction: bool,
    pub op: String,
    pub description: String,
    pub start: String,
    pub duration: String,
    /// Percentages of the trace, as SVG coordinates.
    pub offset: String,
    pub width: String,
    pub errors: Vec<ErrorLink>,
}

#[derive(Template)]
#[template(path = "pages/trace.html")]
struct TracePage {
    nav: Nav,
    org: String,
    project: String,
    trace_id: String,
    duration: String,
    errors: Vec<ErrorRow>,
    transactions: Vec<TransactionRow>,
    spans: Vec<SpanRow>,
    spans_left_out: usize,
}

/// Where a trace's page is, for links from elsewhere (an error event).
pub fn trace_path(org: &str, project: &str, trace_id: &str) -> String {
    format!(
        "/organizations/{}/projects/{}/traces/{}/",
        path_segment(org),
        path_segment(project),
        path_segment(trace_id)
    )
}

pub async fn page(
    State(state): State<WebState>,
    viewer: Viewer,
    Path((org, slug, trace_id)): Path<(String, String, String)>,
) -> Result<impl IntoResponse, WebError> {
    let (access, project) = project_access(&state, &viewer, &org, &slug).await?;
    let trace = traces::trace(&state.core, &access, &trace_id).await?;
    let nav = Nav::for_viewer(
        &viewer,
        format!("Trace {}", trace.trace_id),
        Some(&access.organization.slug),
    );
    render(&trace_page(nav, &access.organization.slug, &project.slug, &trace))
}

/// The page's view of a trace: times as text, errors as links.
fn trace_page(nav: Nav, org: &str, project: &str, trace: &Trace) -> TracePage {
    let link = |e: usize| error_link(org, &trace.errors[e]);
    let transactions = &trace.transactions;
    TracePage {
        nav,
        org: org.to_owned(),
        project: project.to_owned(),
        trace_id: trace.trace_id.clone(),
        duration: milliseconds(trace.duration_ms),
        errors: trace
            .errors
            .iter()
            .map(|error| ErrorRow {
                link: error_link(org, error),
                at: milliseconds(error.at_ms),
                transaction: error.transaction.map(|t| transactions[t].name.clone()),
            })
            .collect(),
        transactions: transactions
            .iter()
            .map(|t| TransactionRow {
                project: t.project.clone(),
                name: t.name.clone(),
                op: t.op.clone(),
                status: t.status.clone(),
                duration: milliseconds(t.duration_ms),
                kept_because: kept_because(t.reasons),
                errors: t.errors.iter().map(|&e| link(e)).collect(),
            })
            .collect(),
        spans: trace
            .spans
            .iter()
            .map(|s| SpanRow {
                depth: s.depth,
                is_transaction: s.is_transaction,
                op: s.op.clone(),
                description: s.description.clone(),
                start: milliseconds(s.start_ms),
                duration: milliseconds(s.duration_ms),
                offset: format!("{:.3}", s.offset_percent),
                width: format!("{:.3}", s.width_percent),
                errors: s.errors.iter().map(|&e| link(e)).collect(),
            })
            .collect(),
        spans_left_out: trace.spans_left_out,
    }
}

fn error_link(org: &str, error: &TraceError) -> ErrorLink {
    ErrorLink {
        title: error.title.clone(),
        url: event_path(org, error.issue_id, &error.event_id),
    }
}

/// Where an error event is shown: on its issue's page.
pub fn event_path(org: &str, issue_id: IssueId, event_id: &str) -> String {
    format!(
        "/organizations/{}/issues/{}/events/{}/",
        path_segment(org),
        issue_id,
        path_segment(event_id)
    )
}

/// Why a transaction body was kept, in words.
pub fn kept_because(reasons: KeepReasons) -> String {
    let named = [
        (reasons.for_error, "an error in its trace"),
        (reasons.slowest, "among the slowest of its hour"),
        (reasons.sampled, "sampled"),
    ];
    let said: Vec<&str> = named.iter().filter(|(on, _)| *on).map(|(_, why)| *why).collect();
    said.join(", ")
}

fn milliseconds(ms: f64) -> String {
    if ms.abs() >= 1_000.0 {
        format!("{:.2} s", ms / 1_000.0)
    } else {
        format!("{ms:.1} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_the_unit_that_fits() {
        assert_eq!(milliseconds(12.34), "12.3 ms");
        assert_eq!(milliseconds(1_250.0), "1.25 s");
        assert_eq!(milliseconds(0.0), "0.0 ms");
    }

    #[test]
    fn a_body_says_why_it_was_kept() {
        let reasons = KeepReasons {
            for_error: true,
            slowest: false,
            sampled: true,
        };
        assert_eq!(kept_because(reasons), "an error in its trace, sampled");
    }
}
