//! Releases and deploys. sentry-cli requires `version`, `dateCreated`, an integer `newGroups` and
//! `projects[{slug, name}]`, and a `dateFinished` on every deploy.

use serde_json::{json, Value};

use crate::core::release_health::ReleaseHealth;
use crate::store::release_commits::{Repository, StoredCommit};
use crate::store::releases::{Deploy, Release};

use super::time::iso8601_ms;

pub fn release(release: &Release) -> Value {
    let projects: Vec<Value> = release
        .projects
        .iter()
        .map(|(slug, name)| json!({ "slug": slug, "name": name, "newGroups": 0 }))
        .collect();
    json!({
        "id": release.version,
        "version": release.version,
        "shortVersion": release.version,
        "ref": release.reference,
        "url": release.url,
        "status": release.status,
        "dateCreated": iso8601_ms(release.created_at),
        "dateStarted": release.date_started.map(iso8601_ms),
        "dateReleased": release.date_released.map(iso8601_ms),
        "lastEvent": release.last_event.map(iso8601_ms),
        "firstEvent": release.first_event.map(iso8601_ms),
        "newGroups": release.new_groups.max(0),
        "commitCount": release.commits.count,
        "deployCount": release.deploy_count,
        "lastCommit": release.commits.last.as_ref().map(commit),
        "lastDeploy": release.last_deploy.as_ref().map(deploy),
        "authors": release.commits.authors.iter().map(|(name, email)| author(name, email)).collect::<Vec<_>>(),
        "owner": Value::Null,
        "data": {},
        "projects": projects,
    })
}

pub fn deploy(deploy: &Deploy) -> Value {
    json!({
        "id": deploy.id.to_string(),
        "environment": deploy.environment,
        "name": deploy.name,
        "url": deploy.url,
        "dateStarted": deploy.date_started.map(iso8601_ms),
        "dateFinished": iso8601_ms(deploy.date_finished),
    })
}

/// A commit in Sentry's shape (`CommitSerializer`); authors are not users here, so `author` is the name and
/// e-mail the commit carries.
pub fn commit(stored: &StoredCommit) -> Value {
    let c = &stored.commit;
    let author = (c.author_name.is_some() || c.author_email.is_some()).then(|| author(&c.author_name, &c.author_email));
    json!({
        "id": c.id,
        "message": c.message,
        "dateCreated": c.timestamp.map(iso8601_ms),
        "pullRequest": Value::Null,
        "suspectCommitType": "",
        "repository": repository(&stored.repository),
        "author": author,
    })
}

fn author(name: &Option<String>, email: &Option<String>) -> Value {
    json!({ "name": name, "email": email })
}

/// A repository in Sentry's shape; sentry-cli requires `provider.id` and `provider.name` to be strings.
pub fn repository(repository: &Repository) -> Value {
    let provider = repository.provider.as_deref().unwrap_or("unknown");
    json!({
        "id": repository.id.to_string(),
        "name": repository.name,
        "url": repository.url,
        "provider": { "id": provider, "name": provider },
        "status": "active",
        "dateCreated": iso8601_ms(repository.created_at),
        "integrationId": Value::Null,
        "externalSlug": Value::Null,
        "externalId": Value::Null,
    })
}

/// Sentry's `healthData` of a release in one project (`health=1`): the last day's sessions and users.
pub fn health_data(health: Option<&ReleaseHealth>) -> Value {
    let empty = ReleaseHealth::default();
    let h = health.unwrap_or(&empty);
    json!({
        "crashFreeSessions": h.crash_free_sessions,
        "crashFreeUsers": h.crash_free_users,
        "totalSessions": h.sessions,
        "totalSessions24h": h.sessions,
        "totalUsers": h.users,
        "totalUsers24h": h.users,
        "sessionsCrashed": h.sessions_crashed,
        "sessionsErrored": h.sessions_errored,
        "adoption": h.users_adoption,
        "sessionsAdoption": h.sessions_adoption,
        "hasHealthData": health.is_some(),
        "durationP50": Value::Null,
        "durationP90": Value::Null,
        "stats": {},
    })
}
