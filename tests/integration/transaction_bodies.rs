//! The sampled body store and traces, on both databases: the slowest transactions of a name and hour are
//! kept (a slower one replaces the fastest), every transaction of a trace with an error is kept (an N+1's
//! performance issue is no error), the
//! uniform sample keeps none at rate 0 and all at 1 (and every transaction counts in the rollups either
//! way); bodies expire after their own retention and are the first thing the storage budget evicts,
//! oldest first; the trace page shows the waterfall of a trace's transactions with its error linked, the
//! error's page links to its trace, a looping span tree renders, and span descriptions are escaped. What the
//! Python SDK sent about a Django request that raised (tests/fixtures/transactions) keeps its transaction.

use crate::common;

use common::transactions::{recorded, shift_times};
use common::web::WebClient;
use common::{close_store, envelope, exception_event, new_event_id, open_store, operator_core, Backend, TestApp};
use faultline::config::Config;
use faultline::core::performance::{record_transactions, summaries};
use faultline::core::transaction_bodies::{prepare_transaction, IncomingTransaction};
use faultline::core::{retention, storage as budget};
use faultline::domain::accounts::Role;
use faultline::domain::normalize::parse_timestamp;
use faultline::domain::performance::{read_transaction, SamplingRules};
use faultline::domain::ProjectId;
use faultline::store::storage::{bodies_total, Stored};
use faultline::store::{events, issues, now_ms, organizations, projects, record_batch, Db};
use serde_json::{json, Value};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// The middle of the last full hour, in Unix seconds: every transaction ending there shares one hour.
fn last_half_hour() -> f64 {
    let now = now_ms();
    (now - now % HOUR_MS - HOUR_MS / 2) as f64 / 1000.0
}

/// A transaction of `ms` ending at `end` (Unix seconds) in trace `trace_id`, its own span `span_id`
/// continuing `parent` (empty: none), with `spans` as given.
fn transaction(name: &str, end: f64, ms: f64, trace: (&str, &str, &str), spans: Vec<Value>) -> Value {
    let (trace_id, span_id, parent) = trace;
    let mut context = json!({"trace_id": trace_id, "span_id": span_id, "op": "http.server", "status": "ok"});
    if !parent.is_empty() {
        context["parent_span_id"] = json!(parent);
    }
    json!({
        "type": "transaction", "transaction": name, "transaction_info": {"source": "route"},
        "start_timestamp": end - ms / 1000.0, "timestamp": end, "environment": "production",
        "contexts": {"trace": context}, "spans": spans,
    })
}

fn span(id: &str, parent: &str, op: &str, description: &str, (start, end): (f64, f64)) -> Value {
    json!({"span_id": id, "parent_span_id": parent, "op": op, "description": description,
           "start_timestamp": start, "timestamp": end})
}

fn trace_id() -> String {
    new_event_id()
}

async fn send_transaction(app: &TestApp, transaction: &Value) {
    let body = common::item_envelope("transaction", &new_event_id(), transaction);
    assert_eq!(app.post_envelope(body).await.status(), 200);
}

/// An error raised at `at` (Unix seconds) in span `span_id` of trace `trace_id`; returns its event id.
async fn send_error(app: &TestApp, title_value: &str, at: f64, trace: (&str, &str), transaction: &str) -> String {
    let mut event = exception_event("KeyError", title_value, "shop.cart", "add_item", 12);
    event["timestamp"] = json!(at);
    event["transaction"] = json!(transaction);
    event["contexts"] = json!({"trace": {"trace_id": trace.0, "span_id": trace.1, "op": "http.server"}});
    let id = new_event_id();
    assert_eq!(app.post_envelope(envelope(&id, &event)).await.status(), 200);
    id
}

/// `(duration_ms rounded, for_error, slowest, sampled)` of every kept body, fastest first.
async fn kept(db: &Db) -> Vec<(i64, bool, bool, bool)> {
    let sql = "SELECT duration_ms, for_error, slowest, sampled FROM transaction_bodies ORDER BY duration_ms";
    let rows: Vec<(f64, bool, bool, bool)> = match db {
        Db::Sqlite(pool, _) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
        Db::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
    };
    rows.into_iter()
        .map(|(ms, error, slowest, sampled)| (ms.round() as i64, error, slowest, sampled))
        .collect()
}

fn sampling(rate: f64, slowest: usize) -> impl FnOnce(&mut Config) {
    move |config: &mut Config| {
        config.transaction_sample_rate = rate;
        config.transaction_slowest_per_hour = slowest;
    }
}

