//! Transactions, on both databases: a `transaction` item takes its own path (never the error grouper),
//! is rolled up per name and minute with its failures, duration histogram and time per span kind, is
//! counted as an accepted transaction and in `faultline_transactions_rolled_up_total`, and is no longer
//! announced as not stored; URL-sourced names are parameterized; broken times are a 400 with a sentence;
//! a flood of spans is stored, its excess dropped.

use crate::common;

use common::web::{WebClient, PASSWORD};
use common::{new_event_id, Backend, TestApp};
use faultline::core::performance::summaries;
use faultline::domain::accounts::Role;
use faultline::store::{events, Db};
use serde_json::{json, Value};

/// An envelope with one transaction item.
fn transaction_envelope(event_id: &str, transaction: &Value) -> Vec<u8> {
    common::item_envelope("transaction", event_id, transaction)
}

/// A Django request of `ms` milliseconds ending now: a middleware span and `queries` db spans.
fn django_request(name: &str, source: &str, ms: f64, status: &str, queries: usize) -> Value {
    let end = faultline::store::now_ms() as f64 / 1000.0;
    let start = end - ms / 1000.0;
    let mut spans = vec![
        json!({"span_id": "m", "op": "middleware.django", "description": "SessionMiddleware",
                                "start_timestamp": start, "timestamp": start + 0.002}),
    ];
    for i in 0..queries {
        let at = start + 0.002 + i as f64 * 0.003;
        spans.push(
            json!({"span_id": format!("q{i}"), "op": "db", "description": "SELECT * FROM item WHERE id = %s",
                          "start_timestamp": at, "timestamp": at + 0.002}),
        );
    }
    json!({
        "type": "transaction", "transaction": name, "transaction_info": {"source": source},
        "start_timestamp": start, "timestamp": end, "release": "shop@2.0", "environment": "production",
        "contexts": {"trace": {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7",
                               "op": "http.server", "status": status}},
        "spans": spans,
    })
}

async fn transactions_are_rolled_up_not_grouped(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (ms, status) in [(40.0, "ok"), (45.0, "ok"), (50.0, "ok"), (900.0, "internal_error")] {
        let id = new_event_id();
        let response = app
            .post_envelope(transaction_envelope(
                &id,
                &django_request("/cart/{id}/", "route", ms, status, 6),
            ))
            .await;
        assert_eq!(response.status(), 200);
        let header = response.headers()["x-sentry-rate-limits"].to_str().unwrap().to_owned();
        assert!(!header.contains("transaction"), "transactions are stored now: {header}");
        assert_eq!(response.json::<Value>().await.unwrap()["id"], id);
    }
    assert_eq!(
        events::count_events(&app.db, app.project_id).await.unwrap(),
        0,
        "no error event"
    );
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap();
    let metrics = metrics.text().await.unwrap();
    assert!(
        metrics.contains("\nfaultline_transactions_rolled_up_total 4\n"),
        "the four answered transactions are counted as rolled up:\n{metrics}"
    );
    let rolled = summaries(&app.db, app.project_id, 0, None).await.unwrap();
    assert_eq!(rolled.len(), 1, "{rolled:?}");
    let cart = &rolled[0];
    assert_eq!(
        (cart.name.as_str(), cart.op.as_str(), cart.count),
        ("/cart/{id}/", "http.server", 4)
    );
    assert_eq!(cart.failure_rate, 0.25);
    let p50 = cart.p50_ms.unwrap();
    assert!((45.0..51.0).contains(&p50), "p50 {p50}");
    assert!(cart.p95_ms.unwrap() >= 900.0, "{cart:?}");
    // Three satisfied (≤ 300 ms), one frustrated (> 1.2 s is not; 900 ms is tolerated).
    assert_eq!(cart.apdex, Some(0.875));
    let db_ms = span_kind_ms(&app, "db").await;
    assert!(
        (db_ms - 4.0 * 6.0 * 2.0).abs() < 0.5,
        "six 2 ms queries per request: {db_ms}"
    );
    let token = app.owner_token().await;
    let stats = common::api::json_body(
        app.get_json(
            &token,
            "/api/0/organizations/default/stats_v2/?field=sum(quantity)&groupBy=outcome&category=transaction",
        )
        .await,
        200,
    );
    let accepted = |s: &Value| {
        s["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["by"]["outcome"] == "accepted" && g["totals"]["sum(quantity)"] == 4)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut stats = stats;
    while !accepted(&stats) && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        stats = common::api::json_body(
            app.get_json(
                &token,
                "/api/0/organizations/default/stats_v2/?field=sum(quantity)&groupBy=outcome&category=transaction",
            )
            .await,
            200,
        );
    }
    assert!(accepted(&stats), "{stats}");
    app.stop().await;
}

/// Milliseconds spent in spans of a kind, over every rollup row.
async fn span_kind_ms(app: &TestApp, kind: &str) -> f64 {
    let sql =
        "SELECT CAST(COALESCE(SUM(duration_ms), 0) AS DOUBLE PRECISION) FROM transaction_span_ops WHERE kind = $1";
    match &app.db {
        Db::Sqlite(pool, _) => sqlx::query_scalar(sql).bind(kind).fetch_one(pool).await.unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar(sql).bind(kind).fetch_one(pool).await.unwrap(),
    }
}

async fn url_names_are_parameterized_into_one_row(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for path in ["/users/17/orders", "/users/42/orders?page=2", "/users/9/orders"] {
        let body = transaction_envelope(&new_event_id(), &django_request(path, "url", 30.0, "ok", 0));
        assert_eq!(app.post_envelope(body).await.status(), 200);
    }
    let rolled = summaries(&app.db, app.project_id, 0, None).await.unwrap();
    let names: Vec<(&str, i64)> = rolled.iter().map(|t| (t.name.as_str(), t.count)).collect();
    assert_eq!(names, vec![("/users/<int>/orders", 3)]);
    app.stop().await;
}

async fn broken_transactions_are_a_400_and_span_floods_are_trimmed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut backwards = django_request("/a", "route", 30.0, "ok", 0);
    backwards["timestamp"] = json!(backwards["start_timestamp"].as_f64().unwrap() - 1.0);
    let mut timeless = django_request("/a", "route", 30.0, "ok", 0);
    timeless.as_object_mut().unwrap().remove("start_timestamp");
    for (broken, words) in [(backwards, "ends before it starts"), (timeless, "start_timestamp")] {
        let response = app.post_envelope(transaction_envelope(&new_event_id(), &broken)).await;
        assert_eq!(response.status(), 400);
        let text = response.text().await.unwrap();
        assert!(text.contains(words), "{text}");
    }
    // 5,000 queries: stored, the spans beyond the first 2,000 dropped; a span tree that loops is just spans.
    let mut flood = django_request("/flood", "route", 20_000.0, "ok", 5_000);
    flood["spans"][1]["parent_span_id"] = json!("q2");
    flood["spans"][2]["parent_span_id"] = json!("q1");
    let response = app.post_envelope(transaction_envelope(&new_event_id(), &flood)).await;
    assert_eq!(response.status(), 200);
    let rolled = summaries(&app.db, app.project_id, 0, None).await.unwrap();
    assert_eq!(
        rolled.iter().map(|t| t.count).sum::<i64>(),
        1,
        "only the flood: {rolled:?}"
    );
    let db_ms = span_kind_ms(&app, "db").await;
    assert!(
        (db_ms - 1_999.0 * 2.0).abs() < 1.0,
        "the first 2,000 spans count: {db_ms}"
    );
    app.stop().await;
}

