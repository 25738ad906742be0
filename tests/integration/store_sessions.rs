//! Store functions behind the web UI, on both databases: sessions, the audit log, and the projects
//! overview's figures.

use crate::common;

use common::{close_store, open_store, Backend};
use faultline::store::{accounts, overview, projects, sessions};

async fn sessions_expire_and_can_be_ended_elsewhere(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let user = accounts::create_user(&db, "a@example.com", "A", "x", false)
        .await
        .unwrap();
    sessions::create_session(&db, "here", user.id, "csrf-here", 60_000)
        .await
        .unwrap();
    sessions::create_session(&db, "there", user.id, "csrf-there", 60_000)
        .await
        .unwrap();
    sessions::create_session(&db, "stale", user.id, "csrf-stale", -1)
        .await
        .unwrap();
    let found = sessions::find_session(&db, "here")
        .await
        .unwrap()
        .expect("a live session");
    assert_eq!(found.user, user);
    assert_eq!(found.csrf_token, "csrf-here");
    assert!(sessions::find_session(&db, "stale").await.unwrap().is_none(), "expired");
    sessions::delete_other_sessions(&db, user.id, "here").await.unwrap();
    assert!(sessions::find_session(&db, "there").await.unwrap().is_none());
    assert!(sessions::find_session(&db, "here").await.unwrap().is_some());
    sessions::delete_session(&db, "here").await.unwrap();
    assert!(sessions::find_session(&db, "here").await.unwrap().is_none());
    close_store(database, db).await;
}

async fn the_audit_log_lists_newest_first(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let user = accounts::create_user(&db, "a@example.com", "A", "x", false)
        .await
        .unwrap();
    sessions::record_audit(&db, None, "a@example.com", "10.0.0.1", "login_failed", "wrong")
        .await
        .unwrap();
    sessions::record_audit(&db, Some(user.id), "a@example.com", "10.0.0.1", "login", "")
        .await
        .unwrap();
    let entries = sessions::recent_audit(&db, 10).await.unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["login", "login_failed"]);
    assert_eq!(entries[0].user_id, Some(user.id));
    assert_eq!(sessions::recent_audit(&db, 1).await.unwrap().len(), 1);
    close_store(database, db).await;
}

async fn an_empty_project_has_no_figures(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let public_url = url::Url::parse("http://127.0.0.1:8000/").unwrap();
    faultline::core::projects::ensure_default_project(&db, &public_url)
        .await
        .unwrap();
    let project = projects::list_projects(&db).await.unwrap().remove(0);
    assert!(overview::unresolved_counts(&db, &[project.id])
        .await
        .unwrap()
        .is_empty());
    assert!(overview::project_hourly_counts(&db, &[project.id], 0)
        .await
        .unwrap()
        .is_empty());
    assert!(overview::unresolved_counts(&db, &[]).await.unwrap().is_empty());
    close_store(database, db).await;
}

on_both_databases!(
    sessions_expire_and_can_be_ended_elsewhere,
    the_audit_log_lists_newest_first,
    an_empty_project_has_no_figures,
);
