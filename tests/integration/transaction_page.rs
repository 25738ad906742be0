//! A transaction's page and the Performance list's links to it, on both databases, through the ingest
//! endpoint and a signed-in browser: known durations give the figures a user reads (count, p50 to p99,
//! failure rate, Apdex), the duration histogram and the time per span kind; the slowest kept samples link
//! to their traces with the errors of those traces; the period, environment and release filters narrow
//! the list, the figures and the samples; a name holding `<script>` and slashes is escaped and reachable;
//! another organization's user gets a 404. The Python SDK's recorded Django requests
//! (tests/fixtures/transactions) show on their pages as well. Web vitals: `web_vitals`.

use crate::common;

use common::transactions::{recorded, shift_times};
use common::web::WebClient;
use common::{envelope, exception_event, new_event_id, Backend, TestApp};
use faultline::config::Config;
use faultline::domain::accounts::Role;
use faultline::domain::normalize::parse_timestamp;
use faultline::store::{now_ms, organizations};
use serde_json::{json, Value};

pub(crate) const LIST: &str = "/organizations/default/projects/default/performance/";

/// The transaction page of `name`, with `filters` (`&period=1h…`) appended.
pub(crate) fn page_of(name: &str, filters: &str) -> String {
    let name: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
    format!("{LIST}transaction/?name={name}{filters}")
}

/// No uniform sample: only the slowest `slowest` per name and hour (and traces with errors) are kept.
fn keeping(rate: f64, slowest: usize) -> impl FnOnce(&mut Config) {
    move |config: &mut Config| {
        config.transaction_sample_rate = rate;
        config.transaction_slowest_per_hour = slowest;
    }
}

/// What a transaction is sent with besides its name and duration.
struct Sent<'a> {
    end: f64,
    status: &'a str,
    environment: &'a str,
    release: &'a str,
}

impl Default for Sent<'_> {
    fn default() -> Self {
        Sent {
            end: now_ms() as f64 / 1000.0 - 60.0,
            status: "ok",
            environment: "production",
            release: "shop@1.0",
        }
    }
}

/// A server transaction of `ms` in a trace of its own, half of it in one query and a tenth rendering.
fn request(name: &str, ms: f64, sent: &Sent) -> (String, Value) {
    let trace = new_event_id();
    let start = sent.end - ms / 1000.0;
    let part = |from: f64, share: f64| (start + ms * from / 1000.0, start + ms * (from + share) / 1000.0);
    let (db_start, db_end) = part(0.0, 0.5);
    let (template_start, template_end) = part(0.6, 0.1);
    let body = json!({
        "type": "transaction", "transaction": name, "transaction_info": {"source": "route"},
        "start_timestamp": start, "timestamp": sent.end,
        "environment": sent.environment, "release": sent.release,
        "contexts": {"trace": {"trace_id": trace, "span_id": "a000000000000001", "op": "http.server",
                               "status": sent.status}},
        "spans": [
            {"span_id": "b1", "op": "db.sql.query", "description": "SELECT 1",
             "start_timestamp": db_start, "timestamp": db_end},
            {"span_id": "b2", "op": "template.render", "description": "cart.html",
             "start_timestamp": template_start, "timestamp": template_end}
        ],
    });
    (trace, body)
}

pub(crate) async fn send(app: &TestApp, item_type: &str, body: &Value) {
    let envelope = common::item_envelope(item_type, &new_event_id(), body);
    let response = app.post_envelope(envelope).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// The markup from `start` to the first `end` after it.
pub(crate) fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let from = body.find(start).unwrap_or_else(|| panic!("{start:?} in {body}"));
    let rest = &body[from..];
    &rest[..rest
        .find(end)
        .unwrap_or_else(|| panic!("{end:?} after {start:?} in {rest}"))]
}

pub(crate) fn figure(body: &str, label: &str) -> String {
    let dt = format!("<dt>{label}</dt><dd>");
    between(body, &dt, "</dd>")[dt.len()..].to_owned()
}

