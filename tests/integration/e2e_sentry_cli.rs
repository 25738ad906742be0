//! End to end with the real sentry-cli (2.58.6, the last 2.x): release, deploy and issue commands against
//! the running app, each checked by its exit status and by what it changed in the database.
//! Needs `FAULTLINE_SENTRY_CLI` (the binary's path); `.ci/run` installs it into the e2e venv.

use crate::common;
use faultline::domain::{IssueId, OrganizationId};

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::api::Token;
use common::{envelope, exception_event, new_event_id, Backend, TestApp};
use faultline::domain::lifecycle::IssueStatus;
use faultline::store::{issues, organizations, release_commits, releases};
use serde_json::json;

const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs sentry-cli with a pinned environment: this app, this token, no update check, no retries, and a
/// scratch HOME and working directory so no developer's `.sentryclirc` or `.env` leaks in.
struct Cli {
    binary: String,
    url: String,
    token: String,
    home: tempfile::TempDir,
}

impl Cli {
    async fn run(&self, args: &[&str]) -> Output {
        self.run_with_token(&self.token, args).await
    }

    async fn run_with_token(&self, token: &str, args: &[&str]) -> Output {
        self.run_in(self.home.path(), token, args).await
    }

    async fn run_in(&self, dir: &Path, token: &str, args: &[&str]) -> Output {
        self.run_with(dir, token, &[], args).await
    }

    /// Like `run_in`, with more environment (`SENTRY_DSN` for the commands that send envelopes).
    async fn run_with(&self, dir: &Path, token: &str, env: &[(&str, &str)], args: &[&str]) -> Output {
        let mut command = tokio::process::Command::new(&self.binary);
        for inherited in [
            "SENTRY_DSN",
            "SENTRY_PROPERTIES",
            "SENTRY_LOG_LEVEL",
            "SENTRY_PIPELINE",
            "HTTP_PROXY",
        ] {
            command.env_remove(inherited);
        }
        command
            .args(args)
            .current_dir(dir)
            .env("HOME", self.home.path())
            .env("SENTRY_URL", &self.url)
            .env("SENTRY_AUTH_TOKEN", token)
            .env("SENTRY_ORG", "default")
            .env("SENTRY_PROJECT", "default")
            .env("SENTRY_DISABLE_UPDATE_CHECK", "1")
            .env("SENTRY_LOAD_DOTENV", "0")
            .env("SENTRY_HTTP_MAX_RETRIES", "0")
            .env("SENTRY_NO_PROGRESS_BAR", "1")
            .envs(env.iter().copied())
            .kill_on_drop(true);
        tokio::time::timeout(COMMAND_TIMEOUT, command.output())
            .await
            .unwrap_or_else(|_| panic!("sentry-cli {args:?} finished within {COMMAND_TIMEOUT:?}"))
            .expect("sentry-cli starts")
    }

    /// Runs a command that must succeed and returns its standard output.
    async fn ok(&self, args: &[&str]) -> String {
        self.ok_in(self.home.path(), args).await
    }

