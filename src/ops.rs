//! Operational endpoints: liveness, readiness (writes succeed and the database answers) and Prometheus metrics.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

use crate::domain::size::format_byte_size;
use crate::health::DbHealth;
use crate::store::Db;
use crate::telemetry::Metrics;

/// How long `/readyz` waits for the database: a readiness check that hangs is as bad as one that fails, and
/// probes (load balancers, Kubernetes) commonly give up after a second.
const PING_TIMEOUT: Duration = Duration::from_millis(800);

#[derive(Clone)]
struct OpsState {
    db: Db,
    metrics: Arc<Metrics>,
    health: Arc<DbHealth>,
}

pub fn router(db: Db, metrics: Arc<Metrics>, health: Arc<DbHealth>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(OpsState { db, metrics, health })
}

async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

/// 503 while the writer finds that writes fail (a full disk still answers pings), or when the database does
/// not answer a ping within [`PING_TIMEOUT`].
async fn readyz(State(state): State<OpsState>) -> impl IntoResponse {
    if let Some(failing) = state.health.failing() {
        let body = serde_json::json!({
            "status": "unavailable",
            "detail": format!("writes failing: {}", failing.outage),
            "failing_for_secs": failing.since.elapsed().as_secs(),
        });
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body));
    }
    if let Some(low) = state.health.low_disk() {
        let body = serde_json::json!({
            "status": "unavailable",
            "detail": format!(
                "free disk space below FAULTLINE_MIN_FREE_DISK: {} left, the floor is {}",
                format_byte_size(low.free_bytes),
                format_byte_size(low.floor_bytes)
            ),
        });
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body));
    }
    let detail = match tokio::time::timeout(PING_TIMEOUT, state.db.ping()).await {
        Ok(Ok(())) => return (StatusCode::OK, Json(serde_json::json!({ "status": "ready" }))),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness check failed");
            "database unreachable".to_owned()
        }
        Err(_) => {
            tracing::warn!("readiness check timed out");
            format!("database unreachable: no answer within {} ms", PING_TIMEOUT.as_millis())
        }
    };
    state.metrics.database_errors.inc();
    let body = serde_json::json!({ "status": "unavailable", "detail": detail });
    (StatusCode::SERVICE_UNAVAILABLE, Json(body))
}

async fn metrics_text(State(state): State<OpsState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
