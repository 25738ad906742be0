//! Hostile and broken input over HTTP never crashes the server or earns a 5xx: truncated and
//! corrupted corpus envelopes, wrong types in every field, deep nesting, many items; lone surrogate
//! escapes and out-of-range numbers are repaired, stored and shown. Both databases.

use crate::common;

use common::api::Token;
use common::{corpus_envelopes, corpus_for, envelope, new_event_id, Backend, TestApp};
use faultline::domain::accounts::Role;
use serde_json::{json, Value};

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

/// An event envelope around payload text as written, which `serde_json` would never produce.
fn raw_envelope(event_id: &str, payload: &str) -> Vec<u8> {
    let header = format!(
        "{{\"event_id\":\"{event_id}\"}}\n{{\"type\":\"event\",\"length\":{}}}\n",
        payload.len()
    );
    format!("{header}{payload}\n").into_bytes()
}

/// Posts the payload, expects it stored under its id, and reads it back through the API.
async fn accepted_and_read_back(app: &TestApp, token: &Token, payload: &str) -> Value {
    let id = new_event_id();
    let response = app.post_envelope(raw_envelope(&id, payload)).await;
    assert_eq!(response.status(), 200, "{payload}");
    assert_eq!(response.json::<Value>().await.unwrap()["id"], id.as_str());
    let path = format!("/api/0/projects/default/default/events/{id}/");
    app.get_json(token, &path).await.expect(200)
}

/// The event's processing note about the repair at `name`.
fn repair_note<'a>(detail: &'a Value, name: &str) -> &'a Value {
    let errors = detail["errors"].as_array().expect("an errors list");
    let note = errors.iter().find(|note| note["data"]["name"] == name);
    let note = note.unwrap_or_else(|| panic!("a note at {name} in {errors:?}"));
    assert_eq!(note["type"], "invalid_data");
    note
}

async fn lone_surrogates_and_huge_numbers_are_repaired_not_rejected(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    // `JSON.stringify("error 😀😀".slice(0, 7))` in a browser.
    let sliced = accepted_and_read_back(&app, &token, r#"{"message":"error \ud83d"}"#).await;
    assert_eq!(sliced["message"], "error \u{fffd}");
    assert_eq!(repair_note(&sliced, "message")["data"]["value"], r"\ud83d");
    let paired = accepted_and_read_back(&app, &token, r#"{"message":"error \ud83d\ude00"}"#).await;
    assert_eq!(paired["message"], "error 😀");
    assert_eq!(paired["errors"], json!([]));

    let big = accepted_and_read_back(
        &app,
        &token,
        r#"{"message":"big","extra":{"big":1e400,"small":-1e400}}"#,
    )
    .await;
    assert_eq!(big["context"], json!({"big": "1e400", "small": "-1e400"}));
    assert_eq!(repair_note(&big, "extra.big")["data"]["value"], "1e400");
    assert!(repair_note(&big, "extra.small")["data"]["reason"].is_string());

    // Python's surrogateescape for a Latin-1 byte in a file name.
    let frame = r#"{"function":"load","filename":"caf.py","abs_path":"/srv/caf\udce9.py","lineno":3,"in_app":true}"#;
    let python = format!(
        r#"{{"platform":"python","exception":{{"values":[{{"type":"OSError","value":"x","stacktrace":{{"frames":[{frame}]}}}}]}}}}"#
    );
    let detail = accepted_and_read_back(&app, &token, &python).await;
    let exception = detail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "exception");
    let frames = &exception.expect("an exception entry")["data"]["values"][0]["stacktrace"]["frames"];
    assert_eq!(frames[0]["absPath"], "/srv/caf\u{fffd}.py");
    repair_note(&detail, "exception.values.0.stacktrace.frames.0.abs_path");

    // The store endpoint reads payloads the same way.
    let response = app
        .client
        .post(app.url(&format!("/api/{}/store/", app.project_id)))
        .header("x-sentry-auth", app.auth_header())
        .body(r#"{"message":"stored \udc00\ud800"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/0/projects/default/default/events/{id}/");
    let stored = app.get_json(&token, &path).await.expect(200);
    assert_eq!(stored["message"], "stored \u{fffd}\u{fffd}");

    let browser = app.signed_in("dev@example.com", None, Role::Member).await;
    let issue_page = format!("/organizations/default/issues/{}/", sliced["groupID"].as_str().unwrap());
    assert!(browser
        .get(&issue_page)
        .await
        .expect(200)
        .body
        .contains("error \u{fffd}"));
    let raw = format!(
        "/organizations/default/issues/{}/events/{}/json",
        big["groupID"].as_str().unwrap(),
        big["id"].as_str().unwrap()
    );
    let stored: Value = serde_json::from_str(&browser.get(&raw).await.expect(200).body).unwrap();
    assert_eq!(stored["extra"]["big"], "1e400");
    assert_eq!(stored["errors"][0]["name"], "extra.big");
    app.stop().await;
}

async fn broken_json_around_a_repairable_token_is_still_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for payload in [
        r#"{"message":"error \ud83d""#,
        r#"{"message":"error \ud83d",}"#,
        r#"{"extra":{"big":1e400}"#,
        r#"{"extra":{"big":1.e400}}"#,
        r#"{"message":"error \ud8"}"#,
    ] {
        let response = app.post_envelope(raw_envelope(&new_event_id(), payload)).await;
        assert_eq!(response.status(), 400, "{payload}");
        let body: Value = response.json().await.unwrap();
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(detail.starts_with("invalid event: "), "{payload}: {body}");
    }
    // Envelope and item headers are not repaired: a broken one makes a malformed envelope.
    for headers in [
        r#"{"event_id":"x","dsn":"\ud83d"}"#.to_owned() + "\n{\"type\":\"event\"}",
        format!(
            "{{\"event_id\":\"{}\"}}\n{{\"type\":\"event\",\"length\":1e400}}",
            new_event_id()
        ),
    ] {
        let response = app.post_envelope(format!("{headers}\n{{}}\n")).await;
        assert_eq!(response.status(), 400, "{headers}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or_default()
                .starts_with("malformed envelope"),
            "{body}"
        );
    }
    app.stop().await;
}

on_both_databases!(
    truncated_and_corrupted_envelopes_get_clear_answers,
    wrong_types_and_deep_nesting_are_stored_not_rejected,
    lone_surrogates_and_huge_numbers_are_repaired_not_rejected,
    broken_json_around_a_repairable_token_is_still_refused,
);
