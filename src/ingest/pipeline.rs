//! The path of one ingest request: authenticate, decode, frame, pick the event, prepare it and hand it
//! to the writer. Handlers only extract the request parts and call `ingest_envelope` / `ingest_store`.

use std::net::IpAddr;

use axum::http::HeaderMap;
use bytes::Bytes;

use crate::domain::auth::{key_from_request, AuthError, Dsn, PublicKey, RequestCredentials};
use crate::domain::envelope::{parse_envelope, Envelope};
use crate::domain::normalize::parse_event_id;
use crate::domain::scrub::Scrubber;
use crate::store::{NewEvent, Outage};

use super::decode::{decode_body, decode_legacy_store_body};
use super::error::IngestError;
use super::keys::ProjectAuth;
use super::prepare::{parse_event_json, prepare_event, EventContext};
use super::writer::{SubmitError, WriteFailed, WriteOutcome};
use super::Ingest;

/// The parts of an HTTP request that ingest reads.
pub struct IngestRequest {
    pub project_id: String,
    pub headers: HeaderMap,
    pub query: Option<String>,
    pub peer: IpAddr,
    pub body: Bytes,
}

/// The `id` to answer with; `None` answers `{}`.
pub type EventIdReply = Option<String>;

/// Item types ingest knows by name; anything else is counted as `other` so labels stay bounded.
const KNOWN_ITEM_TYPES: &[&str] = &[
    "transaction",
    "attachment",
    "session",
    "sessions",
    "client_report",
    "user_report",
    "feedback",
    "check_in",
    "replay_event",
    "replay_recording",
    "replay_video",
    "profile",
    "profile_chunk",
    "span",
    "otel_span",
    "log",
    "statsd",
    "metric_buckets",
    "trace_metric",
    "nel",
    "security",
    "raw_security",
    "form_data",
    "unreal_report",
    "event",
];

pub async fn ingest_envelope(ingest: &Ingest, request: IngestRequest) -> Result<EventIdReply, IngestError> {
    let path_project = parse_project_id(&request.project_id)?;
    let client_ip = client_ip(ingest, &request);
    // Authenticate before decompressing whenever the request itself carries the key.
    let request_auth = match key_from_request(&credentials(&request))? {
        Some(key) => Some((authorize(ingest, &key, path_project).await?, key)),
        None => None,
    };
    let encoding = header(&request.headers, "content-encoding");
    let body = decode_body(encoding, request.body, ingest.settings.max_envelope_bytes)?;
    let envelope = parse_envelope(body)?;
    let auth = match (request_auth, envelope.header.dsn.as_deref()) {
        (Some((auth, key)), Some(dsn)) => {
            check_dsn_matches(dsn, &key, path_project)?;
            auth
        }
        (Some((auth, _)), None) => auth,
        (None, Some(dsn)) => {
            let dsn = Dsn::parse(dsn)?;
            if dsn.project_id as i64 != path_project {
                return Err(IngestError::WrongProject);
            }
            authorize(ingest, &dsn.public_key, path_project).await?
        }
        (None, None) => return Err(AuthError::Missing.into()),
    };
    let Some(payload) = take_event_item(ingest, &envelope) else {
        return Ok(envelope.header.event_id.as_deref().and_then(normalize_event_id));
    };
    if payload.len() > ingest.settings.max_event_bytes {
        return Err(IngestError::EventTooLarge {
            limit: ingest.settings.max_event_bytes,
        });
    }
    let mut ctx = event_context(ingest, path_project, &client_ip, &auth);
    ctx.header_event_id = envelope.header.event_id.as_deref();
    ctx.sent_at = envelope.header.sent_at;
    let event = prepare_event(parse_event_json(&payload)?, &ctx)?;
    write(ingest, event).await
}

pub async fn ingest_store(ingest: &Ingest, request: IngestRequest) -> Result<EventIdReply, IngestError> {
    // §3.3: the store endpoint parses an envelope when told so by the content type.
    if header(&request.headers, "content-type").is_some_and(|t| t.starts_with("application/x-sentry-envelope")) {
        return ingest_envelope(ingest, request).await;
    }
    let path_project = parse_project_id(&request.project_id)?;
    let key = key_from_request(&credentials(&request))?.ok_or(AuthError::Missing)?;
    let auth = authorize(ingest, &key, path_project).await?;
    let client_ip = client_ip(ingest, &request);
    let limit = ingest.settings.max_event_bytes;
    let body = decode_body(header(&request.headers, "content-encoding"), request.body, limit)
        .map_err(|e| too_large_as_event(e, limit))?;
    let body = decode_legacy_store_body(body, limit).map_err(|e| too_large_as_event(e, limit))?;
    let ctx = event_context(ingest, path_project, &client_ip, &auth);
    let raw = parse_event_json(&body)?;
    // §3.3: old SDKs posted transactions here; they are accepted and dropped like transaction items.
    if raw.get("type").and_then(|t| t.as_str()) == Some("transaction") {
        ingest.metrics.items_dropped.with_label_values(&["transaction"]).inc();
        return Ok(raw
            .get("event_id")
            .and_then(|id| id.as_str())
            .and_then(normalize_event_id));
    }
    let event = prepare_event(raw, &ctx)?;
    write(ingest, event).await
}

