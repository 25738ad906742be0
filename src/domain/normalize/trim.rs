//! Databag trimming (§7.6): free-form JSON (extra, contexts, request data, frame vars, breadcrumb
//! data, user data) is bounded in depth, string length and total size, and loses NUL characters.

use serde_json::{Map, Value};

use super::fields::{strip_nul, truncate_bytes};

/// Containers nested deeper than this are replaced by [`TRIMMED`].
pub(super) const MAX_DEPTH: usize = 7;
/// Longest string kept inside a databag, in bytes.
pub(super) const MAX_STRING_BYTES: usize = 16 * 1024;
/// Size budget for the big bags (extra, contexts, request data): Relay's "massive" size.
pub(super) const MASSIVE_BAG_BYTES: usize = 256 * 1024;
/// Size budget for the many small bags of one event (each frame's vars, each breadcrumb's data).
pub(super) const LARGE_BAG_BYTES: usize = 32 * 1024;
/// Size budget for small structured values (ids, ranges).
pub(super) const SMALL_BAG_BYTES: usize = 1024;
/// Stand-in for a container cut off by the depth limit.
pub(super) const TRIMMED: &str = "[Trimmed]";

/// Rough bytes charged for a number, boolean or null.
const SCALAR_COST: usize = 8;

/// Trims one databag in place; once its byte budget is spent, further entries are dropped.
pub(super) fn trim_databag(value: &mut Value, budget_bytes: usize) {
    let mut budget = budget_bytes;
    trim_value(value, 0, &mut budget);
}

/// Trims an object-shaped bag (its keys are depth 1).
pub(super) fn trim_map(map: &mut Map<String, Value>, budget_bytes: usize) {
    let mut budget = budget_bytes;
    trim_entries(map, 1, &mut budget);
}

fn trim_value(value: &mut Value, depth: usize, budget: &mut usize) {
    match value {
        Value::String(text) => {
            if text.contains('\0') {
                *text = strip_nul(std::mem::take(text));
            }
            truncate_bytes(text, MAX_STRING_BYTES);
            spend(budget, text.len());
        }
        Value::Array(_) | Value::Object(_) if depth >= MAX_DEPTH => {
            *value = Value::String(TRIMMED.to_owned());
            spend(budget, TRIMMED.len());
        }
        Value::Array(items) => {
            let mut kept = 0;
            for item in items.iter_mut() {
                if *budget == 0 {
                    break;
                }
                trim_value(item, depth + 1, budget);
                kept += 1;
            }
            items.truncate(kept);
        }
        Value::Object(map) => trim_entries(map, depth + 1, budget),
        _ => spend(budget, SCALAR_COST),
    }
}

fn trim_entries(map: &mut Map<String, Value>, depth: usize, budget: &mut usize) {
    if map.keys().any(|key| key.contains('\0')) {
        *map = std::mem::take(map)
            .into_iter()
            .map(|(key, value)| (strip_nul(key), value))
            .collect();
    }
    map.retain(|key, value| {
        if *budget == 0 {
            return false;
        }
        spend(budget, key.len());
        trim_value(value, depth, budget);
        true
    });
}

fn spend(budget: &mut usize, bytes: usize) {
    *budget = budget.saturating_sub(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nested(levels: usize) -> Value {
        (0..levels).fold(json!("leaf"), |inner, _| json!({ "k": inner }))
    }

    #[test]
    fn containers_below_depth_seven_become_trimmed() {
        let mut bag = nested(10);
        trim_databag(&mut bag, MASSIVE_BAG_BYTES);
        let mut cursor = &bag;
        for _ in 0..MAX_DEPTH {
            cursor = &cursor["k"];
        }
        assert_eq!(cursor, &json!(TRIMMED));
    }

    #[test]
    fn shallow_bags_are_untouched() {
        let mut bag = nested(5);
        trim_databag(&mut bag, MASSIVE_BAG_BYTES);
        assert_eq!(bag, nested(5));
    }

    #[test]
    fn long_strings_are_cut_to_sixteen_kib() {
        let mut bag = json!({"blob": "x".repeat(40_000)});
        trim_databag(&mut bag, MASSIVE_BAG_BYTES);
        assert_eq!(bag["blob"].as_str().unwrap().len(), MAX_STRING_BYTES);
    }

    #[test]
    fn nul_characters_leave_keys_and_values() {
        let mut bag = json!({"a\u{0}b": ["c\u{0}d"]});
        trim_databag(&mut bag, MASSIVE_BAG_BYTES);
        assert_eq!(bag, json!({"ab": ["cd"]}));
    }

    #[test]
    fn huge_arrays_stop_at_the_budget() {
        let mut bag = Value::Array(vec![json!("0123456789"); 100_000]);
        trim_databag(&mut bag, LARGE_BAG_BYTES);
        let kept = bag.as_array().unwrap().len();
        assert!(kept > 100 && kept < 5_000, "kept {kept}");
    }
}
