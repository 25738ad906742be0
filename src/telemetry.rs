//! Logs and metrics: tracing set-up (pretty or JSON), the request span with its request id, and the
//! Prometheus registry behind `GET /metrics`.

use axum::extract::MatchedPath;
use axum::http::Request;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};
use tower_http::trace::{DefaultOnResponse, OnResponse};
use tracing::Level;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber once; later calls (tests) are no-ops.
pub fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        LogFormat::Pretty => registry.with(tracing_subscriber::fmt::layer()).try_init(),
        LogFormat::Json => registry
            .with(tracing_subscriber::fmt::layer().json().flatten_event(true))
            .try_init(),
    };
}

/// Marks a response whose success is routine (an SDK's ingest request): its log line is DEBUG rather than
/// INFO, so thousands of events a second cost no log formatting. Failures, and every other request, still
/// log at INFO inside their request's span (method, route, request id).
#[derive(Debug, Clone, Copy)]
pub struct RoutineRequest;

/// The response log line: DEBUG for a routine success (see [`RoutineRequest`]), INFO otherwise.
#[derive(Debug, Clone, Copy)]
pub struct LogResponse;

impl<B> OnResponse<B> for LogResponse {
    fn on_response(self, response: &axum::http::Response<B>, latency: std::time::Duration, span: &tracing::Span) {
        let routine = response.status().is_success() && response.extensions().get::<RoutineRequest>().is_some();
        let level = if routine { Level::DEBUG } else { Level::INFO };
        DefaultOnResponse::new()
            .level(level)
            .on_response(response, latency, span);
    }
}

/// The span of one HTTP request: method, route template (never the raw URI, whose query string may
/// carry a `sentry_key`) and request id. No header is ever recorded.
pub fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let route = RouteTemplate::of(request);
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", method = %request.method(), route = %route.as_str(), request_id = %request_id)
}

