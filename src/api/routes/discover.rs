//! Discover for Grafana's Sentry data source and other tools (README "Grafana"):
//! `GET /api/0/organizations/{org}/events/` (a table: `{"data": [...], "meta": {...}}`, paged by offset
//! cursors), `…/events-stats/` (time series in Sentry's shapes: one y axis, several, or per top event) and
//! `…/tags/` (the tag keys the query editor suggests).

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::api::auth::Caller;
use crate::api::error::{ApiError, ApiResult};
use crate::api::json::time::iso8601_ms;
use crate::api::params::RequestParams;
use crate::api::ApiState;
use crate::core::discover::{self, EventFilter, Series, SeriesAnswer, SeriesRequest, Table, TableRequest};
use crate::domain::discover::{Field, FieldValue};
use crate::domain::tags::tag_key_label;

/// Sentry's page size for Discover tables when `per_page` is absent.
const DEFAULT_PAGE: i64 = 50;

pub async fn events(
    caller: Caller,
    State(state): State<ApiState>,
    Path(org): Path<String>,
    params: RequestParams,
) -> ApiResult<Response> {
    let access = caller.org(&org)?;
    let request = TableRequest {
        filter: event_filter(&params),
        fields: all(&params, "field"),
        sort: params.get("sort").map(str::to_owned),
        limit: params.limit(DEFAULT_PAGE)?,
        offset: offset(&params)?,
    };
    let table = discover::table(&state.core, &access, &request).await?;
    let link = params.offset_link_header(&state.public_url, request.offset, request.limit, table.more);
    Ok(([(header::LINK, link)], Json(table_json(&table))).into_response())
}

pub async fn events_stats(
    caller: Caller,
    State(state): State<ApiState>,
    Path(org): Path<String>,
    params: RequestParams,
) -> ApiResult<Json<Value>> {
    let access = caller.org(&org)?;
    let request = SeriesRequest {
        filter: event_filter(&params),
        y_axis: all(&params, "yAxis"),
        fields: all(&params, "field"),
        top_events: params.get("topEvents").map(str::to_owned),
        interval: params.get("interval").map(str::to_owned),
        partial: flag(&params, "partial"),
        exclude_other: flag(&params, "excludeOther"),
        sort: params.get("sort").map(str::to_owned),
    };
    let answer = discover::series(&state.core, &access, &request).await?;
    Ok(Json(stats_json(&answer)))
}

pub async fn tags(
    caller: Caller,
    State(state): State<ApiState>,
    Path(org): Path<String>,
    params: RequestParams,
) -> ApiResult<Json<Value>> {
    let access = caller.org(&org)?;
    let keys = discover::tag_keys(&state.core, &access, &event_filter(&params)).await?;
    Ok(Json(
        keys.iter()
            .map(|k| json!({ "key": k.key, "name": tag_key_label(&k.key), "totalValues": k.events }))
            .collect(),
    ))
}

fn event_filter(params: &RequestParams) -> EventFilter {
    let text = |name: &str| params.get(name).map(str::to_owned);
    EventFilter {
        query: params.get("query").unwrap_or_default().to_owned(),
        dataset: text("dataset"),
        start: text("start"),
        end: text("end"),
        stats_period: text("statsPeriod"),
        projects: all(params, "project"),
        environments: all(params, "environment"),
    }
}

fn all(params: &RequestParams, name: &str) -> Vec<String> {
    params.all(name).into_iter().map(str::to_owned).collect()
}

fn flag(params: &RequestParams, name: &str) -> bool {
    matches!(params.get(name), Some("1" | "true" | "True"))
}

/// Sentry's offset cursor, `0:<offset>:<is_prev>`.
fn offset(params: &RequestParams) -> ApiResult<i64> {
    let Some(cursor) = params.get("cursor").filter(|c| !c.is_empty()) else {
        return Ok(0);
    };
    let parts: Vec<&str> = cursor.split(':').collect();
    match parts.as_slice() {
        [_, offset, _] => offset.parse::<i64>().ok().filter(|o| *o >= 0),
        _ => None,
    }
    .ok_or_else(|| ApiError::bad_request(format!("invalid cursor {cursor:?}")))
}

