//! The two categories of issue (Sentry's `issue.category`): errors, made from the events SDKs send, and
//! performance issues, made from the problems found in transactions. An issue's type says which.

use crate::domain::performance::detectors::ProblemKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueCategory {
    Error,
    Performance,
}

impl IssueCategory {
    /// The category of an issue type (`error`, `default`, `performance_n_plus_one_db_queries`, …).
    pub fn of(issue_type: &str) -> IssueCategory {
        if ProblemKind::from_issue_type(issue_type).is_some() {
            IssueCategory::Performance
        } else {
            IssueCategory::Error
        }
    }

    /// `error`/`errors` or `performance`, as the issue list's type filter says it.
    pub fn parse(name: &str) -> Option<IssueCategory> {
        match name {
            "error" | "errors" => Some(IssueCategory::Error),
            "performance" => Some(IssueCategory::Performance),
            _ => None,
        }
    }

    /// The issue types of performance issues; every other type is an error's.
    pub fn performance_types() -> Vec<&'static str> {
        ProblemKind::ALL.iter().map(|kind| kind.issue_type()).collect()
    }

    pub fn label(self) -> &'static str {
        match self {
            IssueCategory::Error => "Error",
            IssueCategory::Performance => "Performance",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_types_fall_into_two_categories() {
        assert_eq!(IssueCategory::of("error"), IssueCategory::Error);
        assert_eq!(IssueCategory::of("default"), IssueCategory::Error);
        assert_eq!(
            IssueCategory::of("performance_n_plus_one_db_queries"),
            IssueCategory::Performance
        );
        assert_eq!(
            IssueCategory::of("performance_slow_db_query"),
            IssueCategory::Performance
        );
        assert_eq!(IssueCategory::parse("errors"), Some(IssueCategory::Error));
        assert_eq!(IssueCategory::parse("performance"), Some(IssueCategory::Performance));
        assert_eq!(IssueCategory::parse("all"), None);
        assert_eq!(IssueCategory::performance_types().len(), 2);
    }
}
