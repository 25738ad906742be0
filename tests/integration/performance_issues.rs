//! Performance issues from real SDK transactions, on both databases. The envelopes the Python SDK sent about
//! a Django shop (tests/fixtures/transactions, recorded by tests/e2e/django_app/record_transactions.py) are
//! replayed through the ingest endpoint with fresh event ids: the N+1 list view becomes one N+1 issue counted
//! once per request (with an event per request, or two per window with the window's occurrences folded into
//! the second, also at shutdown), a re-sent transaction is not counted again, fast views make none, the slow report makes
//! a slow-query issue, an error raised in a traced request stays an error. A new performance issue fires a
//! "new issue" rule to a real HTTP receiver; the issue list filters by type and labels it; the issue page
//! marks the offending spans and escapes what the SDK sent.

use crate::common;

use std::path::PathBuf;
use std::time::Duration;

use common::alerts::{alert_app, channel, only_rule};
use common::receiver::Receiver;
use common::{envelope, exception_event, gzip, new_event_id, Backend, TestApp};
use faultline::core::performance::summaries;
use faultline::domain::accounts::Role;
use faultline::domain::alerts::channel::{ChannelConfig, SignedHookSettings};
use faultline::domain::alerts::Triggers;
use faultline::store::events::list_issue_events;
use faultline::store::issues::{self, Issue};
use serde_json::Value;

const N_PLUS_ONE: &str = "performance_n_plus_one_db_queries";
const SLOW_QUERY: &str = "performance_slow_db_query";
/// The public key the corpus was recorded with.
const CORPUS_KEY: &str = "0123456789abcdef0123456789abcdef";

/// The recorded envelopes whose file names contain `part`, by name.
fn fixtures(part: &str) -> Vec<Vec<u8>> {
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/transactions");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&folder)
        .expect("the transaction corpus")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "envelope"))
        .filter(|path| path.file_name().unwrap().to_str().unwrap().contains(part))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no fixture named *{part}*");
    names.into_iter().map(|path| std::fs::read(path).unwrap()).collect()
}

/// The envelope header's event id (the item's payload carries the same).
fn event_id_of(envelope: &[u8]) -> String {
    let header: Value = serde_json::from_slice(envelope.split(|&b| b == b'\n').next().unwrap()).unwrap();
    header["event_id"].as_str().unwrap().to_owned()
}

/// The recorded bytes with a fresh event id (same length, so item lengths hold) and the app's key.
fn with_fresh_id(app: &TestApp, recorded: &[u8]) -> (String, Vec<u8>) {
    let text = String::from_utf8(recorded.to_vec()).unwrap();
    let id = new_event_id();
    let text = text
        .replace(&event_id_of(recorded), &id)
        .replace(CORPUS_KEY, &app.public_key);
    (id, text.into_bytes())
}

/// Posts an envelope as the SDK does (gzip'd); asserts a 200.
async fn post(app: &TestApp, body: &[u8]) {
    let response = app
        .client
        .post(app.url(&app.envelope_path()))
        .header("x-sentry-auth", app.auth_header())
        .header("content-encoding", "gzip")
        .body(gzip(body))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// Replays a recorded envelope with a fresh event id; returns the id.
async fn replay(app: &TestApp, recorded: &[u8]) -> String {
    let (id, body) = with_fresh_id(app, recorded);
    post(app, &body).await;
    id
}

async fn issues_of_type(app: &TestApp, issue_type: &str) -> Vec<Issue> {
    let all = issues::list_issues(&app.db, app.project_id).await.unwrap();
    all.into_iter().filter(|issue| issue.issue_type == issue_type).collect()
}

/// An app that stores an event per occurrence (no windows), so that each request's event can be checked.
async fn every_occurrence_an_event(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |config| config.performance_issue_window_secs = 0).await
}

