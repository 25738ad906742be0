//! The PagerDuty channel end to end, against a real HTTP receiver standing in for the Events API v2: an
//! issue triggers one incident keyed by the issue, resolving it (web UI or API) resolves that incident, a
//! regression pages again; 400 answers fail for good, 500 answers are retried; the routing key never shows.
//! Same bodies on SQLite and Postgres.

use crate::common;

use std::time::Duration;

use common::alerts::{alert_app, only_rule, send_error, wait_for_log, PUBLIC_URL};
use common::receiver::{Receiver, Reply};
use common::web::WebClient;
use common::{Backend, TestApp};
use faultline::domain::alerts::channel::{Channel, ChannelConfig};
use faultline::domain::alerts::Triggers;
use faultline::domain::ChannelId;
use faultline::store::{alerts, issues, organizations};
use reqwest::Method;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(15);
const CHANNELS: &str = "/organizations/default/settings/channels/";
const ROUTING_KEY: &str = "R0ut1ngKeyOfTheCheckoutService42";

/// What PagerDuty answers an accepted event.
fn accepted() -> Reply {
    Reply::with_body(
        202,
        r#"{"status":"success","message":"Event processed","dedup_key":"k"}"#,
    )
}

fn on_new_issue_and_regression() -> Triggers {
    Triggers {
        new_issue: true,
        regression: true,
        ..Triggers::default()
    }
}

async fn stored_channels(app: &TestApp) -> Vec<Channel> {
    let org = organizations::find_organization(&app.db, "default")
        .await
        .unwrap()
        .unwrap();
    alerts::list_channels(&app.db, org.id).await.unwrap()
}

/// Creates the channel through the web form, as an admin would, pointed at `events_url`.
async fn pagerduty_through_form(app: &TestApp, admin: &WebClient, events_url: &str) -> ChannelId {
    let fields = [
        ("kind", "pagerduty"),
        ("name", "On-call"),
        ("routing_key", ROUTING_KEY),
        ("url", events_url),
    ];
    admin
        .submit(
            &format!("{CHANNELS}new?kind=pagerduty"),
            &format!("{CHANNELS}new"),
            &fields,
        )
        .await
        .expect(303);
    let channel = stored_channels(app)
        .await
        .into_iter()
        .find(|c| c.name == "On-call")
        .unwrap();
    channel.id
}

async fn only_issue(app: &TestApp) -> issues::Issue {
    issues::list_issues(&app.db, app.project_id).await.unwrap().remove(0)
}

async fn an_issue_triggers_one_incident_and_resolving_it_in_the_ui_resolves_it(backend: Backend) {
    let receiver = Receiver::with_replies(vec![accepted(), accepted()]).await;
    let app = alert_app(backend, None, |_| {}).await;
    let admin = app.signed_in_admin("admin@example.com").await;
    let channel = pagerduty_through_form(&app, &admin, &receiver.url("/v2/enqueue")).await;
    only_rule(&app, on_new_issue_and_regression(), 0, vec![channel]).await;
    send_error(&app, "KeyError").await;

    let trigger = receiver.wait_for(1, WAIT).await.remove(0);
    let issue = only_issue(&app).await;
    let dedup_key = format!("faultline-issue-{}", issue.id);
    assert_eq!(trigger.path, "/v2/enqueue");
    let body = trigger.json();
    assert_eq!(body["routing_key"], ROUTING_KEY);
    assert_eq!(body["event_action"], "trigger");
    assert_eq!(body["dedup_key"], dedup_key.as_str());
    assert_eq!(body["payload"]["severity"], "error");
    assert_eq!(body["payload"]["summary"], issue.title.as_str());
    assert!(body["payload"]["summary"].as_str().unwrap().starts_with("KeyError"));
    assert_eq!(body["payload"]["source"], "default");
    assert_eq!(body["payload"]["custom_details"]["times_seen"], 1);
    let link = format!("{PUBLIC_URL}organizations/default/issues/{}/", issue.id);
    assert_eq!(body["links"][0]["href"], link.as_str());
    wait_for_log(&app, 1, "sent").await;

    let page = format!("/organizations/default/issues/{}/", issue.id);
    admin
        .submit(&page, &format!("{page}action"), &[("action", "resolve")])
        .await
        .expect(303);
    let requests = receiver.wait_for(2, WAIT).await;
    assert_eq!(
        requests[1].json(),
        json!({"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": dedup_key})
    );
    let log = wait_for_log(&app, 2, "sent").await;
    assert_eq!(
        log[0].rule_name, "DEFAULT-1 resolved",
        "the newest entry says what it was"
    );

    // Reopened by hand and resolved again: nothing was paged since, so nothing is resolved.
    admin
        .submit(&page, &format!("{page}action"), &[("action", "unresolve")])
        .await;
    admin
        .submit(&page, &format!("{page}action"), &[("action", "resolve")])
        .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(receiver.requests().len(), 2, "exactly one trigger and one resolve");
    app.stop().await;
}

