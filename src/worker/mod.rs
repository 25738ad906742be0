//! Background loops. The notifier delivers alert messages from the outbox the writer fills.

pub mod notifier;

pub use notifier::{run_notifier, NotifierSettings};
