//! Source-map uploads as sentry-cli 2.x and 3.x and the bundler plugins make them: the chunk-upload options
//! and chunks, artifact-bundle and release-bundle assembly, and single release files (multipart) with their
//! listing. Native debug files are refused with a sentence saying so.

use std::io::Read;

use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::header::HOST;
use axum::http::uri::Authority;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use url::Url;

use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::{ApiError, ApiResult};
use crate::api::ApiState;
use crate::core::artifacts::{self, AssembleRequest, Assembled, ReleaseFile};
use crate::domain::accounts::Scope;
use crate::domain::artifacts::{CHUNKS_PER_REQUEST, CHUNK_SIZE, MAX_BUNDLE_SIZE, MAX_REQUEST_SIZE};
use crate::store::artifacts::StoredFile;
use crate::store::projects::Project;

/// What `debug-files upload` (and DIF assembly) is told.
const NO_NATIVE: &str = "native debug files are not supported: Faultline stores JavaScript source maps only \
                         (sentry-cli sourcemaps upload)";

/// `GET …/chunk-upload/`: how sentry-cli should upload. `accept` names artifact bundles (v2: the server
/// names the chunks it lacks, so a re-upload sends nothing) and release files, so every sentry-cli 2.x
/// source-map upload arrives as a chunked bundle; without `debug_files` it never chunks native files.
pub async fn options(
    caller: Caller,
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(org): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.org(&org)?;
    let called = headers.get(HOST).and_then(|host| host.to_str().ok());
    let url = chunk_upload_url(&state.public_url, called, &org);
    Ok(Json(json!({
        "url": url,
        "chunkSize": CHUNK_SIZE,
        "chunksPerRequest": CHUNKS_PER_REQUEST,
        "maxFileSize": MAX_BUNDLE_SIZE,
        "maxRequestSize": MAX_REQUEST_SIZE,
        // One request at a time: SQLite has one writer, and uploads are rare.
        "concurrency": 1,
        "hashAlgorithm": "sha1",
        "compression": ["gzip"],
        "accept": ["artifact_bundles", "artifact_bundles_v2", "release_files"],
    })))
}

/// Where the chunks go: an absolute URL, as Sentry answers every client but old sentry-cli. The `sentry` CLI
/// inside the 11.x bundler plugins uploads chunks only to an absolute URL on the origin its token is for (a
/// path fails there), and sentry-cli sends its token with chunks to any absolute URL. The origin is the one
/// the client called (its `Host`), so a server reached by another name than `FAULTLINE_URL` (an internal
/// address, a test's port) still names itself; over plain http then, as Faultline serves no TLS itself.
fn chunk_upload_url(public_url: &Url, called: Option<&str>, org: &str) -> String {
    let mut url = public_url.clone();
    url.set_path(&format!("/api/0/organizations/{org}/chunk-upload/"));
    url.set_query(None);
    url.set_fragment(None);
    let elsewhere = called
        .filter(|host| !host.contains('@'))
        .and_then(|host| host.parse::<Authority>().ok())
        .filter(|host| !names_public_url(host, public_url));
    match elsewhere {
        Some(host) => format!("http://{host}{}", url.path()),
        None => url.to_string(),
    }
}

/// Whether a `Host` is the public URL's own (an explicit default port included).
fn names_public_url(host: &Authority, public_url: &Url) -> bool {
    let same_port = match host.port_u16() {
        Some(port) => Some(port) == public_url.port_or_known_default(),
        None => public_url.port().is_none(),
    };
    same_port
        && public_url
            .host_str()
            .is_some_and(|h| h.eq_ignore_ascii_case(host.host()))
}

