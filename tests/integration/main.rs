//! Every integration test in one binary, so that the crate is linked once for all of them. Each module
//! is one area (its file's doc says what it covers); `common` is the shared harness: a fresh database per
//! test on SQLite and Postgres, the real app on a free port, real SMTP and HTTP peers, the browser.

// Tests read their own switches from the environment (DATABASE_URL, FAULTLINE_BROWSER_TESTS, …), spawn and
// await the peers they start, and make a few libc calls (the effective uid, signals).
#![allow(clippy::disallowed_methods, unsafe_code)]

#[macro_use]
mod common;

mod alert_delivery;
mod api_access;
mod api_alerts;
mod api_discover;
mod api_events;
mod api_issues;
mod api_lifecycle;
mod api_projects;
mod api_release_commits;
mod api_releases;
mod artifact_upload;
mod attachments;
mod bad_input;
mod browser_ui;
mod cli_accounts;
mod core_rules;
mod e2e_bundler_plugins;
mod e2e_javascript;
mod e2e_performance;
mod e2e_python;
mod e2e_rust_sdk;
mod e2e_sentry_cli;
mod e2e_source_maps;
mod email_not_configured;
mod events;
mod hardening;
mod inbound_filters;
mod ingest;
mod issues;
mod key_limits;
mod layers;
mod metric_alerts;
mod metric_alerts_upgrade;
mod monitors;
mod notify_send;
mod ops;
mod outage;
mod outcomes;
mod pagerduty;
mod performance_issues;
mod process;
mod quotas;
mod release_health;
mod retention;
mod rollups;
mod scale_out;
mod seed;
mod span_items;
mod storage_budget;
mod storage_upgrade;
mod store;
mod store_accounts;
mod store_alerts;
mod store_members;
mod store_sessions;
mod transaction_bodies;
mod transaction_page;
mod transactions;
mod user_feedback;
mod web_alerts;
mod web_auth;
mod web_issue_detail;
mod web_issues;
mod web_metric_alerts;
mod web_monitors;
mod web_safety;
mod web_settings;
mod web_vitals;
mod webhook_url_masking;
