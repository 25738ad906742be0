//! Event attachments: a row per file (name, types, size, SHA-1, the event it belongs to), its bytes in a file
//! beside a SQLite database (`attachment_files`) or in the row's `blob` on Postgres. Stored only for an event
//! that is stored, once per (event, name, SHA-1); deleted with their event (expiry, eviction, the issue's
//! deletion), files after the rows, so that no row ever points at a missing file.

use sqlx::QueryBuilder;

use crate::domain::attachments::NewAttachment;
use crate::domain::{AttachmentId, IssueId, OrganizationId, ProjectId};

use super::attachment_files as files;
use super::{now_ms, on_pool, on_tx, Db, StoreError, Tx};

/// A stored attachment, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Attachment {
    pub id: AttachmentId,
    pub project_id: ProjectId,
    pub issue_id: IssueId,
    pub event_id: String,
    pub name: String,
    pub content_type: String,
    pub attachment_type: String,
    pub size: i64,
    pub sha1: String,
    pub created_at: i64,
}

const COLUMNS: &str = "id, project_id, issue_id, event_id, name, content_type, attachment_type, size, sha1, created_at";

/// Files whose rows are gone, to be removed once the deleting transaction has committed.
#[derive(Debug, Default)]
#[must_use = "the files stay on disk until removed"]
pub struct StaleFiles(Vec<String>);

/// What a delete took away: attachments, their bytes, and their files (SQLite).
#[derive(Debug, Default)]
pub struct Removed {
    pub count: i64,
    pub bytes: i64,
    pub files: StaleFiles,
}

/// Stores the attachments of a stored event, all or none, in one transaction (on SQLite the files are
/// written and synced first, outside the write lock). Returns `None` when the event is not stored, else per
/// attachment whether it is new (`false`: the same name and bytes were stored for the event before).
pub async fn insert_for_event(
    db: &Db,
    project_id: ProjectId,
    event_id: &str,
    attachments: &[NewAttachment],
) -> Result<Option<Vec<bool>>, StoreError> {
    let root = files::root(db);
    let mut paths = Vec::with_capacity(attachments.len());
    if let Some(root) = &root {
        for attachment in attachments {
            match files::write(root, project_id, attachment.bytes.clone()).await {
                Ok(path) => paths.push(Some(path)),
                Err(error) => {
                    files::remove(root, paths.into_iter().flatten().collect()).await;
                    return Err(error);
                }
            }
        }
    } else {
        paths.resize(attachments.len(), None);
    }
    let inserted = insert_rows(db, project_id, event_id, attachments, &paths).await;
    if let Some(root) = &root {
        // Files of rows not committed (a failure, no event, a re-send) belong to nothing.
        let unused = paths.iter().enumerate().filter(|(i, _)| match &inserted {
            Ok(Some(new)) => !new[*i],
            _ => true,
        });
        files::remove(root, unused.filter_map(|(_, path)| path.clone()).collect()).await;
    }
    inserted
}

async fn insert_rows(
    db: &Db,
    project_id: ProjectId,
    event_id: &str,
    attachments: &[NewAttachment],
    paths: &[Option<String>],
) -> Result<Option<Vec<bool>>, StoreError> {
    let find = "SELECT issue_id, timestamp FROM events WHERE project_id = $1 AND event_id = $2";
    let insert = "INSERT INTO attachments (project_id, issue_id, event_id, event_timestamp, name, content_type, \
                  attachment_type, size, sha1, created_at, path, blob) \
                  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                  ON CONFLICT (project_id, event_id, name, sha1) DO NOTHING RETURNING id";
    let mut tx = Tx::begin(db).await?;
    let event: Option<(IssueId, i64)> = on_tx!(&mut tx, conn, Backend => sqlx::query_as(find)
        .bind(project_id)
        .bind(event_id)
        .fetch_optional(&mut *conn)
        .await?);
    let Some((issue_id, event_timestamp)) = event else {
        return Ok(None);
    };
    let mut new = Vec::with_capacity(attachments.len());
    for (attachment, path) in attachments.iter().zip(paths) {
        // The bytes go in the row only where no file holds them (Postgres).
        let blob = path.is_none().then_some(&attachment.bytes[..]);
        let id: Option<i64> = on_tx!(&mut tx, conn, Backend => sqlx::query_scalar(insert)
            .bind(project_id)
            .bind(issue_id)
            .bind(event_id)
            .bind(event_timestamp)
            .bind(&attachment.name)
            .bind(&attachment.content_type)
            .bind(&attachment.attachment_type)
            .bind(attachment.size())
            .bind(&attachment.sha1)
            .bind(now_ms())
            .bind(path.as_deref())
            .bind(blob)
            .fetch_optional(&mut *conn)
            .await?);
        new.push(id.is_some());
    }
    tx.commit().await?;
    Ok(Some(new))
}

/// The event's attachments, in the order they were stored.
pub async fn for_event(db: &Db, project_id: ProjectId, event_id: &str) -> Result<Vec<Attachment>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM attachments WHERE project_id = $1 AND event_id = $2 ORDER BY id");
    Ok(on_pool!(db, pool => sqlx::query_as(&sql).bind(project_id).bind(event_id).fetch_all(pool).await?))
}

/// One of the event's attachments.
pub async fn get(
    db: &Db,
    project_id: ProjectId,
    event_id: &str,
    id: AttachmentId,
) -> Result<Option<Attachment>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM attachments WHERE project_id = $1 AND event_id = $2 AND id = $3");
    Ok(on_pool!(db, pool => sqlx::query_as(&sql)
        .bind(project_id)
        .bind(event_id)
        .bind(id)
        .fetch_optional(pool)
        .await?))
}

