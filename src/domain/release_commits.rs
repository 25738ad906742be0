//! The commits a release is sent (sentry-cli `releases set-commits`): what a valid list is, and what the
//! release shows of it (its newest commit, its authors).

use std::collections::HashSet;

/// The most commits one release keeps; a longer list is refused rather than cut short.
pub const MAX_COMMITS: usize = 10_000;
/// sentry-cli refuses longer SHAs too ("enforced in backend", its `MAX_COMMIT_SHA_LENGTH`).
pub const MAX_COMMIT_ID_LEN: usize = 64;
pub const MAX_REPOSITORY_NAME_LEN: usize = 200;

/// One commit as a tool sends it; text fields are stored as sent and escaped wherever shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Commit {
    pub repository: String,
    pub id: String,
    pub message: Option<String>,
    pub author_name: Option<String>,
    pub author_email: Option<String>,
    /// Author time, epoch milliseconds.
    pub timestamp: Option<i64>,
}

/// A head commit of a repository (`refs` in the release body): Faultline cannot ask the provider for the
/// commits in between, so the head commit is what the release keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadRef {
    pub repository: String,
    pub commit: String,
    pub previous_commit: Option<String>,
}

/// What a release update says about commits: an explicit list, or head refs of known repositories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitChange {
    Commits(Vec<Commit>),
    Refs(Vec<HeadRef>),
}

/// Checks a commit list and drops repeated (repository, id) pairs, keeping the first; the error is a
/// sentence for the person who sent it.
pub fn checked_commits(commits: Vec<Commit>) -> Result<Vec<Commit>, String> {
    if commits.len() > MAX_COMMITS {
        return Err(format!(
            "commits: {} commits is too many for one release (at most {MAX_COMMITS})",
            commits.len()
        ));
    }
    let mut seen = HashSet::new();
    let mut kept = Vec::with_capacity(commits.len());
    for (index, mut commit) in commits.into_iter().enumerate() {
        commit.id = commit.id.trim().to_owned();
        commit.repository = commit.repository.trim().to_owned();
        check_commit_id(&format!("commits[{index}]"), &commit.id)?;
        check_repository_name(&format!("commits[{index}]"), &commit.repository)?;
        if seen.insert((commit.repository.clone(), commit.id.clone())) {
            kept.push(commit);
        }
    }
    Ok(kept)
}

/// Checks head refs the same way: each names a repository and a commit.
pub fn checked_refs(refs: &[HeadRef]) -> Result<(), String> {
    if refs.len() > MAX_COMMITS {
        return Err(format!("refs: {} refs is too many (at most {MAX_COMMITS})", refs.len()));
    }
    for (index, head) in refs.iter().enumerate() {
        check_commit_id(&format!("refs[{index}]"), head.commit.trim())?;
        check_repository_name(&format!("refs[{index}]"), head.repository.trim())?;
    }
    Ok(())
}

/// The commits a release keeps for its head refs: one per ref, the head commit.
pub fn head_commits(refs: &[HeadRef]) -> Vec<Commit> {
    refs.iter()
        .map(|head| Commit {
            repository: head.repository.trim().to_owned(),
            id: head.commit.trim().to_owned(),
            ..Commit::default()
        })
        .collect()
}

pub fn check_repository_name(what: &str, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("{what}: a repository name is required"));
    }
    if name.chars().count() > MAX_REPOSITORY_NAME_LEN || name.contains(['\n', '\r']) {
        return Err(format!(
            "{what}: a repository name is at most {MAX_REPOSITORY_NAME_LEN} characters on one line"
        ));
    }
    Ok(())
}

fn check_commit_id(what: &str, id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err(format!("{what}: a commit needs an id (its SHA)"));
    }
    if id.len() > MAX_COMMIT_ID_LEN || id.chars().any(char::is_whitespace) {
        return Err(format!(
            "{what}: the commit id must be at most {MAX_COMMIT_ID_LEN} characters without spaces"
        ));
    }
    Ok(())
}

/// The distinct authors of the commits, in commit order, as (name, email); a commit without either is none.
pub fn authors(commits: &[Commit]) -> Vec<(Option<String>, Option<String>)> {
    let mut seen = HashSet::new();
    commits
        .iter()
        .filter(|c| c.author_name.is_some() || c.author_email.is_some())
        .filter(|c| seen.insert(author_key(c)))
        .map(|c| (c.author_name.clone(), c.author_email.clone()))
        .collect()
}

/// Authors are the same person when their e-mails match (ignoring case), else when their names match.
fn author_key(commit: &Commit) -> String {
    match (&commit.author_email, &commit.author_name) {
        (Some(email), _) => format!("e:{}", email.to_lowercase()),
        (None, Some(name)) => format!("n:{name}"),
        (None, None) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(repository: &str, id: &str) -> Commit {
        Commit {
            repository: repository.to_owned(),
            id: id.to_owned(),
            ..Commit::default()
        }
    }

    #[test]
    fn a_commit_without_an_id_is_refused_by_its_position() {
        let error = checked_commits(vec![commit("acme/shop", "abc"), commit("acme/shop", " ")]).unwrap_err();
        assert_eq!(error, "commits[1]: a commit needs an id (its SHA)");
    }

    #[test]
    fn a_commit_without_a_repository_is_refused() {
        let error = checked_commits(vec![commit("", "abc")]).unwrap_err();
        assert!(error.contains("repository name is required"), "{error}");
    }

    #[test]
    fn more_than_ten_thousand_commits_are_refused_not_cut() {
        let many = vec![commit("acme/shop", "abc"); MAX_COMMITS + 1];
        let error = checked_commits(many).unwrap_err();
        assert!(error.contains("10001 commits is too many"), "{error}");
    }

    #[test]
    fn an_id_longer_than_a_sha_is_refused() {
        let error = checked_commits(vec![commit("acme/shop", &"a".repeat(65))]).unwrap_err();
        assert!(error.contains("at most 64"), "{error}");
    }

    #[test]
    fn a_repeated_commit_is_kept_once_in_its_first_place() {
        let kept = checked_commits(vec![
            commit("acme/shop", "b"),
            commit("acme/shop", "a"),
            commit("acme/shop", "b"),
        ])
        .unwrap();
        let ids: Vec<&str> = kept.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["b", "a"]);
    }

    #[test]
    fn hostile_text_is_kept_as_sent() {
        let mut hostile = commit("acme/shop", "abc");
        hostile.message = Some("<script>alert(1)</script>'; DROP TABLE releases; --".to_owned());
        let kept = checked_commits(vec![hostile.clone()]).unwrap();
        assert_eq!(kept, [hostile]);
    }

    #[test]
    fn authors_are_distinct_by_email_in_commit_order() {
        let by = |name: &str, email: &str| Commit {
            author_name: Some(name.to_owned()),
            author_email: Some(email.to_owned()),
            ..commit("acme/shop", name)
        };
        let authors = authors(&[
            by("Ada", "ada@example.com"),
            by("Bob", "bob@example.com"),
            by("Ada L.", "ADA@example.com"),
            commit("acme/shop", "anonymous"),
        ]);
        let names: Vec<_> = authors.iter().map(|a| a.0.as_deref().unwrap()).collect();
        assert_eq!(names, ["Ada", "Bob"]);
    }

    #[test]
    fn a_head_ref_becomes_its_head_commit() {
        let refs = [HeadRef {
            repository: "acme/shop".to_owned(),
            commit: "def".to_owned(),
            previous_commit: Some("abc".to_owned()),
        }];
        assert_eq!(head_commits(&refs), [commit("acme/shop", "def")]);
        assert!(checked_refs(&refs).is_ok());
    }
}
