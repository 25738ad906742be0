//! The lifecycle rules of §9.2 driven through the web API, as sentry-cli and Sentry's UI drive them:
//! resolve, resolve in next release, resolve in release, ignore for N events or minutes, unresolve.
//! Both databases.

use crate::common;
use faultline::domain::IssueId;

use common::api::Token;
use common::{envelope, exception_event, new_event_id, Backend, TestApp};
use faultline::store::issues::{self, Issue};
use reqwest::Method;
use serde_json::{json, Value};

async fn send(app: &TestApp, release: Option<&str>) {
    let mut event = exception_event("KeyError", "'sku'", "shop.cart", "add", 10);
    if let Some(release) = release {
        event["release"] = json!(release);
    }
    let response = app.post_envelope(envelope(&new_event_id(), &event)).await;
    assert_eq!(response.status(), 200);
}

async fn the_issue(app: &TestApp) -> Issue {
    let mut listed = issues::list_issues(&app.db, app.project_id).await.unwrap();
    assert_eq!(listed.len(), 1);
    listed.remove(0)
}

async fn put_issue(app: &TestApp, token: &Token, id: IssueId, body: Value) -> Value {
    app.api(token, Method::PUT, &format!("/api/0/issues/{id}/"), Some(body))
        .await
        .expect(200)
}

fn status(issue: &Issue) -> (&'static str, &'static str) {
    (issue.state.status.as_str(), issue.state.substatus.as_str())
}

async fn a_plain_resolve_regresses_on_the_next_event(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    send(&app, None).await;
    let id = the_issue(&app).await.id;
    // sentry-cli `issues resolve -i ID`
    let bulk = format!("/api/0/projects/default/default/issues/?id={id}");
    let echo = app
        .api(
            &token,
            Method::PUT,
            &bulk,
            Some(json!({"status": "resolved", "snoozeDuration": null})),
        )
        .await
        .expect(200);
    assert_eq!(echo["status"], "resolved");
    assert_eq!(the_issue(&app).await.state.status.as_str(), "resolved");
    send(&app, None).await;
    assert_eq!(status(&the_issue(&app).await), ("unresolved", "regressed"));
    let activity = issues::activity(&app.db, id).await.unwrap();
    assert_eq!(activity.iter().filter(|(kind, _, _)| kind == "regression").count(), 1);
    let shown = app.get_json(&token, &format!("/api/0/issues/{id}/")).await.expect(200);
    assert_eq!(
        (shown["status"].as_str(), shown["substatus"].as_str()),
        (Some("unresolved"), Some("regressed"))
    );
    app.stop().await;
}

async fn resolve_in_next_release_waits_for_a_release_made_later(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    send(&app, Some("1.0")).await;
    let id = the_issue(&app).await.id;
    let shown = put_issue(&app, &token, id, json!({"status": "resolvedInNextRelease"})).await;
    assert_eq!(shown["status"], "resolved");
    assert_eq!(shown["statusDetails"], json!({"inNextRelease": true}));
    send(&app, Some("1.0")).await;
    assert_eq!(
        the_issue(&app).await.state.status.as_str(),
        "resolved",
        "1.0 was current when resolved"
    );
    let release = json!({"version": "1.1", "projects": ["default"]});
    app.api(
        &token,
        Method::POST,
        "/api/0/organizations/default/releases/",
        Some(release),
    )
    .await
    .expect(201);
    send(&app, Some("1.1")).await;
    assert_eq!(status(&the_issue(&app).await), ("unresolved", "regressed"));
    app.stop().await;
}

async fn resolve_in_release_ignores_older_releases(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    send(&app, Some("1.8")).await;
    let id = the_issue(&app).await.id;
    let body = json!({"status": "resolved", "statusDetails": {"inRelease": "2.0"}});
    let shown = put_issue(&app, &token, id, body).await;
    assert_eq!(shown["statusDetails"], json!({"inRelease": "2.0"}));
    send(&app, Some("1.9")).await;
    send(&app, None).await;
    assert_eq!(
        the_issue(&app).await.state.status.as_str(),
        "resolved",
        "older and release-less events"
    );
    send(&app, Some("2.0")).await;
    assert_eq!(status(&the_issue(&app).await), ("unresolved", "regressed"));
    app.stop().await;
}

