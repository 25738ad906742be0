//! Performance monitoring end to end with the official Python SDK: the `perfshop` Django app
//! (tests/e2e/django_app) runs on a real WSGI server with `traces_sample_rate=1.0`, and the test makes real
//! HTTP requests to it. Its endpoints appear on the Performance page with the right counts, the N+1 view is
//! one performance issue however often it is requested, and the error raised in a traced request links to
//! its trace, whose page shows the request's transaction. Its request sessions count in its release's health.
//! Needs `FAULTLINE_PYTHON` (a Python with `tests/e2e/django_app/requirements.txt`); `.ci/run` sets it up.

use crate::common;

use std::process::Stdio;
use std::time::Duration;

use common::web::{IssueRow, PerformanceRow, WebClient};
use common::{Backend, TestApp};
use faultline::domain::accounts::Role;
use faultline::store::{events, issues};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};

/// The requests the test makes, in order, with the status each must answer.
const REQUESTS: &[(&str, u16)] = &[
    ("/authors/", 200),
    ("/books/", 200),
    ("/authors/", 200),
    ("/books/3/", 200),
    ("/books/", 200),
    ("/books/7/", 200),
    ("/authors/", 200),
    ("/books/12/price-per-page/", 500),
];

const FAILING_ROUTE: &str = "/books/{book_id}/price-per-page/";

/// `tests/e2e/django_app/serve_perfshop.py`: the shop on a free port, its SDK reporting to a DSN.
struct Shop {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    port: u16,
    /// What the server wrote to stderr (Django logs the 500's traceback there), for failure messages.
    log: tempfile::NamedTempFile,
}

impl Shop {
    async fn start(python: &str, dsn: &str) -> Shop {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/django_app/serve_perfshop.py");
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut child = tokio::process::Command::new(python)
            .args([script, "--dsn", dsn])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log.reopen().unwrap())
            .kill_on_drop(true)
            .spawn()
            .expect("python runs");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = next_line(&mut lines, &log).await;
        let port = ready["port"].as_u64().expect("a port") as u16;
        Shop {
            child,
            lines,
            port,
            log,
        }
    }

    async fn get(&self, path: &str) -> u16 {
        let url = format!("http://127.0.0.1:{}{path}", self.port);
        let answer = reqwest::get(&url).await.unwrap_or_else(|e| panic!("GET {path}: {e}"));
        answer.status().as_u16()
    }

    /// Stops serving and waits until the SDK has delivered everything and Faultline has answered.
    async fn flush_and_stop(mut self) {
        let mut stdin = self.child.stdin.take().unwrap();
        stdin.write_all(b"flush\n").await.unwrap();
        drop(stdin);
        assert_eq!(next_line(&mut self.lines, &self.log).await["flushed"], true);
        let status = self.child.wait().await.unwrap();
        assert!(status.success(), "serve_perfshop.py failed: {}", stderr(&self.log));
    }
}

/// The script's next JSON line; fails the test with its stderr when none comes within a minute (filling the
/// shop's tables takes a few seconds).
async fn next_line(lines: &mut Lines<BufReader<ChildStdout>>, log: &tempfile::NamedTempFile) -> serde_json::Value {
    match tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await {
        Ok(Ok(Some(line))) => serde_json::from_str(&line).expect("a JSON line"),
        _ => panic!("serve_perfshop.py said nothing more: {}", stderr(log)),
    }
}

fn stderr(log: &tempfile::NamedTempFile) -> String {
    std::fs::read_to_string(log.path()).unwrap_or_default()
}

async fn a_traced_django_shop_shows_its_endpoints_problems_and_traces(backend: Backend) {
    let Ok(python) = std::env::var("FAULTLINE_PYTHON") else {
        eprintln!("FAULTLINE_PYTHON is not set: the live Django end-to-end test is skipped (.ci/run sets it)");
        return;
    };
    // Every N+1 occurrence an event at once, so that the page's count is final when the requests are done.
    let app = TestApp::spawn_with(backend, |config| config.performance_issue_window_secs = 0).await;
    let shop = Shop::start(&python, &app.dsn()).await;
    for &(path, status) in REQUESTS {
        assert_eq!(shop.get(path).await, status, "GET {path}");
    }
    shop.flush_and_stop().await;
    let web = app.signed_in("dev@example.com", None, Role::Member).await;
    every_endpoint_is_counted(&web).await;
    the_n_plus_one_is_one_issue(&web).await;
    the_error_links_to_its_trace(&app, &web).await;
    every_request_is_a_session_of_its_release(&app).await;
    app.stop().await;
}

