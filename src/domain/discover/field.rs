//! The `field=` values of a Discover query: plain columns (grouped by when an aggregate is asked) and the
//! aggregate functions Faultline can compute, each with the type and unit Sentry's `meta` reports and the
//! kinds of row (errors, transactions) that can answer it.

use super::Kind;

/// Sentry's cap on fields per query, with its message.
pub const MAX_FIELDS: usize = 20;
const TOO_MANY_FIELDS: &str = "You can view up to 20 fields at a time. Please delete some and try again.";

/// A non-aggregate field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    /// The event id (32 hex digits).
    Id,
    Timestamp,
    /// An error's title; a transaction's name (as in Sentry).
    Title,
    /// The issue's short id (`WEB-1A`).
    Issue,
    /// The project's slug.
    Project,
    ProjectId,
    Release,
    Environment,
    Transaction,
    TransactionOp,
    Level,
    Platform,
    /// `error` or `default` (message events) for errors, `transaction` for transactions.
    EventType,
}

impl Column {
    const ALL: [Column; 13] = [
        Column::Id,
        Column::Timestamp,
        Column::Title,
        Column::Issue,
        Column::Project,
        Column::ProjectId,
        Column::Release,
        Column::Environment,
        Column::Transaction,
        Column::TransactionOp,
        Column::Level,
        Column::Platform,
        Column::EventType,
    ];

    pub fn parse(name: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|c| c.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Column::Id => "id",
            Column::Timestamp => "timestamp",
            Column::Title => "title",
            Column::Issue => "issue",
            Column::Project => "project",
            Column::ProjectId => "project.id",
            Column::Release => "release",
            Column::Environment => "environment",
            Column::Transaction => "transaction",
            Column::TransactionOp => "transaction.op",
            Column::Level => "level",
            Column::Platform => "platform",
            Column::EventType => "event.type",
        }
    }

    /// Whether rows of `kind` carry this column. Transactions are kept as rollups per project,
    /// environment, release, name and operation, so nothing finer is known of them.
    pub fn answers(self, kind: Kind) -> bool {
        match self {
            Column::Id | Column::Timestamp | Column::Issue | Column::Level | Column::Platform => kind == Kind::Errors,
            Column::TransactionOp => kind == Kind::Transactions,
            _ => true,
        }
    }

    pub fn meta_type(self) -> &'static str {
        match self {
            Column::ProjectId => "integer",
            Column::Timestamp => "date",
            _ => "string",
        }
    }
}

/// A percentile of the transaction duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Percentile {
    P50,
    P75,
    P95,
    P99,
    P100,
}

impl Percentile {
    pub fn quantile(self) -> f64 {
        match self {
            Percentile::P50 => 0.5,
            Percentile::P75 => 0.75,
            Percentile::P95 => 0.95,
            Percentile::P99 => 0.99,
            Percentile::P100 => 1.0,
        }
    }
}

/// An aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    Count,
    CountUniqueUsers,
    LastSeen,
    Percentile(Percentile),
    AvgDuration,
    FailureRate,
    FailureCount,
    /// With its threshold in milliseconds; `None` for the server's default (`apdex()`).
    Apdex(Option<u32>),
    /// Events per minute (`epm()`, `tpm()`).
    PerMinute,
    /// Events per second (`eps()`, `tps()`).
    PerSecond,
}

impl Function {
    pub fn answers(self, kind: Kind) -> bool {
        match self {
            Function::Count | Function::LastSeen | Function::PerMinute | Function::PerSecond => true,
            Function::CountUniqueUsers => kind == Kind::Errors,
            Function::Percentile(_)
            | Function::AvgDuration
            | Function::FailureRate
            | Function::FailureCount
            | Function::Apdex(_) => kind == Kind::Transactions,
        }
    }

    /// Sentry's `meta.fields` type and `meta.units` unit.
    pub fn meta(self) -> (&'static str, Option<&'static str>) {
        match self {
            Function::Count | Function::CountUniqueUsers | Function::FailureCount => ("integer", None),
            Function::LastSeen => ("date", None),
            Function::Percentile(_) | Function::AvgDuration => ("duration", Some("millisecond")),
            Function::FailureRate => ("percentage", None),
            Function::Apdex(_) => ("number", None),
            Function::PerMinute => ("rate", Some("1/minute")),
            Function::PerSecond => ("rate", Some("1/second")),
        }
    }

