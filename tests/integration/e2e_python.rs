//! End to end with the official Python SDK: a small Django app raises a real ZeroDivisionError twice,
//! the second time with the failing code moved down seven lines. Both land in one issue.
//! Needs `FAULTLINE_PYTHON` (a Python with `tests/e2e/django_app/requirements.txt`); `.ci/run` sets it up.

use crate::common;

use common::{Backend, TestApp};
use faultline::store::{events, issues};

async fn run_django(python: &str, dsn: &str, padding: u32) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/django_app/run.py");
    let output = tokio::process::Command::new(python)
        .args([script, "--dsn", dsn, "--padding", &padding.to_string()])
        .output()
        .await
        .expect("python runs");
    assert!(
        output.status.success(),
        "run.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line: serde_json::Value = serde_json::from_slice(&output.stdout).expect("run.py prints one JSON line");
    line["event_id"].as_str().expect("an event id").to_owned()
}

async fn django_exceptions_from_moved_lines_share_one_issue(backend: Backend) {
    let Ok(python) = std::env::var("FAULTLINE_PYTHON") else {
        eprintln!("FAULTLINE_PYTHON is not set: the Django end-to-end test is skipped (.ci/run sets it)");
        return;
    };
    let app = TestApp::spawn(backend).await;
    let first = run_django(&python, &app.dsn(), 0).await;
    let second = run_django(&python, &app.dsn(), 7).await;
    assert_ne!(first, second);

    let listed = issues::list_issues(&app.db, app.project_id).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:#?}");
    let issue = &listed[0];
    assert_eq!(issue.title, "ZeroDivisionError: division by zero");
    assert_eq!(
        issue.culprit, "/orders/{order_id}/total/",
        "the Django route is the culprit"
    );
    assert_eq!(issue.times_seen, 2);
    assert_eq!(issue.user_count, 1);
    assert!(issue.is_unhandled);
    assert_eq!(issue.last_release.as_deref(), Some("shop@1.0.0"));

    let crash_line = |payload: serde_json::Value| {
        let frames = payload["exception"][0]["stacktrace"]["frames"]
            .as_array()
            .unwrap()
            .clone();
        let crash = frames.last().unwrap().clone();
        assert_eq!(crash["function"], "price_per_item");
        assert_eq!(crash["in_app"], true);
        crash["lineno"].as_u64().unwrap()
    };
    let first = events::get_event(&app.db, app.project_id, &first)
        .await
        .unwrap()
        .expect("first stored");
    let second = events::get_event(&app.db, app.project_id, &second)
        .await
        .unwrap()
        .expect("second stored");
    assert_eq!(
        crash_line(second.payload_json().unwrap()),
        crash_line(first.payload_json().unwrap()) + 7
    );
    app.stop().await;
}

/// With `traces_sample_rate=1.0` the SDK gets the not-stored announcement with its first answer and stops
/// sending what is announced (log records here): none reaches the server, and its client report says
/// it dropped all twenty. Its transactions are stored and keep coming: all thirty are rolled up.
async fn the_sdk_stops_sending_what_it_is_told_is_not_stored(backend: Backend) {
    let Ok(python) = std::env::var("FAULTLINE_PYTHON") else {
        eprintln!("FAULTLINE_PYTHON is not set: the tracing end-to-end test is skipped (.ci/run sets it)");
        return;
    };
    let app = TestApp::spawn(backend).await;
    run_traces(&python, &app.dsn(), &["--logs", "20", "--transactions", "30"]).await;
    let token = app.owner_token().await;
    let query =
        "/api/0/organizations/default/stats_v2/?field=sum(quantity)&groupBy=outcome&groupBy=reason&category=log_item";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let stats = loop {
        let stats = common::api::json_body(app.get_json(&token, query).await, 200);
        if stats_total(&stats, "client_discard", "ratelimit_backoff") >= 20 || std::time::Instant::now() > deadline {
            break stats;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(
        stats_total(&stats, "filtered", "not_stored"),
        0,
        "no log record was sent: {stats}"
    );
    assert_eq!(
        stats_total(&stats, "client_discard", "ratelimit_backoff"),
        20,
        "{stats}"
    );
    let rolled = faultline::core::performance::summaries(&app.db, app.project_id, 0, None)
        .await
        .unwrap();
    let cart = rolled
        .iter()
        .find(|t| t.name == "/cart/{id}/")
        .expect("the route's rollup");
    assert_eq!((cart.count, cart.op.as_str()), (30, "http.server"), "{rolled:?}");
    app.stop().await;
}

/// Sums `sum(quantity)` of the stats groups with this outcome and reason.
fn stats_total(stats: &serde_json::Value, outcome: &str, reason: &str) -> i64 {
    stats["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["by"]["outcome"] == outcome && g["by"]["reason"] == reason)
        .filter_map(|g| g["totals"]["sum(quantity)"].as_i64())
        .sum()
}

async fn the_sdk_backs_off_after_a_keys_rate_limit(backend: Backend) {
    let Ok(python) = std::env::var("FAULTLINE_PYTHON") else {
        eprintln!("FAULTLINE_PYTHON is not set: the rate-limit end-to-end test is skipped (.ci/run sets it)");
        return;
    };
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let key = format!("/api/0/projects/default/default/keys/{}/", app.public_key);
    let limit = serde_json::json!({"rateLimit": {"window": 3600, "count": 2}});
    common::api::json_body(app.api(&token, reqwest::Method::PUT, &key, Some(limit)).await, 200);
    run_traces(&python, &app.dsn(), &["--errors", "10"]).await;
    let query =
        "/api/0/organizations/default/stats_v2/?field=sum(quantity)&groupBy=outcome&groupBy=reason&category=error";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let stats = loop {
        let stats = common::api::json_body(app.get_json(&token, query).await, 200);
        let reported = stats_total(&stats, "client_discard", "ratelimit_backoff");
        if reported >= 7 || std::time::Instant::now() > deadline {
            break stats;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    // Ten asked for: two stored (messages count as `default`), the third refused with 429, and the SDK sent
    // none of the other seven.
    let messages = query.replace("category=error", "category=default");
    let stored = common::api::json_body(app.get_json(&token, &messages).await, 200);
    assert_eq!(stats_total(&stored, "accepted", ""), 2, "{stored}");
    assert_eq!(stats_total(&stats, "rate_limited", "key_quota"), 1, "{stats}");
    assert_eq!(stats_total(&stats, "client_discard", "ratelimit_backoff"), 7, "{stats}");
    app.stop().await;
}

on_both_databases!(
    django_exceptions_from_moved_lines_share_one_issue,
    the_sdk_stops_sending_what_it_is_told_is_not_stored,
    the_sdk_backs_off_after_a_keys_rate_limit,
);

/// Runs `tests/e2e/django_app/traces.py` against the DSN with these arguments; fails the test if it fails.
async fn run_traces(python: &str, dsn: &str, args: &[&str]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/django_app/traces.py");
    let output = tokio::process::Command::new(python)
        .arg(script)
        .args(["--dsn", dsn])
        .args(args)
        .output()
        .await
        .expect("python runs");
    assert!(
        output.status.success(),
        "traces.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