/// Release health: the SDK's request sessions (flushed as one `sessions` aggregate) count each request in
/// release `perfshop@1.0.0`; the request that raised (unhandled) is its one crashed session.
async fn every_request_is_a_session_of_its_release(app: &TestApp) {
    let token = app.owner_token().await;
    let path = "/api/0/organizations/default/sessions/?field=sum(session)&groupBy=session.status\
                &query=release:perfshop@1.0.0&statsPeriod=1h";
    let answer = app.get_json(&token, path).await.expect(200);
    let count = |status: &str| {
        let groups = answer["groups"].as_array().expect("groups");
        let group = groups.iter().find(|g| g["by"]["session.status"] == status);
        group.map_or(0, |g| g["totals"]["sum(session)"].as_i64().unwrap())
    };
    let all: i64 = ["healthy", "errored", "crashed", "abnormal"]
        .iter()
        .map(|s| count(s))
        .sum();
    assert_eq!(all, REQUESTS.len() as i64, "{answer}");
    assert_eq!(count("healthy"), REQUESTS.len() as i64 - 1, "{answer}");
    assert_eq!(
        count("crashed"),
        1,
        "an unhandled exception crashes its request's session: {answer}"
    );
}

/// One row per route (the two book pages are one), counted once per request; the request that raised failed.
async fn every_endpoint_is_counted(web: &WebClient) {
    let page = web.get(PERFORMANCE).await.expect(200);
    let mut rows = page.performance_rows();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    let row = |name: &str, count, failure_rate: &str| PerformanceRow {
        name: name.into(),
        op: "http.server".into(),
        failure_rate: failure_rate.into(),
        count,
    };
    assert_eq!(
        rows,
        vec![
            row("/authors/", 3, "0.0 %"),
            row("/books/", 2, "0.0 %"),
            row("/books/{book_id}/", 2, "0.0 %"),
            row(FAILING_ROUTE, 1, "100.0 %"),
        ]
    );
}

/// The N+1 list view, requested twice, is one performance issue with two events; the errors filter leaves it out.
async fn the_n_plus_one_is_one_issue(web: &WebClient) {
    let list = |kind: &str| format!("/organizations/default/issues/?type={kind}");
    let performance = web.get(&list("performance")).await.expect(200).issue_rows();
    let n_plus_one = IssueRow {
        title: "N+1 Query".into(),
        kind: "Performance".into(),
        events: 2,
    };
    assert_eq!(performance, vec![n_plus_one]);
    let errors = web.get(&list("errors")).await.expect(200).issue_rows();
    let titles: Vec<&str> = errors.iter().map(|row| row.title.as_str()).collect();
    assert_eq!(titles, vec!["ZeroDivisionError: division by zero"]);
}

/// The error's event page links to its trace; the trace page shows the failing request's transaction.
async fn the_error_links_to_its_trace(app: &TestApp, web: &WebClient) {
    let all = issues::list_issues(&app.db, app.project_id).await.unwrap();
    let error = all
        .iter()
        .find(|issue| issue.issue_type == "error")
        .expect("the error's issue");
    let event = events::list_issue_events(&app.db, error.id, 1).await.unwrap().remove(0);
    let trace_id = event.payload_json().unwrap()["contexts"]["trace"]["trace_id"]
        .as_str()
        .expect("the SDK's trace id")
        .to_owned();
    let event_page = format!("/organizations/default/issues/{}/events/{}/", error.id, event.event_id);
    let link = web.get(&event_page).await.expect(200).trace_link();
    let trace_page = format!("/organizations/default/projects/default/traces/{trace_id}/");
    assert_eq!(link.as_deref(), Some(trace_page.as_str()));
    let trace = web.get(&trace_page).await.expect(200).body;
    let transactions = &trace[trace.find("id=\"trace-transactions\"").expect("its transactions")..];
    let row = &transactions[transactions
        .find(&format!("<td>{FAILING_ROUTE}</td>"))
        .expect("the request's")..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.contains("internal_error") && row.contains("ZeroDivisionError"),
        "{row}"
    );
}

const PERFORMANCE: &str = "/organizations/default/projects/default/performance/";

on_both_databases!(a_traced_django_shop_shows_its_endpoints_problems_and_traces);
