//! Source maps: chunks and bundles as sentry-cli uploads them, single release files as older tools do,
//! and the look-up that finds a frame's map (by debug id, or by release and URL). Uploads need
//! `project:releases`; a bundle already stored for a project is not stored again.

use crate::core::changes::Change;
use crate::domain::accounts::Scope;
use crate::domain::artifacts::{
    legacy_file_type, normalize_debug_id, parse_sha1, read_bundle, resolve_reference, sourcemap_comment, stored_file,
    url_candidates, BundleFile, BUNDLE_LIMITS, MAX_BUNDLE_SIZE,
};
use crate::domain::ProjectId;
use crate::store::artifacts::{self as store, NewBundle, StoredFile};
use crate::store::projects::{self, Project};
use crate::store::{now_ms, releases, Db, StoreError};

use super::{Access, Core, CoreError, CoreResult};

/// How a frame's source map is looked for.
#[derive(Debug, Clone, Copy)]
pub enum MapLookup<'a> {
    /// `debug_meta.images[]` of type `sourcemap`: the bundle file of type source_map with this debug id
    /// (lowercase UUID with dashes; any case and format is accepted).
    DebugId(&'a str),
    /// Legacy: the minified file of this release (and dist) whose url matches the frame's `abs_path`
    /// (exactly, or as `~/` + the path after scheme and host, with the query string dropped), then its map
    /// from the `Sourcemap`/`X-SourceMap` header or the file's trailing `//# sourceMappingURL=` comment,
    /// resolved relative to the minified file's url and matched the same way.
    Url {
        release: &'a str,
        dist: Option<&'a str>,
        abs_path: &'a str,
    },
}

/// A source map found for a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundMap {
    /// Stable key for caching the parsed map: the map file's SHA-1.
    pub key: String,
    /// The source map's bytes (decompressed).
    pub bytes: bytes::Bytes,
    /// The minified file it maps, when uploaded with it: it shows where functions were declared.
    pub minified: Option<bytes::Bytes>,
}

/// What an assemble request came to, as sentry-cli reads it (`state`, `missingChunks`, `detail`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assembled {
    /// Stored (now or before).
    Ok,
    /// These chunks must be uploaded first.
    NotFound(Vec<String>),
    /// Refused, with the reason; nothing was stored and its chunks are gone.
    Error(String),
}

/// An assemble request: the bundle's checksum and its chunks' in order.
#[derive(Debug, Clone)]
pub struct AssembleRequest {
    pub checksum: String,
    pub chunks: Vec<String>,
    pub release: Option<String>,
    pub dist: Option<String>,
}

/// A single release file (the legacy upload).
#[derive(Debug, Clone)]
pub struct ReleaseFile {
    pub name: String,
    pub dist: Option<String>,
    /// `(name, value)` pairs as sent (`Sourcemap: app.js.map`).
    pub headers: Vec<(String, String)>,
    pub bytes: Vec<u8>,
}

/// Stores uploaded chunks, each named by the SHA-1 of its (decompressed) bytes, after checking every one.
pub async fn store_chunks(core: &Core, access: &Access, chunks: Vec<(String, Vec<u8>)>) -> CoreResult<()> {
    access.require(Scope::ProjectReleases)?;
    let mut checked = Vec::with_capacity(chunks.len());
    for (name, bytes) in chunks {
        let named = parse_sha1(&name).ok_or_else(|| {
            CoreError::Invalid(format!(
                "a chunk's name must be its SHA-1 (40 hex digits), not {name:?}"
            ))
        })?;
        let actual = stored_file_sha1(&bytes);
        if actual != named {
            return Err(CoreError::Invalid(format!(
                "the chunk sent as {named} has the SHA-1 {actual}: it was damaged or misnamed"
            )));
        }
        checked.push((named, bytes));
    }
    Ok(store::insert_chunks(&core.db, access.organization.id, &checked, now_ms()).await?)
}

fn stored_file_sha1(bytes: &[u8]) -> String {
    use sha1::{Digest, Sha1};
    hex::encode(Sha1::digest(bytes))
}

/// The organization's projects with these slugs (at least one), for an upload.
pub async fn upload_projects(core: &Core, access: &Access, slugs: &[String]) -> CoreResult<Vec<Project>> {
    access.require(Scope::ProjectReleases)?;
    if slugs.is_empty() {
        return Err(CoreError::Invalid("name at least one project to upload to".into()));
    }
    let mut found = Vec::with_capacity(slugs.len());
    for slug in slugs {
        let project = projects::find_organization_project(&core.db, access.organization.id, slug).await?;
        found.push(project.ok_or_else(|| CoreError::Invalid(format!("there is no project {slug:?}")))?);
    }
    Ok(found)
}

/// The projects of the organization's release `version`, for a release-scoped upload.
pub async fn release_projects(core: &Core, access: &Access, version: &str) -> CoreResult<Vec<Project>> {
    access.require(Scope::ProjectReleases)?;
    let release = releases::get_release(&core.db, access.organization.id, version)
        .await?
        .ok_or(CoreError::NotFound)?;
    let slugs: Vec<String> = release.projects.into_iter().map(|(slug, _)| slug).collect();
    upload_projects(core, access, &slugs).await
}

