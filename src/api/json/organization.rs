//! Organizations, projects, teams, client keys and the caller, as Sentry's API shows them.

use serde_json::{json, Value};

use crate::domain::auth::{Dsn, PublicKey};
use crate::store::accounts::User;
use crate::store::organizations::{Organization, Team};
use crate::store::projects::{Project, ProjectKey};

use super::time::iso8601_ms;

/// sentry-cli requires every one of these fields.
pub fn organization(organization: &Organization) -> Value {
    json!({
        "id": organization.id.to_string(),
        "slug": organization.slug,
        "name": organization.name,
        "dateCreated": iso8601_ms(organization.created_at),
        "isEarlyAdopter": false,
        "require2FA": false,
        "requireEmailVerification": false,
        "status": { "id": "active", "name": "active" },
        "features": [],
        "links": { "organizationUrl": Value::Null, "regionUrl": Value::Null },
        "avatar": { "avatarType": "letter_avatar", "avatarUuid": Value::Null },
    })
}

pub fn team(team: &Team) -> Value {
    json!({
        "id": team.id.to_string(),
        "slug": team.slug,
        "name": team.name,
        "dateCreated": iso8601_ms(team.created_at),
    })
}

/// A team as the teams list shows it (Grafana's team picker reads `slug` and `name`). Every member of
/// the organization is a member of its team.
pub fn team_detail(team: &Team, member_count: i64, projects: &[Project]) -> Value {
    let mut value = self::team(team);
    let projects: Vec<Value> = projects
        .iter()
        .map(|p| json!({ "id": p.id.to_string(), "slug": p.slug, "name": p.name, "platform": p.platform }))
        .collect();
    value["hasAccess"] = json!(true);
    value["isMember"] = json!(true);
    value["isPending"] = json!(false);
    value["memberCount"] = json!(member_count);
    value["projects"] = json!(projects);
    value["avatar"] = json!({ "avatarType": "letter_avatar", "avatarUuid": Value::Null });
    value
}

/// The project as lists and details show it; `environments` are those its events carried.
pub fn project(project: &Project, organization: &Organization, teams: &[Team], environments: &[String]) -> Value {
    let teams: Vec<Value> = teams.iter().map(team).collect();
    json!({
        "id": project.id.to_string(),
        "slug": project.slug,
        "name": project.name,
        "platform": project.platform,
        "dateCreated": iso8601_ms(project.created_at),
        "isBookmarked": false,
        "isMember": true,
        "hasAccess": true,
        "isPublic": false,
        "status": if project.enabled { "active" } else { "disabled" },
        "features": [],
        "firstEvent": Value::Null,
        "team": teams.first().cloned().unwrap_or(Value::Null),
        "teams": teams,
        "environments": environments,
        "organization": organization_summary(organization),
    })
}

fn organization_summary(organization: &Organization) -> Value {
    json!({
        "id": organization.id.to_string(),
        "slug": organization.slug,
        "name": organization.name,
    })
}

/// A client key with its DSNs, as Sentry's project keys endpoint shows it.
pub fn project_key(key: &ProjectKey, public_url: &url::Url) -> Value {
    let dsn = PublicKey::parse(&key.public_key)
        .map(|public_key| Dsn::for_project(public_url, &public_key, key.project_id.get() as u64).to_string())
        .unwrap_or_default();
    json!({
        "id": key.public_key,
        "name": key.label,
        "label": key.label,
        "public": key.public_key,
        "secret": Value::Null,
        "projectId": key.project_id,
        "isActive": key.enabled,
        "dateCreated": iso8601_ms(key.created_at),
        "dsn": {
            "public": dsn,
            "secret": dsn,
            "csp": format!("{}api/{}/security/?sentry_key={}", public_url, key.project_id, key.public_key),
            "minidump": format!("{}api/{}/minidump/?sentry_key={}", public_url, key.project_id, key.public_key),
        },
        "rateLimit": key.rate_limit().map(|l| json!({ "window": l.window, "count": l.count })),
        "browserSdkVersion": "latest",
    })
}

pub fn user(user: &User) -> Value {
    json!({
        "id": user.id.to_string(),
        "email": user.email,
        "username": user.email,
        "name": user.name,
        "isSuperuser": user.is_admin,
        "dateJoined": iso8601_ms(user.created_at),
    })
}
