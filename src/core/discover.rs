//! Discover for tools (Grafana's Sentry data source, scripts): a table of errors and/or transactions
//! (`events/`), the same aggregates as time series (`series`, for `events-stats/`), and the tag keys seen
//! (`tags/`). The caller needs `event:read` in the organization, and only its projects are read, as
//! `outcomes::stats` does for `stats_v2`.

mod groups;
mod series;

use std::collections::HashMap;

pub use series::{series, Series, SeriesAnswer, SeriesRequest};

use crate::domain::accounts::Scope;
use crate::domain::discover::{
    parse_event_query, resolve_kinds, Column, Condition, Dataset, EventQuery, Field, FieldKind, FieldValue, Kind,
    Pattern, Selection, ValueContext, Window,
};
use crate::domain::short_id::{encode_short_id, parse_short_id};
use crate::domain::{IssueId, ProjectId};
use crate::store::discover::{self as store, Cell, Filters, IssueCondition};
use crate::store::now_ms;
use crate::store::projects::{self, Project};

use super::performance::APDEX_THRESHOLD_MS;
use super::{Access, Core, CoreError, CoreResult};

use groups::GroupRow;

/// What every Discover request narrows by, as sent.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub query: String,
    pub dataset: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub stats_period: Option<String>,
    /// Project ids (`-1`, or none: every project of the organization).
    pub projects: Vec<String>,
    pub environments: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct TableRequest {
    pub filter: EventFilter,
    pub fields: Vec<String>,
    pub sort: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// One page of a Discover table: a value per selected field in each row.
#[derive(Debug, Clone)]
pub struct Table {
    pub dataset: Dataset,
    pub fields: Vec<Field>,
    pub rows: Vec<Vec<FieldValue>>,
    /// Whether rows follow this page.
    pub more: bool,
    /// None of the requested projects is in the organization (Sentry answers empty, with a tip).
    pub no_projects: bool,
}

/// The `events/` table (`event:read`).
#[tracing::instrument(skip_all, fields(organization = access.organization.id.get()))]
pub async fn table(core: &Core, access: &Access, request: &TableRequest) -> CoreResult<Table> {
    access.require(Scope::EventRead)?;
    check_dataset(&request.filter)?;
    let selection = Selection::parse(&request.fields).map_err(CoreError::invalid)?;
    let sort = selection.sort(request.sort.as_deref()).map_err(CoreError::invalid)?;
    let parsed = Parsed::read(&request.filter, &selection)?;
    let mut table = Table {
        dataset: parsed.dataset,
        fields: selection.fields.clone(),
        rows: Vec::new(),
        more: false,
        no_projects: false,
    };
    let Some(scope) = QueryScope::resolve(core, access, &request.filter, parsed).await? else {
        table.no_projects = true;
        return Ok(table);
    };
    let context = scope.context(scope.window.length_ms());
    let names = scope.names();
    let (rows, more) = groups::rows(core, &scope, &selection, sort, &names, (request.limit, request.offset)).await?;
    let names = names.with_short_ids(core, &selection.columns(), &rows).await?;
    table.rows = rows
        .iter()
        .map(|row| names.row_values(&selection, row, &context))
        .collect();
    table.more = more;
    Ok(table)
}

/// A tag key seen on the organization's issues, with the number of events that carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagKey {
    pub key: String,
    pub events: i64,
}

/// The tag keys of the issues seen in the window (`event:read`), for the query editor's suggestions.
pub async fn tag_keys(core: &Core, access: &Access, filter: &EventFilter) -> CoreResult<Vec<TagKey>> {
    access.require(Scope::EventRead)?;
    let window = window_of(filter)?;
    let projects = requested_projects(core, access, &filter.projects).await?;
    let ids: Vec<ProjectId> = projects.iter().map(|p| p.id).collect();
    let keys = store::tag_keys(&core.db, &ids, window.start_ms, window.end_ms).await?;
    Ok(keys.into_iter().map(|(key, events)| TagKey { key, events }).collect())
}

