//! A project's Performance page: its transactions over a period (1 hour to 14 days), each with its
//! throughput (and a sparkline of it), p50 and p95 duration, failure rate and Apdex, from the rollups;
//! sorted by how busy, how slow or how failing, filtered by environment and release; each name links to
//! its transaction's page (`transaction`), which keeps the same filters.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use serde::Deserialize;

use crate::core::performance::{list_transactions, ListedTransaction, PerformanceQuery, APDEX_THRESHOLD_MS};
use crate::domain::performance::window::{Period, PERIODS};
use crate::domain::ProjectId;
use crate::store::now_ms;
use crate::web::charts::{bar_chart, BarChart};
use crate::web::session::Viewer;
use crate::web::{Nav, WebError, WebState};

use super::project_settings::project_access;
use super::{path_segment, render};

#[derive(Deserialize, Default)]
pub struct PerformanceParams {
    #[serde(default)]
    period: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    environment: String,
    #[serde(default)]
    release: String,
}

/// The filters both Performance pages share, as read from the URL.
pub struct Filters {
    pub period: Period,
    /// Empty: every environment (or release).
    pub environment: String,
    pub release: String,
}

impl Filters {
    pub fn read(period: &str, environment: &str, release: &str) -> Filters {
        Filters {
            period: Period::named(period),
            environment: environment.trim().to_owned(),
            release: release.trim().to_owned(),
        }
    }

    /// The period ending now, for one project.
    pub fn query(&self, project_id: ProjectId, now_ms: i64) -> PerformanceQuery {
        let given = |text: &str| Some(text.to_owned()).filter(|t| !t.is_empty());
        PerformanceQuery {
            project_id,
            period: self.period,
            now_ms,
            environment: given(&self.environment),
            release: given(&self.release),
        }
    }

    /// `period=…&environment=…&release=…`, for links that keep the filters.
    pub fn query_string(&self) -> String {
        format!(
            "period={}&environment={}&release={}",
            self.period.key,
            path_segment(&self.environment),
            path_segment(&self.release)
        )
    }

    /// `(key, label, selected)` of every period, for the period picker.
    pub fn periods(&self) -> Vec<(&'static str, &'static str, bool)> {
        PERIODS
            .iter()
            .map(|p| (p.key, p.label, p.key == self.period.key))
            .collect()
    }
}

/// Where a transaction name's page is, with the filters kept.
pub fn transaction_path(org: &str, project: &str, name: &str, filters: &Filters) -> String {
    format!(
        "{}transaction/?name={}&{}",
        performance_path(org, project),
        path_segment(name),
        filters.query_string()
    )
}

pub fn performance_path(org: &str, project: &str) -> String {
    format!(
        "/organizations/{}/projects/{}/performance/",
        path_segment(org),
        path_segment(project)
    )
}

/// Milliseconds as the pages show a duration read from the histogram.
pub fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |ms| format!("{ms:.0} ms"))
}

/// One row as shown.
pub struct Row {
    pub name: String,
    pub link: String,
    pub op: String,
    pub per_minute: String,
    pub spark: BarChart,
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
    sort: &'static str,
    environment: String,
    release: String,
    /// The filters as a query string, for the sort links.
    filters: String,
    apdex_threshold: f64,
}

pub async fn page(
    State(state): State<WebState>,
    viewer: Viewer,
    Path((org, slug)): Path<(String, String)>,
    Query(params): Query<PerformanceParams>,
) -> Result<impl IntoResponse, WebError> {
    let (access, project) = project_access(&state, &viewer, &org, &slug).await?;
    let filters = Filters::read(&params.period, &params.environment, &params.release);
    let now = now_ms();
    let mut found = list_transactions(&state.db, &filters.query(project.id, now)).await?;
    let sort = sort_rows(&mut found, &params.sort);
    let org = access.organization.slug.clone();
    render(&PerformancePage {
        nav: Nav::for_viewer(&viewer, "Performance", Some(&org)),
        rows: found
            .iter()
            .map(|t| row(t, &org, &project.slug, &filters, now))
            .collect(),
        periods: filters.periods(),
        sort,
        filters: filters.query_string(),
        environment: filters.environment.clone(),
        release: filters.release.clone(),
        apdex_threshold: APDEX_THRESHOLD_MS,
        project: project.slug,
        org,
    })
}

/// Sorts by `sort` (`count`, `p95`, `failure_rate`; busiest first otherwise) and says which it used.
fn sort_rows(rows: &mut [ListedTransaction], sort: &str) -> &'static str {
    match sort {
        "p95" => {
            rows.sort_by(|a, b| {
                let p95 = |t: &ListedTransaction| t.summary.p95_ms.unwrap_or(0.0);
                p95(b).total_cmp(&p95(a))
            });
            "p95"
        }
        "failure_rate" => {
            rows.sort_by(|a, b| b.summary.failure_rate.total_cmp(&a.summary.failure_rate));
            "failure_rate"
        }
        _ => "count",
    }
}

fn row(listed: &ListedTransaction, org: &str, project: &str, filters: &Filters, now: i64) -> Row {
    let summary = &listed.summary;
    let period = filters.period;
    Row {
        name: summary.name.clone(),
        link: transaction_path(org, project, &summary.name, filters),
        op: summary.op.clone(),
        per_minute: format!("{:.2}", summary.count as f64 / period.minutes as f64),
        spark: bar_chart(&listed.per_slot, now, period.slot_ms(), period.slots(), 90.0, 18.0),
        p50: ms(summary.p50_ms),
        p95: ms(summary.p95_ms),
        failure_rate: format!("{:.1} %", summary.failure_rate * 100.0),
        apdex: summary.apdex.map_or_else(|| "–".to_owned(), |a| format!("{a:.2}")),
        count: summary.count,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transaction_link_keeps_the_name_whole_and_the_filters() {
        let filters = Filters::read("7d", " staging ", "shop@2.0");
        assert_eq!(
            transaction_path("default", "web", "/cart/{id}/?x=1&y", &filters),
            "/organizations/default/projects/web/performance/transaction/\
             ?name=%2Fcart%2F%7Bid%7D%2F%3Fx%3D1%26y&period=7d&environment=staging&release=shop%402.0"
        );
        let query = Filters::read("", "", "").query(ProjectId(3), 1_000);
        assert_eq!(
            (query.period.key, query.environment, query.release),
            ("24h", None, None)
        );
    }
}
