//! Keyset pagination shared by the issue and event listings: pages walk an index in descending
//! `(value, id)` order, so a page costs the same at row ten million as at row ten.

/// A position in a listing: the sort value and row id of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keyset {
    pub value: i64,
    pub id: i64,
}

/// Which side of the keyset a page lies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Items after the keyset in listing order (smaller values): the next page.
    After,
    /// Items before it (larger values): the previous page.
    Before,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub from: Option<(Keyset, Direction)>,
    pub limit: i64,
}

/// One page in listing order, and whether more items lie beyond it in the direction it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub more: bool,
}

/// A bind parameter of a query assembled at run time.
#[derive(Debug, Clone)]
pub(crate) enum Param {
    Int(i64),
    Text(String),
}

/// SQL text with numbered placeholders (`$1`, `$2`… both databases accept them) and their values.
#[derive(Debug, Default)]
pub(crate) struct SqlText {
    pub sql: String,
    pub params: Vec<Param>,
}

impl SqlText {
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.sql.push_str(text);
        self
    }

    /// Appends a placeholder bound to `param`.
    pub fn bind(&mut self, param: Param) -> &mut Self {
        self.params.push(param);
        self.sql.push_str(&format!("${}", self.params.len()));
        self
    }

    /// Appends `(p1, p2, …)`.
    pub fn bind_list(&mut self, params: impl IntoIterator<Item = Param>) -> &mut Self {
        self.push("(");
        for (i, param) in params.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(param);
        }
        self.push(")")
    }

    /// Appends the keyset condition and ordering on `(column, id)` and a `LIMIT` one past the page, so the
    /// caller can tell whether more items follow.
    pub fn push_page(&mut self, column: &str, page: &PageRequest) -> &mut Self {
        let descending = !matches!(page.from, Some((_, Direction::Before)));
        if let Some((keyset, direction)) = page.from {
            let op = if direction == Direction::After { "<" } else { ">" };
            self.push(&format!(" AND ({column}, id) {op} ("))
                .bind(Param::Int(keyset.value))
                .push(", ")
                .bind(Param::Int(keyset.id))
                .push(")");
        }
        let order = if descending { "DESC" } else { "ASC" };
        self.push(&format!(" ORDER BY {column} {order}, id {order} LIMIT "))
            .bind(Param::Int(page.limit + 1))
    }
}

/// Turns the `limit + 1` rows read by [`SqlText::push_page`] into a page in listing order.
pub(crate) fn into_page<T>(mut rows: Vec<T>, page: &PageRequest) -> Page<T> {
    let more = rows.len() as i64 > page.limit;
    rows.truncate(page.limit.max(0) as usize);
    if matches!(page.from, Some((_, Direction::Before))) {
        rows.reverse();
    }
    Page { items: rows, more }
}

/// Binds every parameter onto a sqlx query (of either database).
macro_rules! bind_params {
    ($query:expr, $params:expr) => {{
        let mut query = $query;
        for param in $params {
            query = match param {
                $crate::store::paging::Param::Int(value) => query.bind(value),
                $crate::store::paging::Param::Text(value) => query.bind(value),
            };
        }
        query
    }};
}
pub(crate) use bind_params;

/// `value:id:is_prev`: Sentry's three-part shape (so tools that inspect it are not surprised), holding a
/// keyset instead of an offset. Only digits, `-` and `:`, which sentry-cli passes through unescaped.
pub fn format_cursor(keyset: Keyset, direction: Direction) -> String {
    let is_prev = u8::from(direction == Direction::Before);
    format!("{}:{}:{is_prev}", keyset.value, keyset.id)
}

/// The keyset and direction of a cursor [`format_cursor`] wrote; `None` for anything else.
pub fn parse_cursor(text: &str) -> Option<(Keyset, Direction)> {
    let mut parts = text.split(':');
    let (Some(value), Some(id), Some(is_prev), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    let direction = match is_prev {
        "0" => Direction::After,
        "1" => Direction::Before,
        _ => return None,
    };
    Some((
        Keyset {
            value: value.parse().ok()?,
            id: id.parse().ok()?,
        },
        direction,
    ))
}

#[cfg(test)]
mod cursor_tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_use_only_safe_characters() {
        let keyset = Keyset {
            value: 1_700_000_000_123,
            id: 42,
        };
        for direction in [Direction::After, Direction::Before] {
            let text = format_cursor(keyset, direction);
            assert!(text.chars().all(|c| c.is_ascii_digit() || c == ':' || c == '-'));
            assert_eq!(parse_cursor(&text), Some((keyset, direction)));
        }
    }

    #[test]
    fn malformed_cursors_are_refused() {
        for bad in ["", "1:2", "1:2:3", "a:2:0", "1:2:0:4"] {
            assert!(parse_cursor(bad).is_none(), "{bad:?}");
        }
    }
}
