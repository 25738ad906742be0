//! The SDK-facing protocol over HTTP, on both databases: authentication, framing, encodings, limits,
//! CORS and deduplication (protocol §12 vectors 2–16 and 21).

use crate::common;
use faultline::domain::ProjectId;

use common::{envelope, exception_event, gzip, new_event_id, Backend, TestApp};
use faultline::store::{events, issues};
use serde_json::{json, Value};

async fn json_body(response: reqwest::Response) -> Value {
    response.json().await.expect("JSON body")
}

async fn envelope_is_stored_with_header_auth(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = new_event_id();
    let response = app.post_envelope(envelope(&id, &json!({"message": "boom"}))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(json_body(response).await, json!({ "id": id }));
    assert!(events::get_event(&app.db, app.project_id, &id).await.unwrap().is_some());
    assert_eq!(events::count_events(&app.db, app.project_id).await.unwrap(), 1);
    app.stop().await;
}

async fn query_auth_with_text_plain_and_no_trailing_slash(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = new_event_id();
    let url = app.url(&format!(
        "/api/{}/envelope?sentry_key={}&sentry_version=7",
        app.project_id, app.public_key
    ));
    let response = app
        .client
        .post(url)
        .header("content-type", "text/plain;charset=UTF-8")
        .body(envelope(&id, &json!({"message": "from a browser"})))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(json_body(response).await["id"], id);
    app.stop().await;
}

async fn envelope_dsn_header_authenticates_and_must_name_this_project(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // No request credentials: only the envelope header's `dsn` authenticates.
    let post_with_dsn = |event_id: String, project_id: ProjectId| {
        let dsn = format!("https://{}@errors.example.com/{project_id}", app.public_key);
        let body = format!(
            "{{\"event_id\":\"{event_id}\",\"dsn\":\"{dsn}\"}}\n{{\"type\":\"event\"}}\n{{\"message\":\"m\"}}\n"
        );
        app.client.post(app.url(&app.envelope_path())).body(body).send()
    };
    let response = post_with_dsn(new_event_id(), app.project_id).await.unwrap();
    assert_eq!(response.status(), 200);

    let other_id = new_event_id();
    let response = post_with_dsn(other_id.clone(), ProjectId(app.project_id.get() + 1))
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(events::get_event(&app.db, app.project_id, &other_id)
        .await
        .unwrap()
        .is_none());
    app.stop().await;
}

async fn missing_credentials_answer_401_with_cors_headers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app
        .client
        .post(app.url(&app.envelope_path()))
        .header("origin", "https://shop.example.com")
        .body(envelope(&new_event_id(), &json!({"message": "x"})))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert!(json_body(response).await["detail"].as_str().unwrap().len() > 3);
    app.stop().await;
}

async fn unknown_wrong_project_and_disabled_keys_answer_403(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = envelope(&new_event_id(), &json!({"message": "x"}));
    let post = |path: String, key: String| {
        let auth = format!("Sentry sentry_version=7, sentry_key={key}, sentry_client=test/1");
        app.client
            .post(app.url(&path))
            .header("x-sentry-auth", auth)
            .body(body.clone())
            .send()
    };
    let other_slug = faultline::domain::project::ProjectSlug::parse("other").unwrap();
    let other_dsn =
        faultline::core::projects::create_as_operator(&common::operator_core(&app.db), None, &other_slug, None, None)
            .await
            .unwrap();
    let other = faultline::domain::auth::Dsn::parse(&other_dsn.to_string()).unwrap();
    // The other project's key is disabled before any request, so no cache can hide it.
    faultline::store::projects::set_project_enabled(&app.db, ProjectId(other.project_id as i64), false)
        .await
        .unwrap();
    let other_path = format!("/api/{}/envelope/", other.project_id);
    let disabled = post(other_path, other.public_key.as_str().to_owned()).await.unwrap();
    assert_eq!(disabled.status(), 403);
    let unknown = post(app.envelope_path(), "f".repeat(32)).await.unwrap();
    assert_eq!(unknown.status(), 403);
    let wrong_project = post(app.envelope_path(), other.public_key.as_str().to_owned())
        .await
        .unwrap();
    assert_eq!(wrong_project.status(), 403);
    let foreign_path = post(format!("/api/{}/envelope/", other.project_id), app.public_key.clone())
        .await
        .unwrap();
    assert_eq!(foreign_path.status(), 403);
    let malformed_key = post(app.envelope_path(), "short".into()).await.unwrap();
    assert_eq!(malformed_key.status(), 400);
    assert_eq!(events::count_events(&app.db, app.project_id).await.unwrap(), 0);
    app.stop().await;
}

