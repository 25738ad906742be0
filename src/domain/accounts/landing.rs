//! Where signing in lands: the page a sign-in link's `next` names, but only on this site.

/// Where a sign-in lands when `next` is missing or would leave the site.
pub const DEFAULT_LANDING: &str = "/";

/// `next` when it is a path on this site, else [`DEFAULT_LANDING`].
///
/// Browsers drop tabs and newlines from a `Location` and read `\` as `/`, so `/<tab>/host` and `/\host`
/// become `//host`: another site. Hence one leading `/` not followed by `/`, no `\` anywhere, and only
/// visible ASCII, which is all a request path holds and is always a valid header value (no 500s).
pub fn landing_after_sign_in(next: &str) -> &str {
    let visible_ascii = next.bytes().all(|byte| byte.is_ascii_graphic());
    let one_leading_slash = next.starts_with('/') && !next.starts_with("//");
    if visible_ascii && one_leading_slash && !next.contains('\\') {
        next
    } else {
        DEFAULT_LANDING
    }
}
