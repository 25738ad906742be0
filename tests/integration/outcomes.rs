//! Honest intake: every answer tells SDKs which categories are not stored (`X-Sentry-Rate-Limits`), and
//! what became of every item — accepted, filtered, dropped by the client — is counted and read back
//! through `stats_v2` and the Stats page. Both databases.

use crate::common;

use std::time::{Duration, Instant};

use common::api::Token;
use common::{envelope, exception_event, new_event_id, Backend, TestApp};
use faultline::domain::accounts::Role;
use serde_json::{json, Value};

/// An envelope with an error, a second (so invalid) transaction, a session, an attachment (stored with the
/// error) and a client report.
fn mixed_envelope(event_id: &str, client_report: &str) -> Vec<u8> {
    let mut body = envelope(event_id, &exception_event("KeyError", "boom", "shop.cart", "add", 10));
    let items = [
        (
            r#"{"type":"transaction"}"#,
            r#"{"type":"transaction","transaction":"/cart","spans":[]}"#.to_owned(),
        ),
        (r#"{"type":"session"}"#, r#"{"sid":"a","status":"ok"}"#.to_owned()),
        (r#"{"type":"attachment","filename":"a.txt"}"#, "0123456789".to_owned()),
        (r#"{"type":"client_report"}"#, client_report.to_owned()),
    ];
    for (header, payload) in items {
        body.extend_from_slice(format!("{header}\n{payload}\n").as_bytes());
    }
    body
}

/// One line: an item without a length ends at the first newline.
const REPORT: &str = concat!(
    r#"{"discarded_events":[{"reason":"sample_rate","category":"transaction","quantity":7},"#,
    r#"{"reason":"queue_overflow","category":"error","quantity":2}]}"#
);

/// Polls `stats_v2` until `wanted` holds (the outcome worker writes every second).
pub(crate) async fn stats_until(app: &TestApp, token: &Token, query: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    let path = format!("/api/0/organizations/default/stats_v2/?{query}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = common::api::json_body(app.get_json(token, &path).await, 200);
        if wanted(&answer) || Instant::now() > deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The total of the group whose `by` matches every pair.
pub(crate) fn total(stats: &Value, by: &[(&str, &str)]) -> i64 {
    stats["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| by.iter().all(|(k, v)| g["by"][*k] == json!(v)))
        .and_then(|g| g["totals"]["sum(quantity)"].as_i64())
        .unwrap_or(0)
}

async fn what_is_not_stored_is_announced_and_every_item_counted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let response = app.post_envelope(mixed_envelope(&new_event_id(), REPORT)).await;
    assert_eq!(response.status(), 200);
    let header = response.headers()["x-sentry-rate-limits"].to_str().unwrap().to_owned();
    let (seconds, rest) = header.split_once(':').unwrap();
    assert!(seconds.parse::<u64>().unwrap() > 0, "{header}");
    let categories: Vec<&str> = rest.split(':').next().unwrap().split(';').collect();
    for announced in ["profile", "replay", "log_item"] {
        assert!(categories.contains(&announced), "{announced} missing from {header}");
    }
    for stored in [
        "error",
        "default",
        "transaction",
        "span",
        "session",
        "monitor",
        "feedback",
        "attachment",
    ] {
        assert!(!categories.contains(&stored), "{stored} is stored: {header}");
    }
    assert!(header.ends_with(":organization:not_stored"), "{header}");
    let query = "field=sum(quantity)&groupBy=category&groupBy=outcome&statsPeriod=1d&interval=1h";
    let stats = stats_until(&app, &token, query, |s| {
        total(s, &[("category", "error"), ("outcome", "accepted")]) == 1
    })
    .await;
    assert_eq!(
        total(&stats, &[("category", "error"), ("outcome", "accepted")]),
        1,
        "{stats}"
    );
    assert_eq!(
        total(&stats, &[("category", "transaction"), ("outcome", "invalid")]),
        1,
        "a transaction beside the event is a duplicate item"
    );
    assert_eq!(
        total(&stats, &[("category", "session"), ("outcome", "invalid")]),
        1,
        "a session without a release cannot count for release health"
    );
    assert_eq!(
        total(&stats, &[("category", "attachment"), ("outcome", "accepted")]),
        10,
        "stored with the event, counted in bytes"
    );
    assert_eq!(
        total(&stats, &[("category", "transaction"), ("outcome", "client_discard")]),
        7
    );
    assert_eq!(
        total(&stats, &[("category", "error"), ("outcome", "client_discard")]),
        2
    );
    assert_eq!(
        stats["intervals"].as_array().unwrap().len(),
        24,
        "{}",
        stats["intervals"]
    );
    let by_reason = stats_until(
        &app,
        &token,
        "field=sum(quantity)&groupBy=reason&outcome=client_discard",
        |_| true,
    )
    .await;
    assert_eq!(total(&by_reason, &[("reason", "sample_rate")]), 7, "{by_reason}");
    let by_project = stats_until(
        &app,
        &token,
        "field=sum(times_seen)&groupBy=project&category=error",
        |_| true,
    )
    .await;
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "faultline_outcomes_total{category=\"transaction\",outcome=\"invalid\"} 1",
        "faultline_outcomes_total{category=\"error\",outcome=\"accepted\"} 1",
        "faultline_outcomes_total{category=\"transaction\",outcome=\"client_discard\"} 7",
    ] {
        assert!(metrics.contains(line), "{line} missing from /metrics");
    }
    let size = metrics
        .lines()
        .find_map(|l| l.strip_prefix("faultline_database_bytes "))
        .and_then(|v| v.trim().parse::<i64>().ok());
    assert!(
        size.is_some_and(|bytes| bytes > 0),
        "the database size is reported: {size:?}"
    );
    let project = by_project["groups"][0]["by"]["project"].clone();
    assert_eq!(project, json!(app.project_id), "{by_project}");
    app.stop().await;
}

/// A report nobody can read is skipped; the rest of the envelope still counts, and it is still a 200.
async fn a_bad_client_report_is_skipped_and_a_report_alone_is_accepted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let id = new_event_id();
    let response = app.post_envelope(mixed_envelope(&id, "{not json")).await;
    assert_eq!(response.status(), 200);
    let alone = format!(
        "{{\"event_id\":\"{}\"}}\n{{\"type\":\"client_report\"}}\n{REPORT}\n",
        new_event_id()
    );
    assert_eq!(app.post_envelope(alone).await.status(), 200);
    let query = "field=sum(quantity)&groupBy=category&groupBy=outcome";
    let stats = stats_until(&app, &token, query, |s| {
        total(s, &[("category", "session"), ("outcome", "invalid")]) == 1
    })
    .await;
    assert_eq!(
        total(&stats, &[("category", "session"), ("outcome", "invalid")]),
        1,
        "a session without a release is invalid (release health needs it): {stats}"
    );
    assert_eq!(
        total(&stats, &[("category", "session"), ("outcome", "filtered")]),
        0,
        "{stats}"
    );
    assert_eq!(
        total(&stats, &[("category", "transaction"), ("outcome", "client_discard")]),
        7
    );
    app.stop().await;
}

async fn stats_v2_refuses_what_it_cannot_answer_with_a_sentence(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    for (query, words) in [
        ("groupBy=outcome", "field must be one of"),
        ("field=sum(quantity)&groupBy=planet", "groupBy \"planet\""),
        ("field=sum(quantity)&interval=30m", "whole hours"),
        ("field=sum(quantity)&statsPeriod=forever", "statsPeriod"),
        ("field=sum(quantity)&statsPeriod=1000d", "at most"),
    ] {
        let path = format!("/api/0/organizations/default/stats_v2/?{query}");
        let detail = common::api::error_detail(app.get_json(&token, &path).await, 400);
        assert!(detail.contains(words), "{query}: {detail}");
    }
    faultline::store::organizations::create_organization(&app.db, "elsewhere", "Elsewhere")
        .await
        .unwrap();
    let stranger = app
        .token(
            "eve@elsewhere.test",
            Some("elsewhere"),
            Role::Owner,
            common::api::ALL_SCOPES,
        )
        .await;
    let path = "/api/0/organizations/default/stats_v2/?field=sum(quantity)";
    common::api::error_detail(app.get_json(&stranger, path).await, 404);
    app.stop().await;
}

async fn the_stats_page_stacks_each_category_by_outcome(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    assert_eq!(
        app.post_envelope(mixed_envelope(&new_event_id(), REPORT))
            .await
            .status(),
        200
    );
    stats_until(&app, &token, "field=sum(quantity)&groupBy=category", |s| {
        total(s, &[("category", "session")]) == 1
    })
    .await;
    let browser = app.signed_in("dev@example.com", None, Role::Member).await;
    let page = browser.get("/organizations/default/stats/").await.expect(200);
    for shown in [
        "<h2>error</h2>",
        "<h2>transaction</h2>",
        "<h2>session</h2>",
        "class=\"o-accepted\"",
        "client_discard: <strong>7</strong>",
    ] {
        assert!(page.body.contains(shown), "{shown} not on the page");
    }
    app.stop().await;
}

on_both_databases!(
    what_is_not_stored_is_announced_and_every_item_counted,
    a_bad_client_report_is_skipped_and_a_report_alone_is_accepted,
    stats_v2_refuses_what_it_cannot_answer_with_a_sentence,
    the_stats_page_stacks_each_category_by_outcome,
);