async fn the_api_resolves_and_a_regression_pages_the_same_key_again(backend: Backend) {
    let receiver = Receiver::with_replies(vec![accepted(); 4]).await;
    let app = alert_app(backend, None, |_| {}).await;
    let token = app.owner_token().await;
    let created = app
        .api(
            &token,
            Method::POST,
            "/api/0/organizations/default/channels/",
            Some(json!({"name": "On-call", "kind": "pagerduty",
                "settings": {"routing_key": ROUTING_KEY, "events_url": receiver.url("/v2/enqueue")}})),
        )
        .await
        .expect(201);
    let channel = ChannelId(created["id"].as_i64().unwrap());
    only_rule(&app, on_new_issue_and_regression(), 0, vec![channel]).await;
    send_error(&app, "TimeoutError").await;
    receiver.wait_for(1, WAIT).await;
    let id = only_issue(&app).await.id;
    let issue_path = format!("/api/0/issues/{id}/");
    let resolve = || app.api(&token, Method::PUT, &issue_path, Some(json!({"status": "resolved"})));
    resolve().await.expect(200);
    receiver.wait_for(2, WAIT).await;
    send_error(&app, "TimeoutError").await;
    receiver.wait_for(3, WAIT).await;
    resolve().await.expect(200);

    let actions: Vec<(String, String)> = receiver
        .wait_for(4, WAIT)
        .await
        .iter()
        .map(|r| {
            let body = r.json();
            (
                body["event_action"].as_str().unwrap().to_owned(),
                body["dedup_key"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let key = format!("faultline-issue-{id}");
    let expected = ["trigger", "resolve", "trigger", "resolve"].map(|action| (action.to_owned(), key.clone()));
    assert_eq!(actions, expected);
    wait_for_log(&app, 4, "sent").await;
    app.stop().await;
}

async fn a_400_fails_for_good_and_a_500_is_retried(backend: Backend) {
    let invalid = r#"{"status":"invalid event","message":"Event object is invalid","errors":["Length of 'routing_key' is incorrect"]}"#;
    let refusing = Receiver::with_replies(vec![Reply::with_body(400, invalid); 5]).await;
    let flaky = Receiver::with_replies(vec![Reply::status(500), accepted()]).await;
    let app = alert_app(backend, None, |_| {}).await;
    let token = app.owner_token().await;
    let mut ids = Vec::new();
    for (name, receiver) in [("refusing", &refusing), ("flaky", &flaky)] {
        let settings = json!({"routing_key": ROUTING_KEY, "events_url": receiver.url("/v2/enqueue")});
        let body = json!({"name": name, "kind": "pagerduty", "settings": settings});
        let created = app
            .api(
                &token,
                Method::POST,
                "/api/0/organizations/default/channels/",
                Some(body),
            )
            .await
            .expect(201);
        ids.push(ChannelId(created["id"].as_i64().unwrap()));
    }
    only_rule(&app, on_new_issue_and_regression(), 0, ids).await;
    send_error(&app, "ValueError").await;

    let deadline = std::time::Instant::now() + WAIT;
    let log = loop {
        let log = alerts::list_deliveries(&app.db, app.project_id, 10).await.unwrap();
        if log.len() == 2 && log.iter().all(|d| d.status == "sent" || d.status == "failed") {
            break log;
        }
        assert!(std::time::Instant::now() < deadline, "delivery log stuck at {log:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let of = |name: &str| log.iter().find(|d| d.channel_name == name).unwrap();
    let failed = of("refusing");
    assert_eq!((failed.status.as_str(), failed.attempts), ("failed", 1));
    let error = failed.last_error.as_deref().unwrap();
    assert!(
        error.contains("400") && error.contains("Event object is invalid"),
        "{error}"
    );
    assert!(!error.contains(ROUTING_KEY), "{error}");
    let retried = of("flaky");
    assert_eq!((retried.status.as_str(), retried.attempts), ("sent", 2));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(refusing.requests().len(), 1, "a 400 is never retried");
    assert_eq!(flaky.requests().len(), 2);
    app.stop().await;
}

async fn the_routing_key_never_shows_and_a_test_triggers_then_resolves(backend: Backend) {
    let receiver = Receiver::with_replies(vec![accepted(), accepted()]).await;
    let app = alert_app(backend, None, |_| {}).await;
    let admin = app.signed_in_admin("admin@example.com").await;
    let channel = pagerduty_through_form(&app, &admin, &receiver.url("/v2/enqueue")).await;
    let list = admin.get(CHANNELS).await.expect(200);
    assert!(list.body.contains("On-call") && list.body.contains("••••••••ce42"));
    let form = admin.get(&format!("{CHANNELS}{channel}/")).await.expect(200);
    let token = app.owner_token().await;
    let api_list = app
        .get_json(&token, "/api/0/organizations/default/channels/")
        .await
        .expect(200);
    let shown = api_list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "pagerduty")
        .unwrap()
        .clone();
    assert_eq!(shown["settings"]["routing_key"], "••••••••ce42");
    let stored = stored_channels(&app)
        .await
        .into_iter()
        .find(|c| c.id == channel)
        .unwrap();
    for text in [list.body, form.body, api_list.to_string(), format!("{stored:?}")] {
        assert!(!text.contains(ROUTING_KEY), "the routing key leaked: {text}");
    }

    // An edit that leaves the key blank keeps it.
    let edit = format!("{CHANNELS}{channel}/");
    let fields = [
        ("kind", "pagerduty"),
        ("name", "On-call 2"),
        ("routing_key", ""),
        ("url", &receiver.url("/v2/enqueue")),
    ];
    admin.submit(&edit, &edit, &fields).await.expect(303);
    let edited = stored_channels(&app)
        .await
        .into_iter()
        .find(|c| c.id == channel)
        .unwrap();
    let ChannelConfig::PagerDuty(settings) = edited.config else {
        panic!("still a PagerDuty channel")
    };
    assert_eq!(
        (edited.name.as_str(), settings.routing_key.as_str()),
        ("On-call 2", ROUTING_KEY)
    );

    let answer = admin
        .submit(CHANNELS, &format!("{CHANNELS}{channel}/test"), &[])
        .await
        .expect(200);
    assert!(answer.body.contains("Test notification sent"), "{}", answer.body);
    let bodies: Vec<Value> = receiver.wait_for(2, WAIT).await.iter().map(|r| r.json()).collect();
    assert_eq!(
        (bodies[0]["event_action"].as_str(), bodies[1]["event_action"].as_str()),
        (Some("trigger"), Some("resolve"))
    );
    assert!(bodies[0]["dedup_key"].as_str().unwrap().starts_with("faultline-test-"));
    assert_eq!(bodies[0]["dedup_key"], bodies[1]["dedup_key"]);
    app.stop().await;
}

async fn a_trigger_still_waiting_when_the_issue_is_resolved_is_never_sent(backend: Backend) {
    let receiver = Receiver::with_replies(vec![Reply::status(503), accepted()]).await;
    let app = alert_app(backend, None, |config| config.notify_retry_base_ms = 1500).await;
    let admin = app.signed_in_admin("admin@example.com").await;
    let channel = pagerduty_through_form(&app, &admin, &receiver.url("/v2/enqueue")).await;
    only_rule(&app, on_new_issue_and_regression(), 0, vec![channel]).await;
    send_error(&app, "OSError").await;
    receiver.wait_for(1, WAIT).await;
    let issue = only_issue(&app).await;
    common::change_issue_status(&app.db, issue.id, &faultline::domain::lifecycle::StatusChange::Resolve).await;

    // The resolve goes out at once; the trigger's retry finds the issue resolved and is skipped.
    let requests = receiver.wait_for(2, WAIT).await;
    assert_eq!(requests[1].json()["event_action"], "resolve");
    let deadline = std::time::Instant::now() + WAIT;
    let skipped = loop {
        let log = alerts::list_deliveries(&app.db, app.project_id, 10).await.unwrap();
        if let Some(skipped) = log.into_iter().find(|d| d.status == "skipped") {
            break skipped;
        }
        assert!(std::time::Instant::now() < deadline, "the trigger was never skipped");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        skipped.last_error.as_deref(),
        Some("the issue was resolved before the page went out")
    );
    assert_eq!(receiver.requests().len(), 2, "no late trigger reopens the incident");
    app.stop().await;
}

on_both_databases!(
    a_trigger_still_waiting_when_the_issue_is_resolved_is_never_sent,
    an_issue_triggers_one_incident_and_resolving_it_in_the_ui_resolves_it,
    the_api_resolves_and_a_regression_pages_the_same_key_again,
    a_400_fails_for_good_and_a_500_is_retried,
    the_routing_key_never_shows_and_a_test_triggers_then_resolves,
);