fn value_json(value: &FieldValue) -> Value {
    match value {
        FieldValue::Int(n) => json!(n),
        FieldValue::Float(x) => json!(x),
        FieldValue::Text(text) => json!(text),
        FieldValue::Date(ms) => json!(iso8601_ms(*ms)),
    }
}

fn table_json(table: &Table) -> Value {
    if table.no_projects {
        return json!({
            "data": [],
            "meta": { "tips": { "query": "Need at least one valid project to query." } },
        });
    }
    let data: Vec<Value> = table
        .rows
        .iter()
        .map(|row| {
            let cells = table
                .fields
                .iter()
                .zip(row)
                .map(|(f, v)| (f.name.clone(), value_json(v)));
            Value::Object(cells.collect())
        })
        .collect();
    let mut meta = field_meta(&table.fields);
    meta.insert("tips".into(), json!({}));
    meta.insert("datasetReason".into(), json!("unchanged"));
    meta.insert("dataset".into(), json!(table.dataset.name()));
    json!({ "data": data, "meta": meta })
}

/// `fields` (Sentry's type per field) and `units`, as Sentry's `meta` writes them.
fn field_meta(fields: &[Field]) -> Map<String, Value> {
    let types: Map<String, Value> = fields.iter().map(|f| (f.name.clone(), json!(f.meta().0))).collect();
    let units: Map<String, Value> = fields.iter().map(|f| (f.name.clone(), json!(f.meta().1))).collect();
    let mut meta = Map::new();
    meta.insert("fields".into(), Value::Object(types));
    meta.insert("units".into(), Value::Object(units));
    meta.insert("isMetricsData".into(), json!(false));
    meta.insert("isMetricsExtractedData".into(), json!(false));
    meta
}

/// The shapes Sentry answers and Grafana reads (README "Grafana"): every series has every bucket, each
/// `[epoch seconds, [{"count": value}]]`.
fn stats_json(answer: &SeriesAnswer) -> Value {
    let group = |series: &Series| series_group(answer, series);
    match (&answer.groups, &answer.total) {
        (Some(groups), _) if !groups.is_empty() => {
            Value::Object(groups.iter().map(|s| (s.key.clone(), group(s))).collect())
        }
        // No top event found: Sentry answers the plain, zero-filled series.
        (Some(_), _) => group(&zero_series(answer)),
        (None, Some(total)) if answer.top_events => json!({ "": group(total) }),
        (None, Some(total)) => group(total),
        (None, None) => group(&zero_series(answer)),
    }
}

fn zero_series(answer: &SeriesAnswer) -> Series {
    Series {
        key: String::new(),
        order: 0,
        values: vec![vec![0.0; answer.buckets.len()]; answer.y_axis.len()],
    }
}

/// One group's series: a series object, or with several y axes one per y axis under its name.
fn series_group(answer: &SeriesAnswer, series: &Series) -> Value {
    if answer.y_axis.len() == 1 {
        return series_object(answer, series, 0, series.order);
    }
    let mut object: Map<String, Value> = answer
        .y_axis
        .iter()
        .enumerate()
        .map(|(index, field)| (field.name.clone(), series_object(answer, series, index, index)))
        .collect();
    object.insert("order".into(), json!(series.order));
    Value::Object(object)
}

fn series_object(answer: &SeriesAnswer, series: &Series, y: usize, order: usize) -> Value {
    let field = &answer.y_axis[y];
    let integer = field.meta().0 == "integer";
    let data: Vec<Value> = answer
        .buckets
        .iter()
        .zip(&series.values[y])
        .map(|(at, value)| {
            let count = if integer { json!(*value as i64) } else { json!(value) };
            json!([at / 1000, [{ "count": count }]])
        })
        .collect();
    let start = answer.buckets.first().copied().unwrap_or_default();
    let end = answer.buckets.last().map_or(start, |last| last + answer.interval_ms);
    json!({
        "data": data,
        "order": order,
        "isMetricsData": false,
        "start": start / 1000,
        "end": end / 1000,
        "meta": field_meta(std::slice::from_ref(field)),
    })
}
