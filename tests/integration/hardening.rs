//! The public endpoint against hostile and unlucky clients: credentials checked before the body,
//! bounded work per request, one memory budget for bodies in flight, back-pressure before any work,
//! and the connection timeouts and cap. Raw sockets play the clients that no HTTP library would be.

use crate::common;

use std::time::{Duration, Instant};

use common::{Backend, TestApp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the response head is complete; panics when nothing complete arrives within `within`.
async fn response_head(stream: &mut TcpStream, within: Duration) -> String {
    let mut received = Vec::new();
    let deadline = Instant::now() + within;
    while !received.windows(4).any(|w| w == b"\r\n\r\n") {
        let mut chunk = [0u8; 4096];
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => panic!("connection closed before a response: {received:?}"),
            Ok(Ok(n)) => received.extend_from_slice(&chunk[..n]),
            Err(_) => panic!("no response within {within:?}"),
        }
    }
    String::from_utf8_lossy(&received).into_owned()
}

async fn metrics_text(app: &TestApp) -> String {
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    response.text().await.unwrap()
}

/// Whether the server closes the connection within `within` (reads reach EOF or fail).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        let mut chunk = [0u8; 4096];
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// The request line and headers of an envelope post that announces `length` body bytes.
fn envelope_head(app: &TestApp, auth: Option<&str>, length: usize, extra: &str) -> String {
    let auth = auth
        .map(|value| format!("X-Sentry-Auth: {value}\r\n"))
        .unwrap_or_default();
    format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\n{auth}Content-Type: application/x-sentry-envelope\r\nContent-Length: {length}\r\n{extra}\r\n",
        app.envelope_path(),
        app.addr
    )
}

on_both_databases!(
    credentials_are_checked_before_the_body_is_read,
    an_envelope_without_a_key_is_refused_after_its_first_line,
    an_envelope_of_millions_of_items_is_refused_without_reading_them,
    bodies_in_flight_share_one_memory_budget,
    a_full_queue_answers_429_before_the_body_is_read,
);

async fn credentials_are_checked_before_the_body_is_read(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let wrong_key = "Sentry sentry_version=7, sentry_key=00000000000000000000000000000000";
    // 19 MiB announced, 1 KiB sent, the rest never comes: the answer must not wait for it.
    let head = envelope_head(&app, Some(wrong_key), 19 << 20, "");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&[b'x'; 1024]).await.unwrap();
    let response = response_head(&mut stream, Duration::from_secs(3)).await;
    assert!(response.starts_with("HTTP/1.1 403"), "{response}");
    app.stop().await;
}

async fn an_envelope_without_a_key_is_refused_after_its_first_line(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // A bomb: a first line without a dsn, then millions of one-line items, gzipped.
    let mut plain = b"{}\n".to_vec();
    for _ in 0..500_000 {
        plain.extend_from_slice(b"{\"type\":\"x\"}\n");
    }
    let compressed = common::gzip(&plain);
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let head = envelope_head(&app, None, compressed.len(), "Content-Encoding: gzip\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    // Only the first 2 KiB of the compressed body: enough to decode the header line.
    stream.write_all(&compressed[..2048]).await.unwrap();
    let response = response_head(&mut stream, Duration::from_secs(3)).await;
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    app.stop().await;
}

async fn an_envelope_of_millions_of_items_is_refused_without_reading_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut plain = b"{}\n".to_vec();
    for _ in 0..2_000_000 {
        plain.extend_from_slice(b"{\"type\":\"x\"}\n");
    }
    let response = app
        .client
        .post(app.url(&app.envelope_path()))
        .header("x-sentry-auth", app.auth_header())
        .header("content-encoding", "gzip")
        .body(common::gzip(&plain))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let detail = response.json::<serde_json::Value>().await.unwrap()["detail"].to_string();
    assert!(detail.contains("more than 1000 items"), "{detail}");
    app.stop().await;
}

async fn bodies_in_flight_share_one_memory_budget(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| config.body_memory_bytes = 100_000).await;
    // One slow client holds 80 KB of the 100 KB budget with a body it does not finish.
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    let head = envelope_head(&app, Some(&app.auth_header()), 90_000, "");
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(&[b' '; 80_000]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let metrics = metrics_text(&app).await;
    assert!(
        metrics.contains("faultline_request_body_bytes_in_flight 80000"),
        "{metrics}"
    );
    // A 30 KB envelope does not fit: it waits a moment, then is told to come back.
    let event = serde_json::json!({"message": "x".repeat(30_000)});
    let body = common::envelope(&common::new_event_id(), &event);
    let refused = app.post_envelope(body.clone()).await;
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    // Once the slow body is done (and refused as the blank envelope it is), there is room again.
    slow.write_all(&[b' '; 10_000]).await.unwrap();
    let response = response_head(&mut slow, Duration::from_secs(3)).await;
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert_eq!(app.post_envelope(body).await.status(), 200);
    app.stop().await;
}

