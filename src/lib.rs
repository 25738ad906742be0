//! Faultline: a self-hosted, Sentry-compatible error tracker.
//!
//! The layers (see `docs/architecture.md`): [`domain`] holds the pure rules; [`store`] is the only place with
//! SQL, one query text for SQLite and Postgres; [`core`] holds the use cases, one module per aggregate, each
//! checking the caller's [`core::Access`] and failing with one [`core::CoreError`]; the edges ([`ingest`],
//! [`web`], [`api`], [`cli`], [`worker`]) call `core` and never each other; [`app`] builds it all.
//!
//! An error event's path from the SDK to the issue page:
//!
//! 1. An unmodified Sentry SDK posts to `/api/{project_id}/envelope/` (or the legacy `store/`).
//!    [`connections`] accepts the connection under its caps; [`ingest`]'s admission checks, before reading
//!    the body, that writes succeed ([`health`]), the project id, room in the writer queue and the key
//!    ([`core::KeyCache`]); the body is read under the memory budget ([`request_body`]) and decoded with a
//!    decompressed-size cap ([`ingest::decode`]), and the envelope is framed ([`domain::envelope`]).
//! 2. [`core::events`] prepares the event item: parsed leniently and normalized into the one typed event
//!    ([`domain::normalize`], [`domain::event`]), scrubbed ([`domain::scrub`]), fingerprinted
//!    ([`domain::grouping`]), titled ([`domain::title`]); its tags, its own and the derived ones
//!    ([`domain::tags`]), become the searchable facets. All of this is CPU work in the request task.
//! 3. The handler queues the prepared event for the writer ([`ingest::writer`]) and waits. The writer commits
//!    whatever is waiting in one transaction ([`store::record_batch_alerting`]): issues upserted per
//!    fingerprint with their lifecycle ([`domain::lifecycle`]: regressions, un-ignoring), events inserted once
//!    per id, tag, hour and user counters bumped, and the alert rules ([`core::RuleCache`], [`domain::alerts`])
//!    evaluated into the outbox. Only after the commit does the SDK get its `200 {"id": …}`; a full queue
//!    answers 429 with `Retry-After`.
//! 4. The writer wakes the outbox loop ([`worker`]), which sends each delivery through [`notify`]. Metric alerts
//!    (a transaction's p95 or failure rate, [`core::metric_alerts`]) are evaluated over the transaction rollups
//!    by a worker of their own and go out through the same outbox.
//! 5. The issue list ([`web`], and [`api`] for tools) searches with [`domain::search`]; the issue page reads
//!    the event back as the same typed event ([`store::events::decode_payload`]) and shapes it for its
//!    template. Resolving, ignoring or deleting the issue goes through [`core::issues`].
//! 6. [`ops`] serves `/healthz`, `/readyz` and `/metrics`; [`telemetry`] sets up logs and metrics.

// The walk above names private modules too: read it with `cargo doc --document-private-items`.
#![allow(rustdoc::private_intra_doc_links)]

// The library's API is what the binaries and the integration tests use: the domain, the store, the use
// cases, the command line and its tools, the workers and the configuration. The edges that only the
// server runs (web pages, the Sentry API, ingest) and its plumbing are private to the crate.
pub(crate) mod api;
pub(crate) mod app;
pub(crate) mod bench_rules;
pub mod cli;
pub mod config;
pub mod connections;
pub mod core;
pub mod corpus;
pub mod domain;
pub(crate) mod health;
pub(crate) mod ingest;
pub mod notify;
pub(crate) mod ops;
pub(crate) mod request_body;
pub mod seed;
pub mod store;
pub mod telemetry;
pub(crate) mod web;
pub mod worker;

pub use app::App;

/// Runs the server until SIGTERM or Ctrl-C, then drains and exits.
pub async fn serve(config: &config::Config) -> anyhow::Result<()> {
    if config.public_url_setting.is_none() {
        tracing::warn!(
            "FAULTLINE_URL is not set; DSNs and the links in alert messages will point at {}",
            config.public_url
        );
    }
    if config.smtp_host.is_none() {
        // Once per process: the delivery log shows each skipped e-mail, the log need not repeat it per issue.
        tracing::warn!(
            "e-mail alerts are off: FAULTLINE_SMTP_HOST is not set; deliveries to e-mail channels without their \
             own SMTP host (such as the built-in \"Email to project members\") are recorded as skipped in the \
             delivery log"
        );
    }
    let app = App::build(config).await?;
    // On every start, not only the first: the DSN is what a newcomer needs next.
    if let Some(dsn) = core::projects::default_project_dsn(app.db(), &config.public_url).await? {
        println!("Faultline is ready. Send events to the default project with this DSN:\n\n    {dsn}\n");
    }
    tracing::info!(
        address = %app.local_addr(),
        database = %config.redacted_database_url(),
        "faultline listening"
    );
    app.run(app::shutdown_signal()).await
}
