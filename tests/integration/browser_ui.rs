//! The web UI in a real browser (headless Chromium over WebDriver): a developer signs in, finds the issue
//! that a real SDK event created, opens it, expands its frames, resolves it and sees it leave the
//! unresolved list. Skips when chromedriver is missing unless `FAULTLINE_BROWSER_TESTS=required`.
//!
//! With `FAULTLINE_SCREENSHOTS=DIR` (e.g. `docs/screenshots`) the SQLite run also saves the README's
//! screenshots there.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::browser::Browser;
use common::web::PASSWORD;
use common::{corpus_envelopes, corpus_for, item_envelope, new_event_id, Backend, TestApp};
use fantoccini::Locator;
use faultline::domain::accounts::Role;

const SDK_TITLE: &str = "ParseIntError: invalid digit found in string";
const EMAIL: &str = "dev@example.com";
const KEY_ERROR: &str = "KeyError: 'USD'";

/// The failing code the Rust SDK reports: its frame must show up on the issue page.
fn parse_quantity(text: &str) {
    if let Err(error) = text.parse::<u32>() {
        sentry::capture_error(&error);
    }
}

fn send_with_rust_sdk(dsn: String) {
    let options = sentry::apply_defaults(sentry::ClientOptions {
        dsn: dsn.parse().ok(),
        release: Some("checkout@2.0.0".into()),
        environment: Some("production".into()),
        attach_stacktrace: true,
        // Marks this test's own frames in-app, so the library frames fold away on the issue page.
        in_app_include: vec!["browser_ui"],
        ..Default::default()
    });
    let client = Arc::new(sentry::Client::from(options));
    let hub = Arc::new(sentry::Hub::new(
        Some(client.clone()),
        Arc::new(sentry::Scope::default()),
    ));
    sentry::Hub::run(hub, || parse_quantity("seven"));
    assert!(
        client.flush(Some(Duration::from_secs(10))),
        "the SDK delivered its event"
    );
}

