//! Migration 0017 on an install with alerts waiting, on both databases: SQLite rebuilds `alert_fires` (to
//! let metric fires leave `issue_id` empty) and Postgres alters it in place; either way an issue fire
//! written before the upgrade is still dispatched with its issue, and the old rule stays an issue rule.

use crate::common;

use std::str::FromStr;

use common::{Backend, TestDatabase};
use faultline::domain::ProjectId;
use faultline::store::{alerts, Db};

const SEED: &[&str] = &[
    "INSERT INTO organizations (id, slug, name, created_at) VALUES (1, 'default', 'Default', 0)",
    "INSERT INTO projects (id, organization_id, slug, name, next_short_id, created_at) VALUES (1, 1, 'default', 'Default', 2, 0)",
    "INSERT INTO issues (id, project_id, short_id, fingerprint, grouping_version, grouping_components, title, \
     culprit, issue_type, level, metadata, status, substatus, first_seen, last_seen, times_seen, user_count, \
     is_unhandled) VALUES (1, 1, 1, 'old', 'v1', '[]', 'KeyError: old', 'x', 'error', 'error', '{}', \
     'unresolved', 'new', 0, 0, 2, 0, FALSE)",
    "INSERT INTO alert_rules (id, project_id, name, enabled, on_new_issue, on_regression, cooldown_minutes, \
     created_at, updated_at) VALUES (1, 1, 'Old rule', TRUE, TRUE, TRUE, 30, 0, 0)",
    "INSERT INTO alert_fires (rule_id, issue_id, reason, event_id, created_at, due_at) \
     VALUES (1, 1, 'new_issue', 'e1', 0, 0)",
];

/// Migrations 0001 to 0016 of `dialect`, as the release before metric alerts shipped them.
async fn migrator_before_0017(dialect: &str) -> (tempfile::TempDir, sqlx::migrate::Migrator) {
    let dir = tempfile::tempdir().unwrap();
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dialect);
    for entry in std::fs::read_dir(source).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.as_str() < "0017" {
            std::fs::copy(&path, dir.path().join(&name)).unwrap();
        }
    }
    let migrator = sqlx::migrate::Migrator::new(dir.path()).await.unwrap();
    (dir, migrator)
}

async fn seed_before_0017(database: &TestDatabase, backend: &Backend) {
    match backend {
        Backend::Sqlite => {
            let path = database.url.trim_start_matches("sqlite://");
            std::fs::create_dir_all(std::path::Path::new(path).parent().unwrap()).unwrap();
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(&database.url)
                .unwrap()
                .create_if_missing(true)
                .foreign_keys(true);
            let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
            migrator_before_0017("sqlite").await.1.run(&pool).await.unwrap();
            for sql in SEED {
                sqlx::query(sql).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
        Backend::Postgres(_) => {
            let pool = sqlx::PgPool::connect(&database.url).await.unwrap();
            migrator_before_0017("postgres").await.1.run(&pool).await.unwrap();
            for sql in SEED {
                sqlx::query(sql).execute(&pool).await.unwrap();
            }
            for sequence in [
                "issues_id_seq",
                "projects_id_seq",
                "organizations_id_seq",
                "alert_rules_id_seq",
            ] {
                sqlx::query(&format!("SELECT setval('{sequence}', 2)"))
                    .execute(&pool)
                    .await
                    .unwrap();
            }
            pool.close().await;
        }
    }
}

async fn a_waiting_issue_fire_survives_the_metric_alerts_migration(backend: Backend) {
    let database = TestDatabase::create(&backend).await;
    seed_before_0017(&database, &backend).await;
    let db = Db::connect(&database.url, 4).await.unwrap();
    db.migrate().await.unwrap();

    let rules = alerts::list_rules(&db, ProjectId(1)).await.unwrap();
    assert_eq!(rules.len(), 1, "the old rule is an issue rule");
    assert!(alerts::list_metric_rules(&db, ProjectId(1)).await.unwrap().is_empty());
    let messages = alerts::dispatch_fires(&db, faultline::store::now_ms(), 0, &|_| None)
        .await
        .unwrap();
    assert_eq!(messages, 1, "the waiting fire became a message");
    let message_id: i64 = match &db {
        Db::Sqlite(pool, _) => sqlx::query_scalar("SELECT id FROM alert_messages")
            .fetch_one(pool)
            .await
            .unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar("SELECT id FROM alert_messages")
            .fetch_one(pool)
            .await
            .unwrap(),
    };
    let content = alerts::load_message(&db, message_id).await.unwrap().unwrap();
    assert_eq!(content.issues.len(), 1);
    assert_eq!(content.issues[0].title, "KeyError: old");
    assert!(content.metrics.is_empty());
    db.close().await;
    database.drop_database().await;
}

on_both_databases!(a_waiting_issue_fire_survives_the_metric_alerts_migration);