async fn the_recorded_n_plus_one_is_one_issue_counted_per_request(backend: Backend) {
    let app = every_occurrence_an_event(backend).await;
    let recorded = fixtures("n_plus_one_books");
    assert_eq!(recorded.len(), 3);
    let mut replays = 0;
    for envelope in recorded.iter().chain(recorded.iter().take(1)) {
        replay(&app, envelope).await;
        replays += 1;
        let found = issues_of_type(&app, N_PLUS_ONE).await;
        assert_eq!(found.len(), 1, "one issue for the endpoint and its query: {found:?}");
        assert_eq!(found[0].times_seen, replays, "one event per request");
    }
    let all = issues::list_issues(&app.db, app.project_id).await.unwrap();
    assert_eq!(all.len(), 1, "nothing else: {all:?}");
    let issue = &all[0];
    assert_eq!((issue.title.as_str(), issue.level.as_str()), ("N+1 Query", "info"));
    assert_eq!(
        issue.culprit,
        "SELECT COUNT(*) AS \"__count\" FROM \"perfshop_review\" WHERE \"perfshop_review\".\"book_id\" = %s"
    );

    // The SDK re-sending one transaction (same event id) is acknowledged, not counted again.
    let (_, resent) = with_fresh_id(&app, &recorded[0]);
    post(&app, &resent).await;
    post(&app, &resent).await;
    assert_eq!(issues_of_type(&app, N_PLUS_ONE).await[0].times_seen, replays + 1);

    let stored = list_issue_events(&app.db, issue.id, 1).await.unwrap().remove(0);
    let event = stored.event().unwrap();
    assert_eq!(event.transaction.as_deref(), Some("/books/"));
    let evidence = event.performance.expect("the problem's evidence");
    assert_eq!(evidence.offender_count, 10, "ten review counts, one per listed book");
    assert!(evidence.offender_ms >= 50.0, "{}", evidence.offender_ms);
    assert_eq!(evidence.spans.iter().filter(|s| s.offender).count(), 10);
    assert_eq!(evidence.trace_id, event.contexts["trace"]["trace_id"]);
    // The transactions themselves are rolled up as always (every one received).
    let rolled = summaries(&app.db, app.project_id, 0, None).await.unwrap();
    let counted: i64 = rolled.iter().map(|t| t.count).sum();
    assert!(counted > replays, "{rolled:?}");
    app.stop().await;
}

async fn fast_views_make_none_the_slow_query_its_own_and_errors_stay_errors(backend: Backend) {
    let app = every_occurrence_an_event(backend).await;
    for envelope in fixtures("fast_") {
        replay(&app, &envelope).await;
    }
    let none = issues::list_issues(&app.db, app.project_id).await.unwrap();
    assert!(none.is_empty(), "fast views are no problem: {none:?}");
    for envelope in fixtures("slow_ratings_report") {
        replay(&app, &envelope).await;
    }
    let slow = issues_of_type(&app, SLOW_QUERY).await;
    assert_eq!(slow.len(), 1, "{slow:?}");
    assert_eq!((slow[0].title.as_str(), slow[0].times_seen), ("Slow DB Query", 2));
    assert!(
        slow[0].culprit.starts_with("WITH RECURSIVE counter(n)"),
        "{}",
        slow[0].culprit
    );
    // An error inside a traced request: the error is an error issue, its transaction (fast) makes none.
    let mut trace_ids = Vec::new();
    for envelope in fixtures("error_price_per_page").iter().take(2) {
        let text = String::from_utf8_lossy(envelope).into_owned();
        let payload: Value = serde_json::from_str(text.lines().nth(2).unwrap()).unwrap();
        trace_ids.push(payload["contexts"]["trace"]["trace_id"].clone());
        replay(&app, envelope).await;
    }
    assert_eq!(
        trace_ids[0], trace_ids[1],
        "the error and its transaction share a trace"
    );
    let all = issues::list_issues(&app.db, app.project_id).await.unwrap();
    let types: Vec<&str> = all.iter().map(|issue| issue.issue_type.as_str()).collect();
    assert_eq!(types.len(), 2, "{all:?}");
    assert!(types.contains(&SLOW_QUERY) && types.contains(&"error"), "{types:?}");
    let error = all.iter().find(|issue| issue.issue_type == "error").unwrap();
    assert!(error.title.starts_with("ZeroDivisionError"), "{}", error.title);
    app.stop().await;
}

