//! The issue list (one project or all of an organization's) and its bulk actions.

use crate::domain::{IssueId, ProjectId};
use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use crate::core;
use crate::domain::issue_category::IssueCategory;
use crate::domain::lifecycle::{IgnoreFor, IssueStatus, StatusChange, Substatus};
use crate::domain::search::{parse_search, SearchQuery, Term, TermKind};
use crate::store::issue_search::{search_issues, IssueFilter, IssueSort};
use crate::store::issues::{self, hourly_counts_since, Issue};
use crate::store::paging::Keyset;
use crate::store::projects::{list_organization_projects, Project};
use crate::store::{now_ms, Db};
use crate::web::charts::{bar_chart, BarChart, DAY_MS, HOUR_MS};
use crate::web::format::{count, level_class, moment, Moment};
use crate::web::session::{Action, Viewer};
use crate::web::{Nav, WebError, WebState};

use super::pager::{neighbour_links, page_request};
use super::render;

const PAGE_SIZE: i64 = 25;

/// The list's controls, as they appear in its URL.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListParams {
    pub project: String,
    pub status: String,
    pub query: String,
    pub environment: String,
    pub release: String,
    pub sort: String,
    /// `errors`, `performance`, or empty for both.
    #[serde(rename = "type")]
    pub kind: String,
    pub cursor: String,
}

impl ListParams {
    /// This list's URL with some controls changed (the cursor is always dropped unless given).
    pub fn url_with(&self, org: &str, changes: &[(&str, &str)]) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        let current = [
            ("project", &self.project),
            ("status", &self.status),
            ("query", &self.query),
            ("environment", &self.environment),
            ("release", &self.release),
            ("sort", &self.sort),
            ("type", &self.kind),
        ];
        for (name, value) in current {
            let value = changes
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(value.as_str(), |(_, v)| v);
            if !value.is_empty() {
                query.append_pair(name, value);
            }
        }
        if let Some((_, cursor)) = changes.iter().find(|(n, _)| *n == "cursor") {
            query.append_pair("cursor", cursor);
        }
        format!("/organizations/{org}/issues/?{}", query.finish())
    }

    fn status(&self) -> Option<IssueStatus> {
        match self.status.as_str() {
            "" | "unresolved" => Some(IssueStatus::Unresolved),
            "resolved" => Some(IssueStatus::Resolved),
            "ignored" => Some(IssueStatus::Ignored),
            _ => None,
        }
    }
}

pub struct IssueRow {
    pub issue: Issue,
    pub short_id: String,
    /// "Error" or "Performance".
    pub category: &'static str,
    pub level_class: &'static str,
    pub events: String,
    pub users: String,
    pub first_seen: Moment,
    pub last_seen: Moment,
    pub last_day: BarChart,
    /// "New" or "Regressed", when either applies.
    pub badge: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "pages/issues.html")]
struct ListPage {
    nav: Nav,
    org: String,
    params: ListParams,
    projects: Vec<Project>,
    environments: Vec<String>,
    rows: Vec<IssueRow>,
    search_error: Option<String>,
    previous_url: Option<String>,
    next_url: Option<String>,
    tabs: Vec<(&'static str, &'static str, String, bool)>,
    sorts: Vec<(&'static str, &'static str)>,
    kinds: Vec<(&'static str, &'static str)>,
    back: String,
}

pub async fn list(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(org): Path<String>,
    Query(mut params): Query<ListParams>,
) -> Result<impl IntoResponse, WebError> {
    let (organization, _) = viewer.org(&org)?;
    let projects = list_organization_projects(&state.db, &[organization.id]).await?;
    let in_scope: Vec<&Project> = projects
        .iter()
        .filter(|p| params.project.is_empty() || names_project(&params.project, p))
        .collect();
    if in_scope.is_empty() && !params.project.is_empty() {
        return Err(WebError::NotFound);
    }
    if let [project] = in_scope.as_slice() {
        if !params.project.is_empty() {
            // Links and the project menu speak slugs, whichever the URL named.
            params.project = project.slug.clone();
        }
    }
    let (filter, search_error) = list_filter(&params, &in_scope);
    let sort = IssueSort::parse(&params.sort).unwrap_or(IssueSort::Date);
    let page_request = page_request(&params.cursor, PAGE_SIZE)?;
    let page = match &search_error {
        Some(_) => crate::store::paging::Page {
            items: Vec::new(),
            more: false,
        },
        None => search_issues(&state.db, &filter, sort, &page_request).await?,
    };
    let (previous_url, next_url) = neighbour_links(
        &page_request,
        &page,
        |issue| Keyset {
            value: sort.key_of(issue),
            id: issue.id.get(),
        },
        |cursor| params.url_with(&org, &[("cursor", cursor)]),
    );
    let rows = issue_rows(&state.db, page.items, &projects).await?;
    let environments = environments(&state.db, &in_scope).await?;
    let back = params.url_with(&org, &[("cursor", &params.cursor)]);
    render(&ListPage {
        nav: Nav::for_viewer(&viewer, "Issues", Some(&organization.slug)),
        tabs: status_tabs(&params, &org),
        sorts: vec![
            ("date", "Last seen"),
            ("new", "First seen"),
            ("freq", "Events"),
            ("user", "Users"),
        ],
        kinds: vec![("", "All types"), ("errors", "Errors"), ("performance", "Performance")],
        org: organization.slug,
        params,
        projects,
        environments,
        rows,
        search_error,
        previous_url,
        next_url,
        back,
    })
}

