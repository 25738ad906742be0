//! Source maps end to end, as a site with a minified front end uses them: esbuild bundles the shop's script
//! with `@sentry/browser` (tests/e2e/node_app/build_shop.cjs), the real sentry-cli injects debug ids and
//! uploads the bundle and its map, headless Chromium runs the page, and the SDK reports the error the
//! checkout raises. The issue shows the original function, file and line with its source; a rebuild whose
//! minified names differ lands in the same issue; a build that uploads through `@sentry/esbuild-plugin` is
//! mapped too; an error that arrives before its build's maps says why its frames stayed minified, and is read
//! in its source (on its page and in the event API) once the maps are uploaded the legacy way (release and
//! URL), which also maps the next error at ingest.
//!
//! Needs `FAULTLINE_NODE_MODULES`, `FAULTLINE_SENTRY_CLI` and chromedriver (`.ci/run` sets them up); skipped
//! with a message otherwise.

use crate::common;

use std::path::{Path, PathBuf};

use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use common::api::Token;
use common::browser::Browser;
use common::{Backend, TestApp};
use faultline::domain::accounts::Role;
use serde_json::Value;

const NODE_APP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/node_app");

pub(crate) struct Tools {
    pub(crate) modules: PathBuf,
    pub(crate) sentry_cli: String,
}

fn tools() -> Option<Tools> {
    let (Some(modules), Ok(sentry_cli)) = (
        std::env::var_os("FAULTLINE_NODE_MODULES"),
        std::env::var("FAULTLINE_SENTRY_CLI"),
    ) else {
        eprintln!("FAULTLINE_NODE_MODULES or FAULTLINE_SENTRY_CLI is not set: the source map test is skipped");
        return None;
    };
    Some(Tools {
        modules: PathBuf::from(modules),
        sentry_cli,
    })
}

/// Builds the shop's bundle into `out` (with the extra functions when `extra`).
async fn build(tools: &Tools, out: &Path, extra: bool) {
    build_with(tools, out, if extra { &["--extra"] } else { &[] }, &[]).await;
}