pub(crate) async fn member(app: &TestApp) -> WebClient {
    app.signed_in("dev@example.com", None, Role::Member).await
}

/// 20 requests of known durations: 10 of about 10 ms, 5 of 100, 4 of 1,000 and one failing of 10,000,
/// each half in a query and a tenth rendering.
async fn the_transaction_page_shows_what_a_user_needs(backend: Backend) {
    let app = TestApp::spawn_with(backend, keeping(0.0, 3)).await;
    let sent = Sent::default();
    let failing = Sent {
        status: "internal_error",
        ..Sent::default()
    };
    let mut slowest_trace = String::new();
    for (ms, times) in [(9.9, 10), (99.5, 5), (990.0, 4), (9_900.0, 1)] {
        for _ in 0..times {
            let (trace, body) = request("/cart/{id}/", ms, if ms > 5_000.0 { &failing } else { &sent });
            send(&app, "transaction", &body).await;
            slowest_trace = trace;
        }
    }
    let browser = member(&app).await;
    let page = browser.get(&page_of("/cart/{id}/", "")).await.expect(200).body;
    let expected = [
        ("Count", "20"),
        ("p50", "10 ms"),
        ("p75", "100 ms"),
        ("p95", "1000 ms"),
        ("p99", "10000 ms"),
        ("Failure rate", "5.0 %"),
        // 15 satisfied (up to 300 ms), 4 tolerated (up to 1.2 s), 1 frustrated.
        ("Apdex", "0.85"),
    ];
    for (label, value) in expected {
        assert_eq!(figure(&page, label), value, "{label}");
    }
    let histogram = between(&page, "id=\"duration-histogram\"", "</figure>");
    let bars: Vec<&str> = histogram
        .split("</title>")
        .filter_map(|t| t.rsplit(": ").next())
        .collect();
    assert_eq!(&bars[..bars.len() - 1], ["10", "5", "4", "1"], "{histogram}");
    let p95 = between(&page, "id=\"p95-chart\"", "</figure>");
    assert!(p95.contains("<title>1000 ms</title>"), "one slot, its p95: {p95}");
    let kinds = between(&page, "id=\"span-breakdown\"", "</table>");
    let db = between(kinds, "<td class=\"mono\">db</td>", "</tr>");
    assert!(db.contains("<td>50.0 %</td>") && db.contains("<td>20</td>"), "{db}");
    let template = between(kinds, "<td class=\"mono\">template</td>", "</tr>");
    assert!(template.contains("<td>10.0 %</td>"), "{template}");
    assert!(
        kinds.find(">db<").unwrap() < kinds.find(">template<").unwrap(),
        "most time first"
    );
    assert!(
        !page.contains("id=\"web-vitals\""),
        "a server transaction measures no vitals"
    );

    let samples = between(&page, "id=\"samples\"", "</table>");
    let rows: Vec<&str> = samples.split("<tr>").skip(2).collect();
    assert_eq!(rows.len(), 3, "the slowest three of the hour are kept: {samples}");
    let trace_page = format!("/organizations/default/projects/default/traces/{slowest_trace}/");
    assert!(
        rows[0].contains(&format!("href=\"{trace_page}\""))
            && rows[0].contains("9900.0 ms")
            && rows[0].contains("internal_error")
            && rows[0].contains("among the slowest of its hour"),
        "slowest first, linking to its trace: {}",
        rows[0]
    );
    assert!(rows[1].contains("990.0 ms") && rows[2].contains("990.0 ms"));
    let trace = browser.get(&trace_page).await.expect(200).body;
    assert!(trace.contains("/cart/{id}/"), "the link leads to the trace");

    organizations::create_organization(&app.db, "other", "Other")
        .await
        .unwrap();
    let outsider = app.signed_in("outsider@example.com", Some("other"), Role::Owner).await;
    assert_eq!(outsider.get(&page_of("/cart/{id}/", "")).await.status, 404);
    app.stop().await;
}

