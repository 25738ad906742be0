//! Repositories and the commits set on releases: one list per organization and version, replaced whole
//! when a tool sets commits again.

use sqlx::QueryBuilder;

use super::{now_ms, on_pool, on_tx, Db, StoreError, Tx};
use crate::domain::release_commits::{authors, Commit};
use crate::domain::OrganizationId;

/// Rows per multi-row insert: 9 binds each stays under SQLite's and Postgres's bind limits.
const ROW_CHUNK: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Repository {
    pub id: i64,
    pub name: String,
    pub url: Option<String>,
    pub provider: Option<String>,
    pub created_at: i64,
}

/// A release's commit with the repository it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCommit {
    pub commit: Commit,
    pub repository: Repository,
}

/// What a release shows of its commits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitSummary {
    pub count: i64,
    /// The first commit sent (sentry-cli sends the newest first), as Sentry's `lastCommit`.
    pub last: Option<StoredCommit>,
    /// Distinct (name, email) of the authors.
    pub authors: Vec<Author>,
}

const REPOSITORY_COLUMNS: &str = "id, name, url, provider, created_at";

/// The organization's repositories by name.
pub async fn list_repositories(db: &Db, organization_id: OrganizationId) -> Result<Vec<Repository>, StoreError> {
    let sql = format!("SELECT {REPOSITORY_COLUMNS} FROM repositories WHERE organization_id = $1 ORDER BY name, id");
    Ok(on_pool!(db, pool => sqlx::query_as(&sql).bind(organization_id).fetch_all(pool).await?))
}

/// Adds the repository unless the organization has one by that name; returns it and whether it is new.
pub async fn add_repository(
    db: &Db,
    organization_id: OrganizationId,
    name: &str,
    url: Option<&str>,
    provider: Option<&str>,
) -> Result<(Repository, bool), StoreError> {
    let insert = "INSERT INTO repositories (organization_id, name, url, provider, created_at) \
                  VALUES ($1, $2, $3, $4, $5) ON CONFLICT (organization_id, name) DO NOTHING";
    let find = format!("SELECT {REPOSITORY_COLUMNS} FROM repositories WHERE organization_id = $1 AND name = $2");
    Ok(on_pool!(db, pool => {
        let added = sqlx::query(insert)
            .bind(organization_id)
            .bind(name)
            .bind(url)
            .bind(provider)
            .bind(now_ms())
            .execute(pool)
            .await?
            .rows_affected();
        let repository = sqlx::query_as(&find).bind(organization_id).bind(name).fetch_one(pool).await?;
        (repository, added > 0)
    }))
}

/// Replaces the release's commits with these (in this order), adding the repositories they name.
pub async fn replace_commits(
    db: &Db,
    organization_id: OrganizationId,
    version: &str,
    commits: &[Commit],
) -> Result<(), StoreError> {
    let mut tx = Tx::begin(db).await?;
    let mut names: Vec<&str> = commits.iter().map(|c| c.repository.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let mut ids = Vec::with_capacity(names.len());
    for name in &names {
        ids.push(ensure_repository(&mut tx, organization_id, name).await?);
    }
    let clear = "DELETE FROM release_commits WHERE organization_id = $1 AND version = $2";
    on_tx!(&mut tx, conn, Backend => {
        sqlx::query(clear).bind(organization_id).bind(version).execute(&mut *conn).await?;
    });
    let rows: Vec<(usize, i64, &Commit)> = commits
        .iter()
        .enumerate()
        .map(|(position, c)| {
            (
                position,
                ids[names.binary_search(&c.repository.as_str()).unwrap_or(0)],
                c,
            )
        })
        .collect();
    for chunk in rows.chunks(ROW_CHUNK) {
        on_tx!(&mut tx, conn, Backend => {
            let mut qb = QueryBuilder::<Backend>::new(
                "INSERT INTO release_commits (organization_id, version, position, repository_id, commit_id, \
                 message, author_name, author_email, committed_at) ",
            );
            qb.push_values(chunk, |mut row, (position, repository_id, c)| {
                row.push_bind(organization_id)
                    .push_bind(version)
                    .push_bind(*position as i64)
                    .push_bind(*repository_id)
                    .push_bind(&c.id)
                    .push_bind(&c.message)
                    .push_bind(&c.author_name)
                    .push_bind(&c.author_email)
                    .push_bind(c.timestamp);
            });
            qb.build().execute(&mut *conn).await?;
        });
    }
    tx.commit().await
}

async fn ensure_repository(tx: &mut Tx, organization_id: OrganizationId, name: &str) -> Result<i64, StoreError> {
    let insert = "INSERT INTO repositories (organization_id, name, created_at) VALUES ($1, $2, $3) \
                  ON CONFLICT (organization_id, name) DO NOTHING";
    let find = "SELECT id FROM repositories WHERE organization_id = $1 AND name = $2";
    Ok(on_tx!(tx, conn, Backend => {
        sqlx::query(insert).bind(organization_id).bind(name).bind(now_ms()).execute(&mut *conn).await?;
        sqlx::query_scalar(find).bind(organization_id).bind(name).fetch_one(&mut *conn).await?
    }))
}

/// An author's (name, email).
type Author = (Option<String>, Option<String>);

type CommitRow = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    i64,
    String,
    Option<String>,
    Option<String>,
    i64,
);

