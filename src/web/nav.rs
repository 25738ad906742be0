//! What the page frame (templates/base.html) shows around every page: who is signed in, their
//! organizations, and the CSRF token the sign-out form needs.

use super::session::Viewer;
use super::static_files::VERSION;

#[derive(Debug, Clone, Default)]
pub struct Nav {
    pub title: String,
    pub user_email: Option<String>,
    pub is_admin: bool,
    pub csrf: String,
    pub organizations: Vec<String>,
    pub current_org: Option<String>,
    /// The version segment of static file URLs.
    pub static_version: String,
}

impl Nav {
    /// The frame of a page seen before signing in.
    pub fn anonymous(title: impl Into<String>) -> Nav {
        Nav {
            title: title.into(),
            static_version: VERSION.clone(),
            ..Nav::default()
        }
    }

    pub fn for_viewer(viewer: &Viewer, title: impl Into<String>, current_org: Option<&str>) -> Nav {
        Nav {
            title: title.into(),
            user_email: Some(viewer.session.user.email.clone()),
            is_admin: viewer.session.user.is_admin,
            csrf: viewer.csrf().to_owned(),
            organizations: viewer.memberships.iter().map(|(o, _)| o.slug.clone()).collect(),
            current_org: current_org.map(str::to_owned),
            static_version: VERSION.clone(),
        }
    }
}