/// The Performance page lists each transaction with its figures, escaped, filtered by environment, and is
/// for the project's organization only.
async fn the_performance_page_shows_each_transaction(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for ms in [20.0, 30.0, 40.0] {
        let body = transaction_envelope(&new_event_id(), &django_request("/cart/{id}/", "route", ms, "ok", 2));
        assert_eq!(app.post_envelope(body).await.status(), 200);
    }
    let hostile = django_request("<script>alert(1)</script>", "route", 500.0, "internal_error", 0);
    assert_eq!(
        app.post_envelope(transaction_envelope(&new_event_id(), &hostile))
            .await
            .status(),
        200
    );
    app.user("dev@example.com", None, Role::Member).await;
    let web = WebClient::new(&app);
    web.sign_in("dev@example.com", PASSWORD).await.expect(303);
    let page = web.get(PAGE).await.expect(200);
    let row = |name: &str| {
        let at = page
            .body
            .find(name)
            .unwrap_or_else(|| panic!("{name} in {}", page.body));
        page.body[at..at + page.body[at..].find("</tr>").unwrap()].to_owned()
    };
    let cart = row("/cart/{id}/");
    assert!(
        cart.contains("<td>http.server</td>") && cart.contains("<td>0.0 %</td>"),
        "{cart}"
    );
    assert!(
        cart.contains("<td>3</td>") && cart.contains("<td>1.00</td>"),
        "three, all satisfied: {cart}"
    );
    assert!(!page.body.contains("<script>alert"), "names are escaped");
    let failing = row("&#60;script&#62;alert(1)");
    assert!(failing.contains("<td>100.0 %</td>"), "{failing}");
    let sorted = web.get(&format!("{PAGE}?sort=p95")).await.expect(200);
    assert!(
        sorted.body.find("&#60;script&#62;").unwrap() < sorted.body.find("/cart/{id}/").unwrap(),
        "slowest first"
    );
    let staging = web.get(&format!("{PAGE}?environment=staging")).await.expect(200);
    assert!(
        staging.body.contains("No transactions in this period"),
        "{}",
        staging.body
    );
    faultline::store::organizations::create_organization(&app.db, "other", "Other")
        .await
        .unwrap();
    app.user("outsider@example.com", Some("other"), Role::Owner).await;
    let outsider = WebClient::new(&app);
    outsider.sign_in("outsider@example.com", PASSWORD).await.expect(303);
    assert_eq!(
        outsider.get(PAGE).await.status,
        404,
        "another organization's project is not found"
    );
    app.stop().await;
}

const PAGE: &str = "/organizations/default/projects/default/performance/";

on_both_databases!(
    the_performance_page_shows_each_transaction,
    transactions_are_rolled_up_not_grouped,
    url_names_are_parameterized_into_one_row,
    broken_transactions_are_a_400_and_span_floods_are_trimmed,
);
