//! Events: the writer's batch insert (in `batch`) and reading stored events back.

use super::paging::{bind_params, into_page, Page, PageRequest, Param, SqlText};
use super::{on_pool, Db, StoreError};
use crate::domain::event::Event;
use crate::domain::{IssueId, ProjectId, Timestamp};

/// An event ready to store: normalized, scrubbed and fingerprinted by ingest.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub project_id: ProjectId,
    /// 32 lowercase hex.
    pub event_id: String,
    /// When the event happened (its own timestamp, clamped by normalization), to the millisecond.
    pub timestamp: Timestamp,
    /// When the server received it.
    pub received: Timestamp,
    pub level: String,
    pub platform: String,
    pub release: Option<String>,
    pub environment: Option<String>,
    pub transaction: Option<String>,
    /// The trace it happened in (`contexts.trace.trace_id`, 32 lowercase hex), linking it to its trace's
    /// transactions.
    pub trace_id: Option<String>,
    /// Distinct-user identity (`id:…`, `email:…`, …).
    pub user_key: Option<String>,
    pub title: String,
    pub culprit: String,
    pub issue_type: String,
    /// JSON object: type, value, filename, function.
    pub metadata: String,
    pub fingerprint: String,
    pub grouping_version: String,
    pub grouping_components: Vec<String>,
    pub is_unhandled: bool,
    /// Facet pairs counted per issue (event tags plus level, environment, release …).
    pub facets: Vec<(String, String)>,
    /// The scrubbed event as zstd-compressed JSON.
    pub payload: Vec<u8>,
    /// How many occurrences it stands for in the issue's counts: 1, or more for the event of a performance
    /// issue that the occurrences of its window were folded into.
    pub occurrences: i64,
}

/// A stored event as read back.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StoredEvent {
    pub id: i64,
    pub project_id: ProjectId,
    pub issue_id: IssueId,
    pub event_id: String,
    pub timestamp: Timestamp,
    pub received: Timestamp,
    pub level: String,
    pub release: Option<String>,
    pub environment: Option<String>,
    pub title: String,
    pub payload: Vec<u8>,
}

impl StoredEvent {
    /// The event JSON, decompressed: the raw form, for showing the payload as stored.
    pub fn payload_json(&self) -> Result<serde_json::Value, StoreError> {
        serde_json::from_slice(&decompress(&self.payload)?).map_err(corrupt)
    }

    /// The typed event: the one reading of a stored payload that every view starts from.
    pub fn event(&self) -> Result<Event, StoreError> {
        decode_payload(&self.payload)
    }
}

/// A stored payload (zstd-compressed JSON of the [`Event`] ingest normalized) as the typed event.
pub fn decode_payload(payload: &[u8]) -> Result<Event, StoreError> {
    serde_json::from_slice(&decompress(payload)?).map_err(corrupt)
}

fn decompress(payload: &[u8]) -> Result<Vec<u8>, StoreError> {
    zstd::stream::decode_all(payload).map_err(corrupt)
}

fn corrupt(error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("events.payload: {error}"))
}

const EVENT_COLUMNS: &str =
    "id, project_id, issue_id, event_id, timestamp, received, level, release, environment, title, payload";

pub async fn get_event(db: &Db, project_id: ProjectId, event_id: &str) -> Result<Option<StoredEvent>, StoreError> {
    let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE project_id = $1 AND event_id = $2");
    Ok(on_pool!(db, pool => sqlx::query_as(&sql)
        .bind(project_id)
        .bind(event_id)
        .fetch_optional(pool)
        .await?))
}

/// An issue's events, newest first.
pub async fn list_issue_events(db: &Db, issue_id: IssueId, limit: i64) -> Result<Vec<StoredEvent>, StoreError> {
    let sql =
        format!("SELECT {EVENT_COLUMNS} FROM events WHERE issue_id = $1 ORDER BY timestamp DESC, id DESC LIMIT $2");
    Ok(on_pool!(db, pool => sqlx::query_as(&sql).bind(issue_id).bind(limit).fetch_all(pool).await?))
}

pub async fn count_events(db: &Db, project_id: ProjectId) -> Result<i64, StoreError> {
    let sql = "SELECT COUNT(*) FROM events WHERE project_id = $1";
    Ok(on_pool!(db, pool => sqlx::query_scalar(sql).bind(project_id).fetch_one(pool).await?))
}

/// Which of these event ids are stored for the project.
pub async fn stored_event_ids(db: &Db, project_id: ProjectId, event_ids: &[String]) -> Result<Vec<String>, StoreError> {
    let mut found = Vec::new();
    for chunk in event_ids.chunks(500) {
        let ids: Vec<String> = on_pool!(db, pool => {
            let mut qb = sqlx::QueryBuilder::new("SELECT event_id FROM events WHERE project_id = ");
            qb.push_bind(project_id).push(" AND event_id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(id);
            }
            qb.push(")");
            qb.build_query_scalar().fetch_all(pool).await?
        });
        found.extend(ids);
    }
    Ok(found)
}

/// Whose events to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventScope {
    Issue(IssueId),
    Project(ProjectId),
}

/// A condition on one of the event row's own columns (the facets stored beside the payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventFilter {
    Level(String),
    Environment(String),
    Release(String),
    /// The distinct-user identity (`id:…`, `email:…`), as the `user` facet counts it.
    UserKey(String),
    Transaction(String),
}

