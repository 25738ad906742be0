//! The commits of releases and the organization's repositories, as sentry-cli `releases set-commits` and
//! `repos list` call them: it lists the repositories first, then sends `commits` (`--local`) or `refs`
//! (`--commit REPO@SHA`, `--auto`, `--clear`) in the release PUT, and reads `previous-with-commits`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::auth::Caller;
use crate::api::body::Body;
use crate::api::error::{ApiError, ApiResult};
use crate::api::json::release::{commit as commit_json, release as release_json, repository as repository_json};
use crate::api::ApiState;
use crate::core::release_commits as use_cases;
use crate::domain::normalize::parse_timestamp;
use crate::domain::release_commits::{Commit, CommitChange, HeadRef};

/// One commit of a release body, as sentry-cli sends it (`patch_set` is not kept).
#[derive(Debug, Deserialize)]
pub struct CommitBody {
    id: Option<String>,
    repository: Option<String>,
    message: Option<String>,
    author_name: Option<String>,
    author_email: Option<String>,
    timestamp: Option<Value>,
}

/// One head ref of a release body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefBody {
    repository: Option<String>,
    commit: Option<String>,
    previous_commit: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct RepositoryBody {
    name: Option<String>,
    url: Option<String>,
    provider: Option<String>,
}

type OrgVersionPath = Path<(String, String)>;

pub async fn commits(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, version)): OrgVersionPath,
) -> ApiResult<Json<Value>> {
    let access = caller.org(&org)?;
    let commits = use_cases::commits(&state.core, &access, &version).await?;
    Ok(Json(commits.iter().map(commit_json).collect()))
}

pub async fn project_commits(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, _project, version)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    commits(caller, State(state), Path((org, version))).await
}

/// `{}` when there is none: sentry-cli reads an empty object as "no previous release".
pub async fn previous_with_commits(
    caller: Caller,
    State(state): State<ApiState>,
    Path((org, version)): OrgVersionPath,
) -> ApiResult<Json<Value>> {
    let access = caller.org(&org)?;
    let previous = use_cases::previous_with_commits(&state.core, &access, &version).await?;
    Ok(Json(previous.as_ref().map_or_else(|| json!({}), release_json)))
}

pub async fn repositories(
    caller: Caller,
    State(state): State<ApiState>,
    Path(org): Path<String>,
) -> ApiResult<Json<Value>> {
    let access = caller.org(&org)?;
    let repositories = use_cases::repositories(&state.core, &access).await?;
    Ok(Json(repositories.iter().map(repository_json).collect()))
}

/// 201 with the new repository, 200 with the existing one of that name.
pub async fn add_repository(
    caller: Caller,
    State(state): State<ApiState>,
    Path(org): Path<String>,
    Body(body): Body<RepositoryBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let access = caller.org(&org)?;
    let name = body.name.unwrap_or_default();
    let (repository, added) = use_cases::add_repository(
        &state.core,
        &access,
        &name,
        body.url.as_deref(),
        body.provider.as_deref(),
    )
    .await?;
    let status = if added { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(repository_json(&repository))))
}

/// The commit change a release body asks for: `commits` when sent, else `refs`, else none.
pub fn commit_change(commits: Option<Vec<CommitBody>>, refs: Option<Vec<RefBody>>) -> ApiResult<Option<CommitChange>> {
    if let Some(commits) = commits {
        let commits = commits
            .into_iter()
            .enumerate()
            .map(|(i, c)| commit(i, c))
            .collect::<ApiResult<_>>()?;
        return Ok(Some(CommitChange::Commits(commits)));
    }
    Ok(refs.map(|refs| {
        CommitChange::Refs(
            refs.into_iter()
                .map(|r| HeadRef {
                    repository: r.repository.unwrap_or_default(),
                    commit: r.commit.unwrap_or_default(),
                    previous_commit: r.previous_commit,
                })
                .collect(),
        )
    }))
}

fn commit(index: usize, body: CommitBody) -> ApiResult<Commit> {
    let timestamp = match body.timestamp {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            parse_timestamp(&value)
                .map(|seconds| (seconds * 1000.0).round() as i64)
                .ok_or_else(|| ApiError::bad_request(format!("commits[{index}]: timestamp must be a date")))?,
        ),
    };
    Ok(Commit {
        repository: body.repository.unwrap_or_default(),
        id: body.id.unwrap_or_default(),
        message: body.message,
        author_name: body.author_name,
        author_email: body.author_email,
        timestamp,
    })
}