/// A name with markup and slashes: escaped on both pages, and the list's link reaches its page.
async fn a_hostile_name_is_escaped_and_linked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let name = "/<script>alert(1)</script>/x";
    send(&app, "transaction", &request(name, 120.0, &Sent::default()).1).await;
    let browser = member(&app).await;
    let list = browser.get(LIST).await.expect(200).body;
    assert!(!list.contains("<script>alert"), "escaped in the list");
    let row = between(&list, "<td class=\"transaction-name\">", "</tr>");
    assert!(row.contains("&#60;script&#62;alert(1)&#60;/script&#62;/x</a>"), "{row}");
    assert!(row.contains("<svg class=\"spark\""), "a sparkline: {row}");
    assert!(row.contains("<title>1</title>"), "its one transaction in a bar: {row}");
    let href = between(row, "href=\"", "\">")["href=\"".len()..].replace("&#38;", "&");
    assert!(
        href.starts_with(&format!("{LIST}transaction/?name=%2F%3Cscript%3E")),
        "{href}"
    );
    let page = browser.get(&href).await.expect(200).body;
    assert!(!page.contains("<script>alert"), "escaped on its page");
    assert!(page.contains("&#60;script&#62;alert(1)&#60;/script&#62;/x"));
    assert_eq!(figure(&page, "Count"), "1");
    app.stop().await;
}

async fn filters_narrow_the_list_the_figures_and_the_samples(backend: Backend) {
    let app = TestApp::spawn_with(backend, keeping(1.0, 0)).await;
    let staging = Sent {
        environment: "staging",
        release: "shop@2.0",
        ..Sent::default()
    };
    let earlier = Sent {
        end: now_ms() as f64 / 1000.0 - 3.0 * 3600.0,
        ..Sent::default()
    };
    for sent in [
        &Sent::default(),
        &Sent::default(),
        &Sent::default(),
        &staging,
        &staging,
        &earlier,
    ] {
        send(&app, "transaction", &request("/cart/{id}/", 100.0, sent).1).await;
    }
    let browser = member(&app).await;
    let count_on = |page: &str| figure(page, "Count");
    let samples_on = |page: &str| {
        page.find("id=\"samples\"").map_or(0, |_| {
            between(page, "id=\"samples\"", "</table>").matches("<tr>").count() - 1
        })
    };
    for (filters, count) in [
        ("", 6),
        ("&period=1h", 5),
        ("&release=shop%402.0", 2),
        ("&environment=production", 4),
        ("&environment=production&release=shop%401.0&period=1h", 3),
    ] {
        let page = browser.get(&page_of("/cart/{id}/", filters)).await.expect(200).body;
        assert_eq!(count_on(&page), count.to_string(), "{filters}");
        assert_eq!(samples_on(&page), count, "every body kept, as filtered: {filters}");
    }
    let none = browser
        .get(&page_of("/cart/{id}/", "&environment=staging&release=shop%401.0"))
        .await
        .expect(200)
        .body;
    assert!(
        none.contains("id=\"no-transactions\"") && samples_on(&none) == 0,
        "{none}"
    );
    let list = browser
        .get(&format!("{LIST}?release=shop%402.0"))
        .await
        .expect(200)
        .body;
    let row = between(&list, "<td class=\"transaction-name\">", "</tr>");
    assert!(row.ends_with("<td>2</td>"), "{row}");
    assert!(row.contains("release=shop%402.0"), "the link keeps the filters: {row}");
    let nothing = browser.get(&format!("{LIST}?release=nope")).await.expect(200).body;
    assert!(nothing.contains("No transactions in this period"));
    app.stop().await;
}

/// Replays a recorded envelope's payload with its times moved so that `anchor` ended a minute ago.
async fn replay_recorded(app: &TestApp, names: &[&str], anchor: &str) {
    let (_, anchor) = recorded(anchor);
    let shift = now_ms() as f64 / 1000.0 - 60.0 - parse_timestamp(&anchor["timestamp"]).unwrap();
    for name in names {
        let (item_type, mut payload) = recorded(name);
        shift_times(&mut payload, shift);
        if item_type == "event" {
            let envelope = common::item_envelope("event", &new_event_id(), &payload);
            assert_eq!(app.post_envelope(envelope).await.status(), 200, "{name}");
        } else {
            send(app, &item_type, &payload).await;
        }
    }
}

