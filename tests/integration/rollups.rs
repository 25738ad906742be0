//! The transaction rollups' lifecycle, on both databases: minutes older than a day fold into their hour
//! (the Performance page's figures over the week stay exactly what they were, from far fewer rows), and
//! rollups older than the project's retention go with its events.

use crate::common;

use common::{close_store, new_event_id, open_store, operator_core, Backend};
use faultline::core::performance::{record_transactions, summaries, TransactionSummary};
use faultline::core::retention::sweep;
use faultline::core::transaction_bodies::{prepare_transaction, IncomingTransaction};
use faultline::domain::performance::{read_transaction, SamplingRules};
use faultline::domain::ProjectId;
use faultline::store::{now_ms, Db};
use serde_json::json;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// A transaction of `name` lasting `ms`, ending at `end_ms`, with one db span of half its length and an
/// LCP of three times its length.
fn incoming(project_id: ProjectId, name: &str, end_ms: i64, ms: f64) -> IncomingTransaction {
    let end = end_ms as f64 / 1000.0;
    let start = end - ms / 1000.0;
    let body = json!({
        "type": "transaction", "transaction": name, "transaction_info": {"source": "route"},
        "start_timestamp": start, "timestamp": end, "environment": "production",
        "contexts": {"trace": {"trace_id": new_event_id(), "span_id": "a0a0a0a0a0a0a0a0", "op": "http.server",
                               "status": if ms > 500.0 { "internal_error" } else { "ok" }}},
        "spans": [{"span_id": "b0b0b0b0b0b0b0b0", "parent_span_id": "a0a0a0a0a0a0a0a0", "op": "db",
                   "description": "SELECT 1", "start_timestamp": start, "timestamp": start + ms / 2000.0}],
        "measurements": {"lcp": {"value": ms * 3.0, "unit": "millisecond"}},
    });
    let transaction = read_transaction(&body).unwrap();
    prepare_transaction(project_id, transaction, body, new_event_id(), None).unwrap()
}

async fn default_project(db: &Db) -> ProjectId {
    faultline::core::projects::ensure_default_project(db, &"http://localhost/".parse().unwrap())
        .await
        .unwrap();
    faultline::store::projects::find_project_by_slug(db, "default")
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn rows(db: &Db, table: &str) -> i64 {
    scalar(db, &format!("SELECT CAST(COUNT(*) AS BIGINT) FROM {table}")).await
}

async fn scalar(db: &Db, sql: &str) -> i64 {
    match db {
        Db::Sqlite(pool, _) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
    }
}

async fn week(db: &Db, project: ProjectId, now: i64) -> Vec<TransactionSummary> {
    summaries(db, project, now - 7 * DAY_MS, None).await.unwrap()
}

async fn minutes_older_than_a_day_fold_into_hours_with_the_same_figures(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let project = default_project(&db).await;
    let now = now_ms();
    // Two days ago, twelve transactions over six minutes of one hour; and six in the last hour.
    let hour = now - 2 * DAY_MS - (now - 2 * DAY_MS) % HOUR_MS;
    let old: Vec<_> = (0..12)
        .map(|i| {
            incoming(
                project,
                "/checkout/",
                hour + (i % 6 + 1) * 7 * 60_000,
                40.0 * (i + 1) as f64,
            )
        })
        .collect();
    let recent: Vec<_> = (0..6)
        .map(|i| incoming(project, "/checkout/", now - (i + 1) * 60_000, 100.0))
        .collect();
    let rules = SamplingRules {
        sample_rate: 0.0,
        slowest_per_hour: 0,
    };
    record_transactions(&db, &old, &rules).await.unwrap();
    record_transactions(&db, &recent, &rules).await.unwrap();
    let before = week(&db, project, now).await;
    let minutes_before = rows(&db, "transaction_minutes").await;
    assert_eq!(minutes_before, 12, "six old minutes and six recent ones");

    sweep(&operator_core(&db), 90, now).await.unwrap();

    assert_eq!(
        week(&db, project, now).await,
        before,
        "the week's figures do not change"
    );
    assert_eq!(before[0].count, 18);
    assert_eq!(
        rows(&db, "transaction_minutes").await,
        7,
        "the old hour is one row; the last day stays per minute"
    );
    let vital_minutes = "SELECT CAST(COUNT(DISTINCT minute) AS BIGINT) FROM transaction_vitals";
    let measured = "SELECT CAST(SUM(count) AS BIGINT) FROM transaction_vitals";
    assert_eq!(
        (scalar(&db, vital_minutes).await, scalar(&db, measured).await),
        (7, 18),
        "vitals fold alike"
    );
    let summed = summaries(&db, project, hour, None).await.unwrap();
    assert_eq!(summed[0].count, 18, "the folded hour counts from its start");
    sweep(&operator_core(&db), 90, now).await.unwrap();
    assert_eq!(week(&db, project, now).await, before, "folding twice changes nothing");
    close_store(database, db).await;
}

async fn rollups_older_than_the_retention_are_deleted(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let project = default_project(&db).await;
    let now = now_ms();
    let rules = SamplingRules {
        sample_rate: 0.0,
        slowest_per_hour: 0,
    };
    let batch = [
        incoming(project, "/old/", now - 100 * DAY_MS, 80.0),
        incoming(project, "/old/", now - 100 * DAY_MS + 3 * 60_000, 90.0),
        incoming(project, "/new/", now - 60_000, 90.0),
    ];
    record_transactions(&db, &batch, &rules).await.unwrap();

    sweep(&operator_core(&db), 90, now).await.unwrap();

    let everything = summaries(&db, project, 0, None).await.unwrap();
    let names: Vec<_> = everything.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["/new/"],
        "the 100-day-old rollups are gone with the 90-day retention"
    );
    let tables = [
        "transaction_minutes",
        "transaction_buckets",
        "transaction_span_ops",
        "transaction_vitals",
    ];
    for table in tables {
        assert_eq!(rows(&db, table).await, 1, "{table} keeps only the recent minute");
    }
    close_store(database, db).await;
}

on_both_databases!(
    minutes_older_than_a_day_fold_into_hours_with_the_same_figures,
    rollups_older_than_the_retention_are_deleted,
);
