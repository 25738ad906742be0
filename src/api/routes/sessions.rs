//! Release health for tools: `GET /api/0/organizations/{org}/sessions/` in Sentry's shape
//! (`{"start", "end", "intervals", "groups": [{"by", "totals", "series"}], "query"}`), as Grafana's Sentry data
//! source and Sentry's own release pages ask it. The fields and groupings it answers are in
//! `domain::session_query`; any other is a 400 naming it.

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::api::auth::Caller;
use crate::api::error::ApiResult;
use crate::api::json::time::iso8601_ms;
use crate::api::params::RequestParams;
use crate::api::ApiState;
use crate::core::release_health::{self, SessionsAnswer, SessionsRequest};

pub async fn sessions(
    caller: Caller,
    State(state): State<ApiState>,
    Path(org): Path<String>,
    params: RequestParams,
) -> ApiResult<Json<Value>> {
    let access = caller.org(&org)?;
    let all = |name: &str| params.all(name).into_iter().map(str::to_owned).collect::<Vec<_>>();
    let request = SessionsRequest {
        fields: all("field"),
        group_by: all("groupBy"),
        stats_period: params.get("statsPeriod").map(str::to_owned),
        interval: params.get("interval").map(str::to_owned),
        projects: all("project"),
        environments: all("environment"),
        query: params.get("query").unwrap_or_default().to_owned(),
    };
    let answer = release_health::sessions(&state.core, &access, &request).await?;
    Ok(Json(answer_json(&answer, &request.query)))
}

fn answer_json(answer: &SessionsAnswer, query: &str) -> Value {
    let groups: Vec<Value> = answer
        .groups
        .iter()
        .map(|group| {
            let by: Map<String, Value> = group
                .by
                .iter()
                .map(|(column, value)| (column.name().to_owned(), Value::from(value.as_str())))
                .collect();
            let totals: Map<String, Value> = group
                .totals
                .iter()
                .map(|(field, value)| (field.name().to_owned(), number(*value)))
                .collect();
            let series: Map<String, Value> = group
                .series
                .iter()
                .map(|(field, values)| (field.name().to_owned(), values.iter().map(|v| number(*v)).collect()))
                .collect();
            json!({ "by": by, "totals": totals, "series": series })
        })
        .collect();
    json!({
        "start": iso8601_ms(answer.start_ms),
        "end": iso8601_ms(answer.end_ms),
        "intervals": answer.intervals.iter().map(|at| iso8601_ms(*at)).collect::<Vec<_>>(),
        "groups": groups,
        "query": query,
    })
}

/// Counts as integers (as Sentry sends them), rates as fractions, a missing rate as null.
fn number(value: Option<f64>) -> Value {
    match value {
        Some(v) if v.fract() == 0.0 && v.abs() < 9e15 => Value::from(v as i64),
        Some(v) => Value::from(v),
        None => Value::Null,
    }
}
