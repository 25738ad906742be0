//! Discover's reads (`core::discover`): errors counted per group (or listed) from `events`, transactions
//! summed from their per-minute rollups (`transaction_minutes`, and `transaction_buckets` for the duration
//! histograms), with `domain::discover`'s conditions as SQL. One SQL text for both databases; only bound
//! values come from the request.

use sqlx::Row;

use crate::domain::discover::{Column, Condition, Pattern, TextTerm};
use crate::domain::{IssueId, ProjectId};

use super::issue_search::escape_like;
use super::paging::{bind_params, Param, SqlText};
use super::{on_pool, Db, StoreError};

/// A grouped value as read: project and issue ids and timestamps are numbers, the rest text or null.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cell {
    Int(i64),
    Text(Option<String>),
}

/// The rows a query reads: projects, window, the `environment=` list and the query's conditions.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub project_ids: Vec<ProjectId>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub environments: Vec<String>,
    /// Conditions on plain columns (not `project`, resolved into `project_ids`, nor `issue`).
    pub conditions: Vec<Condition>,
    pub issues: Vec<IssueCondition>,
    pub text: Vec<TextTerm>,
    /// Errors only: the issue types (`error`, `default`) to keep; `None` keeps both.
    pub error_types: Option<Vec<String>>,
}

/// `issue:` resolved to `(project, short id number)` pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueCondition {
    pub negated: bool,
    pub issues: Vec<(ProjectId, i64)>,
}

/// How rows are grouped: by these columns, per series bucket when asked, within (or outside) some groups.
#[derive(Debug, Clone, Default)]
pub struct Grouping {
    pub columns: Vec<Column>,
    /// `(first bucket start, interval)` in ms: rows per bucket.
    pub buckets: Option<(i64, i64)>,
    pub only: Option<GroupMatch>,
}

/// Groups, as values of `columns`, to keep (top events) or leave out (the "Other" series).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMatch {
    pub columns: Vec<Column>,
    pub groups: Vec<Vec<Cell>>,
    pub exclude: bool,
}

/// How errors are ordered in SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorOrder {
    Column(Column, bool),
    Count(bool),
    Users(bool),
    LastSeen(bool),
}

/// A group of errors (or one error, when listed): its values, series bucket, and sums.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorGroup {
    pub cells: Vec<Cell>,
    pub bucket: i64,
    pub count: i64,
    pub users: i64,
    pub last_seen_ms: Option<i64>,
}

/// A group of transaction rollups.
#[derive(Debug, Clone, PartialEq)]
pub struct TransactionGroup {
    pub cells: Vec<Cell>,
    pub bucket: i64,
    pub count: i64,
    pub failures: i64,
    pub duration_ms: f64,
    pub last_minute_ms: Option<i64>,
}

/// One duration-histogram bucket of a group of transactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistogramCount {
    pub cells: Vec<Cell>,
    pub bucket: i64,
    pub histogram_bucket: usize,
    pub count: i64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Errors,
    Transactions,
}

fn is_numeric(column: Column) -> bool {
    matches!(
        column,
        Column::Project | Column::ProjectId | Column::Issue | Column::Timestamp
    )
}

/// The SQL of a column for a source; `None` for a constant, which is selected but not grouped by.
fn expression(source: Source, column: Column) -> (&'static str, bool) {
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

fn column_sql(source: Source, column: Column) -> &'static str {
    expression(source, column).0
}

/// Errors per group of `grouping` (one row when it has no columns and no buckets), `users` counting
/// distinct users too, ordered and paged in SQL.
pub async fn error_groups(
    db: &Db,
    filters: &Filters,
    grouping: &Grouping,
    users: bool,
    order: ErrorOrder,
    page: (i64, i64),
) -> Result<Vec<ErrorGroup>, StoreError> {
    if filters.project_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut items = select_list(Source::Errors, &grouping.columns);
    items.push(bucket_sql("e.timestamp", grouping.buckets));
    items.push("COUNT(*)".to_owned());
    items.push(
        if users {
            "COUNT(DISTINCT e.user_key)"
        } else {
            "CAST(0 AS BIGINT)"
        }
        .to_owned(),
    );
    items.push("MAX(e.timestamp)".to_owned());
    let mut text = SqlText::default();
    text.push("SELECT ").push(&items.join(", "));
    push_error_from(&mut text, filters, grouping, &grouping.columns);
    push_group_by(&mut text, Source::Errors, grouping, "e.timestamp");
    push_error_order(&mut text, order, true);
    push_page(&mut text, page);
    fetch_error_rows(db, text, &grouping.columns).await
}

