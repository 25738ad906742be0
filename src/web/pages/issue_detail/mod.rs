//! The issue page: what the issue is and how it is doing (status, counts, charts, tag facets), the
//! actions on it, and one of its events in full. Also the issue's event list and an event's raw JSON.

mod actions;
mod events;
mod summary;

pub use actions::action;
pub use events::{attachment, event_json, event_list};

use crate::domain::IssueId;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::IntoResponse;

use crate::domain::accounts::{Role, Scope};
use crate::domain::event::Event;
use crate::domain::performance::parse_trace_id;
use crate::domain::size::format_byte_size;
use crate::store::attachments;
use crate::store::events::{edge_event, get_event, list_events, EventScope, StoredEvent};
use crate::store::issues::{self, Issue};
use crate::store::organizations::Organization;
use crate::store::paging::{Direction, Keyset, PageRequest};
use crate::store::projects::{get_project, Project};
use crate::store::{now_ms, Db};
use crate::web::charts::BarChart;
use crate::web::event::{event_view, EventView};
use crate::web::format::{level_class, moment, Moment};
use crate::web::session::Viewer;
use crate::web::{Nav, WebError, WebState};

use super::render;
use super::traces::trace_path;
use summary::{FacetView, IssueSummary};

/// An issue the viewer may see, with its organization and project.
pub(super) struct Found {
    pub organization: Organization,
    pub role: Role,
    pub project: Project,
    pub issue: Issue,
}

impl Found {
    /// The issue page's URL; its sub-pages hang below it.
    pub fn base(&self) -> String {
        format!("/organizations/{}/issues/{}", self.organization.slug, self.issue.id)
    }
}

/// The issue, provided the viewer belongs to `org` and the issue to one of its projects (else 404).
pub(super) async fn find_issue(db: &Db, viewer: &Viewer, org: &str, issue_id: IssueId) -> Result<Found, WebError> {
    let (organization, role) = viewer.org(org)?;
    let issue = issues::get_issue(db, issue_id).await?.ok_or(WebError::NotFound)?;
    let project = get_project(db, issue.project_id)
        .await?
        .filter(|project| project.organization_id == organization.id)
        .ok_or(WebError::NotFound)?;
    Ok(Found {
        organization,
        role,
        project,
        issue,
    })
}

/// One of the issue's events by its id (404 when it belongs to another issue).
pub(super) async fn find_event(db: &Db, found: &Found, event_id: &str) -> Result<StoredEvent, WebError> {
    get_event(db, found.project.id, &event_id.to_ascii_lowercase())
        .await?
        .filter(|event| event.issue_id == found.issue.id)
        .ok_or(WebError::NotFound)
}

/// The event part of the page.
pub struct EventSection {
    pub event_id: String,
    pub occurred: Moment,
    pub received: Moment,
    pub level: String,
    pub level_class: &'static str,
    pub newest_url: Option<String>,
    pub older_url: Option<String>,
    pub newer_url: Option<String>,
    pub oldest_url: Option<String>,
    pub json_url: String,
    /// "In transaction X, trace Y": the trace page, when the event names its trace.
    pub trace: Option<TraceLink>,
    pub view: EventView,
    /// Files sent with the event, each a download link.
    pub attachments: Vec<AttachmentRow>,
}

/// One attachment as the event shows it.
pub struct AttachmentRow {
    pub name: String,
    pub content_type: String,
    pub kind: String,
    pub size: String,
    pub url: String,
}

/// Where an event happened in its trace.
pub struct TraceLink {
    pub transaction: Option<String>,
    pub trace_id: String,
    pub url: String,
}

#[derive(Template)]
#[template(path = "pages/issue.html")]
struct IssuePage {
    nav: Nav,
    base: String,
    issue: Issue,
    summary: IssueSummary,
    day_chart: BarChart,
    month_chart: BarChart,
    facets: Vec<FacetView>,
    event: Option<EventSection>,
    grouping_version: String,
    can_delete: bool,
    /// The latest release's crash-free sessions and users, when it has sessions.
    release_health: Option<String>,
    /// What users wrote about the issue's events, newest first.
    feedback: Vec<FeedbackView>,
}

/// One piece of user feedback as the issue page shows it.
struct FeedbackView {
    who: String,
    comments: String,
    url: String,
    when: Moment,
}

/// The issue with its newest event.
pub async fn show(
    State(state): State<WebState>,
    viewer: Viewer,
    Path((org, issue_id)): Path<(String, IssueId)>,
) -> Result<impl IntoResponse, WebError> {
    let found = find_issue(&state.db, &viewer, &org, issue_id).await?;
    let event = edge_event(&state.db, found.issue.id, true).await?;
    issue_page(&state, &viewer, found, event).await
}

