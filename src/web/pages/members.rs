//! The organization's members on a project's settings page: add an existing user by e-mail, change
//! roles, remove. Admins and owners manage members; only owners make or unmake owners, and the last
//! owner stays.

use axum::extract::{Path, State};
use axum::response::Redirect;
use serde::Deserialize;

use crate::domain::accounts::Role;
use crate::store::accounts;
use crate::store::organizations::{self, Member};
use crate::web::session::Action;
use crate::web::{WebError, WebState};

use super::project_settings::{back_to, managed_project};

/// A member as the page lists them, and whether this viewer may change them.
pub struct MemberRow {
    pub member: Member,
    pub role: &'static str,
    pub editable: bool,
    pub is_viewer: bool,
}

pub fn member_rows(members: Vec<Member>, viewer_role: Role, viewer_id: i64) -> Vec<MemberRow> {
    members
        .into_iter()
        .map(|member| MemberRow {
            role: member.role.as_str(),
            editable: viewer_role == Role::Owner || (viewer_role == Role::Admin && member.role != Role::Owner),
            is_viewer: member.user_id == viewer_id,
            member,
        })
        .collect()
}

/// The notice code refusing a change of a member's role from `current` to `wanted` (`None`: not a
/// member / removed), or `None` when the change is allowed.
fn refusal(actor: Role, current: Option<Role>, wanted: Option<Role>, owners: i64) -> Option<&'static str> {
    let touches_owner = current == Some(Role::Owner) || wanted == Some(Role::Owner);
    if touches_owner && actor != Role::Owner {
        Some("owner_only")
    } else if current == Some(Role::Owner) && wanted != Some(Role::Owner) && owners <= 1 {
        Some("last_owner")
    } else {
        None
    }
}

/// Applies a role change (or removal, `wanted == None`) after the owner rules; returns the notice code.
/// Unless `adding`, the user must already be a member (else 404).
async fn change(
    state: &WebState,
    organization_id: i64,
    actor: Role,
    user_id: i64,
    wanted: Option<Role>,
    adding: bool,
) -> Result<&'static str, WebError> {
    let members = organizations::list_members(&state.db, organization_id).await?;
    let current = members.iter().find(|m| m.user_id == user_id).map(|m| m.role);
    if current.is_none() && !adding {
        return Err(WebError::NotFound);
    }
    let owners = members.iter().filter(|m| m.role == Role::Owner).count() as i64;
    if let Some(code) = refusal(actor, current, wanted, owners) {
        return Ok(code);
    }
    match (current, wanted) {
        (None, None) => Err(WebError::NotFound),
        (_, Some(role)) => {
            organizations::set_member(&state.db, organization_id, user_id, role).await?;
            Ok(if current.is_some() {
                "role_changed"
            } else {
                "member_added"
            })
        }
        (Some(_), None) => {
            organizations::remove_member(&state.db, organization_id, user_id).await?;
            Ok("member_removed")
        }
    }
}

fn parse_role(text: &str) -> Result<Role, WebError> {
    Role::parse(text).map_err(|_| WebError::BadRequest("unknown role".into()))
}

#[derive(Deserialize)]
pub struct AddMemberForm {
    email: String,
    role: String,
}

pub async fn add(
    State(state): State<WebState>,
    Path((org, slug)): Path<(String, String)>,
    action: Action<AddMemberForm>,
) -> Result<Redirect, WebError> {
    let (organization, actor, _) = managed_project(&state, &action.viewer, &org, &slug).await?;
    let role = parse_role(&action.form.role)?;
    let Some(user) = accounts::find_user_by_email(&state.db, &action.form.email).await? else {
        return Ok(back_to(&org, &slug, "no_user", "members"));
    };
    let code = change(&state, organization.id, actor, user.id, Some(role), true).await?;
    Ok(back_to(&org, &slug, code, "members"))
}

#[derive(Deserialize)]
pub struct RoleForm {
    user_id: i64,
    role: String,
}

pub async fn set_role(
    State(state): State<WebState>,
    Path((org, slug)): Path<(String, String)>,
    action: Action<RoleForm>,
) -> Result<Redirect, WebError> {
    let (organization, actor, _) = managed_project(&state, &action.viewer, &org, &slug).await?;
    let role = parse_role(&action.form.role)?;
    let code = change(&state, organization.id, actor, action.form.user_id, Some(role), false).await?;
    Ok(back_to(&org, &slug, code, "members"))
}

#[derive(Deserialize)]
pub struct MemberForm {
    user_id: i64,
}

pub async fn remove(
    State(state): State<WebState>,
    Path((org, slug)): Path<(String, String)>,
    action: Action<MemberForm>,
) -> Result<Redirect, WebError> {
    let (organization, actor, _) = managed_project(&state, &action.viewer, &org, &slug).await?;
    let code = change(&state, organization.id, actor, action.form.user_id, None, false).await?;
    Ok(back_to(&org, &slug, code, "members"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_owners_touch_owners_and_the_last_owner_stays() {
        use Role::*;
        assert_eq!(refusal(Admin, Some(Member), Some(Admin), 1), None);
        assert_eq!(refusal(Admin, Some(Member), Some(Owner), 1), Some("owner_only"));
        assert_eq!(refusal(Admin, Some(Owner), None, 2), Some("owner_only"));
        assert_eq!(refusal(Owner, Some(Owner), Some(Admin), 1), Some("last_owner"));
        assert_eq!(refusal(Owner, Some(Owner), None, 1), Some("last_owner"));
        assert_eq!(refusal(Owner, Some(Owner), None, 2), None);
        assert_eq!(refusal(Owner, None, Some(Owner), 1), None);
    }
}
