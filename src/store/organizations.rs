//! Organizations, their teams, and the members with their roles.

use crate::domain::accounts::Role;
use crate::domain::{OrganizationId, ProjectId, UserId};

use super::{is_unique_violation, now_ms, on_pool, on_tx, Db, StoreError, Tx};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Organization {
    pub id: OrganizationId,
    pub slug: String,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Team {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub created_at: i64,
}

/// Creates an organization with its team of the same slug (which will own its projects).
pub async fn create_organization(db: &Db, slug: &str, name: &str) -> Result<Organization, StoreError> {
    let now = now_ms();
    let insert_org = "INSERT INTO organizations (slug, name, created_at) VALUES ($1, $2, $3) RETURNING id";
    let insert_team = "INSERT INTO teams (organization_id, slug, name, created_at) VALUES ($1, $2, $3, $4)";
    let result: Result<OrganizationId, sqlx::Error> = on_pool!(db, pool => async {
        let mut tx = pool.begin().await?;
        let id: OrganizationId = sqlx::query_scalar(insert_org).bind(slug).bind(name).bind(now).fetch_one(&mut *tx).await?;
        sqlx::query(insert_team).bind(id).bind(slug).bind(name).bind(now).execute(&mut *tx).await?;
        sqlx::query(super::alerts::INSERT_BUILTIN_CHANNEL).bind(id).bind(now).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(id)
    }.await);
    match result {
        Ok(id) => Ok(Organization {
            id,
            slug: slug.to_owned(),
            name: name.to_owned(),
            created_at: now,
        }),
        Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(format!("organization {slug}"))),
        Err(e) => Err(e.into()),
    }
}

pub async fn find_organization(db: &Db, slug: &str) -> Result<Option<Organization>, StoreError> {
    let sql = "SELECT id, slug, name, created_at FROM organizations WHERE slug = $1";
    Ok(on_pool!(db, pool => sqlx::query_as(sql).bind(slug).fetch_optional(pool).await?))
}

pub async fn get_organization(db: &Db, id: OrganizationId) -> Result<Option<Organization>, StoreError> {
    let sql = "SELECT id, slug, name, created_at FROM organizations WHERE id = $1";
    Ok(on_pool!(db, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await?))
}

/// The organizations a user belongs to, with the user's role in each, by slug.
pub async fn memberships(db: &Db, user_id: UserId) -> Result<Vec<(Organization, Role)>, StoreError> {
    let sql = "SELECT o.id, o.slug, o.name, o.created_at, m.role FROM organizations o \
               JOIN members m ON m.organization_id = o.id WHERE m.user_id = $1 ORDER BY o.slug";
    let rows: Vec<(OrganizationId, String, String, i64, String)> =
        on_pool!(db, pool => sqlx::query_as(sql).bind(user_id).fetch_all(pool).await?);
    rows.into_iter()
        .map(|(id, slug, name, created_at, role)| {
            let role = Role::parse(&role).map_err(|e| StoreError::Corrupt(format!("members.role: {e}")))?;
            Ok((
                Organization {
                    id,
                    slug,
                    name,
                    created_at,
                },
                role,
            ))
        })
        .collect()
}

/// Adds a member, or changes the role of an existing one, with no rule checked: for tools and tests. People
/// change memberships through `core::members`, which applies the owner rules.
pub async fn set_member(
    db: &Db,
    organization_id: OrganizationId,
    user_id: UserId,
    role: Role,
) -> Result<(), StoreError> {
    let mut tx = Tx::begin(db).await?;
    put_member(&mut tx, organization_id, user_id, role).await?;
    tx.commit().await
}

/// Every member's role, read inside a transaction that will change one of them. Postgres locks the rows,
/// so two concurrent demotions cannot both see a second owner; SQLite's transaction already holds the
/// write lock.
pub async fn member_roles(tx: &mut Tx, organization_id: OrganizationId) -> Result<Vec<(UserId, Role)>, StoreError> {
    let sql = "SELECT user_id, role FROM members WHERE organization_id = $1";
    let rows: Vec<(UserId, String)> = match tx {
        Tx::Sqlite(t) => sqlx::query_as(sql).bind(organization_id).fetch_all(&mut **t).await?,
        Tx::Postgres(t) => {
            let locked = format!("{sql} FOR UPDATE");
            sqlx::query_as(&locked)
                .bind(organization_id)
                .fetch_all(&mut **t)
                .await?
        }
    };
    rows.into_iter()
        .map(|(user_id, role)| {
            let role = Role::parse(&role).map_err(|e| StoreError::Corrupt(format!("members.role: {e}")))?;
            Ok((user_id, role))
        })
        .collect()
}

