//! Reading groups of rows for a Discover query. Errors alone are grouped, ordered and paged by the
//! database; with transactions, each kind is summed per group by the database and the groups are merged,
//! folded (histograms) and ordered here.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::domain::discover::{compare_values, Column, FieldKind, Function, Kind, Selection, Sort, Totals};
use crate::store::discover::{self as store, Cell, ErrorOrder, Grouping};

use super::{Core, CoreError, CoreResult, Names, QueryScope};

/// Groups read when errors and transactions are merged (or transactions sorted) here, beyond which the
/// query must be narrowed: each is a row in memory.
pub const MAX_GROUPS: i64 = 10_000;

/// A group: the values of the grouping's columns, and its sums.
#[derive(Debug, Clone)]
pub struct GroupRow {
    pub cells: Vec<Cell>,
    pub totals: Totals,
}

/// One page of the table's rows, and whether more follow.
pub async fn rows(
    core: &Core,
    scope: &QueryScope,
    selection: &Selection,
    sort: Option<Sort>,
    names: &Names,
    (limit, offset): (i64, i64),
) -> CoreResult<(Vec<GroupRow>, bool)> {
    if scope.kinds.is_empty() {
        return Ok((Vec::new(), false));
    }
    let columns = selection.columns();
    let mut rows = if scope.kinds == [Kind::Errors] {
        error_rows(core, scope, selection, sort, (limit + 1, offset)).await?
    } else {
        let grouping = Grouping {
            columns: columns.clone(),
            ..Grouping::default()
        };
        let mut all: Vec<GroupRow> = read_totals(core, scope, &grouping, &functions(selection), MAX_GROUPS)
            .await?
            .into_iter()
            .map(|((cells, _), totals)| GroupRow { cells, totals })
            .collect();
        let context = scope.context(scope.window.length_ms());
        let value = |row: &GroupRow, at: usize| names.field_value(&selection.fields[at], &columns, row, &context);
        all.sort_by(|a, b| {
            sort.map_or(Ordering::Equal, |s| {
                compare_values(&value(a, s.field), &value(b, s.field), s.descending)
            })
            .then(b.totals.count.cmp(&a.totals.count))
            .then_with(|| a.cells.cmp(&b.cells))
        });
        all.into_iter()
            .skip(offset.max(0) as usize)
            .take(limit as usize + 1)
            .collect()
    };
    let more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    Ok((rows, more))
}

/// Errors alone: listed one by one (no aggregate, or grouped by event id, which is the same rows: what
/// Grafana's default fields ask, read newest first down an index rather than grouped), or grouped; ordered
/// and paged in SQL.
async fn error_rows(
    core: &Core,
    scope: &QueryScope,
    selection: &Selection,
    sort: Option<Sort>,
    page: (i64, i64),
) -> CoreResult<Vec<GroupRow>> {
    let columns = selection.columns();
    let order = error_order(selection, sort);
    let found = if !selection.is_aggregate() || columns.contains(&Column::Id) {
        store::error_rows(&core.db, &scope.filters, &columns, order, page).await?
    } else {
        let grouping = Grouping {
            columns,
            ..Grouping::default()
        };
        let users = functions(selection).contains(&Function::CountUniqueUsers);
        store::error_groups(&core.db, &scope.filters, &grouping, users, order, page).await?
    };
    Ok(found
        .into_iter()
        .filter(|group| group.count > 0)
        .map(|group| GroupRow {
            cells: group.cells,
            totals: Totals {
                count: group.count,
                users: group.users,
                last_seen_ms: group.last_seen_ms,
                ..Totals::default()
            },
        })
        .collect())
}

/// The database's order for a sort of errors; by default the most frequent groups, or the newest events.
fn error_order(selection: &Selection, sort: Option<Sort>) -> ErrorOrder {
    let per_event = !selection.is_aggregate() || selection.columns().contains(&Column::Id);
    let Some(sort) = sort else {
        return if per_event {
            ErrorOrder::LastSeen(true)
        } else {
            ErrorOrder::Count(true)
        };
    };
    let descending = sort.descending;
    match selection.fields[sort.field].kind {
        FieldKind::Column(column) => ErrorOrder::Column(column, descending),
        FieldKind::Function(Function::CountUniqueUsers) => ErrorOrder::Users(descending),
        FieldKind::Function(Function::LastSeen) => ErrorOrder::LastSeen(descending),
        // Rates are counts over one window; nothing else answers errors.
        FieldKind::Function(_) => ErrorOrder::Count(descending),
    }
}

pub fn functions(selection: &Selection) -> Vec<Function> {
    selection.fields.iter().filter_map(|f| f.function()).collect()
}

/// The sums of every group (and series bucket) of `grouping`, over the kinds the scope reads, merged:
/// `((cells, bucket), totals)`, empty groups left out. More than `cap` groups of errors is refused.
pub async fn read_totals(
    core: &Core,
    scope: &QueryScope,
    grouping: &Grouping,
    functions: &[Function],
    cap: i64,
) -> CoreResult<BTreeMap<(Vec<Cell>, i64), Totals>> {
    let mut merged: BTreeMap<(Vec<Cell>, i64), Totals> = BTreeMap::new();
    if scope.kinds.contains(&Kind::Errors) {
        let users = functions.contains(&Function::CountUniqueUsers);
        let groups = store::error_groups(
            &core.db,
            &scope.filters,
            grouping,
            users,
            ErrorOrder::Count(true),
            (cap + 1, 0),
        )
        .await?;
        if groups.len() as i64 > cap {
            return Err(CoreError::Invalid(format!(
                "more than {cap} groups of errors: narrow the query (event.type, project, a shorter period)"
            )));
        }
        for group in groups {
            let totals = Totals {
                count: group.count,
                users: group.users,
                last_seen_ms: group.last_seen_ms,
                ..Totals::default()
            };
            merged.entry((group.cells, group.bucket)).or_default().add(&totals);
        }
    }
    if scope.kinds.contains(&Kind::Transactions) {
        add_transactions(core, scope, grouping, functions, &mut merged).await?;
    }
    merged.retain(|_, totals| totals.count > 0);
    Ok(merged)
}

async fn add_transactions(
    core: &Core,
    scope: &QueryScope,
    grouping: &Grouping,
    functions: &[Function],
    merged: &mut BTreeMap<(Vec<Cell>, i64), Totals>,
) -> CoreResult<()> {
    for group in store::transaction_groups(&core.db, &scope.filters, grouping).await? {
        let totals = Totals {
            count: group.count,
            failures: group.failures,
            duration_ms: group.duration_ms,
            last_seen_ms: group.last_minute_ms,
            ..Totals::default()
        };
        merged.entry((group.cells, group.bucket)).or_default().add(&totals);
    }
    let histograms = functions
        .iter()
        .any(|f| matches!(f, Function::Percentile(_) | Function::Apdex(_)));
    if histograms {
        for count in store::transaction_histograms(&core.db, &scope.filters, grouping).await? {
            if let Some(totals) = merged.get_mut(&(count.cells, count.bucket)) {
                totals.buckets.push((count.histogram_bucket, count.count));
            }
        }
    }
    Ok(())
}
