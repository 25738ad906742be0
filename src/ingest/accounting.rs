//! What ingest tells SDKs and counts about the items it does not store: every response announces the
//! categories this server does not store (`X-Sentry-Rate-Limits`, so SDKs stop sending them), and every
//! item gets an outcome — accepted, filtered (not stored), rate limited, invalid — as do the drops SDKs
//! report in their `client_report` items.

use std::sync::LazyLock;

use axum::http::HeaderValue;

use crate::core::outcomes::Origin;
use crate::domain::envelope::Envelope;
use crate::domain::outcomes::{
    format_rate_limits, parse_client_report, reason, Category, Outcome, RateLimit, RateLimitScope,
};
use crate::store::{now_ms, NewEvent};

use super::admission::Admitted;
use super::error::IngestError;
use super::Ingest;

/// How long SDKs hold back what is not stored. Relay caps the limits it reports at 300 s by default
/// (`max_rate_limit`); every answer repeats the announcement, so a longer value would only make a future
/// version that stores these categories wait longer to receive them.
const NOT_STORED_RETRY_AFTER_SECS: u64 = 300;

/// `300:transaction;span;…:organization:not_stored`: every category but errors.
pub static NOT_STORED_ANNOUNCEMENT: LazyLock<HeaderValue> = LazyLock::new(|| {
    let limit = RateLimit {
        retry_after_secs: NOT_STORED_RETRY_AFTER_SECS,
        categories: Category::ALL
            .into_iter()
            .filter(|c| !c.is_stored() && *c != Category::Internal)
            .collect(),
        scope: RateLimitScope::Organization,
        reason: reason::NOT_STORED,
    };
    HeaderValue::from_str(&format_rate_limits(&[limit])).expect("category names are header-safe")
});

/// The not-stored announcement, with `limit` (the project's attachment quota) after it when there is one.
pub fn announcement(limit: Option<RateLimit>) -> HeaderValue {
    let Some(limit) = limit else {
        return NOT_STORED_ANNOUNCEMENT.clone();
    };
    let announced = NOT_STORED_ANNOUNCEMENT.to_str().unwrap_or_default();
    let value = format!("{announced}, {}", format_rate_limits(&[limit]));
    HeaderValue::from_str(&value).unwrap_or_else(|_| NOT_STORED_ANNOUNCEMENT.clone())
}

pub fn origin(request: &Admitted) -> Origin {
    Origin {
        project_id: request.project_id,
        key_id: request.auth.key_id,
        at_ms: now_ms(),
    }
}

/// Counts every item but the one processed (the first of type `processed`: `event` or `transaction`):
/// `client_report` lines as the client's own drops, items of categories not stored as filtered, and further
/// events or transactions beside the processed one (the protocol allows one per envelope) as invalid
/// (`duplicate_item`, Relay's reason). Never fails: a bad report is skipped.
pub fn count_items(ingest: &Ingest, origin: Origin, envelope: &Envelope, processed: Option<&str>) {
    let mut processed_seen = false;
    for item in &envelope.items {
        if item.ty == "client_report" {
            count_client_report(ingest, origin, &item.payload);
            continue;
        }
        // Release health, feedback and attachments count their own items.
        if super::sessions::is_session_item(&item.ty)
            || super::feedback::is_feedback_item(&item.ty)
            || super::attachments::is_attachment_item(&item.ty)
        {
            continue;
        }
        // Every `span` item of an envelope is processed (one span each in version 1 of the protocol).
        if Some(item.ty.as_str()) == processed && (!processed_seen || item.ty == "span") {
            processed_seen = true;
            continue;
        }
        let Some(category) = Category::of_item(&item.ty) else {
            continue;
        };
        // OpenTelemetry spans share the `span` category but are not read.
        let read = !matches!(item.ty.as_str(), "otel_span" | "otel_traces_data");
        if category.is_stored() && read {
            record(ingest, origin, category, Outcome::Invalid, reason::DUPLICATE_ITEM, 1);
            continue;
        }
        record(ingest, origin, category, Outcome::Filtered, reason::NOT_STORED, 1);
    }
}

fn count_client_report(ingest: &Ingest, origin: Origin, payload: &[u8]) {
    match parse_client_report(payload) {
        Ok(lines) => {
            for line in lines {
                let (category, quantity) = (line.category, line.quantity);
                record(ingest, origin, category, Outcome::ClientDiscard, &line.reason, quantity);
            }
        }
        Err(error) => tracing::debug!(%error, "client report skipped"),
    }
}

/// What is counted of an event once the writer has it: its category.
#[derive(Debug, Clone, Copy)]
pub struct Counted {
    category: Category,
}

impl Counted {
    /// Message events count as `default`, exceptions as `error` (Sentry's categories).
    pub fn of(event: &NewEvent) -> Counted {
        let category = if event.issue_type == "default" {
            Category::Default
        } else {
            Category::Error
        };
        Counted { category }
    }
}

/// An event committed (or found already stored).
pub fn count_stored(ingest: &Ingest, origin: Origin, counted: Counted, duplicate: bool) {
    let category = counted.category;
    if duplicate {
        ingest
            .outcomes
            .record(origin, category, Outcome::Filtered, "duplicate", 1);
    } else {
        record(ingest, origin, category, Outcome::Accepted, "", 1);
    }
}

/// An event or transaction (`category`) refused after admission: too large or unreadable (invalid), or no
/// room (rate limited).
pub fn count_refused(ingest: &Ingest, origin: Origin, category: Category, error: &IngestError) {
    let (outcome, why) = match error {
        IngestError::EventTooLarge { .. }
        | IngestError::BodyTooLarge { .. }
        | IngestError::AttachmentTooLarge { .. } => (Outcome::Invalid, reason::TOO_LARGE),
        IngestError::InvalidEvent(_) | IngestError::Envelope(_) | IngestError::Decode(_) => {
            (Outcome::Invalid, reason::INVALID_EVENT)
        }
        IngestError::QueueFull { .. } | IngestError::Busy { .. } => (Outcome::RateLimited, reason::QUEUE_FULL),
        IngestError::KeyRateLimited { .. } => (Outcome::RateLimited, reason::KEY_QUOTA),
        IngestError::ProjectRateLimited { reason, .. } => (Outcome::RateLimited, *reason),
        _ => return,
    };
    record(ingest, origin, category, outcome, why, 1);
}

/// Counts an outcome for the Stats page and `stats_v2`, and in `faultline_outcomes_total`.
pub fn record(ingest: &Ingest, origin: Origin, category: Category, outcome: Outcome, why: &str, quantity: u64) {
    ingest
        .metrics
        .outcomes
        .with_label_values(&[category.as_str(), outcome.as_str()])
        .inc_by(quantity);
    ingest.outcomes.record(origin, category, outcome, why, quantity);
}