fn too_large_as_event(error: super::decode::DecodeError, limit: usize) -> IngestError {
    match error {
        super::decode::DecodeError::TooLarge { .. } => IngestError::EventTooLarge { limit },
        other => other.into(),
    }
}

async fn write(ingest: &Ingest, event: NewEvent) -> Result<EventIdReply, IngestError> {
    let id = event.event_id.clone();
    match ingest.writer.write(event).await {
        Ok(Ok(WriteOutcome::Stored | WriteOutcome::Duplicate)) => {
            ingest.metrics.events_accepted.inc();
            Ok(Some(id))
        }
        Ok(Err(WriteFailed { outage: None })) => Err(IngestError::Storage),
        Ok(Err(WriteFailed { outage: Some(outage) })) => Err(unavailable(ingest, outage)),
        Err(SubmitError::QueueFull) => Err(IngestError::QueueFull {
            retry_after_secs: ingest.settings.retry_after_secs,
        }),
        Err(SubmitError::Stopped) => Err(IngestError::ShuttingDown),
    }
}

/// The answer while the database cannot take writes: 503 with `Retry-After`.
pub(super) fn unavailable(ingest: &Ingest, outage: Outage) -> IngestError {
    IngestError::Unavailable {
        outage,
        retry_after_secs: ingest.settings.retry_after_secs,
    }
}

fn parse_project_id(text: &str) -> Result<i64, IngestError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(IngestError::InvalidProjectId)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn credentials(request: &IngestRequest) -> RequestCredentials<'_> {
    RequestCredentials {
        x_sentry_auth: header(&request.headers, "x-sentry-auth"),
        authorization: header(&request.headers, "authorization"),
        query: request.query.as_deref(),
    }
}

async fn authorize(ingest: &Ingest, key: &PublicKey, path_project: i64) -> Result<ProjectAuth, IngestError> {
    let auth = ingest
        .keys
        .lookup(key)
        .await
        .map_err(|error| {
            ingest.metrics.database_errors.inc();
            match error.outage() {
                Some(outage) => {
                    ingest.health.record_failure(outage, &error);
                    unavailable(ingest, outage)
                }
                None => {
                    tracing::error!(%error, "key lookup failed");
                    IngestError::Storage
                }
            }
        })?
        .ok_or(IngestError::UnknownKey)?;
    if !auth.enabled {
        return Err(IngestError::Disabled);
    }
    if auth.project_id != path_project {
        return Err(IngestError::WrongProject);
    }
    Ok(auth)
}

/// §2.3: with request credentials too, the envelope's dsn must name the same key and project.
fn check_dsn_matches(dsn: &str, key: &PublicKey, path_project: i64) -> Result<(), IngestError> {
    let dsn = Dsn::parse(dsn).map_err(|_| IngestError::DsnMismatch)?;
    if dsn.public_key.as_str() != key.as_str() || dsn.project_id as i64 != path_project {
        return Err(IngestError::DsnMismatch);
    }
    Ok(())
}

/// The first `event` item's payload; every other item is counted and dropped (§4.5).
fn take_event_item(ingest: &Ingest, envelope: &Envelope) -> Option<Bytes> {
    let mut event = None;
    for item in &envelope.items {
        if item.ty == "event" && event.is_none() {
            event = Some(item.payload.clone());
            continue;
        }
        let label = KNOWN_ITEM_TYPES
            .iter()
            .find(|t| **t == item.ty)
            .copied()
            .unwrap_or("other");
        ingest.metrics.items_dropped.with_label_values(&[label]).inc();
    }
    event
}

fn normalize_event_id(id: &str) -> Option<String> {
    parse_event_id(id).ok()
}

/// §7.5: the first `X-Forwarded-For` entry only behind a trusted proxy, else the peer address.
fn client_ip(ingest: &Ingest, request: &IngestRequest) -> String {
    let forwarded = ingest
        .settings
        .trust_proxy
        .then(|| header(&request.headers, "x-forwarded-for"))
        .flatten()
        .and_then(|list| list.split(',').next())
        .map(str::trim)
        .and_then(|ip| ip.parse::<IpAddr>().ok());
    forwarded.unwrap_or(request.peer).to_string()
}

/// The context shared by both endpoints; the envelope path adds its header's id and `sent_at`.
fn event_context<'a>(ingest: &Ingest, project_id: i64, client_ip: &'a str, auth: &'a ProjectAuth) -> EventContext<'a> {
    EventContext {
        project_id,
        received_at: now_secs(),
        client_ip: Some(client_ip),
        header_event_id: None,
        sent_at: None,
        scrubber: scrubber(ingest, auth),
    }
}

fn scrubber<'a>(ingest: &Ingest, auth: &'a ProjectAuth) -> Option<&'a Scrubber> {
    ingest.settings.scrub.then_some(auth.scrubber.as_ref())
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}
