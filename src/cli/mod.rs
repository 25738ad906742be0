//! The command-line commands besides `serve`: migrations, projects, and (in `accounts`) users, tokens and
//! organizations.

mod accounts;

pub use accounts::{org, token, user};

use anyhow::Context;

use crate::config::{Config, ProjectCommand, SeedArgs};
use crate::core::{self, Access, Core};
use crate::domain::auth::{Dsn, PublicKey};
use crate::domain::project::ProjectSlug;
use crate::seed::{self, Corpus, SeedPlan};
use crate::store::organizations;
use crate::store::{projects, Db};

pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let db = connect(config).await?;
    println!(
        "migrations applied to {} ({})",
        config.redacted_database_url(),
        db.backend_name()
    );
    db.close().await;
    Ok(())
}

pub async fn bench_rules(config: &Config, args: &crate::config::BenchRulesArgs) -> anyhow::Result<()> {
    let db = connect(config).await?;
    core::projects::ensure_default_project(&db, &config.public_url).await?;
    let project = projects::find_project_by_slug(&db, &args.project)
        .await?
        .with_context(|| format!("no project {}", args.project))?;
    let made = crate::bench_rules::replace_with_bench_rules(
        &db,
        project.organization_id,
        project.id,
        args.rules,
        &args.webhook_url,
    )
    .await?;
    println!("project {} now has {made} alert rules", project.slug);
    db.close().await;
    Ok(())
}

pub async fn seed(config: &Config, args: &SeedArgs) -> anyhow::Result<()> {
    let db = connect(config).await?;
    core::projects::ensure_default_project(&db, &config.public_url).await?;
    let project = projects::find_project_by_slug(&db, &args.project)
        .await?
        .with_context(|| format!("no project {}", args.project))?;
    let corpus = match &args.corpus {
        Some(dir) => Corpus::load(dir).with_context(|| format!("cannot read the corpus in {}", dir.display()))?,
        None => Corpus::embedded()?,
    };
    let plan = SeedPlan {
        issues: args.issues,
        events: args.events,
        days: args.days,
        end_ms: crate::store::now_ms() - args.end_days_ago * 86_400_000,
        batch: args.batch,
    };
    let report = seed::seed_project(&db, project.id, corpus, &plan).await?;
    println!(
        "added {} events to project {} in {:.1} s ({:.0} events/s); it now holds {} events",
        report.added,
        project.slug,
        report.elapsed.as_secs_f64(),
        report.added as f64 / report.elapsed.as_secs_f64().max(0.001),
        crate::store::events::count_events(&db, project.id).await?
    );
    db.close().await;
    Ok(())
}

pub async fn project(config: &Config, command: &ProjectCommand) -> anyhow::Result<()> {
    let db = connect(config).await?;
    let result = match command {
        ProjectCommand::Create {
            slug,
            name,
            platform,
            org,
        } => {
            let slug = ProjectSlug::parse(slug)?;
            let core = Core::offline(db.clone(), config.public_url.clone());
            let dsn =
                core::projects::create_as_operator(&core, org.as_deref(), &slug, name.as_deref(), platform.as_deref())
                    .await
                    .with_context(|| format!("cannot create project {}", slug.as_str()))?;
            println!("{dsn}");
            Ok(())
        }
        ProjectCommand::List => list_projects(&db, &config.public_url).await,
        ProjectCommand::ScrubKeys { slug, keys } => {
            let project = projects::find_project_by_slug(&db, slug)
                .await?
                .with_context(|| format!("no project {slug}"))?;
            let organization = organizations::get_organization(&db, project.organization_id)
                .await?
                .context("the project's organization is gone")?;
            let core = Core::offline(db.clone(), config.public_url.clone());
            core::projects::set_scrub_keys(&core, &Access::operator(organization), &project, keys).await?;
            println!("project {slug} now also scrubs: {}", keys.join(", "));
            Ok(())
        }
    };
    db.close().await;
    result
}

async fn list_projects(db: &Db, public_url: &url::Url) -> anyhow::Result<()> {
    println!("{:<6} {:<24} {:<8} DSN", "ID", "SLUG", "ENABLED");
    for project in projects::list_projects(db).await? {
        for key in projects::list_keys(db, project.id).await? {
            let public_key = PublicKey::parse(&key.public_key)?;
            let dsn = Dsn::for_project(public_url, &public_key, project.id.get() as u64);
            let enabled = project.enabled && key.enabled;
            println!("{:<6} {:<24} {:<8} {dsn}", project.id, project.slug, enabled);
        }
    }
    Ok(())
}

pub(crate) async fn connect(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(&config.database_url, config.db_max_connections)
        .await
        .with_context(|| format!("cannot open {}", config.redacted_database_url()))?;
    db.migrate().await?;
    // Commands may name the default organization before the server's first start.
    projects::ensure_default_organization(&db).await?;
    Ok(db)
}