async fn the_slowest_and_every_trace_with_an_error_are_kept(backend: Backend) {
    let app = TestApp::spawn_with(backend, sampling(0.0, 3)).await;
    let end = last_half_hour();
    for ms in [100.0, 500.0, 300.0] {
        send_transaction(&app, &transaction("/cart", end, ms, (&trace_id(), "a0", ""), vec![])).await;
    }
    let slowest = |ms| (ms, false, true, false);
    assert_eq!(kept(&app.db).await, vec![slowest(100), slowest(300), slowest(500)]);
    send_transaction(&app, &transaction("/cart", end, 200.0, (&trace_id(), "a0", ""), vec![])).await;
    assert_eq!(
        kept(&app.db).await,
        vec![slowest(200), slowest(300), slowest(500)],
        "a slower one replaced the fastest, whose body is gone"
    );
    send_transaction(&app, &transaction("/cart", end, 50.0, (&trace_id(), "a0", ""), vec![])).await;
    let failing = trace_id();
    send_error(&app, "'sku'", end, (&failing, "a0"), "/cart").await;
    send_transaction(&app, &transaction("/cart", end, 10.0, (&failing, "a0", ""), vec![])).await;
    assert_eq!(
        kept(&app.db).await,
        vec![(10, true, false, false), slowest(200), slowest(300), slowest(500)],
        "the 50 ms one is passed over; the 10 ms one is kept for its trace's error"
    );
    // An N+1 is a performance issue, not an error: its event does not keep its trace's transactions.
    let n_plus_one = trace_id();
    let queries: Vec<Value> = (0..6)
        .map(|i| {
            let at = end - 0.09 + f64::from(i) * 0.012;
            let query = format!("SELECT * FROM review WHERE book_id = {i}");
            span(&format!("b{i}"), "a0", "db", &query, (at, at + 0.012))
        })
        .collect();
    send_transaction(
        &app,
        &transaction("/cart", end, 100.0, (&n_plus_one, "a0", ""), queries),
    )
    .await;
    send_transaction(&app, &transaction("/cart", end, 20.0, (&n_plus_one, "a1", ""), vec![])).await;
    let issues = issues::list_issues(&app.db, app.project_id).await.unwrap();
    assert!(
        issues.iter().any(|issue| issue.title == "N+1 Query"),
        "the N+1 made its issue: {issues:?}"
    );
    assert_eq!(
        kept(&app.db).await,
        vec![(10, true, false, false), slowest(200), slowest(300), slowest(500)],
        "neither transaction of the N+1's trace is kept"
    );
    let rolled = summaries(&app.db, app.project_id, 0, None).await.unwrap();
    assert_eq!(rolled[0].count, 8, "every transaction counts, kept or not");
    app.stop().await;
}

async fn the_uniform_sample_keeps_none_at_zero_and_all_at_one(backend: Backend) {
    for (rate, expected) in [(0.0, 0), (1.0, 5)] {
        let app = TestApp::spawn_with(backend.clone(), sampling(rate, 0)).await;
        for i in 0..5 {
            let ms = 10.0 + f64::from(i);
            send_transaction(
                &app,
                &transaction("/a", last_half_hour(), ms, (&trace_id(), "a0", ""), vec![]),
            )
            .await;
        }
        let bodies = kept(&app.db).await;
        assert_eq!(bodies.len(), expected, "rate {rate}: {bodies:?}");
        assert!(bodies
            .iter()
            .all(|&(_, error, slowest, sampled)| sampled && !error && !slowest));
        let rolled = summaries(&app.db, app.project_id, 0, None).await.unwrap();
        assert_eq!(rolled[0].count, 5, "rate {rate}: every transaction counts");
        app.stop().await;
    }
}

async fn bodies_expire_after_their_own_retention(backend: Backend) {
    // On the store, not a running server, whose own sweep at start could take the old body first.
    let (database, db) = open_store(&backend).await;
    let project = default_project(&db).await;
    let now = now_ms();
    let batch: Vec<_> = [20, 13, 0]
        .into_iter()
        .map(|days_ago| {
            let end = (now - days_ago * DAY_MS) as f64 / 1000.0 - 60.0;
            let body = transaction(&format!("/{days_ago}"), end, 30.0, (&trace_id(), "a0", ""), vec![]);
            incoming(project, body)
        })
        .collect();
    record_transactions(&db, &batch, &sample_all()).await.unwrap();
    assert_eq!(kept(&db).await.len(), 3);
    // The server's default: bodies for 14 days, events for 90.
    let swept = retention::sweep(&operator_core(&db), 90, now).await.unwrap();
    assert_eq!(swept.bodies, 1);
    assert_eq!(kept(&db).await.len(), 2, "13 days and today stay");
    projects_retention(&db, project, 7).await;
    let swept = retention::sweep(&operator_core(&db), 90, now).await.unwrap();
    assert_eq!(swept.bodies, 1, "never longer than the project keeps its events");
    assert_eq!(kept(&db).await.len(), 1);
    assert_eq!(
        bodies_total(&db).await.unwrap(),
        counted_bodies(&db).await,
        "the totals follow"
    );
    close_store(database, db).await;
}