/// The dataset is checked before the fields, so that `dataset=spans` (Grafana's Spans queries) is told
/// that spans are not stored rather than that a span field is unknown.
fn check_dataset(filter: &EventFilter) -> CoreResult<()> {
    Dataset::parse(filter.dataset.as_deref())
        .map(drop)
        .map_err(CoreError::invalid)
}

fn window_of(filter: &EventFilter) -> CoreResult<Window> {
    Window::resolve(
        filter.start.as_deref(),
        filter.end.as_deref(),
        filter.stats_period.as_deref(),
        now_ms(),
    )
    .map_err(CoreError::invalid)
}

/// The organization's projects the request names (ids; none or `-1` means all). An id outside it matches
/// nothing rather than being refused.
pub(crate) async fn requested_projects(core: &Core, access: &Access, requested: &[String]) -> CoreResult<Vec<Project>> {
    let wanted = requested
        .iter()
        .map(|text| text.trim())
        .filter(|text| !text.is_empty() && *text != "-1")
        .map(|text| {
            text.parse::<ProjectId>()
                .map_err(|_| CoreError::Invalid(format!("invalid project id {text:?}")))
        })
        .collect::<CoreResult<Vec<_>>>()?;
    let all = projects::list_organization_projects(&core.db, &[access.organization.id]).await?;
    Ok(all
        .into_iter()
        .filter(|p| wanted.is_empty() || wanted.contains(&p.id))
        .collect())
}

/// A request's query, dataset, answering kinds and window, read and checked.
struct Parsed {
    query: EventQuery,
    dataset: Dataset,
    kinds: Vec<Kind>,
    window: Window,
}

impl Parsed {
    fn read(filter: &EventFilter, selection: &Selection) -> CoreResult<Parsed> {
        let query = parse_event_query(&filter.query).map_err(CoreError::invalid)?;
        let dataset = Dataset::parse(filter.dataset.as_deref()).map_err(CoreError::invalid)?;
        let kinds = resolve_kinds(dataset, selection, &query).map_err(CoreError::invalid)?;
        Ok(Parsed {
            window: window_of(filter)?,
            query,
            dataset,
            kinds,
        })
    }
}

/// What a query reads once its projects are known: the projects, the filters in store terms, the kinds.
pub(crate) struct QueryScope {
    pub projects: Vec<Project>,
    pub filters: Filters,
    /// Empty when the query lets no row through.
    pub kinds: Vec<Kind>,
    pub window: Window,
}

impl QueryScope {
    /// `None` when none of the requested projects is the organization's.
    async fn resolve(
        core: &Core,
        access: &Access,
        filter: &EventFilter,
        parsed: Parsed,
    ) -> CoreResult<Option<QueryScope>> {
        let mut projects = requested_projects(core, access, &filter.projects).await?;
        if projects.is_empty() {
            return Ok(None);
        }
        let Parsed {
            query,
            mut kinds,
            window,
            ..
        } = parsed;
        let (by_project, conditions): (Vec<_>, Vec<_>) = query
            .conditions
            .iter()
            .cloned()
            .partition(|c| c.column == Column::Project);
        projects.retain(|p| {
            by_project
                .iter()
                .all(|c| c.values.iter().any(|v| v.matches(&p.slug)) != c.negated)
        });
        let (by_issue, conditions): (Vec<_>, Vec<_>) = conditions.into_iter().partition(|c| c.column == Column::Issue);
        let issues = by_issue.iter().map(|c| issue_condition(&projects, c)).collect();
        if projects.is_empty() || query.matches_nothing {
            kinds.clear();
        }
        let filters = Filters {
            project_ids: projects.iter().map(|p| p.id).collect(),
            start_ms: window.start_ms,
            end_ms: window.end_ms,
            environments: filter.environments.iter().filter(|e| !e.is_empty()).cloned().collect(),
            conditions,
            issues,
            text: query.text.clone(),
            error_types: query.error_types(),
        };
        Ok(Some(QueryScope {
            projects,
            filters,
            kinds,
            window,
        }))
    }

