//! `events-stats/`: Discover aggregates per time bucket, zero-filled, for the whole query or for its top
//! groups (`topEvents` with `field` group-bys, ranked like a table query) plus, unless `excludeOther`, the
//! rest as "Other".

use std::collections::BTreeMap;

use crate::domain::accounts::Scope;
use crate::domain::discover::{
    bucket_starts, group_key, parse_top_events, series_interval, Field, FieldValue, Selection, Sort, Totals,
    ValueContext, OTHER,
};
use crate::store::discover::{Cell, GroupMatch, Grouping};

use super::groups::{self, functions, GroupRow};
use super::{Access, Core, CoreError, CoreResult, EventFilter, Names, Parsed, QueryScope};

/// Rows a series reads at most: its buckets times its groups are bounded by the interval rules, this only
/// guards against a mistake.
const MAX_SERIES_ROWS: i64 = 1_000_000;

#[derive(Debug, Clone, Default)]
pub struct SeriesRequest {
    pub filter: EventFilter,
    /// The aggregates to plot (`count()` when none).
    pub y_axis: Vec<String>,
    /// The y axes and the columns to group the top events by.
    pub fields: Vec<String>,
    pub top_events: Option<String>,
    pub interval: Option<String>,
    /// Keep a last bucket the end cuts short.
    pub partial: bool,
    pub exclude_other: bool,
    pub sort: Option<String>,
}

/// One line per y axis: a number per bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The group's name (empty for the whole query).
    pub key: String,
    /// Its rank among the top events (the "Other" series comes last).
    pub order: usize,
    /// Per y axis, per bucket.
    pub values: Vec<Vec<f64>>,
}

#[derive(Debug, Clone)]
pub struct SeriesAnswer {
    pub y_axis: Vec<Field>,
    /// Each bucket's start, epoch ms.
    pub buckets: Vec<i64>,
    pub interval_ms: i64,
    /// Whether `topEvents` was asked (Sentry then names the ungrouped series `""`).
    pub top_events: bool,
    /// The whole query's series, or with group-bys and top events, the top groups' (`None` when the query
    /// is not grouped; empty when no group was found).
    pub groups: Option<Vec<Series>>,
    pub total: Option<Series>,
}

/// The `events-stats/` series (`event:read`).
#[tracing::instrument(skip_all, fields(organization = access.organization.id.get()))]
pub async fn series(core: &Core, access: &Access, request: &SeriesRequest) -> CoreResult<SeriesAnswer> {
    access.require(Scope::EventRead)?;
    super::check_dataset(&request.filter)?;
    let y_axis = parse_y_axis(&request.y_axis)?;
    let top = parse_top_events(request.top_events.as_deref()).map_err(CoreError::invalid)?;
    let mut asked: Vec<String> = y_axis.fields.iter().map(|f| f.name.clone()).collect();
    asked.extend(request.fields.iter().cloned());
    let fields = Selection::parse(&asked).map_err(CoreError::invalid)?;
    let grouped = top.is_some() && !fields.columns().is_empty();
    let answered = if grouped { &fields } else { &y_axis };
    let parsed = Parsed::read(&request.filter, answered)?;
    let sort = fields.sort(request.sort.as_deref()).map_err(CoreError::invalid)?;
    let interval = series_interval(request.interval.as_deref(), &parsed.window, top.unwrap_or(1));
    let buckets = bucket_starts(&parsed.window, interval, request.partial);
    let mut answer = SeriesAnswer {
        y_axis: y_axis.fields.clone(),
        buckets,
        interval_ms: interval,
        top_events: top.is_some(),
        groups: None,
        total: None,
    };
    let first = answer.buckets.first().copied().unwrap_or(parsed.window.start_ms);
    let scope = QueryScope::resolve(core, access, &request.filter, parsed).await?;
    let plot = Plot {
        y_axis: &y_axis,
        buckets: answer.buckets.len(),
        grouping: Grouping {
            buckets: Some((first, interval)),
            ..Grouping::default()
        },
        context: ValueContext {
            span_ms: interval,
            apdex_threshold_ms: super::APDEX_THRESHOLD_MS,
        },
    };
    match (scope, top) {
        (Some(scope), Some(limit)) if grouped => {
            answer.groups = Some(top_series(core, &scope, &plot, &fields, sort, limit, request.exclude_other).await?);
        }
        (Some(scope), _) => {
            let totals = plot.read(core, &scope, plot.grouping.clone()).await?;
            answer.total = Some(plot.series(String::new(), 0, totals.get(&Vec::new())));
        }
        (None, _) => answer.total = Some(plot.series(String::new(), 0, None)),
    }
    Ok(answer)
}

