//! Transaction names as they are rolled up. A name the SDK took from a route, a view or a task is already
//! a template (`/users/{id}/`, `shop.views.cart`) and is kept. A name taken from a raw URL (`source: url`,
//! or no source, as older SDKs send) carries ids, so it is parameterized the way messages are for grouping
//! (`/users/42/orders/9f8e…` → `/users/<int>/orders/<uuid>`); otherwise every user would get a row.

use crate::domain::grouping::normalize_message;

/// Longest name kept, in characters (Sentry trims `transaction` to 200).
const MAX_NAME_CHARS: usize = 200;
/// Sources whose names are templates already (Sentry's `transaction_info.source`).
const TEMPLATE_SOURCES: &[&str] = &["route", "view", "component", "task", "custom"];

/// The name a transaction is rolled up under; `<unlabeled transaction>` when it has none.
pub fn rollup_name(name: Option<&str>, source: Option<&str>) -> String {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    let Some(name) = name else {
        return "<unlabeled transaction>".to_owned();
    };
    let kept = if source.is_some_and(|s| TEMPLATE_SOURCES.contains(&s)) {
        name.to_owned()
    } else {
        parameterize_url(name)
    };
    kept.chars().take(MAX_NAME_CHARS).collect()
}

/// Drops a query string and fragment, then replaces the variable parts of each path segment.
fn parameterize_url(name: &str) -> String {
    let path = name.split(['?', '#']).next().unwrap_or(name);
    let first_line = path.lines().next().unwrap_or(path);
    first_line
        .split('/')
        .map(|segment| {
            if is_hex_id(segment) {
                "<hex>".to_owned()
            } else {
                // The parameterizer trims; a segment it leaves alone keeps its spaces (`GET /items`).
                let parameterized = normalize_message(segment);
                if parameterized == segment.trim() {
                    segment.to_owned()
                } else {
                    parameterized
                }
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A hash or hex id (`a9f3e2b1c4d5`): eight or more hex digits, letters and digits both.
fn is_hex_id(segment: &str) -> bool {
    segment.len() >= 8
        && segment.chars().all(|c| c.is_ascii_hexdigit())
        && segment.chars().any(|c| c.is_ascii_digit())
        && segment.chars().any(|c| c.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_names_are_kept() {
        assert_eq!(rollup_name(Some("/users/{id}/"), Some("route")), "/users/{id}/");
        assert_eq!(rollup_name(Some("shop.views.cart"), Some("view")), "shop.views.cart");
        assert_eq!(
            rollup_name(Some("generic WSGI request"), Some("route")),
            "generic WSGI request"
        );
    }

    #[test]
    fn url_names_are_parameterized() {
        assert_eq!(
            rollup_name(Some("/users/42/orders"), Some("url")),
            "/users/<int>/orders"
        );
        assert_eq!(
            rollup_name(Some("/o/5d3b0c61-0e0a-4b7e-9c55-2f4f2c9a7c11/x?page=2"), None),
            "/o/<uuid>/x"
        );
        assert_eq!(
            rollup_name(Some("/assets/a9f3e2b1c4d5/app.js"), Some("url")),
            "/assets/<hex>/app.js"
        );
        assert_eq!(rollup_name(Some("GET /items/7"), Some("url")), "GET /items/<int>");
    }

    #[test]
    fn missing_and_long_names() {
        assert_eq!(rollup_name(None, None), "<unlabeled transaction>");
        assert_eq!(rollup_name(Some("   "), Some("route")), "<unlabeled transaction>");
        let long = "a".repeat(500);
        assert_eq!(rollup_name(Some(&long), Some("route")).chars().count(), 200);
    }
}
