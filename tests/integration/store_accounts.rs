//! Store functions behind accounts and the API, on both databases: users and password hashes, tokens,
//! organizations and members, teams, and releases with their details and deploys.

use crate::common;

use common::{close_store, open_store, Backend};
use faultline::domain::accounts::{hash_password, verify_password, ApiToken, Role, ScopeSet};
use faultline::store::releases::{self, Deploy, ReleaseDetails};
use faultline::store::{accounts, organizations, projects, StoreError};

async fn users_are_unique_by_email_and_keep_only_a_password_hash(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let hash = hash_password("correct horse").unwrap();
    let user = accounts::create_user(&db, " Ada@Example.com ", "Ada", &hash, true)
        .await
        .unwrap();
    assert_eq!(user.email, "ada@example.com");
    let again = accounts::create_user(&db, "ADA@example.com", "Ada", &hash, false).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))));
    let (found, stored) = accounts::find_credentials(&db, "ada@EXAMPLE.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, user);
    assert!(verify_password("correct horse", &stored));
    assert!(!stored.contains("correct horse"));
    assert_eq!(accounts::count_users(&db).await.unwrap(), 1);
    assert!(accounts::find_credentials(&db, "nobody@example.com")
        .await
        .unwrap()
        .is_none());
    close_store(database, db).await;
}

async fn tokens_are_found_by_hash_until_revoked(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let user = accounts::create_user(&db, "a@example.com", "A", "x", false)
        .await
        .unwrap();
    let token = ApiToken::generate();
    let scopes = ScopeSet::parse("org:read event:read").unwrap();
    let id = accounts::create_token(&db, user.id, &token.hash, &token.hint(), "ci", &scopes)
        .await
        .unwrap();
    let owner = accounts::find_token(&db, &token.hash).await.unwrap().unwrap();
    assert_eq!((owner.token_id, owner.user.id, owner.scopes), (id, user.id, scopes));
    assert!(
        accounts::find_token(&db, &token.plaintext).await.unwrap().is_none(),
        "the plaintext is not stored"
    );
    accounts::touch_token(&db, id).await.unwrap();
    let listed = accounts::list_tokens(&db, user.id).await.unwrap();
    assert!(listed[0].last_used_at.is_some());
    accounts::revoke_token(&db, id).await.unwrap();
    assert!(accounts::find_token(&db, &token.hash).await.unwrap().is_none());
    assert!(accounts::list_tokens(&db, user.id).await.unwrap().is_empty());
    close_store(database, db).await;
}

async fn organizations_have_a_team_members_and_owned_projects(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let acme = organizations::create_organization(&db, "acme", "Acme").await.unwrap();
    let duplicate = organizations::create_organization(&db, "acme", "Other").await;
    assert!(matches!(duplicate, Err(StoreError::Conflict(_))));
    let team = organizations::find_team(&db, acme.id, "acme")
        .await
        .unwrap()
        .expect("a team of the same slug");
    let project = projects::create_project(&db, acme.id, "web", "Web", None, &"d".repeat(32))
        .await
        .unwrap();
    assert_eq!(organizations::project_teams(&db, project.id).await.unwrap(), vec![team]);
    let user = accounts::create_user(&db, "a@example.com", "A", "x", false)
        .await
        .unwrap();
    assert!(organizations::memberships(&db, user.id).await.unwrap().is_empty());
    organizations::set_member(&db, acme.id, user.id, Role::Member)
        .await
        .unwrap();
    organizations::set_member(&db, acme.id, user.id, Role::Owner)
        .await
        .unwrap();
    let memberships = organizations::memberships(&db, user.id).await.unwrap();
    assert_eq!(memberships, vec![(acme.clone(), Role::Owner)]);
    assert_eq!(organizations::count_owners(&db, acme.id).await.unwrap(), 1);
    let in_org = projects::find_organization_project(&db, acme.id, "web").await.unwrap();
    assert_eq!(in_org, Some(project.clone()));
    let (default_org, _) = projects::ensure_default_organization(&db).await.unwrap();
    assert!(projects::find_organization_project(&db, default_org, "web")
        .await
        .unwrap()
        .is_none());
    close_store(database, db).await;
}

async fn releases_merge_details_and_keep_deploys(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let (org, _) = projects::ensure_default_organization(&db).await.unwrap();
    let web = projects::create_project(&db, org, "web", "Web", None, &"e".repeat(32))
        .await
        .unwrap();
    let api = projects::create_project(&db, org, "api", "API", None, &"f".repeat(32))
        .await
        .unwrap();
    let url = ReleaseDetails {
        url: Some("https://example.com/1".into()),
        ..ReleaseDetails::default()
    };
    releases::upsert_release(&db, org, "1.0", &[web.id], &url)
        .await
        .unwrap();
    let released = ReleaseDetails {
        date_released: Some(1_000),
        ..ReleaseDetails::default()
    };
    releases::upsert_release(&db, org, "1.0", &[api.id], &released)
        .await
        .unwrap();
    let release = releases::get_release(&db, org, "1.0").await.unwrap().unwrap();
    assert_eq!(
        release.url.as_deref(),
        Some("https://example.com/1"),
        "kept when not sent again"
    );
    assert_eq!(release.date_released, Some(1_000));
    let slugs: Vec<&str> = release.projects.iter().map(|(slug, _)| slug.as_str()).collect();
    assert_eq!(slugs, ["api", "web"]);
    releases::upsert_release(&db, org, "2.0", &[api.id], &ReleaseDetails::default())
        .await
        .unwrap();
    let listed = releases::list_releases(&db, org, None, 0, 10).await.unwrap();
    let versions: Vec<&str> = listed.iter().map(|r| r.version.as_str()).collect();
    assert_eq!(versions, ["2.0", "1.0"]);
    assert_eq!(
        releases::list_releases(&db, org, Some(web.id), 0, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    let missing = releases::update_release(&db, org, "9.9", &ReleaseDetails::default()).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))));
    let deploy = Deploy {
        id: 0,
        environment: "production".into(),
        name: None,
        url: None,
        date_started: None,
        date_finished: 5_000,
    };
    releases::create_deploy(&db, org, "1.0", &deploy).await.unwrap();
    assert_eq!(
        releases::list_deploys(&db, org, "1.0").await.unwrap()[0].environment,
        "production"
    );
    releases::delete_release(&db, org, "1.0").await.unwrap();
    assert!(releases::get_release(&db, org, "1.0").await.unwrap().is_none());
    assert!(releases::list_deploys(&db, org, "1.0").await.unwrap().is_empty());
    assert!(matches!(
        releases::delete_release(&db, org, "1.0").await,
        Err(StoreError::NotFound(_))
    ));
    close_store(database, db).await;
}

on_both_databases!(
    users_are_unique_by_email_and_keep_only_a_password_hash,
    tokens_are_found_by_hash_until_revoked,
    organizations_have_a_team_members_and_owned_projects,
    releases_merge_details_and_keep_deploys,
);
