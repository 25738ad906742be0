//! The storage budget and what it rests on, on both databases: every write and delete keeps the stored
//! totals exact; eviction thins the issues with most events down to the budget, keeps every issue's first
//! and latest event and never an only event, leaves issue counters alone, and forgets evicted ids;
//! deduplication holds across days (Postgres partitions); a day past retention goes as a whole partition
//! on Postgres; SQLite gives freed pages back to the file system.

use crate::common;

use common::{close_store, open_store, operator_core, stored_event, Backend};
use faultline::core::{retention as core_retention, storage as budget};
use faultline::domain::compaction::IndexBaselines;
use faultline::domain::storage::stored_bytes;
use faultline::domain::{IssueId, ProjectId};
use faultline::store::storage::{self, Stored};
use faultline::store::{compaction, issues, partitions, projects, record_batch, retention, Db, NewEvent};

const DAY_MS: i64 = 24 * 3_600_000;

async fn default_project(db: &Db) -> ProjectId {
    faultline::core::projects::ensure_default_project(db, &"http://localhost/".parse().unwrap())
        .await
        .unwrap();
    projects::find_project_by_slug(db, "default").await.unwrap().unwrap().id
}

/// The issue's stored event times, oldest first.
async fn event_times(db: &Db, issue: IssueId) -> Vec<i64> {
    let sql = "SELECT timestamp FROM events WHERE issue_id = $1 ORDER BY timestamp, id";
    match db {
        Db::Sqlite(pool, _) => sqlx::query_scalar(sql).bind(issue).fetch_all(pool).await.unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar(sql).bind(issue).fetch_all(pool).await.unwrap(),
    }
}

/// What the events table really holds, to compare with the kept totals.
async fn counted(db: &Db) -> Stored {
    let sql = "SELECT COUNT(*), CAST(COALESCE(SUM(LENGTH(payload)), 0) AS BIGINT) FROM events";
    let (events, bytes): (i64, i64) = match db {
        Db::Sqlite(pool, _) => sqlx::query_as(sql).fetch_one(pool).await.unwrap(),
        Db::Postgres(pool) => sqlx::query_as(sql).fetch_one(pool).await.unwrap(),
    };
    Stored { events, bytes }
}

fn series(project: ProjectId, fingerprint: &str, count: i64, first_ms: i64) -> Vec<NewEvent> {
    (0..count)
        .map(|i| stored_event(project, fingerprint, first_ms + i * 60_000))
        .collect()
}

async fn issue_of(db: &Db, project: ProjectId, fingerprint: &str) -> faultline::store::issues::Issue {
    let all = issues::list_issues(db, project).await.unwrap();
    all.into_iter()
        .find(|i| i.title.ends_with(fingerprint))
        .expect("the issue")
}

async fn totals_follow_every_write_and_delete(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let core = operator_core(&db);
    let project = default_project(&db).await;
    let now = faultline::store::now_ms();
    let mut batch = series(project, "counted", 3, now - 3 * DAY_MS);
    batch.push(batch[0].clone()); // a re-send in the same batch
    record_batch(&db, &batch).await.unwrap();
    record_batch(&db, &batch[1..2]).await.unwrap(); // and a later one
    record_batch(&db, &series(project, "deleted", 2, now - DAY_MS))
        .await
        .unwrap();
    assert_eq!(storage::total(&db).await.unwrap(), counted(&db).await);
    assert_eq!(storage::total(&db).await.unwrap().events, 5);

    let doomed = issue_of(&db, project, "deleted").await;
    let org = faultline::store::organizations::find_organization(&db, "default")
        .await
        .unwrap()
        .unwrap();
    let access = faultline::core::Access::operator(org);
    faultline::core::issues::delete(&core, &access, &[doomed.id])
        .await
        .unwrap();
    assert_eq!(
        storage::total(&db).await.unwrap(),
        counted(&db).await,
        "an issue's deletion"
    );
    assert_eq!(storage::of_project(&db, project).await.unwrap().events, 3);

    core_retention::sweep(&core, 2, now).await.unwrap();
    assert_eq!(storage::total(&db).await.unwrap(), counted(&db).await, "retention");
    assert_eq!(storage::total(&db).await.unwrap().events, 0);
    close_store(database, db).await;
}

