//! Cron check-ins: `check_in` envelope items (the SDKs' `@monitor`, `capture_checkin`, sentry-cli's
//! `monitors run`) and Sentry's plain HTTP check-in URL for shell crons,
//! `/api/{project_id}/cron/{monitor_slug}/{sentry_key}/?status=ok` (GET or POST; a POST may carry the
//! check-in as JSON, `monitor_config` included). Each check-in is recorded, with what it does to its
//! monitor, before the answer. Unreadable items refuse them all (nothing half-stored); a check-in for a
//! monitor that does not exist and brings no config is refused. Alone in an envelope either is a 400 with
//! its sentence; beside other items it is counted as invalid and the rest goes on.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::core::monitors::{record_check_in, CheckInRefused};
use crate::core::outcomes::Origin;
use crate::domain::auth::PublicKey;
use crate::domain::envelope::Envelope;
use crate::domain::monitors::{read_check_in, CheckIn, CheckInError};
use crate::domain::outcomes::{reason, Category, Outcome};
use crate::domain::ProjectId;
use crate::store::now_ms;

use super::accounting;
use super::admission::authorize;
use super::error::IngestError;
use super::pipeline::store_failed;
use super::Ingest;

/// Largest check-in (protocol: a check-in item is at most 100 KiB).
const MAX_CHECK_IN_BYTES: usize = 100 * 1024;

pub(super) fn is_check_in_item(ty: &str) -> bool {
    ty == "check_in"
}

/// Records the envelope's check-ins, if any. `alone`: nothing else in the envelope is processed, so a
/// refused check-in is the answer.
pub(super) async fn ingest_check_ins(
    ingest: &Ingest,
    (project_id, origin): (ProjectId, Origin),
    envelope: &Envelope,
    alone: bool,
) -> Result<(), IngestError> {
    let items: Vec<_> = envelope.items.iter().filter(|i| is_check_in_item(&i.ty)).collect();
    if items.is_empty() {
        return Ok(());
    }
    let read: Result<Vec<CheckIn>, CheckInError> = items
        .iter()
        .map(|item| {
            if item.payload.len() > MAX_CHECK_IN_BYTES {
                return Err(CheckInError::TooLarge);
            }
            let value: Value = serde_json::from_slice(&item.payload).map_err(|_| CheckInError::NotAnObject)?;
            read_check_in(&value)
        })
        .collect();
    let check_ins = match read {
        Ok(check_ins) => check_ins,
        Err(error) => return refused(ingest, origin, items.len() as u64, error.to_string(), alone),
    };
    let mut first_refusal = None;
    for check_in in &check_ins {
        match record(ingest, project_id, check_in).await {
            Ok(()) => accounting::record(ingest, origin, Category::Monitor, Outcome::Accepted, "", 1),
            Err(IngestError::InvalidEvent(why)) => {
                accounting::record(
                    ingest,
                    origin,
                    Category::Monitor,
                    Outcome::Invalid,
                    reason::UNKNOWN_MONITOR,
                    1,
                );
                first_refusal.get_or_insert(why);
            }
            Err(other) => return Err(other),
        }
    }
    match first_refusal {
        Some(why) if alone && check_ins.len() == 1 => Err(IngestError::InvalidEvent(why)),
        _ => Ok(()),
    }
}

fn refused(ingest: &Ingest, origin: Origin, count: u64, why: String, alone: bool) -> Result<(), IngestError> {
    accounting::record(
        ingest,
        origin,
        Category::Monitor,
        Outcome::Invalid,
        reason::INVALID_EVENT,
        count,
    );
    if alone {
        return Err(IngestError::InvalidEvent(why));
    }
    tracing::debug!(why, "check-in items refused beside other items");
    Ok(())
}

/// One check-in recorded; a monitor that does not exist (and no config) is `InvalidEvent` with its sentence.
async fn record(ingest: &Ingest, project_id: ProjectId, check_in: &CheckIn) -> Result<(), IngestError> {
    match record_check_in(&ingest.monitors, project_id, check_in).await {
        Ok(_) => Ok(()),
        Err(refused @ CheckInRefused::UnknownMonitor(_)) => Err(IngestError::InvalidEvent(refused.to_string())),
        Err(CheckInRefused::Store(error)) => Err(store_failed(ingest, &error, "check-in")),
    }
}

/// `GET|POST /api/{project_id}/cron/{monitor_slug}/{sentry_key}/`: the query's `status`, `check_in_id`,
/// `duration`, `environment` and `release`, over the JSON body's when it has one; answers 202 with the
/// check-in's id (to close an `in_progress` run with).
pub async fn http_check_in(
    State(ingest): State<Arc<Ingest>>,
    Path((project_id, slug, key)): Path<(String, String, String)>,
    Query(query): Query<Map<String, Value>>,
    body: Bytes,
) -> Result<Response, IngestError> {
    let project_id = project_id
        .parse::<i64>()
        .map(ProjectId::from)
        .map_err(|_| IngestError::InvalidProjectId)?;
    let key = PublicKey::parse(&key)?;
    let auth = authorize(&ingest, &key, project_id).await?;
    let origin = Origin {
        project_id,
        key_id: auth.key_id,
        at_ms: now_ms(),
    };
    let check_in = http_check_in_of(&slug, query, &body)?;
    match record(&ingest, project_id, &check_in).await {
        Ok(()) => accounting::record(&ingest, origin, Category::Monitor, Outcome::Accepted, "", 1),
        Err(error @ IngestError::InvalidEvent(_)) => {
            accounting::record(
                &ingest,
                origin,
                Category::Monitor,
                Outcome::Invalid,
                reason::UNKNOWN_MONITOR,
                1,
            );
            return Err(error);
        }
        Err(other) => return Err(other),
    }
    Ok((StatusCode::ACCEPTED, Json(json!({"id": check_in.check_in_id}))).into_response())
}

/// The check-in the URL, its query and its body (JSON, when not empty) describe.
fn http_check_in_of(slug: &str, query: Map<String, Value>, body: &[u8]) -> Result<CheckIn, IngestError> {
    if body.len() > MAX_CHECK_IN_BYTES {
        return Err(IngestError::EventTooLarge {
            limit: MAX_CHECK_IN_BYTES,
        });
    }
    let mut fields = match body.iter().any(|b| !b.is_ascii_whitespace()) {
        true => match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(fields)) => fields,
            _ => {
                return Err(IngestError::InvalidEvent(
                    "a check-in's body must be a JSON object".into(),
                ))
            }
        },
        false => Map::new(),
    };
    for (name, value) in query {
        // The query's numbers arrive as text.
        let value = match (name.as_str(), &value) {
            ("duration", Value::String(text)) => text.parse::<f64>().map(Value::from).unwrap_or(value),
            _ => value,
        };
        fields.insert(name, value);
    }
    fields.insert("monitor_slug".into(), Value::String(slug.to_owned()));
    if !fields.contains_key("status") {
        return Err(IngestError::InvalidEvent(
            "a check-in needs a status: add ?status=in_progress, ?status=ok or ?status=error".into(),
        ));
    }
    read_check_in(&Value::Object(fields)).map_err(|e| IngestError::InvalidEvent(e.to_string()))
}