/// Errors one row each (no aggregate asked), ordered and paged in SQL.
pub async fn error_rows(
    db: &Db,
    filters: &Filters,
    columns: &[Column],
    order: ErrorOrder,
    page: (i64, i64),
) -> Result<Vec<ErrorGroup>, StoreError> {
    if filters.project_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut items = select_list(Source::Errors, columns);
    items.extend(
        [
            "CAST(0 AS BIGINT)",
            "CAST(1 AS BIGINT)",
            "CAST(0 AS BIGINT)",
            "e.timestamp",
        ]
        .map(String::from),
    );
    let mut text = SqlText::default();
    text.push("SELECT ").push(&items.join(", "));
    push_error_from(&mut text, filters, &Grouping::default(), columns);
    push_error_order(&mut text, order, false);
    push_page(&mut text, page);
    fetch_error_rows(db, text, columns).await
}

fn push_page(text: &mut SqlText, (limit, offset): (i64, i64)) {
    text.push(" LIMIT ")
        .bind(Param::Int(limit))
        .push(" OFFSET ")
        .bind(Param::Int(offset));
}

async fn fetch_error_rows(db: &Db, text: SqlText, columns: &[Column]) -> Result<Vec<ErrorGroup>, StoreError> {
    let width = columns.len();
    let SqlText { sql, params } = text;
    let groups = on_pool!(db, pool => {
        let rows = bind_params!(sqlx::query(&sql), params).fetch_all(pool).await?;
        rows.iter()
            .map(|row| {
                Ok(ErrorGroup {
                    cells: read_cells(row, columns)?,
                    bucket: row.try_get::<Option<i64>, _>(width)?.unwrap_or(0),
                    count: row.try_get::<Option<i64>, _>(width + 1)?.unwrap_or(0),
                    users: row.try_get::<Option<i64>, _>(width + 2)?.unwrap_or(0),
                    last_seen_ms: row.try_get(width + 3)?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?
    });
    Ok(groups)
}

/// Transaction rollups summed per group of `grouping`.
pub async fn transaction_groups(
    db: &Db,
    filters: &Filters,
    grouping: &Grouping,
) -> Result<Vec<TransactionGroup>, StoreError> {
    if filters.project_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut items = select_list(Source::Transactions, &grouping.columns);
    items.push(bucket_sql("m.minute", grouping.buckets));
    items.push(
        "CAST(SUM(m.count) AS BIGINT), CAST(SUM(m.failures) AS BIGINT), \
         CAST(SUM(m.duration_ms) AS DOUBLE PRECISION), MAX(m.minute)"
            .to_owned(),
    );
    let mut text = SqlText::default();
    text.push("SELECT ").push(&items.join(", "));
    text.push(" FROM transaction_names n JOIN transaction_minutes m ON m.name_id = n.id");
    push_transaction_where(&mut text, filters, grouping, "m.minute");
    push_group_by(&mut text, Source::Transactions, grouping, "m.minute");
    let columns = &grouping.columns;
    let width = columns.len();
    let SqlText { sql, params } = text;
    let groups = on_pool!(db, pool => {
        let rows = bind_params!(sqlx::query(&sql), params).fetch_all(pool).await?;
        rows.iter()
            .map(|row| {
                Ok(TransactionGroup {
                    cells: read_cells(row, columns)?,
                    bucket: row.try_get::<Option<i64>, _>(width)?.unwrap_or(0),
                    count: row.try_get::<Option<i64>, _>(width + 1)?.unwrap_or(0),
                    failures: row.try_get::<Option<i64>, _>(width + 2)?.unwrap_or(0),
                    duration_ms: row.try_get::<Option<f64>, _>(width + 3)?.unwrap_or(0.0),
                    last_minute_ms: row.try_get(width + 4)?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?
    });
    Ok(groups)
}

/// The duration histograms of the same groups: counts per histogram bucket.
pub async fn transaction_histograms(
    db: &Db,
    filters: &Filters,
    grouping: &Grouping,
) -> Result<Vec<HistogramCount>, StoreError> {
    if filters.project_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut items = select_list(Source::Transactions, &grouping.columns);
    items.push(bucket_sql("b.minute", grouping.buckets));
    items.push("CAST(b.bucket AS BIGINT), CAST(SUM(b.count) AS BIGINT)".to_owned());
    let mut text = SqlText::default();
    text.push("SELECT ").push(&items.join(", "));
    text.push(" FROM transaction_names n JOIN transaction_buckets b ON b.name_id = n.id");
    push_transaction_where(&mut text, filters, grouping, "b.minute");
    let mut by = group_by_list(Source::Transactions, grouping, "b.minute");
    by.push("b.bucket".to_owned());
    text.push(" GROUP BY ").push(&by.join(", "));
    let columns = &grouping.columns;
    let width = columns.len();
    let SqlText { sql, params } = text;
    let counts = on_pool!(db, pool => {
        let rows = bind_params!(sqlx::query(&sql), params).fetch_all(pool).await?;
        rows.iter()
            .map(|row| {
                Ok(HistogramCount {
                    cells: read_cells(row, columns)?,
                    bucket: row.try_get::<Option<i64>, _>(width)?.unwrap_or(0),
                    histogram_bucket: row.try_get::<Option<i64>, _>(width + 1)?.unwrap_or(0).max(0) as usize,
                    count: row.try_get::<Option<i64>, _>(width + 2)?.unwrap_or(0),
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?
    });
    Ok(counts)
}

/// The first `columns.len()` values of a row, each read as its column's type.
fn read_cells<'r, R>(row: &'r R, columns: &[Column]) -> Result<Vec<Cell>, sqlx::Error>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    columns
        .iter()
        .enumerate()
        .map(|(index, column)| {
            Ok(if is_numeric(*column) {
                Cell::Int(row.try_get::<Option<i64>, _>(index)?.unwrap_or(0))
            } else {
                Cell::Text(row.try_get(index)?)
            })
        })
        .collect()
}

fn select_list(source: Source, columns: &[Column]) -> Vec<String> {
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
fn bucket_sql(time: &str, buckets: Option<(i64, i64)>) -> String {
    match buckets {
        Some((first, interval)) => format!("CAST(({time} - {first}) / {interval} AS BIGINT)"),
        None => "CAST(0 AS BIGINT)".to_owned(),
    }
}

fn group_by_list(source: Source, grouping: &Grouping, time: &str) -> Vec<String> {
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

fn push_group_by(text: &mut SqlText, source: Source, grouping: &Grouping, time: &str) {
    let list = group_by_list(source, grouping, time);
    if !list.is_empty() {
        text.push(" GROUP BY ").push(&list.join(", "));
    }
}

fn push_error_from(text: &mut SqlText, filters: &Filters, grouping: &Grouping, columns: &[Column]) {
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
fn push_transaction_where(text: &mut SqlText, filters: &Filters, grouping: &Grouping, time: &str) {
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

fn push_common_filters(text: &mut SqlText, source: Source, filters: &Filters, grouping: &Grouping) {
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
fn push_condition(text: &mut SqlText, source: Source, condition: &Condition) {
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

fn push_issue_condition(text: &mut SqlText, condition: &IssueCondition) {
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
fn push_group_match(text: &mut SqlText, source: Source, only: &GroupMatch) {
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
fn push_error_order(text: &mut SqlText, order: ErrorOrder, grouped: bool) {
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

/// `(issue, project, short id number)` of these issues.
pub async fn short_ids(db: &Db, issue_ids: &[IssueId]) -> Result<Vec<(IssueId, ProjectId, i64)>, StoreError> {
    if issue_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut text = SqlText::default();
    text.push("SELECT id, project_id, short_id FROM issues WHERE id IN ")
        .bind_list(issue_ids.iter().map(|id| Param::Int(id.get())));
    let SqlText { sql, params } = text;
    Ok(on_pool!(db, pool => bind_params!(sqlx::query_as(&sql), params).fetch_all(pool).await?))
}

/// The tag keys of the issues of these projects seen in `[start_ms, end_ms)`, with the number of events
/// that carried each, by key (at most 1,000 keys).
pub async fn tag_keys(
    db: &Db,
    project_ids: &[ProjectId],
    start_ms: i64,
    end_ms: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    if project_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut text = SqlText::default();
    text.push(
        "SELECT t.key, CAST(SUM(t.times_seen) AS BIGINT) FROM issue_tags t JOIN issues i ON i.id = t.issue_id \
         WHERE i.project_id IN ",
    )
    .bind_list(project_ids.iter().map(|id| Param::Int(id.get())))
    .push(" AND i.last_seen >= ")
    .bind(Param::Int(start_ms))
    .push(" AND i.first_seen < ")
    .bind(Param::Int(end_ms))
    .push(" GROUP BY t.key ORDER BY t.key LIMIT 1000");
    let SqlText { sql, params } = text;
    Ok(on_pool!(db, pool => bind_params!(sqlx::query_as(&sql), params).fetch_all(pool).await?))
}