/// The store filter the controls describe, or why the search box's text is not a valid search.
/// `?project=` names a project by slug or, as Sentry's URLs do, by numeric id.
fn names_project(wanted: &str, project: &Project) -> bool {
    project.slug == wanted || wanted.parse::<ProjectId>().is_ok_and(|id| id == project.id)
}

fn list_filter(params: &ListParams, projects: &[&Project]) -> (IssueFilter, Option<String>) {
    let mut filter = IssueFilter {
        project_ids: projects.iter().map(|p| p.id).collect(),
        category: IssueCategory::parse(&params.kind),
        ..IssueFilter::default()
    };
    let mut query = match parse_search(&params.query) {
        Ok(query) => query,
        Err(error) => {
            return (
                filter,
                Some(format!(
                    "Search: {} (at character {})",
                    error.message,
                    error.position + 1
                )),
            )
        }
    };
    if let Some(status) = params.status() {
        query.terms.push(Term {
            negated: false,
            kind: TermKind::Status(vec![status]),
        });
    }
    if !params.release.is_empty() {
        query.terms.push(tag_term("release", &params.release));
    }
    if !params.environment.is_empty() {
        filter.environments = vec![params.environment.clone()];
    }
    filter.query = SearchQuery { terms: query.terms };
    (filter, None)
}

fn tag_term(key: &str, value: &str) -> Term {
    Term {
        negated: false,
        kind: TermKind::Tag {
            key: key.to_owned(),
            values: vec![value.to_owned()],
        },
    }
}

fn status_tabs(params: &ListParams, org: &str) -> Vec<(&'static str, &'static str, String, bool)> {
    let current = if params.status.is_empty() {
        "unresolved"
    } else {
        params.status.as_str()
    };
    [
        ("unresolved", "Unresolved"),
        ("resolved", "Resolved"),
        ("ignored", "Ignored"),
        ("all", "All"),
    ]
    .into_iter()
    .map(|(value, label)| {
        (
            value,
            label,
            params.url_with(org, &[("status", value)]),
            value == current,
        )
    })
    .collect()
}

async fn issue_rows(db: &Db, issues: Vec<Issue>, projects: &[Project]) -> Result<Vec<IssueRow>, WebError> {
    let now = now_ms();
    let ids: Vec<_> = issues.iter().map(|i| i.id).collect();
    let mut hours: HashMap<IssueId, Vec<(i64, i64)>> = HashMap::new();
    for (issue_id, hour, count) in hourly_counts_since(db, &ids, now - DAY_MS).await? {
        hours.entry(issue_id).or_default().push((hour, count));
    }
    let slugs: HashMap<ProjectId, &str> = projects.iter().map(|p| (p.id, p.slug.as_str())).collect();
    Ok(issues
        .into_iter()
        .map(|issue| {
            let project_slug = slugs.get(&issue.project_id).copied().unwrap_or_default();
            IssueRow {
                short_id: crate::domain::short_id::encode_short_id(project_slug, issue.short_id_number as u64),
                category: IssueCategory::of(&issue.issue_type).label(),
                level_class: level_class(&issue.level),
                events: count(issue.times_seen),
                users: count(issue.user_count),
                first_seen: moment(issue.first_seen.as_millis(), now),
                last_seen: moment(issue.last_seen.as_millis(), now),
                last_day: bar_chart(
                    hours.get(&issue.id).map_or(&[][..], Vec::as_slice),
                    now,
                    HOUR_MS,
                    24,
                    96.0,
                    20.0,
                ),
                badge: badge(&issue, now),
                issue,
            }
        })
        .collect())
}

fn badge(issue: &Issue, now: i64) -> Option<&'static str> {
    match issue.state.substatus {
        Substatus::Regressed if issue.state.status == IssueStatus::Unresolved => Some("Regressed"),
        _ if issue.first_seen.as_millis() >= now - DAY_MS => Some("New"),
        _ => None,
    }
}

async fn environments(db: &Db, projects: &[&Project]) -> Result<Vec<String>, WebError> {
    let mut all = Vec::new();
    for project in projects {
        all.extend(issues::environments(db, project.id).await?);
    }
    all.sort();
    all.dedup();
    Ok(all)
}

#[derive(Debug, Deserialize)]
pub struct BulkForm {
    #[serde(default)]
    id: Vec<IssueId>,
    action: String,
    #[serde(default)]
    back: String,
}

/// Resolves, ignores or reopens the ticked issues of the organization's projects.
pub async fn bulk(
    State(state): State<WebState>,
    Path(org): Path<String>,
    action: Action<BulkForm>,
) -> Result<impl IntoResponse, WebError> {
    let access = action.viewer.access(&org)?;
    let form = action.form;
    let change = match form.action.as_str() {
        "resolve" => StatusChange::Resolve,
        "ignore" => StatusChange::Ignore(IgnoreFor::Forever),
        "unresolve" => StatusChange::Unresolve,
        _ => return Err(WebError::BadRequest("Unknown action.".into())),
    };
    // Ids of another organization are skipped as if they did not exist.
    let ids: Vec<IssueId> = form.id.iter().take(PAGE_SIZE as usize * 4).copied().collect();
    core::issues::change_statuses(&state.core, &access, &ids, &change).await?;
    let back = if form.back.starts_with(&format!("/organizations/{org}/")) {
        form.back
    } else {
        format!("/organizations/{org}/issues/")
    };
    Ok(Redirect::to(&back))
}
