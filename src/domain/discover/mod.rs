//! Discover, Sentry's query language for events (`/events/` tables and `/events-stats/` series, which
//! Grafana's Sentry data source sends): the fields and functions asked for, the query subset that filters
//! them, the time window and buckets, and the sums behind every value. Pure: `core::discover` reads the
//! rows this describes.
//!
//! Two kinds of row answer a query. Errors are stored one row per event; transactions only as per-minute
//! rollups per project, environment, release, name and operation. Sentry's default dataset (`discover`)
//! is both: here each kind takes part when it can answer every field and condition asked, so
//! `id, title, count()` reads errors, `transaction, p95()` transactions, and `project, count()` both.

pub mod field;
pub mod query;
pub mod totals;
pub mod window;

pub use field::{Column, Field, FieldError, FieldKind, Function, Percentile, Selection, Sort};
pub use query::{parse_event_query, Condition, EventQuery, Pattern, QueryError, TextTerm};
pub use totals::{compare_values, group_key, FieldValue, Totals, ValueContext, OTHER};
pub use window::{bucket_starts, parse_top_events, series_interval, Window, WindowError};

/// What a row is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Errors,
    Transactions,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Errors => "errors",
            Kind::Transactions => "transactions",
        }
    }
}

/// The `dataset=` of a request; Sentry's default is `discover`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataset {
    Discover,
    Errors,
    Transactions,
}

impl Dataset {
    pub fn parse(text: Option<&str>) -> Result<Dataset, FieldError> {
        match text.map(str::trim).unwrap_or("") {
            "" | "discover" => Ok(Dataset::Discover),
            "errors" => Ok(Dataset::Errors),
            "transactions" => Ok(Dataset::Transactions),
            _ => Err(FieldError(
                "dataset must be one of: discover, errors, transactions".to_owned(),
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dataset::Discover => "discover",
            Dataset::Errors => "errors",
            Dataset::Transactions => "transactions",
        }
    }

    fn kinds(self) -> &'static [Kind] {
        match self {
            Dataset::Discover => &[Kind::Errors, Kind::Transactions],
            Dataset::Errors => &[Kind::Errors],
            Dataset::Transactions => &[Kind::Transactions],
        }
    }
}

/// The kinds of row that answer a query: those the dataset and `event.type` let through and that can
/// answer every field and condition. None let through is an empty answer; none able to answer is an error
/// naming what each lacks.
pub fn resolve_kinds(dataset: Dataset, selection: &Selection, query: &EventQuery) -> Result<Vec<Kind>, FieldError> {
    let candidates: Vec<Kind> = dataset.kinds().iter().copied().filter(|k| query.includes(*k)).collect();
    let blockers: Vec<(Kind, Option<String>)> = candidates
        .iter()
        .map(|kind| (*kind, selection.blocker(*kind).or_else(|| query.blocker(*kind))))
        .collect();
    let answering: Vec<Kind> = blockers.iter().filter(|(_, b)| b.is_none()).map(|(k, _)| *k).collect();
    if !answering.is_empty() || candidates.is_empty() {
        return Ok(answering);
    }
    let lacks: Vec<String> = blockers
        .iter()
        .filter_map(|(kind, blocker)| Some(format!("{} cannot answer {}", kind.name(), blocker.as_deref()?)))
        .collect();
    Err(FieldError(lacks.join(", and ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(dataset: Dataset, fields: &[&str], query: &str) -> Result<Vec<Kind>, String> {
        let selection = Selection::parse(fields).unwrap();
        let query = parse_event_query(query).unwrap();
        resolve_kinds(dataset, &selection, &query).map_err(|e| e.0)
    }

    #[test]
    fn discover_reads_every_kind_that_can_answer() {
        use Kind::*;
        let grafana_default = [
            "id",
            "title",
            "project",
            "project.id",
            "release",
            "count()",
            "epm()",
            "last_seen()",
            "level",
            "event.type",
            "platform",
        ];
        assert_eq!(kinds(Dataset::Discover, &grafana_default, ""), Ok(vec![Errors]));
        assert_eq!(
            kinds(Dataset::Discover, &["transaction", "p95()"], ""),
            Ok(vec![Transactions])
        );
        assert_eq!(
            kinds(Dataset::Discover, &["project", "count()"], ""),
            Ok(vec![Errors, Transactions])
        );
        assert_eq!(
            kinds(Dataset::Discover, &["project", "count()"], "event.type:transaction"),
            Ok(vec![Transactions])
        );
        assert_eq!(kinds(Dataset::Discover, &["count()"], "level:error"), Ok(vec![Errors]));
        assert_eq!(
            kinds(Dataset::Transactions, &["count()"], "event.type:error"),
            Ok(vec![])
        );
    }

    #[test]
    fn a_query_no_kind_can_answer_names_what_each_lacks() {
        let both = kinds(Dataset::Discover, &["id", "p95()"], "").unwrap_err();
        assert_eq!(both, "errors cannot answer p95(), and transactions cannot answer id");
        let errors = kinds(Dataset::Errors, &["transaction.op", "count()"], "").unwrap_err();
        assert_eq!(errors, "errors cannot answer transaction.op");
        let raw = kinds(Dataset::Transactions, &["transaction"], "").unwrap_err();
        assert!(raw.contains("add an aggregate"), "{raw}");
        let level = kinds(Dataset::Transactions, &["count()"], "level:error").unwrap_err();
        assert_eq!(level, "transactions cannot answer level");
    }

    #[test]
    fn datasets_are_sentrys_names() {
        assert_eq!(Dataset::parse(None), Ok(Dataset::Discover));
        assert_eq!(Dataset::parse(Some("transactions")), Ok(Dataset::Transactions));
        assert!(Dataset::parse(Some("spans"))
            .unwrap_err()
            .0
            .starts_with("dataset must be one of"));
    }
}