/// Adds a member or changes their role, inside a transaction.
pub async fn put_member(
    tx: &mut Tx,
    organization_id: OrganizationId,
    user_id: UserId,
    role: Role,
) -> Result<(), StoreError> {
    let sql = "INSERT INTO members (organization_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
               ON CONFLICT (organization_id, user_id) DO UPDATE SET role = excluded.role";
    on_tx!(tx, conn, Backend => sqlx::query(sql)
        .bind(organization_id)
        .bind(user_id)
        .bind(role.as_str())
        .bind(now_ms())
        .execute(&mut *conn)
        .await?
        .rows_affected());
    Ok(())
}

/// Removes a member inside a transaction.
pub async fn delete_member(tx: &mut Tx, organization_id: OrganizationId, user_id: UserId) -> Result<(), StoreError> {
    let sql = "DELETE FROM members WHERE organization_id = $1 AND user_id = $2";
    on_tx!(tx, conn, Backend => sqlx::query(sql)
        .bind(organization_id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?
        .rows_affected());
    Ok(())
}

/// A member of an organization as its settings page lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub created_at: i64,
}

/// The organization's members, by e-mail.
pub async fn list_members(db: &Db, organization_id: OrganizationId) -> Result<Vec<Member>, StoreError> {
    let sql = "SELECT u.id, u.email, u.name, m.role, m.created_at FROM members m \
               JOIN users u ON u.id = m.user_id WHERE m.organization_id = $1 ORDER BY u.email";
    let rows: Vec<(UserId, String, String, String, i64)> =
        on_pool!(db, pool => sqlx::query_as(sql).bind(organization_id).fetch_all(pool).await?);
    rows.into_iter()
        .map(|(user_id, email, name, role, created_at)| {
            let role = Role::parse(&role).map_err(|e| StoreError::Corrupt(format!("members.role: {e}")))?;
            Ok(Member {
                user_id,
                email,
                name,
                role,
                created_at,
            })
        })
        .collect()
}

/// Removes a member from an organization; `NotFound` when they are not one.
pub async fn remove_member(db: &Db, organization_id: OrganizationId, user_id: UserId) -> Result<(), StoreError> {
    let sql = "DELETE FROM members WHERE organization_id = $1 AND user_id = $2";
    let done = on_pool!(db, pool => sqlx::query(sql)
        .bind(organization_id)
        .bind(user_id)
        .execute(pool)
        .await?
        .rows_affected());
    if done == 0 {
        return Err(StoreError::NotFound(format!("member {user_id}")));
    }
    Ok(())
}

pub async fn count_owners(db: &Db, organization_id: OrganizationId) -> Result<i64, StoreError> {
    let sql = "SELECT COUNT(*) FROM members WHERE organization_id = $1 AND role = 'owner'";
    Ok(on_pool!(db, pool => sqlx::query_scalar(sql).bind(organization_id).fetch_one(pool).await?))
}

/// The teams owning a project (one per project today: its organization's team).
pub async fn project_teams(db: &Db, project_id: ProjectId) -> Result<Vec<Team>, StoreError> {
    let sql = "SELECT t.id, t.slug, t.name, t.created_at FROM teams t \
               JOIN project_teams pt ON pt.team_id = t.id WHERE pt.project_id = $1 ORDER BY t.id";
    Ok(on_pool!(db, pool => sqlx::query_as(sql).bind(project_id).fetch_all(pool).await?))
}

pub async fn find_team(db: &Db, organization_id: OrganizationId, slug: &str) -> Result<Option<Team>, StoreError> {
    let sql = "SELECT id, slug, name, created_at FROM teams WHERE organization_id = $1 AND slug = $2";
    Ok(on_pool!(db, pool => sqlx::query_as(sql).bind(organization_id).bind(slug).fetch_optional(pool).await?))
}

/// The organization's teams (one today, of the organization's slug), by slug.
pub async fn list_teams(db: &Db, organization_id: OrganizationId) -> Result<Vec<Team>, StoreError> {
    let sql = "SELECT id, slug, name, created_at FROM teams WHERE organization_id = $1 ORDER BY slug";
    Ok(on_pool!(db, pool => sqlx::query_as(sql).bind(organization_id).fetch_all(pool).await?))
}

pub async fn count_members(db: &Db, organization_id: OrganizationId) -> Result<i64, StoreError> {
    let sql = "SELECT COUNT(*) FROM members WHERE organization_id = $1";
    Ok(on_pool!(db, pool => sqlx::query_scalar(sql).bind(organization_id).fetch_one(pool).await?))
}
