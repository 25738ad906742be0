//! Performance monitoring's rules: what a transaction event is made of, the names it is rolled up under,
//! its duration histogram, and how a batch of them folds into per-minute rollups.

pub mod histogram;
pub mod name;
pub mod rollup;
pub mod transaction;

pub use rollup::{Rollup, RollupKey};
pub use transaction::{read_transaction, Span, Transaction, TransactionError};
