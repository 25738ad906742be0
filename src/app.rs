//! Builds the whole server from a `Config`, exactly as `main` and the tests use it: database and
//! migrations, the default project, the writer, the router with its layers, and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderName, StatusCode, Uri};
use axum::Router;
use tokio::net::TcpListener;
use tower::Layer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::connections::{self, ConnectionLimits};
use crate::core::limits::Limiter;
use crate::core::source_maps::SourceMaps;
use crate::core::transaction_bodies::BodySettings;
use crate::core::{projects, Core};
use crate::domain::performance::SamplingRules;
use crate::health::DbHealth;
use crate::ingest::performance_issues::{run_occurrence_flusher, OccurrenceBook};
use crate::ingest::transaction_writer::{spawn_transaction_writer, TransactionWriterSettings};
use crate::ingest::writer::{spawn_writer, WriterAlerts, WriterShared};
use crate::ingest::{Ingest, IngestSettings};
use crate::notify::{Notifier, NotifySettings};
use crate::request_body::BodyBudget;
use crate::store::Db;
use crate::telemetry::{record_request, request_span, LogResponse, Metrics};
use crate::worker::{
    run_change_feed, run_disk_watch, run_limit_sync, run_metric_alerts, run_monitor_clock, run_notifier,
    run_outcome_flusher, run_retention, run_wal_checkpoints, MetricAlertSettings, MonitorClockSettings,
    NotifierSettings, RetentionSettings,
};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a body waits for room in the memory budget before it is refused with 503.
const BODY_BUDGET_WAIT: Duration = Duration::from_secs(1);

/// A built server, bound to its address but not yet serving.
pub struct App {
    listener: TcpListener,
    router: Router,
    db: Db,
    writer_task: tokio::task::JoinHandle<()>,
    transaction_writer_task: tokio::task::JoinHandle<()>,
    occurrence_task: tokio::task::JoinHandle<()>,
    stop_occurrences: tokio::sync::oneshot::Sender<()>,
    notifier_task: tokio::task::JoinHandle<()>,
    outcome_task: tokio::task::JoinHandle<()>,
    limits_task: tokio::task::JoinHandle<()>,
    retention_task: tokio::task::JoinHandle<()>,
    metric_alerts_task: tokio::task::JoinHandle<()>,
    monitor_clock_task: tokio::task::JoinHandle<()>,
    /// SQLite: the disk watch and the checkpointer; Postgres: the feed of other processes' changes.
    backend_tasks: Vec<tokio::task::JoinHandle<()>>,
    stop_notifier: tokio::sync::watch::Sender<bool>,
    shutdown_timeout: Duration,
    metrics: Arc<Metrics>,
    limits: ConnectionLimits,
}