    async fn ok_in(&self, dir: &Path, args: &[&str]) -> String {
        let output = self.run_in(dir, &self.token, args).await;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "sentry-cli {args:?} failed ({}):\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }
}

async fn send_exception(app: &TestApp, function: &str, release: Option<&str>) {
    let mut event = exception_event("ValueError", "bad basket", "shop.views", function, 7);
    if let Some(release) = release {
        event["release"] = json!(release);
    }
    let response = app.post_envelope(envelope(&new_event_id(), &event)).await;
    assert_eq!(response.status(), 200);
}

/// The project's two issues as `(id, short id)`, oldest first.
async fn two_issues(app: &TestApp) -> [(IssueId, String); 2] {
    let mut listed = issues::list_issues(&app.db, app.project_id).await.unwrap();
    assert_eq!(listed.len(), 2, "{listed:#?}");
    listed.sort_by_key(|i| i.short_id_number);
    let short = |n: i64| faultline::domain::short_id::encode_short_id("default", n as u64);
    [
        (listed[0].id, short(listed[0].short_id_number)),
        (listed[1].id, short(listed[1].short_id_number)),
    ]
}

async fn status_of(app: &TestApp, issue_id: IssueId) -> IssueStatus {
    issues::get_issue(&app.db, issue_id)
        .await
        .unwrap()
        .expect("issue exists")
        .state
        .status
}

async fn release_commands(cli: &Cli, app: &TestApp, organization_id: OrganizationId) {
    cli.ok(&["releases", "new", "2.0.0"]).await;
    let created = releases::get_release(&app.db, organization_id, "2.0.0").await.unwrap();
    let created = created.expect("releases new stored the release");
    assert_eq!(created.projects, [("default".to_owned(), "Default".to_owned())]);
    assert_eq!(created.date_released, None);

    cli.ok(&["releases", "new", "2.0.0"]).await;
    let listed = releases::list_releases(&app.db, organization_id, None, 0, 100)
        .await
        .unwrap();
    let versions: Vec<&str> = listed.iter().map(|r| r.version.as_str()).collect();
    assert_eq!(versions, ["2.0.0", "1.0.0"], "re-running releases new adds nothing");

    let table = cli.ok(&["releases", "list"]).await;
    assert!(table.contains("2.0.0") && table.contains("1.0.0"), "{table}");

    cli.ok(&["releases", "finalize", "2.0.0"]).await;
    let finalized = releases::get_release(&app.db, organization_id, "2.0.0").await.unwrap();
    assert!(
        finalized.expect("still there").date_released.is_some(),
        "finalize sets dateReleased"
    );

    cli.ok(&["releases", "deploys", "2.0.0", "new", "-e", "production"])
        .await;
    let deploys = releases::list_deploys(&app.db, organization_id, "2.0.0").await.unwrap();
    assert_eq!(deploys.len(), 1);
    assert_eq!(deploys[0].environment, "production");

    let table = cli.ok(&["releases", "deploys", "2.0.0", "list"]).await;
    assert!(table.contains("production"), "{table}");
}

async fn issue_commands(cli: &Cli, app: &TestApp) {
    let [(first, first_short), (second, second_short)] = two_issues(app).await;
    let table = cli.ok(&["issues", "list"]).await;
    assert!(table.contains(&first_short) && table.contains(&second_short), "{table}");

    cli.ok(&["issues", "resolve", "-i", &first.to_string()]).await;
    assert_eq!(status_of(app, first).await, IssueStatus::Resolved);
    assert_eq!(
        status_of(app, second).await,
        IssueStatus::Unresolved,
        "only the named issue changes"
    );

    cli.ok(&["issues", "mute", "-i", &second.to_string()]).await;
    assert_eq!(
        status_of(app, second).await,
        IssueStatus::Ignored,
        "muted is the legacy name of ignored"
    );

    cli.ok(&["issues", "unresolve", "-s", "muted"]).await;
    assert_eq!(status_of(app, second).await, IssueStatus::Unresolved);
    assert_eq!(
        status_of(app, first).await,
        IssueStatus::Resolved,
        "-s muted selects only ignored issues"
    );
}

async fn sentry_cli_manages_releases_deploys_and_issues(backend: Backend) {
    let Ok(binary) = std::env::var("FAULTLINE_SENTRY_CLI") else {
        eprintln!("FAULTLINE_SENTRY_CLI is not set: the sentry-cli end-to-end test is skipped (.ci/run sets it)");
        return;
    };
    let app = TestApp::spawn(backend).await;
    let Token(token) = app.owner_token().await;
    send_exception(&app, "add_to_basket", Some("1.0.0")).await;
    send_exception(&app, "checkout", None).await;
    let organization = organizations::find_organization(&app.db, "default").await.unwrap();
    let organization_id = organization.expect("default organization").id;
    let cli = Cli {
        binary,
        url: format!("http://{}", app.addr),
        token,
        home: tempfile::tempdir().expect("temp dir"),
    };

    let info = cli.ok(&["info"]).await;
    assert!(info.contains("owner@example.com"), "{info}");
    assert!(
        info.contains("project:releases") && info.contains("event:write"),
        "{info}"
    );

    release_commands(&cli, &app, organization_id).await;
    issue_commands(&cli, &app).await;

    let forged = format!("sntryu_{}", "0".repeat(64));
    let refused = cli.run_with_token(&forged, &["releases", "new", "3.0.0"]).await;
    assert!(!refused.status.success(), "a bad token fails the command");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("401"), "{refused:?}");
    let absent = releases::get_release(&app.db, organization_id, "3.0.0").await.unwrap();
    assert_eq!(absent, None, "nothing was created with the bad token");
    app.stop().await;
}

/// A scratch clone of `acme/shop` (the remote is never contacted) with two commits; returns their SHAs,
/// newest first.
fn git_clone_with_two_commits(dir: &Path) -> [String; 2] {
    let git = |args: &[&str]| {
        let output = std::process::Command::new("git")
            .args(["-c", "user.name=Ada Lovelace", "-c", "user.email=ada@example.com"])
            .args(args)
            .current_dir(dir)
            .env("HOME", dir)
            .output()
            .expect("git runs");
        assert!(output.status.success(), "git {args:?}: {output:?}");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["remote", "add", "origin", "https://github.com/acme/shop.git"]);
    std::fs::write(dir.join("cart.py"), "def add(): pass\n").unwrap();
    git(&["add", "cart.py"]);
    git(&["commit", "-q", "-m", "Add the cart"]);
    std::fs::write(dir.join("cart.py"), "def add(): return 1\n").unwrap();
    git(&["commit", "-q", "-am", "<b>Fix</b> the cart"]);
    [git(&["rev-parse", "HEAD"]), git(&["rev-parse", "HEAD~1"])]
}

