//! Issue listings: a typed search query (parsed in `domain::search`) turned into SQL, with keyset pages per
//! sort order. Every listing is scoped to the project ids the caller may see.

use crate::domain::issue_category::IssueCategory;
use crate::domain::search::{SearchQuery, Term, TermKind};
use crate::domain::ProjectId;

use super::issues::{issue_select, Issue, IssueRow};
use super::paging::{bind_params, into_page, Page, PageRequest, Param, SqlText};
use super::{on_pool, Db, StoreError};

/// Sentry's issue sort orders, each newest/largest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueSort {
    /// Last seen.
    Date,
    /// First seen.
    New,
    /// Times seen.
    Freq,
    /// Distinct users.
    User,
}

impl IssueSort {
    pub fn parse(name: &str) -> Option<IssueSort> {
        match name {
            // Grafana's Sentry data source offers `priority`, which Sentry ranks by recency and frequency
            // together; here it is the most recently seen first.
            "date" | "" | "priority" => Some(IssueSort::Date),
            "new" => Some(IssueSort::New),
            "freq" => Some(IssueSort::Freq),
            "user" => Some(IssueSort::User),
            _ => None,
        }
    }

    pub fn column(self) -> &'static str {
        match self {
            IssueSort::Date => "last_seen",
            IssueSort::New => "first_seen",
            IssueSort::Freq => "times_seen",
            IssueSort::User => "user_count",
        }
    }

    /// The value of this sort's column for an issue, for cursors.
    pub fn key_of(self, issue: &Issue) -> i64 {
        match self {
            IssueSort::Date => issue.last_seen.as_millis(),
            IssueSort::New => issue.first_seen.as_millis(),
            IssueSort::Freq => issue.times_seen,
            IssueSort::User => issue.user_count,
        }
    }
}

/// What to list: the projects in scope and the constraints on their issues.
#[derive(Debug, Clone, Default)]
pub struct IssueFilter {
    pub project_ids: Vec<ProjectId>,
    pub query: SearchQuery,
    /// Any of these environments (empty: all).
    pub environments: Vec<String>,
    /// Seen at or after (epoch ms).
    pub start_ms: Option<i64>,
    /// First seen at or before (epoch ms).
    pub end_ms: Option<i64>,
    /// Only errors or only performance issues (`None`: both).
    pub category: Option<IssueCategory>,
}

pub async fn search_issues(
    db: &Db,
    filter: &IssueFilter,
    sort: IssueSort,
    page: &PageRequest,
) -> Result<Page<Issue>, StoreError> {
    if filter.project_ids.is_empty() {
        return Ok(Page {
            items: Vec::new(),
            more: false,
        });
    }
    let mut text = SqlText::default();
    text.push(&issue_select()).push(" WHERE project_id IN ");
    text.bind_list(filter.project_ids.iter().map(|id| Param::Int(id.get())));
    push_filter(&mut text, filter);
    text.push_page(sort.column(), page);
    let SqlText { sql, params } = text;
    let rows: Vec<IssueRow> = on_pool!(db, pool => bind_params!(sqlx::query_as(&sql), params).fetch_all(pool).await?);
    let issues = rows
        .into_iter()
        .map(IssueRow::into_issue)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(into_page(issues, page))
}

fn push_filter(text: &mut SqlText, filter: &IssueFilter) {
    if !filter.environments.is_empty() {
        text.push(" AND ");
        push_tag_exists(text, "environment", &filter.environments);
    }
    if let Some(start) = filter.start_ms {
        text.push(" AND last_seen >= ").bind(Param::Int(start));
    }
    if let Some(end) = filter.end_ms {
        text.push(" AND first_seen <= ").bind(Param::Int(end));
    }
    if let Some(category) = filter.category {
        let performance_types = IssueCategory::performance_types().into_iter();
        text.push(match category {
            IssueCategory::Performance => " AND issue_type IN ",
            IssueCategory::Error => " AND issue_type NOT IN ",
        })
        .bind_list(performance_types.map(|t| Param::Text(t.to_owned())));
    }
    for term in &filter.query.terms {
        text.push(if term.negated { " AND NOT " } else { " AND " });
        push_term(text, term);
    }
}

fn push_term(text: &mut SqlText, term: &Term) {
    match &term.kind {
        TermKind::Status(statuses) => {
            text.push("status IN ")
                .bind_list(statuses.iter().map(|s| Param::Text(s.as_str().to_owned())));
        }
        TermKind::MatchNothing => {
            text.push("(1 = 0)");
        }
        TermKind::Level(levels) => {
            text.push("level IN ")
                .bind_list(levels.iter().map(|l| Param::Text(l.as_str().to_owned())));
        }
        TermKind::Tag { key, values } => {
            push_tag_exists(text, key, values);
        }
        TermKind::Text(words) => {
            let pattern = format!("%{}%", escape_like(&words.to_lowercase()));
            text.push("(LOWER(title) LIKE ")
                .bind(Param::Text(pattern.clone()))
                .push(" ESCAPE '\\' OR LOWER(culprit) LIKE ")
                .bind(Param::Text(pattern))
                .push(" ESCAPE '\\')");
        }
    }
}

fn push_tag_exists(text: &mut SqlText, key: &str, values: &[String]) {
    text.push("EXISTS (SELECT 1 FROM issue_tags t WHERE t.issue_id = issues.id AND t.key = ")
        .bind(Param::Text(key.to_owned()))
        .push(" AND t.value IN ")
        .bind_list(values.iter().cloned().map(Param::Text))
        .push(")");
}

/// Makes `%`, `_` and `\` match themselves in a LIKE pattern.
pub(crate) fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}