async fn a_full_queue_answers_429_before_the_body_is_read(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.queue_capacity = 1;
        config.batch_size = 1;
    })
    .await;
    // Another connection holds the write lock, so the writer stalls on its first batch.
    let lock = common::WriteLock::take(app.database_url()).await;
    let first = tokio::spawn(post_one(
        app.client.clone(),
        app.url(&app.envelope_path()),
        app.auth_header(),
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = tokio::spawn(post_one(
        app.client.clone(),
        app.url(&app.envelope_path()),
        app.auth_header(),
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The writer holds the first event and the queue holds the second: a third is refused at once,
    // although its body never arrives.
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let head = envelope_head(&app, Some(&app.auth_header()), 10_000, "");
    stream.write_all(head.as_bytes()).await.unwrap();
    let response = response_head(&mut stream, Duration::from_secs(2)).await;
    assert!(response.starts_with("HTTP/1.1 429"), "{response}");
    assert!(response.to_ascii_lowercase().contains("retry-after:"), "{response}");
    lock.release().await;
    assert_eq!(first.await.unwrap(), 200);
    assert_eq!(second.await.unwrap(), 200);
    app.stop().await;
}

async fn post_one(client: reqwest::Client, url: String, auth: String) -> u16 {
    let event = serde_json::json!({"message": "queued"});
    let body = common::envelope(&common::new_event_id(), &event);
    let response = client
        .post(url)
        .header("x-sentry-auth", auth)
        .body(body)
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

/// A server with short timeouts and a small connection cap; these tests never touch the database.
async fn spawn_tight() -> TestApp {
    TestApp::spawn_with(Backend::Sqlite, |config| {
        config.header_read_timeout_secs = 1;
        config.idle_timeout_secs = 3;
        config.body_read_timeout_secs = 1;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_closed_after_the_header_timeout() {
    let app = spawn_tight().await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    assert!(!closed_within(&mut stream, Duration::from_millis(700)).await);
    assert!(closed_within(&mut stream, Duration::from_secs(2)).await);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowloris_header_is_cut_off() {
    let app = spawn_tight().await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let started = Instant::now();
    // One header byte every 100 ms keeps the socket busy but never finishes the headers.
    let mut closed = false;
    while started.elapsed() < Duration::from_secs(4) {
        if stream.write_all(b"X").await.is_err() || closed_within(&mut stream, Duration::from_millis(100)).await {
            closed = true;
            break;
        }
    }
    assert!(closed, "the trickling client was still connected after 4 s");
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "{:?}",
        started.elapsed()
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_lasts_the_idle_timeout_then_is_closed() {
    let app = spawn_tight().await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    stream.write_all(request).await.unwrap();
    assert!(response_head(&mut stream, Duration::from_secs(2))
        .await
        .starts_with("HTTP/1.1 200"));
    // Idle past the header timeout but within the idle one: still open for the next request.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stream.write_all(request).await.unwrap();
    assert!(response_head(&mut stream, Duration::from_secs(2))
        .await
        .starts_with("HTTP/1.1 200"));
    assert!(!closed_within(&mut stream, Duration::from_secs(2)).await);
    assert!(closed_within(&mut stream, Duration::from_secs(3)).await);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stops_arriving_is_answered_408() {
    let app = spawn_tight().await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let head = envelope_head(&app, Some(&app.auth_header()), 1000, "");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(b"{}\n").await.unwrap();
    let response = response_head(&mut stream, Duration::from_secs(4)).await;
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_only_health_checks_are_answered_then_connections_are_refused() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| config.max_connections = 4).await;
    let mut established = Vec::new();
    for _ in 0..4 {
        established.push(TcpStream::connect(app.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Over the cap: health checks still answer, everything else is 503 and the connection closes.
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let refused = app.post_envelope(b"{}\n".to_vec()).await;
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["connection"], "close");
    // A silent connection over the cap loses its place within a second (the header timeout is 10 s),
    // so idle sockets cannot keep the health checks' reserve full.
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    assert!(closed_within(&mut silent, Duration::from_secs(2)).await);
    // Established connections keep working.
    let first = &mut established[0];
    first
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(response_head(first, Duration::from_secs(2))
        .await
        .starts_with("HTTP/1.1 200"));
    // Fill the health reserve too: the next connection is closed as soon as it is accepted.
    for _ in 0..faultline::connections::HEALTH_RESERVE {
        established.push(TcpStream::connect(app.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut over = TcpStream::connect(app.addr).await.unwrap();
    assert!(closed_within(&mut over, Duration::from_secs(1)).await);
    drop(established);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let metrics = metrics_text(&app).await;
    assert!(
        metrics.contains("faultline_connections_refused_total{reason=\"over_limit\"} 1"),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_requests_by_route_connections_and_the_process() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let event = serde_json::json!({"message": "counted"});
    assert_eq!(
        app.post_envelope(common::envelope(&common::new_event_id(), &event))
            .await
            .status(),
        200
    );
    let metrics = metrics_text(&app).await;
    for expected in [
        "http_requests_total{method=\"POST\",route=\"/api/{project_id}/envelope/\",status=\"200\"} 1",
        "http_request_duration_seconds_bucket{method=\"POST\",route=\"/api/{project_id}/envelope/\"",
        "faultline_connections_open ",
        "faultline_request_body_bytes_in_flight 0",
        "process_resident_memory_bytes ",
        "process_open_fds ",
        "process_cpu_seconds_total ",
    ] {
        assert!(metrics.contains(expected), "missing {expected}:\n{metrics}");
    }
    app.stop().await;
}