/// Counts one HTTP request by its route template (never the raw path, so labels stay bounded) and status.
pub async fn record_request(
    axum::extract::State(metrics): axum::extract::State<std::sync::Arc<Metrics>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = std::time::Instant::now();
    let method = bounded_method(request.method());
    let route = RouteTemplate::of(&request);
    let response = next.run(request).await;
    let status = response.status();
    metrics
        .http_requests
        .with_label_values(&[method, route.as_str(), status.as_str()])
        .inc();
    metrics
        .http_request_seconds
        .with_label_values(&[method, route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    response
}

/// The route template a request matched (never the raw path, whose query may carry a `sentry_key` and whose
/// values would make unbounded metric labels). Cloning a `MatchedPath` copies no text.
struct RouteTemplate(Option<MatchedPath>);

impl RouteTemplate {
    fn of<B>(request: &Request<B>) -> RouteTemplate {
        RouteTemplate(request.extensions().get::<MatchedPath>().cloned())
    }

    fn as_str(&self) -> &str {
        self.0.as_ref().map_or("unmatched", MatchedPath::as_str)
    }
}

/// A client can send any method name; only the standard ones become label values.
fn bounded_method(method: &axum::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// Every Prometheus series Faultline exports.
pub struct Metrics {
    registry: Registry,
    pub events_accepted: IntCounter,
    pub events_stored: IntCounter,
    pub events_duplicate: IntCounter,
    pub transactions_rolled_up: IntCounter,
    pub events_rejected: IntCounterVec,
    pub items_dropped: IntCounterVec,
    pub queue_depth: IntGauge,
    pub batch_size: Histogram,
    pub ingest_seconds: Histogram,
    pub database_errors: IntCounter,
    pub connections_open: IntGauge,
    pub connections_refused: IntCounterVec,
    pub connections_closed: IntCounterVec,
    pub body_bytes_in_flight: IntGauge,
    pub http_requests: IntCounterVec,
    pub http_request_seconds: HistogramVec,
    pub outcomes: IntCounterVec,
    pub events_expired: IntCounter,
    pub issues_expired: IntCounter,
    pub database_bytes: IntGauge,
    pub events_evicted: IntCounter,
    pub storage_used_bytes: IntGauge,
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let m = Metrics {
            events_accepted: IntCounter::new("faultline_events_accepted_total", "Events answered 2xx").unwrap(),
            events_stored: IntCounter::new("faultline_events_stored_total", "Events committed to the database")
                .unwrap(),
            events_duplicate: IntCounter::new(
                "faultline_events_duplicate_total",
                "Re-sent events whose id was already stored",
            )
            .unwrap(),
            transactions_rolled_up: IntCounter::new(
                "faultline_transactions_rolled_up_total",
                "Transactions committed to the performance rollups",
            )
            .unwrap(),
            events_rejected: IntCounterVec::new(
                Opts::new("faultline_events_rejected_total", "Ingest requests refused, by reason"),
                &["reason"],
            )
            .unwrap(),
            items_dropped: IntCounterVec::new(
                Opts::new(
                    "faultline_items_dropped_total",
                    "Envelope items accepted and dropped, by item type",
                ),
                &["item_type"],
            )
            .unwrap(),
            queue_depth: IntGauge::new("faultline_writer_queue_depth", "Events waiting for the writer").unwrap(),
            batch_size: Histogram::with_opts(
                HistogramOpts::new("faultline_writer_batch_size", "Events per committed batch").buckets(vec![
                    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0,
                ]),
            )
            .unwrap(),
            ingest_seconds: Histogram::with_opts(
                HistogramOpts::new("faultline_ingest_duration_seconds", "Ingest request latency").buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ]),
            )
            .unwrap(),
            database_errors: IntCounter::new("faultline_database_errors_total", "Failed database operations").unwrap(),
            connections_open: IntGauge::new("faultline_connections_open", "Open client connections").unwrap(),
            connections_refused: IntCounterVec::new(
                Opts::new(
                    "faultline_connections_refused_total",
                    "Connections refused or restricted to health checks, by reason",
                ),
                &["reason"],
            )
            .unwrap(),
            connections_closed: IntCounterVec::new(
                Opts::new(
                    "faultline_connections_closed_total",
                    "Connections closed by the server's timeouts, by reason",
                ),
                &["reason"],
            )
            .unwrap(),
            body_bytes_in_flight: IntGauge::new(
                "faultline_request_body_bytes_in_flight",
                "Bytes of ingest request bodies held in memory (raw and decoded)",
            )
            .unwrap(),
            http_requests: IntCounterVec::new(
                Opts::new(
                    "http_requests_total",
                    "HTTP requests by method, route template and status",
                ),
                &["method", "route", "status"],
            )
            .unwrap(),
            http_request_seconds: HistogramVec::new(
                HistogramOpts::new(
                    "http_request_duration_seconds",
                    "HTTP request latency by route template",
                )
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ]),
                &["method", "route"],
            )
            .unwrap(),
            outcomes: IntCounterVec::new(
                Opts::new(
                    "faultline_outcomes_total",
                    "What became of received items, by data category and outcome (reasons are in stats_v2)",
                ),
                &["category", "outcome"],
            )
            .unwrap(),
            events_expired: IntCounter::new("faultline_events_expired_total", "Events deleted by retention").unwrap(),
            issues_expired: IntCounter::new(
                "faultline_issues_expired_total",
                "Issues deleted by retention once they had no event left",
            )
            .unwrap(),
            database_bytes: IntGauge::new(
                "faultline_database_bytes",
                "Size of the database (SQLite file pages, or the Postgres database), as of the last sweep",
            )
            .unwrap(),
            events_evicted: IntCounter::new(
                "faultline_events_evicted_total",
                "Events deleted by the storage budget (FAULTLINE_MAX_STORAGE)",
            )
            .unwrap(),
            storage_used_bytes: IntGauge::new(
                "faultline_storage_used_bytes",
                "Space the storage budget counts: SQLite's used pages; on Postgres the stored events (payloads plus a fixed overhead each) and the other tables",
            )
            .unwrap(),
            registry,
        };
        m.register_all();
        m
    }

    fn register_all(&self) {
        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(self.events_accepted.clone()),
            Box::new(self.events_stored.clone()),
            Box::new(self.events_duplicate.clone()),
            Box::new(self.transactions_rolled_up.clone()),
            Box::new(self.events_rejected.clone()),
            Box::new(self.items_dropped.clone()),
            Box::new(self.queue_depth.clone()),
            Box::new(self.batch_size.clone()),
            Box::new(self.ingest_seconds.clone()),
            Box::new(self.database_errors.clone()),
            Box::new(self.connections_open.clone()),
            Box::new(self.connections_refused.clone()),
            Box::new(self.connections_closed.clone()),
            Box::new(self.body_bytes_in_flight.clone()),
            Box::new(self.http_requests.clone()),
            Box::new(self.http_request_seconds.clone()),
            Box::new(self.outcomes.clone()),
            Box::new(self.events_expired.clone()),
            Box::new(self.issues_expired.clone()),
            Box::new(self.database_bytes.clone()),
            Box::new(self.events_evicted.clone()),
            Box::new(self.storage_used_bytes.clone()),
            // process_resident_memory_bytes, process_open_fds, process_cpu_seconds_total, … (Linux /proc).
            Box::new(prometheus::process_collector::ProcessCollector::for_self()),
        ];
        for collector in collectors {
            // Names are fixed and distinct, so registration cannot fail.
            let _ = self.registry.register(collector);
        }
    }

    /// The Prometheus text exposition of every series.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        String::from_utf8(buffer).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