async fn a_new_performance_issue_fires_the_new_issue_rule(backend: Backend) {
    let receiver = Receiver::start().await;
    let app = alert_app(backend, None, |_| {}).await;
    let hook = ChannelConfig::Webhook(SignedHookSettings {
        url: receiver.url("/hook"),
        secret: "secret".into(),
    });
    let new_issue = Triggers {
        new_issue: true,
        ..Triggers::default()
    };
    only_rule(&app, new_issue, 0, vec![channel(&app.db, "hook", hook).await]).await;
    let recorded = fixtures("n_plus_one_books");
    replay(&app, &recorded[0]).await;
    let requests = receiver.wait_for(1, Duration::from_secs(15)).await;
    let body = requests[0].json();
    assert_eq!(body["issues"][0]["reason"], "new_issue", "{body}");
    assert_eq!(body["issues"][0]["title"], "N+1 Query", "{body}");
    replay(&app, &recorded[1]).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(receiver.requests().len(), 1, "the second request's N+1 is no new issue");
    app.stop().await;
}

async fn the_issue_list_filters_by_type_and_labels_each(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let error = exception_event("KeyError", "'sku'", "shop.cart", "add_item", 12);
    assert_eq!(app.post_envelope(envelope(&new_event_id(), &error)).await.status(), 200);
    replay(&app, &fixtures("n_plus_one_books")[0]).await;
    let browser = app.signed_in("dev@example.com", None, Role::Member).await;
    let list = |kind: &str| format!("/organizations/default/issues/?type={kind}");
    let both = browser.get(&list("")).await.expect(200).body;
    assert!(both.contains("N+1 Query") && both.contains("KeyError"), "{both}");
    assert!(
        both.contains(">Performance</span>") && both.contains(">Error</span>"),
        "{both}"
    );
    let performance = browser.get(&list("performance")).await.expect(200).body;
    assert!(
        performance.contains("N+1 Query") && !performance.contains("KeyError"),
        "{performance}"
    );
    assert!(
        performance.contains("<option value=\"performance\" selected>"),
        "{performance}"
    );
    let errors = browser.get(&list("errors")).await.expect(200).body;
    assert!(errors.contains("KeyError") && !errors.contains("N+1 Query"), "{errors}");
    // The other controls keep the type: the status tabs link with it.
    assert!(errors.contains("type=errors"), "{errors}");
    app.stop().await;
}

/// A recorded N+1 transaction with a fresh id and this text as the description of its first span that is
/// not a query (a Django signal span).
fn n_plus_one_saying(text: &str) -> (String, Value) {
    let recorded = fixtures("n_plus_one_books").remove(0);
    let lines = String::from_utf8(recorded).unwrap();
    let mut transaction: Value = serde_json::from_str(lines.lines().nth(2).unwrap()).unwrap();
    let spans = transaction["spans"].as_array_mut().unwrap();
    let signal = spans.iter_mut().find(|s| s["op"] == "event.django").unwrap();
    signal["description"] = Value::String(text.to_owned());
    let id = new_event_id();
    transaction["event_id"] = Value::String(id.clone());
    (id, transaction)
}

