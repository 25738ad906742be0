use super::*;
use crate::domain::accounts::Role;
use crate::domain::OrganizationId;
use crate::store::organizations::Organization;

fn organization(id: i64) -> Organization {
    Organization {
        id: crate::domain::OrganizationId(id),
        slug: format!("org-{id}"),
        name: format!("Org {id}"),
        created_at: 0,
    }
}

#[test]
fn every_error_has_one_answer_and_an_outage_is_not_a_bad_request() {
    let outage = CoreError::from(StoreError::Database(sqlx::Error::PoolTimedOut));
    assert_eq!(outage.kind(), ErrorKind::Unavailable);
    let corrupt = CoreError::from(StoreError::Corrupt("members.role".into()));
    assert_eq!(corrupt.kind(), ErrorKind::Internal);
    assert_eq!(
        CoreError::from(StoreError::NotFound("x".into())).kind(),
        ErrorKind::NotFound
    );
    let taken = CoreError::from(StoreError::Conflict("project web".into()));
    assert_eq!(taken.kind(), ErrorKind::Conflict);
    assert_eq!(taken.to_string(), "project web already exists");
    assert_eq!(
        CoreError::Member(MemberRuleError::LastOwner).kind(),
        ErrorKind::Conflict
    );
    assert_eq!(
        CoreError::Member(MemberRuleError::OwnerOnly).kind(),
        ErrorKind::Forbidden
    );
    assert_eq!(CoreError::MissingScope(Scope::EventAdmin).kind(), ErrorKind::Forbidden);
}

#[test]
fn a_token_acts_with_what_both_it_and_the_role_grant() {
    let only_read: crate::domain::accounts::ScopeSet = [Scope::EventRead, Scope::EventAdmin].into_iter().collect();
    let member = Access::token(organization(1), Role::Member, &only_read);
    assert!(member.allows(Scope::EventRead));
    assert!(
        !member.allows(Scope::EventAdmin),
        "a member's role does not grant event:admin"
    );
    assert!(matches!(
        member.require(Scope::EventWrite),
        Err(CoreError::MissingScope(Scope::EventWrite))
    ));
    let owner = Access::member(organization(1), Role::Owner);
    assert!(owner.allows(Scope::EventAdmin));
}

#[test]
fn another_organizations_object_is_not_found_rather_than_forbidden() {
    let access = Access::member(organization(1), Role::Owner);
    assert!(access.sees(OrganizationId(1)).is_ok());
    assert!(matches!(access.sees(OrganizationId(2)), Err(CoreError::NotFound)));
}
