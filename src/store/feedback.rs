//! User feedback rows: written as they come, read per project (newest first) or per issue (through the
//! events they name).

use super::{now_ms, on_pool, on_tx, Db, StoreError, Tx};
use crate::domain::feedback::NewFeedback;
use crate::domain::{IssueId, ProjectId};

/// A stored piece of feedback, with the issue of its event when that event is stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Feedback {
    pub id: i64,
    pub project_id: ProjectId,
    pub event_id: Option<String>,
    pub name: String,
    pub email: String,
    pub comments: String,
    pub url: String,
    pub received_at: i64,
    pub issue_id: Option<IssueId>,
}

impl Feedback {
    /// Who wrote it, as pages show it: "Ann · ann@example.com", either alone, or empty.
    pub fn signed(&self) -> String {
        [self.name.as_str(), self.email.as_str()]
            .into_iter()
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

const COLUMNS: &str = "f.id, f.project_id, f.event_id, f.name, f.email, f.comments, f.url, f.received_at, \
                       (SELECT e.issue_id FROM events e WHERE e.project_id = f.project_id AND e.event_id = f.event_id) \
                       AS issue_id";

/// Stores the pieces of feedback all or none, in one transaction (which on SQLite takes its turn with the
/// other writers); returns their ids.
pub async fn insert_all(db: &Db, project_id: ProjectId, feedback: &[NewFeedback]) -> Result<Vec<i64>, StoreError> {
    let insert = "INSERT INTO user_feedback (project_id, event_id, name, email, comments, url, received_at) \
                  VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
    if feedback.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = Tx::begin(db).await?;
    let mut ids = Vec::with_capacity(feedback.len());
    for one in feedback {
        let id: i64 = on_tx!(&mut tx, conn, Backend => sqlx::query_scalar(insert)
            .bind(project_id)
            .bind(&one.event_id)
            .bind(&one.name)
            .bind(&one.email)
            .bind(&one.comments)
            .bind(&one.url)
            .bind(now_ms())
            .fetch_one(&mut *conn)
            .await?);
        ids.push(id);
    }
    tx.commit().await?;
    Ok(ids)
}

/// Stores one piece of feedback; returns it as read back.
pub async fn insert(db: &Db, project_id: ProjectId, feedback: &NewFeedback) -> Result<Feedback, StoreError> {
    let ids = insert_all(db, project_id, std::slice::from_ref(feedback)).await?;
    let select = format!("SELECT {COLUMNS} FROM user_feedback f WHERE f.id = $1");
    Ok(on_pool!(db, pool => sqlx::query_as(&select).bind(ids[0]).fetch_one(pool).await?))
}

/// The project's feedback, newest first.
pub async fn for_project(db: &Db, project_id: ProjectId, limit: i64) -> Result<Vec<Feedback>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM user_feedback f WHERE f.project_id = $1 ORDER BY f.received_at DESC, f.id DESC LIMIT $2"
    );
    Ok(on_pool!(db, pool => sqlx::query_as(&sql).bind(project_id).bind(limit).fetch_all(pool).await?))
}

/// The feedback about the issue's stored events, newest first.
pub async fn for_issue(db: &Db, issue_id: IssueId, limit: i64) -> Result<Vec<Feedback>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM user_feedback f JOIN events ev ON ev.project_id = f.project_id \
         AND ev.event_id = f.event_id WHERE ev.issue_id = $1 ORDER BY f.received_at DESC, f.id DESC LIMIT $2"
    );
    Ok(on_pool!(db, pool => sqlx::query_as(&sql).bind(issue_id).bind(limit).fetch_all(pool).await?))
}
