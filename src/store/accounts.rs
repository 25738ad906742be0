//! Users (with argon2 password hashes) and their API tokens (SHA-256 hashes only).

use crate::domain::accounts::ScopeSet;
use crate::domain::UserId;

use super::{is_unique_violation, now_ms, on_pool, on_tx, Db, StoreError, Tx};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub is_admin: bool,
    pub created_at: i64,
}

/// What an API request learns from its bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOwner {
    pub token_id: i64,
    pub user: User,
    pub scopes: ScopeSet,
    pub last_used_at: Option<i64>,
}

/// How stale `last_used_at` may get: recording every use would make each API read a write.
pub const TOKEN_USE_RESOLUTION_MS: i64 = 60_000;

impl TokenOwner {
    pub fn use_is_stale(&self, now_ms: i64) -> bool {
        match self.last_used_at {
            None => true,
            Some(at) => at < now_ms - TOKEN_USE_RESOLUTION_MS,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TokenListing {
    pub id: i64,
    pub name: String,
    pub token_hint: String,
    pub scopes: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// Emails are compared case-insensitively: they are stored lower-cased.
pub async fn create_user(
    db: &Db,
    email: &str,
    name: &str,
    password_hash: &str,
    is_admin: bool,
) -> Result<User, StoreError> {
    let mut tx = Tx::begin(db).await?;
    let user = insert_user(&mut tx, email, name, password_hash, is_admin).await?;
    tx.commit().await?;
    Ok(user)
}

/// As [`create_user`], inside a transaction that also makes them a member somewhere.
pub async fn insert_user(
    tx: &mut Tx,
    email: &str,
    name: &str,
    password_hash: &str,
    is_admin: bool,
) -> Result<User, StoreError> {
    let email = email.trim().to_lowercase();
    let now = now_ms();
    let sql = "INSERT INTO users (email, name, password_hash, is_admin, created_at) \
               VALUES ($1, $2, $3, $4, $5) RETURNING id";
    let result: Result<UserId, sqlx::Error> = on_tx!(tx, conn, Backend => sqlx::query_scalar(sql)
        .bind(&email)
        .bind(name)
        .bind(password_hash)
        .bind(is_admin)
        .bind(now)
        .fetch_one(&mut *conn)
        .await);
    match result {
        Ok(id) => Ok(User {
            id,
            email,
            name: name.to_owned(),
            is_admin,
            created_at: now,
        }),
        Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(format!("user {email}"))),
        Err(e) => Err(e.into()),
    }
}

pub async fn find_user_by_email(db: &Db, email: &str) -> Result<Option<User>, StoreError> {
    let sql = "SELECT id, email, name, is_admin, created_at FROM users WHERE email = $1";
    let email = email.trim().to_lowercase();
    Ok(on_pool!(db, pool => sqlx::query_as(sql).bind(&email).fetch_optional(pool).await?))
}

/// The user and their password hash, for signing in.
pub async fn find_credentials(db: &Db, email: &str) -> Result<Option<(User, String)>, StoreError> {
    let Some(user) = find_user_by_email(db, email).await? else {
        return Ok(None);
    };
    let sql = "SELECT password_hash FROM users WHERE id = $1";
    let hash: String = on_pool!(db, pool => sqlx::query_scalar(sql).bind(user.id).fetch_one(pool).await?);
    Ok(Some((user, hash)))
}

/// Replaces a user's password hash; `NotFound` when the user does not exist.
pub async fn set_password(db: &Db, user_id: UserId, password_hash: &str) -> Result<(), StoreError> {
    let sql = "UPDATE users SET password_hash = $1 WHERE id = $2";
    let done =
        on_pool!(db, pool => sqlx::query(sql).bind(password_hash).bind(user_id).execute(pool).await?.rows_affected());
    if done == 0 {
        return Err(StoreError::NotFound(format!("user {user_id}")));
    }
    Ok(())
}

pub async fn count_users(db: &Db) -> Result<i64, StoreError> {
    Ok(on_pool!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(pool).await?))
}

pub async fn create_token(
    db: &Db,
    user_id: UserId,
    token_hash: &str,
    token_hint: &str,
    name: &str,
    scopes: &ScopeSet,
) -> Result<i64, StoreError> {
    let sql = "INSERT INTO api_tokens (user_id, token_hash, token_hint, name, scopes, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
    Ok(on_pool!(db, pool => sqlx::query_scalar(sql)
        .bind(user_id)
        .bind(token_hash)
        .bind(token_hint)
        .bind(name)
        .bind(scopes.to_text())
        .bind(now_ms())
        .fetch_one(pool)
        .await?))
}

type TokenRow = (i64, String, Option<i64>, UserId, String, String, bool, i64);

/// The live (not revoked) token with this hash, and its user.
pub async fn find_token(db: &Db, token_hash: &str) -> Result<Option<TokenOwner>, StoreError> {
    let sql = "SELECT t.id, t.scopes, t.last_used_at, u.id, u.email, u.name, u.is_admin, u.created_at \
               FROM api_tokens t JOIN users u ON u.id = t.user_id \
               WHERE t.token_hash = $1 AND t.revoked_at IS NULL";
    let row: Option<TokenRow> = on_pool!(db, pool => sqlx::query_as(sql).bind(token_hash).fetch_optional(pool).await?);
    row.map(
        |(token_id, scopes, last_used_at, id, email, name, is_admin, created_at)| {
            let scopes =
                ScopeSet::parse(&scopes).map_err(|e| StoreError::Corrupt(format!("api_tokens.scopes: {e}")))?;
            let user = User {
                id,
                email,
                name,
                is_admin,
                created_at,
            };
            Ok(TokenOwner {
                token_id,
                user,
                scopes,
                last_used_at,
            })
        },
    )
    .transpose()
}

/// Records use, at most once a minute per token (callers skip it while [`TokenOwner::use_is_stale`] is false).
pub async fn touch_token(db: &Db, token_id: i64) -> Result<(), StoreError> {
    let now = now_ms();
    let sql = "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 \
               AND (last_used_at IS NULL OR last_used_at < $3)";
    on_pool!(db, pool => sqlx::query(sql)
        .bind(now)
        .bind(token_id)
        .bind(now - TOKEN_USE_RESOLUTION_MS)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(())
}

pub async fn list_tokens(db: &Db, user_id: UserId) -> Result<Vec<TokenListing>, StoreError> {
    let sql = "SELECT id, name, token_hint, scopes, created_at, last_used_at FROM api_tokens \
               WHERE user_id = $1 AND revoked_at IS NULL ORDER BY id";
    Ok(on_pool!(db, pool => sqlx::query_as(sql).bind(user_id).fetch_all(pool).await?))
}

/// Revokes a token by id; `NotFound` when it is unknown or already revoked.
pub async fn revoke_token(db: &Db, token_id: i64) -> Result<(), StoreError> {
    let sql = "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";
    let done =
        on_pool!(db, pool => sqlx::query(sql).bind(now_ms()).bind(token_id).execute(pool).await?.rows_affected());
    if done == 0 {
        return Err(StoreError::NotFound(format!("token {token_id}")));
    }
    Ok(())
}

/// Revokes one of the user's own tokens; `NotFound` when it is another user's, unknown or already revoked.
pub async fn revoke_user_token(db: &Db, user_id: UserId, token_id: i64) -> Result<(), StoreError> {
    let sql = "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL";
    let done = on_pool!(db, pool => sqlx::query(sql)
        .bind(now_ms())
        .bind(token_id)
        .bind(user_id)
        .execute(pool)
        .await?
        .rows_affected());
    if done == 0 {
        return Err(StoreError::NotFound(format!("token {token_id}")));
    }
    Ok(())
}