    /// Whether its value is a number that can be plotted (`last_seen()` is a date).
    pub fn is_numeric(self) -> bool {
        self != Function::LastSeen
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldKind {
    Column(Column),
    Function(Function),
}

/// A requested field: its text exactly as asked (the key of every row) and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub kind: FieldKind,
}

/// Why a field or a list of them cannot be queried; the text is the 400's `detail`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FieldError(pub String);

impl Field {
    pub fn parse(text: &str) -> Result<Field, FieldError> {
        let name = text.trim();
        let kind = match name.split_once('(') {
            Some((function, rest)) => {
                let argument = rest
                    .strip_suffix(')')
                    .ok_or_else(|| FieldError(format!("{name:?} is not a valid field")))?;
                FieldKind::Function(parse_function(function, argument.trim())?)
            }
            None => FieldKind::Column(Column::parse(name).ok_or_else(|| {
                FieldError(format!(
                    "{name:?} is not a supported field (see the Grafana section of Faultline's README)"
                ))
            })?),
        };
        Ok(Field {
            name: text.to_owned(),
            kind,
        })
    }

    pub fn answers(&self, kind: Kind) -> bool {
        match self.kind {
            FieldKind::Column(column) => column.answers(kind),
            FieldKind::Function(function) => function.answers(kind),
        }
    }

    pub fn meta(&self) -> (&'static str, Option<&'static str>) {
        match self.kind {
            FieldKind::Column(column) => (column.meta_type(), None),
            FieldKind::Function(function) => function.meta(),
        }
    }

    pub fn function(&self) -> Option<Function> {
        match self.kind {
            FieldKind::Function(function) => Some(function),
            FieldKind::Column(_) => None,
        }
    }

    pub fn column(&self) -> Option<Column> {
        match self.kind {
            FieldKind::Column(column) => Some(column),
            FieldKind::Function(_) => None,
        }
    }
}

const DURATION: &str = "transaction.duration";

fn parse_function(name: &str, argument: &str) -> Result<Function, FieldError> {
    let no_argument = |function: Function| {
        if argument.is_empty() {
            Ok(function)
        } else {
            Err(bad_argument(name, argument))
        }
    };
    let duration = |function: Function| {
        if argument.is_empty() || argument == DURATION {
            Ok(function)
        } else {
            Err(bad_argument(name, argument))
        }
    };
    match name {
        // Sentry accepts and ignores an argument to `count`.
        "count" => Ok(Function::Count),
        "count_unique" if argument == "user" => Ok(Function::CountUniqueUsers),
        "count_unique" => Err(bad_argument(name, argument)),
        "last_seen" => no_argument(Function::LastSeen),
        "p50" => duration(Function::Percentile(Percentile::P50)),
        "p75" => duration(Function::Percentile(Percentile::P75)),
        "p95" => duration(Function::Percentile(Percentile::P95)),
        "p99" => duration(Function::Percentile(Percentile::P99)),
        "p100" => duration(Function::Percentile(Percentile::P100)),
        "avg" => duration(Function::AvgDuration),
        "failure_rate" => no_argument(Function::FailureRate),
        "failure_count" => no_argument(Function::FailureCount),
        "apdex" if argument.is_empty() => Ok(Function::Apdex(None)),
        "apdex" => argument
            .parse::<u32>()
            .ok()
            .filter(|t| *t > 0)
            .map(|threshold| Function::Apdex(Some(threshold)))
            .ok_or_else(|| bad_argument(name, argument)),
        "epm" | "tpm" => no_argument(Function::PerMinute),
        "eps" | "tps" => no_argument(Function::PerSecond),
        other => Err(FieldError(format!("{other} is not a valid function"))),
    }
}

fn bad_argument(function: &str, argument: &str) -> FieldError {
    FieldError(format!("{function}: {argument:?} is not a supported argument"))
}

/// Rows ordered by one of the selected fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// Its index in the selection.
    pub field: usize,
    pub descending: bool,
}

/// The fields of one query, in the order asked, each at most once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selection {
    pub fields: Vec<Field>,
}

impl Selection {
    pub fn parse<S: AsRef<str>>(texts: &[S]) -> Result<Selection, FieldError> {
        let mut fields: Vec<Field> = Vec::new();
        for text in texts {
            let field = Field::parse(text.as_ref())?;
            if !fields.iter().any(|f| f.name == field.name) {
                fields.push(field);
            }
        }
        if fields.is_empty() {
            return Err(FieldError("No columns selected".to_owned()));
        }
        if fields.len() > MAX_FIELDS {
            return Err(FieldError(TOO_MANY_FIELDS.to_owned()));
        }
        Ok(Selection { fields })
    }

    /// Whether any aggregate is asked: then rows are groups of the columns.
    pub fn is_aggregate(&self) -> bool {
        self.fields.iter().any(|f| f.function().is_some())
    }

    pub fn columns(&self) -> Vec<Column> {
        self.fields.iter().filter_map(Field::column).collect()
    }

    /// The `sort=` of a request (`-count()` descending, `transaction` ascending): it must name a selected
    /// field, as in Sentry.
    pub fn sort(&self, text: Option<&str>) -> Result<Option<Sort>, FieldError> {
        let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        let (name, descending) = match text.strip_prefix('-') {
            Some(name) => (name, true),
            None => (text, false),
        };
        let field = self
            .fields
            .iter()
            .position(|f| f.name.trim() == name)
            .ok_or_else(|| FieldError("Cannot sort by a field that is not selected.".to_owned()))?;
        Ok(Some(Sort { field, descending }))
    }

