//! Payment card numbers inside free text: 13–19 digits, optionally grouped by single spaces or
//! dashes, passing the Luhn check and starting like a major network's number (2–6).

use serde_json::Value;

use super::FILTERED;

const MIN_DIGITS: usize = 13;
const MAX_DIGITS: usize = 19;

/// Replaces every card number in `text` by [`FILTERED`]; returns whether anything changed.
pub(super) fn mask_card_numbers(text: &mut String) -> bool {
    // Most strings carry few digits; counting is far cheaper than scanning for groups.
    if text.bytes().filter(u8::is_ascii_digit).nth(MIN_DIGITS - 1).is_none() {
        return false;
    }
    let spans = card_spans(text.as_bytes());
    if spans.is_empty() {
        return false;
    }
    let mut masked = String::with_capacity(text.len());
    let mut copied = 0;
    for (start, end) in spans {
        masked.push_str(&text[copied..start]);
        masked.push_str(FILTERED);
        copied = end;
    }
    masked.push_str(&text[copied..]);
    *text = masked;
    true
}

/// A JSON integer that is a card number (some forms post card fields as numbers).
pub(super) fn is_card_number(value: &Value) -> bool {
    let Some(number) = value.as_u64() else {
        return false;
    };
    let digits: Vec<u8> = number.to_string().into_bytes();
    digits.len() >= MIN_DIGITS && is_card_digits(&digits)
}

/// Byte ranges of card numbers, in order and disjoint.
fn card_spans(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        if !bytes[index].is_ascii_digit() {
            index += 1;
            continue;
        }
        let groups = digit_groups(bytes, index);
        index = groups.last().map_or(index + 1, |(_, end)| *end);
        spans.extend(cards_in_run(bytes, &groups));
    }
    spans
}

/// Digit groups starting at `start`, joined by exactly one space or dash.
fn digit_groups(bytes: &[u8], start: usize) -> Vec<(usize, usize)> {
    let mut groups = Vec::new();
    let mut cursor = start;
    loop {
        let group_start = cursor;
        while cursor < bytes.len() && bytes[cursor].is_ascii_digit() {
            cursor += 1;
        }
        groups.push((group_start, cursor));
        let joined =
            cursor + 1 < bytes.len() && matches!(bytes[cursor], b' ' | b'-') && bytes[cursor + 1].is_ascii_digit();
        if !joined {
            return groups;
        }
        cursor += 1;
    }
}

/// Card numbers among consecutive groups of one run: the whole run, or the longest valid
/// stretch of whole groups (a card followed by an expiry year, say).
fn cards_in_run(bytes: &[u8], groups: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut digits = Vec::with_capacity(MAX_DIGITS + 1);
    let mut first = 0;
    while first < groups.len() {
        let mut best = None;
        digits.clear();
        for (last, (start, end)) in groups.iter().enumerate().skip(first) {
            digits.extend_from_slice(&bytes[*start..*end]);
            if digits.len() > MAX_DIGITS {
                break;
            }
            if digits.len() >= MIN_DIGITS && is_card_digits(&digits) {
                best = Some(last);
            }
        }
        match best {
            Some(last) => {
                found.push((groups[first].0, groups[last].1));
                first = last + 1;
            }
            None => first += 1,
        }
    }
    found
}

fn is_card_digits(digits: &[u8]) -> bool {
    matches!(digits.first(), Some(b'2'..=b'6')) && luhn_valid(digits)
}

fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(position, digit)| {
            let value = u32::from(digit - b'0');
            match (position % 2 == 1, value * 2) {
                (true, doubled) if doubled > 9 => doubled - 9,
                (true, doubled) => doubled,
                (false, _) => value,
            }
        })
        .sum();
    sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn masked(text: &str) -> String {
        let mut text = text.to_owned();
        mask_card_numbers(&mut text);
        text
    }

    #[test]
    fn luhn_valid_cards_are_masked_in_any_grouping() {
        assert_eq!(masked("card 4111 1111 1111 1111 declined"), "card [Filtered] declined");
        assert_eq!(masked("4111-1111-1111-1111"), "[Filtered]");
        assert_eq!(masked("n=4111111111111111;"), "n=[Filtered];");
        assert_eq!(masked("amex 378282246310005"), "amex [Filtered]");
        assert_eq!(
            masked("a 5555555555554444 b 4012888888881881"),
            "a [Filtered] b [Filtered]"
        );
    }

    #[test]
    fn luhn_failures_are_kept() {
        let text = "card 4111 1111 1111 1112 declined";
        assert_eq!(masked(text), text);
    }

    #[test]
    fn non_card_numbers_are_kept() {
        for text in [
            "took 1704067200000 ms",
            "id 12345678901234567890123",
            "4111  1111 1111 1111",
            "phone 555-1234",
            "trace 595459b979c24c659d202fb3da54927f",
        ] {
            assert_eq!(masked(text), text);
        }
    }

    #[test]
    fn a_card_followed_by_more_digits_is_still_found() {
        assert_eq!(masked("4111 1111 1111 1111 2031"), "[Filtered] 2031");
    }

    #[test]
    fn card_numbers_as_json_integers() {
        assert!(is_card_number(&json!(4_111_111_111_111_111_u64)));
        assert!(!is_card_number(&json!(4_111_111_111_111_112_u64)));
        assert!(!is_card_number(&json!(42)));
        assert!(!is_card_number(&json!("4111111111111111")));
    }

    #[test]
    fn multibyte_text_around_cards_is_preserved() {
        assert_eq!(masked("é 4111111111111111 ü"), "é [Filtered] ü");
    }
}