impl App {
    pub async fn build(config: &Config) -> anyhow::Result<App> {
        let db = Db::connect(&config.database_url, config.db_max_connections).await?;
        db.migrate().await?;
        projects::ensure_default_project(&db, &config.public_url).await?;
        let metrics = Arc::new(Metrics::new());
        let notifier = Notifier::new(NotifySettings::from_config(config));
        let mut core = Core::new(db.clone(), notifier.clone(), config.public_url.clone());
        core.limits = Limiter::new(db.clone(), config.spike_protection.0);
        core.source_maps = SourceMaps::new(db.clone(), config.source_map_cache);
        core.bodies = BodySettings {
            sampling: SamplingRules {
                sample_rate: config.transaction_sample_rate,
                slowest_per_hour: config.transaction_slowest_per_hour,
            },
            retention_days: config.transaction_retention_days,
        };
        let alerts = WriterAlerts {
            rules: core.rules.clone(),
            notifier: core.outbox_wake.clone(),
        };
        let health = Arc::new(DbHealth::new());
        let shared = WriterShared {
            metrics: metrics.clone(),
            alerts,
            health: health.clone(),
        };
        let (writer, writer_task) = spawn_writer(db.clone(), config.queue_capacity, config.batch_size, shared);
        let (transactions, transaction_writer_task) = spawn_transaction_writer(
            db.clone(),
            config.queue_capacity,
            TransactionWriterSettings {
                batch_size: config.batch_size,
                rules: core.bodies.sampling,
                rolled_up: metrics.transactions_rolled_up.clone(),
            },
        );
        let occurrences = OccurrenceBook::new(Duration::from_secs(config.performance_issue_window_secs));
        let (stop_occurrences, occurrences_stopped) = tokio::sync::oneshot::channel();
        // Owned by `App`: stopped through `stop_occurrences` once no request is left, before the writer drains.
        #[allow(clippy::disallowed_methods)]
        let occurrence_task = tokio::spawn(run_occurrence_flusher(
            occurrences.clone(),
            writer.clone(),
            occurrences_stopped,
        ));
        let (stop_notifier, stopped) = tokio::sync::watch::channel(false);
        // Owned by `App`: stopped through `stop_notifier` and awaited in `run`.
        #[allow(clippy::disallowed_methods)]
        let notifier_task = tokio::spawn(run_notifier(
            db.clone(),
            notifier,
            NotifierSettings::from_config(config),
            core.outbox_wake.clone(),
            stopped,
        ));
        // Owned by `App` like the notifier: stopped by the same signal, after the writer drained.
        #[allow(clippy::disallowed_methods)]
        let outcome_task = tokio::spawn(run_outcome_flusher(
            core.outcomes.clone(),
            db.clone(),
            stop_notifier.subscribe(),
        ));
        // Owned by `App` like the outcome flusher.
        #[allow(clippy::disallowed_methods)]
        let limits_task = tokio::spawn(run_limit_sync(core.limits.clone(), stop_notifier.subscribe()));
        let retention = RetentionSettings {
            default_days: config.retention_days,
            every: Duration::from_secs(config.retention_every_secs),
            max_storage: config.max_storage,
            holder: uuid::Uuid::new_v4().simple().to_string(),
        };
        let retention_holder = retention.holder.clone();
        let metric_alerts = MetricAlertSettings {
            every: Duration::from_millis(config.metric_alert_every_ms),
            holder: retention.holder.clone(),
        };
        // Owned by `App` like the notifier.
        #[allow(clippy::disallowed_methods)]
        let retention_task = tokio::spawn(run_retention(
            core.clone(),
            retention,
            metrics.clone(),
            stop_notifier.subscribe(),
        ));
        // Owned by `App` like the notifier.
        #[allow(clippy::disallowed_methods)]
        let metric_alerts_task = tokio::spawn(run_metric_alerts(
            core.clone(),
            metric_alerts,
            stop_notifier.subscribe(),
        ));
        let monitor_clock = MonitorClockSettings {
            every: Duration::from_millis(config.monitor_clock_every_ms),
            holder: retention_holder,
        };
        // Owned by `App` like the notifier.
        #[allow(clippy::disallowed_methods)]
        let monitor_clock_task = tokio::spawn(run_monitor_clock(
            core.monitor_book(),
            monitor_clock,
            stop_notifier.subscribe(),
        ));
        // SQLite only: a Postgres server's disk is not this machine's to measure; Postgres only: other
        // processes may share the database. Owned by `App`.
        #[allow(clippy::disallowed_methods)]
        let backend_tasks = match db.sqlite_folder() {
            Some(folder) => vec![
                tokio::spawn(run_disk_watch(
                    folder,
                    config.min_free_disk,
                    health.clone(),
                    stop_notifier.subscribe(),
                )),
                tokio::spawn(run_wal_checkpoints(db.clone(), stop_notifier.subscribe())),
            ],
            None => vec![tokio::spawn(run_change_feed(core.clone(), stop_notifier.subscribe()))],
        };
        let ingest = Arc::new(Ingest {
            db: db.clone(),
            outcomes: core.outcomes.clone(),
            limits: core.limits.clone(),
            keys: core.keys.clone(),
            monitors: core.monitor_book(),
            source_maps: core.source_maps.clone(),
            writer,
            transactions,
            occurrences,
            health: health.clone(),
            metrics: metrics.clone(),
            settings: IngestSettings::from_config(config),
            body_budget: BodyBudget::new(
                config.body_memory_bytes,
                BODY_BUDGET_WAIT,
                metrics.body_bytes_in_flight.clone(),
            ),
        });
        let api = crate::api::ApiState::new(core.clone());
        let web = crate::web::WebState::new(core, config.trust_proxy);
        let router = crate::ingest::router(ingest)
            .merge(crate::ops::router(db.clone(), metrics.clone(), health))
            .merge(crate::api::router(api))
            .merge(crate::web::router(web));
        let router = with_http_layers(router, metrics.clone());
        let listener = TcpListener::bind(config.bind).await?;
        let shutdown_timeout = Duration::from_secs(config.shutdown_timeout_secs);
        let limits = ConnectionLimits {
            max_connections: config.max_connections,
            header_read_timeout: Duration::from_secs(config.header_read_timeout_secs),
            idle_timeout: Duration::from_secs(config.idle_timeout_secs),
        }
        .fitted_to_descriptor_limit();
        Ok(App {
            listener,
            router,
            db,
            writer_task,
            transaction_writer_task,
            occurrence_task,
            stop_occurrences,
            notifier_task,
            outcome_task,
            limits_task,
            retention_task,
            metric_alerts_task,
            monitor_clock_task,
            backend_tasks,
            stop_notifier,
            shutdown_timeout,
            metrics,
            limits,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Serves until `shutdown` completes, then drains: in-flight requests finish, the writer commits
    /// everything queued, and the database closes.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let App {
            listener,
            router,
            db,
            writer_task,
            transaction_writer_task,
            occurrence_task,
            stop_occurrences,
            notifier_task,
            outcome_task,
            limits_task,
            retention_task,
            metric_alerts_task,
            monitor_clock_task,
            backend_tasks,
            stop_notifier,
            shutdown_timeout,
            metrics,
            limits,
        } = self;
        // Folding `//` happens before routing, so it wraps the router as a whole (§1: SDK prefixes differ).
        let service = tower::util::MapRequestLayer::new(fold_slashes as fn(Request) -> Request).layer(router);
        connections::serve(listener, service, limits, metrics, shutdown, shutdown_timeout).await;
        // No request is left: the performance issues' open windows are stored, and their flusher lets go of
        // its writer handle. The router (and with it every other handle) is gone, so the writer ends after
        // draining.
        let _ = stop_occurrences.send(());
        if tokio::time::timeout(shutdown_timeout, occurrence_task).await.is_err() {
            tracing::error!("the performance issues' open windows were not stored within the shutdown timeout");
        }
        match tokio::time::timeout(shutdown_timeout, writer_task).await {
            Ok(_) => tracing::info!("shutdown complete"),
            Err(_) => tracing::error!("writer did not drain within the shutdown timeout"),
        }
        if tokio::time::timeout(shutdown_timeout, transaction_writer_task)
            .await
            .is_err()
        {
            tracing::error!("the transaction writer did not drain within the shutdown timeout");
        }
        // Deliveries still pending stay in the outbox for the next start; one in flight is finished.
        let _ = stop_notifier.send(true);
        if tokio::time::timeout(shutdown_timeout, notifier_task).await.is_err() {
            tracing::error!("notifier did not stop within the shutdown timeout");
        }
        for task in backend_tasks {
            let _ = tokio::time::timeout(shutdown_timeout, task).await;
        }
        if tokio::time::timeout(shutdown_timeout, retention_task).await.is_err() {
            tracing::error!("the retention sweep did not stop within the shutdown timeout");
        }
        if tokio::time::timeout(shutdown_timeout, monitor_clock_task)
            .await
            .is_err()
        {
            tracing::warn!("the monitor clock did not stop in time");
        }
        if tokio::time::timeout(shutdown_timeout, metric_alerts_task)
            .await
            .is_err()
        {
            tracing::error!("the metric alert evaluator did not stop within the shutdown timeout");
        }
        if tokio::time::timeout(shutdown_timeout, limits_task).await.is_err() {
            tracing::error!("the rate-limit counts were not shared within the shutdown timeout");
        }
        if tokio::time::timeout(shutdown_timeout, outcome_task).await.is_err() {
            tracing::error!("the outcome counts were not written within the shutdown timeout");
        }
        db.close().await;
        Ok(())
    }
}

/// Request ids (honoured when sent, generated otherwise, echoed back) and one log line per request.
fn with_http_layers(router: Router, metrics: Arc<Metrics>) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let trace = TraceLayer::new_for_http()
        .make_span_with(request_span)
        .on_request(())
        .on_response(LogResponse);
    router
        .layer(axum::middleware::from_fn_with_state(metrics, record_request))
        // A panic is a bug, but the client still gets an answer and the server keeps serving.
        .layer(CatchPanicLayer::new())
        // Bounds slow clients; a request cut off here was never acknowledged.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(trace)
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

fn fold_slashes(mut request: Request) -> Request {
    let path = request.uri().path();
    if path.contains("//") {
        let mut folded = String::with_capacity(path.len());
        for c in path.chars() {
            if !(c == '/' && folded.ends_with('/')) {
                folded.push(c);
            }
        }
        if let Some(query) = request.uri().query() {
            folded = format!("{folded}?{query}");
        }
        if let Ok(uri) = folded.parse::<Uri>() {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown requested; draining");
}
