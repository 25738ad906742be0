//! The other ways a site's build uploads its source maps, each run end to end like e2e_source_maps.rs: a
//! Vite build uploading through `@sentry/vite-plugin`, a webpack build through `@sentry/webpack-plugin`, and
//! an esbuild build injected and uploaded by sentry-cli 3 (`@sentry/cli-3` in the e2e node app). In each, the
//! error Chromium reports from the minified bundle is read in the shop's source.
//!
//! Needs `FAULTLINE_NODE_MODULES` and chromedriver (`.ci/run` sets them up); skipped with a message otherwise.

use crate::common;
use crate::e2e_source_maps::{assert_shop_error_is_mapped, build_with, inject_and_upload, Tools};

use std::path::{Path, PathBuf};

use common::api::Token;
use common::{Backend, TestApp};

/// sentry-cli 3's npm launcher (it runs the binary of the platform package npm installed beside it).
const SENTRY_CLI_3: &str = "@sentry/cli-3/bin/sentry-cli";

/// The e2e node app's packages, with sentry-cli 3 as the CLI; `None` (after saying why) when not installed.
fn tools() -> Option<Tools> {
    let Some(modules) = std::env::var_os("FAULTLINE_NODE_MODULES").map(PathBuf::from) else {
        eprintln!("FAULTLINE_NODE_MODULES is not set: the bundler plugin tests are skipped");
        return None;
    };
    let cli = modules.join(SENTRY_CLI_3);
    assert!(
        cli.is_file(),
        "{} is missing: run npm ci in tests/e2e/node_app",
        cli.display()
    );
    Some(Tools {
        modules,
        sentry_cli: cli.to_str().unwrap().to_owned(),
    })
}

/// Builds the shop with `bundler`, its Sentry plugin uploading the maps to `app`.
async fn build_and_upload_with_plugin(tools: &Tools, app: &TestApp, token: &Token, out: &Path, bundler: &str) {
    // The plugins' `sentry` CLI keeps a database of its own (in ~/.config/sentry) that remembers each
    // organization's server by slug: an earlier test's port would win. Each build gets a fresh one.
    let fresh = tempfile::tempdir().unwrap();
    let home = fresh.path().to_str().unwrap().to_owned();
    let env = [
        ("SENTRY_URL", format!("http://{}", app.addr)),
        ("SENTRY_AUTH_TOKEN", token.0.clone()),
        ("HOME", home.clone()),
        ("SENTRY_CONFIG_DIR", home),
    ];
    build_with(tools, out, &["--bundler", bundler, "--plugin"], &env).await;
}

async fn a_vite_build_uploaded_by_the_vite_plugin_is_mapped(backend: Backend) {
    let Some(tools) = tools() else {
        return;
    };
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let out = tempfile::tempdir().unwrap();
    build_and_upload_with_plugin(&tools, &app, &token, out.path(), "vite").await;
    assert_shop_error_is_mapped(&app, &token, out.path()).await;
    app.stop().await;
}

async fn a_webpack_build_uploaded_by_the_webpack_plugin_is_mapped(backend: Backend) {
    let Some(tools) = tools() else {
        return;
    };
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let out = tempfile::tempdir().unwrap();
    build_and_upload_with_plugin(&tools, &app, &token, out.path(), "webpack").await;
    assert_shop_error_is_mapped(&app, &token, out.path()).await;
    app.stop().await;
}

async fn a_build_injected_and_uploaded_by_sentry_cli_3_is_mapped(backend: Backend) {
    let Some(tools) = tools() else {
        return;
    };
    let app = TestApp::spawn(backend).await;
    let token = app.owner_token().await;
    let out = tempfile::tempdir().unwrap();
    build_with(&tools, out.path(), &[], &[]).await;
    inject_and_upload(&tools, &app, &token.0, out.path()).await;
    assert_shop_error_is_mapped(&app, &token, out.path()).await;
    app.stop().await;
}

on_both_databases!(
    a_vite_build_uploaded_by_the_vite_plugin_is_mapped,
    a_webpack_build_uploaded_by_the_webpack_plugin_is_mapped,
    a_build_injected_and_uploaded_by_sentry_cli_3_is_mapped,
);
