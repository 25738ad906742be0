//! Web UI benchmark: starts Faultline in-process on a seeded database (see `faultline seed`; `--seed` seeds
//! here), signs in through the real login form, and times server-rendered pages over HTTP on localhost:
//! the projects overview, the issue list (default, by events, a search, an environment filter, page 2) and
//! issue detail pages. Each page is warmed up, then requested `--requests` times one after another; the
//! round trip upper-bounds the server's render time.
//! Example: `faultline-ui-bench --database-url sqlite:///work/scratch/ui-bench.db --requests 200`

// A benchmark tool: its tasks live as long as its one run.
#![allow(clippy::disallowed_methods)]

use faultline::domain::ProjectId;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use faultline::config::Config;
use faultline::domain::accounts::Role;
use faultline::seed::{self, Corpus, SeedPlan};
use faultline::store::{events, issues, now_ms, projects, Db};
use faultline::App;

#[derive(Parser, Debug)]
#[command(name = "faultline-ui-bench")]
struct Args {
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite:///tmp/faultline-ui-bench.db")]
    database_url: String,
    /// Seed the default project up to `--events` events in `--issues` issues first.
    #[arg(long)]
    seed: bool,
    #[arg(long, default_value_t = 10_000)]
    issues: i64,
    #[arg(long, default_value_t = 1_000_000)]
    events: i64,
    /// Timed requests per page (after the warm-up).
    #[arg(long, default_value_t = 200)]
    requests: usize,
    #[arg(long, default_value_t = 20)]
    warmup: usize,
}

const PASSWORD: &str = "benchmark-password";

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let mut config = Config::for_database(&args.database_url);
    config.bind = "127.0.0.1:0".parse()?;
    let app = App::build(&config).await?;
    let db = app.db().clone();
    let project = projects::find_project_by_slug(&db, "default")
        .await?
        .context("default project")?;
    if args.seed {
        seed_default(&db, project.id, &args).await?;
    }
    let email = format!("ui-bench-{}@example.com", now_ms());
    faultline::core::accounts::create_user(
        &faultline::core::Core::offline(db.clone(), url::Url::parse("http://localhost/").unwrap()),
        faultline::core::accounts::NewUser {
            email: &email,
            name: None,
            password: PASSWORD,
            admin: false,
            organization: None,
            role: Some(Role::Owner),
        },
    )
    .await?;
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run(async {
        let _ = stopped.await;
    }));
    let client = sign_in(&base, &email).await?;
    let all = issues::list_issues(&db, project.id).await?;
    println!(
        "{} events in {} issues on {}; {} requests per page after {} warm-up",
        events::count_events(&db, project.id).await?,
        all.len(),
        db.backend_name(),
        args.requests,
        args.warmup
    );
    println!("| page | p50 | p95 | p99 | max |\n|---|---|---|---|---|");
    let list = "/organizations/default/issues/";
    let first_page = get(&client, &base, list).await?;
    let page_two = next_link(&first_page).context("the issue list has a next page")?;
    let pages = [
        ("projects overview", "/organizations/default/".to_owned()),
        ("issue list (unresolved, last seen)", list.to_owned()),
        ("issue list, sort by events", format!("{list}?sort=freq")),
        (
            "issue list, search `ZeroDivisionError`",
            format!("{list}?query=ZeroDivisionError"),
        ),
        (
            "issue list, search `environment:production is:unresolved`",
            format!("{list}?query=environment%3Aproduction+is%3Aunresolved"),
        ),
        ("issue list, environment filter", format!("{list}?environment=staging")),
        ("issue list, page 2", page_two),
    ];
    for (label, path) in &pages {
        let paths = vec![path.clone()];
        report(label, &time_pages(&client, &base, &paths, &args).await?);
    }
    let detail = |id: faultline::domain::IssueId| format!("/organizations/default/issues/{id}/");
    let biggest = all.iter().max_by_key(|i| i.times_seen).context("an issue")?;
    let label = format!("issue detail, the biggest issue ({} events)", biggest.times_seen);
    report(&label, &time_pages(&client, &base, &[detail(biggest.id)], &args).await?);
    // A fixed spread of issues, big and small, each requested in turn.
    let mix: Vec<String> = (0..50).map(|n| detail(all[(n * 7919) % all.len()].id)).collect();
    report(
        "issue detail, 50 issues in turn",
        &time_pages(&client, &base, &mix, &args).await?,
    );
    let _ = stop.send(());
    server.await??;
    Ok(())
}

async fn seed_default(db: &Db, project_id: ProjectId, args: &Args) -> Result<()> {
    let plan = SeedPlan {
        issues: args.issues,
        events: args.events,
        days: 30,
        end_ms: now_ms(),
        batch: 2_000,
    };
    let report = seed::seed_project(db, project_id, Corpus::embedded()?, &plan).await?;
    eprintln!(
        "seeded {} events in {:.1} s",
        report.added,
        report.elapsed.as_secs_f64()
    );
    Ok(())
}

/// Signs in through `/login` as a browser does: the form's CSRF field and cookie, then the session cookie.
async fn sign_in(base: &str, email: &str) -> Result<reqwest::Client> {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let form = get(&client, base, "/login").await?;
    let csrf = hidden_field(&form, "csrf").context("the login form has a csrf field")?;
    let response = client
        .post(format!("{base}/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("next", ""),
            ("email", email),
            ("password", PASSWORD),
        ])
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_redirection(),
        "sign-in failed: {}",
        response.status()
    );
    let overview = client.get(format!("{base}/organizations/default/")).send().await?;
    anyhow::ensure!(overview.status().is_success(), "signed in, yet {}", overview.status());
    Ok(client)
}

async fn get(client: &reqwest::Client, base: &str, path: &str) -> Result<String> {
    let response = client.get(format!("{base}{path}")).send().await?;
    anyhow::ensure!(response.status().is_success(), "{path}: {}", response.status());
    Ok(response.text().await?)
}

/// Requests `paths` round robin: `warmup` untimed requests, then `requests` timed ones.
async fn time_pages(client: &reqwest::Client, base: &str, paths: &[String], args: &Args) -> Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(args.requests);
    for n in 0..args.warmup + args.requests {
        let path = &paths[n % paths.len()];
        let started = Instant::now();
        let body = get(client, base, path).await?;
        let elapsed = started.elapsed();
        anyhow::ensure!(body.contains("</html>"), "{path}: a truncated page");
        if n >= args.warmup {
            times.push(elapsed);
        }
    }
    Ok(times)
}

fn report(label: &str, times: &[Duration]) {
    let mut sorted = times.to_vec();
    sorted.sort();
    let at = |q: f64| sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1];
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    println!(
        "| {label} | {} | {} | {} | {} |",
        ms(at(0.50)),
        ms(at(0.95)),
        ms(at(0.99)),
        ms(*sorted.last().unwrap_or(&Duration::ZERO))
    );
}

fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// The pager's `rel="next"` link, unescaped.
fn next_link(html: &str) -> Option<String> {
    let tag_end = html.find("rel=\"next\"")?;
    let href = html[..tag_end].rfind("href=\"")? + "href=\"".len();
    let end = html[href..].find('"')? + href;
    Some(html[href..end].replace("&#38;", "&").replace("&amp;", "&"))
}