impl EventFilter {
    /// The filter for a facet key, when the event row has a column for it.
    pub fn for_facet(key: &str, value: &str) -> Option<EventFilter> {
        let value = value.to_owned();
        Some(match key {
            "level" => EventFilter::Level(value),
            "environment" => EventFilter::Environment(value),
            "release" => EventFilter::Release(value),
            "user" => EventFilter::UserKey(value),
            "transaction" => EventFilter::Transaction(value),
            _ => return None,
        })
    }

    fn column_and_value(&self) -> (&'static str, &str) {
        match self {
            EventFilter::Level(v) => ("level", v),
            EventFilter::Environment(v) => ("environment", v),
            EventFilter::Release(v) => ("release", v),
            EventFilter::UserKey(v) => ("user_key", v),
            EventFilter::Transaction(v) => ("transaction_name", v),
        }
    }
}

/// Events newest first, a keyset page on `(timestamp, id)`.
pub async fn list_events(db: &Db, scope: EventScope, page: &PageRequest) -> Result<Page<StoredEvent>, StoreError> {
    list_matching_events(db, scope, &[], page).await
}

/// Like [`list_events`], only the events matching every filter.
pub async fn list_matching_events(
    db: &Db,
    scope: EventScope,
    filters: &[EventFilter],
    page: &PageRequest,
) -> Result<Page<StoredEvent>, StoreError> {
    let mut text = SqlText::default();
    let (column, id) = match scope {
        EventScope::Issue(id) => ("issue_id", id.get()),
        EventScope::Project(id) => ("project_id", id.get()),
    };
    text.push(&format!("SELECT {EVENT_COLUMNS} FROM events WHERE {column} = "))
        .bind(Param::Int(id));
    for filter in filters {
        let (column, value) = filter.column_and_value();
        text.push(&format!(" AND {column} = "))
            .bind(Param::Text(value.to_owned()));
    }
    text.push_page("timestamp", page);
    let SqlText { sql, params } = text;
    let rows: Vec<StoredEvent> =
        on_pool!(db, pool => bind_params!(sqlx::query_as(&sql), params).fetch_all(pool).await?);
    Ok(into_page(rows, page))
}

/// The issue's newest (or oldest) event.
pub async fn edge_event(db: &Db, issue_id: IssueId, newest: bool) -> Result<Option<StoredEvent>, StoreError> {
    let order = if newest { "DESC" } else { "ASC" };
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE issue_id = $1 ORDER BY timestamp {order}, id {order} LIMIT 1"
    );
    Ok(on_pool!(db, pool => sqlx::query_as(&sql).bind(issue_id).fetch_optional(pool).await?))
}

/// An event by its id in any of the given projects.
pub async fn find_event(db: &Db, project_ids: &[ProjectId], event_id: &str) -> Result<Option<StoredEvent>, StoreError> {
    if project_ids.is_empty() {
        return Ok(None);
    }
    let mut text = SqlText::default();
    text.push(&format!("SELECT {EVENT_COLUMNS} FROM events WHERE event_id = "))
        .bind(Param::Text(event_id.to_owned()))
        .push(" AND project_id IN ")
        .bind_list(project_ids.iter().map(|id| Param::Int(id.get())))
        .push(" LIMIT 1");
    let SqlText { sql, params } = text;
    Ok(on_pool!(db, pool => bind_params!(sqlx::query_as(&sql), params).fetch_optional(pool).await?))
}

/// Up to `limit` error events of a trace in any of the given projects, earliest first.
pub async fn trace_events(
    db: &Db,
    project_ids: &[ProjectId],
    trace_id: &str,
    limit: i64,
) -> Result<Vec<StoredEvent>, StoreError> {
    if project_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut text = SqlText::default();
    text.push(&format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE trace_id IS NOT NULL AND trace_id = "
    ))
    .bind(Param::Text(trace_id.to_owned()))
    .push(" AND project_id IN ")
    .bind_list(project_ids.iter().map(|id| Param::Int(id.get())))
    .push(" ORDER BY timestamp, id LIMIT ")
    .bind(Param::Int(limit));
    let SqlText { sql, params } = text;
    Ok(on_pool!(db, pool => bind_params!(sqlx::query_as(&sql), params).fetch_all(pool).await?))
}

/// An error event of a trace, enough to link to it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TraceErrorLink {
    pub trace_id: String,
    pub issue_id: IssueId,
    pub event_id: String,
    pub title: String,
}

/// Up to `limit` error events of any of `trace_ids` in the given projects, that happened between `from_ms`
/// and `to_ms` (which lets Postgres read only those days' partitions), earliest first.
pub async fn errors_of_traces(
    db: &Db,
    project_ids: &[ProjectId],
    trace_ids: &[String],
    (from_ms, to_ms): (i64, i64),
    limit: i64,
) -> Result<Vec<TraceErrorLink>, StoreError> {
    if project_ids.is_empty() || trace_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut text = SqlText::default();
    text.push("SELECT trace_id, issue_id, event_id, title FROM events WHERE trace_id IS NOT NULL AND trace_id IN ")
        .bind_list(trace_ids.iter().cloned().map(Param::Text))
        .push(" AND project_id IN ")
        .bind_list(project_ids.iter().map(|id| Param::Int(id.get())))
        .push(" AND timestamp >= ")
        .bind(Param::Int(from_ms))
        .push(" AND timestamp <= ")
        .bind(Param::Int(to_ms))
        .push(" ORDER BY timestamp, id LIMIT ")
        .bind(Param::Int(limit));
    let SqlText { sql, params } = text;
    Ok(on_pool!(db, pool => bind_params!(sqlx::query_as(&sql), params).fetch_all(pool).await?))
}
