//! Faultline's records in the JSON shapes of Sentry's web API (protocol §11.2–§11.4). Pure functions:
//! handlers load the records, these shape them.

pub mod alerts;
mod entries;
pub mod event;
pub mod issue;
pub mod organization;
pub mod release;
pub mod time;
