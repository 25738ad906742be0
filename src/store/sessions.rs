//! Web sessions (the cookie's SHA-256 only, never the cookie itself) and the audit log.

use super::accounts::User;
use super::{now_ms, on_pool, Db, StoreError};
use crate::domain::UserId;

/// A signed-in browser: its user and the token its forms must echo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub token_hash: String,
    pub user: User,
    pub csrf_token: String,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    token_hash: String,
    csrf_token: String,
    id: UserId,
    email: String,
    name: String,
    is_admin: bool,
    created_at: i64,
}

pub async fn create_session(
    db: &Db,
    token_hash: &str,
    user_id: UserId,
    csrf_token: &str,
    lifetime_ms: i64,
) -> Result<(), StoreError> {
    // Each sign-in sweeps the expired sessions, so the table holds only live ones without a background job.
    let purge = "DELETE FROM sessions WHERE expires_at <= $1";
    on_pool!(db, pool => sqlx::query(purge).bind(now_ms()).execute(pool).await?.rows_affected());
    let sql = "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
               VALUES ($1, $2, $3, $4, $5)";
    let now = now_ms();
    on_pool!(db, pool => sqlx::query(sql)
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf_token)
        .bind(now)
        .bind(now + lifetime_ms)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(())
}

/// The live session with this hash; expired sessions are not found.
pub async fn find_session(db: &Db, token_hash: &str) -> Result<Option<Session>, StoreError> {
    let sql = "SELECT s.token_hash, s.csrf_token, u.id, u.email, u.name, u.is_admin, u.created_at \
               FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2";
    let row: Option<SessionRow> =
        on_pool!(db, pool => sqlx::query_as(sql).bind(token_hash).bind(now_ms()).fetch_optional(pool).await?);
    Ok(row.map(|row| Session {
        token_hash: row.token_hash,
        csrf_token: row.csrf_token,
        user: User {
            id: row.id,
            email: row.email,
            name: row.name,
            is_admin: row.is_admin,
            created_at: row.created_at,
        },
    }))
}

pub async fn delete_session(db: &Db, token_hash: &str) -> Result<(), StoreError> {
    let sql = "DELETE FROM sessions WHERE token_hash = $1";
    on_pool!(db, pool => sqlx::query(sql).bind(token_hash).execute(pool).await?.rows_affected());
    Ok(())
}

/// Signs a user out everywhere but here (after a password change).
pub async fn delete_other_sessions(db: &Db, user_id: UserId, keep_hash: &str) -> Result<(), StoreError> {
    let sql = "DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2";
    on_pool!(db, pool => sqlx::query(sql).bind(user_id).bind(keep_hash).execute(pool).await?.rows_affected());
    Ok(())
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub created_at: i64,
    pub user_id: Option<UserId>,
    pub email: String,
    pub address: String,
    pub action: String,
    pub detail: String,
}

pub async fn record_audit(
    db: &Db,
    user_id: Option<UserId>,
    email: &str,
    address: &str,
    action: &str,
    detail: &str,
) -> Result<(), StoreError> {
    let sql = "INSERT INTO audit_log (created_at, user_id, email, address, action, detail) \
               VALUES ($1, $2, $3, $4, $5, $6)";
    on_pool!(db, pool => sqlx::query(sql)
        .bind(now_ms())
        .bind(user_id)
        .bind(email)
        .bind(address)
        .bind(action)
        .bind(detail)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(())
}

/// The newest entries first.
pub async fn recent_audit(db: &Db, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
    let sql = "SELECT id, created_at, user_id, email, address, action, detail FROM audit_log \
               ORDER BY created_at DESC, id DESC LIMIT $1";
    Ok(on_pool!(db, pool => sqlx::query_as(sql).bind(limit).fetch_all(pool).await?))
}
