//! Source-map artifacts: chunks waiting to be assembled (per organization, by SHA-1), bundles (a row per
//! project and bundle checksum, so a re-upload stores nothing) and their files, whose bytes are in the row,
//! zstd-compressed, on both engines. Found by (project, debug id) or (project, release, dist, url).

use std::collections::HashMap;

use sqlx::QueryBuilder;

use crate::domain::artifacts::BundleFile;
use crate::domain::{OrganizationId, ProjectId};

use super::{on_pool, on_tx, Db, StoreError, Tx};

/// `IN (…)` lists are bound in slices of this many.
const LIST_CHUNK: usize = 400;

/// A bundle to store: its checksum, release and dist (`""`: none) and files.
#[derive(Debug)]
pub struct NewBundle<'a> {
    pub checksum: &'a str,
    pub release: &'a str,
    pub dist: &'a str,
    pub files: &'a [BundleFile],
}

/// A stored file without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredFile {
    pub id: i64,
    pub url: String,
    pub file_type: String,
    pub dist: String,
    pub debug_id: Option<String>,
    pub sourcemap: Option<String>,
    pub size: i64,
    pub sha1: String,
    pub uploaded_at: i64,
}

const FILE_COLUMNS: &str = "f.id, f.url, f.file_type, f.dist, f.debug_id, f.sourcemap, f.size, f.sha1, b.uploaded_at";

/// Of these chunks, those the organization holds, with their sizes.
pub async fn chunk_sizes(
    db: &Db,
    organization_id: OrganizationId,
    checksums: &[String],
) -> Result<HashMap<String, i64>, StoreError> {
    let mut found = HashMap::new();
    for slice in checksums.chunks(LIST_CHUNK) {
        let rows: Vec<(String, i64)> = on_pool!(db, pool => {
            let mut qb = QueryBuilder::new("SELECT checksum, size FROM artifact_chunks WHERE organization_id = ");
            qb.push_bind(organization_id).push(" AND checksum IN (");
            let mut list = qb.separated(", ");
            for checksum in slice {
                list.push_bind(checksum);
            }
            qb.push(")");
            qb.build_query_as().fetch_all(pool).await?
        });
        found.extend(rows);
    }
    Ok(found)
}

/// Stores verified chunks (a chunk already held stays as it is: same name, same bytes).
pub async fn insert_chunks(
    db: &Db,
    organization_id: OrganizationId,
    chunks: &[(String, Vec<u8>)],
    now: i64,
) -> Result<(), StoreError> {
    let sql = "INSERT INTO artifact_chunks (organization_id, checksum, size, created_at, bytes) \
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT (organization_id, checksum) DO NOTHING";
    let mut tx = Tx::begin(db).await?;
    for (checksum, bytes) in chunks {
        on_tx!(&mut tx, conn, Backend => sqlx::query(sql)
            .bind(organization_id)
            .bind(checksum)
            .bind(bytes.len() as i64)
            .bind(now)
            .bind(&bytes[..])
            .execute(&mut *conn)
            .await?
            .rows_affected());
    }
    tx.commit().await?;
    Ok(())
}

/// The bytes of one chunk the organization holds.
pub async fn read_chunk(
    db: &Db,
    organization_id: OrganizationId,
    checksum: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    let sql = "SELECT bytes FROM artifact_chunks WHERE organization_id = $1 AND checksum = $2";
    Ok(on_pool!(db, pool => sqlx::query_scalar(sql)
        .bind(organization_id)
        .bind(checksum)
        .fetch_optional(pool)
        .await?))
}

/// Deletes chunks (assembled, or part of a refused bundle).
pub async fn delete_chunks(db: &Db, organization_id: OrganizationId, checksums: &[String]) -> Result<(), StoreError> {
    let mut tx = Tx::begin(db).await?;
    delete_chunks_in(&mut tx, organization_id, checksums).await?;
    tx.commit().await
}

async fn delete_chunks_in(
    tx: &mut Tx,
    organization_id: OrganizationId,
    checksums: &[String],
) -> Result<(), StoreError> {
    for slice in checksums.chunks(LIST_CHUNK) {
        on_tx!(tx, conn, Backend => {
            let mut qb = QueryBuilder::<Backend>::new("DELETE FROM artifact_chunks WHERE organization_id = ");
            qb.push_bind(organization_id).push(" AND checksum IN (");
            let mut list = qb.separated(", ");
            for checksum in slice {
                list.push_bind(checksum);
            }
            qb.push(")");
            qb.build().execute(&mut *conn).await?.rows_affected()
        });
    }
    Ok(())
}