/// A transaction as ingest hands it to the writer (unscrubbed).
fn incoming(project_id: ProjectId, body: Value) -> IncomingTransaction {
    let transaction = read_transaction(&body).unwrap();
    prepare_transaction(project_id, transaction, body, new_event_id(), None).unwrap()
}

/// Every transaction's body, whatever it holds.
fn sample_all() -> SamplingRules {
    SamplingRules {
        sample_rate: 1.0,
        slowest_per_hour: 0,
    }
}

async fn default_project(db: &Db) -> ProjectId {
    faultline::core::projects::ensure_default_project(db, &"http://localhost/".parse().unwrap())
        .await
        .unwrap();
    projects::find_project_by_slug(db, "default").await.unwrap().unwrap().id
}

async fn projects_retention(db: &Db, project_id: ProjectId, days: i64) {
    faultline::store::retention::set_retention(db, project_id, Some(days))
        .await
        .unwrap();
}

/// A transaction body of about 100 KB compressed (random hex does not compress much), ending at `end_ms`.
fn bulky(project_id: ProjectId, end_ms: i64) -> IncomingTransaction {
    let noise: String = (0..6_000).map(|_| new_event_id()).collect();
    let mut body = transaction("/bulk", end_ms as f64 / 1000.0, 20.0, (&trace_id(), "a0", ""), vec![]);
    body["extra"] = json!({ "noise": noise });
    incoming(project_id, body)
}

async fn the_budget_evicts_bodies_first_oldest_first(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let core = operator_core(&db);
    let project = default_project(&db).await;
    let start = now_ms() - HOUR_MS;
    let errors: Vec<_> = (0..20)
        .map(|i| common::stored_event(project, "crowded", start + i * 1_000))
        .collect();
    record_batch(&db, &errors).await.unwrap();
    // Enough bodies that a tenth of the space (what eviction frees at least) is a part of them.
    let mut sent = 0;
    while bodies_total(&db).await.unwrap().bytes * 4 < budget::stored(&core).await.unwrap() {
        let batch: Vec<_> = (0..4).map(|i| bulky(project, start + (sent + i) * 1_000)).collect();
        record_transactions(&db, &batch, &sample_all()).await.unwrap();
        sent += 4;
        assert!(sent < 400, "bodies never reached a quarter of the space");
    }
    let stored = budget::stored(&core).await.unwrap();
    let evicted = budget::enforce(&core, stored * 100 / 96).await.unwrap();
    assert!(evicted.bodies > 0 && evicted.bodies < sent, "{evicted:?} of {sent}");
    assert_eq!(evicted.events, 0, "no event goes while bodies are left: {evicted:?}");
    assert_eq!(events::count_events(&db, project).await.unwrap(), 20);
    let left = body_ends(&db).await;
    assert_eq!(left.len() as i64, sent - evicted.bodies);
    // Body i ended at `start + i` seconds (to the millisecond, give or take one in float rounding).
    assert!(left[0] >= start + evicted.bodies * 1_000 - 1, "the oldest went first");
    assert_eq!(
        bodies_total(&db).await.unwrap(),
        counted_bodies(&db).await,
        "the totals follow"
    );
    close_store(database, db).await;
}

/// What the bodies' table really holds, to compare with the kept totals.
async fn counted_bodies(db: &Db) -> Stored {
    let sql = "SELECT COUNT(*), CAST(COALESCE(SUM(LENGTH(payload)), 0) AS BIGINT) FROM transaction_bodies";
    let (events, bytes): (i64, i64) = match db {
        Db::Sqlite(pool, _) => sqlx::query_as(sql).fetch_one(pool).await.unwrap(),
        Db::Postgres(pool) => sqlx::query_as(sql).fetch_one(pool).await.unwrap(),
    };
    Stored { events, bytes }
}