/// The y axes: aggregates that are numbers (`count()` by default).
fn parse_y_axis(texts: &[String]) -> CoreResult<Selection> {
    let texts = if texts.iter().all(|t| t.trim().is_empty()) {
        vec!["count()".to_owned()]
    } else {
        texts.to_vec()
    };
    let selection = Selection::parse(&texts).map_err(CoreError::invalid)?;
    match selection
        .fields
        .iter()
        .find(|f| !f.function().is_some_and(|f| f.is_numeric()))
    {
        Some(field) => Err(CoreError::Invalid(format!(
            "yAxis {:?} is not an aggregate that can be plotted",
            field.name
        ))),
        None => Ok(selection),
    }
}

/// Bucket sums per group, keyed by the group's cells.
type Bucketed = BTreeMap<Vec<Cell>, BTreeMap<i64, Totals>>;

/// What every series of one request shares.
struct Plot<'a> {
    y_axis: &'a Selection,
    buckets: usize,
    grouping: Grouping,
    context: ValueContext,
}

impl Plot<'_> {
    async fn read(&self, core: &Core, scope: &QueryScope, grouping: Grouping) -> CoreResult<Bucketed> {
        let totals = groups::read_totals(core, scope, &grouping, &functions(self.y_axis), MAX_SERIES_ROWS).await?;
        let mut bucketed = Bucketed::new();
        for ((cells, bucket), totals) in totals {
            bucketed.entry(cells).or_default().insert(bucket, totals);
        }
        Ok(bucketed)
    }

    /// Every bucket's value of every y axis; a bucket without rows is zero.
    fn series(&self, key: String, order: usize, totals: Option<&BTreeMap<i64, Totals>>) -> Series {
        let empty = Totals::default();
        let values = functions(self.y_axis)
            .into_iter()
            .map(|function| {
                (0..self.buckets as i64)
                    .map(|bucket| {
                        let totals = totals.and_then(|t| t.get(&bucket)).unwrap_or(&empty);
                        totals.value(function, &self.context).as_number()
                    })
                    .collect()
            })
            .collect();
        Series { key, order, values }
    }
}

/// A top group's series name: its values, by field name (Sentry's `create_result_key`).
fn group_name(fields: &Selection, names: &Names, row: &GroupRow) -> String {
    let columns = fields.columns();
    let values: Vec<FieldValue> = columns
        .iter()
        .zip(&row.cells)
        .map(|(column, cell)| names.column_value(*column, Some(cell)))
        .collect();
    let named: Vec<(&str, &FieldValue)> = fields
        .fields
        .iter()
        .zip(
            fields
                .fields
                .iter()
                .map(|f| columns.iter().position(|c| Some(*c) == f.column())),
        )
        .filter_map(|(field, at)| Some((field.name.as_str(), &values[at?])))
        .collect();
    group_key(&named)
}

/// The top `limit` groups of `fields`' columns (ranked by `sort`, by default the first y axis, largest
/// first), a series each, and unless excluded the "Other" series of everything else.
async fn top_series(
    core: &Core,
    scope: &QueryScope,
    plot: &Plot<'_>,
    fields: &Selection,
    sort: Option<Sort>,
    limit: usize,
    exclude_other: bool,
) -> CoreResult<Vec<Series>> {
    let columns = fields.columns();
    let sort = sort.or_else(|| {
        let first = fields
            .fields
            .iter()
            .position(|f| f.name == plot.y_axis.fields[0].name)?;
        Some(Sort {
            field: first,
            descending: true,
        })
    });
    let names = scope.names();
    let (top, _) = groups::rows(core, scope, fields, sort, &names, (limit as i64, 0)).await?;
    let names = names.with_short_ids(core, &columns, &top).await?;
    let only = |exclude: bool| GroupMatch {
        columns: columns.clone(),
        groups: top.iter().map(|row| row.cells.clone()).collect(),
        exclude,
    };
    let grouping = Grouping {
        columns: columns.clone(),
        only: Some(only(false)),
        ..plot.grouping.clone()
    };
    let bucketed = plot.read(core, scope, grouping).await?;
    let mut series: Vec<Series> = top
        .iter()
        .enumerate()
        .map(|(order, row)| plot.series(group_name(fields, &names, row), order, bucketed.get(&row.cells)))
        .collect();
    if !exclude_other && top.len() == limit {
        let other = Grouping {
            only: Some(only(true)),
            ..plot.grouping.clone()
        };
        let rest = plot.read(core, scope, other).await?;
        if let Some(totals) = rest.get(&Vec::new()) {
            series.push(plot.series(OTHER.to_owned(), limit, Some(totals)));
        }
    }
    Ok(series)
}