async fn conflicting_keys_answer_401_and_identical_keys_pass(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let with_query = |key: &str| {
        let url = app.url(&format!("{}?sentry_key={key}&sentry_version=7", app.envelope_path()));
        app.client
            .post(url)
            .header("x-sentry-auth", app.auth_header())
            .body(envelope(&new_event_id(), &json!({"message": "x"})))
            .send()
    };
    assert_eq!(with_query(&"e".repeat(32)).await.unwrap().status(), 401);
    assert_eq!(with_query(&app.public_key).await.unwrap().status(), 200);
    app.stop().await;
}

async fn preflight_needs_no_auth(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app
        .client
        .request(reqwest::Method::OPTIONS, app.url(&app.envelope_path()))
        .header("origin", "https://shop.example.com")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type,content-encoding")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert!(headers["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    let allowed = headers["access-control-allow-headers"].to_str().unwrap();
    assert!(allowed.contains("content-type") && allowed.contains("content-encoding"));
    let exposed = app
        .client
        .post(app.url(&app.envelope_path()))
        .header("origin", "https://shop.example.com")
        .header("x-sentry-auth", app.auth_header())
        .body(envelope(&new_event_id(), &json!({"message": "x"})))
        .send()
        .await
        .unwrap();
    let exposed = exposed.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(exposed.contains("retry-after") && exposed.contains("x-sentry-rate-limits"));
    app.stop().await;
}

async fn binary_attachment_and_event_in_one_envelope(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = new_event_id();
    let mut body = format!("{{\"event_id\":\"{id}\"}}\n{{\"type\":\"attachment\",\"length\":7}}\n").into_bytes();
    body.extend(b"a\nb\r\n\x00c\n");
    body.extend(b"{\"type\":\"event\",\"length\":18}\n{\"message\":\"boom\"}\n");
    let response = app.post_envelope(body).await;
    assert_eq!(response.status(), 200);
    assert!(events::get_event(&app.db, app.project_id, &id).await.unwrap().is_some());
    let stored = faultline::store::attachments::for_event(&app.db, app.project_id, &id)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1, "the attachment is stored with its event");
    let bytes = faultline::store::attachments::read_bytes(&app.db, &stored[0])
        .await
        .unwrap();
    assert_eq!(bytes, b"a\nb\r\n\x00c", "framed by its length, binary and all");
    app.stop().await;
}

async fn bad_framing_answers_400(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let too_long = b"{}\n{\"type\":\"event\",\"length\":500}\n{\"message\":\"boom\"}\n".to_vec();
    assert_eq!(app.post_envelope(too_long).await.status(), 400);
    let no_newline = b"{}\n{\"type\":\"event\",\"length\":18}\n{\"message\":\"boom\"}X".to_vec();
    assert_eq!(app.post_envelope(no_newline).await.status(), 400);
    let not_json = format!(
        "{{\"event_id\":\"{}\"}}\n{{\"type\":\"event\"}}\nnot json\n",
        new_event_id()
    );
    assert_eq!(app.post_envelope(not_json).await.status(), 400);
    app.stop().await;
}

async fn lenient_framing_is_accepted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = new_event_id();
    let no_trailing_newline = format!("{{\"event_id\":\"{id}\"}}\n{{\"type\":\"event\"}}\n{{\"message\":\"m\"}}");
    assert_eq!(app.post_envelope(no_trailing_newline).await.status(), 200);
    let only_header = app.post_envelope("{}").await;
    assert_eq!(only_header.status(), 200);
    assert_eq!(json_body(only_header).await, json!({}));
    let empty_attachment = app
        .post_envelope("{}\n{\"type\":\"attachment\",\"length\":0}\n\n")
        .await;
    assert_eq!(empty_attachment.status(), 200);
    app.stop().await;
}

