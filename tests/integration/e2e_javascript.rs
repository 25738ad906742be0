//! Performance monitoring end to end with the official JavaScript SDKs (tests/e2e/node_app): `@sentry/node`
//! runs a job as a root span with nested spans and captures an error inside it; `@sentry/browser` with
//! `browserTracingIntegration`, bundled with esbuild, sends a pageload transaction with web vitals from
//! headless Chromium. Their transactions appear on the Performance page with their counts, and the error
//! links to its trace.
//!
//! Needs `FAULTLINE_NODE_MODULES`: the `node_modules` folder that `npm ci` made from tests/e2e/node_app's
//! lockfile (`.ci/run` sets it up); skipped, with a message, when it is not set. The browser test also needs
//! chromedriver (see common/browser.rs).

use crate::common;

use std::path::{Path, PathBuf};

use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use common::browser::Browser;
use common::web::PerformanceRow;
use common::{Backend, TestApp};
use faultline::domain::accounts::Role;
use faultline::store::{issues, transaction_bodies};
use serde_json::Value;

const NODE_APP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/node_app");
const PERFORMANCE: &str = "/organizations/default/projects/default/performance/";

/// The installed packages, or `None` (after saying so) when the JavaScript tests are not set up.
fn node_modules(test: &str) -> Option<PathBuf> {
    let Some(modules) = std::env::var_os("FAULTLINE_NODE_MODULES") else {
        eprintln!("FAULTLINE_NODE_MODULES is not set: the {test} end-to-end test is skipped (.ci/run sets it)");
        return None;
    };
    let modules = PathBuf::from(modules);
    for package in ["@sentry/node", "@sentry/node-11", "@sentry/browser", "esbuild"] {
        assert!(
            modules.join(package).is_dir(),
            "FAULTLINE_NODE_MODULES={} lacks {package}: run `npm ci` in tests/e2e/node_app",
            modules.display()
        );
    }
    Some(modules)
}

/// Runs `node tests/e2e/node_app/<script> <args>` with the installed packages; its stdout's last line as JSON.
async fn node(modules: &Path, script: &str, args: &[&str]) -> Value {
    node_with(modules, "@sentry/node", script, args).await
}

/// [`node`] with the Node SDK from `package` (`@sentry/node`, or `@sentry/node-11`: version 11, aliased).
async fn node_with(modules: &Path, package: &str, script: &str, args: &[&str]) -> Value {
    let output = tokio::process::Command::new("node")
        .arg(Path::new(NODE_APP).join(script))
        .args(args)
        .env("NODE_PATH", modules)
        .env("SENTRY_NODE_PACKAGE", package)
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{script} failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout.lines().last().map_or(Value::Null, |line| {
        serde_json::from_str(line).unwrap_or(Value::String(line.into()))
    })
}

fn trace_page(trace_id: &str) -> String {
    format!("/organizations/default/projects/default/traces/{trace_id}/")
}

/// Three runs of the Node job: one row of three, one failed; the error's event links to the failed run's
/// trace, whose waterfall has the nested spans and the error on the span it was captured in.
async fn node_spans_are_counted_and_the_error_links_to_its_trace(backend: Backend) {
    three_node_runs(backend, "@sentry/node", "10.").await;
}

/// The same with version 11, which streams its spans (`span` items) instead of sending transactions.
async fn node_11_streamed_spans_show_the_same(backend: Backend) {
    three_node_runs(backend, "@sentry/node-11", "11.").await;
}