/// An attachment's bytes, from its file (SQLite) or its row (Postgres).
pub async fn read_bytes(db: &Db, attachment: &Attachment) -> Result<Vec<u8>, StoreError> {
    let sql = "SELECT path, blob FROM attachments WHERE id = $1";
    let row: Option<(Option<String>, Option<Vec<u8>>)> =
        on_pool!(db, pool => sqlx::query_as(sql).bind(attachment.id).fetch_optional(pool).await?);
    let not_found = || StoreError::NotFound(format!("attachment {}", attachment.id));
    match (row.ok_or_else(not_found)?, files::root(db)) {
        ((Some(path), _), Some(root)) => files::read(&root, &path).await,
        ((_, Some(blob)), _) => Ok(blob),
        _ => Err(StoreError::Corrupt(format!(
            "attachment {} has no bytes",
            attachment.id
        ))),
    }
}

/// Bytes of attachments the project stores.
pub async fn project_bytes(db: &Db, project_id: ProjectId) -> Result<i64, StoreError> {
    let sql = "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM attachments WHERE project_id = $1";
    Ok(on_pool!(db, pool => sqlx::query_scalar(sql).bind(project_id).fetch_one(pool).await?))
}

/// Attachments stored across projects and their bytes, as `(count, bytes)`.
pub async fn totals(db: &Db) -> Result<(i64, i64), StoreError> {
    let sql = "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM attachments";
    Ok(on_pool!(db, pool => sqlx::query_as(sql).fetch_one(pool).await?))
}

/// The project's own attachment quota in bytes (`None`: the server's default).
pub async fn quota(db: &Db, project_id: ProjectId) -> Result<Option<i64>, StoreError> {
    let sql = "SELECT CAST(attachment_quota_bytes AS BIGINT) FROM projects WHERE id = $1";
    let found: Option<Option<i64>> =
        on_pool!(db, pool => sqlx::query_scalar(sql).bind(project_id).fetch_optional(pool).await?);
    Ok(found.flatten())
}

/// Sets the project's attachment quota (`None`: the server's default).
pub async fn set_quota(db: &Db, project_id: ProjectId, bytes: Option<i64>) -> Result<(), StoreError> {
    let sql = "UPDATE projects SET attachment_quota_bytes = $1 WHERE id = $2";
    let _turn = db.write_turn().await?;
    on_pool!(db, pool => sqlx::query(sql).bind(bytes).bind(project_id).execute(pool).await?.rows_affected());
    Ok(())
}

/// Deletes up to `limit` of the project's attachments whose event's time is before `before_ms` (their
/// events expire in the same sweep), then their files; returns how many.
pub async fn expire(db: &Db, project_id: ProjectId, before_ms: i64, limit: i64) -> Result<u64, StoreError> {
    let sql = "DELETE FROM attachments WHERE id IN (SELECT id FROM attachments WHERE project_id = $1 \
               AND event_timestamp < $2 ORDER BY event_timestamp LIMIT $3) RETURNING path, size";
    let mut tx = Tx::begin(db).await?;
    let rows: Vec<(Option<String>, i64)> = on_tx!(&mut tx, conn, Backend => sqlx::query_as(sql)
        .bind(project_id)
        .bind(before_ms)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?);
    tx.commit().await?;
    let count = rows.len() as u64;
    remove_files(db, StaleFiles(rows.into_iter().filter_map(|(path, _)| path).collect())).await;
    Ok(count)
}

/// Deletes the attachments of the given events inside the caller's transaction (eviction's); the files
/// go with [`remove_files`] once it has committed.
pub async fn delete_for_events(tx: &mut Tx, project_id: ProjectId, event_ids: &[&str]) -> Result<Removed, StoreError> {
    let mut removed = Removed::default();
    for chunk in event_ids.chunks(400) {
        let rows: Vec<(Option<String>, i64)> = on_tx!(tx, conn, Backend => {
            let mut qb = QueryBuilder::<Backend>::new("DELETE FROM attachments WHERE project_id = ");
            qb.push_bind(project_id).push(" AND event_id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            qb.push(") RETURNING path, size");
            qb.build_query_as().fetch_all(&mut *conn).await?
        });
        removed.count += rows.len() as i64;
        removed.bytes += rows.iter().map(|(_, size)| size).sum::<i64>();
        removed.files.0.extend(rows.into_iter().filter_map(|(path, _)| path));
    }
    Ok(removed)
}

/// The files of the attachments of those of the issues that are the organization's, read inside the
/// transaction that deletes the issues (their rows go by the cascade); removed with [`remove_files`] once it
/// has committed.
pub async fn files_of_issues(
    tx: &mut Tx,
    organization_id: OrganizationId,
    issue_ids: &[IssueId],
) -> Result<StaleFiles, StoreError> {
    let mut stale = StaleFiles::default();
    for chunk in issue_ids.chunks(400) {
        let paths: Vec<String> = on_tx!(tx, conn, Backend => {
            let mut qb = QueryBuilder::<Backend>::new(
                "SELECT path FROM attachments WHERE path IS NOT NULL AND project_id IN \
                 (SELECT id FROM projects WHERE organization_id = ",
            );
            qb.push_bind(organization_id).push(") AND issue_id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            qb.push(")");
            qb.build_query_scalar().fetch_all(&mut *conn).await?
        });
        stale.0.extend(paths);
    }
    Ok(stale)
}

/// Removes files whose rows a committed transaction deleted (nothing on Postgres).
pub async fn remove_files(db: &Db, stale: StaleFiles) {
    if let (Some(root), false) = (files::root(db), stale.0.is_empty()) {
        files::remove(&root, stale.0).await;
    }
}
