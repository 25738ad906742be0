//! Hostile and broken input over HTTP never crashes the server or earns a 5xx: truncated and
//! corrupted corpus envelopes, wrong types in every field, deep nesting, many items. Both databases.

mod common;

use common::{corpus_envelopes, corpus_for, envelope, new_event_id, Backend, TestApp};
use serde_json::json;

async fn assert_client_error_or_ok(app: &TestApp, body: Vec<u8>, what: &str) {
    let response = app.post_envelope(body).await;
    let status = response.status().as_u16();
    assert!(matches!(status, 200 | 400 | 413 | 415), "{what}: status {status}");
    if status != 200 {
        let body: serde_json::Value = response.json().await.expect("errors are JSON");
        assert!(body["detail"].is_string(), "{what}: {body}");
    }
}

async fn truncated_and_corrupted_envelopes_get_clear_answers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, original) = corpus_envelopes().remove(0);
    let original = corpus_for(&app, &original);
    for cut in (0..original.len()).step_by(397) {
        assert_client_error_or_ok(&app, original[..cut].to_vec(), &format!("prefix {cut}")).await;
    }
    for (n, position) in (0..original.len()).step_by(211).enumerate() {
        let mut corrupted = original.clone();
        corrupted[position] = [b'\n', b'{', b'"', 0xff, b'\\'][n % 5];
        assert_client_error_or_ok(&app, corrupted, &format!("byte {position}")).await;
    }
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), 200);
    app.stop().await;
}

async fn wrong_types_and_deep_nesting_are_stored_not_rejected(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut deep = json!("bottom");
    for _ in 0..100 {
        deep = json!({ "d": deep });
    }
    let hostile = json!({
        "timestamp": {"no": "time"}, "level": [1], "platform": 7, "release": "bad\nrelease", "environment": {},
        "tags": "not tags", "exception": "boom", "breadcrumbs": 3, "request": [1, 2], "user": "someone",
        "contexts": [], "extra": deep, "fingerprint": {"a": 1}, "logentry": 5, "threads": {"values": "x"},
        "message": {"formatted": ["x"]}, "modules": "m", "sdk": 1, "culprit": ["c"],
    });
    let response = app.post_envelope(envelope(&new_event_id(), &hostile)).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let many_items: String = std::iter::once(format!("{{\"event_id\":\"{}\"}}\n", new_event_id()))
        .chain((0..5_000).map(|i| format!("{{\"type\":\"t{i}\"}}\n{{}}\n")))
        .collect();
    assert_client_error_or_ok(&app, many_items.into_bytes(), "5,000 items").await;
    for garbage in [
        &b"\xff\xfe\x00"[..],
        b"[]",
        b"null\n{}",
        b"{}\n[]\n{}",
        b"{}\n{\"type\":\"event\"}\n[1,2,3]",
    ] {
        assert_client_error_or_ok(&app, garbage.to_vec(), &format!("{garbage:?}")).await;
    }
    app.stop().await;
}

on_both_databases!(
    truncated_and_corrupted_envelopes_get_clear_answers,
    wrong_types_and_deep_nesting_are_stored_not_rejected
);