async fn commit_ids(app: &TestApp, organization_id: OrganizationId, version: &str) -> Vec<(String, String)> {
    let stored = release_commits::list_commits(&app.db, organization_id, version)
        .await
        .unwrap();
    stored.into_iter().map(|c| (c.repository.name, c.commit.id)).collect()
}

async fn sentry_cli_sets_commits_from_a_clone_and_by_ref(backend: Backend) {
    let Ok(binary) = std::env::var("FAULTLINE_SENTRY_CLI") else {
        eprintln!("FAULTLINE_SENTRY_CLI is not set: the sentry-cli set-commits test is skipped (.ci/run sets it)");
        return;
    };
    let app = TestApp::spawn(backend).await;
    let Token(token) = app.owner_token().await;
    let organization = organizations::find_organization(&app.db, "default").await.unwrap();
    let organization_id = organization.expect("default organization").id;
    let cli = Cli {
        binary,
        url: format!("http://{}", app.addr),
        token,
        home: tempfile::tempdir().expect("temp dir"),
    };
    let clone = tempfile::tempdir().expect("temp dir");
    let [newest, older] = git_clone_with_two_commits(clone.path());
    cli.ok(&["releases", "new", "7.0.0"]).await;

    let printed = cli
        .ok_in(clone.path(), &["releases", "set-commits", "7.0.0", "--local"])
        .await;
    assert!(printed.contains("Success"), "{printed}");
    // sentry-cli 2.x names the repository of `--local` commits after the git remote, not its URL.
    let origin = "origin".to_owned();
    assert_eq!(
        commit_ids(&app, organization_id, "7.0.0").await,
        [(origin.clone(), newest.clone()), (origin, older)],
        "--local stores the clone's commits, newest first"
    );
    let repos = cli.ok(&["repos", "list"]).await;
    assert!(repos.contains("origin"), "the repository became known: {repos}");

    let spec = format!("acme/shop@{newest}");
    let refused = cli.run(&["releases", "set-commits", "7.0.0", "--commit", &spec]).await;
    assert!(!refused.status.success(), "an unknown repository fails the command");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("acme/shop"), "the error names the repository: {stderr}");
    assert_eq!(
        commit_ids(&app, organization_id, "7.0.0").await.len(),
        2,
        "nothing changed"
    );

    let add = serde_json::json!({"name": "acme/shop", "url": "https://github.com/acme/shop"});
    let path = "/api/0/organizations/default/repos/";
    let added = app
        .api(&Token(cli.token.clone()), reqwest::Method::POST, path, Some(add))
        .await;
    assert_eq!(added.status, 201, "{:?}", added.body);
    cli.ok(&["releases", "set-commits", "7.0.0", "--commit", &spec]).await;
    assert_eq!(
        commit_ids(&app, organization_id, "7.0.0").await,
        [("acme/shop".to_owned(), newest)],
        "--commit REPO@SHA keeps the head commit"
    );
    let printed = cli.ok(&["releases", "set-commits", "7.0.0", "--clear"]).await;
    assert!(printed.contains("Clearing"), "{printed}");
    assert_eq!(commit_ids(&app, organization_id, "7.0.0").await, []);
    app.stop().await;
}

/// `monitors run` wraps a command in check-ins (sent with the DSN; `--schedule` creates the monitor), and
/// `monitors list` reads Sentry's monitor API.
async fn sentry_cli_runs_and_lists_monitors(backend: Backend) {
    let Ok(binary) = std::env::var("FAULTLINE_SENTRY_CLI") else {
        eprintln!("FAULTLINE_SENTRY_CLI is not set: the sentry-cli monitors test is skipped (.ci/run sets it)");
        return;
    };
    let app = TestApp::spawn(backend).await;
    let Token(token) = app.owner_token().await;
    let cli = Cli {
        binary,
        url: format!("http://{}", app.addr),
        token,
        home: tempfile::tempdir().expect("temp dir"),
    };
    let dsn = app.dsn();
    let env = [("SENTRY_DSN", dsn.as_str())];
    let runs = [("db-backup", "true"), ("log-rotate", "false")];
    for (slug, command) in runs {
        let args = [
            "monitors",
            "run",
            "--schedule",
            "0 2 * * *",
            "--timezone",
            "Europe/Vienna",
            slug,
            "--",
            command,
        ];
        let output = cli.run_with(cli.home.path(), &cli.token, &env, &args).await;
        assert_eq!(
            output.status.success(),
            command == "true",
            "the command's own exit status: {output:?}"
        );
    }
    let listed = cli.ok(&["monitors", "list"]).await;
    let line = |slug: &str| listed.lines().find(|l| l.contains(slug)).unwrap_or_default().to_owned();
    assert!(line("db-backup").contains("| ok"), "{listed}");
    assert!(line("log-rotate").contains("| error"), "{listed}");
    app.stop().await;
}

on_both_databases!(
    sentry_cli_manages_releases_deploys_and_issues,
    sentry_cli_sets_commits_from_a_clone_and_by_ref,
    sentry_cli_runs_and_lists_monitors
);
