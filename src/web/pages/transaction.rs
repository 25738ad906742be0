//! A transaction name's page (`/organizations/{org}/projects/{project}/performance/transaction/?name=…`,
//! the name in the query since names hold slashes): its figures over the period, its duration histogram,
//! throughput and p95 over time as SVG bars, the time per span kind, the p75 of its web vitals when its
//! page loads measured any, and its slowest kept samples linking to their traces, with their errors.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use serde::Deserialize;

use crate::core::performance::APDEX_THRESHOLD_MS;
use crate::core::transaction_detail::{transaction_detail, Sample, TransactionDetail, VitalFigure};
use crate::domain::performance::window::Period;
use crate::store::now_ms;
use crate::web::charts::{bar_chart, column_chart, BarChart};
use crate::web::format::{moment, Moment};
use crate::web::session::Viewer;
use crate::web::{Nav, WebError, WebState};

use super::performance::{ms, performance_path, Filters};
use super::project_settings::project_access;
use super::render;
use super::traces::{event_path, kept_because, trace_path, ErrorLink};

#[derive(Deserialize, Default)]
pub struct TransactionParams {
    #[serde(default)]
    name: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    environment: String,
    #[serde(default)]
    release: String,
}

/// A headline figure.
pub struct Figure {
    pub label: &'static str,
    pub value: String,
}

pub struct SpanKindRow {
    pub kind: String,
    pub total: String,
    pub share: String,
    /// Width of its share bar, 0 to 100.
    pub bar: String,
    pub per_transaction: String,
    pub spans: i64,
}

pub struct VitalRow {
    pub key: &'static str,
    pub label: &'static str,
    pub p75: String,
    pub measured: i64,
}

pub struct SampleRow {
    pub trace_id: String,
    /// Empty when the transaction named no trace.
    pub trace_link: String,
    pub duration: String,
    pub status: String,
    pub ended: Moment,
    pub kept_because: String,
    pub errors: Vec<ErrorLink>,
}

/// The duration histogram's bars, each with its bucket's upper bound.
pub struct HistogramBar {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub count: i64,
    pub upper: String,
}

#[derive(Template)]
#[template(path = "pages/transaction.html")]
struct TransactionPage {
    nav: Nav,
    name: String,
    back: String,
    periods: Vec<(&'static str, &'static str, bool)>,
    period_label: &'static str,
    environment: String,
    release: String,
    ops: String,
    count: i64,
    figures: Vec<Figure>,
    histogram: Vec<HistogramBar>,
    throughput: BarChart,
    p95: BarChart,
    span_kinds: Vec<SpanKindRow>,
    vitals: Vec<VitalRow>,
    samples: Vec<SampleRow>,
    apdex_threshold: f64,
}

pub async fn page(
    State(state): State<WebState>,
    viewer: Viewer,
    Path((org, slug)): Path<(String, String)>,
    Query(params): Query<TransactionParams>,
) -> Result<impl IntoResponse, WebError> {
    let (access, project) = project_access(&state, &viewer, &org, &slug).await?;
    let filters = Filters::read(&params.period, &params.environment, &params.release);
    let now = now_ms();
    let detail = transaction_detail(&state.core, &access, &filters.query(project.id, now), &params.name).await?;
    let org = access.organization.slug.clone();
    let nav = Nav::for_viewer(&viewer, "Performance", Some(&org));
    let at = Where {
        org: &org,
        project: &project.slug,
        now,
    };
    render(&transaction_page(nav, at, params.name, filters, &detail))
}

/// Which project's page, and when.
#[derive(Clone, Copy)]
struct Where<'a> {
    org: &'a str,
    project: &'a str,
    now: i64,
}

fn transaction_page(
    nav: Nav,
    at: Where,
    name: String,
    filters: Filters,
    detail: &TransactionDetail,
) -> TransactionPage {
    let period = filters.period;
    TransactionPage {
        nav,
        back: format!("{}?{}", performance_path(at.org, at.project), filters.query_string()),
        periods: filters.periods(),
        period_label: period.label,
        ops: detail.summary.op.clone(),
        count: detail.summary.count,
        figures: figures(detail, period.minutes),
        histogram: histogram(&detail.histogram),
        throughput: bar_chart(&detail.per_slot, at.now, period.slot_ms(), period.slots(), 300.0, 60.0),
        p95: p95_chart(detail, at.now, period),
        span_kinds: span_kinds(detail),
        vitals: detail.vitals.iter().map(vital_row).collect(),
        samples: detail.samples.iter().map(|s| sample_row(s, at)).collect(),
        apdex_threshold: APDEX_THRESHOLD_MS,
        environment: filters.environment,
        release: filters.release,
        name,
    }
}