/// Moves the corpus envelope's event timestamps to `minutes_ago` and its `sent_at` to now (so clock-drift
/// correction leaves them be), keeping their length: the item headers state byte lengths. The list then
/// shows recent activity rather than the day the corpus was made.
fn recent(envelope: &[u8], minutes_ago: i64) -> Vec<u8> {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let now = time::OffsetDateTime::now_utc();
    let sent = now.format(&format).expect("formatted");
    let happened = (now - time::Duration::minutes(minutes_ago))
        .format(&format)
        .expect("formatted");
    let pattern = regex::Regex::new(r#""(timestamp|sent_at)":( ?")\d{4}-\d\d-\d\dT\d\d:\d\d"#).unwrap();
    let text = String::from_utf8(envelope.to_vec()).expect("corpus is UTF-8");
    let moved = pattern.replace_all(&text, |found: &regex::Captures| {
        let stamp = if &found[1] == "sent_at" { &sent } else { &happened };
        format!("\"{}\":{}{stamp}", &found[1], &found[2])
    });
    moved.into_owned().into_bytes()
}

/// A few realistic issues beside the SDK's, spread over the last hours.
async fn send_corpus(app: &TestApp) {
    for (i, (name, body)) in corpus_envelopes().into_iter().enumerate() {
        let body = recent(&corpus_for(app, &body), (i as i64 * 47) % (20 * 60));
        let answer = app.post_envelope(body).await;
        assert_eq!(answer.status(), 200, "{name} accepted");
    }
}

fn screenshot_dir(backend: &Backend) -> Option<PathBuf> {
    let dir = std::env::var_os("FAULTLINE_SCREENSHOTS")?;
    matches!(backend, Backend::Sqlite).then(|| PathBuf::from(dir))
}

async fn sign_in_resolve_and_see_it_leave(backend: Backend) {
    let shots = screenshot_dir(&backend);
    let app = TestApp::spawn(backend).await;
    let Some(browser) = Browser::start(&app.url("")).await else {
        app.stop().await;
        return;
    };
    app.user(EMAIL, None, Role::Member).await;
    send_corpus(&app).await;
    let dsn = app.dsn();
    tokio::task::spawn_blocking(move || send_with_rust_sdk(dsn))
        .await
        .unwrap();

    sign_in(&browser).await;
    open_issue_list(&browser).await;
    if let Some(dir) = &shots {
        browser.screenshot(dir, "issue-list.png", 1280, 900).await;
        browser.screenshot(dir, "issue-list-phone.png", 390, 844).await;
        browser.set_viewport(1280, 900).await;
    }
    python_frame_source(&browser, shots.as_deref()).await;
    sdk_issue_frames_and_resolve(&browser).await;
    bulk_resolve(&browser, KEY_ERROR).await;
    hostile_event_stays_text(&app, &browser).await;
    alert_pages(&browser, shots.as_deref()).await;
    monitor_list(&app, &browser).await;

    // Both left the unresolved list and are listed under Resolved.
    browser.open("/organizations/default/issues/").await;
    browser.find_text(".issue-title", "ZeroDivisionError").await;
    browser.wait_gone(".issue-title", SDK_TITLE).await;
    browser.wait_gone(".issue-title", KEY_ERROR).await;
    browser.find_text("nav.tabs a", "Resolved").await.click().await.unwrap();
    browser.find_text("nav.tabs a[aria-current=page]", "Resolved").await;
    browser.find_text(".issue-title", SDK_TITLE).await;
    browser.find_text(".issue-title", KEY_ERROR).await;
    browser.wait_gone(".issue-title", "ZeroDivisionError").await;

    let errors = browser.console_errors().await;
    assert!(
        errors.is_empty(),
        "the pages logged errors (CSP violations, script errors): {errors:#?}"
    );
    browser.close().await;
    app.stop().await;
}

/// An event with markup and `javascript:` in every field: its pages load, show the markup as text, and
/// run none of it (no dialog, the title untouched; CSP violations would show in the console check).
async fn hostile_event_stays_text(app: &TestApp, browser: &Browser) {
    let answer = app
        .post_envelope(common::envelope(
            &common::new_event_id(),
            &common::hostile::hostile_event(),
        ))
        .await;
    assert_eq!(answer.status(), 200);
    browser.open("/organizations/default/issues/?query=alert").await;
    let row = browser
        .find_text(".issue-title", "\"><iframe src=javascript:alert(4)>")
        .await;
    row.click().await.unwrap();
    browser.find_text("h1", "\"><iframe src=javascript:alert(4)>").await;
    browser.find_text("body", "<img src=x onerror=alert(2)>").await;
    browser.find_text("body", "javascript:alert(7)").await;
    assert!(!browser.dialog_is_open().await, "a payload opened a dialog");
    assert!(
        browser.title().await.ends_with("· Faultline"),
        "{}",
        browser.title().await
    );
}

/// The project's alert rules, its delivery log (the default rule would mail the members about the new
/// issues; this server has no SMTP server, so those deliveries are skipped with that reason) and the
/// channels, where the members channel shows as not configured.
async fn alert_pages(browser: &Browser, shots: Option<&Path>) {
    browser.open("/organizations/default/projects/default/alerts/").await;
    browser.find_text("table.grid td", "New or regressed issue").await;
    browser.find_text("table.grid td", "Email to project members").await;
    if let Some(dir) = shots {
        browser.screenshot(dir, "alert-rules.png", 1280, 700).await;
    }
    browser
        .open("/organizations/default/projects/default/alerts/deliveries/")
        .await;
    browser
        .find_text("table.grid td", "FAULTLINE_SMTP_HOST is not set")
        .await;
    browser.find_text(".status-pill", "skipped").await;
    if let Some(dir) = shots {
        browser.screenshot(dir, "alert-deliveries.png", 1280, 700).await;
    }
    browser.open("/organizations/default/settings/channels/").await;
    browser.find_text("td", "Email to project members").await;
    browser.find_text(".status-pill", "not configured").await;
}

/// A monitor made by an SDK's check-in shows in the project's monitor list with its run in the timeline (the
/// console check at the end catches a style the CSP would block).
async fn monitor_list(app: &TestApp, browser: &Browser) {
    let check_in = serde_json::json!({"check_in_id": new_event_id(), "monitor_slug": "nightly-backup",
        "status": "ok", "monitor_config": {"schedule": {"type": "crontab", "value": "0 3 * * *"}}});
    let sent = app
        .post_envelope(item_envelope("check_in", &new_event_id(), &check_in))
        .await;
    assert_eq!(sent.status(), 200);
    browser.open("/organizations/default/projects/default/monitors/").await;
    browser.find_text(".monitor-row a", "nightly-backup").await;
    browser.find(".badge.health-ok").await;
    browser.find(".run-timeline .run-ok").await;
}

/// Signs in through the form, typing into the labelled fields, and lands on the projects overview.
async fn sign_in(browser: &Browser) {
    browser.open("/login").await;
    browser.find_text("label[for=email]", "E-mail").await;
    browser.find_text("label[for=password]", "Password").await;
    browser.find("#email").await.send_keys(EMAIL).await.unwrap();
    browser.find("#password").await.send_keys(PASSWORD).await.unwrap();
    browser
        .find_text("form button[type=submit]", "Sign in")
        .await
        .click()
        .await
        .unwrap();
    browser.wait_for_path("/organizations/default/").await;
    browser.find_text("h1", "Projects").await;
}

/// From the overview's project card to that project's unresolved issues.
async fn open_issue_list(browser: &Browser) {
    browser.find_text(".project", "unresolved").await;
    browser
        .find_text(".project h2 a", "Default")
        .await
        .click()
        .await
        .unwrap();
    browser.wait_for_path("/organizations/default/issues/").await;
    browser.find_text("h1", "Issues").await;
    browser.find_text("nav.tabs a[aria-current=page]", "Unresolved").await;
    browser.find_text(".issue-title", SDK_TITLE).await;
    browser.find_text(".issue-title", "ZeroDivisionError").await;
}

/// A Python issue's in-app frame shows its source with the failing line marked, and its local variables.
async fn python_frame_source(browser: &Browser, shots: Option<&Path>) {
    browser
        .find_text(".issue-title", "ZeroDivisionError")
        .await
        .click()
        .await
        .unwrap();
    browser.find_text("h1", "ZeroDivisionError: division by zero").await;
    browser
        .find_text(".frame.in-app .line.hl", "return total / count")
        .await;
    browser.find_text(".frame.in-app .vars dt", "count").await;
    if let Some(dir) = shots {
        browser.screenshot(dir, "issue-detail.png", 1280, 900).await;
    }
    browser.client.back().await.unwrap();
    browser.find_text(".issue-title", SDK_TITLE).await;
}

/// The Rust SDK's issue: its in-app frame is shown, library frames unfold behind "Show all frames" and
/// open when clicked, and Resolve resolves.
async fn sdk_issue_frames_and_resolve(browser: &Browser) {
    browser
        .find_text(".issue-title", SDK_TITLE)
        .await
        .click()
        .await
        .unwrap();
    browser.find_text("h1", SDK_TITLE).await;
    browser.find_text(".frame.in-app summary .fn", "parse_quantity").await;
    browser.wait_gone(".frame.lib-frame", "").await;
    let toggle = browser
        .find_text("button[data-toggle=lib-frame]", "Show all frames")
        .await;
    assert_eq!(toggle.attr("aria-expanded").await.unwrap().as_deref(), Some("false"));
    toggle.click().await.unwrap();
    let library = browser.find_text(".frame.lib-frame summary", "library").await;
    assert_eq!(toggle.attr("aria-expanded").await.unwrap().as_deref(), Some("true"));
    browser
        .find_text("button[data-toggle=lib-frame]", "Show only in-app frames")
        .await;
    library.click().await.unwrap();
    browser.find_text(".frame.lib-frame details[open]", "").await;

    browser
        .find_text(".issue-actions button[value=resolve]", "Resolve")
        .await
        .click()
        .await
        .unwrap();
    browser.find_text(".status-pill", "resolved").await;
    browser
        .find_text(".issue-actions button[value=unresolve]", "Reopen")
        .await;
}

/// Ticks an issue's checkbox in the list and presses the list's Resolve button.
async fn bulk_resolve(browser: &Browser, title: &str) {
    browser.open("/organizations/default/issues/").await;
    let row = browser.find_text(".issue-row", title).await;
    row.find(Locator::Css("input.issue-ids"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .find_text(".bulk-bar button[value=resolve]", "Resolve")
        .await
        .click()
        .await
        .unwrap();
    browser.wait_gone(".issue-title", title).await;
}

on_both_databases!(sign_in_resolve_and_see_it_leave);