const COMMIT_SELECT: &str = "SELECT c.commit_id, c.message, c.author_name, c.author_email, c.committed_at, \
                             r.id, r.name, r.url, r.provider, r.created_at \
                             FROM release_commits c JOIN repositories r ON r.id = c.repository_id \
                             WHERE c.organization_id = $1 AND c.version = $2";

fn stored(
    (id, message, author_name, author_email, timestamp, repo_id, name, url, provider, created_at): CommitRow,
) -> StoredCommit {
    StoredCommit {
        commit: Commit {
            repository: name.clone(),
            id,
            message,
            author_name,
            author_email,
            timestamp,
        },
        repository: Repository {
            id: repo_id,
            name,
            url,
            provider,
            created_at,
        },
    }
}

/// The release's commits in the order they were sent.
pub async fn list_commits(
    db: &Db,
    organization_id: OrganizationId,
    version: &str,
) -> Result<Vec<StoredCommit>, StoreError> {
    let sql = format!("{COMMIT_SELECT} ORDER BY c.position");
    let rows: Vec<CommitRow> =
        on_pool!(db, pool => sqlx::query_as(&sql).bind(organization_id).bind(version).fetch_all(pool).await?);
    Ok(rows.into_iter().map(stored).collect())
}

/// The release's commit count, newest commit and authors, without loading every commit.
pub async fn commit_summary(
    db: &Db,
    organization_id: OrganizationId,
    version: &str,
) -> Result<CommitSummary, StoreError> {
    let count_sql = "SELECT COUNT(*) FROM release_commits WHERE organization_id = $1 AND version = $2";
    let last_sql = format!("{COMMIT_SELECT} AND c.position = 0");
    let authors_sql = "SELECT author_name, author_email FROM release_commits \
                       WHERE organization_id = $1 AND version = $2 \
                       AND (author_name IS NOT NULL OR author_email IS NOT NULL) \
                       GROUP BY author_name, author_email ORDER BY MIN(position)";
    let (count, last, people): (i64, Option<CommitRow>, Vec<Author>) = on_pool!(db, pool => (
        sqlx::query_scalar(count_sql).bind(organization_id).bind(version).fetch_one(pool).await?,
        sqlx::query_as(&last_sql).bind(organization_id).bind(version).fetch_optional(pool).await?,
        sqlx::query_as(authors_sql).bind(organization_id).bind(version).fetch_all(pool).await?,
    ));
    let as_commits: Vec<Commit> = people
        .into_iter()
        .map(|(author_name, author_email)| Commit {
            author_name,
            author_email,
            ..Commit::default()
        })
        .collect();
    Ok(CommitSummary {
        count,
        last: last.map(stored),
        authors: authors(&as_commits),
    })
}

/// The newest other release of the organization created no later than this one that has commits.
pub async fn previous_with_commits(
    db: &Db,
    organization_id: OrganizationId,
    version: &str,
) -> Result<Option<String>, StoreError> {
    let sql = "SELECT d.version FROM release_details d WHERE d.organization_id = $1 AND d.version <> $2 \
               AND d.created_at <= COALESCE((SELECT created_at FROM release_details \
                                             WHERE organization_id = $1 AND version = $2), $3) \
               AND EXISTS (SELECT 1 FROM release_commits c \
                           WHERE c.organization_id = d.organization_id AND c.version = d.version) \
               ORDER BY d.created_at DESC, d.version DESC LIMIT 1";
    Ok(on_pool!(db, pool => sqlx::query_scalar(sql)
        .bind(organization_id)
        .bind(version)
        .bind(now_ms())
        .fetch_optional(pool)
        .await?))
}
