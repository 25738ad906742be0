//! Retention by age: events older than their project's retention expire, then the issues left without
//! events; an issue that keeps a recent event keeps its exact counters; a project's own retention wins over
//! the default; and one process at a time holds the sweep's lease. Both databases.

use crate::common;

use common::{close_store, open_store, operator_core, stored_event, Backend};
use faultline::core::retention::{sweep, sweep_if_leader, Swept};
use faultline::store::{issue_expiry, issues, projects, record_batch, retention, Db};

const DAY_MS: i64 = 24 * 3_600_000;

async fn default_project(db: &Db) -> faultline::domain::ids::ProjectId {
    faultline::core::projects::ensure_default_project(db, &"http://localhost/".parse().unwrap())
        .await
        .unwrap();
    projects::find_project_by_slug(db, "default").await.unwrap().unwrap().id
}

async fn old_events_and_then_empty_issues_expire(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let core = operator_core(&db);
    let project = default_project(&db).await;
    let now = faultline::store::now_ms();
    let old = now - 100 * DAY_MS;
    record_batch(
        &db,
        &[
            stored_event(project, "gone", old),
            stored_event(project, "gone", old + 1),
        ],
    )
    .await
    .unwrap();
    record_batch(
        &db,
        &[
            stored_event(project, "kept", old),
            stored_event(project, "kept", now - DAY_MS),
        ],
    )
    .await
    .unwrap();
    let swept = sweep(&core, 90, now).await.unwrap();
    assert_eq!(
        swept,
        Swept {
            events: 3,
            issues: 1,
            days: 0,
            bodies: 0,
            attachments: 0,
            bundles: 0,
        }
    );
    let left = issues::list_issues(&db, project).await.unwrap();
    assert_eq!(left.len(), 1, "the issue without events is gone");
    assert!(left[0].title.ends_with("kept"));
    assert_eq!(left[0].times_seen, 2, "counters keep counting every accepted event");
    assert_eq!(
        sweep(&core, 90, now).await.unwrap(),
        Swept::default(),
        "nothing left to expire"
    );
    close_store(database, db).await;
}

async fn a_projects_own_retention_wins_over_the_default(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let core = operator_core(&db);
    let project = default_project(&db).await;
    let now = faultline::store::now_ms();
    record_batch(&db, &[stored_event(project, "week-old", now - 8 * DAY_MS)])
        .await
        .unwrap();
    assert_eq!(sweep(&core, 90, now).await.unwrap().events, 0);
    retention::set_retention(&db, project, Some(7)).await.unwrap();
    let swept = sweep(&core, 90, now).await.unwrap();
    assert_eq!((swept.events, swept.issues), (1, 1), "{swept:?}");
    close_store(database, db).await;
}

async fn one_process_at_a_time_holds_the_sweep(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let core = operator_core(&db);
    default_project(&db).await;
    let lease = 60_000;
    assert!(sweep_if_leader(&core, "process-a", 90, lease).await.unwrap().is_some());
    assert!(
        sweep_if_leader(&core, "process-b", 90, lease).await.unwrap().is_none(),
        "a holds it"
    );
    assert!(
        sweep_if_leader(&core, "process-a", 90, lease).await.unwrap().is_some(),
        "a renews it"
    );
    let now = faultline::store::now_ms();
    assert!(
        retention::take_lease(&db, "retention", "process-b", now + 2 * lease, now + 3 * lease)
            .await
            .unwrap(),
        "an expired lease is taken over"
    );
    close_store(database, db).await;
}

/// More emptied issues than one expiry batch (200) all go, with their counters, in one sweep.
async fn a_sweep_expires_emptied_issues_batch_after_batch(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let core = operator_core(&db);
    let project = default_project(&db).await;
    let now = faultline::store::now_ms();
    let old = now - 100 * DAY_MS;
    let events: Vec<_> = (0..450)
        .map(|i| {
            let mut event = stored_event(project, &format!("old-{i}"), old + i * 60_000);
            event.user_key = Some(format!("id:{i}"));
            event
        })
        .collect();
    record_batch(&db, &events).await.unwrap();
    record_batch(&db, &[stored_event(project, "recent", now - DAY_MS)])
        .await
        .unwrap();
    let doomed = issues::list_issues(&db, project).await.unwrap();
    let sample = doomed.iter().find(|issue| issue.title.ends_with("old-7")).unwrap().id;
    assert!(!issues::tag_counts(&db, sample).await.unwrap().is_empty());
    let swept = sweep(&core, 90, now).await.unwrap();
    assert_eq!((swept.events, swept.issues), (450, 450), "{swept:?}");
    let left = issues::list_issues(&db, project).await.unwrap();
    assert_eq!(left.len(), 1);
    assert!(left[0].title.ends_with("recent"));
    assert!(issues::get_issue(&db, sample).await.unwrap().is_none());
    assert!(issues::tag_counts(&db, sample).await.unwrap().is_empty());
    assert!(issues::hourly_counts(&db, sample).await.unwrap().is_empty());
    close_store(database, db).await;
}

/// Once a sweep has marked an emptied issue expired, a new event with its fingerprint starts a new issue
/// (its counters may already be half deleted), and the next sweep finishes the old one.
async fn an_event_for_an_issue_being_expired_starts_a_new_one(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let core = operator_core(&db);
    let project = default_project(&db).await;
    let now = faultline::store::now_ms();
    record_batch(&db, &[stored_event(project, "comeback", now - 100 * DAY_MS)])
        .await
        .unwrap();
    let cutoff = now - 90 * DAY_MS;
    assert_eq!(retention::expire_events(&db, project, cutoff, 10).await.unwrap(), 1);
    let marked = issue_expiry::mark_expired_issues(&db, project, cutoff, 10)
        .await
        .unwrap();
    assert_eq!(marked.len(), 1);
    record_batch(&db, &[stored_event(project, "comeback", now)])
        .await
        .unwrap();
    let both = issues::list_issues(&db, project).await.unwrap();
    assert_eq!(both.len(), 2, "the new event did not join the issue being expired");
    let fresh = both.iter().find(|issue| issue.id != marked[0]).unwrap();
    assert_eq!(fresh.times_seen, 1);
    assert_eq!(sweep(&core, 90, now).await.unwrap().issues, 1);
    let left = issues::list_issues(&db, project).await.unwrap();
    assert_eq!(left.iter().map(|issue| issue.id).collect::<Vec<_>>(), vec![fresh.id]);
    close_store(database, db).await;
}

on_both_databases!(
    old_events_and_then_empty_issues_expire,
    a_sweep_expires_emptied_issues_batch_after_batch,
    an_event_for_an_issue_being_expired_starts_a_new_one,
    a_projects_own_retention_wins_over_the_default,
    one_process_at_a_time_holds_the_sweep,
);