    /// The first field rows of `kind` cannot answer, by name; a row per transaction is one of them.
    pub fn blocker(&self, kind: Kind) -> Option<String> {
        if let Some(field) = self.fields.iter().find(|f| !f.answers(kind)) {
            return Some(field.name.clone());
        }
        (kind == Kind::Transactions && !self.is_aggregate()).then(|| {
            "a row per transaction (they are kept as per-minute rollups: add an aggregate such as count())".to_owned()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> FieldKind {
        Field::parse(text).unwrap().kind
    }

    #[test]
    fn functions_take_their_sentry_spellings_and_defaults() {
        assert_eq!(kind("count()"), FieldKind::Function(Function::Count));
        assert_eq!(kind("count(id)"), FieldKind::Function(Function::Count), "ignored");
        assert_eq!(
            kind("p95()"),
            kind("p95(transaction.duration)"),
            "the duration is the default"
        );
        assert_eq!(kind("apdex()"), FieldKind::Function(Function::Apdex(None)));
        assert_eq!(kind("apdex(500)"), FieldKind::Function(Function::Apdex(Some(500))));
        assert_eq!(kind("tpm()"), kind("epm()"));
        assert_eq!(kind("tps()"), kind("eps()"));
        assert_eq!(
            kind("count_unique(user)"),
            FieldKind::Function(Function::CountUniqueUsers)
        );
        assert_eq!(kind("project.id"), FieldKind::Column(Column::ProjectId));
    }

    #[test]
    fn unknown_fields_functions_and_arguments_are_named_in_the_error() {
        assert_eq!(Field::parse("foo()").unwrap_err().0, "foo is not a valid function");
        assert!(Field::parse("tags[browser]")
            .unwrap_err()
            .0
            .contains("\"tags[browser]\""));
        assert!(Field::parse("p95(span.duration)")
            .unwrap_err()
            .0
            .contains("span.duration"));
        assert!(Field::parse("count_unique(ip)").is_err());
        assert!(Field::parse("apdex(x)").is_err());
        assert!(Field::parse("count(").is_err());
    }

    #[test]
    fn meta_types_and_units_follow_sentry() {
        let meta = |text: &str| Field::parse(text).unwrap().meta();
        assert_eq!(meta("p95()"), ("duration", Some("millisecond")));
        assert_eq!(meta("epm()"), ("rate", Some("1/minute")));
        assert_eq!(meta("eps()"), ("rate", Some("1/second")));
        assert_eq!(meta("failure_rate()"), ("percentage", None));
        assert_eq!(meta("count()"), ("integer", None));
        assert_eq!(meta("last_seen()"), ("date", None));
        assert_eq!(meta("project.id"), ("integer", None));
        assert_eq!(meta("title"), ("string", None));
    }

    #[test]
    fn a_selection_keeps_order_drops_repeats_and_caps_at_twenty() {
        let selection = Selection::parse(&["title", "count()", "title"]).unwrap();
        let names: Vec<&str> = selection.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["title", "count()"]);
        assert!(selection.is_aggregate());
        assert_eq!(selection.columns(), [Column::Title]);
        let many: Vec<String> = (0..21).map(|i| format!("count({i})")).collect();
        assert!(Selection::parse(&many)
            .unwrap_err()
            .0
            .starts_with("You can view up to 20 fields"));
        assert!(Selection::parse::<&str>(&[]).is_err());
    }

    #[test]
    fn sorting_names_a_selected_field() {
        let selection = Selection::parse(&["transaction", "count()"]).unwrap();
        assert_eq!(
            selection.sort(Some("-count()")),
            Ok(Some(Sort {
                field: 1,
                descending: true
            }))
        );
        assert_eq!(
            selection.sort(Some("transaction")),
            Ok(Some(Sort {
                field: 0,
                descending: false
            }))
        );
        assert_eq!(selection.sort(None), Ok(None));
        assert_eq!(
            selection.sort(Some("-p95()")).unwrap_err().0,
            "Cannot sort by a field that is not selected."
        );
    }

    #[test]
    fn transactions_answer_aggregates_of_their_rollup_columns_only() {
        let selection = Selection::parse(&["transaction", "p95()", "failure_rate()"]).unwrap();
        assert_eq!(selection.blocker(Kind::Transactions), None);
        assert_eq!(selection.blocker(Kind::Errors).as_deref(), Some("p95()"));
        let raw = Selection::parse(&["transaction"]).unwrap();
        assert!(raw.blocker(Kind::Transactions).unwrap().contains("count()"));
        assert_eq!(raw.blocker(Kind::Errors), None);
        let errors = Selection::parse(&["id", "title", "count_unique(user)"]).unwrap();
        assert_eq!(errors.blocker(Kind::Transactions).as_deref(), Some("id"));
    }
}
