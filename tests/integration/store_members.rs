//! Store functions behind the settings pages, on both databases: members listed and removed, passwords
//! replaced, a user's own tokens revoked, projects renamed, and their extra scrubbing keys read back.

use crate::common;
use faultline::domain::{ProjectId, UserId};

use common::{close_store, open_store, Backend};
use faultline::domain::accounts::{hash_password, verify_password, ApiToken, Role, ScopeSet};
use faultline::store::{accounts, organizations, projects, StoreError};

async fn members_are_listed_by_email_and_removed(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let org = organizations::create_organization(&db, "acme", "Acme").await.unwrap();
    let other = organizations::create_organization(&db, "other", "Other").await.unwrap();
    let zed = accounts::create_user(&db, "zed@example.com", "Zed", "x", false)
        .await
        .unwrap();
    let amy = accounts::create_user(&db, "amy@example.com", "Amy", "x", false)
        .await
        .unwrap();
    organizations::set_member(&db, org.id, zed.id, Role::Owner)
        .await
        .unwrap();
    organizations::set_member(&db, org.id, amy.id, Role::Member)
        .await
        .unwrap();
    organizations::set_member(&db, other.id, amy.id, Role::Admin)
        .await
        .unwrap();

    let members = organizations::list_members(&db, org.id).await.unwrap();
    let listed: Vec<(&str, Role)> = members.iter().map(|m| (m.email.as_str(), m.role)).collect();
    assert_eq!(
        listed,
        [("amy@example.com", Role::Member), ("zed@example.com", Role::Owner)]
    );

    organizations::remove_member(&db, org.id, amy.id).await.unwrap();
    let members = organizations::list_members(&db, org.id).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].user_id, zed.id);
    assert!(matches!(
        organizations::remove_member(&db, org.id, amy.id).await,
        Err(StoreError::NotFound(_))
    ));
    let elsewhere = organizations::list_members(&db, other.id).await.unwrap();
    assert_eq!(elsewhere[0].role, Role::Admin, "the other organization keeps her");
    close_store(database, db).await;
}

async fn a_password_is_replaced(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let user = accounts::create_user(
        &db,
        "a@example.com",
        "A",
        &hash_password("old password").unwrap(),
        false,
    )
    .await
    .unwrap();
    accounts::set_password(&db, user.id, &hash_password("new password").unwrap())
        .await
        .unwrap();
    let (_, stored) = accounts::find_credentials(&db, "a@example.com").await.unwrap().unwrap();
    assert!(verify_password("new password", &stored));
    assert!(!verify_password("old password", &stored));
    assert!(matches!(
        accounts::set_password(&db, UserId(user.id.get() + 100), "x").await,
        Err(StoreError::NotFound(_))
    ));
    close_store(database, db).await;
}

async fn only_the_owner_revokes_a_token(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let ada = accounts::create_user(&db, "ada@example.com", "Ada", "x", false)
        .await
        .unwrap();
    let bob = accounts::create_user(&db, "bob@example.com", "Bob", "x", false)
        .await
        .unwrap();
    let token = ApiToken::generate();
    let scopes = ScopeSet::parse("org:read").unwrap();
    let id = accounts::create_token(&db, ada.id, &token.hash, &token.hint(), "ci", &scopes)
        .await
        .unwrap();

    assert!(matches!(
        accounts::revoke_user_token(&db, bob.id, id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        accounts::find_token(&db, &token.hash).await.unwrap().is_some(),
        "still live"
    );
    accounts::revoke_user_token(&db, ada.id, id).await.unwrap();
    assert!(accounts::find_token(&db, &token.hash).await.unwrap().is_none());
    assert!(matches!(
        accounts::revoke_user_token(&db, ada.id, id).await,
        Err(StoreError::NotFound(_))
    ));
    close_store(database, db).await;
}

async fn projects_are_renamed_and_keep_their_scrub_keys(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let org = organizations::create_organization(&db, "acme", "Acme").await.unwrap();
    let project = projects::create_project(&db, org.id, "web", "Web", None, "0123456789abcdef0123456789abcdef")
        .await
        .unwrap();
    assert!(projects::scrub_keys(&db, project.id).await.unwrap().is_empty());
    projects::update_project(&db, project.id, "Storefront", Some("python-django"))
        .await
        .unwrap();
    projects::set_scrub_keys(&db, project.id, &["iban".to_owned(), "tax_id".to_owned()])
        .await
        .unwrap();

    let found = projects::get_project(&db, project.id).await.unwrap().unwrap();
    assert_eq!(
        (found.name.as_str(), found.platform.as_deref()),
        ("Storefront", Some("python-django"))
    );
    assert_eq!(found.slug, "web", "the slug stays");
    assert_eq!(projects::scrub_keys(&db, project.id).await.unwrap(), ["iban", "tax_id"]);
    projects::update_project(&db, project.id, "Storefront", None)
        .await
        .unwrap();
    assert_eq!(
        projects::get_project(&db, project.id).await.unwrap().unwrap().platform,
        None
    );
    assert!(matches!(
        projects::update_project(&db, ProjectId(project.id.get() + 100), "X", None).await,
        Err(StoreError::NotFound(_))
    ));
    close_store(database, db).await;
}

on_both_databases!(
    members_are_listed_by_email_and_removed,
    a_password_is_replaced,
    only_the_owner_revokes_a_token,
    projects_are_renamed_and_keep_their_scrub_keys,
);
