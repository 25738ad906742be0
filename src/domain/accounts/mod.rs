//! Accounts: member roles, API scopes, API tokens, password hashes and where signing in lands. Pure logic;
//! the store keeps only token hashes and argon2 password hashes.

mod landing;
mod members;
mod password;
mod scopes;
mod token;

pub use landing::{landing_after_sign_in, DEFAULT_LANDING};
pub use members::{check_member_change, may_edit_member, MemberRuleError};
pub use password::{hash_password, verify_password, PasswordError, MIN_PASSWORD_CHARS};
pub use scopes::{Role, Scope, ScopeSet, UnknownRole, UnknownScope};
pub use token::{hash_token, ApiToken};

#[cfg(test)]
mod tests;