async fn three_node_runs(backend: Backend, package: &str, version: &str) {
    let Some(modules) = node_modules(package) else {
        return;
    };
    let app = TestApp::spawn(backend).await;
    let args = ["--dsn", &app.dsn(), "--runs", "3"];
    let sent = node_with(&modules, package, "invoice_batch.cjs", &args).await;
    assert!(sent["sdk"].as_str().is_some_and(|v| v.starts_with(version)), "{sent}");
    let web = app.signed_in("dev@example.com", None, Role::Member).await;
    let rows = web.get(PERFORMANCE).await.expect(200).performance_rows();
    let batch = PerformanceRow {
        name: "invoice-batch".into(),
        op: "queue.task".into(),
        failure_rate: "33.3 %".into(),
        count: 3,
    };
    assert_eq!(rows, vec![batch], "{sent}");

    let (event_id, trace_id) = (sent["error"]["event_id"].as_str(), sent["error"]["trace_id"].as_str());
    let (event_id, trace_id) = (event_id.expect("the error's id"), trace_id.expect("its trace"));
    let issue = issues::list_issues(&app.db, app.project_id).await.unwrap().remove(0);
    assert!(issue.title.starts_with("TypeError"), "{}", issue.title);
    let event_page = format!("/organizations/default/issues/{}/events/{event_id}/", issue.id);
    let link = web.get(&event_page).await.expect(200).trace_link();
    assert_eq!(link, Some(trace_page(trace_id)));
    let trace = web.get(&trace_page(trace_id)).await.expect(200).body;
    assert_eq!(
        trace.matches("<td>invoice-batch</td>").count(),
        1,
        "one run per trace: {trace}"
    );
    let waterfall = &trace[trace.find("id=\"waterfall\"").expect("a waterfall")..];
    let order: Vec<usize> = [
        "invoice-batch",
        "SELECT * FROM customers",
        "render invoices",
        "invoice.html",
    ]
    .iter()
    .map(|span| waterfall.find(span).unwrap_or_else(|| panic!("{span} in {waterfall}")))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    let failed = &waterfall[..waterfall.find("render invoices").unwrap()];
    let failed = &waterfall[failed.rfind("<tr").unwrap()..];
    let failed = &failed[..failed.find("</tr>").unwrap()];
    assert!(failed.contains("has-error") && failed.contains("TypeError"), "{failed}");
    app.stop().await;
}

/// The storefront page (tests/e2e/node_app/browser) and its script bundled by esbuild, served on a free port
/// of 127.0.0.1: another origin than Faultline's, as a real site is.
struct Storefront {
    base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Storefront {
    async fn start(modules: &Path) -> Storefront {
        let out = tempfile::tempdir().unwrap();
        let bundle = out.path().join("bundle.js");
        node(modules, "build.cjs", &[bundle.to_str().unwrap()]).await;
        let script = std::fs::read_to_string(&bundle).expect("the bundle");
        let page = std::fs::read_to_string(Path::new(NODE_APP).join("browser/index.html")).unwrap();
        let router = axum::Router::new()
            .route(
                "/checkout/",
                get(move || async move { ([(CONTENT_TYPE, "text/html")], page) }),
            )
            .route(
                "/bundle.js",
                get(move || async move { ([(CONTENT_TYPE, "text/javascript")], script) }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("the storefront serves");
        });
        Storefront { base, task }
    }
}

impl Drop for Storefront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Opens the storefront in Chromium with the app's DSN and waits until the SDK says Faultline answered its
/// pageload transaction; returns that transaction's trace id. `None` when the test is skipped.
async fn load_storefront(app: &TestApp, test: &str) -> Option<String> {
    let modules = node_modules(test)?;
    let storefront = Storefront::start(&modules).await;
    let browser = Browser::start(&storefront.base).await?;
    let dsn: String = url::form_urlencoded::byte_serialize(app.dsn().as_bytes()).collect();
    browser.open(&format!("/checkout/?dsn={dsn}")).await;
    let sent = browser.find_text("#sent", "sent pageload /checkout/ (200)").await;
    let trace_id = sent.attr("data-trace-id").await.unwrap().expect("the trace id");
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "the page logged errors: {errors:#?}");
    browser.close().await;
    Some(trace_id)
}