fn figures(detail: &TransactionDetail, minutes: i64) -> Vec<Figure> {
    let s = &detail.summary;
    let figure = |label, value| Figure { label, value };
    vec![
        figure("Count", s.count.to_string()),
        figure("Per minute", format!("{:.2}", s.count as f64 / minutes as f64)),
        figure("p50", ms(s.p50_ms)),
        figure("p75", ms(s.p75_ms)),
        figure("p95", ms(s.p95_ms)),
        figure("p99", ms(s.p99_ms)),
        figure("Failure rate", format!("{:.1} %", s.failure_rate * 100.0)),
        figure("Apdex", s.apdex.map_or_else(|| "–".to_owned(), |a| format!("{a:.2}"))),
    ]
}

fn histogram(columns: &[(f64, i64)]) -> Vec<HistogramBar> {
    let counts: Vec<i64> = columns.iter().map(|&(_, count)| count).collect();
    let chart = column_chart(&counts, 300.0, 60.0);
    chart
        .bars
        .into_iter()
        .zip(columns)
        .map(|(bar, &(upper, _))| HistogramBar {
            x: bar.x,
            y: bar.y,
            width: bar.width,
            height: bar.height,
            count: bar.count,
            upper: ms(Some(upper)),
        })
        .collect()
}

/// p95 per slot as bars of whole milliseconds (a slot without transactions has none).
fn p95_chart(detail: &TransactionDetail, now: i64, period: Period) -> BarChart {
    let values: Vec<(i64, i64)> = detail
        .p95_per_slot
        .iter()
        .map(|&(slot, p95)| (slot, p95.round() as i64))
        .collect();
    bar_chart(&values, now, period.slot_ms(), period.slots(), 300.0, 60.0)
}

fn span_kinds(detail: &TransactionDetail) -> Vec<SpanKindRow> {
    detail
        .span_kinds
        .iter()
        .map(|kind| SpanKindRow {
            kind: kind.kind.clone(),
            total: ms(Some(kind.total_ms)),
            share: format!("{:.1} %", kind.share * 100.0),
            bar: format!("{:.1}", (kind.share * 100.0).clamp(0.0, 100.0)),
            per_transaction: format!("{:.1} ms", kind.per_transaction_ms),
            spans: kind.spans,
        })
        .collect()
}

/// A vital's p75: milliseconds as whole numbers, CLS (a score) to three decimals.
fn vital_row(figure: &VitalFigure) -> VitalRow {
    let vital = figure.vital;
    VitalRow {
        key: vital.key(),
        label: vital.label(),
        p75: if vital.is_unitless() {
            format!("{:.3}", figure.p75)
        } else {
            format!("{:.0} ms", figure.p75)
        },
        measured: figure.measured,
    }
}

fn sample_row(sample: &Sample, at: Where) -> SampleRow {
    let body = &sample.body;
    SampleRow {
        trace_link: if body.trace_id.is_empty() {
            String::new()
        } else {
            trace_path(at.org, at.project, &body.trace_id)
        },
        trace_id: body.trace_id.clone(),
        duration: format!("{:.1} ms", body.duration_ms),
        status: body.status.clone(),
        ended: moment(body.timestamp, at.now),
        kept_because: kept_because(sample.reasons),
        errors: sample
            .errors
            .iter()
            .map(|error| ErrorLink {
                title: error.title.clone(),
                url: event_path(at.org, error.issue_id, &error.event_id),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::performance::vitals::Vital;

    #[test]
    fn vitals_read_in_milliseconds_and_cls_to_three_decimals() {
        let lcp = vital_row(&VitalFigure {
            vital: Vital::Lcp,
            p75: 1_258.925,
            measured: 4,
        });
        assert_eq!((lcp.label, lcp.p75.as_str(), lcp.key), ("LCP", "1259 ms", "lcp"));
        let cls = vital_row(&VitalFigure {
            vital: Vital::Cls,
            p75: 0.1,
            measured: 2,
        });
        assert_eq!((cls.label, cls.p75.as_str()), ("CLS", "0.100"));
    }

    #[test]
    fn histogram_bars_carry_their_bucket_bound() {
        let bars = histogram(&[(10.0, 3), (11.2, 0), (12.6, 1)]);
        assert_eq!(bars.len(), 3);
        assert_eq!((bars[0].count, bars[0].upper.as_str()), (3, "10 ms"));
        assert_eq!(bars[1].height, 0.0, "an empty bucket between stays as a gap");
        assert!(bars[0].height > bars[2].height);
    }
}
