//! The SDK-facing protocol: the store and envelope routes with CORS, credential checks, body decoding
//! and limits, and the writer queue that makes every 2xx a committed event.

mod accounting;
mod admission;
mod attachments;
mod check_ins;
pub mod decode;
mod error;
mod error_page;
mod feedback;
mod own_paths;
pub mod performance_issues;
mod pipeline;
mod sessions;
mod spans;
pub mod transaction_writer;
mod transactions;
pub mod writer;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, Method};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use tower_http::cors::{Any, CorsLayer};

use admission::RawRequest;
pub use error::IngestError;
use pipeline::Answer;

use crate::config::Config;
use crate::core::limits::Limiter;
use crate::core::outcomes::OutcomeLog;
use crate::core::KeyCache;
use crate::domain::performance::detectors::Thresholds;
use crate::health::DbHealth;
use crate::request_body::BodyBudget;
use crate::store::Db;
use crate::telemetry::Metrics;
use crate::telemetry::RoutineRequest;
use performance_issues::OccurrenceBook;
use transaction_writer::TransactionQueue;
use writer::WriterHandle;

/// Ingest settings taken from the configuration.
#[derive(Debug, Clone)]
pub struct IngestSettings {
    pub max_body_bytes: usize,
    pub max_envelope_bytes: usize,
    pub max_event_bytes: usize,
    /// Largest single attachment; a larger one refuses its envelope (413).
    pub max_attachment_bytes: usize,
    /// A project's attachment quota in bytes unless it sets its own.
    pub attachment_quota_bytes: i64,
    pub scrub: bool,
    pub trust_proxy: bool,
    pub retry_after_secs: u64,
    pub body_read_timeout: Duration,
    /// When a transaction has a performance problem.
    pub performance_thresholds: Thresholds,
}

impl IngestSettings {
    pub fn from_config(config: &Config) -> IngestSettings {
        IngestSettings {
            max_body_bytes: config.max_body_bytes,
            max_envelope_bytes: config.max_envelope_bytes,
            max_event_bytes: config.max_event_bytes,
            max_attachment_bytes: config.max_attachment_bytes,
            attachment_quota_bytes: i64::try_from(config.attachment_quota).unwrap_or(i64::MAX),
            scrub: config.scrub,
            trust_proxy: config.trust_proxy,
            retry_after_secs: config.retry_after_secs,
            body_read_timeout: Duration::from_secs(config.body_read_timeout_secs),
            performance_thresholds: Thresholds {
                n_plus_one_min_queries: config.n_plus_one_min_queries as usize,
                n_plus_one_min_total_ms: config.n_plus_one_min_total_ms as f64,
                slow_db_query_ms: config.slow_db_query_ms as f64,
            },
        }
    }
}

/// What the ingest handlers share.
pub struct Ingest {
    /// For what is written without a writer queue (release-health sessions: a few small items a minute).
    pub db: Db,
    pub keys: KeyCache,
    /// What became of each item, written out by the outcome worker.
    pub outcomes: OutcomeLog,
    /// The rate-limit counts: keys, daily quotas, spike protection.
    pub limits: Limiter,
    pub writer: WriterHandle,
    /// Source maps applied to JavaScript events before they are grouped.
    pub source_maps: crate::core::source_maps::SourceMaps,
    /// Cron check-ins: recorded with their monitor's health, failures stored as events with their alerts.
    pub monitors: crate::core::monitors::MonitorBook,
    /// The transaction writer's queue (performance rollups).
    pub transactions: TransactionQueue,
    /// Each performance issue's window of occurrences: which become events now, which are folded.
    pub occurrences: OccurrenceBook,
    /// Read first: while database writes fail, requests are answered 503 before any other work.
    pub health: Arc<DbHealth>,
    pub metrics: Arc<Metrics>,
    pub settings: IngestSettings,
    /// Memory for the bodies of all ingest requests in flight.
    pub body_budget: BodyBudget,
}