pub(crate) async fn build_with(tools: &Tools, out: &Path, args: &[&str], env: &[(&str, String)]) {
    let output = tokio::process::Command::new("node")
        .arg(Path::new(NODE_APP).join("build_shop.cjs"))
        .arg(out)
        .args(args)
        .env("NODE_PATH", &tools.modules)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .await
        .expect("node runs");
    assert!(
        output.status.success(),
        "build_shop.cjs: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `sentry-cli sourcemaps inject` then `upload` of the folder (found by debug ids), against the app.
pub(crate) async fn inject_and_upload(tools: &Tools, app: &TestApp, token: &str, dir: &Path) {
    let folder = dir.to_str().unwrap();
    sentry_cli(tools, app, token, &["sourcemaps", "inject", folder]).await;
    upload(tools, app, token, dir, &[]).await;
}

/// `sentry-cli sourcemaps upload <dir>` with more arguments.
async fn upload(tools: &Tools, app: &TestApp, token: &str, dir: &Path, more: &[&str]) {
    let mut args = vec!["sourcemaps", "upload"];
    args.extend_from_slice(more);
    args.push(dir.to_str().unwrap());
    sentry_cli(tools, app, token, &args).await;
}

async fn sentry_cli(tools: &Tools, app: &TestApp, token: &str, args: &[&str]) {
    let home = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(&tools.sentry_cli)
        .args(args)
        .current_dir(home.path())
        .env("HOME", home.path())
        .env("SENTRY_URL", format!("http://{}", app.addr))
        .env("SENTRY_AUTH_TOKEN", token)
        .env("SENTRY_ORG", "default")
        .env("SENTRY_PROJECT", "default")
        .env("SENTRY_DISABLE_UPDATE_CHECK", "1")
        .env("SENTRY_LOAD_DOTENV", "0")
        .env("SENTRY_NO_PROGRESS_BAR", "1")
        .env_remove("SENTRY_DSN")
        .output()
        .await
        .expect("sentry-cli runs");
    assert!(
        output.status.success(),
        "sentry-cli {args:?}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Serves the shop page and `dir`'s bundle on a free port; runs it in Chromium; returns the reported event's id.
pub(crate) async fn run_shop(app: &TestApp, dir: &Path) -> Option<String> {
    let page = std::fs::read_to_string(Path::new(NODE_APP).join("browser/shop/shop.html")).unwrap();
    let script = std::fs::read_to_string(dir.join("app.min.js")).unwrap();
    let router = axum::Router::new()
        .route(
            "/shop/",
            get(move || async move { ([(CONTENT_TYPE, "text/html")], page) }),
        )
        .route(
            "/static/app.min.js",
            get(move || async move { ([(CONTENT_TYPE, "text/javascript")], script) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let browser = Browser::start(&base).await?;
    let dsn: String = url::form_urlencoded::byte_serialize(app.dsn().as_bytes()).collect();
    browser.open(&format!("/shop/?dsn={dsn}")).await;
    let sent = browser.find_text("#sent", "sent error (200)").await;
    let event_id = sent.attr("data-event-id").await.unwrap().expect("the event id");
    browser.close().await;
    server.abort();
    Some(event_id.replace('-', ""))
}

pub(crate) async fn event_json(app: &TestApp, token: &Token, event_id: &str) -> Value {
    let path = format!("/api/0/projects/default/default/events/{event_id}/");
    app.get_json(token, &path).await.expect(200)
}

/// The newest frame of the event's exception, as stored.
pub(crate) fn top_frame(event: &Value) -> Value {
    let entries = event["entries"].as_array().expect("entries");
    let exception = entries
        .iter()
        .find(|e| e["type"] == "exception")
        .expect("an exception entry");
    let frames = exception["data"]["values"][0]["stacktrace"]["frames"]
        .as_array()
        .unwrap();
    frames.last().unwrap().clone()
}

/// The frame is the shop's `priceOf` in `cart.js` at line 12, with its source line.
pub(crate) fn assert_is_price_of(frame: &Value) {
    assert_eq!(frame["function"], "priceOf", "{frame}");
    assert!(frame["filename"].as_str().unwrap().ends_with("shop/cart.js"), "{frame}");
    assert_eq!(frame["lineNo"], 12, "{frame}");
    let context = frame["context"].to_string();
    assert!(
        context.contains("throw new Error(`no price for ${item.sku}`);"),
        "{context}"
    );
}

/// Runs the shop built in `out` in Chromium; its error's newest frame is the source's `priceOf`.
pub(crate) async fn assert_shop_error_is_mapped(app: &TestApp, token: &Token, out: &Path) {
    let Some(event_id) = run_shop(app, out).await else {
        return;
    };
    assert_is_price_of(&top_frame(&event_json(app, token, &event_id).await));
}

async fn a_minified_browser_error_is_read_in_its_source_and_a_rebuild_keeps_its_issue(backend: Backend) {
    let Some(tools) = tools() else {
        return;
    };
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let first = tempfile::tempdir().unwrap();
    build(&tools, first.path(), false).await;
    inject_and_upload(&tools, &app, &token.0, first.path()).await;
    let Some(event_id) = run_shop(&app, first.path()).await else {
        app.stop().await;
        return;
    };
    let event = event_json(&app, &token, &event_id).await;
    assert_is_price_of(&top_frame(&event));
    let issue_id = event["groupID"].as_str().unwrap().to_owned();

    // The issue page shows the original frame, with the minified one behind a toggle.
    let owner = app.signed_in("web-owner@example.com", None, Role::Owner).await;
    let issue_page = owner
        .get(&format!("/organizations/default/issues/{issue_id}/"))
        .await
        .expect(200)
        .body;
    assert!(
        issue_page.contains("priceOf") && issue_page.contains("cart.js"),
        "the page names the source"
    );
    assert!(
        issue_page.contains("Minified frames"),
        "the minified frames are one click away"
    );

    // A rebuild renames the minified functions; uploaded too, its error is the same issue.
    let second = tempfile::tempdir().unwrap();
    build(&tools, second.path(), true).await;
    let first_bundle = std::fs::read_to_string(first.path().join("app.min.js")).unwrap();
    let second_bundle = std::fs::read_to_string(second.path().join("app.min.js")).unwrap();
    assert_ne!(first_bundle, second_bundle, "the rebuild differs");
    inject_and_upload(&tools, &app, &token.0, second.path()).await;
    let event_id = run_shop(&app, second.path()).await.unwrap();
    let again = event_json(&app, &token, &event_id).await;
    assert_eq!(
        again["groupID"].as_str().unwrap(),
        issue_id,
        "the same issue after the rebuild"
    );

    // A build that uploads its own maps through `@sentry/esbuild-plugin` (sentry-cli's npm binary inside).
    let plugin = tempfile::tempdir().unwrap();
    let server = [
        ("SENTRY_URL", format!("http://{}", app.addr)),
        ("SENTRY_AUTH_TOKEN", token.0.clone()),
    ];
    build_with(&tools, plugin.path(), &["--extra", "--plugin"], &server).await;
    let plugin_id = run_shop(&app, plugin.path()).await.unwrap();
    let from_plugin = event_json(&app, &token, &plugin_id).await;
    assert_eq!(
        top_frame(&from_plugin)["function"],
        "priceOf",
        "the plugin's upload maps the frames"
    );
    let top = top_frame(&from_plugin);
    assert!(top["filename"].as_str().unwrap().ends_with("shop/cart.js"), "{top}");
    assert_eq!(top["lineNo"], 12, "{top}");

    // A third build, not injected: its error arrives before its maps, so its frames stay minified and say why.
    let third = tempfile::tempdir().unwrap();
    build(&tools, third.path(), true).await;
    let early_id = run_shop(&app, third.path()).await.unwrap();
    let early = event_json(&app, &token, &early_id).await;
    let minified = top_frame(&early);
    assert!(
        minified["filename"].as_str().unwrap().ends_with("/static/app.min.js"),
        "{minified}"
    );
    let why = minified["data"]["sourcemap_error"].as_str().unwrap_or_default();
    assert!(why.contains("no source map was uploaded"), "{minified}");

    // Uploaded the legacy way (release and URL), its maps serve the next error at ingest (the same issue as
    // the first build's) and the early event when it is read.
    upload(
        &tools,
        &app,
        &token.0,
        third.path(),
        &["--release", "shop@1.0.0", "--url-prefix", "~/static"],
    )
    .await;
    let late_id = run_shop(&app, third.path()).await.unwrap();
    assert_eq!(
        event_json(&app, &token, &late_id).await["groupID"].as_str().unwrap(),
        issue_id
    );
    let early_again = top_frame(&event_json(&app, &token, &early_id).await);
    assert_eq!(
        early_again["function"], "priceOf",
        "the API resolves on read too: {early_again}"
    );
    assert_eq!(early_again["lineNo"], 12, "{early_again}");
    let early_issue = early["groupID"].as_str().unwrap();
    let early_page = owner
        .get(&format!(
            "/organizations/default/issues/{early_issue}/events/{early_id}/"
        ))
        .await
        .expect(200)
        .body;
    assert!(
        early_page.contains("priceOf") && early_page.contains("Mapped by a source map"),
        "resolved on read"
    );
    app.stop().await;
}

on_both_databases!(a_minified_browser_error_is_read_in_its_source_and_a_rebuild_keeps_its_issue);
