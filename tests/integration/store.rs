//! Store functions called directly, the same test body on a fresh SQLite file and a fresh Postgres
//! database; and the two migration folders kept in step.

use crate::common;

use common::{close_store, open_store, Backend};
use faultline::domain::Timestamp;
use faultline::store::{events, issues, projects, record_batch, StoreError};

#[test]
fn both_migration_folders_have_the_same_versions() {
    let names = |dir: &str| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(dir);
        let mut names: Vec<String> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let sqlite = names("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, names("postgres"));
}

async fn projects_and_keys_round_trip(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let (org, created) = projects::ensure_default_organization(&db).await.unwrap();
    assert!(created);
    assert_eq!(projects::ensure_default_organization(&db).await.unwrap(), (org, false));
    let key = "0123456789abcdef0123456789abcdef";
    let project = projects::create_project(&db, org, "web", "Web", Some("python"), key)
        .await
        .unwrap();
    let duplicate = projects::create_project(&db, org, "web", "Web", None, &"a".repeat(32)).await;
    assert!(matches!(duplicate, Err(StoreError::Conflict(_))));
    assert_eq!(projects::list_projects(&db).await.unwrap(), vec![project.clone()]);
    assert_eq!(
        projects::find_project_by_slug(&db, "web").await.unwrap(),
        Some(project.clone())
    );
    let record = projects::find_key(&db, key).await.unwrap().unwrap();
    assert_eq!(
        (record.project_id, record.key_enabled, record.project_enabled),
        (project.id, true, true)
    );
    projects::set_key_enabled(&db, key, false).await.unwrap();
    projects::set_scrub_keys(&db, project.id, &["iban".to_owned()])
        .await
        .unwrap();
    let record = projects::find_key(&db, key).await.unwrap().unwrap();
    assert!(!record.key_enabled);
    assert_eq!(record.scrub_keys, vec!["iban".to_owned()]);
    assert!(projects::find_key(&db, &"b".repeat(32)).await.unwrap().is_none());
    assert_eq!(projects::list_keys(&db, project.id).await.unwrap().len(), 1);
    close_store(database, db).await;
}

async fn a_batch_aggregates_issues_and_skips_resent_ids(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let (org, _) = projects::ensure_default_organization(&db).await.unwrap();
    let project = projects::create_project(&db, org, "web", "Web", None, &"c".repeat(32))
        .await
        .unwrap();
    let hour = 1_700_000_000_000 / 3_600_000 * 3_600_000;
    let first = common::stored_event(project.id, "fp-a", hour + 1_000);
    let mut batch = vec![
        first.clone(),
        common::stored_event(project.id, "fp-a", hour + 2_000),
        common::stored_event(project.id, "fp-b", hour + 3_000),
    ];
    batch.push(first.clone()); // the same id twice in one batch
    let outcome = record_batch(&db, &batch).await.unwrap();
    assert_eq!(outcome.stored, vec![true, true, true, false]);
    assert_eq!(outcome.new_issues.len(), 2);
    let resent = record_batch(&db, &[first]).await.unwrap();
    assert_eq!(resent.stored, vec![false]);
    assert_eq!(events::count_events(&db, project.id).await.unwrap(), 3);
    let listed = issues::list_issues(&db, project.id).await.unwrap();
    let a = listed.iter().find(|i| i.fingerprint == "fp-a").unwrap();
    assert_eq!(
        (
            a.times_seen,
            a.user_count,
            a.first_seen.as_millis(),
            a.last_seen.as_millis()
        ),
        (2, 1, hour + 1_000, hour + 2_000)
    );
    assert_eq!(a.first_release.as_deref(), Some("shop@1.0.0"));
    let mut numbers: Vec<i64> = listed.iter().map(|i| i.short_id_number).collect();
    numbers.sort();
    assert_eq!(numbers, vec![1, 2]);
    let tags = issues::tag_counts(&db, a.id).await.unwrap();
    assert!(tags.contains(&issues::TagCount {
        key: "browser".into(),
        value: "Firefox".into(),
        times_seen: 2,
        first_seen: Timestamp::from_millis(hour + 1_000),
        last_seen: Timestamp::from_millis(hour + 2_000),
    }));
    assert_eq!(issues::hourly_counts(&db, a.id).await.unwrap(), vec![(hour, 2)]);
    assert_eq!(
        issues::latest_release(&db, project.id).await.unwrap().as_deref(),
        Some("shop@1.0.0")
    );
    let found = issues::find_by_short_id(&db, project.id, a.short_id_number)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, a.id);
    assert_eq!(issues::get_issue(&db, a.id).await.unwrap().unwrap(), found);
    let stored = events::list_issue_events(&db, a.id, 10).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert!(stored[0].timestamp >= stored[1].timestamp, "newest first");
    assert_eq!(stored[0].payload_json().unwrap()["event_id"], "x");
    close_store(database, db).await;
}

on_both_databases!(
    projects_and_keys_round_trip,
    a_batch_aggregates_issues_and_skips_resent_ids
);
