//! Operational endpoints: liveness, readiness following the database, and the Prometheus metrics.

use crate::common;

use common::{envelope, new_event_id, Backend, TestApp};
use serde_json::json;

async fn health_readiness_and_metrics(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let get = |path: &str| app.client.get(app.url(path)).send();
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    assert_eq!(get("/readyz").await.unwrap().status(), 200);

    assert_eq!(
        app.post_envelope(envelope(&new_event_id(), &json!({"message": "ok"})))
            .await
            .status(),
        200
    );
    let unauthenticated = app
        .client
        .post(app.url(&app.envelope_path()))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);
    let metrics = get("/metrics").await.unwrap();
    assert!(metrics.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = metrics.text().await.unwrap();
    for line in [
        "faultline_events_accepted_total 1",
        "faultline_events_stored_total 1",
        "faultline_events_rejected_total{reason=\"auth\"} 1",
        "faultline_writer_queue_depth ",
        "faultline_writer_batch_size_count 1",
        "faultline_ingest_duration_seconds_count 2",
        "faultline_database_errors_total 0",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }

    // With the database gone, readiness fails while liveness holds.
    app.db.close().await;
    assert_eq!(get("/readyz").await.unwrap().status(), 503);
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    app.stop().await;
}

on_both_databases!(health_readiness_and_metrics);