async fn the_issue_page_marks_the_offending_spans_and_escapes_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let script = "<script>alert('span')</script>";
    let (id, transaction) = n_plus_one_saying(script);
    let spans = transaction["spans"].as_array().unwrap().len();
    let body = common::item_envelope("transaction", &id, &transaction);
    assert_eq!(app.post_envelope(body).await.status(), 200);
    let issue = issues_of_type(&app, N_PLUS_ONE).await.remove(0);
    let browser = app.signed_in("dev@example.com", None, Role::Member).await;
    let page = browser
        .get(&format!("/organizations/default/issues/{}/", issue.id))
        .await
        .expect(200)
        .body;
    assert!(!page.contains(script), "never as markup");
    assert!(
        page.contains("&#60;script&#62;alert(&#39;span&#39;)&#60;/script&#62;"),
        "{page}"
    );
    assert_eq!(
        page.matches("<tr class=\"span-row depth-0 offender\">").count(),
        10,
        "{page}"
    );
    assert_eq!(
        page.matches("<tr class=\"span-row depth-0\">").count(),
        spans - 10,
        "{page}"
    );
    assert!(page.contains(">Performance</span>"), "the type label: {page}");
    assert!(
        page.contains("&#34;perfshop_review&#34;.&#34;book_id&#34; = %s"),
        "the query: {page}"
    );
    assert!(page.contains("/books/"), "the transaction: {page}");
    app.stop().await;
}

/// Stored events and count of the only N+1 issue.
async fn n_plus_one_events_and_count(app: &TestApp) -> (usize, i64) {
    let found = issues_of_type(app, N_PLUS_ONE).await;
    assert_eq!(found.len(), 1, "{found:?}");
    let events = list_issue_events(&app.db, found[0].id, 100).await.unwrap();
    (events.len(), found[0].times_seen)
}

/// Sum of the issue's hourly counts (its chart) and of its `transaction` tag's count.
async fn n_plus_one_chart_and_tag(app: &TestApp) -> (i64, i64) {
    let issue = &issues_of_type(app, N_PLUS_ONE).await[0];
    let hours = issues::hourly_counts(&app.db, issue.id).await.unwrap();
    let tags = issues::tag_counts(&app.db, issue.id).await.unwrap();
    let tag = tags
        .iter()
        .find(|t| t.key == "transaction")
        .expect("the transaction tag");
    (hours.iter().map(|h| h.1).sum(), tag.times_seen)
}

async fn a_window_stores_two_events_and_counts_every_occurrence(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| config.performance_issue_window_secs = 2).await;
    let recorded = fixtures("n_plus_one_books");
    replay(&app, &recorded[0]).await;
    assert_eq!(
        n_plus_one_events_and_count(&app).await,
        (1, 1),
        "the first occurrence at once"
    );
    for envelope in recorded.iter().chain(recorded.iter()) {
        replay(&app, envelope).await;
    }
    assert_eq!(
        n_plus_one_events_and_count(&app).await,
        (1, 1),
        "the window's later occurrences wait for its end"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while n_plus_one_events_and_count(&app).await != (2, 7) {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            n_plus_one_events_and_count(&app).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        n_plus_one_chart_and_tag(&app).await,
        (7, 7),
        "the chart and tags count each occurrence"
    );
    // After the window the next occurrence is stored at once again, in a window of its own.
    replay(&app, &recorded[1]).await;
    assert_eq!(n_plus_one_events_and_count(&app).await, (3, 8));
    app.stop().await;
}

async fn the_open_windows_are_stored_at_shutdown(backend: Backend) {
    let mut app = TestApp::spawn_with(backend, |config| config.performance_issue_window_secs = 3_600).await;
    for envelope in fixtures("n_plus_one_books") {
        replay(&app, &envelope).await;
    }
    assert_eq!(n_plus_one_events_and_count(&app).await, (1, 1));
    app.restart_with(|_| {}).await;
    assert_eq!(
        n_plus_one_events_and_count(&app).await,
        (2, 3),
        "a graceful stop loses no occurrence"
    );
    app.stop().await;
}

on_both_databases!(
    the_recorded_n_plus_one_is_one_issue_counted_per_request,
    a_window_stores_two_events_and_counts_every_occurrence,
    the_open_windows_are_stored_at_shutdown,
    fast_views_make_none_the_slow_query_its_own_and_errors_stay_errors,
    a_new_performance_issue_fires_the_new_issue_rule,
    the_issue_list_filters_by_type_and_labels_each,
    the_issue_page_marks_the_offending_spans_and_escapes_them,
);
