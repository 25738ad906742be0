//! The organization's Stats page: for each data category, the last 30 days as daily bars stacked by
//! outcome (accepted, filtered, rate limited, invalid, dropped by the client), with the totals. It reads
//! the same sums as `stats_v2`.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::IntoResponse;

use crate::core::outcomes::{stats, StatsQuery, HOUR_MS};
use crate::domain::outcomes::{GroupBy, Outcome, OutcomeStats};
use crate::store::now_ms;
use crate::web::charts::{stacked_chart, Segment};
use crate::web::session::Viewer;
use crate::web::{Nav, WebError, WebState};

use super::render;

const DAYS: i64 = 30;
const DAY_MS: i64 = 24 * HOUR_MS;

/// One category's chart.
pub struct CategoryChart {
    pub category: String,
    pub segments: Vec<Segment>,
    pub max: i64,
    /// (outcome, its CSS class, total) for the legend, in [`Outcome::ALL`] order, zeros left out.
    pub totals: Vec<(&'static str, &'static str, i64)>,
}

#[derive(Template)]
#[template(path = "pages/stats.html")]
struct StatsPage {
    nav: Nav,
    org: String,
    charts: Vec<CategoryChart>,
    first_day: String,
}

pub async fn page(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(org): Path<String>,
) -> Result<impl IntoResponse, WebError> {
    let access = viewer.access(&org)?;
    let end = (now_ms() / DAY_MS + 1) * DAY_MS;
    let query = StatsQuery {
        start: end - DAYS * DAY_MS,
        end,
        interval_ms: DAY_MS,
        group_by: vec![GroupBy::Category, GroupBy::Outcome],
        ..StatsQuery::default()
    };
    let found = stats(&state.core, &access, &query).await?;
    let first_day = crate::web::format::moment(query.start, now_ms()).exact;
    render(&StatsPage {
        nav: Nav::for_viewer(&viewer, "Stats", Some(&access.organization.slug)),
        org: access.organization.slug.clone(),
        charts: category_charts(&found),
        first_day,
    })
}

/// Groups by category, each with one series per outcome in a fixed order.
fn category_charts(found: &OutcomeStats) -> Vec<CategoryChart> {
    let mut categories: Vec<String> = found.groups.iter().map(|g| g.by[0].1.clone()).collect();
    categories.dedup();
    categories
        .into_iter()
        .map(|category| {
            let series: Vec<Vec<i64>> = Outcome::ALL
                .iter()
                .map(|outcome| {
                    found
                        .groups
                        .iter()
                        .find(|g| g.by[0].1 == category && g.by[1].1 == outcome.as_str())
                        .map(|g| g.series.clone())
                        .unwrap_or_default()
                })
                .collect();
            let (segments, max) = stacked_chart(&series, 300.0, 60.0);
            let totals = Outcome::ALL
                .iter()
                .zip(&series)
                .map(|(outcome, values)| (outcome.as_str(), outcome_class(*outcome), values.iter().sum::<i64>()))
                .filter(|(_, _, total)| *total > 0)
                .collect();
            CategoryChart {
                category,
                segments,
                max,
                totals,
            }
        })
        .collect()
}

/// A fixed class per outcome (never text from a request).
pub fn outcome_class(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Accepted => "o-accepted",
        Outcome::Filtered => "o-filtered",
        Outcome::RateLimited => "o-rate-limited",
        Outcome::Invalid => "o-invalid",
        Outcome::ClientDiscard => "o-client-discard",
    }
}

/// The class of a segment's series index (the order of [`Outcome::ALL`]).
pub fn series_class(index: &usize) -> &'static str {
    Outcome::ALL.get(*index).map_or("", |outcome| outcome_class(*outcome))
}