/// `/api/{project_id}/store/` and `/api/{project_id}/envelope/`, with and without the trailing slash.
pub fn router(ingest: Arc<Ingest>) -> Router {
    Router::new()
        .route("/api/{project_id}/envelope/", post(envelope))
        .route("/api/{project_id}/envelope", post(envelope))
        .route("/api/{project_id}/store/", post(store))
        .route("/api/{project_id}/store", post(store))
        .route(
            "/api/{project_id}/cron/{monitor_slug}/{sentry_key}/",
            axum::routing::get(check_ins::http_check_in).post(check_ins::http_check_in),
        )
        .route(
            "/api/{project_id}/cron/{monitor_slug}/{sentry_key}",
            axum::routing::get(check_ins::http_check_in).post(check_ins::http_check_in),
        )
        .route(
            "/api/embed/error-page/",
            axum::routing::get(error_page::dialog).post(error_page::submit),
        )
        .layer(cors())
        .layer(axum::middleware::map_response(mark_routine))
        .with_state(ingest)
}

/// An SDK's request that succeeded is logged at DEBUG (`telemetry::RoutineRequest`).
async fn mark_routine(mut response: axum::response::Response) -> axum::response::Response {
    response.extensions_mut().insert(RoutineRequest);
    response
}

/// §3.4: browser SDKs post cross-origin; errors and 429s must carry the headers too.
fn cors() -> CorsLayer {
    let allowed = [
        "x-sentry-auth",
        "x-requested-with",
        "x-forwarded-for",
        "origin",
        "referer",
        "accept",
        "content-type",
        "authentication",
        "authorization",
        "content-encoding",
        "transfer-encoding",
        "sentry-trace",
        "baggage",
    ];
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::POST, Method::OPTIONS])
        .allow_headers(allowed.map(HeaderName::from_static))
        .expose_headers(["x-sentry-error", "x-sentry-rate-limits", "retry-after"].map(HeaderName::from_static))
        .max_age(Duration::from_secs(3600))
}

type IngestResult = Result<axum::response::Response, IngestError>;

/// The two ingest endpoints; they differ only in how the body is read.
#[derive(Clone, Copy)]
enum Endpoint {
    Envelope,
    Store,
}

async fn envelope(
    State(ingest): State<Arc<Ingest>>,
    Path(project_id): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> IngestResult {
    handle(&ingest, Endpoint::Envelope, project_id, peer, query, headers, body).await
}

async fn store(
    State(ingest): State<Arc<Ingest>>,
    Path(project_id): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> IngestResult {
    handle(&ingest, Endpoint::Store, project_id, peer, query, headers, body).await
}

async fn handle(
    ingest: &Ingest,
    endpoint: Endpoint,
    project_id: String,
    peer: SocketAddr,
    query: Option<String>,
    headers: HeaderMap,
    body: Body,
) -> IngestResult {
    let started = Instant::now();
    // §3.3: the store endpoint parses an envelope when told so by the content type.
    let envelope = matches!(endpoint, Endpoint::Envelope)
        || admission::header(&headers, "content-type").is_some_and(|t| t.starts_with("application/x-sentry-envelope"));
    let request = RawRequest {
        project_id,
        headers,
        query,
        peer: peer.ip(),
        body,
        envelope,
    };
    let result = async {
        let admitted = admission::admit(ingest, request).await?;
        if envelope {
            pipeline::ingest_envelope(ingest, admitted).await
        } else {
            pipeline::ingest_store(ingest, admitted).await
        }
    }
    .await;
    finish(ingest, started, result)
}

fn finish(ingest: &Ingest, started: Instant, result: Result<Answer, IngestError>) -> IngestResult {
    ingest.metrics.ingest_seconds.observe(started.elapsed().as_secs_f64());
    match result {
        Ok(Answer { id, limit }) => {
            let body = match id {
                Some(id) => serde_json::json!({ "id": id }),
                None => serde_json::json!({}),
            };
            let announcement = accounting::announcement(limit);
            Ok((
                [(HeaderName::from_static("x-sentry-rate-limits"), announcement)],
                Json(body),
            )
                .into_response())
        }
        Err(error) => {
            ingest
                .metrics
                .events_rejected
                .with_label_values(&[error.reason()])
                .inc();
            Err(error)
        }
    }
}
