//! The SQL fragments of Discover's reads: each column's expression for errors (`events e`, `issues i`)
//! and transaction rollups (`transaction_names n`), and the conditions, groupings and orders built from
//! them. Only bound values and numbers the server computed go into the text.

use crate::domain::discover::{Column, Condition, Pattern};

use super::{Cell, ErrorOrder, Filters, GroupMatch, Grouping, IssueCondition};
use crate::store::issue_search::escape_like;
use crate::store::paging::{Param, SqlText};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    Errors,
    Transactions,
}

pub(super) fn is_numeric(column: Column) -> bool {
    matches!(
        column,
        Column::Project | Column::ProjectId | Column::Issue | Column::Timestamp
    )
}

/// The SQL of a column for a source, and whether rows are grouped by it (a constant is only selected).
pub(super) fn expression(source: Source, column: Column) -> (&'static str, bool) {
    let null = ("CAST(NULL AS TEXT)", false);
    match (source, column) {
        (Source::Errors, Column::Id) => ("e.event_id", true),
        (Source::Errors, Column::Timestamp) => ("e.timestamp", true),
        (Source::Errors, Column::Title) => ("e.title", true),
        (Source::Errors, Column::Issue) => ("e.issue_id", true),
        (Source::Errors, Column::Project | Column::ProjectId) => ("e.project_id", true),
        (Source::Errors, Column::Release) => ("e.release", true),
        (Source::Errors, Column::Environment) => ("e.environment", true),
        (Source::Errors, Column::Transaction) => ("e.transaction_name", true),
        (Source::Errors, Column::Level) => ("e.level", true),
        (Source::Errors, Column::Platform) => ("e.platform", true),
        (Source::Errors, Column::EventType) => ("i.issue_type", true),
        (Source::Transactions, Column::Project | Column::ProjectId) => ("n.project_id", true),
        (Source::Transactions, Column::Title | Column::Transaction) => ("n.name", true),
        (Source::Transactions, Column::TransactionOp) => ("n.op", true),
        // Rollups keep "no release" as an empty string; Discover shows it as null, as for errors.
        (Source::Transactions, Column::Release) => ("NULLIF(n.release, '')", true),
        (Source::Transactions, Column::Environment) => ("NULLIF(n.environment, '')", true),
        (Source::Transactions, Column::EventType) => ("CAST('transaction' AS TEXT)", false),
        _ => null,
    }
}

pub(super) fn column_sql(source: Source, column: Column) -> &'static str {
    expression(source, column).0
}

pub(super) fn push_page(text: &mut SqlText, (limit, offset): (i64, i64)) {
    text.push(" LIMIT ")
        .bind(Param::Int(limit))
        .push(" OFFSET ")
        .bind(Param::Int(offset));
}

pub(super) fn select_list(source: Source, columns: &[Column]) -> Vec<String> {
    columns
        .iter()
        .map(|column| {
            let sql = column_sql(source, *column);
            if is_numeric(*column) {
                format!("CAST({sql} AS BIGINT)")
            } else {
                sql.to_owned()
            }
        })
        .collect()
}

/// The series bucket of a row. The first bucket and the interval are numbers the server computed, so
/// they are written into the SQL (and grouped by the same text).
pub(super) fn bucket_sql(time: &str, buckets: Option<(i64, i64)>) -> String {
    match buckets {
        Some((first, interval)) => format!("CAST(({time} - {first}) / {interval} AS BIGINT)"),
        None => "CAST(0 AS BIGINT)".to_owned(),
    }
}

pub(super) fn group_by_list(source: Source, grouping: &Grouping, time: &str) -> Vec<String> {
    let mut list: Vec<String> = Vec::new();
    for (sql, grouped) in grouping.columns.iter().map(|c| expression(source, *c)) {
        if grouped && !list.iter().any(|s| s == sql) {
            list.push(sql.to_owned());
        }
    }
    if grouping.buckets.is_some() {
        list.push(bucket_sql(time, grouping.buckets));
    }
    list
}

pub(super) fn push_group_by(text: &mut SqlText, source: Source, grouping: &Grouping, time: &str) {
    let list = group_by_list(source, grouping, time);
    if !list.is_empty() {
        text.push(" GROUP BY ").push(&list.join(", "));
    }
}

pub(super) fn push_error_from(text: &mut SqlText, filters: &Filters, grouping: &Grouping, columns: &[Column]) {
    text.push(" FROM events e");
    let by_type = |columns: &[Column]| columns.contains(&Column::EventType);
    if filters.error_types.is_some() || by_type(columns) || grouping.only.as_ref().is_some_and(|o| by_type(&o.columns))
    {
        text.push(" JOIN issues i ON i.id = e.issue_id");
    }
    text.push(" WHERE e.project_id IN ")
        .bind_list(filters.project_ids.iter().map(|id| Param::Int(id.get())))
        .push(" AND e.timestamp >= ")
        .bind(Param::Int(filters.start_ms))
        .push(" AND e.timestamp < ")
        .bind(Param::Int(filters.end_ms));
    if !filters.environments.is_empty() {
        text.push(" AND e.environment IN ")
            .bind_list(filters.environments.iter().cloned().map(Param::Text));
    }
    if let Some(types) = &filters.error_types {
        text.push(" AND i.issue_type IN ")
            .bind_list(types.iter().cloned().map(Param::Text));
    }
    for issue in &filters.issues {
        push_issue_condition(text, issue);
    }
    push_common_filters(text, Source::Errors, filters, grouping);
}

