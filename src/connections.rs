//! The listening socket and its connections: the accept loop, the cap on open connections, and the
//! timeouts that free sockets held by clients who send too slowly or not at all.
//!
//! `axum::serve` has no header-read timeout, no idle timeout and no connection cap, so a few thousand
//! idle or slowloris sockets used to exhaust the file descriptors and make the server unreachable.
//! Here every connection is served by hyper directly, with a watchdog beside it:
//!
//! - **Header read**: once the first byte of a request has arrived, its headers must be complete
//!   within `header_read_timeout`; a new connection must start its first request within it too.
//! - **Idle keep-alive**: a connection with no request in flight and no byte received for
//!   `idle_timeout` is closed.
//! - **Cap**: past `max_connections` open connections, a few more (the health reserve) are served in a
//!   restricted mode that answers `/healthz` and `/readyz` and refuses everything else with 503 and
//!   `Connection: close`; past that, new connections are closed as soon as they are accepted.

mod activity;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tower::{Service, ServiceExt};

use crate::telemetry::Metrics;
use activity::{Activity, TrackedIo, Verdict};

/// Connections served in restricted mode beyond the cap, so health checks still get through.
pub const HEALTH_RESERVE: usize = 32;
/// How long a connection over the cap has to send its health check.
const HEALTH_ONLY_HEADER_TIMEOUT: Duration = Duration::from_secs(1);
/// Descriptors kept free for the database, log files and the like when the cap is derived from the limit.
const SPARE_DESCRIPTORS: u64 = 128;

/// The connection limits and timeouts (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
}

impl ConnectionLimits {
    /// Raises the soft open-files limit to the hard one and lowers `wanted` so that the connections,
    /// their health reserve and some spare descriptors fit under it.
    pub fn fitted_to_descriptor_limit(mut self) -> ConnectionLimits {
        let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
        let room = limit.saturating_sub(SPARE_DESCRIPTORS + HEALTH_RESERVE as u64).max(16);
        let fitted = self.max_connections.min(usize::try_from(room).unwrap_or(usize::MAX));
        if fitted < self.max_connections {
            tracing::warn!(
                wanted = self.max_connections,
                open_files_limit = limit,
                max_connections = fitted,
                "the open-files limit caps the connections; raise `ulimit -n` to serve more"
            );
        }
        self.max_connections = fitted;
        self
    }
}

/// Counts open connections; the count decides whether a new one is served, restricted or refused.
struct OpenConnections {
    count: AtomicUsize,
    all_closed: Notify,
    metrics: Arc<Metrics>,
}

/// Held by each connection's task; dropping it closes the connection's slot.
struct Slot(Arc<OpenConnections>);

impl OpenConnections {
    fn open(self: &Arc<Self>) -> (Slot, usize) {
        let before = self.count.fetch_add(1, Ordering::AcqRel);
        self.metrics.connections_open.inc();
        (Slot(self.clone()), before)
    }

    async fn wait_until_all_closed(&self) {
        loop {
            let notified = self.all_closed.notified();
            if self.count.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.metrics.connections_open.dec();
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.all_closed.notify_waiters();
        }
    }
}

type ResponseFuture = std::pin::Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

/// How a connection is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admission {
    Full,
    /// Over the cap: health endpoints only, one request, then closed.
    HealthOnly,
    Refused,
}

fn admission(open_before: usize, limits: &ConnectionLimits) -> Admission {
    if open_before < limits.max_connections {
        Admission::Full
    } else if open_before < limits.max_connections + HEALTH_RESERVE {
        Admission::HealthOnly
    } else {
        Admission::Refused
    }
}

/// Serves `service` on `listener` until `shutdown` resolves, then lets open requests finish (up to
/// `drain_timeout`) and returns.
pub async fn serve<S>(
    listener: TcpListener,
    service: S,
    limits: ConnectionLimits,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain_timeout: Duration,
) where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let open = Arc::new(OpenConnections {
        count: AtomicUsize::new(0),
        all_closed: Notify::new(),
        metrics: metrics.clone(),
    });
    let (stop, stopped) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors or a transient network error: back off a little instead of spinning.
                    metrics.connections_refused.with_label_values(&["accept_error"]).inc();
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let (slot, open_before) = open.open();
        let mode = admission(open_before, &limits);
        if mode == Admission::Refused {
            metrics.connections_refused.with_label_values(&["over_limit"]).inc();
            drop(stream);
            continue;
        }
        if mode == Admission::HealthOnly {
            metrics.connections_refused.with_label_values(&["health_only"]).inc();
        }
        let connection = Connection {
            peer,
            limits,
            mode,
            metrics: metrics.clone(),
        };
        // Each connection holds a `Slot`; shutdown signals `stop` and waits until every slot is gone.
        #[allow(clippy::disallowed_methods)]
        tokio::spawn(connection.run(stream, service.clone(), stopped.clone(), slot));
    }
    drop(listener);
    let _ = stop.send(true);
    if tokio::time::timeout(drain_timeout, open.wait_until_all_closed())
        .await
        .is_err()
    {
        tracing::warn!("open connections did not finish within the shutdown timeout");
    }
}