/// The kept bodies' end times, oldest first.
async fn body_ends(db: &Db) -> Vec<i64> {
    let sql = "SELECT timestamp FROM transaction_bodies ORDER BY timestamp";
    match db {
        Db::Sqlite(pool, _) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap(),
    }
}

/// A browser signed in as a member of the default organization, and the trace page's path.
async fn member(app: &TestApp) -> WebClient {
    app.signed_in("dev@example.com", None, Role::Member).await
}

fn trace_page(trace_id: &str) -> String {
    format!("/organizations/default/projects/default/traces/{trace_id}/")
}

fn position(body: &str, needle: &str) -> usize {
    body.find(needle).unwrap_or_else(|| panic!("{needle:?} in {body}"))
}

/// A page load in the browser calling the API, whose request fails in a query: two transactions of one
/// trace (the second continuing the first's `http.client` span) and the error.
async fn send_checkout_trace(app: &TestApp, trace: &str) -> String {
    let end = last_half_hour();
    let at = |from: f64, to: f64| (end - 1.0 + from, end - 1.0 + to);
    let error_id = send_error(app, "'basket'", end - 0.5, (trace, "b2"), "/api/cart").await;
    let page_spans = vec![span("f1", "f0", "http.client", "GET /api/cart", at(0.2, 0.8))];
    send_transaction(
        app,
        &transaction("/checkout", end, 1_000.0, (trace, "f0", ""), page_spans),
    )
    .await;
    let api_spans = vec![
        span("b1", "b0", "db", "SELECT * FROM cart WHERE id = %s", at(0.3, 0.4)),
        span("b2", "b0", "db", "UPDATE basket SET n = n + 1", at(0.45, 0.7)),
    ];
    let api = transaction("/api/cart", end - 0.2, 550.0, (trace, "b0", "f1"), api_spans);
    send_transaction(app, &api).await;
    error_id
}

async fn the_trace_page_shows_the_waterfall_and_its_error(backend: Backend) {
    let app = TestApp::spawn_with(backend, sampling(0.0, 0)).await;
    let trace = trace_id();
    let error_id = send_checkout_trace(&app, &trace).await;
    let issue = issues::list_issues(&app.db, app.project_id).await.unwrap().remove(0);
    let browser = member(&app).await;
    let page = browser.get(&trace_page(&trace)).await.expect(200);
    let body = &page.body;
    let waterfall = &body[position(body, "id=\"waterfall\"")..];
    let needles = [
        "\">/checkout<",
        "GET /api/cart",
        "\">/api/cart<",
        "SELECT * FROM cart",
        "UPDATE basket",
    ];
    let order: Vec<usize> = needles.iter().map(|needle| position(waterfall, needle)).collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "spans as a tree across both transactions: {order:?}"
    );
    assert!(
        waterfall.contains("depth-3\"><span class=\"op\">db</span>"),
        "the API's queries three levels below the page load"
    );
    let error_link = format!("/organizations/default/issues/{}/events/{error_id}/", issue.id);
    let failing_row = &waterfall[..position(waterfall, "UPDATE basket")];
    let failing_row = &waterfall[failing_row.rfind("<tr").unwrap()..];
    let failing_row = &failing_row[..position(failing_row, "</tr>")];
    assert!(
        failing_row.contains("has-error") && failing_row.contains(&error_link),
        "{failing_row}"
    );
    let transactions = &body[position(body, "id=\"trace-transactions\"")..position(body, "id=\"waterfall\"")];
    let api_row = &transactions[position(transactions, "<td>/api/cart</td>")..];
    assert!(
        api_row[..position(api_row, "</tr>")].contains(&error_link),
        "the transaction lists its error"
    );
    assert!(api_row.contains("an error in its trace"), "why it was kept");
    assert!(body.contains("KeyError"), "the error's title");
    for missing in ["00000000000000000000000000000000", "not-a-trace", &trace_id()] {
        assert_eq!(browser.get(&trace_page(missing)).await.status, 404, "{missing}");
    }
    organizations::create_organization(&app.db, "other", "Other")
        .await
        .unwrap();
    let outsider = app.signed_in("outsider@example.com", Some("other"), Role::Owner).await;
    assert_eq!(
        outsider.get(&trace_page(&trace)).await.status,
        404,
        "another organization's trace"
    );
    app.stop().await;
}