/// The issue with one of its events.
pub async fn show_event(
    State(state): State<WebState>,
    viewer: Viewer,
    Path((org, issue_id, event_id)): Path<(String, IssueId, String)>,
) -> Result<impl IntoResponse, WebError> {
    let found = find_issue(&state.db, &viewer, &org, issue_id).await?;
    let event = find_event(&state.db, &found, &event_id).await?;
    issue_page(&state, &viewer, found, Some(event)).await
}

async fn issue_page(
    state: &WebState,
    viewer: &Viewer,
    found: Found,
    event: Option<StoredEvent>,
) -> Result<impl IntoResponse, WebError> {
    let db = &state.db;
    let now = now_ms();
    let base = found.base();
    let event = match event {
        Some(event) => Some(event_section(state, &found, event, now).await?),
        None => None,
    };
    let (day_chart, month_chart) = summary::charts(db, found.issue.id, now).await?;
    let facets = summary::facets(db, &found.issue, &base).await?;
    let grouping_version = issues::grouping_version(db, found.issue.id).await?.unwrap_or_default();
    let release_health = summary::release_health(db, &found.issue).await?;
    let feedback = crate::store::feedback::for_issue(db, found.issue.id, crate::core::feedback::LISTED)
        .await?
        .into_iter()
        .map(|f| FeedbackView {
            who: f.signed(),
            comments: f.comments,
            url: f.url,
            when: moment(f.received_at, now),
        })
        .collect();
    render(&IssuePage {
        nav: Nav::for_viewer(viewer, found.issue.title.clone(), Some(&found.organization.slug)),
        summary: IssueSummary::new(&found.issue, &found.project, now),
        can_delete: found.role.scopes().contains(Scope::EventAdmin),
        base,
        issue: found.issue,
        day_chart,
        month_chart,
        facets,
        event,
        grouping_version,
        release_health,
        feedback,
    })
}

async fn event_section(
    state: &WebState,
    found: &Found,
    event: StoredEvent,
    now: i64,
) -> Result<EventSection, WebError> {
    let db = &state.db;
    let base = &found.base();
    let (newest, older, newer, oldest) = neighbours(db, &event).await?;
    let link = |target: Option<String>| {
        target
            .filter(|id| *id != event.event_id)
            .map(|id| format!("{base}/events/{id}/"))
    };
    // A payload the store cannot read is shown as an empty event rather than failing the issue page.
    let attachments = attachments::for_event(db, found.project.id, &event.event_id)
        .await?
        .into_iter()
        .map(|a| AttachmentRow {
            url: format!("{base}/events/{}/attachments/{}/", event.event_id, a.id),
            size: format_byte_size(a.size.max(0) as u64),
            name: a.name,
            content_type: a.content_type,
            kind: a.attachment_type,
        })
        .collect();
    // Frames whose source map was uploaded after the event are mapped now.
    let decoded = state.core.source_maps.read(&event).await.unwrap_or_else(|error| {
        tracing::warn!(%error, event = %event.event_id, "unreadable event payload");
        Event::default()
    });
    Ok(EventSection {
        occurred: moment(event.timestamp.as_millis(), now),
        received: moment(event.received.as_millis(), now),
        level_class: level_class(&event.level),
        level: event.level.clone(),
        newest_url: link(newest),
        older_url: link(older),
        newer_url: link(newer),
        oldest_url: link(oldest),
        json_url: format!("{base}/events/{}/json", event.event_id),
        trace: trace_link(found, &decoded),
        view: event_view(&decoded),
        attachments,
        event_id: event.event_id,
    })
}

/// The event's trace (`contexts.trace.trace_id`) and transaction, linking to the trace's page.
fn trace_link(found: &Found, event: &Event) -> Option<TraceLink> {
    let raw = event.contexts.get("trace")?.get("trace_id")?.as_str()?;
    let trace_id = parse_trace_id(raw)?;
    Some(TraceLink {
        transaction: event.transaction.clone().filter(|name| !name.is_empty()),
        url: trace_path(&found.organization.slug, &found.project.slug, &trace_id),
        trace_id,
    })
}

type Neighbours = (Option<String>, Option<String>, Option<String>, Option<String>);

/// The event ids of the issue's newest event, the next older and newer ones, and the oldest, in the
/// listing's `(timestamp, id)` order.
async fn neighbours(db: &Db, event: &StoredEvent) -> Result<Neighbours, WebError> {
    let here = Keyset {
        value: event.timestamp.as_millis(),
        id: event.id,
    };
    let step = |direction| PageRequest {
        from: Some((here, direction)),
        limit: 1,
    };
    let scope = EventScope::Issue(event.issue_id);
    let id_of = |event: Option<StoredEvent>| event.map(|event| event.event_id);
    Ok((
        id_of(edge_event(db, event.issue_id, true).await?),
        id_of(list_events(db, scope, &step(Direction::After)).await?.items.pop()),
        id_of(list_events(db, scope, &step(Direction::Before)).await?.items.pop()),
        id_of(edge_event(db, event.issue_id, false).await?),
    ))
}