async fn other_item_types_are_accepted_dropped_and_counted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = new_event_id();
    let mut body = format!("{{\"event_id\":\"{id}\"}}\n");
    for ty in [
        "session",
        "client_report",
        "profile",
        "replay_event",
        "check_in",
        "log",
        "frobnicate",
    ] {
        body.push_str(&format!("{{\"type\":\"{ty}\"}}\n{{}}\n"));
    }
    let response = app.post_envelope(body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(json_body(response).await, json!({ "id": id }));
    assert_eq!(events::count_events(&app.db, app.project_id).await.unwrap(), 0);
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("faultline_items_dropped_total{item_type=\"client_report\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("faultline_items_dropped_total{item_type=\"other\"} 1"));
    app.stop().await;
}

fn encoded(encoding: &str, data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    match encoding {
        "gzip" => gzip(data),
        "deflate" => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "deflate-raw" => {
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "br" => {
            let mut out = Vec::new();
            brotli::BrotliCompress(&mut &data[..], &mut out, &Default::default()).unwrap();
            out
        }
        "zstd" => zstd::encode_all(data, 3).unwrap(),
        _ => data.to_vec(),
    }
}

async fn every_content_encoding_is_decoded(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cases = [
        ("gzip", "gzip"),
        ("deflate", "deflate"),
        ("deflate-raw", "deflate"),
        ("br", "br"),
        ("zstd", "zstd"),
        ("identity", ""),
        ("identity", "UTF-8"),
    ];
    for (codec, header) in cases {
        let id = new_event_id();
        let body = encoded(codec, &envelope(&id, &json!({"message": format!("via {codec}")})));
        let response = app
            .client
            .post(app.url(&app.envelope_path()))
            .header("x-sentry-auth", app.auth_header())
            .header("content-encoding", header)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{codec} / {header:?}");
        assert!(events::get_event(&app.db, app.project_id, &id).await.unwrap().is_some());
    }
    let lzma = app
        .client
        .post(app.url(&app.envelope_path()))
        .header("x-sentry-auth", app.auth_header())
        .header("content-encoding", "lzma")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(lzma.status(), 415);
    app.stop().await;
}

async fn oversized_events_and_compression_bombs_answer_413(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.max_envelope_bytes = 8 * 1024 * 1024;
        c.max_body_bytes = 4 * 1024 * 1024;
    })
    .await;
    let over_body_cap = app.post_envelope(vec![b' '; 5 * 1024 * 1024]).await;
    assert_eq!(over_body_cap.status(), 413, "the compressed-size cap");
    let big = json!({"message": "x".repeat(2 * 1024 * 1024)});
    let response = app.post_envelope(envelope(&new_event_id(), &big)).await;
    assert_eq!(response.status(), 413);
    // 64 MiB of zeros gzip to about 64 KiB; the cap stops the inflation at 8 MiB.
    let bomb = gzip(&vec![0u8; 64 * 1024 * 1024]);
    assert!(bomb.len() < 200 * 1024);
    let response = app
        .client
        .post(app.url(&app.envelope_path()))
        .header("x-sentry-auth", app.auth_header())
        .header("content-encoding", "gzip")
        .body(bomb)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert!(json_body(response).await["detail"].is_string());
    app.stop().await;
}

