//! The issue's events, newest first, optionally narrowed to one tag value; and an event's raw JSON.

use crate::domain::attachments::download_headers;
use crate::domain::{AttachmentId, IssueId};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::response::IntoResponse;
use serde::Deserialize;

use crate::store::attachments;
use crate::store::events::{list_matching_events, EventFilter, EventScope, StoredEvent};
use crate::store::now_ms;
use crate::store::paging::Keyset;
use crate::web::format::{level_class, moment, Moment};
use crate::web::session::Viewer;
use crate::web::{Nav, WebError, WebState};

use super::super::pager::{neighbour_links, page_request};
use super::super::render;
use super::{find_event, find_issue};

const PAGE_SIZE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EventListParams {
    /// `key:value`, one of the issue's tag facets.
    tag: String,
    cursor: String,
}

pub struct EventRow {
    pub event_id: String,
    pub url: String,
    pub occurred: Moment,
    pub level: String,
    pub level_class: &'static str,
    pub release: String,
    pub environment: String,
    pub title: String,
}

#[derive(Template)]
#[template(path = "pages/issue_events.html")]
struct EventListPage {
    nav: Nav,
    base: String,
    title: String,
    short_id: String,
    tag: Option<(String, String)>,
    rows: Vec<EventRow>,
    previous_url: Option<String>,
    next_url: Option<String>,
}

pub async fn event_list(
    State(state): State<WebState>,
    viewer: Viewer,
    Path((org, issue_id)): Path<(String, IssueId)>,
    Query(params): Query<EventListParams>,
) -> Result<impl IntoResponse, WebError> {
    let found = find_issue(&state.db, &viewer, &org, issue_id).await?;
    let tag = match params.tag.split_once(':') {
        None if params.tag.is_empty() => None,
        Some((key, value)) => Some((key.to_owned(), value.to_owned())),
        None => return Err(WebError::BadRequest("The tag filter reads key:value.".into())),
    };
    let filters: Vec<EventFilter> = match &tag {
        None => Vec::new(),
        Some((key, value)) => vec![EventFilter::for_facet(key, value)
            .ok_or_else(|| WebError::BadRequest(format!("Events cannot be filtered by the tag {key:?}.")))?],
    };
    let request = page_request(&params.cursor, PAGE_SIZE)?;
    let page = list_matching_events(&state.db, EventScope::Issue(found.issue.id), &filters, &request).await?;
    let base = found.base();
    let (previous_url, next_url) = neighbour_links(
        &request,
        &page,
        |event| Keyset {
            value: event.timestamp.as_millis(),
            id: event.id,
        },
        |cursor| events_url(&base, &params.tag, cursor),
    );
    let now = now_ms();
    let rows = page
        .items
        .into_iter()
        .map(|event| event_row(&base, event, now))
        .collect();
    render(&EventListPage {
        nav: Nav::for_viewer(
            &viewer,
            format!("Events of {}", found.issue.title),
            Some(&found.organization.slug),
        ),
        short_id: crate::domain::short_id::encode_short_id(&found.project.slug, found.issue.short_id_number as u64),
        title: found.issue.title,
        base,
        tag,
        rows,
        previous_url,
        next_url,
    })
}

fn event_row(base: &str, event: StoredEvent, now: i64) -> EventRow {
    EventRow {
        url: format!("{base}/events/{}/", event.event_id),
        occurred: moment(event.timestamp.as_millis(), now),
        level_class: level_class(&event.level),
        level: event.level,
        release: event.release.unwrap_or_default(),
        environment: event.environment.unwrap_or_default(),
        title: event.title,
        event_id: event.event_id,
    }
}

fn events_url(base: &str, tag: &str, cursor: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if !tag.is_empty() {
        query.append_pair("tag", tag);
    }
    query.append_pair("cursor", cursor);
    format!("{base}/events/?{}", query.finish())
}

/// One of the event's attachments, as a download: never shown inline (`domain::attachments::download_headers`).
pub async fn attachment(
    State(state): State<WebState>,
    viewer: Viewer,
    Path((org, issue_id, event_id, id)): Path<(String, IssueId, String, AttachmentId)>,
) -> Result<impl IntoResponse, WebError> {
    let found = find_issue(&state.db, &viewer, &org, issue_id).await?;
    let event = find_event(&state.db, &found, &event_id).await?;
    let attachment = attachments::get(&state.db, found.project.id, &event.event_id, id)
        .await?
        .ok_or(WebError::NotFound)?;
    let bytes = attachments::read_bytes(&state.db, &attachment).await?;
    let mut headers = HeaderMap::new();
    for (name, value) in download_headers(&attachment.name) {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    Ok((headers, bytes))
}

/// The stored event as JSON, pretty printed (already scrubbed at ingest, like everything stored).
pub async fn event_json(
    State(state): State<WebState>,
    viewer: Viewer,
    Path((org, issue_id, event_id)): Path<(String, IssueId, String)>,
) -> Result<impl IntoResponse, WebError> {
    let found = find_issue(&state.db, &viewer, &org, issue_id).await?;
    let event = find_event(&state.db, &found, &event_id).await?;
    let payload = event.payload_json()?;
    let body = serde_json::to_string_pretty(&payload).unwrap_or_default();
    Ok(([(header::CONTENT_TYPE, "application/json")], body))
}
