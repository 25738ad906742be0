//! Bearer-token authentication and the access rules: a token acts as its user, within the organizations
//! the user belongs to, with the scopes both the token and the user's role grant there. Anything outside
//! those organizations is "not found", never "forbidden".

use crate::domain::{OrganizationId, ProjectId};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use crate::core::Access;
use crate::domain::accounts::{hash_token, Role, Scope, ScopeSet};
use crate::store::accounts::{self, User};
use crate::store::now_ms;
use crate::store::organizations::{self, Organization};
use crate::store::projects::{self, Project};

use super::error::ApiError;
use super::ApiState;

/// The authenticated caller of an API request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub token_scopes: ScopeSet,
    pub memberships: Vec<(Organization, Role)>,
}

impl Caller {
    /// The caller's access to the organization with this slug; `NotFound` when they are not a member.
    pub fn org(&self, slug: &str) -> Result<Access, ApiError> {
        self.memberships
            .iter()
            .find(|(organization, _)| organization.slug == slug)
            .map(|(organization, role)| self.access(organization, *role))
            .ok_or(ApiError::NotFound)
    }

    pub fn org_by_id(&self, id: OrganizationId) -> Result<Access, ApiError> {
        self.memberships
            .iter()
            .find(|(organization, _)| organization.id == id)
            .map(|(organization, role)| self.access(organization, *role))
            .ok_or(ApiError::NotFound)
    }

    fn access(&self, organization: &Organization, role: Role) -> Access {
        Access::token(organization.clone(), role, &self.token_scopes)
    }

    /// The project `{org}/{project}` with the caller's access, requiring `scope`.
    pub async fn project(
        &self,
        state: &ApiState,
        org_slug: &str,
        project_slug: &str,
        scope: Scope,
    ) -> Result<(Access, Project), ApiError> {
        let access = self.org(org_slug)?;
        let project = projects::find_organization_project(&state.db, access.organization.id, project_slug)
            .await?
            .ok_or(ApiError::NotFound)?;
        access.require(scope)?;
        Ok((access, project))
    }

    /// A project by id, when it lies in one of the caller's organizations.
    pub async fn project_by_id(&self, state: &ApiState, project_id: ProjectId) -> Result<(Access, Project), ApiError> {
        let project = projects::get_project(&state.db, project_id)
            .await?
            .ok_or(ApiError::NotFound)?;
        let access = self.org_by_id(project.organization_id)?;
        Ok((access, project))
    }
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Caller, ApiError> {
        let token = bearer_token(parts).ok_or(ApiError::Unauthorized)?;
        let owner = accounts::find_token(&state.db, &hash_token(token))
            .await?
            .ok_or(ApiError::Unauthorized)?;
        // Only a stale record costs a write, so API reads do not queue behind the ingest writer.
        if owner.use_is_stale(now_ms()) {
            accounts::touch_token(&state.db, owner.token_id).await?;
        }
        let memberships = organizations::memberships(&state.db, owner.user.id).await?;
        Ok(Caller {
            user: owner.user,
            token_scopes: owner.scopes,
            memberships,
        })
    }
}

/// `Authorization: Bearer <token>` (Sentry also accepts the `Token` keyword).
fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    let known_scheme = scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token");
    (known_scheme && !token.is_empty()).then_some(token)
}
