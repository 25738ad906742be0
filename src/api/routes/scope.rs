//! Finding the issue or project a request names, within what the caller may see. An id outside the
//! caller's organizations is reported exactly like an id that does not exist.

use crate::api::auth::Caller;
use crate::api::error::ApiError;
use crate::api::json::issue::IssueContext;
use crate::api::ApiState;
use crate::core::Access;
use crate::domain::accounts::Scope;
use crate::domain::short_id::parse_short_id;
use crate::domain::{IssueId, ProjectId};
use crate::store::issues::{self, Issue};
use crate::store::projects::{self, Project};

/// An issue with the project and organization access it was found through.
pub struct ScopedIssue {
    pub access: Access,
    pub project: Project,
    pub issue: Issue,
}

impl ScopedIssue {
    pub fn context<'a>(&'a self, state: &'a ApiState) -> IssueContext<'a> {
        IssueContext {
            project: &self.project,
            organization_slug: &self.access.organization.slug,
            public_url: &state.public_url,
        }
    }
}

/// The issue named by a numeric id or a short id (`WEB-1A`), optionally only within organization `org`,
/// requiring `scope` there.
pub async fn find_issue(
    state: &ApiState,
    caller: &Caller,
    org: Option<&str>,
    id: &str,
    scope: Scope,
) -> Result<ScopedIssue, ApiError> {
    let found = match id.parse::<IssueId>() {
        Ok(numeric) => by_numeric_id(state, caller, numeric).await?,
        Err(_) => by_short_id(state, caller, org, id).await?,
    };
    let scoped = found.ok_or(ApiError::NotFound)?;
    if org.is_some_and(|slug| slug != scoped.access.organization.slug) {
        return Err(ApiError::NotFound);
    }
    scoped.access.require(scope)?;
    Ok(scoped)
}

async fn by_numeric_id(state: &ApiState, caller: &Caller, id: IssueId) -> Result<Option<ScopedIssue>, ApiError> {
    let Some(issue) = issues::get_issue(&state.db, id).await? else {
        return Ok(None);
    };
    let (access, project) = caller.project_by_id(state, issue.project_id).await?;
    Ok(Some(ScopedIssue { access, project, issue }))
}

async fn by_short_id(
    state: &ApiState,
    caller: &Caller,
    org: Option<&str>,
    text: &str,
) -> Result<Option<ScopedIssue>, ApiError> {
    let Some((slug, number)) = parse_short_id(text) else {
        return Ok(None);
    };
    let organizations = match org {
        Some(org) => vec![caller.org(org)?],
        None => caller
            .memberships
            .iter()
            .filter_map(|(o, _)| caller.org(&o.slug).ok())
            .collect(),
    };
    for access in organizations {
        let Some(project) = projects::find_organization_project(&state.db, access.organization.id, &slug).await? else {
            continue;
        };
        if let Some(issue) = issues::find_by_short_id(&state.db, project.id, number as i64).await? {
            return Ok(Some(ScopedIssue { access, project, issue }));
        }
    }
    Ok(None)
}

/// The projects of `org` the request asks about (`project=` ids, repeatable; none or `-1` means all).
pub async fn requested_projects(
    state: &ApiState,
    access: &Access,
    requested: &[&str],
) -> Result<Vec<Project>, ApiError> {
    let all = projects::list_organization_projects(&state.db, &[access.organization.id]).await?;
    let wanted: Vec<ProjectId> = requested
        .iter()
        .filter(|text| !text.is_empty() && **text != "-1")
        .map(|text| {
            text.parse::<ProjectId>()
                .map_err(|_| ApiError::bad_request(format!("invalid project id {text:?}")))
        })
        .collect::<Result<_, _>>()?;
    if wanted.is_empty() {
        return Ok(all);
    }
    // An id outside the organization is not "forbidden": it simply matches nothing.
    Ok(all.into_iter().filter(|p| wanted.contains(&p.id)).collect())
}