async fn the_error_page_links_to_its_trace(backend: Backend) {
    let app = TestApp::spawn_with(backend, sampling(0.0, 0)).await;
    let trace = trace_id();
    send_checkout_trace(&app, &trace).await;
    let issue = issues::list_issues(&app.db, app.project_id).await.unwrap().remove(0);
    let browser = member(&app).await;
    let page = browser
        .get(&format!("/organizations/default/issues/{}/", issue.id))
        .await
        .expect(200);
    let line = &page.body[position(&page.body, "id=\"event-trace\"")..];
    let line = &line[..position(line, "</p>")];
    assert!(
        line.contains("In transaction <strong>/api/cart</strong>, trace"),
        "{line}"
    );
    assert!(line.contains(&format!("href=\"{}\"", trace_page(&trace))), "{line}");
    app.stop().await;
}

async fn a_looping_span_tree_renders_with_descriptions_escaped(backend: Backend) {
    let app = TestApp::spawn_with(backend, sampling(1.0, 0)).await;
    let trace = trace_id();
    let end = last_half_hour();
    let at = (end - 0.5, end - 0.1);
    let spans = vec![
        span("x", "z", "db", "first of the loop", at),
        span("y", "x", "db", "second of the loop", at),
        span("z", "y", "db", "third of the loop", at),
        span("m", "missing", "http.client", "orphan", at),
        span("s", "s", "cache", "<script>alert(1)</script>", at),
    ];
    send_transaction(&app, &transaction("/loop", end, 600.0, (&trace, "r0", ""), spans)).await;
    let page = member(&app).await.get(&trace_page(&trace)).await.expect(200);
    for description in ["first of the loop", "second of the loop", "third of the loop", "orphan"] {
        assert_eq!(page.body.matches(description).count(), 1, "{description} shown once");
    }
    assert!(!page.body.contains("<script>alert"), "descriptions are escaped");
    assert!(
        page.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "and shown"
    );
    app.stop().await;
}

/// What the Python SDK sent about a Django request that raised: the error first, then the request's
/// transaction (times moved to a minute ago). With no sample and no slowest kept, the transaction is kept
/// for its error; the trace page shows it with the error on the span it was raised in, and the error's page
/// links there.
async fn a_recorded_django_error_keeps_its_transaction(backend: Backend) {
    let app = TestApp::spawn_with(backend, sampling(0.0, 0)).await;
    let (_, transaction) = recorded("013_error_price_per_page_transaction");
    let shift = now_ms() as f64 / 1000.0 - 60.0 - parse_timestamp(&transaction["timestamp"]).unwrap();
    for name in ["012_error_price_per_page_event", "013_error_price_per_page_transaction"] {
        let (item_type, mut payload) = recorded(name);
        shift_times(&mut payload, shift);
        let body = common::item_envelope(&item_type, &new_event_id(), &payload);
        assert_eq!(app.post_envelope(body).await.status(), 200, "{name}");
    }
    let bodies = kept(&app.db).await;
    assert!(
        bodies.len() == 1 && bodies[0].1 && !bodies[0].2 && !bodies[0].3,
        "kept for its error only: {bodies:?}"
    );
    let trace = "a081c4d44e704a36a8de1a49d82d4d2d";
    let browser = member(&app).await;
    let page = browser.get(&trace_page(trace)).await.expect(200);
    let waterfall = &page.body[position(&page.body, "id=\"waterfall\"")..];
    let raised_in = &waterfall[..position(waterfall, "_got_request_exception")];
    let raised_in = &waterfall[raised_in.rfind("<tr").unwrap()..];
    let raised_in = &raised_in[..position(raised_in, "</tr>")];
    assert!(
        raised_in.contains("has-error") && raised_in.contains("ZeroDivisionError"),
        "{raised_in}"
    );
    assert!(page.body.contains("/books/{book_id}/price-per-page/"));
    let issue = issues::list_issues(&app.db, app.project_id).await.unwrap().remove(0);
    let issue_page = browser
        .get(&format!("/organizations/default/issues/{}/", issue.id))
        .await
        .expect(200);
    assert!(issue_page.body.contains(&format!("href=\"{}\"", trace_page(trace))));
    app.stop().await;
}

on_both_databases!(
    the_slowest_and_every_trace_with_an_error_are_kept,
    the_uniform_sample_keeps_none_at_zero_and_all_at_one,
    bodies_expire_after_their_own_retention,
    the_budget_evicts_bodies_first_oldest_first,
    the_trace_page_shows_the_waterfall_and_its_error,
    the_error_page_links_to_its_trace,
    a_looping_span_tree_renders_with_descriptions_escaped,
    a_recorded_django_error_keeps_its_transaction,
);
