//! Which keys name secrets: a case-, separator- and space-insensitive substring match against the
//! default list in the parent module doc, extended by each project's own keys.

use regex::Regex;

/// Substrings of a normalized key (lowercase, no `-`, `_` or spaces) that mark it sensitive.
pub(super) const DEFAULT_PATTERNS: [&str; 21] = [
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "apikey",
    "authorization",
    "bearer",
    "cookie",
    "session",
    "csrf",
    "xsrf",
    "creditcard",
    "cardnumber",
    "ccnumber",
    "cvv",
    "cvc",
    "privatekey",
    "credential",
    "jwt",
    "signature",
];

/// `auth` marks a key only when it is not the start of these words (`author`, `authority`,
/// `is_authenticated` are harmless; `x-auth`, `auth_key`, `basic_auth` are not).
const HARMLESS_AUTH_WORDS: [&str; 2] = ["or", "entic"];

#[derive(Debug, Clone)]
pub(super) struct SensitiveKeys {
    patterns: Vec<String>,
    /// All patterns in one automaton: one pass per key instead of one per pattern. `None` only
    /// if a project lists so many keys that the regex size limit is hit.
    matcher: Option<Regex>,
}

impl SensitiveKeys {
    pub(super) fn new(extra_keys: &[String]) -> SensitiveKeys {
        let extra = extra_keys
            .iter()
            .map(|key| normalize_key(key))
            .filter(|key| !key.is_empty());
        let mut patterns: Vec<String> = DEFAULT_PATTERNS.iter().map(|p| (*p).to_owned()).collect();
        for pattern in extra {
            if !patterns.contains(&pattern) {
                patterns.push(pattern);
            }
        }
        let alternation: Vec<String> = patterns.iter().map(|pattern| regex::escape(pattern)).collect();
        let matcher = Regex::new(&alternation.join("|")).ok();
        SensitiveKeys { patterns, matcher }
    }

    pub(super) fn is_sensitive(&self, key: &str) -> bool {
        // Every databag key passes here, so short ASCII keys are normalized without allocating.
        let mut inline = [0u8; INLINE_KEY_BYTES];
        let owned;
        let key = if key.len() <= INLINE_KEY_BYTES && key.is_ascii() {
            let mut len = 0;
            for byte in key.bytes().filter(|byte| !is_separator(char::from(*byte))) {
                inline[len] = byte.to_ascii_lowercase();
                len += 1;
            }
            std::str::from_utf8(&inline[..len]).unwrap_or_default()
        } else {
            owned = normalize_key(key);
            owned.as_str()
        };
        let listed = match &self.matcher {
            Some(matcher) => matcher.is_match(key),
            None => self.patterns.iter().any(|pattern| key.contains(pattern.as_str())),
        };
        listed || names_auth(key)
    }
}

const INLINE_KEY_BYTES: usize = 64;

fn is_separator(c: char) -> bool {
    matches!(c, '-' | '_') || c.is_whitespace()
}

/// Lowercase without `-`, `_` and whitespace, so `X-Api-Key`, `api_key` and `API KEY` agree.
fn normalize_key(key: &str) -> String {
    key.chars()
        .filter(|c| !is_separator(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

fn names_auth(key: &str) -> bool {
    key.match_indices("auth").any(|(start, _)| {
        let rest = &key[start + "auth".len()..];
        !HARMLESS_AUTH_WORDS.iter().any(|word| rest.starts_with(word))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_keys_match_across_case_and_separators() {
        let keys = SensitiveKeys::new(&[]);
        for key in [
            "password",
            "DB_PASSWORD",
            "passwd",
            "pwd",
            "client_secret",
            "access_token",
            "X-Api-Key",
            "api_key",
            "Authorization",
            "HTTP_AUTHORIZATION",
            "Cookie",
            "Set-Cookie",
            "sessionid",
            "csrftoken",
            "X-XSRF-TOKEN",
            "credit card",
            "card_number",
            "cvv",
            "private_key",
            "x-auth",
            "auth",
            "auth_key",
            "basic_auth",
            "Proxy-Authorization",
            "bearer",
        ] {
            assert!(keys.is_sensitive(key), "{key}");
        }
    }

    #[test]
    fn harmless_keys_survive() {
        let keys = SensitiveKeys::new(&[]);
        for key in [
            "author",
            "authors",
            "co_author",
            "authority",
            "is_authenticated",
            "username",
            "email",
            "Content-Type",
            "User-Agent",
            "Host",
            "page",
            "expand",
            "sys.argv",
            "region",
        ] {
            assert!(!keys.is_sensitive(key), "{key}");
        }
    }

    #[test]
    fn project_keys_are_normalized_and_added() {
        let keys = SensitiveKeys::new(&["Customer-Ssn".to_owned(), " ".to_owned(), String::new()]);
        assert!(keys.is_sensitive("customer_ssn"));
        assert!(keys.is_sensitive("billing.CUSTOMER SSN"));
        assert!(
            !keys.is_sensitive("customer"),
            "blank project keys must not match everything"
        );
    }
}