/// Forgets chunks uploaded before `before_ms` and never assembled; returns how many.
pub async fn expire_chunks(db: &Db, before_ms: i64) -> Result<u64, StoreError> {
    let sql = "DELETE FROM artifact_chunks WHERE created_at < $1";
    let _turn = db.write_turn().await?;
    Ok(on_pool!(db, pool => sqlx::query(sql).bind(before_ms).execute(pool).await?.rows_affected()))
}

/// Of these projects, those holding the bundle `checksum`; their `uploaded_at` is refreshed to `now`, so a
/// re-uploaded bundle lives as long as a new one.
pub async fn touch_bundle(
    db: &Db,
    projects: &[ProjectId],
    checksum: &str,
    now: i64,
) -> Result<Vec<ProjectId>, StoreError> {
    let sql = "UPDATE artifact_bundles SET uploaded_at = $1 WHERE project_id = $2 AND checksum = $3 \
               RETURNING project_id";
    let mut tx = Tx::begin(db).await?;
    let mut held = Vec::new();
    for &project_id in projects {
        let found: Option<ProjectId> = on_tx!(&mut tx, conn, Backend => sqlx::query_scalar(sql)
            .bind(now)
            .bind(project_id)
            .bind(checksum)
            .fetch_optional(&mut *conn)
            .await?);
        held.extend(found);
    }
    tx.commit().await?;
    Ok(held)
}

/// Stores a bundle for each project that lacks it, and deletes the chunks it was assembled from, in one
/// transaction; returns for how many projects it was new.
pub async fn insert_bundle(
    db: &Db,
    organization_id: OrganizationId,
    projects: &[ProjectId],
    bundle: &NewBundle<'_>,
    chunks: &[String],
    now: i64,
) -> Result<u64, StoreError> {
    let insert = "INSERT INTO artifact_bundles (project_id, checksum, release, dist, files, size, uploaded_at) \
                  VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (project_id, checksum) DO NOTHING RETURNING id";
    let size: i64 = bundle.files.iter().map(|f| f.stored.len() as i64).sum();
    let mut tx = Tx::begin(db).await?;
    let mut new = 0;
    for &project_id in projects {
        let id: Option<i64> = on_tx!(&mut tx, conn, Backend => sqlx::query_scalar(insert)
            .bind(project_id)
            .bind(bundle.checksum)
            .bind(bundle.release)
            .bind(bundle.dist)
            .bind(bundle.files.len() as i64)
            .bind(size)
            .bind(now)
            .fetch_optional(&mut *conn)
            .await?);
        if let Some(bundle_id) = id {
            insert_files(&mut tx, bundle_id, project_id, bundle).await?;
            new += 1;
        }
    }
    delete_chunks_in(&mut tx, organization_id, chunks).await?;
    tx.commit().await?;
    Ok(new)
}

async fn insert_files(
    tx: &mut Tx,
    bundle_id: i64,
    project_id: ProjectId,
    bundle: &NewBundle<'_>,
) -> Result<(), StoreError> {
    let sql = "INSERT INTO artifact_files (bundle_id, project_id, release, dist, url, file_type, debug_id, \
               sourcemap, size, sha1, blob) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
    for file in bundle.files {
        on_tx!(tx, conn, Backend => sqlx::query(sql)
            .bind(bundle_id)
            .bind(project_id)
            .bind(bundle.release)
            .bind(bundle.dist)
            .bind(&file.url)
            .bind(&file.file_type)
            .bind(file.debug_id.as_deref())
            .bind(file.sourcemap.as_deref())
            .bind(file.size)
            .bind(&file.sha1)
            .bind(&file.stored[..])
            .execute(&mut *conn)
            .await?
            .rows_affected());
    }
    Ok(())
}