/// `POST …/chunk-upload/`: multipart parts `file_gzip` (or `file`), each named by its chunk's SHA-1.
pub async fn upload_chunks(
    caller: Caller,
    State(state): State<ApiState>,
    Path(org): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<StatusCode> {
    let access = caller.org(&org)?;
    access.require(Scope::ProjectReleases)?;
    let mut multipart =
        multipart.map_err(|e| ApiError::bad_request(format!("the chunks must be sent as a multipart form: {e}")))?;
    let mut chunks = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(form_error)? {
        let gzip = match field.name() {
            Some("file_gzip") => true,
            Some("file") => false,
            _ => continue,
        };
        let name = field.file_name().unwrap_or_default().to_owned();
        let bytes = field.bytes().await.map_err(form_error)?;
        chunks.push((name, unpack_chunk(&bytes, gzip)?));
    }
    artifacts::store_chunks(&state.core, &access, chunks).await?;
    Ok(StatusCode::OK)
}

/// A chunk's bytes, gunzipped when sent as `file_gzip`, never more than a chunk's size.
fn unpack_chunk(bytes: &[u8], gzip: bool) -> ApiResult<Vec<u8>> {
    let mut unpacked = Vec::new();
    if gzip {
        flate2::read::GzDecoder::new(bytes)
            .take(CHUNK_SIZE + 1)
            .read_to_end(&mut unpacked)
            .map_err(|e| ApiError::bad_request(format!("a file_gzip chunk is not valid gzip: {e}")))?;
    } else {
        unpacked = bytes.to_vec();
    }
    if unpacked.len() as u64 > CHUNK_SIZE {
        return Err(ApiError::bad_request(format!(
            "a chunk is larger than {CHUNK_SIZE} bytes, the chunk size"
        )));
    }
    Ok(unpacked)
}

fn form_error(error: MultipartError) -> ApiError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::BodyTooLarge
    } else {
        ApiError::bad_request(format!("the multipart form could not be read: {}", error.body_text()))
    }
}

/// An assemble request's body (artifact bundle or release bundle).
#[derive(Debug, Deserialize)]
pub struct AssembleBody {
    checksum: String,
    #[serde(default)]
    chunks: Vec<String>,
    #[serde(default)]
    projects: Vec<String>,
    version: Option<String>,
    dist: Option<String>,
}

/// `POST /organizations/{org}/artifactbundle/assemble/`.
pub async fn assemble_bundle(
    caller: Caller,
    State(state): State<ApiState>,
    Path(org): Path<String>,
    Body(body): Body<AssembleBody>,
) -> ApiResult<Json<Value>> {
    let access = caller.org(&org)?;
    let projects = artifacts::upload_projects(&state.core, &access, &body.projects).await?;
    let release = body.version.filter(|v| !v.is_empty());
    assemble(
        &state,
        &access,
        &projects,
        body.checksum,
        body.chunks,
        release,
        body.dist,
    )
    .await
}

/// `POST /organizations/{org}/releases/{version}/assemble/`: sentry-cli's release bundle, for the
/// release's projects.
pub async fn assemble_release(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, version)): Path<(String, String)>,
    Body(body): Body<AssembleBody>,
) -> ApiResult<Json<Value>> {
    let access = caller.org(&org)?;
    let projects = artifacts::release_projects(&state.core, &access, &version).await?;
    assemble(
        &state,
        &access,
        &projects,
        body.checksum,
        body.chunks,
        Some(version),
        body.dist,
    )
    .await
}

async fn assemble(
    state: &ApiState,
    access: &crate::core::Access,
    projects: &[Project],
    checksum: String,
    chunks: Vec<String>,
    release: Option<String>,
    dist: Option<String>,
) -> ApiResult<Json<Value>> {
    let request = AssembleRequest {
        checksum,
        chunks,
        release,
        dist: dist.filter(|d| !d.is_empty()),
    };
    let answer = match artifacts::assemble_bundle(&state.core, access, projects, request).await? {
        Assembled::Ok => json!({"state": "ok", "missingChunks": [], "detail": null}),
        Assembled::NotFound(missing) => json!({"state": "not_found", "missingChunks": missing, "detail": null}),
        Assembled::Error(detail) => json!({"state": "error", "missingChunks": [], "detail": detail}),
    };
    Ok(Json(answer))
}

/// `GET /organizations/{org}/releases/{version}/files/`.
pub async fn org_files(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, version)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let access = caller.org(&org)?;
    let projects = artifacts::release_projects(&state.core, &access, &version).await?;
    list(&state, &access, &projects, &version).await
}

