//! Events become issues: grouping over HTTP, counters, facets, short ids, and the lifecycle rules
//! (regression, release resolutions, ignore until N more) applied by the writer. Both databases.

use crate::common;

use common::{corpus_envelopes, corpus_for, envelope, exception_event, gzip, new_event_id, Backend, TestApp};
use faultline::domain::lifecycle::{IgnoreCondition, IssueState, IssueStatus, Resolution, Substatus};
use faultline::domain::short_id::encode_short_id;
use faultline::domain::Timestamp;
use faultline::store::issues::{self, Issue};
use serde_json::json;

async fn send(app: &TestApp, event: serde_json::Value) {
    let response = app.post_envelope(envelope(&new_event_id(), &event)).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

async fn only_issue(app: &TestApp) -> Issue {
    let mut listed = issues::list_issues(&app.db, app.project_id).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:#?}");
    listed.remove(0)
}

fn with_release(mut event: serde_json::Value, release: &str) -> serde_json::Value {
    event["release"] = json!(release);
    event
}

async fn corpus_lands_in_one_issue_per_kind_of_failure(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (_, body) in corpus_envelopes() {
        let response = app
            .client
            .post(app.url(&app.envelope_path()))
            .header("x-sentry-auth", app.auth_header())
            .header("content-encoding", "gzip")
            .body(gzip(&corpus_for(&app, &body)))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let listed = issues::list_issues(&app.db, app.project_id).await.unwrap();
    assert_eq!(listed.iter().map(|i| i.times_seen).sum::<i64>(), 36);
    assert_eq!(
        listed.len(),
        9,
        "{:#?}",
        listed.iter().map(|i| (&i.title, i.times_seen)).collect::<Vec<_>>()
    );
    let zero = listed
        .iter()
        .find(|i| i.title == "ZeroDivisionError: division by zero")
        .expect("zero division issue");
    assert_eq!(zero.times_seen, 4);
    assert!(zero.is_unhandled);
    assert_eq!(zero.level, "error");
    assert!(!zero.grouping_components.is_empty());
    let tags = issues::tag_counts(&app.db, zero.id).await.unwrap();
    assert!(tags
        .iter()
        .any(|t| t.key == "environment" && t.value == "production" && t.times_seen == 4));
    assert!(tags.iter().any(|t| t.key == "level" && t.value == "error"));
    assert_eq!(
        issues::hourly_counts(&app.db, zero.id)
            .await
            .unwrap()
            .iter()
            .map(|(_, n)| n)
            .sum::<i64>(),
        4
    );
    assert!(zero.user_count >= 1);
    app.stop().await;
}

async fn line_numbers_do_not_split_an_issue_but_functions_do(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    send(
        &app,
        exception_event(
            "ZeroDivisionError",
            "division by zero",
            "shop.orders",
            "order_total",
            10,
        ),
    )
    .await;
    send(
        &app,
        exception_event(
            "ZeroDivisionError",
            "division by zero",
            "shop.orders",
            "order_total",
            87,
        ),
    )
    .await;
    let issue = only_issue(&app).await;
    assert_eq!(issue.times_seen, 2);
    assert_eq!(issue.culprit, "shop.orders in order_total");
    assert_eq!(issue.title, "ZeroDivisionError: division by zero");
    send(
        &app,
        exception_event("ZeroDivisionError", "division by zero", "shop.orders", "cart_total", 10),
    )
    .await;
    let listed = issues::list_issues(&app.db, app.project_id).await.unwrap();
    assert_eq!(listed.len(), 2);
    app.stop().await;
}

async fn issues_get_sequential_short_ids_users_and_releases(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (n, function) in ["a", "b", "c"].iter().enumerate() {
        let mut event = exception_event("ValueError", "bad", "shop.views", function, 1);
        event["user"] = json!({"id": n.to_string()});
        send(&app, with_release(event, "shop@1.0.0")).await;
    }
    let mut event = exception_event("ValueError", "bad", "shop.views", "c", 1);
    event["user"] = json!({"id": "99"});
    event["level"] = json!("warning");
    send(&app, with_release(event, "shop@1.1.0")).await;
    let listed = issues::list_issues(&app.db, app.project_id).await.unwrap();
    let mut numbers: Vec<i64> = listed.iter().map(|i| i.short_id_number).collect();
    numbers.sort();
    assert_eq!(numbers, vec![1, 2, 3]);
    let third = listed.iter().find(|i| i.short_id_number == 3).unwrap();
    assert_eq!(encode_short_id("default", third.short_id_number as u64), "DEFAULT-3");
    assert_eq!((third.times_seen, third.user_count), (2, 2));
    assert_eq!(third.first_release.as_deref(), Some("shop@1.0.0"));
    assert_eq!(third.last_release.as_deref(), Some("shop@1.1.0"));
    assert_eq!(third.level, "warning", "the issue shows the latest event's level");
    app.stop().await;
}

fn resolved(resolution: Resolution) -> IssueState {
    IssueState {
        status: IssueStatus::Resolved,
        substatus: Substatus::Ongoing,
        resolution: Some(resolution),
        resolved_at: Some(Timestamp::from_millis(0)),
        ignore: None,
    }
}

async fn a_resolved_issue_regresses_once_on_a_new_event(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let event = exception_event("KeyError", "'sku'", "shop.cart", "add_item", 3);
    send(&app, event.clone()).await;
    let issue = only_issue(&app).await;
    issues::set_state(&app.db, issue.id, &resolved(Resolution::Plain))
        .await
        .unwrap();
    send(&app, event.clone()).await;
    send(&app, event).await;
    let issue = only_issue(&app).await;
    assert_eq!(
        (issue.state.status, issue.state.substatus),
        (IssueStatus::Unresolved, Substatus::Regressed)
    );
    let activity = issues::activity(&app.db, issue.id).await.unwrap();
    assert_eq!(activity.iter().filter(|(kind, _, _)| kind == "regression").count(), 1);
    app.stop().await;
}

async fn resolve_in_next_release_regresses_only_for_a_newer_release(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let event = exception_event("KeyError", "'sku'", "shop.cart", "add_item", 3);
    send(&app, with_release(event.clone(), "1.0")).await;
    let issue = only_issue(&app).await;
    let latest = issues::latest_release(&app.db, app.project_id).await.unwrap();
    assert_eq!(latest.as_deref(), Some("1.0"));
    let state = resolved(Resolution::InNextRelease {
        latest_at_resolve: latest,
    });
    issues::set_state(&app.db, issue.id, &state).await.unwrap();
    send(&app, with_release(event.clone(), "1.0")).await;
    assert_eq!(only_issue(&app).await.state.status, IssueStatus::Resolved);
    send(&app, with_release(event, "1.1")).await;
    let issue = only_issue(&app).await;
    assert_eq!(
        (issue.state.status, issue.state.substatus),
        (IssueStatus::Unresolved, Substatus::Regressed)
    );
    app.stop().await;
}

async fn resolve_in_release_ignores_older_releases(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let event = exception_event("KeyError", "'sku'", "shop.cart", "add_item", 3);
    send(&app, with_release(event.clone(), "1.8")).await;
    let issue = only_issue(&app).await;
    issues::set_state(&app.db, issue.id, &resolved(Resolution::InRelease("2.0".into())))
        .await
        .unwrap();
    send(&app, with_release(event.clone(), "1.9")).await;
    assert_eq!(only_issue(&app).await.state.status, IssueStatus::Resolved);
    send(&app, with_release(event, "2.0")).await;
    assert_eq!(only_issue(&app).await.state.substatus, Substatus::Regressed);
    app.stop().await;
}

async fn ignore_until_five_more_events_returns_on_the_fifth(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let event = exception_event("KeyError", "'sku'", "shop.cart", "add_item", 3);
    send(&app, event.clone()).await;
    let issue = only_issue(&app).await;
    let state = IssueState {
        status: IssueStatus::Ignored,
        substatus: Substatus::ArchivedUntilConditionMet,
        resolution: None,
        resolved_at: None,
        ignore: Some(IgnoreCondition::UntilCount {
            times_seen_target: issue.times_seen + 5,
        }),
    };
    issues::set_state(&app.db, issue.id, &state).await.unwrap();
    for _ in 0..4 {
        send(&app, event.clone()).await;
    }
    assert_eq!(only_issue(&app).await.state.status, IssueStatus::Ignored);
    send(&app, event).await;
    let issue = only_issue(&app).await;
    assert_eq!(issue.state.status, IssueStatus::Unresolved);
    assert_eq!(issue.times_seen, 6, "ignored events are still counted");
    app.stop().await;
}

on_both_databases!(
    corpus_lands_in_one_issue_per_kind_of_failure,
    line_numbers_do_not_split_an_issue_but_functions_do,
    issues_get_sequential_short_ids_users_and_releases,
    a_resolved_issue_regresses_once_on_a_new_event,
    resolve_in_next_release_regresses_only_for_a_newer_release,
    resolve_in_release_ignores_older_releases,
    ignore_until_five_more_events_returns_on_the_fifth,
);