async fn ignore_until_five_more_events_returns_on_the_fifth(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    send(&app, None).await;
    let id = the_issue(&app).await.id;
    let body = json!({"status": "ignored", "statusDetails": {"ignoreCount": 5}});
    let shown = put_issue(&app, &token, id, body).await;
    assert_eq!(
        (shown["status"].as_str(), shown["substatus"].as_str()),
        (Some("ignored"), Some("archived_until_condition_met"))
    );
    assert_eq!(shown["statusDetails"]["ignoreCount"], 5);
    for n in 1..=4 {
        send(&app, None).await;
        assert_eq!(
            the_issue(&app).await.state.status.as_str(),
            "ignored",
            "after {n} events"
        );
    }
    send(&app, None).await;
    let issue = the_issue(&app).await;
    assert_eq!(issue.state.status.as_str(), "unresolved");
    assert_eq!(issue.times_seen, 6, "ignored events still count");
    app.stop().await;
}

async fn mute_snooze_and_unresolve(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    send(&app, None).await;
    let id = the_issue(&app).await.id;
    let shown = put_issue(&app, &token, id, json!({"status": "ignored", "snoozeDuration": 30})).await;
    let until = shown["statusDetails"]["ignoreUntil"]
        .as_str()
        .expect("ignoreUntil")
        .to_owned();
    assert!(until.ends_with('Z'));
    // sentry-cli `issues mute -a` / `issues unresolve -s muted`
    let bulk = "/api/0/projects/default/default/issues/";
    app.api(
        &token,
        Method::PUT,
        &format!("{bulk}?status=muted"),
        Some(json!({"status": "unresolved", "snoozeDuration": null})),
    )
    .await
    .expect(200);
    assert_eq!(status(&the_issue(&app).await), ("unresolved", "ongoing"));
    app.api(
        &token,
        Method::PUT,
        bulk,
        Some(json!({"status": "muted", "snoozeDuration": null})),
    )
    .await
    .expect(200);
    assert_eq!(status(&the_issue(&app).await), ("ignored", "archived_forever"));
    let bad = app
        .api(
            &token,
            Method::PUT,
            &format!("/api/0/issues/{id}/"),
            Some(json!({"status": "fixed"})),
        )
        .await;
    assert_eq!(bad.status, 400);
    let nothing = put_issue(&app, &token, id, json!({"hasSeen": true})).await;
    assert_eq!(
        nothing["status"], "ignored",
        "fields Faultline does not track change nothing"
    );
    app.stop().await;
}

/// API writes (status changes) while events stream in: every event is acknowledged with 200 and stored, and
/// the writer never loses a batch to a lock taken by the API in between its read and its write.
async fn status_changes_during_ingest_lose_no_event(backend: Backend) {
    let app = std::sync::Arc::new(TestApp::spawn(backend).await);
    let token = app.owner_token().await;
    send(&app, None).await;
    let id = the_issue(&app).await.id;
    let mut senders = Vec::new();
    for _ in 0..4 {
        let app = app.clone();
        senders.push(tokio::spawn(async move {
            for _ in 0..50 {
                let event = exception_event("KeyError", "'sku'", "shop.cart", "add", 10);
                let response = app.post_envelope(envelope(&new_event_id(), &event)).await;
                assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
            }
        }));
    }
    for n in 0..40 {
        let status = if n % 2 == 0 { "resolved" } else { "unresolved" };
        put_issue(&app, &token, id, json!({ "status": status })).await;
    }
    for sender in senders {
        sender.await.unwrap();
    }
    assert_eq!(the_issue(&app).await.times_seen, 201);
    let app = std::sync::Arc::try_unwrap(app).unwrap_or_else(|_| panic!("senders finished"));
    app.stop().await;
}

on_both_databases!(
    a_plain_resolve_regresses_on_the_next_event,
    resolve_in_next_release_waits_for_a_release_made_later,
    resolve_in_release_ignores_older_releases,
    ignore_until_five_more_events_returns_on_the_fifth,
    mute_snooze_and_unresolve,
    status_changes_during_ingest_lose_no_event,
);
