//! Background loops. The notifier delivers alert messages from the outbox the writer (and the metric
//! evaluator) fills; the metric evaluator checks metric alert rules; the outcome flusher writes ingest's
//! outcome counts; retention expires old events;
//! the monitor clock marks missed and timed-out check-ins;
//! the disk watch stops ingest before the database's disk is full; the checkpointer keeps SQLite's
//! write-ahead log short; the limit sync shares rate-limit counts; the change feed hears the settings other
//! processes changed.

pub mod change_feed;
pub mod checkpoint;
pub mod disk;
pub mod limits;
pub mod metric_alerts;
mod metric_message;
pub mod monitor_clock;
pub mod notifier;
pub mod outcomes;
pub mod retention;

pub use change_feed::run_change_feed;
pub use checkpoint::run_wal_checkpoints;
pub use disk::run_disk_watch;
pub use limits::run_limit_sync;
pub use metric_alerts::{run_metric_alerts, MetricAlertSettings};
pub use monitor_clock::{run_monitor_clock, MonitorClockSettings};
pub use notifier::{run_notifier, NotifierSettings};
pub use outcomes::run_outcome_flusher;
pub use retention::{run_retention, RetentionSettings};
