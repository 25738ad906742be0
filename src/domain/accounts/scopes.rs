//! Sentry's API scopes and the roles of organization members that grant them.

use std::collections::BTreeSet;
use std::fmt;

/// One Sentry API scope (protocol §11.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    OrgRead,
    ProjectRead,
    ProjectWrite,
    ProjectReleases,
    EventRead,
    EventWrite,
    EventAdmin,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {0:?} (expected one of: {list})", list = Scope::ALL.map(Scope::as_str).join(", "))]
pub struct UnknownScope(pub String);

impl Scope {
    pub const ALL: [Scope; 7] = [
        Scope::OrgRead,
        Scope::ProjectRead,
        Scope::ProjectWrite,
        Scope::ProjectReleases,
        Scope::EventRead,
        Scope::EventWrite,
        Scope::EventAdmin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::OrgRead => "org:read",
            Scope::ProjectRead => "project:read",
            Scope::ProjectWrite => "project:write",
            Scope::ProjectReleases => "project:releases",
            Scope::EventRead => "event:read",
            Scope::EventWrite => "event:write",
            Scope::EventAdmin => "event:admin",
        }
    }

    pub fn parse(name: &str) -> Result<Scope, UnknownScope> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == name.trim())
            .ok_or_else(|| UnknownScope(name.to_owned()))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of scopes, stored as their names separated by spaces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    /// Parses names separated by commas and/or spaces.
    pub fn parse(text: &str) -> Result<ScopeSet, UnknownScope> {
        text.split([',', ' '])
            .filter(|name| !name.trim().is_empty())
            .map(Scope::parse)
            .collect::<Result<BTreeSet<_>, _>>()
            .map(ScopeSet)
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The scopes present in both sets: what a token may do in an organization where its user has a role.
    pub fn intersection(&self, other: &ScopeSet) -> ScopeSet {
        ScopeSet(self.0.intersection(&other.0).copied().collect())
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|scope| scope.as_str()).collect()
    }

    /// The stored form: names separated by single spaces, in a stable order.
    pub fn to_text(&self) -> String {
        self.names().join(" ")
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        ScopeSet(iter.into_iter().collect())
    }
}

/// A member's role in an organization. Every member sees every project of the organization (Sentry's
/// "open membership", its default); the role decides what they may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Member,
    Admin,
    Owner,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?} (expected owner, admin or member)")]
pub struct UnknownRole(pub String);

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    pub fn parse(name: &str) -> Result<Role, UnknownRole> {
        match name.trim().to_ascii_lowercase().as_str() {
            "member" => Ok(Role::Member),
            "admin" | "manager" => Ok(Role::Admin),
            "owner" => Ok(Role::Owner),
            _ => Err(UnknownRole(name.to_owned())),
        }
    }

    /// What the role allows, following Sentry's roles: members read everything and create releases
    /// and events; admins also change projects and administer issues; owners can do everything.
    pub fn scopes(self) -> ScopeSet {
        use Scope::*;
        match self {
            Role::Member => [OrgRead, ProjectRead, ProjectReleases, EventRead, EventWrite]
                .into_iter()
                .collect(),
            Role::Admin | Role::Owner => Scope::ALL.into_iter().collect(),
        }
    }
}
