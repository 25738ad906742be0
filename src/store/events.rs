//! Events: the writer's batch insert (in `batch`) and reading stored events back.

use super::{on_pool, Db, StoreError};

/// An event ready to store: normalized, scrubbed and fingerprinted by ingest.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub project_id: i64,
    /// 32 lowercase hex.
    pub event_id: String,
    pub timestamp_ms: i64,
    pub received_ms: i64,
    pub level: String,
    pub platform: String,
    pub release: Option<String>,
    pub environment: Option<String>,
    pub transaction: Option<String>,
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
}

/// A stored event as read back.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StoredEvent {
    pub issue_id: i64,
    pub event_id: String,
    pub timestamp: i64,
    pub level: String,
    pub release: Option<String>,
    pub environment: Option<String>,
    pub title: String,
    pub payload: Vec<u8>,
}

impl StoredEvent {
    /// The event JSON, decompressed.
    pub fn payload_json(&self) -> Result<serde_json::Value, StoreError> {
        let bytes = zstd::stream::decode_all(self.payload.as_slice())
            .map_err(|e| StoreError::Corrupt(format!("events.payload: {e}")))?;
        serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt(format!("events.payload: {e}")))
    }
}

const EVENT_COLUMNS: &str = "issue_id, event_id, timestamp, level, release, environment, title, payload";

pub async fn get_event(db: &Db, project_id: i64, event_id: &str) -> Result<Option<StoredEvent>, StoreError> {
    let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE project_id = $1 AND event_id = $2");
    Ok(on_pool!(db, pool => sqlx::query_as(&sql)
        .bind(project_id)
        .bind(event_id)
        .fetch_optional(pool)
        .await?))
}

/// An issue's events, newest first.
pub async fn list_issue_events(db: &Db, issue_id: i64, limit: i64) -> Result<Vec<StoredEvent>, StoreError> {
    let sql =
        format!("SELECT {EVENT_COLUMNS} FROM events WHERE issue_id = $1 ORDER BY timestamp DESC, id DESC LIMIT $2");
    Ok(on_pool!(db, pool => sqlx::query_as(&sql).bind(issue_id).bind(limit).fetch_all(pool).await?))
}

pub async fn count_events(db: &Db, project_id: i64) -> Result<i64, StoreError> {
    let sql = "SELECT COUNT(*) FROM events WHERE project_id = $1";
    Ok(on_pool!(db, pool => sqlx::query_scalar(sql).bind(project_id).fetch_one(pool).await?))
}

/// Which of these event ids are stored for the project.
pub async fn stored_event_ids(db: &Db, project_id: i64, event_ids: &[String]) -> Result<Vec<String>, StoreError> {
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
