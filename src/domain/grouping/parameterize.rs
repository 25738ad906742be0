//! Message parameterization (§8.1): trims a message to its first two lines and replaces
//! variable parts (ids, numbers, addresses, dates, …) by placeholders so they do not split issues.

use regex::{Captures, Regex};
use std::sync::LazyLock;

/// Placeholders in precedence order: at any position the first alternative that matches wins,
/// so e.g. a UUID is never read as a run of integers. Each name is its placeholder text, except
/// `glued_int`, which keeps its letter and becomes `<int>`.
const PATTERNS: &[(&str, &str)] = &[
    ("email", r"[a-zA-Z0-9._%+-]+@[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+"),
    ("url", r#"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>]+"#),
    (
        "hostname",
        r"\b(?:[a-zA-Z0-9-]{1,63}\.)+(?:com|net|org|io|dev|app|edu|gov|mil|info|biz|co|uk|de|fr|nl|eu|ru|jp|cn|br|au|ca|ch|se|es|pl)\b",
    ),
    (
        "ip",
        r"\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b|\b(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}\b|\b(?:[0-9a-fA-F]{1,4}:){1,6}:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,5}\b",
    ),
    (
        "uuid",
        r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
    ),
    ("sha1", r"\b[0-9a-fA-F]{40}\b"),
    ("md5", r"\b[0-9a-fA-F]{32}\b"),
    ("date", DATE_PATTERN),
    // §8.1 quirk: Sentry's seconds branch lacks the leading boundary (`30s` → `3<duration>`);
    // we bound both ends so every duration normalizes whole.
    ("duration", r"\b\d+(?:\.\d+)?(?:ms|s)\b"),
    ("hex", r"\b0[xX][0-9a-fA-F]+\b"),
    ("float", r"(?:-|\b)\d+\.\d+\b"),
    ("int", r"(?:-|\b)\d+\b"),
    // Digits ending a word after a letter (`/data3`, `worker12`) have no word boundary before
    // them; the match starts at that letter, so the whole-word rules above still win.
    ("glued_int", r"(?P<glued_letter>\p{L})\d+\b"),
    // Quoted strings and booleans only count as values right after `=` (`name="x"`, `ok=true`).
    ("quoted_str", r#"="[^"]*"|='[^']*'"#),
    ("bool", r"=(?i:true|false)\b"),
];

const DATE_PATTERN: &str = concat!(
    // RFC 3339 / ISO 8601 date-times.
    r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?",
    // RFC 822 / 1123 (`Mon, 02 Jan 2006 15:04:05 MST`).
    r"|\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),\s\d{1,2}\s(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s\d{2,4}\s\d{2}:\d{2}(?::\d{2})?\s(?:[A-Z]{1,5}|[+-]\d{4})\b",
    // RFC 850 (`Monday, 02-Jan-06 15:04:05 MST`).
    r"|\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday),\s\d{2}-(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-\d{2}\s\d{2}:\d{2}:\d{2}\s[A-Z]{1,5}\b",
    r"|\bdatetime\.datetime\([^)]*\)",
    r"|\b\d{4}-\d{2}-\d{2}\b",
    r"|\b\d{1,2}:\d{2}:\d{2}(?:\.\d+)?\b",
    // Kitchen time (`3:04PM`).
    r"|\b\d{1,2}:\d{2}\s?[AaPp][Mm]\b",
);

static PARAMETERS: LazyLock<Regex> = LazyLock::new(|| {
    let alternatives: Vec<String> = PATTERNS
        .iter()
        .map(|(name, pattern)| format!("(?P<{name}>{pattern})"))
        .collect();
    Regex::new(&alternatives.join("|")).expect("parameter patterns are valid")
});

/// Normalizes a message for grouping: keeps the first two non-empty lines (appending `...` when
/// more followed) and replaces variable parts by placeholders such as `<int>` or `<uuid>`.
pub fn normalize_message(text: &str) -> String {
    let trimmed = first_two_lines(text);
    PARAMETERS
        .replace_all(&trimmed, |caps: &Captures| placeholder(caps))
        .into_owned()
}

fn first_two_lines(text: &str) -> String {
    let mut lines = text.lines().map(str::trim).filter(|line| !line.is_empty());
    let kept: Vec<&str> = lines.by_ref().take(2).collect();
    let mut joined = kept.join("\n");
    if lines.next().is_some() {
        joined.push_str("...");
    }
    joined
}

fn placeholder(caps: &Captures) -> String {
    let name = PATTERNS
        .iter()
        .map(|(name, _)| *name)
        .find(|name| caps.name(name).is_some())
        .unwrap_or("value");
    match name {
        "quoted_str" | "bool" => format!("=<{name}>"),
        "glued_int" => {
            let letter = caps.name("glued_letter").map_or("", |m| m.as_str());
            format!("{letter}<int>")
        }
        _ => format!("<{name}>"),
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_message;

    #[track_caller]
    fn assert_normalizes(input: &str, expected: &str) {
        assert_eq!(normalize_message(input), expected, "input: {input:?}");
    }

    #[test]
    fn integers_become_int_placeholders() {
        assert_normalizes("Sending 5 requests", "Sending <int> requests");
        assert_normalizes("offset -12 is invalid", "offset <int> is invalid");
    }

    #[test]
    fn digits_ending_a_word_after_letters_become_int_placeholders() {
        assert_normalizes("volume /data0 is full", "volume /data<int> is full");
        assert_normalizes("worker12 stalled", "worker<int> stalled");
        assert_normalizes("volume /data3.", "volume /data<int>.");
        assert_normalizes("node-7 down", "node<int> down");
    }

    #[test]
    fn digits_inside_a_word_are_kept() {
        assert_normalizes("run sha256sum now", "run sha256sum now");
        assert_normalizes("123abc", "123abc");
    }

    #[test]
    fn whole_word_rules_win_over_digits_ending_a_word() {
        assert_normalizes("bad pointer 0xBEEF1", "bad pointer <hex>");
        assert_normalizes(
            "order deadbeef-0000-4d2a-8e1f-012345678900 missing",
            "order <uuid> missing",
        );
        assert_normalizes(
            "commit da39a3ee5e6b4b0d3255bfef95601890afd80709 bad",
            "commit <sha1> bad",
        );
        assert_normalizes("blob d41d8cd98f00b204e9800998ecf84270 bad", "blob <md5> bad");
        assert_normalizes("no user bob12@example.com", "no user <email>");
        assert_normalizes("GET https://x.example.com/data3 failed", "GET <url> failed");
        assert_normalizes("cannot reach db1.example.org now", "cannot reach <hostname> now");
        assert_normalizes("at datetime.datetime(2024, 1, 1) ok", "at <date> ok");
    }

    #[test]
    fn floats_become_float_placeholders() {
        assert_normalizes("ratio 0.75 too high", "ratio <float> too high");
    }

    #[test]
    fn durations_in_milliseconds_and_seconds_normalize_whole() {
        assert_normalizes("Request took 1500ms", "Request took <duration>");
        assert_normalizes("Timeout after 30s", "Timeout after <duration>");
        assert_normalizes("waited 1.5s", "waited <duration>");
    }

    #[test]
    fn emails_urls_and_hostnames_are_replaced() {
        assert_normalizes("no user bob@example.com", "no user <email>");
        assert_normalizes("GET https://api.example.com/v1/items?id=3 failed", "GET <url> failed");
        assert_normalizes("cannot reach db1.example.org now", "cannot reach <hostname> now");
    }

    #[test]
    fn internal_names_without_a_common_tld_are_kept() {
        assert_normalizes("service rates.internal is down", "service rates.internal is down");
    }

    #[test]
    fn ip_addresses_are_replaced() {
        assert_normalizes("peer 10.0.0.17 refused", "peer <ip> refused");
        assert_normalizes("peer fe80::1ff:fe23:4567:890a gone", "peer <ip> gone");
        assert_normalizes("peer 2001:0db8:85a3:0000:0000:8a2e:0370:7334 gone", "peer <ip> gone");
    }

    #[test]
    fn scope_separators_are_not_ipv6() {
        assert_normalizes("in Foo::bar()", "in Foo::bar()");
    }

    #[test]
    fn uuids_and_digests_are_replaced() {
        assert_normalizes(
            "order 123e4567-e89b-12d3-a456-426614174000 missing",
            "order <uuid> missing",
        );
        assert_normalizes(
            "commit da39a3ee5e6b4b0d3255bfef95601890afd80709 bad",
            "commit <sha1> bad",
        );
        assert_normalizes("blob d41d8cd98f00b204e9800998ecf8427e bad", "blob <md5> bad");
    }

    #[test]
    fn dates_and_times_are_replaced() {
        assert_normalizes("at 2024-01-01T10:00:00.5Z failed", "at <date> failed");
        assert_normalizes("on 2024-01-01 failed", "on <date> failed");
        assert_normalizes("at 10:42:07 failed", "at <date> failed");
        assert_normalizes("at 3:04PM failed", "at <date> failed");
        assert_normalizes("since Mon, 02 Jan 2006 15:04:05 MST ok", "since <date> ok");
        assert_normalizes("since Monday, 02-Jan-06 15:04:05 MST ok", "since <date> ok");
        assert_normalizes("at datetime.datetime(2024, 1, 1, 10, 0) ok", "at <date> ok");
    }

    #[test]
    fn hex_literals_are_replaced() {
        assert_normalizes("bad pointer 0xdeadBEEF", "bad pointer <hex>");
    }

    #[test]
    fn quoted_strings_and_booleans_only_count_after_equals() {
        assert_normalizes(r#"name="alice" ok=true"#, "name=<quoted_str> ok=<bool>");
        assert_normalizes("mode='fast'", "mode=<quoted_str>");
        assert_normalizes(r#"said "hello" true"#, r#"said "hello" true"#);
        assert_normalizes("id=5", "id=<int>");
    }

    #[test]
    fn only_the_first_two_non_empty_lines_are_kept() {
        assert_normalizes("first\n\n  second  \nthird\nfourth", "first\nsecond...");
        assert_normalizes("only\n\nline two\n", "only\nline two");
    }

    #[test]
    fn templates_without_values_are_unchanged() {
        assert_normalizes("Sending %d requests", "Sending %d requests");
    }
}
