//! The use-case layer's rules, called as every edge calls them (web, API, command line): the owner rules
//! under concurrent changes, scopes, foreign objects, one transaction for a user and their membership, and
//! an unreachable database answered as an outage, never as bad input. Both databases.

use crate::common;

use common::{close_store, open_store, operator_core, Backend};
use faultline::core::accounts::{create_user, NewUser};
use faultline::core::members::{self, MemberChange};
use faultline::core::{issues, Access, CoreError, ErrorKind};
use faultline::domain::accounts::{MemberRuleError, Role, Scope};
use faultline::domain::lifecycle::StatusChange;
use faultline::store::{accounts, organizations, record_batch, Db};

fn user<'a>(email: &'a str, organization: Option<&'static str>, role: Role) -> NewUser<'a> {
    NewUser {
        email,
        name: None,
        password: "a-long-password",
        admin: false,
        organization,
        role: Some(role),
    }
}

async fn organization(db: &Db, slug: &str) -> organizations::Organization {
    match organizations::find_organization(db, slug).await.unwrap() {
        Some(found) => found,
        None => organizations::create_organization(db, slug, slug).await.unwrap(),
    }
}

/// Two owners demote each other at the same moment: the second change sees the first committed (its
/// transaction reads the roles it changes), so one owner stays.
async fn two_owners_stepping_down_at_once_leave_one_owner(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let core = operator_core(&db);
    let acme = organization(&db, "acme").await;
    let (ann, _, _) = create_user(&core, user("ann@acme.test", Some("acme"), Role::Owner))
        .await
        .unwrap();
    let (bob, _, _) = create_user(&core, user("bob@acme.test", Some("acme"), Role::Owner))
        .await
        .unwrap();
    let as_ann = Access::member(acme.clone(), Role::Owner);
    let as_bob = Access::member(acme.clone(), Role::Owner);
    let (first, second) = tokio::join!(
        members::set_role(&core, &as_ann, bob.id, Role::Member),
        members::set_role(&core, &as_bob, ann.id, Role::Member),
    );
    let outcomes = [first, second];
    let done = outcomes
        .iter()
        .filter(|r| matches!(r, Ok(MemberChange::RoleChanged)))
        .count();
    let refused = outcomes
        .iter()
        .filter(|r| matches!(r, Err(CoreError::Member(MemberRuleError::LastOwner))))
        .count();
    assert_eq!((done, refused), (1, 1), "{outcomes:?}");
    assert_eq!(organizations::count_owners(&db, acme.id).await.unwrap(), 1);
    close_store(database, db).await;
}

/// Members may resolve but not delete; an issue of another organization is not found, and a bulk change
/// skips it rather than touching it.
async fn scopes_and_foreign_issues_are_checked_by_the_use_case(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let core = operator_core(&db);
    faultline::core::projects::ensure_default_project(&db, &core.public_url)
        .await
        .unwrap();
    let project = faultline::store::projects::find_project_by_slug(&db, "default")
        .await
        .unwrap()
        .unwrap();
    record_batch(&db, &[common::stored_event(project.id, "fp-a", 1_700_000_000_000)])
        .await
        .unwrap();
    let issue_id = faultline::store::issues::list_issues(&db, project.id).await.unwrap()[0].id;
    let default_org = organization(&db, "default").await;
    let member = Access::member(default_org.clone(), Role::Member);
    let deleted = issues::delete(&core, &member, &[issue_id]).await;
    assert!(
        matches!(deleted, Err(CoreError::MissingScope(Scope::EventAdmin))),
        "{deleted:?}"
    );
    assert_eq!(deleted.unwrap_err().kind(), ErrorKind::Forbidden);
    let resolved = issues::change_status(&core, &member, issue_id, &StatusChange::Resolve)
        .await
        .unwrap();
    assert_eq!(
        resolved.state.status,
        faultline::domain::lifecycle::IssueStatus::Resolved
    );
    let stranger = Access::member(organization(&db, "elsewhere").await, Role::Owner);
    let foreign = issues::change_status(&core, &stranger, issue_id, &StatusChange::Unresolve).await;
    assert!(matches!(foreign, Err(CoreError::NotFound)), "{foreign:?}");
    let skipped = issues::change_statuses(&core, &stranger, &[issue_id], &StatusChange::Unresolve).await;
    assert!(skipped.unwrap().is_empty());
    assert_eq!(issues::delete(&core, &stranger, &[issue_id]).await.unwrap(), 0);
    let stored = faultline::store::issues::get_issue(&db, issue_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state.status, faultline::domain::lifecycle::IssueStatus::Resolved);
    close_store(database, db).await;
}

/// A user and their membership are created together or not at all; a taken e-mail is a conflict (409),
/// an unknown organization not found (404), and a closed database an outage (503), never bad input.
async fn creating_a_user_is_one_change_with_typed_failures(backend: Backend) {
    let (database, db) = open_store(&backend).await;
    let core = operator_core(&db);
    organization(&db, "acme").await;
    create_user(&core, user("ann@acme.test", Some("acme"), Role::Owner))
        .await
        .unwrap();
    let taken = create_user(&core, user("ANN@acme.test", Some("acme"), Role::Member))
        .await
        .unwrap_err();
    assert_eq!(taken.kind(), ErrorKind::Conflict, "{taken}");
    let nowhere = create_user(&core, user("cy@acme.test", Some("nowhere"), Role::Member))
        .await
        .unwrap_err();
    assert_eq!(nowhere.kind(), ErrorKind::NotFound);
    assert!(accounts::find_user_by_email(&db, "cy@acme.test")
        .await
        .unwrap()
        .is_none());
    let invalid = create_user(&core, user("not-an-address", Some("acme"), Role::Member))
        .await
        .unwrap_err();
    assert_eq!(invalid.kind(), ErrorKind::Invalid);
    db.close().await;
    let outage = create_user(&core, user("dee@acme.test", Some("acme"), Role::Member))
        .await
        .unwrap_err();
    assert_eq!(outage.kind(), ErrorKind::Unavailable, "{outage}");
    database.drop_database().await;
}

on_both_databases!(
    two_owners_stepping_down_at_once_leave_one_owner,
    scopes_and_foreign_issues_are_checked_by_the_use_case,
    creating_a_user_is_one_change_with_typed_failures,
);
