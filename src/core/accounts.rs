//! People and their credentials: creating a user (and their first membership, in one transaction),
//! changing a password, and API tokens.

use crate::domain::accounts::{hash_password, ApiToken, Role, ScopeSet};
use crate::domain::UserId;
use crate::store::accounts::{self, User};
use crate::store::organizations::{self, Organization};
use crate::store::{projects, sessions, Tx};

use super::{Core, CoreError, CoreResult};

/// Who to create, and where they become a member.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub password: &'a str,
    /// A site administrator; they become an owner unless `role` says otherwise.
    pub admin: bool,
    /// The organization's slug; `None` is the default organization.
    pub organization: Option<&'a str>,
    pub role: Option<Role>,
}

/// Creates a user and makes them a member of an organization in one transaction. An administrator
/// becomes an owner there, so the first admin owns the default organization and project.
#[tracing::instrument(skip_all, fields(organization = new.organization))]
pub async fn create_user(core: &Core, new: NewUser<'_>) -> CoreResult<(User, Organization, Role)> {
    let email = new.email.trim();
    if !email.contains('@') {
        return Err(CoreError::Invalid(format!("{email:?} is not an email address")));
    }
    let organization = match new.organization {
        None => {
            projects::ensure_default_organization(&core.db).await?;
            organizations::find_organization(&core.db, projects::DEFAULT_ORGANIZATION).await?
        }
        Some(slug) => organizations::find_organization(&core.db, slug).await?,
    }
    .ok_or(CoreError::NotFound)?;
    let password = new.password.to_owned();
    let hash = hash_off_thread(password).await?;
    let role = new.role.unwrap_or(if new.admin { Role::Owner } else { Role::Member });
    let mut tx = Tx::begin(&core.db).await?;
    let user = accounts::insert_user(&mut tx, email, new.name.unwrap_or(email), &hash, new.admin).await?;
    organizations::put_member(&mut tx, organization.id, user.id, role).await?;
    tx.commit().await?;
    Ok((user, organization, role))
}

/// Stores a new password and signs the user out everywhere but `keep_session` (a password change is
/// also how a stolen session is ended).
#[tracing::instrument(skip_all, fields(user = user_id.get()))]
pub async fn change_password(core: &Core, user_id: UserId, new_password: String, keep_session: &str) -> CoreResult<()> {
    let hash = hash_off_thread(new_password).await?;
    accounts::set_password(&core.db, user_id, &hash).await?;
    sessions::delete_other_sessions(&core.db, user_id, keep_session).await?;
    Ok(())
}

/// A new token of the user with these scopes; the plaintext is in the returned token, shown once.
#[tracing::instrument(skip(core, scopes), fields(user = user_id.get()))]
pub async fn create_token(core: &Core, user_id: UserId, name: &str, scopes: &ScopeSet) -> CoreResult<(i64, ApiToken)> {
    if scopes.is_empty() {
        return Err(CoreError::invalid("a token needs at least one scope"));
    }
    let token = ApiToken::generate();
    let id = accounts::create_token(&core.db, user_id, &token.hash, &token.hint(), name, scopes).await?;
    Ok((id, token))
}

/// Revokes one of the user's own tokens (`None`: any token, for the operator); another's is not found.
#[tracing::instrument(skip(core))]
pub async fn revoke_token(core: &Core, user_id: Option<UserId>, token_id: i64) -> CoreResult<()> {
    match user_id {
        Some(user_id) => accounts::revoke_user_token(&core.db, user_id, token_id).await?,
        None => accounts::revoke_token(&core.db, token_id).await?,
    }
    Ok(())
}

/// Argon2 takes tens of milliseconds of CPU: off the async workers.
async fn hash_off_thread(password: String) -> CoreResult<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|_| CoreError::invalid("the password could not be hashed"))?
        .map_err(CoreError::invalid)
}
