//! `GET /api/0/organizations/{org}/stats_v2/`: outcome counts in Sentry's shape, which Grafana's Sentry
//! data source and usage scripts read: `field=sum(quantity)` (or `sum(times_seen)`, the same numbers here
//! except that attachments count bytes in both), `groupBy=outcome|category|reason|project` (repeatable),
//! `interval` (whole hours, default `1h`), `statsPeriod` (default `14d`) or `start`/`end`, and the
//! `project`, `category` and `outcome` filters.

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::api::auth::Caller;
use crate::api::error::{ApiError, ApiResult};
use crate::api::json::time::iso8601_ms;
use crate::api::params::RequestParams;
use crate::api::ApiState;
use crate::core::outcomes::{stats, StatsQuery, HOUR_MS};
use crate::domain::normalize::parse_timestamp;
use crate::domain::outcomes::{GroupBy, OutcomeStats};
use crate::domain::period::StatsPeriod;
use crate::store::now_ms;

const FIELDS: [&str; 2] = ["sum(quantity)", "sum(times_seen)"];

pub async fn stats_v2(
    caller: Caller,
    State(state): State<ApiState>,
    Path(org): Path<String>,
    params: RequestParams,
) -> ApiResult<Json<Value>> {
    let access = caller.org(&org)?;
    let field = params.get("field").unwrap_or_default();
    if !FIELDS.contains(&field) {
        return Err(ApiError::bad_request(format!(
            "field must be one of: {}",
            FIELDS.join(", ")
        )));
    }
    let query = stats_query(&params)?;
    let found = stats(&state.core, &access, &query).await?;
    Ok(Json(answer(field, &query, &found)))
}

fn stats_query(params: &RequestParams) -> ApiResult<StatsQuery> {
    let interval = period(params.get("interval").unwrap_or("1h"), "interval")?;
    if interval % HOUR_MS != 0 {
        return Err(ApiError::bad_request("interval must be whole hours (1h, 6h, 1d)"));
    }
    let (start, end) = window(params, interval)?;
    let group_by = params
        .all("groupBy")
        .into_iter()
        .map(|name| {
            GroupBy::parse(name).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "groupBy {name:?} is not one of outcome, category, reason, project"
                ))
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let projects = params
        .all("project")
        .into_iter()
        .filter(|p| *p != "-1")
        .map(|p| {
            p.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid project id {p:?}")))
        })
        .collect::<ApiResult<Vec<i64>>>()?;
    let list = |name: &str| params.all(name).into_iter().map(str::to_owned).collect();
    Ok(StatsQuery {
        start,
        end,
        interval_ms: interval,
        group_by,
        projects,
        categories: list("category"),
        outcomes: list("outcome"),
    })
}

/// `start`/`end` when given, else the `statsPeriod` up to now; both ends on interval boundaries.
fn window(params: &RequestParams, interval: i64) -> ApiResult<(i64, i64)> {
    let date = |name: &str| -> ApiResult<Option<i64>> {
        match params.get(name).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(text) => parse_timestamp(&Value::String(text.to_owned()))
                .map(|seconds| Some((seconds * 1000.0) as i64))
                .ok_or_else(|| ApiError::bad_request(format!("{name} must be a date"))),
        }
    };
    match (date("start")?, date("end")?) {
        (Some(start), Some(end)) => {
            let end = (end + interval - 1).div_euclid(interval) * interval;
            Ok((start.div_euclid(interval) * interval, end))
        }
        (None, None) => {
            // The last interval holds now; the period counts whole intervals back from its end.
            let length = period(params.get("statsPeriod").unwrap_or("14d"), "statsPeriod")?;
            let end = (now_ms() / interval + 1) * interval;
            let intervals = (length + interval - 1) / interval;
            Ok((end - intervals * interval, end))
        }
        _ => Err(ApiError::bad_request("start and end go together")),
    }
}

fn period(text: &str, name: &str) -> ApiResult<i64> {
    StatsPeriod::parse(text)
        .map(|p| p.length_ms)
        .map_err(|e| ApiError::bad_request(format!("{name}: {e}")))
}

fn answer(field: &str, query: &StatsQuery, found: &OutcomeStats) -> Value {
    let groups: Vec<Value> = found
        .groups
        .iter()
        .map(|group| {
            let mut by = Map::new();
            for (dimension, value) in &group.by {
                let value = match dimension {
                    GroupBy::Project => value.parse::<i64>().map(Value::from).unwrap_or(json!(value)),
                    _ => json!(value),
                };
                by.insert(dimension.as_str().to_owned(), value);
            }
            json!({
                "by": by,
                "totals": { field: group.total },
                "series": { field: group.series },
            })
        })
        .collect();
    json!({
        "start": iso8601_ms(query.start),
        "end": iso8601_ms(query.end),
        "intervals": found.intervals.iter().map(|at| iso8601_ms(*at)).collect::<Vec<_>>(),
        "groups": groups,
    })
}
