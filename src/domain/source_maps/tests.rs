use super::*;

const MINIFIED: &str = include_str!("../../../tests/fixtures/source_map_resolution/dist/app.min.js");
const MAP: &[u8] = include_bytes!("../../../tests/fixtures/source_map_resolution/dist/app.min.js.map");

/// The 1-based column where `needle` starts on the bundle's first line.
fn column_of(needle: &str) -> u32 {
    MINIFIED.find(needle).expect("the bundle holds it") as u32 + 1
}

#[test]
fn a_throw_in_the_bundle_maps_to_its_source_line_function_and_context() {
    let map = ParsedMap::parse(MAP, Some(MINIFIED.as_bytes())).unwrap();
    let frame = MinifiedFrame {
        lineno: 1,
        colno: column_of("new Error"),
        function: Some("c"),
    };
    let original = map.resolve(frame).unwrap();
    assert_eq!(original.abs_path, "../src/cart.js");
    assert_eq!(original.filename, "src/cart.js");
    assert_eq!(original.lineno, 12);
    assert_eq!(original.function.as_deref(), Some("priceOf"));
    assert_eq!(
        original.context_line.as_deref(),
        Some("    throw new Error(`no price for ${item.sku}`);")
    );
    assert_eq!(
        original.pre_context.last().map(String::as_str),
        Some("  if (item.price === undefined) {")
    );
    assert_eq!(original.post_context.first().map(String::as_str), Some("  }"));
}

#[test]
fn without_the_minified_source_the_position_still_maps() {
    let map = ParsedMap::parse(MAP, None).unwrap();
    let frame = MinifiedFrame {
        lineno: 1,
        colno: column_of("o+=c(r)"),
        function: Some("Object.n"),
    };
    let original = map.resolve(frame).unwrap();
    assert_eq!(original.filename, "src/cart.js");
    assert_eq!(original.lineno, 5);
    assert_eq!(
        original.function, None,
        "no minified source to read the declaration from"
    );
}

#[test]
fn frames_the_map_does_not_cover_say_why() {
    let map = ParsedMap::parse(MAP, None).unwrap();
    let past = map.resolve(MinifiedFrame {
        lineno: 40,
        colno: 1,
        function: None,
    });
    assert_eq!(
        past.unwrap_err().to_string(),
        "line 40 is outside the source map (it maps lines 1 to 1)"
    );
    let nowhere = map.resolve(MinifiedFrame {
        lineno: 0,
        colno: 0,
        function: None,
    });
    assert_eq!(nowhere.unwrap_err(), Unresolved::NoPosition);
}

#[test]
fn maps_that_are_not_json_or_whose_mappings_are_garbage_are_refused_or_say_why() {
    assert!(ParsedMap::parse(b"not json at all", None).is_err());
    let garbage = br#"{"version":3,"sources":["a.js"],"names":[],"mappings":"!!!!"}"#;
    assert!(ParsedMap::parse(garbage, None).is_err());
    // A mapping pointing at source 5 of a map listing one.
    let past_sources = br#"{"version":3,"sources":["a.js"],"names":[],"mappings":"AKAA"}"#;
    match ParsedMap::parse(past_sources, None) {
        Ok(map) => assert_eq!(
            map.resolve(MinifiedFrame {
                lineno: 1,
                colno: 1,
                function: None
            })
            .unwrap_err(),
            Unresolved::SourceOutOfRange
        ),
        Err(refused) => assert!(refused.to_string().contains("cannot be read")),
    }
}

#[test]
fn filenames_lose_what_changes_between_builds() {
    assert_eq!(stable_filename("webpack://shop/./src/cart.js"), "src/cart.js");
    assert_eq!(stable_filename("../src/cart.js"), "src/cart.js");
    assert_eq!(stable_filename("../../src/cart.js"), "src/cart.js");
    assert_eq!(stable_filename("app:///src/cart.js"), "src/cart.js");
}
