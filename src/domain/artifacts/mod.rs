//! JavaScript source maps as uploaded by sentry-cli: the chunk-upload limits, reading a bundle
//! (`bundle`), and the rules that find a map for a frame: debug ids and legacy URL matching.

pub mod bundle;

pub use bundle::{read_bundle, stored_file, Bundle, BundleError, BundleFile, BundleLimits, BUNDLE_LIMITS};

/// Bytes per chunk sentry-cli cuts a bundle into (Sentry's own figure).
pub const CHUNK_SIZE: u64 = 8 * 1024 * 1024;
/// Chunks per upload request, and the request's largest size (compressed chunks plus the form's framing).
pub const CHUNKS_PER_REQUEST: u64 = 8;
pub const MAX_REQUEST_SIZE: u64 = CHUNKS_PER_REQUEST * CHUNK_SIZE + 1024 * 1024;
/// The largest bundle (as uploaded, packed) assembled from chunks.
pub const MAX_BUNDLE_SIZE: u64 = 64 * 1024 * 1024;
/// Unassembled chunks are forgotten after this long (an upload interrupted for good).
pub const CHUNK_EXPIRY_MS: i64 = 6 * 60 * 60 * 1000;

/// A SHA-1 as sentry-cli names chunks and bundles: 40 hex digits, any case; answered lowercase.
pub fn parse_sha1(text: &str) -> Option<String> {
    (text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit())).then(|| text.to_ascii_lowercase())
}

/// A debug id in any spelling (capitals, no dashes, braces; a trailing age as native ids have) as stored:
/// the lowercase UUID with dashes.
pub fn normalize_debug_id(text: &str) -> Option<String> {
    let hex: String = text.chars().filter(char::is_ascii_hexdigit).take(32).collect();
    let uuid = uuid::Uuid::try_parse(&hex).ok()?;
    Some(uuid.hyphenated().to_string())
}

/// The file type sentry-cli's release-file upload leaves unnamed, guessed as Sentry does: a `.map` name
/// is a source map, anything else a minified source.
pub fn legacy_file_type(name: &str) -> &'static str {
    if without_query(name).ends_with(".map") {
        "source_map"
    } else {
        "minified_source"
    }
}

/// The URLs a stored file may carry for a frame's `abs_path`, best first: itself, without its query
/// string, and as `~/` plus the path after scheme and host (how `--url-prefix '~/…'` names files).
pub fn url_candidates(abs_path: &str) -> Vec<String> {
    let mut candidates = vec![abs_path.to_owned()];
    let mut push = |url: String| {
        if !url.is_empty() && !candidates.contains(&url) {
            candidates.push(url);
        }
    };
    let bare = without_query(abs_path);
    push(bare.to_owned());
    if let Ok(parsed) = url::Url::parse(bare) {
        if parsed.has_host() || parsed.path().starts_with('/') {
            let path = parsed.path().trim_start_matches('/');
            if !path.is_empty() {
                push(format!("~/{path}"));
            }
        }
    }
    candidates
}

fn without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

/// The map a minified file names in its trailing `//# sourceMappingURL=` comment (`//@` in old tools);
/// inline `data:` maps are not a stored file and give `None`.
pub fn sourcemap_comment(source: &[u8]) -> Option<String> {
    // The comment is at the end; a long tail (a source map inlined) is not worth scanning.
    let tail = &source[source.len().saturating_sub(64 * 1024)..];
    let text = String::from_utf8_lossy(tail);
    let line = text
        .lines()
        .rev()
        .map(str::trim)
        .find(|line| line.starts_with("//# sourceMappingURL=") || line.starts_with("//@ sourceMappingURL="))?;
    let reference = line["//# sourceMappingURL=".len()..].trim();
    (!reference.is_empty() && !reference.starts_with("data:")).then(|| reference.to_owned())
}

/// A map reference resolved against its minified file's URL, which may be `~/…` (no scheme or host).
pub fn resolve_reference(minified_url: &str, reference: &str) -> String {
    if url::Url::parse(reference).is_ok() {
        return reference.to_owned();
    }
    // `~/` is a path without an origin: resolve under a stand-in host, then give the `~/` back.
    const TILDE_BASE: &str = "http://tilde.invalid/";
    let (base, tilde) = match minified_url.strip_prefix("~/") {
        Some(rest) => (format!("{TILDE_BASE}{rest}"), true),
        None => (minified_url.to_owned(), false),
    };
    match url::Url::parse(&base).and_then(|base| base.join(reference)) {
        Ok(joined) if tilde => match joined.as_str().strip_prefix(TILDE_BASE) {
            Some(rest) => format!("~/{rest}"),
            None => joined.into(),
        },
        Ok(joined) => joined.into(),
        // Neither is a URL: a plain path beside the minified file.
        Err(_) => match minified_url.rsplit_once('/') {
            Some((folder, _)) => format!("{folder}/{reference}"),
            None => reference.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_ids_are_matched_in_any_spelling() {
        let id = "2f3b0c4e-aaaa-4bbb-8ccc-0123456789ab";
        for spelling in [
            id,
            "2F3B0C4EAAAA4BBB8CCC0123456789AB",
            "{2F3B0C4E-AAAA-4BBB-8CCC-0123456789AB}",
        ] {
            assert_eq!(normalize_debug_id(spelling).as_deref(), Some(id));
        }
        assert_eq!(normalize_debug_id("not an id"), None);
    }

    #[test]
    fn a_frame_url_matches_the_tilde_path_without_its_query() {
        assert_eq!(
            url_candidates("https://shop.example.com/static/app.min.js?v=3"),
            [
                "https://shop.example.com/static/app.min.js?v=3",
                "https://shop.example.com/static/app.min.js",
                "~/static/app.min.js"
            ]
        );
        assert_eq!(url_candidates("app:///main.js"), ["app:///main.js", "~/main.js"]);
        assert_eq!(url_candidates("~/static/a.js"), ["~/static/a.js"]);
    }

    #[test]
    fn the_trailing_comment_names_the_map() {
        let source = b"x();\n//# sourceMappingURL=app.min.js.map\n//# debugId=abc\n";
        assert_eq!(sourcemap_comment(source).as_deref(), Some("app.min.js.map"));
        assert_eq!(
            sourcemap_comment(b"x();\n//# sourceMappingURL=data:application/json;base64,e30="),
            None
        );
        assert_eq!(sourcemap_comment(b"x();"), None);
    }

    #[test]
    fn map_references_resolve_against_the_minified_url() {
        assert_eq!(
            resolve_reference("~/static/app.min.js", "app.min.js.map"),
            "~/static/app.min.js.map"
        );
        assert_eq!(
            resolve_reference("~/static/app.min.js", "../maps/a.map"),
            "~/maps/a.map"
        );
        assert_eq!(
            resolve_reference("https://cdn.example.com/js/a.js", "a.js.map"),
            "https://cdn.example.com/js/a.js.map"
        );
        assert_eq!(
            resolve_reference("~/a.js", "https://x.example/a.map"),
            "https://x.example/a.map"
        );
    }

    #[test]
    fn names_ending_in_map_are_source_maps() {
        assert_eq!(legacy_file_type("~/static/app.min.js.map"), "source_map");
        assert_eq!(legacy_file_type("~/static/app.min.js"), "minified_source");
    }

    #[test]
    fn sha1s_are_forty_hex_digits() {
        assert_eq!(parse_sha1(&"A".repeat(40)), Some("a".repeat(40)));
        assert_eq!(parse_sha1("abc"), None);
    }
}