struct Connection {
    peer: SocketAddr,
    limits: ConnectionLimits,
    mode: Admission,
    metrics: Arc<Metrics>,
}

impl Connection {
    async fn run<S>(self, stream: TcpStream, service: S, mut stopped: watch::Receiver<bool>, _slot: Slot)
    where
        S: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone + Send + 'static,
        S::Future: Send + 'static,
    {
        let _ = stream.set_nodelay(true);
        let limits = self.mode_limits();
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(TrackedIo::new(stream, activity.clone()));
        let handler = self.handler(service, activity.clone());
        let builder = self.builder();
        let connection = builder.serve_connection(io, hyper::service::service_fn(handler));
        tokio::pin!(connection);
        let mut draining = false;
        loop {
            let check_at = activity.next_check(&limits);
            tokio::select! {
                _ = connection.as_mut() => return,
                // A request began to arrive: its header deadline may come before the idle one.
                () = activity.changed.notified() => {}
                changed = stopped.changed(), if !draining => {
                    draining = true;
                    if changed.is_ok() {
                        connection.as_mut().graceful_shutdown();
                    }
                }
                () = tokio::time::sleep_until(check_at.into()) => {
                    if let Verdict::Close(reason) = activity.verdict(&limits) {
                        self.metrics.connections_closed.with_label_values(&[reason]).inc();
                        return;
                    }
                }
            }
        }
    }

    /// A connection admitted only for a health check must send it at once: silent sockets must not keep
    /// the reserve full.
    fn mode_limits(&self) -> ConnectionLimits {
        match self.mode {
            Admission::HealthOnly => ConnectionLimits {
                header_read_timeout: self.limits.header_read_timeout.min(HEALTH_ONLY_HEADER_TIMEOUT),
                ..self.limits
            },
            Admission::Full | Admission::Refused => self.limits,
        }
    }

    fn builder(&self) -> Builder<TokioExecutor> {
        let mut builder = Builder::new(TokioExecutor::new());
        // Our watchdog enforces the header-read and idle timeouts; hyper's own needs a timer it shares.
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(None)
            .keep_alive(self.mode == Admission::Full);
        builder.http2().timer(TokioTimer::new()).max_concurrent_streams(64);
        builder
    }

    /// Each request: the peer address for the handlers, counted as in flight while it is handled.
    fn handler<S>(&self, service: S, activity: Arc<Activity>) -> impl Fn(Request<Incoming>) -> ResponseFuture + Clone
    where
        S: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone + Send + 'static,
        S::Future: Send + 'static,
    {
        let peer = self.peer;
        let restricted = self.mode == Admission::HealthOnly;
        move |request: Request<Incoming>| {
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            let service = service.clone();
            let activity = activity.clone();
            Box::pin(async move {
                if restricted && !is_health_check(request.uri().path()) {
                    return Ok(over_capacity());
                }
                let _in_flight = activity.request_started();
                service.oneshot(request).await
            })
        }
    }
}

fn is_health_check(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz")
}

/// The answer on a connection admitted only for health checks.
fn over_capacity() -> Response<Body> {
    let body = r#"{"detail":"the server has too many open connections, retry later"}"#;
    Response::builder()
        .status(StatusCode::SERVICE_UNAVAILABLE)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONNECTION, "close")
        .header(header::RETRY_AFTER, "1")
        .body(Body::from(body))
        .expect("a static response is valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_past_the_cap_get_the_health_reserve_then_are_refused() {
        let limits = ConnectionLimits {
            max_connections: 10,
            header_read_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(1),
        };
        assert_eq!(admission(9, &limits), Admission::Full);
        assert_eq!(admission(10, &limits), Admission::HealthOnly);
        assert_eq!(admission(10 + HEALTH_RESERVE - 1, &limits), Admission::HealthOnly);
        assert_eq!(admission(10 + HEALTH_RESERVE, &limits), Admission::Refused);
    }
}
