//! Discover's reads (`core::discover`): errors counted per group (or listed) from `events`, transactions
//! summed from their per-minute rollups (`transaction_minutes`, and `transaction_buckets` for the duration
//! histograms), with `domain::discover`'s conditions as SQL. One SQL text for both databases; only bound
//! values come from the request.

use sqlx::Row;

mod sql;

use crate::domain::discover::{Column, Condition, TextTerm};
use crate::domain::{IssueId, ProjectId};

use super::paging::{bind_params, Param, SqlText};
use super::{on_pool, Db, StoreError};
use sql::{
    bucket_sql, group_by_list, is_numeric, push_error_from, push_error_order, push_group_by, push_page,
    push_transaction_where, select_list, Source,
};

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

/// Errors one row each (a group of one: a count of 1, its user if any), ordered and paged in SQL.
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
    let user = "CAST(CASE WHEN e.user_key IS NULL THEN 0 ELSE 1 END AS BIGINT)";
    items.extend(["CAST(0 AS BIGINT)", "CAST(1 AS BIGINT)", user, "e.timestamp"].map(String::from));
    let mut text = SqlText::default();
    text.push("SELECT ").push(&items.join(", "));
    push_error_from(&mut text, filters, &Grouping::default(), columns);
    push_error_order(&mut text, order, false);
    push_page(&mut text, page);
    fetch_error_rows(db, text, columns).await
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