/// Assembles a bundle from its chunks for `projects` (found by [`upload_projects`]): stored once per
/// project; missing chunks are named; a bundle that breaks a rule is refused with the reason.
pub async fn assemble_bundle(
    core: &Core,
    access: &Access,
    projects: &[Project],
    request: AssembleRequest,
) -> CoreResult<Assembled> {
    access.require(Scope::ProjectReleases)?;
    let invalid = |what: &str| CoreError::Invalid(format!("{what} must be a SHA-1 (40 hex digits)"));
    let checksum = parse_sha1(&request.checksum).ok_or_else(|| invalid("checksum"))?;
    let chunks: Vec<String> = request
        .chunks
        .iter()
        .map(|c| parse_sha1(c).ok_or_else(|| invalid("every chunk")))
        .collect::<CoreResult<_>>()?;
    let ids: Vec<ProjectId> = projects.iter().map(|p| p.id).collect();
    let held = store::touch_bundle(&core.db, &ids, &checksum, now_ms()).await?;
    if held.len() == ids.len() {
        return Ok(Assembled::Ok);
    }
    let organization = access.organization.id;
    let sizes = store::chunk_sizes(&core.db, organization, &chunks).await?;
    let mut missing: Vec<String> = chunks.iter().filter(|c| !sizes.contains_key(*c)).cloned().collect();
    if !missing.is_empty() || chunks.is_empty() {
        missing.dedup();
        return Ok(Assembled::NotFound(missing));
    }
    let total: i64 = chunks.iter().map(|c| sizes[c]).sum();
    let outcome = match total as u64 > MAX_BUNDLE_SIZE {
        true => Err(format!("the bundle is larger than {MAX_BUNDLE_SIZE} bytes, the limit")),
        false => unpack(&core.db, organization, &checksum, &chunks).await?,
    };
    let bundle = match outcome {
        Ok(bundle) => bundle,
        Err(reason) => {
            store::delete_chunks(&core.db, organization, &chunks).await?;
            return Ok(Assembled::Error(reason));
        }
    };
    let release = request.release.or(bundle.release).unwrap_or_default();
    let dist = request.dist.or(bundle.dist).unwrap_or_default();
    let new = NewBundle {
        checksum: &checksum,
        release: &release,
        dist: &dist,
        files: &bundle.files,
    };
    store::insert_bundle(&core.db, organization, &ids, &new, &chunks, now_ms()).await?;
    // Events that missed this bundle's maps find them from now on (other processes within a second).
    core.changed(Change::SourceMaps).await;
    Ok(Assembled::Ok)
}

/// Concatenates the chunks, checks the whole checksum and unpacks the bundle within its limits (on a
/// blocking thread: unpacking and compressing is CPU work); `Err` is the sentence that refuses it.
async fn unpack(
    db: &Db,
    organization: crate::domain::OrganizationId,
    checksum: &str,
    chunks: &[String],
) -> Result<Result<crate::domain::artifacts::Bundle, String>, StoreError> {
    let mut bytes = Vec::new();
    for chunk in chunks {
        match store::read_chunk(db, organization, chunk).await? {
            Some(part) => bytes.extend_from_slice(&part),
            None => {
                return Ok(Err(format!(
                    "the chunk {chunk} expired before the bundle was assembled"
                )))
            }
        }
    }
    let expected = checksum.to_owned();
    let unpacked = tokio::task::spawn_blocking(move || {
        let actual = stored_file_sha1(&bytes);
        if actual != expected {
            return Err(format!(
                "the chunks put together have the SHA-1 {actual}, not the bundle's {expected}"
            ));
        }
        read_bundle(&bytes, &BUNDLE_LIMITS).map_err(|e| e.to_string())
    })
    .await;
    Ok(unpacked.unwrap_or_else(|e| Err(format!("the bundle could not be read: {e}"))))
}

