//! Short issue ids such as `WEB-1A` (§9.4): the project slug upper-cased and a per-project counter
//! in Crockford-style base32 that skips the easily confused letters I, L, O and U.

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// `<SLUG>-<base32(n)>`, e.g. (`web`, 42) → `WEB-1A`.
pub fn encode_short_id(project_slug: &str, n: u64) -> String {
    format!("{}-{}", project_slug.to_uppercase(), encode_base32(n))
}

fn encode_base32(mut n: u64) -> String {
    let mut digits = Vec::new();
    loop {
        digits.push(ALPHABET[(n % 32) as usize] as char);
        n /= 32;
        if n == 0 {
            break;
        }
    }
    digits.iter().rev().collect()
}

/// Reads `web-1a` as (`web`, 42). Case-insensitive; `O` reads as 0 and `I`/`L` as 1 because
/// people retype ids by hand. Slugs may contain `-`, so the counter is after the last one.
pub fn parse_short_id(text: &str) -> Option<(String, u64)> {
    let (slug, counter) = text.trim().rsplit_once('-')?;
    if slug.is_empty() {
        return None;
    }
    Some((slug.to_lowercase(), decode_base32(counter)?))
}

fn decode_base32(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.chars().try_fold(0u64, |value, c| {
        let digit = decode_digit(c)?;
        value.checked_mul(32)?.checked_add(digit)
    })
}

fn decode_digit(c: char) -> Option<u64> {
    let canonical = match c.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        other => other,
    };
    ALPHABET
        .iter()
        .position(|&symbol| symbol as char == canonical)
        .map(|index| index as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_encode_in_base32_without_confusable_letters() {
        assert_eq!(encode_short_id("web", 1), "WEB-1");
        assert_eq!(encode_short_id("web", 3), "WEB-3");
        assert_eq!(encode_short_id("web", 31), "WEB-Z");
        assert_eq!(encode_short_id("web", 32), "WEB-10");
        assert_eq!(encode_short_id("web", 42), "WEB-1A");
    }

    #[test]
    fn short_ids_parse_case_insensitively() {
        assert_eq!(parse_short_id("web-1a"), Some(("web".into(), 42)));
        assert_eq!(parse_short_id("WEB-1A"), Some(("web".into(), 42)));
    }

    #[test]
    fn confusable_letters_decode_as_digits() {
        assert_eq!(parse_short_id("web-1O"), Some(("web".into(), 32)));
        assert_eq!(parse_short_id("web-I0"), parse_short_id("web-10"));
        assert_eq!(parse_short_id("web-l0"), parse_short_id("web-10"));
    }

    #[test]
    fn slugs_with_dashes_split_at_the_last_dash() {
        assert_eq!(parse_short_id("my-shop-Z"), Some(("my-shop".into(), 31)));
    }

    #[test]
    fn malformed_short_ids_are_rejected() {
        for text in ["web", "-1A", "web-", "web-U", "web-1!", "web-ZZZZZZZZZZZZZZ"] {
            assert_eq!(parse_short_id(text), None, "{text}");
        }
    }

    #[test]
    fn encoding_round_trips() {
        for n in [1, 31, 32, 42, 1023, 1024, u64::MAX] {
            assert_eq!(parse_short_id(&encode_short_id("web", n)), Some(("web".into(), n)));
        }
    }
}
