//! The path of one admitted ingest request (see `admission`): decode, frame, pick the event, prepare it
//! and hand it to the writer.

use crate::domain::ProjectId;
use std::net::IpAddr;

use bytes::Bytes;

use crate::domain::auth::{Dsn, PublicKey};
use crate::domain::envelope::{parse_envelope, Envelope};
use crate::domain::normalize::parse_event_id;
use crate::domain::scrub::Scrubber;
use crate::store::{now_ms, NewEvent, Outage, StoreError};

use super::accounting;
use super::admission::{self, Admitted};
use super::attachments::{check_sizes, count_dropped, ingest_attachments};
use super::decode::decode_legacy_store_body;
use super::error::IngestError;
use super::own_paths::{has_own_path, ingest_own_paths};
use super::spans::ingest_span_items;
use super::transactions::ingest_transaction;
use super::writer::{SubmitError, WriteFailed, WriteOutcome};
use super::Ingest;
use crate::core::events::{parse_event_json, prepare_event, EventContext, PrepareError};
use crate::core::limits::ProjectLimited;
use crate::core::outcomes::Origin;
use crate::core::ProjectAuth;
use crate::domain::outcomes::{reason, Category, Outcome, RateLimit};

/// The `id` to answer with; `None` answers `{}`.
pub type EventIdReply = Option<String>;

/// A successful answer: the id, and a limit to announce beside the categories not stored (the project's
/// attachment quota, when it turned attachments away).
#[derive(Debug, Default)]
pub struct Answer {
    pub id: EventIdReply,
    pub limit: Option<RateLimit>,
}

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

pub async fn ingest_envelope(ingest: &Ingest, mut request: Admitted) -> Result<Answer, IngestError> {
    let origin = accounting::origin(&request);
    // What a refusal is counted as: an error unless the envelope turns out to carry a transaction.
    let mut learned = Learned {
        category: Category::Error,
        attachments_dropped: false,
    };
    let result = async {
        let body = request.decode(ingest.settings.max_envelope_bytes).await?;
        let envelope = parse_envelope(body)?;
        if let (Some(key), Some(dsn)) = (&request.request_key, envelope.header.dsn.as_deref()) {
            check_dsn_matches(dsn, key, request.project_id)?;
        }
        check_sizes(ingest, origin, &envelope)?;
        let id = envelope_event(ingest, &request, &envelope, origin, &mut learned).await?;
        if learned.attachments_dropped {
            return Ok(Answer { id, limit: None });
        }
        // The attachments belong to the event just stored, or else to the one the header names.
        let event_id = id
            .clone()
            .or_else(|| envelope.header.event_id.as_deref().and_then(normalize_event_id));
        let project = (request.project_id, origin);
        let limit = ingest_attachments(ingest, project, &envelope, event_id.as_deref()).await?;
        Ok(Answer { id, limit })
    }
    .await;
    if let Err(error) = &result {
        accounting::count_refused(ingest, origin, learned.category, error);
    }
    result
}

/// What processing an envelope learns beside its reply.
struct Learned {
    /// What a refusal is counted as.
    category: Category,
    /// The attachments went with their event (an inbound filter's match), counted already.
    attachments_dropped: bool,
}

