//! Keyset pages for the UI's lists: reading the `cursor` parameter, and the "newer" / "older" links of a page.

use crate::store::paging::{format_cursor, parse_cursor};
use crate::store::paging::{Direction, Keyset, Page, PageRequest};
use crate::web::WebError;

/// The page a `cursor` parameter asks for (empty: the first).
pub fn page_request(cursor: &str, limit: i64) -> Result<PageRequest, WebError> {
    let from = match cursor {
        "" => None,
        text => Some(parse_cursor(text).ok_or_else(|| WebError::BadRequest("That page link is not valid.".into()))?),
    };
    Ok(PageRequest { from, limit })
}

/// The links to the pages before and after this one, when they hold anything. `keyset` gives an item's
/// position; `link` turns a cursor into the list's URL.
pub fn neighbour_links<T>(
    request: &PageRequest,
    page: &Page<T>,
    keyset: impl Fn(&T) -> Keyset,
    link: impl Fn(&str) -> String,
) -> (Option<String>, Option<String>) {
    let (Some(first), Some(last)) = (page.items.first(), page.items.last()) else {
        return (None, None);
    };
    let (has_previous, has_next) = match request.from {
        None => (false, page.more),
        Some((_, Direction::After)) => (true, page.more),
        Some((_, Direction::Before)) => (page.more, true),
    };
    (
        has_previous.then(|| link(&format_cursor(keyset(first), Direction::Before))),
        has_next.then(|| link(&format_cursor(keyset(last), Direction::After))),
    )
}