async fn store_endpoint_accepts_json_nan_and_legacy_bodies(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let post = |body: Vec<u8>, client: &str| {
        app.client
            .post(app.url(&format!("/api/{}/store/", app.project_id)))
            .header(
                "x-sentry-auth",
                format!(
                    "Sentry sentry_version=7, sentry_key={}, sentry_client={client}",
                    app.public_key
                ),
            )
            .body(body)
            .send()
    };
    let response = post(br#"{"message":"no id"}"#.to_vec(), "raven/1").await.unwrap();
    assert_eq!(response.status(), 200);
    let id = json_body(response).await["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    assert!(events::get_event(&app.db, app.project_id, &id).await.unwrap().is_some());
    let nan = br#"{"message":"nan","extra":{"ratio":NaN}}"#.to_vec();
    assert_eq!(post(nan, "sentry.python/2.0").await.unwrap().status(), 200);
    use base64::Engine;
    let legacy = {
        use std::io::Write;
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(br#"{"message":"legacy raven"}"#).unwrap();
        base64::engine::general_purpose::STANDARD.encode(e.finish().unwrap())
    };
    assert_eq!(post(legacy.into_bytes(), "raven-python/5").await.unwrap().status(), 200);
    let transaction_id = new_event_id();
    let now = faultline::store::now_ms() as f64 / 1000.0;
    let transaction = serde_json::json!({"type": "transaction", "event_id": transaction_id, "transaction": "/a",
        "transaction_info": {"source": "route"}, "start_timestamp": now - 0.2, "timestamp": now});
    let response = post(transaction.to_string().into_bytes(), "raven/1").await.unwrap();
    assert_eq!(json_body(response).await["id"], transaction_id);
    assert_eq!(
        events::count_events(&app.db, app.project_id).await.unwrap(),
        3,
        "old transactions take the transactions' path, not the error grouper"
    );
    let rolled = faultline::core::performance::summaries(&app.db, app.project_id, 0, None)
        .await
        .unwrap();
    assert_eq!((rolled[0].name.as_str(), rolled[0].count), ("/a", 1));
    app.stop().await;
}

async fn resent_event_is_stored_and_counted_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = new_event_id();
    let body = envelope(&id, &exception_event("KeyError", "'sku'", "shop.cart", "add_item", 10));
    assert_eq!(app.post_envelope(body.clone()).await.status(), 200);
    let again = app.post_envelope(body).await;
    assert_eq!(again.status(), 200);
    assert_eq!(json_body(again).await["id"], id);
    assert_eq!(events::count_events(&app.db, app.project_id).await.unwrap(), 1);
    let listed = issues::list_issues(&app.db, app.project_id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].times_seen, 1);
    app.stop().await;
}

async fn full_queue_answers_429_with_rate_limit_headers(backend: Backend) {
    // A queue of one and a burst of concurrent posts: some must be refused, none lost once acknowledged.
    let app = TestApp::spawn_with(backend, |c| {
        c.queue_capacity = 1;
        c.batch_size = 1;
    })
    .await;
    let posts = (0..40).map(|_| {
        let id = new_event_id();
        let body = envelope(&id, &json!({"message": "burst"}));
        let request = app.post_envelope(body);
        async move { (id, request.await) }
    });
    let results = futures::future::join_all(posts).await;
    let mut acknowledged = Vec::new();
    let mut limited = 0;
    for (id, response) in results {
        match response.status().as_u16() {
            200 => acknowledged.push(id),
            429 => {
                limited += 1;
                let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
                assert!(retry_after >= 1);
                let limits = response.headers()["x-sentry-rate-limits"].to_str().unwrap();
                assert!(
                    limits.starts_with(&format!("{retry_after}:")) && limits.contains("error"),
                    "{limits}"
                );
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(limited > 0, "a queue of one must refuse part of a burst of 40");
    let stored = events::stored_event_ids(&app.db, app.project_id, &acknowledged)
        .await
        .unwrap();
    assert_eq!(stored.len(), acknowledged.len());
    app.stop().await;
}

on_both_databases!(
    envelope_is_stored_with_header_auth,
    query_auth_with_text_plain_and_no_trailing_slash,
    envelope_dsn_header_authenticates_and_must_name_this_project,
    missing_credentials_answer_401_with_cors_headers,
    unknown_wrong_project_and_disabled_keys_answer_403,
    conflicting_keys_answer_401_and_identical_keys_pass,
    preflight_needs_no_auth,
    binary_attachment_and_event_in_one_envelope,
    bad_framing_answers_400,
    lenient_framing_is_accepted,
    other_item_types_are_accepted_dropped_and_counted,
    every_content_encoding_is_decoded,
    oversized_events_and_compression_bombs_answer_413,
    store_endpoint_accepts_json_nan_and_legacy_bodies,
    resent_event_is_stored_and_counted_once,
    full_queue_answers_429_with_rate_limit_headers,
);
