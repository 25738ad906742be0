//! Standalone `span` items, on both databases: what `@sentry/node` 11 streams by default (recorded in
//! `tests/fixtures/spans/`) shows on the Performance page and the trace page as its transaction, counted
//! as spans and no longer announced as not stored; a version-1 span (an interaction) is rolled up on its
//! own; spans without their segment are counted as filtered; an unreadable span item is a 400.

use crate::common;
use crate::outcomes::{stats_until, total};

use common::{Backend, TestApp};
use faultline::core::performance::summaries;
use faultline::domain::accounts::Role;
use faultline::store::now_ms;
use serde_json::{json, Value};

const RECORDED: &str = include_str!("../fixtures/spans/node_11_stream.envelope");
const TRACE_ID: &str = "60535233716f403fb13e521aefe08c88";

/// An envelope of one `span` item holding `payload`, as the SDK frames it.
fn span_envelope(payload: &Value) -> Vec<u8> {
    let payload = serde_json::to_string(payload).unwrap();
    let header = json!({"type": "span", "item_count": 1, "length": payload.len(),
                        "content_type": "application/vnd.sentry.items.span.v2+json"});
    format!("{{}}\n{header}\n{payload}\n").into_bytes()
}

/// The recorded container with every span moved so that the segment ended a minute ago.
fn recorded_spans() -> Value {
    let payload = RECORDED.lines().nth(2).unwrap();
    let mut container: Value = serde_json::from_str(payload).unwrap();
    let items = container["items"].as_array_mut().unwrap();
    let last = items
        .iter()
        .map(|s| s["end_timestamp"].as_f64().unwrap())
        .fold(0.0, f64::max);
    let shift = (now_ms() - 60_000) as f64 / 1000.0 - last;
    for span in items {
        for key in ["start_timestamp", "end_timestamp"] {
            span[key] = json!(span[key].as_f64().unwrap() + shift);
        }
    }
    container
}

async fn streamed_spans_show_as_their_transaction(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app.post_envelope(span_envelope(&recorded_spans())).await;
    assert_eq!(response.status(), 200);
    let announced = response.headers()["x-sentry-rate-limits"].to_str().unwrap().to_owned();
    assert!(!announced.contains("span"), "spans are stored: {announced}");

    let rows = summaries(&app.db, app.project_id, now_ms() - 3_600_000, None)
        .await
        .unwrap();
    let names: Vec<_> = rows.iter().map(|r| (r.name.as_str(), r.op.as_str(), r.count)).collect();
    assert_eq!(names, [("invoice-batch", "queue.task", 1)]);
    let page = app.signed_in("dev@example.com", None, Role::Member).await;
    let trace = page
        .get(&format!("/organizations/default/projects/default/traces/{TRACE_ID}/"))
        .await
        .expect(200);
    assert!(
        trace.body.contains("SELECT * FROM invoices WHERE id = %s"),
        "{}",
        trace.body
    );
    assert!(trace.body.contains("invoice-batch"));

    let token = app.owner_token().await;
    let query = "field=sum(quantity)&groupBy=category&groupBy=outcome&statsPeriod=1d&interval=1h";
    let accepted = |s: &Value| total(s, &[("category", "span"), ("outcome", "accepted")]);
    let stats = stats_until(&app, &token, query, |s| accepted(s) == 3).await;
    assert_eq!(accepted(&stats), 3, "the segment and its two spans: {stats}");
    app.stop().await;
}

async fn a_lone_span_is_rolled_up_and_orphans_are_counted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let end = (now_ms() - 60_000) as f64 / 1000.0;
    let interaction = json!({"span_id": "aef50d4238432502", "trace_id": TRACE_ID, "op": "ui.interaction.click",
        "description": "body > button.buy", "start_timestamp": end - 0.3, "timestamp": end,
        "measurements": {"inp": {"value": 300.0, "unit": "millisecond"}}});
    let mut body = b"{}\n".to_vec();
    let mut another = interaction.clone();
    another["span_id"] = json!("aef50d4238432503");
    for payload in [interaction, another] {
        let payload = serde_json::to_string(&payload).unwrap();
        body.extend(format!("{{\"type\":\"span\",\"length\":{}}}\n{payload}\n", payload.len()).into_bytes());
    }
    assert_eq!(app.post_envelope(body).await.status(), 200);
    let mut orphan = recorded_spans();
    orphan["items"]
        .as_array_mut()
        .unwrap()
        .retain(|s| s["is_segment"] == json!(false));
    assert_eq!(app.post_envelope(span_envelope(&orphan)).await.status(), 200);

    let rows = summaries(&app.db, app.project_id, now_ms() - 3_600_000, None)
        .await
        .unwrap();
    let names: Vec<_> = rows.iter().map(|r| (r.op.as_str(), r.count)).collect();
    assert_eq!(
        names,
        [("ui.interaction.click", 2)],
        "two spans in two items of one envelope"
    );
    let token = app.owner_token().await;
    let query = "field=sum(quantity)&groupBy=category&groupBy=outcome&statsPeriod=1d&interval=1h";
    let filtered = |s: &Value| total(s, &[("category", "span"), ("outcome", "filtered")]);
    let stats = stats_until(&app, &token, query, |s| filtered(s) == 2).await;
    assert_eq!(filtered(&stats), 2, "two spans whose segment never came: {stats}");

    let garbage = app.post_envelope(span_envelope(&json!({"hello": "world"}))).await;
    assert_eq!(garbage.status(), 400);
    assert!(garbage.text().await.unwrap().contains("neither a span nor a container"));
    app.stop().await;
}

on_both_databases!(
    streamed_spans_show_as_their_transaction,
    a_lone_span_is_rolled_up_and_orphans_are_counted,
);
