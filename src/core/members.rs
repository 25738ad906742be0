//! An organization's members: adding, changing roles, removing. The owner rules
//! ([`check_member_change`]) hold for the web, the API and the command line alike, checked against the
//! roles read in the same transaction that changes them.

use crate::domain::accounts::{check_member_change, Role};
use crate::domain::UserId;
use crate::store::organizations::{self, Member};
use crate::store::{accounts, Tx};

use super::{Access, Core, CoreError, CoreResult};

/// What a membership change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    Added,
    RoleChanged,
    Removed,
}

/// Gives the user with this e-mail `role` in the caller's organization, adding them when they are not a
/// member yet. `NotFound` when no user has the e-mail.
#[tracing::instrument(skip(core, access), fields(organization = access.organization.id.get()))]
pub async fn add_by_email(core: &Core, access: &Access, email: &str, role: Role) -> CoreResult<MemberChange> {
    let user = accounts::find_user_by_email(&core.db, email.trim())
        .await?
        .ok_or(CoreError::NotFound)?;
    change(core, access, user.id, Some(role), true).await
}

/// Changes an existing member's role.
#[tracing::instrument(skip(core, access), fields(organization = access.organization.id.get()))]
pub async fn set_role(core: &Core, access: &Access, user_id: UserId, role: Role) -> CoreResult<MemberChange> {
    change(core, access, user_id, Some(role), false).await
}

/// Removes a member.
#[tracing::instrument(skip(core, access), fields(organization = access.organization.id.get()))]
pub async fn remove(core: &Core, access: &Access, user_id: UserId) -> CoreResult<MemberChange> {
    change(core, access, user_id, None, false).await
}

/// The members, by e-mail.
pub async fn list(core: &Core, access: &Access) -> CoreResult<Vec<Member>> {
    Ok(organizations::list_members(&core.db, access.organization.id).await?)
}

/// Applies a role change (`wanted == None`: removal) after the owner rules, in one transaction. Unless
/// `adding`, the user must already be a member.
async fn change(
    core: &Core,
    access: &Access,
    user_id: UserId,
    wanted: Option<Role>,
    adding: bool,
) -> CoreResult<MemberChange> {
    let organization_id = access.organization.id;
    let mut tx = Tx::begin(&core.db).await?;
    let roles = organizations::member_roles(&mut tx, organization_id).await?;
    let current = roles.iter().find(|(id, _)| *id == user_id).map(|(_, role)| *role);
    if current.is_none() && !adding {
        return Err(CoreError::NotFound);
    }
    let owners = roles.iter().filter(|(_, role)| *role == Role::Owner).count();
    check_member_change(access.role, current, wanted, owners)?;
    let done = match (current, wanted) {
        (_, Some(role)) => {
            organizations::put_member(&mut tx, organization_id, user_id, role).await?;
            if current.is_some() {
                MemberChange::RoleChanged
            } else {
                MemberChange::Added
            }
        }
        (Some(_), None) => {
            organizations::delete_member(&mut tx, organization_id, user_id).await?;
            MemberChange::Removed
        }
        (None, None) => return Err(CoreError::NotFound),
    };
    tx.commit().await?;
    Ok(done)
}
