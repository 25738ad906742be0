//! Accounts: member roles, API scopes, API tokens and password hashes. Pure logic; the store keeps
//! only token hashes and argon2 password hashes.

mod password;
mod scopes;
mod token;

pub use password::{hash_password, verify_password, PasswordError, MIN_PASSWORD_CHARS};
pub use scopes::{Role, Scope, ScopeSet, UnknownRole, UnknownScope};
pub use token::{hash_token, ApiToken};

#[cfg(test)]
mod tests;
