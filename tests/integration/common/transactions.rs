//! Transactions for tests: the recorded real-SDK corpus (tests/fixtures/transactions), moved in time so
//! that it lands in the periods the pages show.

use faultline::domain::normalize::parse_timestamp;
use serde_json::{json, Value};

/// A recorded envelope of the Django shop (tests/fixtures/transactions) as `(item type, payload)`.
pub fn recorded(name: &str) -> (String, Value) {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/transactions")
        .join(format!("{name}.envelope"));
    let bytes = std::fs::read(path).unwrap();
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    let item: Value = serde_json::from_slice(lines[1]).unwrap();
    let payload: Value = serde_json::from_slice(lines[2]).unwrap();
    (item["type"].as_str().unwrap().to_owned(), payload)
}

/// Moves every `timestamp` and `start_timestamp` in the payload by `seconds` (as Unix seconds).
pub fn shift_times(value: &mut Value, seconds: f64) {
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                match parse_timestamp(item) {
                    Some(at) if key == "timestamp" || key == "start_timestamp" => *item = json!(at + seconds),
                    _ => shift_times(item, seconds),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| shift_times(item, seconds)),
        _ => {}
    }
}
