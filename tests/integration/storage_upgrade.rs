//! An install made before the storage budget (migrations up to 0010) upgrades in place, on both
//! databases: its events stay readable, their ids still deduplicate, the stored totals are counted from
//! them, Postgres moves them into the partitioned table, and SQLite converts to incremental vacuum.

use std::str::FromStr;

use crate::common;

use common::{stored_event, Backend, TestDatabase};
use faultline::domain::ProjectId;
use faultline::store::storage::{self, Stored};
use faultline::store::{events, record_batch, Db};

const SEED: &[&str] = &[
    "INSERT INTO organizations (id, slug, name, created_at) VALUES (1, 'default', 'Default', 0)",
    "INSERT INTO projects (id, organization_id, slug, name, next_short_id, created_at) VALUES (1, 1, 'default', 'Default', 2, 0)",
    "INSERT INTO issues (id, project_id, short_id, fingerprint, grouping_version, grouping_components, title, \
     culprit, issue_type, level, metadata, status, substatus, first_seen, last_seen, times_seen, user_count, \
     is_unhandled) VALUES (1, 1, 1, 'old', 'v1', '[]', 'KeyError: old', 'x', 'error', 'error', '{}', \
     'unresolved', 'new', 0, 0, 2, 0, FALSE)",
];

/// Migrations 0001 to 0010 of `dialect`, as an older release shipped them.
async fn old_migrator(dialect: &str) -> (tempfile::TempDir, sqlx::migrate::Migrator) {
    let dir = tempfile::tempdir().unwrap();
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dialect);
    for entry in std::fs::read_dir(source).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.as_str() < "0011" {
            std::fs::copy(&path, dir.path().join(&name)).unwrap();
        }
    }
    let migrator = sqlx::migrate::Migrator::new(dir.path()).await.unwrap();
    (dir, migrator)
}

fn old_event_sql(n: i64) -> String {
    let now = faultline::store::now_ms();
    format!(
        "INSERT INTO events (project_id, issue_id, event_id, timestamp, received, level, platform, title, payload) \
         VALUES (1, 1, 'old{n:029}', {now}, {now}, 'error', 'python', 'KeyError: old', {})",
        if n == 0 { "X'0102030405'" } else { "X'010203'" }
    )
}

async fn an_older_install_upgrades_in_place(backend: Backend) {
    let database = TestDatabase::create(&backend).await;
    let mut statements: Vec<String> = SEED.iter().map(|s| s.to_string()).collect();
    statements.push(old_event_sql(0));
    statements.push(old_event_sql(1));
    match &backend {
        Backend::Sqlite => {
            let path = database.url.trim_start_matches("sqlite://");
            std::fs::create_dir_all(std::path::Path::new(path).parent().unwrap()).unwrap();
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(&database.url)
                .unwrap()
                .create_if_missing(true);
            let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
            old_migrator("sqlite").await.1.run(&pool).await.unwrap();
            for sql in &statements {
                sqlx::query(&sql.replace("FALSE", "0")).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
        Backend::Postgres(_) => {
            let pool = sqlx::PgPool::connect(&database.url).await.unwrap();
            old_migrator("postgres").await.1.run(&pool).await.unwrap();
            for sql in &statements {
                sqlx::query(
                    &sql.replace("X'", "'\\x")
                        .replace("05'", "05'::bytea")
                        .replace("03'", "03'::bytea"),
                )
                .execute(&pool)
                .await
                .unwrap();
            }
            for sequence in [
                "events_id_seq",
                "issues_id_seq",
                "projects_id_seq",
                "organizations_id_seq",
            ] {
                let sql = format!("SELECT setval('{sequence}', 2)");
                sqlx::query(&sql).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
    }

    let db = Db::connect(&database.url, 4).await.unwrap();
    db.migrate().await.unwrap();
    let project = ProjectId(1);
    assert_eq!(
        events::count_events(&db, project).await.unwrap(),
        2,
        "the events moved over"
    );
    assert_eq!(
        storage::of_project(&db, project).await.unwrap(),
        Stored { events: 2, bytes: 8 }
    );
    let mut resent = stored_event(project, "old", faultline::store::now_ms());
    resent.event_id = format!("old{:029}", 1);
    assert_eq!(
        record_batch(&db, &[resent]).await.unwrap().stored,
        vec![false],
        "old ids still deduplicate"
    );
    let fresh = stored_event(project, "new", faultline::store::now_ms());
    assert_eq!(
        record_batch(&db, &[fresh]).await.unwrap().stored,
        vec![true],
        "new events get new ids"
    );
    match &db {
        Db::Sqlite(pool, _) => {
            let mode: i64 = sqlx::query_scalar("PRAGMA auto_vacuum").fetch_one(pool).await.unwrap();
            assert_eq!(mode, 2, "converted to incremental vacuum");
        }
        Db::Postgres(pool) => {
            let partitioned: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_partitioned_table t JOIN pg_class c ON c.oid = t.partrelid WHERE c.relname = 'events')")
                    .fetch_one(pool)
                    .await
                    .unwrap();
            assert!(partitioned, "events are partitioned");
        }
    }
    db.close().await;
    database.drop_database().await;
}

on_both_databases!(an_older_install_upgrades_in_place);
