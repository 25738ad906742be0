//! What is stored for an event received over HTTP: scrubbed before storing (built-in and per-project keys,
//! card numbers), normalized (timestamps, tags, exception shapes, `{{auto}}` IPs). Both databases.

use crate::common;

use common::{envelope, new_event_id, Backend, TestApp};
use faultline::store::{events, projects};
use serde_json::{json, Value};

async fn stored(app: &TestApp, event: Value) -> Value {
    let id = new_event_id();
    let response = app.post_envelope(envelope(&id, &event)).await;
    assert_eq!(response.status(), 200);
    events::get_event(&app.db, app.project_id, &id)
        .await
        .unwrap()
        .expect("stored")
        .payload_json()
        .unwrap()
}

async fn secrets_are_scrubbed_before_storing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    projects::set_scrub_keys(&app.db, app.project_id, &["iban".to_owned()])
        .await
        .unwrap();
    let event = json!({
        "message": "payment failed for card 4111 1111 1111 1111",
        "request": {
            "url": "https://shop.example.com/pay",
            "method": "POST",
            "headers": {"Authorization": "Bearer abc.def", "Cookie": "sessionid=s3cr3t", "User-Agent": "Firefox"},
            "query_string": "api_key=k3y&page=2",
            "data": {"password": "hunter2", "amount": 10}
        },
        "extra": {"db_password": "pw", "iban": "DE89370400440532013000", "order": 17},
        "breadcrumbs": [{"message": "login", "data": {"token": "t0k"}}],
        "exception": {"values": [{"type": "ValueError", "value": "bad", "stacktrace": {"frames": [
            {"function": "pay", "module": "shop.pay", "vars": {"secret": "x", "amount": "10"}, "in_app": true}
        ]}}]}
    });
    let payload = stored(&app, event).await;
    let text = payload.to_string();
    for secret in [
        "4111 1111 1111 1111",
        "abc.def",
        "s3cr3t",
        "k3y",
        "hunter2",
        "DE89370400440532013000",
        "t0k",
    ] {
        assert!(!text.contains(secret), "{secret} was stored: {text}");
    }
    assert!(text.contains("[Filtered]"));
    assert!(
        text.contains("Firefox") && text.contains("\"order\":17"),
        "harmless values are kept"
    );
    app.stop().await;
}

async fn events_are_normalized_before_storing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let event = json!({
        "timestamp": "2024-01-01T00:00:00.5",
        "level": 40,
        "tags": [["foo bar", true], ["n", 42], ["release", "client-side"], ["environment", "prod"]],
        "exception": [{"type": "KeyError", "value": "'id'"}],
        "user": {"id": 17, "ip_address": "{{auto}}"}
    });
    let payload = stored(&app, event).await;
    assert_eq!(payload["level"], "error");
    assert_eq!(payload["environment"], "prod");
    assert_eq!(payload["exception"][0]["type"], "KeyError");
    assert_eq!(payload["user"]["id"], "17");
    assert_eq!(
        payload["user"]["ip_address"], "127.0.0.1",
        "{{auto}} becomes the client address"
    );
    let tags: Vec<(String, String)> = serde_json::from_value(payload["tags"].clone()).unwrap();
    assert!(tags.contains(&("foo-bar".into(), "True".into())));
    assert!(tags.contains(&("n".into(), "42".into())));
    assert!(
        !tags.iter().any(|(k, _)| k == "release"),
        "a client-sent release tag is dropped"
    );
    // 2024 is more than 30 days in the past: clamped to the receive time, and the change recorded.
    let received = payload["received"].as_f64().unwrap();
    assert_eq!(payload["timestamp"].as_f64().unwrap(), received);
    assert!(payload["errors"].to_string().contains("past_timestamp"));
    app.stop().await;
}

async fn auto_ip_trusts_forwarded_for_only_behind_a_trusted_proxy(backend: Backend) {
    for (trust_proxy, expected) in [(true, "203.0.113.9"), (false, "127.0.0.1")] {
        let app = TestApp::spawn_with(backend.clone(), |c| c.trust_proxy = trust_proxy).await;
        let id = new_event_id();
        let event = json!({"message": "ip", "user": {"ip_address": "{{auto}}"}});
        let response = app
            .client
            .post(app.url(&app.envelope_path()))
            .header("x-sentry-auth", app.auth_header())
            .header("x-forwarded-for", "203.0.113.9, 10.0.0.1")
            .body(envelope(&id, &event))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let stored = events::get_event(&app.db, app.project_id, &id).await.unwrap().unwrap();
        assert_eq!(
            stored.payload_json().unwrap()["user"]["ip_address"],
            expected,
            "trust_proxy={trust_proxy}"
        );
        app.stop().await;
    }
}

on_both_databases!(
    secrets_are_scrubbed_before_storing,
    events_are_normalized_before_storing,
    auto_ip_trusts_forwarded_for_only_behind_a_trusted_proxy
);
