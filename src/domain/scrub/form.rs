//! Sensitive values inside text that carries its own keys: form-urlencoded bodies and URL query
//! strings (`a=b&password=c`). Keys are matched as sent; percent-decoding is not applied.

use super::keys::SensitiveKeys;
use super::FILTERED;

/// The text with values of sensitive keys filtered, or `None` when nothing needed filtering.
pub(super) fn scrub_form_text(text: &str, keys: &SensitiveKeys) -> Option<String> {
    if !text.contains('=') {
        return None;
    }
    let mut changed = false;
    let parts: Vec<String> = text
        .split('&')
        .map(|part| match part.split_once('=') {
            Some((key, value)) if !value.is_empty() && keys.is_sensitive(key) => {
                changed = true;
                format!("{key}={FILTERED}")
            }
            _ => part.to_owned(),
        })
        .collect();
    changed.then(|| parts.join("&"))
}

/// Filters the query of a URL (`…?token=x#frag`), keeping the path and fragment.
pub(super) fn scrub_url(url: &str, keys: &SensitiveKeys) -> Option<String> {
    let (base, rest) = url.split_once('?')?;
    let (query, fragment) = match rest.split_once('#') {
        Some((query, fragment)) => (query, Some(fragment)),
        None => (rest, None),
    };
    let query = scrub_form_text(query, keys)?;
    Some(match fragment {
        Some(fragment) => format!("{base}?{query}#{fragment}"),
        None => format!("{base}?{query}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> SensitiveKeys {
        SensitiveKeys::new(&[])
    }

    #[test]
    fn form_bodies_lose_sensitive_values_only() {
        let scrubbed = scrub_form_text("user=ann&password=hunter2&next=/", &keys());
        assert_eq!(scrubbed.as_deref(), Some("user=ann&password=[Filtered]&next=/"));
        assert_eq!(scrub_form_text("user=ann&author=bob", &keys()), None);
        assert_eq!(scrub_form_text("plain text body", &keys()), None);
    }

    #[test]
    fn url_queries_are_scrubbed_around_path_and_fragment() {
        let scrubbed = scrub_url("https://x/cb?code=1&access_token=abc#top", &keys());
        assert_eq!(
            scrubbed.as_deref(),
            Some("https://x/cb?code=1&access_token=[Filtered]#top")
        );
        assert_eq!(scrub_url("https://x/a?page=2", &keys()), None);
        assert_eq!(scrub_url("https://x/a", &keys()), None);
    }
}
