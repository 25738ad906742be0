//! Pure product logic, no I/O: the event model and its normalization, scrubbing, grouping,
//! titles and culprits, short ids and the issue lifecycle. Everything here is unit-tested.

pub mod accounts;
pub mod alerts;
pub mod artifacts;
pub mod attachments;
pub mod auth;
pub mod chunking;
pub mod compaction;
pub mod discover;
pub mod envelope;
pub mod event;
pub mod feedback;
pub mod filters;
pub mod grouping;
pub mod ids;
pub mod issue_category;
pub mod lifecycle;
pub mod limits;
pub mod monitors;
pub mod normalize;
pub mod outcomes;
pub mod performance;
pub mod period;
pub mod project;
pub mod quotas;
pub mod release_commits;
pub mod release_health;
pub mod scrub;
pub mod search;
pub mod session_query;
pub mod short_id;
pub mod sign_in_throttle;
pub mod size;
pub mod source_maps;
pub mod storage;
pub mod tags;
pub mod time;
pub mod title;

pub use ids::{AttachmentId, ChannelId, EventId, IssueId, MonitorId, OrganizationId, ProjectId, RuleId, UserId};
pub use time::Timestamp;
