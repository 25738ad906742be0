//! Trace ids: 32 hex characters that tie a request's transactions (across services) and its errors
//! together (`contexts.trace.trace_id`). Read leniently (a UUID with dashes, upper case), stored and
//! linked in one form.

use uuid::Uuid;

/// The trace id as 32 lowercase hex characters; `None` for anything else and for the all-zero id, which
/// SDKs send when tracing is off.
pub fn parse_trace_id(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.len() > 36 {
        return None;
    }
    Uuid::try_parse(raw)
        .ok()
        .filter(|id| !id.is_nil())
        .map(|id| id.simple().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_are_read_in_every_spelling_and_stored_in_one() {
        let id = "4bf92f3577b34da6a3ce929d0e0e4736";
        assert_eq!(parse_trace_id(id).as_deref(), Some(id));
        assert_eq!(
            parse_trace_id(" 4BF92F35-77B3-4DA6-A3CE-929D0E0E4736 ").as_deref(),
            Some(id)
        );
        for broken in [
            "",
            "4bf92f35",
            "00000000000000000000000000000000",
            "<script>",
            &format!("{id}00"),
        ] {
            assert_eq!(parse_trace_id(broken), None, "{broken}");
        }
    }
}