/// The Python SDK's Django requests: the N+1 list view's page counts its three requests, its queries as
/// `db` time, and keeps them as samples; the view that raised lists the error of its trace.
async fn recorded_django_requests_show_on_their_pages(backend: Backend) {
    let app = TestApp::spawn_with(backend, keeping(0.0, 3)).await;
    let books = ["000_n_plus_one_books", "001_n_plus_one_books", "002_n_plus_one_books"];
    replay_recorded(&app, &books, books[2]).await;
    let raised = ["012_error_price_per_page_event", "013_error_price_per_page_transaction"];
    replay_recorded(&app, &raised, raised[1]).await;
    let browser = member(&app).await;
    let filters = "&environment=e2e&release=perfshop%401.0.0";
    let page = browser.get(&page_of("/books/", filters)).await.expect(200).body;
    assert_eq!(figure(&page, "Count"), "3");
    assert_eq!(figure(&page, "Failure rate"), "0.0 %");
    let kinds = between(&page, "id=\"span-breakdown\"", "</table>");
    let db = between(kinds, "<td class=\"mono\">db</td>", "</tr>");
    assert!(
        db.contains("<td>36</td>"),
        "a connect and eleven queries per request: {db}"
    );
    assert!(
        !page.contains("id=\"web-vitals\""),
        "the Python SDK sends empty measurements"
    );
    let samples = between(&page, "id=\"samples\"", "</table>");
    for trace in [
        "fe87a4a3521f42739d411aa3b86b0ccc",
        "6ee6caebb4664317adcf942ec5005ba6",
        "c0ca697ba21b43728cd650b6842adce2",
    ] {
        assert!(samples.contains(&format!("/traces/{trace}/\"")), "{trace} in {samples}");
    }
    let failing = browser
        .get(&page_of("/books/{book_id}/price-per-page/", filters))
        .await
        .expect(200)
        .body;
    assert_eq!(figure(&failing, "Failure rate"), "100.0 %");
    let sample = between(&failing, "id=\"samples\"", "</table>");
    assert!(
        sample.contains("ZeroDivisionError") && sample.contains("an error in its trace"),
        "the error of its trace, linked: {sample}"
    );
    assert!(sample.contains("/organizations/default/issues/"), "{sample}");
    app.stop().await;
}

/// An error raised in a sample's trace is listed beside it even when it came in another project.
async fn a_samples_errors_come_from_any_project_of_the_organization(backend: Backend) {
    let app = TestApp::spawn_with(backend, keeping(1.0, 0)).await;
    let (trace, body) = request("/cart/{id}/", 250.0, &Sent::default());
    let api = app.create_project(None, "api").await;
    let mut error = exception_event("KeyError", "'basket'", "shop.cart", "add_item", 12);
    error["contexts"] = json!({"trace": {"trace_id": trace, "span_id": "d000000000000001"}});
    let response = app
        .client
        .post(app.url(&format!("/api/{}/envelope/", api.project_id)))
        .header(
            "x-sentry-auth",
            format!(
                "Sentry sentry_version=7, sentry_key={}, sentry_client=test/1.0",
                api.public_key
            ),
        )
        .body(envelope(&new_event_id(), &error))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    send(&app, "transaction", &body).await;
    let page = member(&app)
        .await
        .get(&page_of("/cart/{id}/", ""))
        .await
        .expect(200)
        .body;
    let sample = between(&page, "id=\"samples\"", "</table>");
    assert!(sample.contains("KeyError"), "{sample}");
    app.stop().await;
}

on_both_databases!(
    the_transaction_page_shows_what_a_user_needs,
    a_hostile_name_is_escaped_and_linked,
    filters_narrow_the_list_the_figures_and_the_samples,
    recorded_django_requests_show_on_their_pages,
    a_samples_errors_come_from_any_project_of_the_organization,
);