/// Transactions are counted by the minute they ended in; a minute counts when any of it lies in the window.
pub(super) fn push_transaction_where(text: &mut SqlText, filters: &Filters, grouping: &Grouping, time: &str) {
    let first_minute = filters.start_ms.div_euclid(MINUTE_MS) * MINUTE_MS;
    text.push(" WHERE n.project_id IN ")
        .bind_list(filters.project_ids.iter().map(|id| Param::Int(id.get())))
        .push(&format!(" AND {time} >= "))
        .bind(Param::Int(first_minute))
        .push(&format!(" AND {time} < "))
        .bind(Param::Int(filters.end_ms));
    if !filters.environments.is_empty() {
        text.push(" AND n.environment IN ")
            .bind_list(filters.environments.iter().cloned().map(Param::Text));
    }
    push_common_filters(text, Source::Transactions, filters, grouping);
}

const MINUTE_MS: i64 = 60_000;

pub(super) fn push_common_filters(text: &mut SqlText, source: Source, filters: &Filters, grouping: &Grouping) {
    for condition in &filters.conditions {
        push_condition(text, source, condition);
    }
    let searched = match source {
        Source::Errors => "e.title",
        Source::Transactions => "n.name",
    };
    for term in &filters.text {
        let pattern = format!("%{}%", escape_like(&term.text.to_lowercase()));
        text.push(if term.negated { " AND NOT " } else { " AND " })
            .push(&format!("(LOWER({searched}) LIKE "))
            .bind(Param::Text(pattern))
            .push(" ESCAPE '\\')");
    }
    if let Some(only) = &grouping.only {
        push_group_match(text, source, only);
    }
}

/// `column:value` as SQL; a negated one keeps rows where the column is null (`!release:1.0` keeps
/// events without a release, as in Sentry).
pub(super) fn push_condition(text: &mut SqlText, source: Source, condition: &Condition) {
    let sql = column_sql(source, condition.column);
    if condition.negated {
        text.push(&format!(" AND ({sql} IS NULL OR NOT ("));
    } else {
        text.push(" AND ((");
    }
    for (i, value) in condition.values.iter().enumerate() {
        if i > 0 {
            text.push(" OR ");
        }
        match value {
            Pattern::Exact(exact) => {
                text.push(&format!("{sql} = ")).bind(Param::Text(exact.clone()));
            }
            Pattern::Wildcard(pattern) => {
                let like: Vec<String> = pattern.to_lowercase().split('*').map(escape_like).collect();
                text.push(&format!("LOWER({sql}) LIKE "))
                    .bind(Param::Text(like.join("%")))
                    .push(" ESCAPE '\\'");
            }
        }
    }
    text.push("))");
}

pub(super) fn push_issue_condition(text: &mut SqlText, condition: &IssueCondition) {
    if condition.issues.is_empty() {
        if !condition.negated {
            text.push(" AND 1 = 0");
        }
        return;
    }
    text.push(if condition.negated {
        " AND e.issue_id NOT IN (SELECT id FROM issues WHERE "
    } else {
        " AND e.issue_id IN (SELECT id FROM issues WHERE "
    });
    for (i, (project_id, number)) in condition.issues.iter().enumerate() {
        if i > 0 {
            text.push(" OR ");
        }
        text.push("(project_id = ")
            .bind(Param::Int(project_id.get()))
            .push(" AND short_id = ")
            .bind(Param::Int(*number))
            .push(")");
    }
    text.push(")");
}

/// Rows of the listed groups (or of none of them). Never null itself, so its negation is exact.
pub(super) fn push_group_match(text: &mut SqlText, source: Source, only: &GroupMatch) {
    if only.groups.is_empty() {
        if !only.exclude {
            text.push(" AND 1 = 0");
        }
        return;
    }
    text.push(if only.exclude { " AND NOT (" } else { " AND (" });
    for (i, group) in only.groups.iter().enumerate() {
        text.push(if i > 0 { " OR (1 = 1" } else { "(1 = 1" });
        for (column, cell) in only.columns.iter().zip(group) {
            let (sql, grouped) = expression(source, *column);
            if !grouped {
                continue;
            }
            match cell {
                Cell::Int(value) => {
                    text.push(&format!(" AND {sql} = ")).bind(Param::Int(*value));
                }
                Cell::Text(None) => {
                    text.push(&format!(" AND {sql} IS NULL"));
                }
                Cell::Text(Some(value)) => {
                    text.push(&format!(" AND ({sql} IS NOT NULL AND {sql} = "))
                        .bind(Param::Text(value.clone()))
                        .push(")");
                }
            }
        }
        text.push(")");
    }
    text.push(")");
}

/// Nulls last either way; ties go to the most recent event.
pub(super) fn push_error_order(text: &mut SqlText, order: ErrorOrder, grouped: bool) {
    let (sql, descending) = match order {
        ErrorOrder::Column(column, descending) => {
            let sql = column_sql(Source::Errors, column);
            text.push(&format!(" ORDER BY ({sql} IS NULL), "));
            (sql, descending)
        }
        ErrorOrder::Count(descending) if grouped => (" ORDER BY COUNT(*)", descending),
        ErrorOrder::Users(descending) if grouped => (" ORDER BY COUNT(DISTINCT e.user_key)", descending),
        ErrorOrder::LastSeen(descending) if grouped => (" ORDER BY MAX(e.timestamp)", descending),
        ErrorOrder::Count(descending) | ErrorOrder::Users(descending) | ErrorOrder::LastSeen(descending) => {
            (" ORDER BY e.timestamp", descending)
        }
    };
    text.push(sql).push(if descending { " DESC" } else { " ASC" });
    text.push(if grouped { ", MAX(e.id) DESC" } else { ", e.id DESC" });
}
