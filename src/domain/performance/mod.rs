//! Performance monitoring's rules: what a transaction event is made of, the names it is rolled up under,
//! its duration histogram, how a batch of them folds into per-minute rollups, and the performance
//! problems (N+1 queries, slow queries) found in one.

pub mod detectors;
pub mod evidence;
pub mod histogram;
pub mod name;
pub mod query;
pub mod rollup;
pub mod transaction;

pub use rollup::{Rollup, RollupKey};
pub use transaction::{read_transaction, Span, Transaction, TransactionError};
