//! Performance monitoring's rules: what a transaction event is made of, the names it is rolled up under,
//! its duration histogram, how a batch of them folds into per-minute rollups, the performance problems
//! (N+1 queries, slow queries) found in one and how often their occurrences are stored (`occurrences`),
//! which bodies are kept (`sampling`), how a trace's spans are laid out as a waterfall, the web vitals of
//! page loads (`vitals`) and the periods the pages show (`window`).

pub mod detectors;
pub mod evidence;
pub mod histogram;
pub mod name;
pub mod occurrences;
pub mod query;
pub mod rollup;
pub mod sampling;
pub mod span_items;
pub mod trace;
pub mod transaction;
pub mod vitals;
pub mod waterfall;
pub mod window;

pub use rollup::{fold_before, Rollup, RollupKey, FOLD_AFTER_MS, HOUR_MS};
pub use sampling::{KeepReasons, SamplingRules};
pub use trace::parse_trace_id;
pub use transaction::{read_transaction, Span, Transaction, TransactionError};
