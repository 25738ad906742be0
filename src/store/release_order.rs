//! The release order a batch needs to apply release-based resolutions ("resolved in the next release"):
//! when each release of a project was first seen, loaded only for projects with such a resolution pending.

use crate::domain::{ProjectId, Timestamp};
use std::collections::{HashMap, HashSet};

use crate::domain::lifecycle::{self, ReleaseOrder, Resolution};

use super::batch::ExistingIssue;
use super::{on_tx, StoreError, Tx};

/// Release first-seen instants, loaded only for projects with a release-based resolution pending.
#[derive(Default)]
pub(super) struct ReleaseBook {
    first_seen: HashMap<(ProjectId, String), Timestamp>,
}

/// The release order within one project.
pub(super) struct ProjectReleases<'a> {
    pub book: &'a ReleaseBook,
    pub project_id: ProjectId,
}

impl ReleaseOrder for ProjectReleases<'_> {
    fn cmp_releases(&self, a: &str, b: &str) -> std::cmp::Ordering {
        let seen = |v: &str| self.book.first_seen.get(&(self.project_id, v.to_owned())).copied();
        lifecycle::compare_releases(a, seen(a), b, seen(b))
    }
}

pub(super) async fn load_release_order(
    tx: &mut Tx,
    existing: &HashMap<(ProjectId, String), ExistingIssue>,
) -> Result<ReleaseBook, StoreError> {
    let projects: HashSet<ProjectId> = existing
        .iter()
        .filter(|(_, issue)| {
            matches!(
                issue.state.resolution,
                Some(Resolution::InNextRelease { .. } | Resolution::InRelease(_))
            )
        })
        .map(|((project_id, _), _)| *project_id)
        .collect();
    let mut book = ReleaseBook::default();
    for project_id in projects {
        let sql = "SELECT version, first_seen FROM releases WHERE project_id = $1";
        let rows: Vec<(String, Timestamp)> =
            on_tx!(tx, conn, Backend => sqlx::query_as(sql).bind(project_id).fetch_all(&mut *conn).await?);
        book.first_seen
            .extend(rows.into_iter().map(|(version, at)| ((project_id, version), at)));
    }
    Ok(book)
}
