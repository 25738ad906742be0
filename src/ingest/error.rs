//! The ingest error: one enum that decides, per cause, the status code, the `{"detail"}` body, the
//! metrics reason and the log level (4xx at debug, 5xx at error).

use crate::core::events::PrepareError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::domain::auth::AuthError;
use crate::domain::envelope::EnvelopeError;
use crate::domain::outcomes::reason;
use crate::ingest::decode::DecodeError;
use crate::store::Outage;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{0}")]
    Auth(#[from] AuthError),
    #[error("invalid project id in the URL")]
    InvalidProjectId,
    #[error("unknown public key")]
    UnknownKey,
    #[error("the key or its project is disabled")]
    Disabled,
    #[error("the key does not belong to this project")]
    WrongProject,
    #[error("the envelope's dsn does not match the request's credentials")]
    DsnMismatch,
    #[error("the request body could not be read")]
    BodyUnreadable,
    #[error("the request body did not arrive in time")]
    BodyTimeout,
    #[error("too many request bodies are in flight, retry later")]
    Busy { retry_after_secs: u64 },
    #[error("request body exceeds {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("event exceeds {limit} bytes")]
    EventTooLarge { limit: usize },
    /// Relay refuses a whole envelope whose attachment is over its limit; nothing of it is stored.
    #[error(
        "an attachment exceeds {limit} bytes (FAULTLINE_MAX_ATTACHMENT_BYTES); nothing of this envelope was stored"
    )]
    AttachmentTooLarge { limit: usize },
    #[error("{0}")]
    Decode(#[from] DecodeError),
    #[error("malformed envelope: {0}")]
    Envelope(#[from] EnvelopeError),
    #[error("invalid event: {0}")]
    InvalidEvent(String),
    #[error("the server is busy, retry later")]
    QueueFull { retry_after_secs: u64 },
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error("the event could not be stored")]
    Storage,
    /// The database cannot take writes now (unreachable, disk full): every event would fail alike.
    #[error("events cannot be stored right now ({outage}); retry later")]
    Unavailable { outage: Outage, retry_after_secs: u64 },
    /// The client key's rate limit is spent for this window.
    #[error("this client key's rate limit is reached; retry in {retry_after_secs} s")]
    KeyRateLimited { retry_after_secs: u64 },
    /// The project's daily quota (`project_quota`) or spike protection (`spike_protection`).
    #[error("this project's {} is reached; retry in {retry_after_secs} s", limit_name(reason))]
    ProjectRateLimited {
        retry_after_secs: u64,
        reason: &'static str,
    },
    /// Free disk space is below the floor: events are refused before the database would fail.
    #[error("free disk space is low ({free} left, the floor is {floor}); retry later")]
    LowDisk {
        free: String,
        floor: String,
        retry_after_secs: u64,
    },
}

