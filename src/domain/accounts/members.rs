//! The owner rules of an organization's membership: admins and owners manage members, only owners make or
//! unmake owners, and the last owner stays. The operator (the command line) acts as an owner, so even it
//! cannot leave an organization without one.

use super::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MemberRuleError {
    #[error("Only admins and owners can manage members.")]
    AdminsOnly,
    #[error("Only owners can make or unmake owners.")]
    OwnerOnly,
    #[error("An organization needs at least one owner.")]
    LastOwner,
}

/// Whether `actor` may change a member's role from `current` to `wanted` (`None`: not a member / removed)
/// while the organization has `owners` owners.
pub fn check_member_change(
    actor: Role,
    current: Option<Role>,
    wanted: Option<Role>,
    owners: usize,
) -> Result<(), MemberRuleError> {
    let touches_owner = current == Some(Role::Owner) || wanted == Some(Role::Owner);
    if actor < Role::Admin {
        Err(MemberRuleError::AdminsOnly)
    } else if touches_owner && actor != Role::Owner {
        Err(MemberRuleError::OwnerOnly)
    } else if current == Some(Role::Owner) && wanted != Some(Role::Owner) && owners <= 1 {
        Err(MemberRuleError::LastOwner)
    } else {
        Ok(())
    }
}

/// Whether `actor` may change a member who now has `role` at all (what the members list offers).
pub fn may_edit_member(actor: Role, role: Role) -> bool {
    actor == Role::Owner || (actor == Role::Admin && role != Role::Owner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Role::*;

    #[test]
    fn only_owners_touch_owners_and_the_last_owner_stays() {
        assert_eq!(check_member_change(Admin, Some(Member), Some(Admin), 1), Ok(()));
        assert_eq!(
            check_member_change(Admin, Some(Member), Some(Owner), 1),
            Err(MemberRuleError::OwnerOnly)
        );
        assert_eq!(
            check_member_change(Admin, Some(Owner), None, 2),
            Err(MemberRuleError::OwnerOnly)
        );
        assert_eq!(
            check_member_change(Owner, Some(Owner), Some(Admin), 1),
            Err(MemberRuleError::LastOwner)
        );
        assert_eq!(
            check_member_change(Owner, Some(Owner), None, 1),
            Err(MemberRuleError::LastOwner)
        );
        assert_eq!(check_member_change(Owner, Some(Owner), None, 2), Ok(()));
        assert_eq!(check_member_change(Owner, None, Some(Owner), 1), Ok(()));
    }

    #[test]
    fn members_manage_nobody() {
        assert_eq!(
            check_member_change(Member, Some(Member), None, 1),
            Err(MemberRuleError::AdminsOnly)
        );
        assert!(!may_edit_member(Member, Member));
        assert!(may_edit_member(Admin, Member));
        assert!(!may_edit_member(Admin, Owner));
        assert!(may_edit_member(Owner, Owner));
    }
}
