//! A client key's rate limit, as Sentry's key settings set it (`rateLimit: {window, count}`): events beyond
//! it get 429 with `Retry-After` and a key-scoped `X-Sentry-Rate-Limits`, are counted as rate limited, and
//! an envelope of client reports alone still gets through. Both databases.

use crate::common;

use common::api::{error_detail, json_body};
use common::{envelope, new_event_id, Backend, TestApp};
use reqwest::Method;
use serde_json::json;

const KEYS: &str = "/api/0/projects/default/default/keys/";

async fn events_beyond_a_keys_limit_get_429_with_a_key_scoped_header(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let limit = json!({"rateLimit": {"window": 3600, "count": 2}});
    let key = json_body(
        app.api(&token, Method::PUT, &format!("{KEYS}{}/", app.public_key), Some(limit))
            .await,
        200,
    );
    assert_eq!(key["rateLimit"], json!({"window": 3600, "count": 2}), "{key}");
    let mut statuses = Vec::new();
    let mut refused = None;
    for _ in 0..4 {
        let response = app
            .post_envelope(envelope(&new_event_id(), &json!({"message": "hi"})))
            .await;
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            refused = Some(response);
        }
    }
    assert_eq!(statuses, vec![200, 200, 429, 429]);
    let refused = refused.unwrap();
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    let limits = refused.headers()["x-sentry-rate-limits"].to_str().unwrap().to_owned();
    assert!(
        limits.ends_with(":key:key_quota") && limits.contains("error"),
        "{limits}"
    );
    let report = format!(
        "{{\"event_id\":\"{}\"}}\n{{\"type\":\"client_report\"}}\n{}\n",
        new_event_id(),
        r#"{"discarded_events":[{"reason":"ratelimit_backoff","category":"error","quantity":2}]}"#
    );
    assert_eq!(
        app.post_envelope(report).await.status(),
        200,
        "client reports are never limited"
    );
    let cleared = json!({"rateLimit": null});
    let key = json_body(
        app.api(
            &token,
            Method::PUT,
            &format!("{KEYS}{}/", app.public_key),
            Some(cleared),
        )
        .await,
        200,
    );
    assert_eq!(key["rateLimit"], json!(null));
    let again = app
        .post_envelope(envelope(&new_event_id(), &json!({"message": "hi"})))
        .await;
    assert_eq!(again.status(), 200, "a removed limit applies to the next event");
    app.stop().await;
}

async fn a_limit_outside_sentrys_ranges_is_a_400_with_a_sentence(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let path = format!("{KEYS}{}/", app.public_key);
    for (limit, words) in [
        (
            json!({"window": 60, "count": -1}),
            "rateLimit.count must be from 1 to 1000000, not -1",
        ),
        (
            json!({"window": 60, "count": 1_000_000_000_000_i64}),
            "not 1000000000000",
        ),
        (
            json!({"window": 5, "count": 10}),
            "rateLimit.window must be from 60 to 86400 seconds",
        ),
        (json!({"count": 10}), "rateLimit.window must be a whole number"),
    ] {
        let body = json!({"rateLimit": limit});
        let detail = error_detail(app.api(&token, Method::PUT, &path, Some(body)).await, 400);
        assert!(detail.contains(words), "{detail}");
    }
    let key = json_body(app.get_json(&token, &path).await, 200);
    assert_eq!(key["rateLimit"], json!(null), "nothing stored half-way");
    app.stop().await;
}

on_both_databases!(
    events_beyond_a_keys_limit_get_429_with_a_key_scoped_header,
    a_limit_outside_sentrys_ranges_is_a_400_with_a_sentence,
);
