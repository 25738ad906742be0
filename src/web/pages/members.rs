//! The organization's members on a project's settings page: add an existing user by e-mail, change
//! roles, remove. Admins and owners manage members; only owners make or unmake owners, and the last
//! owner stays.

use crate::domain::UserId;
use axum::extract::{Path, State};
use axum::response::Redirect;
use serde::Deserialize;

use crate::core::members::{self, MemberChange};
use crate::core::CoreError;
use crate::domain::accounts::{may_edit_member, MemberRuleError, Role};
use crate::store::organizations::Member;
use crate::web::session::Action;
use crate::web::{WebError, WebState};

use super::project_settings::{back_to, project_access};

/// A member as the page lists them, and whether this viewer may change them.
pub struct MemberRow {
    pub member: Member,
    pub role: &'static str,
    pub editable: bool,
    pub is_viewer: bool,
}

pub fn member_rows(members: Vec<Member>, viewer_role: Role, viewer_id: UserId) -> Vec<MemberRow> {
    members
        .into_iter()
        .map(|member| MemberRow {
            role: member.role.as_str(),
            editable: may_edit_member(viewer_role, member.role),
            is_viewer: member.user_id == viewer_id,
            member,
        })
        .collect()
}

/// The notice code for what a membership change did or why the owner rules refused it; any other
/// failure is an error page.
fn notice_of(result: Result<MemberChange, CoreError>) -> Result<&'static str, WebError> {
    match result {
        Ok(MemberChange::Added) => Ok("member_added"),
        Ok(MemberChange::RoleChanged) => Ok("role_changed"),
        Ok(MemberChange::Removed) => Ok("member_removed"),
        Err(CoreError::Member(MemberRuleError::OwnerOnly)) => Ok("owner_only"),
        Err(CoreError::Member(MemberRuleError::LastOwner)) => Ok("last_owner"),
        Err(other) => Err(other.into()),
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
    let (access, _) = project_access(&state, &action.viewer, &org, &slug).await?;
    let role = parse_role(&action.form.role)?;
    let code = match members::add_by_email(&state.core, &access, &action.form.email, role).await {
        Err(CoreError::NotFound) => "no_user",
        other => notice_of(other)?,
    };
    Ok(back_to(&org, &slug, code, "members"))
}

#[derive(Deserialize)]
pub struct RoleForm {
    user_id: UserId,
    role: String,
}

pub async fn set_role(
    State(state): State<WebState>,
    Path((org, slug)): Path<(String, String)>,
    action: Action<RoleForm>,
) -> Result<Redirect, WebError> {
    let (access, _) = project_access(&state, &action.viewer, &org, &slug).await?;
    let role = parse_role(&action.form.role)?;
    let code = notice_of(members::set_role(&state.core, &access, action.form.user_id, role).await)?;
    Ok(back_to(&org, &slug, code, "members"))
}

#[derive(Deserialize)]
pub struct MemberForm {
    user_id: UserId,
}

pub async fn remove(
    State(state): State<WebState>,
    Path((org, slug)): Path<(String, String)>,
    action: Action<MemberForm>,
) -> Result<Redirect, WebError> {
    let (access, _) = project_access(&state, &action.viewer, &org, &slug).await?;
    let code = notice_of(members::remove(&state.core, &access, action.form.user_id).await)?;
    Ok(back_to(&org, &slug, code, "members"))
}
