//! Background loops. The notifier delivers alert messages from the outbox the writer fills; the outcome
//! flusher writes ingest's outcome counts.

pub mod notifier;
pub mod outcomes;

pub use notifier::{run_notifier, NotifierSettings};
pub use outcomes::run_outcome_flusher;
