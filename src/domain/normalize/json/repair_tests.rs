use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::super::path::MAX_PATH_BYTES;
use super::*;

/// The repaired text; panics when the pass found nothing to repair.
fn repaired(input: &str) -> String {
    let repaired = repair_json_text(input.as_bytes()).unwrap_or_else(|| panic!("{input} needs a repair"));
    String::from_utf8(repaired.text).expect("repairs keep UTF-8")
}

fn assert_untouched(input: &str) {
    assert!(
        repair_json_text(input.as_bytes()).is_none(),
        "{input} must be left alone"
    );
}

fn only_repair(input: &str) -> Repair {
    let mut repairs = repair_json_text(input.as_bytes()).expect("a repair").repairs;
    assert_eq!(repairs.len(), 1, "{repairs:?}");
    repairs.remove(0)
}

#[test]
fn valid_surrogate_pairs_are_untouched() {
    assert_untouched(r#"{"message":"error \ud83d\ude00"}"#);
    assert_untouched(r#"{"message":"\uD83D\uDE00 and \u00e9 and \u0041"}"#);
}

#[test]
fn a_lone_high_surrogate_becomes_the_replacement_character() {
    assert_eq!(
        repaired(r#"{"message":"error \ud83d"}"#),
        r#"{"message":"error \ufffd"}"#
    );
    assert_eq!(repaired(r#"["\uD83D"]"#), r#"["\ufffd"]"#);
}

#[test]
fn a_lone_low_surrogate_becomes_the_replacement_character() {
    // Python's surrogateescape for the byte 0xE9 of a Latin-1 file name.
    assert_eq!(
        repaired(r#"{"abs_path":"/srv/caf\udce9.py"}"#),
        r#"{"abs_path":"/srv/caf\ufffd.py"}"#
    );
}

#[test]
fn a_reversed_pair_is_two_lone_surrogates() {
    assert_eq!(repaired(r#"["\udc00\ud800"]"#), r#"["\ufffd\ufffd"]"#);
}

#[test]
fn a_high_surrogate_followed_by_another_escape_is_lone() {
    assert_eq!(repaired(r#"["\ud83d\u0041"]"#), r#"["\ufffd\u0041"]"#);
    assert_eq!(repaired(r#"["\ud83d\n"]"#), r#"["\ufffd\n"]"#);
    assert_eq!(repaired(r#"["\ud83d\\ude00"]"#), r#"["\ufffd\\ude00"]"#);
}

#[test]
fn a_high_surrogate_before_a_valid_pair_is_lone_and_the_pair_kept() {
    assert_eq!(repaired(r#"["\ud83d\ud83d\ude00"]"#), r#"["\ufffd\ud83d\ude00"]"#);
}

#[test]
fn a_high_surrogate_at_the_end_of_a_string_or_of_the_input_is_lone() {
    assert_eq!(repaired(r#"["x\ud83d","y"]"#), r#"["x\ufffd","y"]"#);
    assert_eq!(repaired(r#"["x\ud83d"#), r#"["x\ufffd"#);
}

#[test]
fn an_escaped_backslash_does_not_start_an_escape() {
    assert_untouched(r#"["\\ud83d"]"#);
    assert_untouched(r#"["C:\\udcee\\file"]"#);
    // An escaped backslash, then a real lone escape.
    assert_eq!(repaired(r#"["\\\ud83d"]"#), r#"["\\\ufffd"]"#);
    // An escaped quote does not end the string.
    assert_untouched(r#"["say \"1e400\""]"#);
}

#[test]
fn numbers_beyond_the_float_range_are_kept_as_strings() {
    assert_eq!(repaired(r#"{"extra":{"big":1e400}}"#), r#"{"extra":{"big":"1e400"}}"#);
    assert_eq!(repaired(r#"[-1e400, 1E+400]"#), r#"["-1e400", "1E+400"]"#);
    let huge_integer = "9".repeat(400);
    assert_eq!(repaired(&format!("[{huge_integer}]")), format!("[\"{huge_integer}\"]"));
}

#[test]
fn numbers_serde_json_reads_are_untouched() {
    assert_untouched(r#"[1e308, -1.5e308, 1e-400, 0e999999, 5e-324]"#);
    assert_untouched(r#"{"n":123456789012345678901234567890}"#);
    assert_untouched(r#"{"n":-12.5e3,"m":0,"k":-0.0}"#);
}

#[test]
fn number_lookalikes_that_are_not_json_numbers_are_untouched() {
    // Quoting these would make invalid JSON valid.
    assert_untouched("[01e400]");
    assert_untouched("[1.e400]");
    assert_untouched("[.5e400]");
    assert_untouched("[1e400e1]");
    assert_untouched("{1e400: 1}");
}

#[test]
fn numbers_and_tokens_inside_strings_are_untouched() {
    assert_untouched(r#"{"message":"1e400 NaN -Infinity"}"#);
    assert_eq!(
        repaired(r#"{"message":"1e400 \ud83d","n":1e400}"#),
        r#"{"message":"1e400 \ufffd","n":"1e400"}"#
    );
}

#[test]
fn non_finite_tokens_become_null() {
    assert_eq!(
        repaired(r#"{"a":NaN,"b":Infinity,"c":-Infinity,"d":[1,NaN]}"#),
        r#"{"a":null,"b":null,"c":null,"d":[1,null]}"#
    );
}

#[test]
fn each_repair_says_what_and_where() {
    let input = r#"{"exception":{"values":[{"stacktrace":{"frames":[{},{"abs_path":"/srv/caf\udce9.py"}]}}]}}"#;
    let repair = only_repair(input);
    assert_eq!(repair.kind, RepairKind::LoneSurrogate);
    assert_eq!(repair.path, "exception.values.0.stacktrace.frames.1.abs_path");
    assert_eq!(repair.original, r"\udce9");
    let repair = only_repair(r#"{"extra":{"list":[1, 2, -1e400]}}"#);
    assert_eq!(repair.kind, RepairKind::NumberOutOfRange);
    assert_eq!(
        (repair.path.as_str(), repair.original.as_str()),
        ("extra.list.2", "-1e400")
    );
    let repair = only_repair(r#"{"extra":{"a":1,"b\"c":NaN}}"#);
    assert_eq!(
        (repair.kind, repair.path.as_str()),
        (RepairKind::NonFiniteNumber, r#"extra.b\"c"#)
    );
}

#[test]
fn a_lone_surrogate_inside_a_key_is_noted_at_its_object() {
    let repair = only_repair(r#"{"extra":{"k\ud800":1}}"#);
    assert_eq!(repair.path, "extra");
    assert_eq!(repaired(r#"{"extra":{"k\ud800":1}}"#), r#"{"extra":{"k\ufffd":1}}"#);
}

#[test]
fn notes_are_bounded_but_every_token_is_repaired() {
    let input = format!("[{}]", vec![r#""\ud83d""#; 1_000].join(","));
    let repaired = repair_json_text(input.as_bytes()).unwrap();
    assert_eq!(repaired.repairs.len(), MAX_NOTED_REPAIRS);
    assert_eq!(repaired.text.len(), input.len(), "a surrogate is rewritten in place");
    assert!(!String::from_utf8(repaired.text).unwrap().contains("d83d"));
}

#[test]
fn long_keys_deep_paths_and_long_numbers_are_cut_in_the_note() {
    let long_key = "k".repeat(10_000);
    let deep = format!("{}{{\"{long_key}\":1e400}}{}", "[".repeat(500), "]".repeat(500));
    let repair = only_repair(&deep);
    assert!(
        repair.path.len() <= MAX_PATH_BYTES + '…'.len_utf8(),
        "{}",
        repair.path.len()
    );
    let long_number = format!("[{}]", "9".repeat(100_000));
    let repair = only_repair(&long_number);
    assert!(repair.original.len() <= MAX_ORIGINAL_BYTES + '…'.len_utf8());
}

#[test]
fn truncated_and_stray_escapes_never_panic() {
    for input in [
        r#""\ud8"#,
        r#""\u"#,
        r#""\"#,
        r#"\"#,
        r#""\ud83d\"#,
        r#""\ud83d\u"#,
        r#""\ud83d\ude"#,
        r#""\ud83d\udzzz""#,
        r#""\uzzzz""#,
        r#""\u+d83""#,
        r#"\ud83d"#,
        "\"",
        "-",
        "1e",
        "1e400",
        "-Infinit",
        "N",
        "{",
        "}}}]]]",
        ":,:,",
        "",
    ] {
        if let Some(repaired) = repair_json_text(input.as_bytes()) {
            assert!(repaired.text.len() <= input.len() + 2, "{input}");
        }
    }
    assert_eq!(repaired(r#""\ud83d"#), r#""\ufffd"#);
    assert_eq!(repaired("1e400"), r#""1e400""#);
}

/// Fragments that steer random texts into the scanner's interesting states.
const FRAGMENTS: &[&str] = &[
    "\"",
    "\\",
    "\\u",
    "\\ud83d",
    "\\ude00",
    "\\udc00",
    "d83d",
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "1e400",
    "-",
    "e",
    "0",
    "9",
    ".",
    "NaN",
    "-Infinity",
    "Infinity",
    "\\\\",
    "\\\"",
    "a",
    " ",
    "\u{e9}",
    "\u{1f600}",
];

fn random_text(rng: &mut StdRng) -> Vec<u8> {
    let parts = rng.random_range(0..40);
    let mut text = Vec::new();
    for _ in 0..parts {
        if rng.random_bool(0.2) {
            text.push(rng.random());
        } else {
            text.extend_from_slice(FRAGMENTS[rng.random_range(0..FRAGMENTS.len())].as_bytes());
        }
    }
    text
}

#[test]
fn random_texts_never_panic_and_valid_json_is_never_touched() {
    let mut rng = StdRng::seed_from_u64(0x5eed_1e40);
    let (mut repaired_count, mut parsed_after_repair) = (0, 0);
    for _ in 0..20_000 {
        let text = random_text(&mut rng);
        let accepted = serde_json::from_slice::<serde_json::Value>(&text).is_ok();
        let Some(repaired) = repair_json_text(&text) else {
            continue;
        };
        repaired_count += 1;
        assert!(
            !accepted,
            "valid JSON was rewritten: {:?}",
            String::from_utf8_lossy(&text)
        );
        assert!(
            repaired.text.len() <= text.len() * 7 / 5 + 2,
            "output stays proportional"
        );
        if serde_json::from_slice::<serde_json::Value>(&repaired.text).is_ok() {
            parsed_after_repair += 1;
            assert!(repair_json_text(&repaired.text).is_none(), "repairing is idempotent");
        }
    }
    // The fragments must keep reaching both outcomes, or this test checks nothing.
    assert!(
        repaired_count > 1_000 && parsed_after_repair > 10,
        "{repaired_count} {parsed_after_repair}"
    );
}