async fn eviction_thins_the_biggest_issues_and_keeps_first_and_latest(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let core = operator_core(&db);
    let project = default_project(&db).await;
    let start = faultline::store::now_ms() - 2 * DAY_MS;
    // Payloads big enough that the events are most of the database (a Postgres database's catalogs
    // alone take several megabytes, which the budget counts too).
    const PAYLOAD: usize = 250_000;
    let bulky = |mut events: Vec<NewEvent>| {
        for (i, event) in events.iter_mut().enumerate() {
            event.payload = noise(PAYLOAD, i as u32);
        }
        events
    };
    let crowd = bulky(series(project, "crowd", 40, start));
    record_batch(&db, &crowd).await.unwrap();
    record_batch(&db, &bulky(series(project, "pair", 2, start)))
        .await
        .unwrap();
    record_batch(&db, &bulky(series(project, "single", 1, start)))
        .await
        .unwrap();
    let used = budget::stored(&core).await.unwrap();
    let stored = counted(&db).await;
    let events = stored_bytes(stored.events, stored.bytes);
    assert!(events > 43 * PAYLOAD as i64 && used >= events, "{used} {events}");

    // A budget whose low-water mark (85 %) leaves room for 60 % of the events beside everything else.
    let limit = (used - events * 4 / 10) * 100 / 85;
    let evicted = budget::enforce(&core, limit).await.unwrap();
    assert!(evicted.events >= 10, "{evicted:?}");
    assert_eq!(evicted.short_by, 0);
    let after = budget::stored(&core).await.unwrap();
    assert!(
        after <= limit * 85 / 100 + PAYLOAD as i64 * 2,
        "{after} after evicting down from {used} to {limit}"
    );
    assert_eq!(storage::total(&db).await.unwrap(), counted(&db).await);

    let crowd_issue = issue_of(&db, project, "crowd").await;
    let kept = event_times(&db, crowd_issue.id).await;
    assert_eq!(kept.first(), Some(&start), "the first event stays");
    assert_eq!(kept.last(), Some(&(start + 39 * 60_000)), "the latest event stays");
    assert_eq!(kept.len() as i64, 40 - evicted.events, "only the crowd was thinned");
    assert_eq!(crowd_issue.times_seen, 40, "counters count every accepted event");
    assert_eq!(event_times(&db, issue_of(&db, project, "pair").await.id).await.len(), 2);
    assert_eq!(
        event_times(&db, issue_of(&db, project, "single").await.id).await.len(),
        1
    );
    // An evicted event's id goes with it, so the ids stay bounded by what is stored.
    assert_eq!(stored_ids(&db).await, counted(&db).await.events);
    close_store(database, db).await;
}

