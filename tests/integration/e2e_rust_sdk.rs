//! End to end with the official Rust SDK (`sentry` crate): real envelopes over HTTP, captured from two
//! different lines of the same function, land in one issue with the expected title and count.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::{Backend, TestApp};
use faultline::store::issues;

/// Parses a quantity; both call sites report a failure, from different lines.
fn parse_quantity(text: &str, from_second_site: bool) {
    let error = text.parse::<u32>().unwrap_err();
    if from_second_site {
        sentry::capture_error(&error);
    } else {
        let _id = sentry::capture_error(&error);
    }
}

fn send_with_rust_sdk(dsn: String) {
    let options = sentry::ClientOptions {
        release: Some("checkout@2.0.0".into()),
        environment: Some("e2e".into()),
        attach_stacktrace: true,
        ..Default::default()
    };
    // apply_defaults adds the default HTTP transport and integrations, as `sentry::init` would.
    let options = sentry::apply_defaults(sentry::ClientOptions {
        dsn: dsn.parse().ok(),
        ..options
    });
    let client = Arc::new(sentry::Client::from(options));
    let hub = Arc::new(sentry::Hub::new(
        Some(client.clone()),
        Arc::new(sentry::Scope::default()),
    ));
    sentry::Hub::run(hub, || {
        sentry::configure_scope(|scope| {
            scope.set_user(Some(sentry::User {
                id: Some("7".into()),
                ..Default::default()
            }))
        });
        parse_quantity("seven", false);
        parse_quantity("eight", true);
    });
    assert!(
        client.flush(Some(Duration::from_secs(10))),
        "the SDK delivered its events"
    );
}

async fn rust_sdk_errors_from_two_lines_share_one_issue(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let dsn = app.dsn();
    tokio::task::spawn_blocking(move || send_with_rust_sdk(dsn))
        .await
        .unwrap();
    let listed = issues::list_issues(&app.db, app.project_id).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:#?}");
    let issue = &listed[0];
    assert_eq!(issue.title, "ParseIntError: invalid digit found in string");
    assert!(
        issue.culprit.contains("parse_quantity"),
        "culprit names the failing function: {}",
        issue.culprit
    );
    assert_eq!(issue.times_seen, 2);
    assert_eq!(issue.user_count, 1);
    assert_eq!(issue.last_release.as_deref(), Some("checkout@2.0.0"));
    app.stop().await;
}

on_both_databases!(rust_sdk_errors_from_two_lines_share_one_issue);