impl IngestError {
    pub fn status(&self) -> StatusCode {
        match self {
            // §2.4: 401 for absent or garbled credentials, 400 for a malformed key or version.
            IngestError::Auth(e) => StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::UNAUTHORIZED),
            IngestError::InvalidProjectId
            | IngestError::BodyUnreadable
            | IngestError::Envelope(_)
            | IngestError::InvalidEvent(_) => StatusCode::BAD_REQUEST,
            // Relay's choice for a mismatching envelope dsn is "invalid envelope".
            IngestError::DsnMismatch => StatusCode::BAD_REQUEST,
            // Understood credentials that are not allowed here.
            IngestError::UnknownKey | IngestError::Disabled | IngestError::WrongProject => StatusCode::FORBIDDEN,
            IngestError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            IngestError::BodyTooLarge { .. }
            | IngestError::EventTooLarge { .. }
            | IngestError::AttachmentTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            IngestError::Decode(DecodeError::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            IngestError::Decode(DecodeError::UnsupportedEncoding(_)) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            IngestError::Decode(DecodeError::Corrupt(_)) => StatusCode::BAD_REQUEST,
            IngestError::Decode(DecodeError::OverBudget) | IngestError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            // SDKs back off on 429 and honour Retry-After / X-Sentry-Rate-Limits.
            IngestError::QueueFull { .. }
            | IngestError::KeyRateLimited { .. }
            | IngestError::ProjectRateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            IngestError::ShuttingDown
            | IngestError::Storage
            | IngestError::Unavailable { .. }
            | IngestError::LowDisk { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The `reason` label of `faultline_events_rejected_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            IngestError::Auth(_) => "auth",
            IngestError::InvalidProjectId => "invalid_project",
            IngestError::BodyUnreadable => "unreadable_body",
            IngestError::BodyTimeout => "body_timeout",
            IngestError::Busy { .. } | IngestError::Decode(DecodeError::OverBudget) => "body_memory",
            IngestError::UnknownKey => "unknown_key",
            IngestError::Disabled => "disabled",
            IngestError::WrongProject | IngestError::DsnMismatch => "wrong_project",
            IngestError::BodyTooLarge { .. }
            | IngestError::EventTooLarge { .. }
            | IngestError::AttachmentTooLarge { .. } => "too_large",
            IngestError::Decode(DecodeError::TooLarge { .. }) => "too_large",
            IngestError::Decode(_) => "bad_encoding",
            IngestError::Envelope(_) => "bad_envelope",
            IngestError::InvalidEvent(_) => "invalid_event",
            IngestError::QueueFull { .. } => "queue_full",
            IngestError::ShuttingDown => "shutting_down",
            IngestError::Storage => "storage",
            IngestError::Unavailable { .. } => "unavailable",
            IngestError::LowDisk { .. } => "low_disk",
            IngestError::KeyRateLimited { .. } => reason::KEY_QUOTA,
            IngestError::ProjectRateLimited { reason, .. } => reason,
        }
    }

    /// Seconds the client is asked to wait before retrying, for the refusals that are over once the server
    /// catches up (load, memory, an outage of the database).
    fn retry_after_secs(&self) -> Option<u64> {
        match self {
            IngestError::QueueFull { retry_after_secs }
            | IngestError::Busy { retry_after_secs }
            | IngestError::Unavailable { retry_after_secs, .. }
            | IngestError::LowDisk { retry_after_secs, .. }
            | IngestError::KeyRateLimited { retry_after_secs }
            | IngestError::ProjectRateLimited { retry_after_secs, .. } => Some(*retry_after_secs),
            IngestError::Decode(DecodeError::OverBudget) => Some(1),
            _ => None,
        }
    }
}

impl IntoResponse for IngestError {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = self.retry_after_secs();
        if retry_after.is_some() {
            // Shedding load or riding out an outage (logged once when it starts): one ERROR line per refused
            // request would flood the log.
            tracing::debug!(reason = self.reason(), "ingest shed: {self}");
        } else if status.is_server_error() {
            tracing::error!(reason = self.reason(), "ingest failed: {self}");
        } else {
            tracing::debug!(reason = self.reason(), "ingest refused: {self}");
        }
        let body = Json(serde_json::json!({ "detail": self.to_string() }));
        let mut response = (status, body).into_response();
        if let Some(retry_after_secs) = retry_after {
            let headers = response.headers_mut();
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            // §6.2: integer seconds, the error-bearing categories, scope and a reason code.
            let (scope, reason) = match self {
                IngestError::KeyRateLimited { .. } => ("key", reason::KEY_QUOTA),
                IngestError::ProjectRateLimited { reason, .. } => ("project", reason),
                _ => ("organization", "backpressure"),
            };
            let limits = format!("{retry_after_secs}:default;error;security;attachment:{scope}:{reason}");
            if let Ok(value) = HeaderValue::from_str(&limits) {
                headers.insert("x-sentry-rate-limits", value);
            }
        }
        response
    }
}

fn limit_name(reason: &str) -> &'static str {
    if reason == reason::SPIKE_PROTECTION {
        "spike protection allowance for this minute"
    } else {
        "daily quota"
    }
}

impl From<PrepareError> for IngestError {
    fn from(error: PrepareError) -> IngestError {
        match error {
            PrepareError::Invalid(why) => IngestError::InvalidEvent(why),
            PrepareError::Compression => IngestError::Storage,
            // The pipeline answers a filtered event itself, before it could get here.
            PrepareError::Filtered(filter) => IngestError::InvalidEvent(format!("filtered by {filter}")),
        }
    }
}