fn noise(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| ((i ^ seed.wrapping_mul(0x9e37_79b9)).wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}

async fn stored_ids(db: &Db) -> i64 {
    let sql = "SELECT COUNT(*) FROM event_ids";
    match db {
        Db::Sqlite(pool, _) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
    }
}

async fn a_budget_that_cannot_be_met_never_takes_an_only_event(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let core = operator_core(&db);
    let project = default_project(&db).await;
    let now = faultline::store::now_ms();
    for fingerprint in ["a", "b", "c"] {
        record_batch(&db, &series(project, fingerprint, 2, now - DAY_MS))
            .await
            .unwrap();
    }
    let evicted = budget::enforce(&core, 1_000).await.unwrap();
    assert_eq!(evicted.events, 0);
    assert!(evicted.short_by > 0, "{evicted:?}");
    assert_eq!(counted(&db).await.events, 6);
    close_store(database, db).await;
}

async fn deduplication_holds_across_days(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let project = default_project(&db).await;
    let now = faultline::store::now_ms();
    let first = stored_event(project, "drift", now - 5 * DAY_MS);
    let mut resent = first.clone();
    resent.timestamp = faultline::domain::Timestamp::from_millis(now);
    record_batch(&db, std::slice::from_ref(&first)).await.unwrap();
    let outcome = record_batch(&db, &[resent]).await.unwrap();
    assert_eq!(outcome.stored, vec![false], "same id, another day: still a duplicate");
    assert_eq!(issue_of(&db, project, "drift").await.times_seen, 1);
    close_store(database, db).await;
}

async fn a_day_past_retention_goes_whole_and_its_ids_with_it(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let core = operator_core(&db);
    let project = default_project(&db).await;
    let now = faultline::store::now_ms();
    let old = now - 100 * DAY_MS;
    partitions::ensure(&db, old, old).await.unwrap();
    let gone = series(project, "old", 5, old);
    record_batch(&db, &gone).await.unwrap();
    record_batch(&db, &series(project, "recent", 2, now - DAY_MS))
        .await
        .unwrap();
    let swept = core_retention::sweep(&core, 90, now).await.unwrap();
    assert_eq!(swept.events, 5);
    assert_eq!(swept.issues, 1);
    let expected_days = if matches!(db, Db::Postgres(_)) { 1 } else { 0 };
    assert_eq!(swept.days, expected_days, "Postgres drops the day's partition");
    assert_eq!(storage::total(&db).await.unwrap(), counted(&db).await);
    // The expired ids are forgotten: a re-send is a new event now.
    let mut again = gone[0].clone();
    again.timestamp = faultline::domain::Timestamp::from_millis(now);
    assert_eq!(record_batch(&db, &[again]).await.unwrap().stored, vec![true]);
    close_store(database, db).await;
}

async fn sqlite_gives_freed_pages_back(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    if !matches!(db, Db::Sqlite(..)) {
        // Postgres reuses freed space inside its files; partitions are what it gives back.
        close_store(database, db).await;
        return;
    }
    let core = operator_core(&db);
    let project = default_project(&db).await;
    let now = faultline::store::now_ms();
    let noise: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    for chunk in 0..10 {
        let batch: Vec<NewEvent> = (0..200)
            .map(|i| {
                let mut event = stored_event(project, "bulky", now - 10 * DAY_MS + chunk * 1_000 + i);
                event.payload = noise.clone();
                event
            })
            .collect();
        record_batch(&db, &batch).await.unwrap();
    }
    let before = retention::database_bytes(&db).await.unwrap();
    assert!(before > 40_000_000, "{before}");
    core_retention::sweep(&core, 7, now).await.unwrap();
    let after = retention::database_bytes(&db).await.unwrap();
    // Down to what is used plus the 16 MB kept for the next writes.
    assert!(after < before / 2, "the file shrank from {before} to {after} bytes");
    close_store(database, db).await;
}

/// An issue whose tags take 20,000 values, seen `times` times each (every later sighting updates the
/// value's indexed count).
async fn tag_many_values(db: &Db, project: ProjectId, times: usize) {
    let now = faultline::store::now_ms();
    for _ in 0..times {
        for batch in 0..20 {
            let events: Vec<NewEvent> = (0..10)
                .map(|i| {
                    let mut event = stored_event(project, "tagged", now);
                    event.facets = (0..100)
                        .map(|v| ("url".to_owned(), format!("https://shop.example/items/{batch}/{i}/{v}")))
                        .collect();
                    event
                })
                .collect();
            record_batch(db, &events).await.unwrap();
        }
    }
}

async fn index_bytes(db: &Db, name: &str) -> Option<i64> {
    let sizes = compaction::index_sizes(db).await.unwrap();
    sizes.into_iter().find(|size| size.name == name).map(|size| size.bytes)
}

async fn an_index_bloated_by_counter_updates_is_rebuilt(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let core = operator_core(&db);
    let project = default_project(&db).await;
    let mut baselines = IndexBaselines::default();
    tag_many_values(&db, project, 1).await;
    budget::vacuum_if_leader(&core, "here", 60_000, &mut baselines)
        .await
        .unwrap();
    let Some(first) = index_bytes(&db, "issue_tags_top_values").await else {
        // SQLite keeps no separate index files: nothing to measure, nothing to rebuild.
        assert!(matches!(db, Db::Sqlite(..)));
        assert!(compaction::index_sizes(&db).await.unwrap().is_empty());
        return close_store(database, db).await;
    };

    tag_many_values(&db, project, 3).await;
    let bloated = index_bytes(&db, "issue_tags_top_values").await.unwrap();
    assert!(
        bloated > first * 3 / 2,
        "updates grew the index from {first} to {bloated} bytes"
    );
    budget::vacuum_if_leader(&core, "here", 60_000, &mut baselines)
        .await
        .unwrap();
    let rebuilt = index_bytes(&db, "issue_tags_top_values").await.unwrap();
    assert!(rebuilt < bloated * 2 / 3, "rebuilt from {bloated} to {rebuilt} bytes");
    let tags = issues::top_tag_values(&db, issue_of(&db, project, "tagged").await.id, 3)
        .await
        .unwrap();
    assert_eq!(tags.len(), 3, "the rebuilt index still serves the issue page");
    assert_eq!(tags[0].times_seen, 4);
    close_store(database, db).await;
}

on_both_databases!(
    an_index_bloated_by_counter_updates_is_rebuilt,
    totals_follow_every_write_and_delete,
    eviction_thins_the_biggest_issues_and_keeps_first_and_latest,
    a_budget_that_cannot_be_met_never_takes_an_only_event,
    deduplication_holds_across_days,
    a_day_past_retention_goes_whole_and_its_ids_with_it,
    sqlite_gives_freed_pages_back,
);
