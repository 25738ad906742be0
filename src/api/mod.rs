//! Sentry's web API subset (`/api/0/…`, protocol §11) for sentry-cli, Grafana and IDE tools. Handlers are
//! thin: `auth` decides access, `domain::search` parses queries, `store` reads and writes, `json` shapes.

pub mod auth;
pub mod body;
pub mod error;
pub mod issue_update;
pub mod json;
pub mod params;
mod routes;

use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, post};
use axum::Router;

use crate::core::Core;
use crate::domain::artifacts::{BUNDLE_LIMITS, MAX_REQUEST_SIZE};
use crate::store::Db;

/// A single release file's form: the file (at most a bundle file's size) and its few text fields.
const MAX_RELEASE_FILE_REQUEST: usize = BUNDLE_LIMITS.max_file_bytes as usize + 64 * 1024;

/// What every API handler can reach: the use cases, and for reads the database and public URL.
#[derive(Clone)]
pub struct ApiState {
    pub core: Core,
    pub db: Db,
    pub public_url: url::Url,
}

impl ApiState {
    pub fn new(core: Core) -> ApiState {
        ApiState {
            db: core.db.clone(),
            public_url: core.public_url.clone(),
            core,
        }
    }
}

pub fn router(state: ApiState) -> Router {
    use routes::{
        alert_channels as channels, alert_rules as rules, artifacts, discover, events, index, issues, lookups,
        project_filters, projects, release_commits as commits, releases, stats, teams,
    };
    Router::new()
        .route("/api/0/", get(index::root))
        .route("/api/0/organizations/", get(index::organizations))
        .route("/api/0/organizations/{org}/", get(index::get_organization))
        .route("/api/0/organizations/{org}/stats_v2/", get(stats::stats_v2))
        .route("/api/0/organizations/{org}/events/", get(discover::events))
        .route("/api/0/organizations/{org}/events-stats/", get(discover::events_stats))
        .route("/api/0/organizations/{org}/tags/", get(discover::tags))
        .route("/api/0/organizations/{org}/sessions/", get(routes::sessions::sessions))
        .route(
            "/api/0/organizations/{org}/monitors/",
            get(routes::monitors::list).post(routes::monitors::create),
        )
        .route(
            "/api/0/organizations/{org}/monitors/{slug}/",
            get(routes::monitors::get)
                .put(routes::monitors::update)
                .delete(routes::monitors::delete),
        )
        .route(
            "/api/0/organizations/{org}/monitors/{slug}/checkins/",
            get(routes::monitors::check_ins),
        )
        .route(
            "/api/0/projects/{org}/{project}/user-feedback/",
            get(routes::feedback::list).post(routes::feedback::create),
        )
        .route("/api/0/organizations/{org}/teams/", get(teams::organization_teams))
        .route("/api/0/projects/", get(projects::all_projects))
        .route(
            "/api/0/organizations/{org}/projects/",
            get(projects::organization_projects),
        )
        .route(
            "/api/0/teams/{org}/{team}/projects/",
            get(projects::team_projects).post(projects::create),
        )
        .route(
            "/api/0/projects/{org}/{project}/",
            get(projects::detail).put(project_filters::update_project),
        )
        .route("/api/0/projects/{org}/{project}/filters/", get(project_filters::list))
        .route(
            "/api/0/projects/{org}/{project}/filters/{filter}/",
            axum::routing::put(project_filters::update),
        )
        .route(
            "/api/0/projects/{org}/{project}/keys/",
            get(projects::keys).post(projects::create_key),
        )
        .route(
            "/api/0/projects/{org}/{project}/keys/{key}/",
            get(projects::key)
                .put(projects::update_key)
                .delete(projects::delete_key),
        )
        .route(
            "/api/0/projects/{org}/{project}/issues/",
            get(issues::project_list)
                .put(issues::project_bulk_update)
                .delete(issues::project_bulk_delete),
        )
        .route(
            "/api/0/organizations/{org}/issues/",
            get(issues::organization_list)
                .put(issues::organization_bulk_update)
                .delete(issues::organization_bulk_delete),
        )
        .route(
            "/api/0/issues/{issue}/",
            get(issues::detail).put(issues::update).delete(issues::delete),
        )
        .route(
            "/api/0/organizations/{org}/issues/{issue}/",
            get(issues::org_detail)
                .put(issues::org_update)
                .delete(issues::org_delete),
        )
        .route("/api/0/issues/{issue}/events/", get(events::issue_events))
        .route(
            "/api/0/organizations/{org}/issues/{issue}/events/",
            get(events::org_issue_events),
        )
        .route("/api/0/issues/{issue}/events/{event}/", get(events::issue_event))
        .route(
            "/api/0/organizations/{org}/issues/{issue}/events/{event}/",
            get(events::org_issue_event),
        )
        .route("/api/0/projects/{org}/{project}/events/", get(events::project_events))
        .route(
            "/api/0/projects/{org}/{project}/events/{event}/",
            get(events::project_event),
        )
        .route(
            "/api/0/projects/{org}/{project}/events/{event}/attachments/",
            get(routes::attachments::list),
        )
        .route(
            "/api/0/projects/{org}/{project}/events/{event}/attachments/{attachment}/",
            get(routes::attachments::detail),
        )
        .route("/api/0/issues/{issue}/tags/", get(lookups::issue_tags))
        .route("/api/0/issues/{issue}/tags/{key}/", get(lookups::issue_tag))
        .route(
            "/api/0/issues/{issue}/tags/{key}/values/",
            get(lookups::issue_tag_values),
        )
        .route(
            "/api/0/organizations/{org}/shortids/{short_id}/",
            get(lookups::short_id),
        )
        .route(
            "/api/0/organizations/{org}/eventids/{event_id}/",
            get(lookups::event_id),
        )
        .route(
            "/api/0/organizations/{org}/releases/",
            get(releases::org_list).post(releases::org_create),
        )
        .route(
            "/api/0/organizations/{org}/releases/{version}/",
            get(releases::org_detail)
                .put(releases::org_update)
                .delete(releases::org_delete),
        )
        .route(
            "/api/0/projects/{org}/{project}/releases/",
            get(releases::project_list).post(releases::project_create),
        )
        .route(
            "/api/0/projects/{org}/{project}/releases/{version}/",
            get(releases::project_detail)
                .put(releases::project_update)
                .delete(releases::project_delete),
        )
        .route(
            "/api/0/organizations/{org}/releases/{version}/deploys/",
            get(releases::deploys).post(releases::create_deploy),
        )
        .route(
            "/api/0/organizations/{org}/releases/{version}/commits/",
            get(commits::commits),
        )
        .route(
            "/api/0/projects/{org}/{project}/releases/{version}/commits/",
            get(commits::project_commits),
        )
        .route(
            "/api/0/organizations/{org}/releases/{version}/previous-with-commits/",
            get(commits::previous_with_commits),
        )
        .route(
            "/api/0/organizations/{org}/repos/",
            get(commits::repositories).post(commits::add_repository),
        )
        .route(
            "/api/0/organizations/{org}/chunk-upload/",
            get(artifacts::options)
                .post(artifacts::upload_chunks)
                .layer(DefaultBodyLimit::max(MAX_REQUEST_SIZE as usize)),
        )
        .route(
            "/api/0/organizations/{org}/artifactbundle/assemble/",
            post(artifacts::assemble_bundle),
        )
        .route(
            "/api/0/organizations/{org}/releases/{version}/assemble/",
            post(artifacts::assemble_release),
        )
        .route(
            "/api/0/organizations/{org}/releases/{version}/files/",
            get(artifacts::org_files)
                .post(artifacts::upload_org_file)
                .layer(DefaultBodyLimit::max(MAX_RELEASE_FILE_REQUEST)),
        )
        .route(
            "/api/0/projects/{org}/{project}/releases/{version}/files/",
            get(artifacts::project_files)
                .post(artifacts::upload_project_file)
                .layer(DefaultBodyLimit::max(MAX_RELEASE_FILE_REQUEST)),
        )
        .route(
            "/api/0/projects/{org}/{project}/files/dsyms/",
            any(artifacts::native_debug_files),
        )
        .route(
            "/api/0/projects/{org}/{project}/files/difs/assemble/",
            any(artifacts::native_debug_files),
        )
        .route(
            "/api/0/projects/{org}/{project}/rules/",
            get(rules::list).post(rules::create),
        )
        .route(
            "/api/0/projects/{org}/{project}/rules/{rule}/",
            get(rules::detail).put(rules::update).delete(rules::delete),
        )
        .route("/api/0/projects/{org}/{project}/deliveries/", get(rules::deliveries))
        .route(
            "/api/0/organizations/{org}/channels/",
            get(channels::list).post(channels::create),
        )
        .route(
            "/api/0/organizations/{org}/channels/{channel}/",
            get(channels::detail).put(channels::update).delete(channels::delete),
        )
        .route(
            "/api/0/organizations/{org}/channels/{channel}/test/",
            post(channels::test),
        )
        .route("/api/0/{*rest}", any(index::not_found))
        .method_not_allowed_fallback(index::method_not_allowed)
        .with_state(state)
}
