//! A project's Performance page: its transactions over a period (1 hour to 14 days), each with its
//! throughput, p50 and p95 duration, failure rate and Apdex, from the rollups; sorted by how busy, how slow
//! or how failing, and filtered by environment.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use serde::Deserialize;

use crate::core::performance::{summaries, TransactionSummary, APDEX_THRESHOLD_MS};
use crate::store::now_ms;
use crate::web::session::Viewer;
use crate::web::{Nav, WebError, WebState};

use super::project_settings::project_access;
use super::render;

/// The periods offered, as (parameter, label, minutes).
const PERIODS: [(&str, &str, i64); 4] = [
    ("1h", "last hour", 60),
    ("24h", "last 24 hours", 24 * 60),
    ("7d", "last 7 days", 7 * 24 * 60),
    ("14d", "last 14 days", 14 * 24 * 60),
];

#[derive(Deserialize, Default)]
pub struct PerformanceParams {
    #[serde(default)]
    period: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    environment: String,
}

/// One row as shown.
pub struct Row {
    pub name: String,
    pub op: String,
    pub per_minute: String,
    pub p50: String,
    pub p95: String,
    pub failure_rate: String,
    pub apdex: String,
    pub count: i64,
}

#[derive(Template)]
#[template(path = "pages/performance.html")]
struct PerformancePage {
    nav: Nav,
    org: String,
    project: String,
    rows: Vec<Row>,
    /// (parameter, label, selected)
    periods: Vec<(&'static str, &'static str, bool)>,
    period: &'static str,
    sort: &'static str,
    environment: String,
    apdex_threshold: f64,
}

pub async fn page(
    State(state): State<WebState>,
    viewer: Viewer,
    Path((org, slug)): Path<(String, String)>,
    Query(params): Query<PerformanceParams>,
) -> Result<impl IntoResponse, WebError> {
    let (access, project) = project_access(&state, &viewer, &org, &slug).await?;
    let (period, _, minutes) = PERIODS
        .iter()
        .copied()
        .find(|(p, _, _)| *p == params.period)
        .unwrap_or(PERIODS[1]);
    let environment = Some(params.environment.trim()).filter(|e| !e.is_empty());
    let since = now_ms() - minutes * 60_000;
    let mut found = summaries(&state.db, project.id, since, environment).await?;
    let sort = sort_rows(&mut found, &params.sort);
    render(&PerformancePage {
        nav: Nav::for_viewer(&viewer, "Performance", Some(&access.organization.slug)),
        org: access.organization.slug.clone(),
        project: project.slug.clone(),
        rows: found.iter().map(|t| row(t, minutes)).collect(),
        periods: PERIODS.iter().map(|&(p, label, _)| (p, label, p == period)).collect(),
        period,
        sort,
        environment: environment.unwrap_or_default().to_owned(),
        apdex_threshold: APDEX_THRESHOLD_MS,
    })
}

/// Sorts by `sort` (`count`, `p95`, `failure_rate`; busiest first otherwise) and says which it used.
fn sort_rows(rows: &mut [TransactionSummary], sort: &str) -> &'static str {
    match sort {
        "p95" => {
            rows.sort_by(|a, b| b.p95_ms.unwrap_or(0.0).total_cmp(&a.p95_ms.unwrap_or(0.0)));
            "p95"
        }
        "failure_rate" => {
            rows.sort_by(|a, b| b.failure_rate.total_cmp(&a.failure_rate));
            "failure_rate"
        }
        _ => "count",
    }
}

fn row(summary: &TransactionSummary, minutes: i64) -> Row {
    let ms = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |ms| format!("{ms:.0} ms"));
    Row {
        name: summary.name.clone(),
        op: summary.op.clone(),
        per_minute: format!("{:.2}", summary.count as f64 / minutes as f64),
        p50: ms(summary.p50_ms),
        p95: ms(summary.p95_ms),
        failure_rate: format!("{:.1} %", summary.failure_rate * 100.0),
        apdex: summary.apdex.map_or_else(|| "–".to_owned(), |a| format!("{a:.2}")),
        count: summary.count,
    }
}
