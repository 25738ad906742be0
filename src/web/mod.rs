//! The server-rendered web UI (askama templates in `templates/`, CSS and a little JS in `static/`, all
//! embedded in the binary). Handlers are thin: `session` says who is looking, `store` reads, a view struct
//! per template shapes what the page shows. Every value from an event is escaped by askama; nothing from
//! an event ever becomes markup, a URL or a class name.

pub mod charts;
pub mod error;
pub mod event;
pub mod format;
mod nav;
mod pages;
pub mod session;
mod static_files;

use axum::http::{header, HeaderValue};
use axum::routing::{get, post};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::core::Core;
use crate::store::Db;
pub use error::WebError;
pub use nav::Nav;

/// What every page handler can reach: the use cases, and for reads the database and public URL.
#[derive(Clone)]
pub struct WebState {
    pub core: Core,
    pub db: Db,
    pub public_url: url::Url,
    /// Whether cookies get `Secure` (the public URL is https).
    pub secure_cookies: bool,
    pub trust_proxy: bool,
}

impl WebState {
    pub fn new(core: Core, trust_proxy: bool) -> WebState {
        WebState {
            secure_cookies: core.public_url.scheme() == "https",
            db: core.db.clone(),
            public_url: core.public_url.clone(),
            trust_proxy,
            core,
        }
    }
}

/// No inline script or style, no framing, no plugins; forms post only here.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn router(state: WebState) -> Router {
    use pages::alerts::{channels, deliveries, metric_rules, rules};
    use pages::{
        account, auth, feedback, issue_detail, issues, members, monitors, performance, project_data,
        project_settings as settings, projects, releases, stats, traces, transaction,
    };
    let pages = Router::new()
        .route("/", get(auth::home))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/setup", get(auth::setup_page).post(auth::setup))
        .route("/settings/audit/", get(auth::audit_log))
        .route("/organizations/{org}/", get(projects::overview))
        .route("/organizations/{org}/stats/", get(stats::page))
        .route("/organizations/{org}/issues/", get(issues::list))
        .route("/organizations/{org}/issues/bulk", post(issues::bulk))
        .route("/organizations/{org}/issues/{id}/", get(issue_detail::show))
        .route("/organizations/{org}/issues/{id}/action", post(issue_detail::action))
        .route(
            "/organizations/{org}/issues/{id}/events/",
            get(issue_detail::event_list),
        )
        .route(
            "/organizations/{org}/issues/{id}/events/{event_id}/",
            get(issue_detail::show_event),
        )
        .route(
            "/organizations/{org}/issues/{id}/events/{event_id}/json",
            get(issue_detail::event_json),
        )
        .route(
            "/organizations/{org}/issues/{id}/events/{event_id}/attachments/{attachment_id}/",
            get(issue_detail::attachment),
        )
        .route("/organizations/{org}/projects/{project}/settings/", get(settings::page))
        .route(
            "/organizations/{org}/projects/{project}/performance/",
            get(performance::page),
        )
        .route("/organizations/{org}/projects/{project}/releases/", get(releases::page))
        .route("/organizations/{org}/projects/{project}/feedback/", get(feedback::page))
        .route(
            "/organizations/{org}/projects/{project}/monitors/",
            get(monitors::list).post(monitors::create),
        )
        .route(
            "/organizations/{org}/projects/{project}/monitors/{monitor}/",
            get(monitors::detail::page).post(monitors::detail::update),
        )
        .route(
            "/organizations/{org}/projects/{project}/monitors/{monitor}/delete",
            post(monitors::detail::delete),
        )
        .route(
            "/organizations/{org}/projects/{project}/performance/transaction/",
            get(transaction::page),
        )
        .route(
            "/organizations/{org}/projects/{project}/traces/{trace_id}/",
            get(traces::page),
        )
        .route(
            "/organizations/{org}/projects/{project}/settings/general",
            post(settings::general),
        )
        .route(
            "/organizations/{org}/projects/{project}/settings/keys",
            post(settings::create_key),
        )
        .route(
            "/organizations/{org}/projects/{project}/settings/keys/state",
            post(settings::key_state),
        )
        .route(
            "/organizations/{org}/projects/{project}/settings/keys/delete",
            post(settings::delete_key),
        )
        .route(
            "/organizations/{org}/projects/{project}/settings/data",
            post(project_data::save),
        )
        .route(
            "/organizations/{org}/projects/{project}/settings/scrubbing",
            post(settings::scrub),
        )
        .route(
            "/organizations/{org}/projects/{project}/settings/members",
            post(members::add),
        )
        .route(
            "/organizations/{org}/projects/{project}/settings/members/role",
            post(members::set_role),
        )
        .route(
            "/organizations/{org}/projects/{project}/settings/members/remove",
            post(members::remove),
        )
        .route("/organizations/{org}/projects/{project}/alerts/", get(rules::list))
        .route(
            "/organizations/{org}/projects/{project}/alerts/new",
            get(rules::new_form).post(rules::create),
        )
        .route(
            "/organizations/{org}/projects/{project}/alerts/deliveries/",
            get(deliveries::list),
        )
        .route(
            "/organizations/{org}/projects/{project}/alerts/metric/new",
            get(metric_rules::new_form).post(metric_rules::create),
        )
        .route(
            "/organizations/{org}/projects/{project}/alerts/metric/{rule}/",
            get(metric_rules::edit_form).post(metric_rules::update),
        )
        .route(
            "/organizations/{org}/projects/{project}/alerts/metric/{rule}/delete",
            post(metric_rules::delete),
        )
        .route(
            "/organizations/{org}/projects/{project}/alerts/{rule}/",
            get(rules::edit_form).post(rules::update),
        )
        .route(
            "/organizations/{org}/projects/{project}/alerts/{rule}/state",
            post(rules::set_state),
        )
        .route(
            "/organizations/{org}/projects/{project}/alerts/{rule}/delete",
            post(rules::delete),
        )
        .route("/organizations/{org}/settings/channels/", get(channels::list))
        .route(
            "/organizations/{org}/settings/channels/new",
            get(channels::new_form).post(channels::create),
        )
        .route(
            "/organizations/{org}/settings/channels/{channel}/",
            get(channels::edit_form).post(channels::update),
        )
        .route(
            "/organizations/{org}/settings/channels/{channel}/delete",
            post(channels::delete),
        )
        .route(
            "/organizations/{org}/settings/channels/{channel}/test",
            post(channels::test),
        )
        .route("/settings/account/", get(account::page))
        .route("/settings/account/password", post(account::change_password))
        .route("/settings/account/tokens", post(account::create_token))
        .route("/settings/account/tokens/revoke", post(account::revoke_token))
        .with_state(state)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    pages
        .merge(static_files::router())
        .layer(header_layer(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .layer(header_layer(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header_layer(header::REFERRER_POLICY, "same-origin"))
        .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
}

fn header_layer(name: header::HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}