/// Stores one release file for `projects` (those of the release, or the one named); a name already stored
/// for the release and dist is a conflict, as Sentry answers it.
pub async fn upload_release_file(
    core: &Core,
    access: &Access,
    projects: &[Project],
    release: &str,
    file: ReleaseFile,
) -> CoreResult<StoredFile> {
    access.require(Scope::ProjectReleases)?;
    let name = file.name.trim();
    if name.is_empty() {
        return Err(CoreError::Invalid(
            "a release file needs a name (its URL, e.g. ~/static/app.js)".into(),
        ));
    }
    let dist = file.dist.clone().unwrap_or_default();
    let ids: Vec<ProjectId> = projects.iter().map(|p| p.id).collect();
    let first = *ids.first().ok_or(CoreError::NotFound)?;
    if !store::find_by_urls(&core.db, first, release, &dist, &[name.to_owned()])
        .await?
        .is_empty()
    {
        return Err(CoreError::Conflict(format!(
            "a file named {name} already exists in release {release}"
        )));
    }
    let header = |wanted: &[&str]| {
        file.headers
            .iter()
            .find(|(key, _)| wanted.iter().any(|w| key.trim().eq_ignore_ascii_case(w)))
            .map(|(_, value)| value.trim().to_owned())
    };
    let stored = BundleFile {
        url: name.to_owned(),
        file_type: legacy_file_type(name).to_owned(),
        debug_id: header(&["debug-id"]).and_then(|id| normalize_debug_id(&id)),
        sourcemap: header(&["sourcemap", "x-sourcemap"]),
        ..stored_file(&file.bytes)
    };
    // A release file is a bundle of one, named by what makes it unique: release, dist and name.
    let checksum = stored_file_sha1(format!("release-file\n{release}\n{dist}\n{name}").as_bytes());
    let files = [stored];
    let bundle = NewBundle {
        checksum: &checksum,
        release,
        dist: &dist,
        files: &files,
    };
    store::insert_bundle(&core.db, access.organization.id, &ids, &bundle, &[], now_ms()).await?;
    core.changed(Change::SourceMaps).await;
    let found = store::find_by_urls(&core.db, first, release, &dist, &[name.to_owned()]).await?;
    found.into_iter().next().ok_or(CoreError::NotFound)
}

/// The files stored for a release across `projects`.
pub async fn release_files(
    core: &Core,
    access: &Access,
    projects: &[Project],
    release: &str,
) -> CoreResult<Vec<StoredFile>> {
    access.require(Scope::ProjectReleases)?;
    let ids: Vec<ProjectId> = projects.iter().map(|p| p.id).collect();
    Ok(store::release_files(&core.db, &ids, release).await?)
}

/// The source map for a frame of the project's events, as [`MapLookup`] says, or `None`.
pub async fn find_source_map(
    db: &Db,
    project_id: ProjectId,
    lookup: MapLookup<'_>,
) -> Result<Option<FoundMap>, StoreError> {
    let (map, minified) = match lookup {
        MapLookup::DebugId(debug_id) => match normalize_debug_id(debug_id) {
            Some(id) => (
                store::find_by_debug_id(db, project_id, &id, "source_map").await?,
                store::find_by_debug_id(db, project_id, &id, "minified_source").await?,
            ),
            None => (None, None),
        },
        MapLookup::Url {
            release,
            dist,
            abs_path,
        } => match map_by_url(db, project_id, release, dist.unwrap_or_default(), abs_path).await? {
            Some((map, minified)) => (Some(map), Some(minified)),
            None => (None, None),
        },
    };
    let Some(map) = map else { return Ok(None) };
    let bytes = read_file(db, &map).await?;
    // The minified source names functions; a map is still of use without it.
    let minified = match minified {
        Some(file) => Some(read_file(db, &file).await?.into()),
        None => None,
    };
    Ok(Some(FoundMap {
        key: map.sha1,
        bytes: bytes.into(),
        minified,
    }))
}

async fn read_file(db: &Db, file: &StoredFile) -> Result<Vec<u8>, StoreError> {
    let stored = store::read_blob(db, file.id).await?;
    zstd::decode_all(&stored[..]).map_err(|e| StoreError::Corrupt(format!("artifact file {}: {e}", file.id)))
}

/// The legacy path: the minified file by URL, then the map its header or trailing comment names.
async fn map_by_url(
    db: &Db,
    project_id: ProjectId,
    release: &str,
    dist: &str,
    abs_path: &str,
) -> Result<Option<(StoredFile, StoredFile)>, StoreError> {
    let candidates = url_candidates(abs_path);
    let found = store::find_by_urls(db, project_id, release, dist, &candidates).await?;
    let Some(minified) = best(found, &candidates, |f| f.file_type != "source_map") else {
        return Ok(None);
    };
    let reference = match minified.sourcemap.clone() {
        Some(reference) => reference,
        None => {
            let source = read_file(db, &minified).await?;
            match sourcemap_comment(&source) {
                Some(reference) => reference,
                None => return Ok(None),
            }
        }
    };
    let map_candidates = url_candidates(&resolve_reference(&minified.url, &reference));
    let maps = store::find_by_urls(db, project_id, release, dist, &map_candidates).await?;
    Ok(best(maps, &map_candidates, |_| true).map(|map| (map, minified)))
}

/// Of the files found (newest first), the one matching the earliest candidate URL.
fn best(found: Vec<StoredFile>, candidates: &[String], keep: impl Fn(&StoredFile) -> bool) -> Option<StoredFile> {
    let mut kept: Vec<StoredFile> = found.into_iter().filter(|f| keep(f)).collect();
    let rank = |f: &StoredFile| candidates.iter().position(|c| *c == f.url).unwrap_or(usize::MAX);
    // A stable sort keeps the newest first among equally good matches.
    kept.sort_by_key(rank);
    kept.into_iter().next()
}
