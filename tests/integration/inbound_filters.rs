//! Inbound filters end to end: switched on through Sentry's project API, a matching event is answered
//! 200, not stored, and counted as filtered with the filter's id; a bad pattern is a 400 with a sentence.
//! Both databases.

use crate::common;

use std::time::{Duration, Instant};

use common::api::{error_detail, json_body};
use common::{envelope, new_event_id, Backend, TestApp};
use faultline::store::events;
use reqwest::Method;
use serde_json::json;

const PROJECT: &str = "/api/0/projects/default/default/";

async fn matching_events_are_answered_but_not_stored_and_counted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let listed = json_body(app.get_json(&token, &format!("{PROJECT}filters/")).await, 200);
    assert_eq!(listed[1], json!({"id": "localhost", "active": false}), "{listed}");
    let on = app
        .api(
            &token,
            Method::PUT,
            &format!("{PROJECT}filters/localhost/"),
            Some(json!({"active": true})),
        )
        .await;
    assert_eq!(on.status, 204);
    let patterns = json!({"options": {"filters:error_messages": "*ResizeObserver loop*\nChunkLoadError:*"}});
    json_body(app.api(&token, Method::PUT, PROJECT, Some(patterns)).await, 200);

    let local = new_event_id();
    let from_localhost = json!({"message": "dev box", "request": {"url": "http://localhost:3000/cart"}});
    let resize = new_event_id();
    let noise = json!({"exception": {"values": [{"type": "Error", "value": "ResizeObserver loop limit exceeded"}]}});
    let kept = new_event_id();
    for (id, event) in [
        (&local, from_localhost),
        (&resize, noise),
        (&kept, json!({"message": "real"})),
    ] {
        let response = app.post_envelope(envelope(id, &event)).await;
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["id"], json!(id), "the SDK gets its id back either way");
    }
    let stored = events::stored_event_ids(&app.db, app.project_id, &[local.clone(), resize.clone(), kept.clone()])
        .await
        .unwrap();
    assert_eq!(stored, vec![kept], "only the unfiltered event is stored");

    let query = "/api/0/organizations/default/stats_v2/?field=sum(quantity)&groupBy=reason&outcome=filtered";
    let deadline = Instant::now() + Duration::from_secs(10);
    let stats = loop {
        let stats = json_body(app.get_json(&token, query).await, 200);
        if stats["groups"].as_array().unwrap().len() >= 2 || Instant::now() > deadline {
            break stats;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let reasons: Vec<&str> = stats["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["by"]["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.contains(&"localhost") && reasons.contains(&"error-message"),
        "{stats}"
    );
    app.stop().await;
}

async fn bad_filter_settings_are_refused_with_a_sentence(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let bad = json!({"options": {"filters:releases": "[unclosed"}});
    let detail = error_detail(app.api(&token, Method::PUT, PROJECT, Some(bad)).await, 400);
    assert!(
        detail.contains("filters:releases: the pattern \"[unclosed\" is not valid"),
        "{detail}"
    );
    let unknown = json!({"options": {"sentry:scrub_data": true}});
    let detail = error_detail(app.api(&token, Method::PUT, PROJECT, Some(unknown)).await, 400);
    assert!(detail.contains("unknown option"), "{detail}");
    let missing = app
        .api(
            &token,
            Method::PUT,
            &format!("{PROJECT}filters/moon-phase/"),
            Some(json!({"active": true})),
        )
        .await;
    assert_eq!(missing.status, 404);
    let listed = json_body(app.get_json(&token, &format!("{PROJECT}filters/")).await, 200);
    assert!(
        listed.as_array().unwrap().iter().all(|f| f["active"] == json!(false)),
        "nothing half-stored"
    );
    app.stop().await;
}

const SETTINGS: &str = "/organizations/default/projects/default/settings/";

/// The settings page's Data section sets retention and filters; members only see them.
async fn the_data_settings_set_retention_and_filters(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.signed_in_admin("boss@example.com").await;
    let action = format!("{SETTINGS}data");
    let fields = [
        ("retention_days", "30"),
        ("filter", "localhost"),
        ("filter", "web-crawlers"),
        ("error_messages", "*ResizeObserver*"),
        ("releases", ""),
    ];
    admin.submit(SETTINGS, &action, &fields).await.expect(303);
    let page = admin.get(SETTINGS).await.expect(200);
    assert!(page.body.contains("value=\"30\""), "retention shown");
    assert!(page.body.contains("value=\"localhost\" checked"), "localhost on");
    assert!(!page.body.contains("value=\"legacy-browsers\" checked"), "legacy off");
    assert!(page.body.contains("*ResizeObserver*</textarea>"));
    assert!(
        page.body.contains("<span id=\"stored-now\">0 events, 0.0 MB</span>"),
        "nothing stored yet"
    );
    let kept = json!({"message": "kept", "request": {"url": "https://shop.example/"}});
    assert_eq!(app.post_envelope(envelope(&new_event_id(), &kept)).await.status(), 200);
    let page = admin.get(SETTINGS).await.expect(200);
    assert!(
        page.body.contains("<span id=\"stored-now\">1 event, "),
        "the stored event counts"
    );
    let local = new_event_id();
    let event = json!({"message": "dev", "request": {"url": "http://localhost/"}});
    assert_eq!(app.post_envelope(envelope(&local, &event)).await.status(), 200);
    let stored = events::stored_event_ids(&app.db, app.project_id, &[local])
        .await
        .unwrap();
    assert!(stored.is_empty(), "filtered from the next event on");

    let bad = [("retention_days", "30"), ("error_messages", "[oops")];
    let refused = admin.submit(SETTINGS, &action, &bad).await.expect(400);
    assert!(refused.body.contains("Error messages: the pattern"), "{}", refused.body);
    let zero = [("retention_days", "0")];
    let refused = admin.submit(SETTINGS, &action, &zero).await.expect(400);
    assert!(
        refused.body.contains("retention must be from 1 to 3650 days"),
        "{}",
        refused.body
    );
    let page = admin.get(SETTINGS).await.expect(200);
    assert!(
        page.body.contains("value=\"localhost\" checked"),
        "nothing changed by refused forms"
    );

    let member = app
        .signed_in("dev@example.com", None, faultline::domain::accounts::Role::Member)
        .await;
    assert!(member
        .get(SETTINGS)
        .await
        .expect(200)
        .body
        .contains("Events from localhost"));
    member
        .submit(SETTINGS, &action, &[("retention_days", "1")])
        .await
        .expect(403);
    app.stop().await;
}

on_both_databases!(
    matching_events_are_answered_but_not_stored_and_counted,
    bad_filter_settings_are_refused_with_a_sentence,
    the_data_settings_set_retention_and_filters,
);