    fn context(&self, span_ms: i64) -> ValueContext {
        ValueContext {
            span_ms,
            apdex_threshold_ms: APDEX_THRESHOLD_MS,
        }
    }

    fn names(&self) -> Names {
        Names {
            slugs: self.projects.iter().map(|p| (p.id.get(), p.slug.clone())).collect(),
            short_ids: HashMap::new(),
        }
    }
}

/// `issue:WEB-1A` as the (project, number) pairs of the projects being read.
fn issue_condition(projects: &[Project], condition: &Condition) -> IssueCondition {
    IssueCondition {
        negated: condition.negated,
        issues: condition
            .values
            .iter()
            .filter_map(|v| short_id_in(projects, v))
            .collect(),
    }
}

/// `WEB-1A` as (project, number), when the project is one being read.
fn short_id_in(projects: &[Project], value: &Pattern) -> Option<(ProjectId, i64)> {
    let Pattern::Exact(text) = value else {
        return None;
    };
    let (slug, number) = parse_short_id(text)?;
    let project = projects.iter().find(|p| p.slug == slug)?;
    Some((project.id, i64::try_from(number).ok()?))
}

/// What turns stored ids into what Discover shows: project slugs and issue short ids.
pub(crate) struct Names {
    slugs: HashMap<i64, String>,
    short_ids: HashMap<i64, String>,
}

impl Names {
    /// The short ids of the issues in these rows, when `issue` is asked.
    async fn with_short_ids(mut self, core: &Core, columns: &[Column], rows: &[GroupRow]) -> CoreResult<Names> {
        let Some(at) = columns.iter().position(|c| *c == Column::Issue) else {
            return Ok(self);
        };
        let ids: Vec<IssueId> = rows
            .iter()
            .filter_map(|row| match row.cells.get(at) {
                Some(Cell::Int(id)) => Some(IssueId(*id)),
                _ => None,
            })
            .collect();
        for (issue, project, number) in store::short_ids(&core.db, &ids).await? {
            if let Some(slug) = self.slugs.get(&project.get()) {
                self.short_ids
                    .insert(issue.get(), encode_short_id(slug, number.max(0) as u64));
            }
        }
        Ok(self)
    }

    fn column_value(&self, column: Column, cell: Option<&Cell>) -> FieldValue {
        match (column, cell) {
            (Column::Project, Some(Cell::Int(id))) => FieldValue::Text(self.slugs.get(id).cloned()),
            (Column::Issue, Some(Cell::Int(id))) => FieldValue::Text(self.short_ids.get(id).cloned()),
            (Column::Timestamp, Some(Cell::Int(ms))) => FieldValue::Date(*ms),
            (_, Some(Cell::Int(n))) => FieldValue::Int(*n),
            (_, Some(Cell::Text(text))) => FieldValue::Text(text.clone()),
            (_, None) => FieldValue::Text(None),
        }
    }

    /// One field's value in a row whose cells are the selection's columns, in order.
    fn field_value(&self, field: &Field, columns: &[Column], row: &GroupRow, context: &ValueContext) -> FieldValue {
        match field.kind {
            FieldKind::Column(column) => {
                let at = columns.iter().position(|c| *c == column);
                self.column_value(column, at.and_then(|at| row.cells.get(at)))
            }
            FieldKind::Function(function) => row.totals.value(function, context),
        }
    }

    fn row_values(&self, selection: &Selection, row: &GroupRow, context: &ValueContext) -> Vec<FieldValue> {
        let columns = selection.columns();
        selection
            .fields
            .iter()
            .map(|field| self.field_value(field, &columns, row, context))
            .collect()
    }
}
