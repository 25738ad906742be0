//! `faultline user …`, `faultline token …` and `faultline org …`.

use std::io::{BufRead, IsTerminal};

use anyhow::Context;

use crate::config::{Config, OrgCommand, TokenCommand, UserCommand};
use crate::core::accounts::NewUser;
use crate::core::{self, Access, Core, CoreError};
use crate::domain::accounts::{Role, Scope, ScopeSet};
use crate::domain::project::ProjectSlug;
use crate::store::{accounts, organizations, Db};

use super::connect;

pub async fn user(config: &Config, command: &UserCommand) -> anyhow::Result<()> {
    let UserCommand::Create {
        email,
        name,
        admin,
        org,
        role,
    } = command;
    let role = role.as_deref().map(Role::parse).transpose()?;
    let password = read_password()?;
    let db = connect(config).await?;
    let new_user = NewUser {
        email,
        name: name.as_deref(),
        password: &password,
        admin: *admin,
        organization: org.as_deref(),
        role,
    };
    let result = core::accounts::create_user(&operator(config, &db), new_user).await;
    db.close().await;
    let (user, organization, role) = result?;
    println!(
        "created user {} ({}), {} of organization {}",
        user.email,
        if user.is_admin { "administrator" } else { "user" },
        role.as_str(),
        organization.slug
    );
    Ok(())
}

pub async fn token(config: &Config, command: &TokenCommand) -> anyhow::Result<()> {
    let db = connect(config).await?;
    let result = match command {
        TokenCommand::Create { user, scopes, name } => {
            create_token(&operator(config, &db), user, scopes.as_deref(), name).await
        }
        TokenCommand::List { user } => list_tokens(&db, user).await,
        TokenCommand::Revoke { id } => core::accounts::revoke_token(&operator(config, &db), None, *id)
            .await
            .map(|()| println!("token {id} revoked"))
            .map_err(Into::into),
    };
    db.close().await;
    result
}

pub async fn org(config: &Config, command: &OrgCommand) -> anyhow::Result<()> {
    let db = connect(config).await?;
    let result = match command {
        OrgCommand::Create { slug, name } => create_org(&db, slug, name.as_deref()).await,
        OrgCommand::AddMember { slug, email, role } => add_member(&operator(config, &db), slug, email, role).await,
    };
    db.close().await;
    result
}

async fn create_token(core: &Core, email: &str, scopes: Option<&str>, name: &str) -> anyhow::Result<()> {
    let user = accounts::find_user_by_email(&core.db, email)
        .await?
        .with_context(|| format!("no user {email}"))?;
    let scopes = match scopes {
        Some(text) => ScopeSet::parse(text)?,
        None => Scope::ALL.into_iter().collect(),
    };
    let (id, token) = core::accounts::create_token(core, user.id, name, &scopes).await?;
    eprintln!("token {id} for {} with scopes: {}", user.email, scopes.to_text());
    eprintln!("Store it now: it is shown only once.");
    println!("{}", token.plaintext);
    Ok(())
}

async fn list_tokens(db: &Db, email: &str) -> anyhow::Result<()> {
    let user = accounts::find_user_by_email(db, email)
        .await?
        .with_context(|| format!("no user {email}"))?;
    println!("{:<6} {:<16} {:<8} SCOPES", "ID", "NAME", "ENDS IN");
    for token in accounts::list_tokens(db, user.id).await? {
        println!(
            "{:<6} {:<16} …{:<7} {}",
            token.id, token.name, token.token_hint, token.scopes
        );
    }
    Ok(())
}

async fn create_org(db: &Db, slug: &str, name: Option<&str>) -> anyhow::Result<()> {
    let slug = ProjectSlug::parse(slug)?;
    let organization = organizations::create_organization(db, slug.as_str(), name.unwrap_or(slug.as_str())).await?;
    println!("created organization {}", organization.slug);
    Ok(())
}

/// Adds a member (or changes their role) as the operator, under the same owner rules as the web: the
/// last owner of an organization cannot be demoted from here either.
async fn add_member(core: &Core, slug: &str, email: &str, role: &str) -> anyhow::Result<()> {
    let role = Role::parse(role)?;
    let organization = organizations::find_organization(&core.db, slug)
        .await?
        .with_context(|| format!("no organization {slug}"))?;
    let access = Access::operator(organization);
    match core::members::add_by_email(core, &access, email, role).await {
        Err(CoreError::NotFound) => anyhow::bail!("no user {email}"),
        other => other?,
    };
    println!(
        "{} is now {} of {}",
        email.trim(),
        role.as_str(),
        access.organization.slug
    );
    Ok(())
}

/// The use cases as the command line runs them.
fn operator(config: &Config, db: &Db) -> Core {
    Core::offline(db.clone(), config.public_url.clone())
}

/// From a hidden prompt (typed twice) on a terminal, else the first line of stdin.
fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let password = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Password (again): ")?;
        if password != again {
            anyhow::bail!("the passwords do not match");
        }
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
