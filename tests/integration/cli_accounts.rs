//! The account commands of the real binary: `user create` (password from stdin, never a flag), `token
//! create` (printed once, stored as a hash), `token list`/`revoke`, `org create`/`add-member`. Both databases.

use crate::common;

use std::process::Stdio;

use common::{Backend, TestDatabase};
use faultline::domain::accounts::{hash_token, Role};
use faultline::store::{accounts, organizations, Db};
use tokio::io::AsyncWriteExt;

struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

async fn faultline(database: &TestDatabase, args: &[&str], stdin: &str) -> Run {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(args)
        .env("DATABASE_URL", &database.url)
        .env("LOG_FORMAT", "json")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).await.unwrap();
    let output = child.wait_with_output().await.unwrap();
    Run {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

async fn open(database: &TestDatabase) -> Db {
    Db::connect(&database.url, 2).await.unwrap()
}

async fn users_and_tokens_are_created_from_the_command_line(backend: Backend) {
    let database = TestDatabase::create(&backend).await;
    let admin = faultline(
        &database,
        &["user", "create", "--email", "Admin@Example.com", "--admin"],
        "hunter2hunter2\n",
    )
    .await;
    assert!(admin.success, "{}", admin.stderr);
    assert!(
        admin.stdout.contains("owner of organization default"),
        "{}",
        admin.stdout
    );
    let again = faultline(
        &database,
        &["user", "create", "--email", "admin@example.com"],
        "hunter2hunter2\n",
    )
    .await;
    assert!(!again.success, "the same email twice");
    let short = faultline(&database, &["user", "create", "--email", "b@example.com"], "short\n").await;
    assert!(!short.success);
    assert!(short.stderr.contains("at least 8"), "{}", short.stderr);

    let created = faultline(
        &database,
        &[
            "token",
            "create",
            "--user",
            "admin@example.com",
            "--scopes",
            "org:read,event:read",
        ],
        "",
    )
    .await;
    assert!(created.success, "{}", created.stderr);
    let token = created.stdout.trim().to_owned();
    assert!(token.starts_with("sntryu_") && !token.contains('\n'), "{token:?}");
    assert!(created.stderr.contains("only once"));
    let db = open(&database).await;
    let owner = accounts::find_token(&db, &hash_token(&token))
        .await
        .unwrap()
        .expect("stored by hash");
    assert_eq!(owner.user.email, "admin@example.com");
    assert_eq!(owner.scopes.to_text(), "org:read event:read");
    let (_, role) = organizations::memberships(&db, owner.user.id).await.unwrap().remove(0);
    assert_eq!(role, Role::Owner);

    let listed = faultline(&database, &["token", "list", "--user", "admin@example.com"], "").await;
    assert!(listed.stdout.contains(&token[token.len() - 4..]));
    assert!(!listed.stdout.contains(&token), "the token is never shown again");
    let bad = faultline(
        &database,
        &[
            "token",
            "create",
            "--user",
            "admin@example.com",
            "--scopes",
            "org:write",
        ],
        "",
    )
    .await;
    assert!(!bad.success);
    assert!(bad.stderr.contains("org:write"), "{}", bad.stderr);
    let revoked = faultline(&database, &["token", "revoke", &owner.token_id.to_string()], "").await;
    assert!(revoked.success, "{}", revoked.stderr);
    assert!(accounts::find_token(&db, &hash_token(&token)).await.unwrap().is_none());
    db.close().await;
    database.drop_database().await;
}

async fn organizations_and_members_are_managed_from_the_command_line(backend: Backend) {
    let database = TestDatabase::create(&backend).await;
    assert!(
        faultline(&database, &["org", "create", "acme", "--name", "Acme"], "")
            .await
            .success
    );
    let joined = faultline(
        &database,
        &[
            "user",
            "create",
            "--email",
            "dev@acme.test",
            "--org",
            "acme",
            "--role",
            "admin",
        ],
        "hunter2hunter2\n",
    )
    .await;
    assert!(joined.success, "{}", joined.stderr);
    let added = faultline(
        &database,
        &[
            "org",
            "add-member",
            "default",
            "--email",
            "dev@acme.test",
            "--role",
            "member",
        ],
        "",
    )
    .await;
    assert!(added.success, "{}", added.stderr);
    let project = faultline(&database, &["project", "create", "web", "--org", "acme"], "").await;
    assert!(project.success, "{}", project.stderr);
    let db = open(&database).await;
    let user = accounts::find_user_by_email(&db, "dev@acme.test")
        .await
        .unwrap()
        .unwrap();
    let memberships: Vec<(String, Role)> = organizations::memberships(&db, user.id)
        .await
        .unwrap()
        .into_iter()
        .map(|(o, r)| (o.slug, r))
        .collect();
    assert_eq!(
        memberships,
        vec![("acme".into(), Role::Admin), ("default".into(), Role::Member)]
    );
    let unknown = faultline(
        &database,
        &["org", "add-member", "nowhere", "--email", "dev@acme.test"],
        "",
    )
    .await;
    assert!(!unknown.success);
    db.close().await;
    database.drop_database().await;
}

/// The owner rules hold on the command line too: `add-member --role member` cannot demote the last owner.
async fn the_command_line_cannot_demote_the_last_owner(backend: Backend) {
    let database = TestDatabase::create(&backend).await;
    let owner = faultline(
        &database,
        &["user", "create", "--email", "boss@acme.test", "--admin"],
        "hunter2hunter2\n",
    )
    .await;
    assert!(owner.success, "{}", owner.stderr);
    let demote = [
        "org",
        "add-member",
        "default",
        "--email",
        "boss@acme.test",
        "--role",
        "member",
    ];
    let refused = faultline(&database, &demote, "").await;
    assert!(!refused.success, "the last owner was demoted: {}", refused.stdout);
    assert!(
        refused.stderr.contains("An organization needs at least one owner."),
        "{}",
        refused.stderr
    );
    let db = open(&database).await;
    let org = organizations::find_organization(&db, "default").await.unwrap().unwrap();
    assert_eq!(organizations::count_owners(&db, org.id).await.unwrap(), 1);
    db.close().await;
    let second = faultline(
        &database,
        &["user", "create", "--email", "heir@acme.test", "--role", "owner"],
        "hunter2hunter2\n",
    )
    .await;
    assert!(second.success, "{}", second.stderr);
    let demoted = faultline(&database, &demote, "").await;
    assert!(
        demoted.success,
        "with a second owner the first may step down: {}",
        demoted.stderr
    );
    database.drop_database().await;
}

on_both_databases!(
    users_and_tokens_are_created_from_the_command_line,
    organizations_and_members_are_managed_from_the_command_line,
    the_command_line_cannot_demote_the_last_owner,
);
