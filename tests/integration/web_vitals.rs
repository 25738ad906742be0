//! Web vitals, on both databases: a browser SDK's page loads (`pageload` transactions with `measurements`)
//! sent through the ingest endpoint show their p75 per vital on the transaction's page, labelled `LCP`,
//! `FCP`, `CLS`, `TTFB` (and `INP`, `FID` when sent), only when measured; every transaction counts, kept or
//! not, and the rows go with their transaction name.

use crate::common;
use crate::transaction_page::{between, member, page_of, send};

use common::{close_store, new_event_id, open_store, Backend, TestApp};
use faultline::core::performance::record_transactions;
use faultline::core::transaction_bodies::prepare_transaction;
use faultline::domain::performance::{read_transaction, SamplingRules};
use faultline::store::{now_ms, projects, Db};
use serde_json::{json, Value};

/// A browser SDK's page load: `pageload` op, URL-sourced name, `measurements` in ms and CLS unitless.
fn pageload(lcp: f64, cls: f64) -> Value {
    let end = now_ms() as f64 / 1000.0 - 30.0;
    json!({
        "type": "transaction", "transaction": "/checkout", "transaction_info": {"source": "url"},
        "platform": "javascript", "start_timestamp": end - 2.5, "timestamp": end,
        "contexts": {"trace": {"trace_id": new_event_id(), "span_id": "c000000000000001", "op": "pageload",
                               "status": "ok"}},
        "measurements": {
            "lcp": {"value": lcp, "unit": "millisecond"},
            "fcp": {"value": 490.0, "unit": "millisecond"},
            "cls": {"value": cls, "unit": ""},
            "ttfb": {"value": 99.0, "unit": "millisecond"},
            "ttfb.requestTime": {"value": 40.0, "unit": "millisecond"}
        },
        "spans": [],
    })
}

async fn web_vitals_show_their_p75(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (lcp, cls) in [(1_000.0, 0.01), (1_100.0, 0.02), (1_200.0, 0.095), (2_400.0, 0.25)] {
        send(&app, "transaction", &pageload(lcp, cls)).await;
    }
    let browser = member(&app).await;
    let page = browser.get(&page_of("/checkout", "")).await.expect(200).body;
    let vitals = between(&page, "<section id=\"web-vitals\">", "</section>");
    assert!(vitals.contains("<h2>Web vitals</h2>"), "{vitals}");
    // The third of four, read at its histogram bucket's upper bound (buckets about 12 % wide).
    for row in [
        "<tr data-vital=\"lcp\"><th scope=\"row\">LCP</th><td class=\"p75\">1259 ms</td><td class=\"measured\">4</td></tr>",
        "<tr data-vital=\"fcp\"><th scope=\"row\">FCP</th><td class=\"p75\">501 ms</td><td class=\"measured\">4</td></tr>",
        "<tr data-vital=\"cls\"><th scope=\"row\">CLS</th><td class=\"p75\">0.100</td><td class=\"measured\">4</td></tr>",
        "<tr data-vital=\"ttfb\"><th scope=\"row\">TTFB</th><td class=\"p75\">100 ms</td><td class=\"measured\">4</td></tr>",
    ] {
        assert!(vitals.contains(row), "{row} in {vitals}");
    }
    assert!(
        !vitals.contains("INP") && !vitals.contains("FID"),
        "only the vitals measured"
    );
    assert!(
        vitals.find(">LCP<").unwrap() < vitals.find(">FCP<").unwrap()
            && vitals.find(">CLS<").unwrap() < vitals.find(">TTFB<").unwrap()
    );
    let other = browser
        .get(&page_of("/checkout", "&release=none"))
        .await
        .expect(200)
        .body;
    assert!(!other.contains("web-vitals"), "no vitals in another release");
    app.stop().await;
}

/// Vitals are rolled up for every transaction (not only kept bodies) and leave with their name's row.
async fn vitals_roll_up_and_cascade_with_their_name(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    faultline::core::projects::ensure_default_project(&db, &"http://localhost/".parse().unwrap())
        .await
        .unwrap();
    let project = projects::find_project_by_slug(&db, "default")
        .await
        .unwrap()
        .unwrap()
        .id;
    let batch: Vec<_> = [(900.0, 0.05), (1_500.0, 0.2)]
        .into_iter()
        .map(|(lcp, cls)| {
            let body = pageload(lcp, cls);
            let transaction = read_transaction(&body).unwrap();
            prepare_transaction(project, transaction, body, new_event_id(), None).unwrap()
        })
        .collect();
    let keep_none = SamplingRules {
        sample_rate: 0.0,
        slowest_per_hour: 0,
    };
    record_transactions(&db, &batch, &keep_none).await.unwrap();
    record_transactions(&db, &batch[..1], &keep_none).await.unwrap();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM transaction_bodies").await, 0);
    let measured = "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM transaction_vitals WHERE measurement = 'lcp'";
    assert_eq!(count(&db, measured).await, 3, "every page load counts, none kept");
    execute(&db, "DELETE FROM transaction_names").await;
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM transaction_vitals").await,
        0,
        "gone with the name"
    );
    close_store(database, db).await;
}

async fn count(db: &Db, sql: &str) -> i64 {
    match db {
        Db::Sqlite(pool, _) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
    }
}

async fn execute(db: &Db, sql: &str) {
    match db {
        Db::Sqlite(pool, _) => sqlx::query(sql).execute(pool).await.map(drop).unwrap(),
        Db::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(drop).unwrap(),
    }
}

on_both_databases!(web_vitals_show_their_p75, vitals_roll_up_and_cascade_with_their_name);