/// A pageload in headless Chromium: the transaction arrives with web vitals among its measurements, is kept
/// (the first of its name this hour), and is one row of the Performance page.
async fn a_browser_pageload_arrives_with_web_vitals(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let Some(trace_id) = load_storefront(&app, "@sentry/browser").await else {
        app.stop().await;
        return;
    };
    let kept = transaction_bodies::trace_bodies(&app.db, &[app.project_id], &trace_id, 5)
        .await
        .unwrap();
    assert_eq!(kept.len(), 1, "{kept:?}");
    let measurements = kept[0].json().unwrap()["measurements"].clone();
    // Headless Chromium paints, so it reports the first contentful paint; the time to first byte comes from
    // the navigation timing every page load has. (LCP and CLS depend on the browser's reporting and are
    // not asserted.)
    for vital in ["fcp", "ttfb"] {
        let value = measurements[vital]["value"].as_f64();
        assert!(value.is_some_and(|ms| ms >= 0.0), "{vital} in {measurements}");
    }
    let web = app.signed_in("dev@example.com", None, Role::Member).await;
    let rows = web.get(PERFORMANCE).await.expect(200).performance_rows();
    let pageload = PerformanceRow {
        name: "/checkout/".into(),
        op: "pageload".into(),
        failure_rate: "0.0 %".into(),
        count: 1,
    };
    assert_eq!(rows, vec![pageload]);
    app.stop().await;
}

/// The transaction page's "Web vitals" section shows what the pageload measured. Headless Chromium
/// reliably reports FCP and TTFB; LCP, CLS and INP need more of a real user's session.
async fn the_transaction_page_shows_the_pageload_web_vitals(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    if load_storefront(&app, "@sentry/browser web vitals").await.is_none() {
        app.stop().await;
        return;
    }
    let web = app.signed_in("dev@example.com", None, Role::Member).await;
    let page = web
        .get(&format!("{PERFORMANCE}transaction/?name=%2Fcheckout%2F"))
        .await
        .expect(200)
        .body;
    let vitals = &page[page.find("Web vitals").expect("a web vitals section")..];
    let vitals = &vitals[..vitals.find("</section>").unwrap_or(vitals.len())];
    assert!(vitals.contains("FCP") || vitals.contains("TTFB"), "{vitals}");
    assert!(vitals.chars().any(|c| c.is_ascii_digit()), "with a value: {vitals}");
    app.stop().await;
}

/// The crash-report dialog: the page reports an error and calls the SDK's `showReportDialog`, which loads
/// Faultline's dialog; the user writes what happened and sends it, and the feedback is stored about that
/// event, shown on its issue's page.
async fn the_report_dialog_stores_what_the_user_wrote(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let Some(modules) = node_modules("the report dialog") else {
        app.stop().await;
        return;
    };
    let storefront = Storefront::start(&modules).await;
    let Some(browser) = Browser::start(&storefront.base).await else {
        app.stop().await;
        return;
    };
    let dsn: String = url::form_urlencoded::byte_serialize(app.dsn().as_bytes()).collect();
    browser.open(&format!("/checkout/?dsn={dsn}&report=1")).await;
    browser.find_text("#faultline-report-dialog h2", "having issues").await;
    let name = browser.find("#faultline-report-name").await;
    assert_eq!(
        name.prop("value").await.unwrap().as_deref(),
        Some("Ann Reader"),
        "the user's name is filled in"
    );
    let comments = browser.find("#faultline-report-comments").await;
    comments.send_keys("The <b>pay</b> button did nothing").await.unwrap();
    browser.find("#faultline-report-submit").await.click().await.unwrap();
    browser.find_text("#faultline-report-thanks", "Thank you").await;
    let event_id = browser
        .find("#sent")
        .await
        .attr("data-event-id")
        .await
        .unwrap()
        .expect("the event id");
    browser.close().await;
    let feedback = faultline::store::feedback::for_project(&app.db, app.project_id, 10)
        .await
        .unwrap();
    assert_eq!(feedback.len(), 1, "{feedback:?}");
    assert_eq!(feedback[0].event_id.as_deref(), Some(event_id.as_str()));
    assert_eq!(
        (
            feedback[0].name.as_str(),
            feedback[0].email.as_str(),
            feedback[0].comments.as_str()
        ),
        ("Ann Reader", "ann@example.com", "The <b>pay</b> button did nothing")
    );
    app.stop().await;
}

on_both_databases!(
    the_report_dialog_stores_what_the_user_wrote,
    node_spans_are_counted_and_the_error_links_to_its_trace,
    node_11_streamed_spans_show_the_same,
    a_browser_pageload_arrives_with_web_vitals,
    the_transaction_page_shows_the_pageload_web_vitals,
);