/// `GET /projects/{org}/{project}/releases/{version}/files/`.
pub async fn project_files(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project, version)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    let (access, project) = caller.project(&state, &org, &project, Scope::ProjectReleases).await?;
    list(&state, &access, &[project], &version).await
}

async fn list(
    state: &ApiState,
    access: &crate::core::Access,
    projects: &[Project],
    version: &str,
) -> ApiResult<Json<Value>> {
    let files = artifacts::release_files(&state.core, access, projects, version).await?;
    Ok(Json(files.iter().map(file_json).collect()))
}

/// `POST /organizations/{org}/releases/{version}/files/`: one file for the release's projects.
pub async fn upload_org_file(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, version)): Path<(String, String)>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let access = caller.org(&org)?;
    let projects = artifacts::release_projects(&state.core, &access, &version).await?;
    let file = release_file(multipart).await?;
    let stored = artifacts::upload_release_file(&state.core, &access, &projects, &version, file).await?;
    Ok((StatusCode::CREATED, Json(file_json(&stored))))
}

/// `POST /projects/{org}/{project}/releases/{version}/files/`: one file for that project.
pub async fn upload_project_file(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, project, version)): Path<(String, String, String)>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (access, project) = caller.project(&state, &org, &project, Scope::ProjectReleases).await?;
    let file = release_file(multipart).await?;
    let stored = artifacts::upload_release_file(&state.core, &access, &[project], &version, file).await?;
    Ok((StatusCode::CREATED, Json(file_json(&stored))))
}

/// A release file from its form: `file` (the bytes), `name`, optional `dist`, `header` parts `Key:Value`.
async fn release_file(multipart: Result<Multipart, MultipartRejection>) -> ApiResult<ReleaseFile> {
    let mut multipart = multipart
        .map_err(|e| ApiError::bad_request(format!("a release file must be sent as a multipart form: {e}")))?;
    let (mut name, mut dist, mut headers, mut bytes) = (None, None, Vec::new(), None);
    while let Some(field) = multipart.next_field().await.map_err(form_error)? {
        match field.name().unwrap_or_default() {
            "file" => {
                name = name.or_else(|| field.file_name().map(str::to_owned));
                bytes = Some(field.bytes().await.map_err(form_error)?.to_vec());
            }
            "name" => name = Some(field.text().await.map_err(form_error)?),
            "dist" => dist = Some(field.text().await.map_err(form_error)?).filter(|d| !d.is_empty()),
            "header" => {
                let text = field.text().await.map_err(form_error)?;
                let (key, value) = text
                    .split_once(':')
                    .ok_or_else(|| ApiError::bad_request(format!("a header must be Key:Value, not {text:?}")))?;
                headers.push((key.trim().to_owned(), value.trim().to_owned()));
            }
            _ => {}
        }
    }
    let bytes = bytes.ok_or_else(|| ApiError::bad_request("the form has no file part"))?;
    Ok(ReleaseFile {
        name: name.unwrap_or_default(),
        dist,
        headers,
        bytes,
    })
}

/// A release file as sentry-cli's `Artifact` reads it.
fn file_json(file: &StoredFile) -> Value {
    let mut headers = serde_json::Map::new();
    if let Some(sourcemap) = &file.sourcemap {
        headers.insert("Sourcemap".into(), sourcemap.clone().into());
    }
    if let Some(debug_id) = &file.debug_id {
        headers.insert("debug-id".into(), debug_id.clone().into());
    }
    json!({
        "id": file.id.to_string(),
        "name": file.url,
        "dist": (!file.dist.is_empty()).then_some(&file.dist),
        "headers": headers,
        "size": file.size,
        "sha1": file.sha1,
        "dateCreated": crate::api::json::time::iso8601_ms(file.uploaded_at),
    })
}

/// `debug-files upload` (legacy `files/dsyms/` and chunked `files/difs/assemble/`): not supported.
pub async fn native_debug_files(_caller: Caller) -> ApiError {
    ApiError::bad_request(NO_NATIVE)
}