async fn envelope_event(
    ingest: &Ingest,
    request: &Admitted,
    envelope: &Envelope,
    origin: Origin,
    learned: &mut Learned,
) -> Result<EventIdReply, IngestError> {
    let payload = take_event_item(ingest, envelope);
    let processed = payload.as_ref().map(|p| match p {
        Payload::Event(_) => "event",
        Payload::Transaction(_) => "transaction",
        Payload::Spans(_) => "span",
    });
    accounting::count_items(ingest, origin, envelope, processed);
    ingest_own_paths(ingest, (request.project_id, origin), envelope, payload.is_some()).await?;
    let Some(payload) = payload else {
        return Ok(envelope.header.event_id.as_deref().and_then(normalize_event_id));
    };
    // Only events and transactions count against a key's limit: client reports alone are always taken.
    within_key_limit(ingest, &request.auth)?;
    if let Payload::Transaction(payload) = payload {
        learned.category = Category::Transaction;
        let header_id = envelope.header.event_id.as_deref();
        let scrubber = scrubber(ingest, &request.auth);
        let counted = (Category::Transaction, 1);
        return ingest_transaction(
            ingest,
            (request.project_id, origin),
            &payload,
            header_id,
            scrubber,
            counted,
        )
        .await;
    }
    if let Payload::Spans(items) = payload {
        learned.category = Category::Span;
        let scrubber = scrubber(ingest, &request.auth);
        return ingest_span_items(ingest, (request.project_id, origin), &items, scrubber).await;
    }
    let Payload::Event(payload) = payload else {
        unreachable!("transactions returned above")
    };
    if payload.len() > ingest.settings.max_event_bytes {
        return Err(IngestError::EventTooLarge {
            limit: ingest.settings.max_event_bytes,
        });
    }
    let client_ip = client_ip(ingest, request);
    let mut ctx = event_context(ingest, request.project_id, &client_ip, &request.auth);
    ctx.header_event_id = envelope.header.event_id.as_deref();
    ctx.sent_at = envelope.header.sent_at;
    let reply_id = ctx.header_event_id.and_then(normalize_event_id);
    let mut parsed = parse_event_json(&payload)?;
    ingest.source_maps.apply(request.project_id, &mut parsed.value).await;
    match prepare_event(parsed, &ctx) {
        Ok(event) => {
            within_project_limits(ingest, &request.auth)?;
            write(ingest, event, origin).await
        }
        Err(PrepareError::Filtered(filter)) => {
            // Filtered with their event: nothing of it is stored, and the attachments must not find an
            // older event of the same id.
            count_dropped(ingest, origin, envelope, Outcome::Filtered, filter);
            learned.attachments_dropped = true;
            Ok(filtered(ingest, origin, filter, reply_id))
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn ingest_store(ingest: &Ingest, request: Admitted) -> Result<Answer, IngestError> {
    let origin = accounting::origin(&request);
    let result = store_event(ingest, request, origin).await;
    if let Err(error) = &result {
        accounting::count_refused(ingest, origin, Category::Error, error);
    }
    result.map(|id| Answer { id, limit: None })
}

async fn store_event(ingest: &Ingest, mut request: Admitted, origin: Origin) -> Result<EventIdReply, IngestError> {
    within_key_limit(ingest, &request.auth)?;
    let limit = ingest.settings.max_event_bytes;
    let body = request.decode(limit).await.map_err(|e| too_large_as_event(e, limit))?;
    let body = decode_legacy_store_body(body, limit).map_err(|e| too_large_as_event(e, limit))?;
    let client_ip = client_ip(ingest, &request);
    let ctx = event_context(ingest, request.project_id, &client_ip, &request.auth);
    let mut parsed = parse_event_json(&body)?;
    ingest.source_maps.apply(request.project_id, &mut parsed.value).await;
    // §3.3: old SDKs posted transactions here; they take the transaction items' path.
    if parsed.value.get("type").and_then(|t| t.as_str()) == Some("transaction") {
        let counted = (Category::Transaction, 1);
        let result = ingest_transaction(ingest, (request.project_id, origin), &body, None, ctx.scrubber, counted).await;
        if let Err(error) = &result {
            accounting::count_refused(ingest, origin, Category::Transaction, error);
        }
        return result;
    }
    let reply_id = parsed
        .value
        .get("event_id")
        .and_then(|id| id.as_str())
        .and_then(normalize_event_id);
    match prepare_event(parsed, &ctx) {
        Ok(event) => {
            within_project_limits(ingest, &request.auth)?;
            write(ingest, event, origin).await
        }
        Err(PrepareError::Filtered(filter)) => Ok(filtered(ingest, origin, filter, reply_id)),
        Err(other) => Err(other.into()),
    }
}

/// An event an inbound filter matched: 200 as Sentry answers, counted as filtered with the filter's id.
fn filtered(ingest: &Ingest, origin: Origin, filter: &'static str, reply_id: EventIdReply) -> EventIdReply {
    ingest.metrics.items_dropped.with_label_values(&["filtered"]).inc();
    ingest
        .outcomes
        .record(origin, Category::Error, Outcome::Filtered, filter, 1);
    reply_id
}

/// The key's rate limit (Sentry's key setting), when it has one.
fn within_key_limit(ingest: &Ingest, auth: &ProjectAuth) -> Result<(), IngestError> {
    match auth.rate_limit {
        Some(limit) => ingest
            .limits
            .take_key(auth.key_id, limit, now_ms())
            .map_err(|retry_after_secs| IngestError::KeyRateLimited { retry_after_secs }),
        None => Ok(()),
    }
}

/// The project's daily quota and spike protection, taken only by events the inbound filters let through.
fn within_project_limits(ingest: &Ingest, auth: &ProjectAuth) -> Result<(), IngestError> {
    let limited = ingest.limits.take_project(auth.project_id, auth.daily_quota, now_ms());
    limited.map_err(|limited| match limited {
        ProjectLimited::Quota { retry_after_secs } => IngestError::ProjectRateLimited {
            retry_after_secs,
            reason: reason::PROJECT_QUOTA,
        },
        ProjectLimited::Spike { retry_after_secs } => IngestError::ProjectRateLimited {
            retry_after_secs,
            reason: reason::SPIKE_PROTECTION,
        },
    })
}

fn too_large_as_event(error: super::decode::DecodeError, limit: usize) -> IngestError {
    match error {
        super::decode::DecodeError::TooLarge { .. } => IngestError::EventTooLarge { limit },
        other => other.into(),
    }
}

async fn write(ingest: &Ingest, event: NewEvent, origin: Origin) -> Result<EventIdReply, IngestError> {
    let id = event.event_id.clone();
    let counted = accounting::Counted::of(&event);
    match ingest.writer.write(event).await {
        Ok(Ok(outcome @ (WriteOutcome::Stored | WriteOutcome::Duplicate))) => {
            ingest.metrics.events_accepted.inc();
            accounting::count_stored(ingest, origin, counted, outcome == WriteOutcome::Duplicate);
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

/// A database failure as ingest answers it: counted, an outage recorded for the health check and answered
/// 503 with `Retry-After`, anything else logged and answered as a storage error.
pub(super) fn store_failed(ingest: &Ingest, error: &StoreError, what: &str) -> IngestError {
    ingest.metrics.database_errors.inc();
    match error.outage() {
        Some(outage) => {
            ingest.health.record_failure(outage, error);
            unavailable(ingest, outage)
        }
        None => {
            tracing::error!(%error, what, "a database write or read failed");
            IngestError::Storage
        }
    }
}

/// The answer while the database cannot take writes: 503 with `Retry-After`.
pub(super) fn unavailable(ingest: &Ingest, outage: Outage) -> IngestError {
    IngestError::Unavailable {
        outage,
        retry_after_secs: ingest.settings.retry_after_secs,
    }
}

/// §2.3: with request credentials too, the envelope's dsn must name the same key and project.
fn check_dsn_matches(dsn: &str, key: &PublicKey, path_project: ProjectId) -> Result<(), IngestError> {
    let dsn = Dsn::parse(dsn).map_err(|_| IngestError::DsnMismatch)?;
    if dsn.public_key.as_str() != key.as_str() || dsn.project_id as i64 != path_project.get() {
        return Err(IngestError::DsnMismatch);
    }
    Ok(())
}

/// The item an envelope is processed for: its event, or else its transaction, or else its `span` items.
enum Payload {
    Event(Bytes),
    Transaction(Bytes),
    Spans(Vec<Bytes>),
}

/// The first `event` item's payload, or else the first `transaction` item's (the protocol allows one or
/// the other), or else every `span` item's; every other item is counted and dropped (§4.5).
fn take_event_item(ingest: &Ingest, envelope: &Envelope) -> Option<Payload> {
    let mut event = None;
    let mut transaction = None;
    let spans: Vec<Bytes> = envelope
        .items
        .iter()
        .filter(|item| item.ty == "span")
        .map(|item| item.payload.clone())
        .collect();
    for item in &envelope.items {
        if item.ty == "span" || has_own_path(&item.ty) || super::attachments::is_attachment_item(&item.ty) {
            continue;
        }
        if item.ty == "event" && event.is_none() {
            event = Some(item.payload.clone());
            continue;
        }
        if item.ty == "transaction" && transaction.is_none() {
            transaction = Some(item.payload.clone());
            continue;
        }
        let label = KNOWN_ITEM_TYPES
            .iter()
            .find(|t| **t == item.ty)
            .copied()
            .unwrap_or("other");
        ingest.metrics.items_dropped.with_label_values(&[label]).inc();
    }
    let spans = (!spans.is_empty()).then_some(Payload::Spans(spans));
    event
        .map(Payload::Event)
        .or(transaction.map(Payload::Transaction))
        .or(spans)
}

pub(super) fn normalize_event_id(id: &str) -> Option<String> {
    parse_event_id(id).ok()
}

/// §7.5: the first `X-Forwarded-For` entry only behind a trusted proxy, else the peer address.
fn client_ip(ingest: &Ingest, request: &Admitted) -> String {
    let forwarded = ingest
        .settings
        .trust_proxy
        .then(|| admission::header(&request.headers, "x-forwarded-for"))
        .flatten()
        .and_then(|list| list.split(',').next())
        .map(str::trim)
        .and_then(|ip| ip.parse::<IpAddr>().ok());
    forwarded.unwrap_or(request.peer).to_string()
}

/// The context shared by both endpoints; the envelope path adds its header's id and `sent_at`.
fn event_context<'a>(
    ingest: &Ingest,
    project_id: ProjectId,
    client_ip: &'a str,
    auth: &'a ProjectAuth,
) -> EventContext<'a> {
    EventContext {
        project_id,
        received_at: now_secs(),
        client_ip: Some(client_ip),
        header_event_id: None,
        sent_at: None,
        scrubber: scrubber(ingest, auth),
        filters: Some(&auth.filters).filter(|f| !f.is_empty()).map(|f| &**f),
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
