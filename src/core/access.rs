//! What a caller may do in one organization. A signed-in member acts with their role's scopes, an API token
//! with the scopes both it and its user's role grant, and the command line as the machine's operator. Use
//! cases take an [`Access`] and check it themselves, so web pages and the API cannot disagree.

use crate::domain::accounts::{Role, Scope, ScopeSet};
use crate::domain::OrganizationId;
use crate::store::organizations::Organization;

use super::{CoreError, CoreResult};

#[derive(Debug, Clone)]
pub struct Access {
    pub organization: Organization,
    /// The caller's role there; the operator counts as an owner.
    pub role: Role,
    scopes: ScopeSet,
}

impl Access {
    /// A signed-in member, acting with everything their role grants.
    pub fn member(organization: Organization, role: Role) -> Access {
        Access {
            scopes: role.scopes(),
            organization,
            role,
        }
    }

    /// A token, acting with the scopes both it and its user's role grant.
    pub fn token(organization: Organization, role: Role, token_scopes: &ScopeSet) -> Access {
        Access {
            scopes: token_scopes.intersection(&role.scopes()),
            organization,
            role,
        }
    }

    /// Whoever runs `faultline` on the server: they own the database file anyway.
    pub fn operator(organization: Organization) -> Access {
        Access::member(organization, Role::Owner)
    }

    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(scope)
    }

    pub fn require(&self, scope: Scope) -> CoreResult<()> {
        if self.allows(scope) {
            Ok(())
        } else {
            Err(CoreError::MissingScope(scope))
        }
    }

    /// Whether an object of this organization is visible here; a foreign one is "not found".
    pub fn sees(&self, organization_id: OrganizationId) -> CoreResult<()> {
        if organization_id == self.organization.id {
            Ok(())
        } else {
            Err(CoreError::NotFound)
        }
    }

    pub fn scopes(&self) -> &ScopeSet {
        &self.scopes
    }
}
