//! What became of what SDKs send: each item's data category (Sentry's rate-limit categories, protocol
//! §4.5), the outcome it had here (accepted, filtered, rate limited, invalid, or discarded by the client
//! itself, as its `client_report` says), and the `X-Sentry-Rate-Limits` header that tells SDKs to stop
//! sending what this server does not store (§6.2).

mod client_report;
mod rate_limits;
mod stats;

#[cfg(test)]
mod tests;

use std::fmt;

pub use client_report::{parse_client_report, ClientReportError, Discarded};
pub use rate_limits::{format_rate_limits, RateLimit, RateLimitScope};
pub use stats::{group_sums, GroupBy, OutcomeStats, StatsGroup, SumRow};

/// A data category as SDKs and Sentry's stats name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    Default,
    Error,
    Security,
    Transaction,
    Span,
    Attachment,
    AttachmentItem,
    Session,
    Monitor,
    Feedback,
    UserReport,
    Profile,
    ProfileChunk,
    Replay,
    LogItem,
    LogByte,
    TraceMetric,
    MetricBucket,
    Internal,
}

impl Category {
    pub const ALL: [Category; 19] = [
        Category::Default,
        Category::Error,
        Category::Security,
        Category::Transaction,
        Category::Span,
        Category::Attachment,
        Category::AttachmentItem,
        Category::Session,
        Category::Monitor,
        Category::Feedback,
        Category::UserReport,
        Category::Profile,
        Category::ProfileChunk,
        Category::Replay,
        Category::LogItem,
        Category::LogByte,
        Category::TraceMetric,
        Category::MetricBucket,
        Category::Internal,
    ];

    /// The categories this server stores today: errors (and message events, `default`), transactions and
    /// spans (rolled up as the transactions they stand for), sessions, cron check-ins, feedback and
    /// attachments (bytes and items). Everything else an SDK may send is announced as not stored.
    pub const STORED: [Category; 10] = [
        Category::Default,
        Category::Error,
        Category::Transaction,
        Category::Span,
        Category::Session,
        Category::Monitor,
        Category::Feedback,
        Category::UserReport,
        Category::Attachment,
        Category::AttachmentItem,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Default => "default",
            Category::Error => "error",
            Category::Security => "security",
            Category::Transaction => "transaction",
            Category::Span => "span",
            Category::Attachment => "attachment",
            Category::AttachmentItem => "attachment_item",
            Category::Session => "session",
            Category::Monitor => "monitor",
            Category::Feedback => "feedback",
            Category::UserReport => "user_report_v2",
            Category::Profile => "profile",
            Category::ProfileChunk => "profile_chunk",
            Category::Replay => "replay",
            Category::LogItem => "log_item",
            Category::LogByte => "log_byte",
            Category::TraceMetric => "trace_metric",
            Category::MetricBucket => "metric_bucket",
            Category::Internal => "internal",
        }
    }

    /// The category a client report names; unknown names are `None` (a newer SDK's category).
    pub fn parse(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The category an envelope item counts in (§4.5); `None` for `client_report` (never limited or
    /// counted) and for item types nobody knows.
    pub fn of_item(item_type: &str) -> Option<Category> {
        Some(match item_type {
            "event" => Category::Error,
            "transaction" => Category::Transaction,
            "span" | "otel_span" | "otel_traces_data" => Category::Span,
            "attachment" => Category::Attachment,
            "session" | "sessions" => Category::Session,
            "check_in" => Category::Monitor,
            "feedback" => Category::Feedback,
            "user_report" => Category::UserReport,
            "profile" => Category::Profile,
            "profile_chunk" => Category::ProfileChunk,
            "replay_event" | "replay_recording" | "replay_video" => Category::Replay,
            "log" | "otel_log" => Category::LogItem,
            "trace_metric" => Category::TraceMetric,
            "statsd" | "metric_buckets" => Category::MetricBucket,
            "security" | "raw_security" | "nel" => Category::Security,
            _ => return None,
        })
    }

    pub fn is_stored(self) -> bool {
        Category::STORED.contains(&self)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What became of an item, as Sentry's stats name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    Accepted,
    Filtered,
    RateLimited,
    Invalid,
    /// Dropped by the SDK before sending, as its client report says.
    ClientDiscard,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Accepted,
        Outcome::Filtered,
        Outcome::RateLimited,
        Outcome::Invalid,
        Outcome::ClientDiscard,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Filtered => "filtered",
            Outcome::RateLimited => "rate_limited",
            Outcome::Invalid => "invalid",
            Outcome::ClientDiscard => "client_discard",
        }
    }

    pub fn parse(name: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == name)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an item was not stored: a short, bounded code (it is a counter's label).
pub mod reason {
    /// The server does not store this category (yet); announced with `X-Sentry-Rate-Limits`.
    pub const NOT_STORED: &str = "not_stored";
    /// A second event or transaction in one envelope, beside the one processed (Relay's reason).
    pub const DUPLICATE_ITEM: &str = "duplicate_item";
    /// The writer queue was full (429).
    pub const QUEUE_FULL: &str = "queue_full";
    /// The event item was larger than the limit (413).
    pub const TOO_LARGE: &str = "too_large";
    /// The event could not be read as an event (400).
    pub const INVALID_EVENT: &str = "invalid_event";
    /// A client key's rate limit is spent (429; Sentry's reason code).
    pub const KEY_QUOTA: &str = "key_quota";
    /// A project's daily quota is spent (429; Sentry's reason code).
    pub const PROJECT_QUOTA: &str = "project_quota";
    /// A project far above its usual rate (429; Sentry's reason code).
    pub const SPIKE_PROTECTION: &str = "spike_protection";
    /// A check-in for a monitor that does not exist, without the config to create it.
    pub const UNKNOWN_MONITOR: &str = "unknown_monitor";
    /// The project's attachment storage quota is spent: the attachment is dropped, its event kept.
    pub const ATTACHMENT_QUOTA: &str = "attachment_quota";
    /// Attachments whose event is not stored (none named, or never stored in the project).
    pub const NO_EVENT: &str = "no_event";
}