/// The newest file of this type (`source_map`, `minified_source`) of the project with this debug id (normalized).
pub async fn find_by_debug_id(
    db: &Db,
    project_id: ProjectId,
    debug_id: &str,
    file_type: &str,
) -> Result<Option<StoredFile>, StoreError> {
    let sql = format!(
        "SELECT {FILE_COLUMNS} FROM artifact_files f JOIN artifact_bundles b ON b.id = f.bundle_id \
         WHERE f.project_id = $1 AND f.debug_id = $2 AND f.file_type = $3 ORDER BY f.id DESC LIMIT 1"
    );
    Ok(on_pool!(db, pool => sqlx::query_as(&sql)
        .bind(project_id)
        .bind(debug_id)
        .bind(file_type)
        .fetch_optional(pool)
        .await?))
}

/// The project's files of this release and dist (`""`: none) with one of these URLs, newest first.
pub async fn find_by_urls(
    db: &Db,
    project_id: ProjectId,
    release: &str,
    dist: &str,
    urls: &[String],
) -> Result<Vec<StoredFile>, StoreError> {
    Ok(on_pool!(db, pool => {
        let mut qb = QueryBuilder::new(format!(
            "SELECT {FILE_COLUMNS} FROM artifact_files f JOIN artifact_bundles b ON b.id = f.bundle_id \
             WHERE f.project_id = "
        ));
        qb.push_bind(project_id).push(" AND f.release = ").push_bind(release);
        qb.push(" AND f.dist = ").push_bind(dist).push(" AND f.url IN (");
        let mut list = qb.separated(", ");
        for url in urls.iter().take(LIST_CHUNK) {
            list.push_bind(url);
        }
        qb.push(") ORDER BY f.id DESC");
        qb.build_query_as().fetch_all(pool).await?
    }))
}

/// A stored file's bytes, still compressed.
pub async fn read_blob(db: &Db, file_id: i64) -> Result<Vec<u8>, StoreError> {
    let sql = "SELECT blob FROM artifact_files WHERE id = $1";
    let found: Option<Vec<u8>> =
        on_pool!(db, pool => sqlx::query_scalar(sql).bind(file_id).fetch_optional(pool).await?);
    found.ok_or_else(|| StoreError::NotFound(format!("artifact file {file_id}")))
}

/// The files of a release across these projects, by URL (one per URL and dist: the newest).
pub async fn release_files(db: &Db, projects: &[ProjectId], release: &str) -> Result<Vec<StoredFile>, StoreError> {
    let mut files: Vec<StoredFile> = Vec::new();
    for &project_id in projects {
        let sql = format!(
            "SELECT {FILE_COLUMNS} FROM artifact_files f JOIN artifact_bundles b ON b.id = f.bundle_id \
             WHERE f.project_id = $1 AND f.release = $2 ORDER BY f.id DESC"
        );
        let rows: Vec<StoredFile> =
            on_pool!(db, pool => sqlx::query_as(&sql).bind(project_id).bind(release).fetch_all(pool).await?);
        for row in rows {
            if !files.iter().any(|f| f.url == row.url && f.dist == row.dist) {
                files.push(row);
            }
        }
    }
    Ok(files)
}

/// Deletes up to `limit` of the project's bundles uploaded before `before_ms` whose release was last seen
/// on an event before then too (a bundle without a release: at once); returns how many. The release's
/// last event comes from the issues' `release` tag counters, which are indexed by issue, where the events
/// have no index by release.
pub async fn expire_bundles(db: &Db, project_id: ProjectId, before_ms: i64, limit: i64) -> Result<u64, StoreError> {
    let sql = "DELETE FROM artifact_bundles WHERE id IN (SELECT b.id FROM artifact_bundles b \
               WHERE b.project_id = $1 AND b.uploaded_at < $2 AND (b.release = '' OR NOT EXISTS \
               (SELECT 1 FROM issues i JOIN issue_tags t ON t.issue_id = i.id AND t.key = 'release' \
               AND t.value = b.release WHERE i.project_id = $1 AND t.last_seen >= $2)) \
               ORDER BY b.uploaded_at LIMIT $3)";
    let _turn = db.write_turn().await?;
    Ok(on_pool!(db, pool => sqlx::query(sql)
        .bind(project_id)
        .bind(before_ms)
        .bind(limit)
        .execute(pool)
        .await?
        .rows_affected()))
}

/// Bundles stored across projects, and their files' stored bytes, as `(bundles, bytes)`.
pub async fn totals(db: &Db) -> Result<(i64, i64), StoreError> {
    let sql = "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM artifact_bundles";
    Ok(on_pool!(db, pool => sqlx::query_as(sql).fetch_one(pool).await?))
}
