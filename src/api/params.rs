//! Query-string parameters as Sentry's API uses them: repeatable keys (`id=1&id=2`, `project=…`), and the
//! keyset cursors and `Link` header of §11.1.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderValue;

use crate::store::paging::{self, format_cursor, Direction, Keyset, Page, PageRequest};

use super::error::ApiError;

/// Sentry's page size cap; larger requests (Grafana sends 10000) are clamped, not refused.
pub const MAX_PAGE_SIZE: i64 = 100;

/// The request's path and its query pairs in order.
#[derive(Debug, Clone, Default)]
pub struct RequestParams {
    pub path: String,
    pairs: Vec<(String, String)>,
}

impl<S: Send + Sync> FromRequestParts<S> for RequestParams {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        let pairs = url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Ok(RequestParams {
            path: parts.uri.path().to_owned(),
            pairs,
        })
    }
}

impl RequestParams {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// `limit` or `per_page`, clamped to 1..=100.
    pub fn limit(&self, default: i64) -> Result<i64, ApiError> {
        match self.get("limit").or_else(|| self.get("per_page")) {
            None | Some("") => Ok(default),
            Some(text) => text
                .parse::<i64>()
                .map(|n| n.clamp(1, MAX_PAGE_SIZE))
                .map_err(|_| ApiError::bad_request(format!("invalid limit {text:?}"))),
        }
    }

    /// The page to read: `cursor` (absent or empty for the first page) and the limit.
    pub fn page(&self, default_limit: i64) -> Result<PageRequest, ApiError> {
        let from = match self.get("cursor") {
            None | Some("") => None,
            Some(text) => Some(parse_cursor(text)?),
        };
        Ok(PageRequest {
            from,
            limit: self.limit(default_limit)?,
        })
    }

    /// The `Link` header for a page read for `request`; `key` gives an item's position in the listing.
    pub fn link_header<T>(
        &self,
        base_url: &url::Url,
        request: &PageRequest,
        found: &Page<T>,
        key: impl Fn(&T) -> Keyset,
    ) -> HeaderValue {
        let edges = found
            .items
            .first()
            .zip(found.items.last())
            .map(|(a, b)| (key(a), key(b)));
        let more = found.more;
        let reading_back = matches!(request.from, Some((_, Direction::Before)));
        let (has_previous, has_next) = if reading_back {
            (more, true)
        } else {
            (request.from.is_some() && edges.is_some(), more)
        };
        let fallback = request.from.map(|(k, _)| k).unwrap_or(Keyset { value: 0, id: 0 });
        let (first, last) = edges.unwrap_or((fallback, fallback));
        let previous = format_cursor(first, Direction::Before);
        let next = format_cursor(last, Direction::After);
        let link = format!(
            "{}, {}",
            self.link_entry(base_url, &previous, "previous", has_previous && edges.is_some()),
            self.link_entry(base_url, &next, "next", has_next && edges.is_some()),
        );
        HeaderValue::from_str(&link).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The `Link` header of an offset-paged listing (Sentry's `0:<offset>:<is_prev>` cursors, as its
    /// Discover endpoints page).
    pub fn offset_link_header(&self, base_url: &url::Url, offset: i64, limit: i64, more: bool) -> HeaderValue {
        let previous = format!("0:{}:1", (offset - limit).max(0));
        let next = format!("0:{}:0", offset + limit);
        let link = format!(
            "{}, {}",
            self.link_entry(base_url, &previous, "previous", offset > 0),
            self.link_entry(base_url, &next, "next", more),
        );
        HeaderValue::from_str(&link).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    fn link_entry(&self, base_url: &url::Url, cursor: &str, rel: &str, results: bool) -> String {
        let mut url = base_url.clone();
        url.set_path(&self.path);
        {
            let mut query = url.query_pairs_mut();
            query.clear();
            for (k, v) in self.pairs.iter().filter(|(k, _)| k != "cursor") {
                query.append_pair(k, v);
            }
            query.append_pair("cursor", cursor);
        }
        format!("<{url}>; rel=\"{rel}\"; results=\"{results}\"; cursor=\"{cursor}\"")
    }
}

/// [`paging::parse_cursor`], refused as a bad request.
pub fn parse_cursor(text: &str) -> Result<(Keyset, Direction), ApiError> {
    paging::parse_cursor(text).ok_or_else(|| ApiError::bad_request(format!("invalid cursor {text:?}")))
}
