//! Framing rules of §4.4 and the §12 envelope vectors, plus the recorded Python SDK corpus.

use super::*;

fn parse(body: &[u8]) -> Result<Envelope, EnvelopeError> {
    parse_envelope(Bytes::copy_from_slice(body))
}

fn types(envelope: &Envelope) -> Vec<&str> {
    envelope.items.iter().map(|item| item.ty.as_str()).collect()
}

#[test]
fn worked_example_of_the_spec_parses_into_three_items() {
    let body = b"{\"event_id\":\"0f5e7a8b9c0d4e1fa2b3c4d5e6f70819\",\"sent_at\":\"2025-01-01T00:00:00Z\"}\n\
{\"type\":\"event\",\"length\":18}\n{\"message\":\"boom\"}\n\
{\"type\":\"attachment\",\"length\":5,\"filename\":\"a.txt\"}\nhi\r\n!\n\
{\"type\":\"client_report\"}\n{\"discarded_events\":[]}";
    let envelope = parse(body).unwrap();
    assert_eq!(types(&envelope), ["event", "attachment", "client_report"]);
    assert_eq!(&envelope.items[0].payload[..], b"{\"message\":\"boom\"}");
    assert_eq!(&envelope.items[1].payload[..], b"hi\r\n!");
    assert_eq!(envelope.items[1].filename.as_deref(), Some("a.txt"));
    assert_eq!(&envelope.items[2].payload[..], b"{\"discarded_events\":[]}");
    assert_eq!(envelope.header.sent_at, Some(1_735_689_600.0));
}

#[test]
fn binary_attachment_with_newlines_keeps_its_exact_bytes() {
    let binary: &[u8] = b"\x00\n\r\n\xff\xfe\n{\"type\":\"event\"}\n\r";
    let mut body = b"{}\n".to_vec();
    body.extend_from_slice(
        format!(
            "{{\"type\":\"attachment\",\"length\":{},\"content_type\":\"application/octet-stream\"}}\n",
            binary.len()
        )
        .as_bytes(),
    );
    body.extend_from_slice(binary);
    body.extend_from_slice(b"\n{\"type\":\"event\",\"length\":2}\n{}\n");
    let envelope = parse(&body).unwrap();
    assert_eq!(types(&envelope), ["attachment", "event"]);
    assert_eq!(&envelope.items[0].payload[..], binary);
    assert_eq!(
        envelope.items[0].content_type.as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(&envelope.items[1].payload[..], b"{}");
}

#[test]
fn payloads_are_slices_of_the_body_not_copies() {
    let body = Bytes::from_static(b"{}\n{\"type\":\"event\",\"length\":2}\n{}\n");
    let envelope = parse_envelope(body.clone()).unwrap();
    let payload = &envelope.items[0].payload;
    assert_eq!(payload.as_ptr(), body[body.len() - 3..].as_ptr());
}

#[test]
fn explicit_length_longer_than_the_body_is_rejected() {
    let result = parse(b"{}\n{\"type\":\"event\",\"length\":50}\n{}\n");
    assert_eq!(result, Err(EnvelopeError::LengthExceedsBody { index: 0 }));
}

#[test]
fn huge_or_malformed_lengths_are_rejected_without_panicking() {
    let huge = format!("{{}}\n{{\"type\":\"event\",\"length\":{}}}\n{{}}", u64::MAX);
    assert_eq!(
        parse(huge.as_bytes()),
        Err(EnvelopeError::LengthExceedsBody { index: 0 })
    );
    for length in ["-1", "1e30", "2.5", "\"2\"", "true", "99999999999999999999999"] {
        let body = format!("{{}}\n{{\"type\":\"event\",\"length\":{length}}}\n{{}}");
        assert_eq!(
            parse(body.as_bytes()),
            Err(EnvelopeError::InvalidLength { index: 0 }),
            "length {length}"
        );
    }
}

#[test]
fn payload_followed_by_anything_but_a_newline_is_rejected() {
    let result = parse(b"{}\n{\"type\":\"event\",\"length\":2}\n{}X");
    assert_eq!(result, Err(EnvelopeError::MissingNewlineAfterPayload { index: 0 }));
    let crlf = parse(b"{}\n{\"type\":\"event\",\"length\":2}\n{}\r\n");
    assert_eq!(crlf, Err(EnvelopeError::MissingNewlineAfterPayload { index: 0 }));
}

#[test]
fn errors_name_the_failing_item() {
    let body = b"{}\n{\"type\":\"event\",\"length\":2}\n{}\n{\"length\":0}\n\n";
    assert_eq!(parse(body), Err(EnvelopeError::MissingItemType { index: 1 }));
}

#[test]
fn last_implicit_item_needs_no_trailing_newline() {
    let envelope = parse(b"{}\n{\"type\":\"event\"}\n{\"message\":\"hi\"}").unwrap();
    assert_eq!(&envelope.items[0].payload[..], b"{\"message\":\"hi\"}");
    let explicit = parse(b"{}\n{\"type\":\"event\",\"length\":2}\n{}").unwrap();
    assert_eq!(&explicit.items[0].payload[..], b"{}");
}

#[test]
fn envelope_of_only_a_header_has_no_items() {
    for body in [&b"{}"[..], b"{}\n", b"{\"event_id\":\"abc\"}\n"] {
        let envelope = parse(body).unwrap();
        assert!(envelope.items.is_empty());
    }
}

#[test]
fn zero_length_items_are_empty_and_framing_continues() {
    let body = b"{}\n{\"type\":\"attachment\",\"length\":0}\n\n{\"type\":\"event\",\"length\":2}\n{}\n";
    let envelope = parse(body).unwrap();
    assert_eq!(types(&envelope), ["attachment", "event"]);
    assert!(envelope.items[0].payload.is_empty());
    assert_eq!(&envelope.items[1].payload[..], b"{}");
}

#[test]
fn item_header_at_the_end_of_the_body_has_an_empty_payload() {
    for body in [
        &b"{}\n{\"type\":\"event\"}"[..],
        b"{}\n{\"type\":\"event\"}\n",
        b"{}\n{\"type\":\"attachment\",\"length\":0}",
    ] {
        let envelope = parse(body).unwrap();
        assert_eq!(envelope.items.len(), 1);
        assert!(envelope.items[0].payload.is_empty());
    }
}

#[test]
fn whitespace_only_tail_is_tolerated() {
    let envelope = parse(b"{}\n{\"type\":\"event\",\"length\":2}\n{}\n  \r\n\t\n").unwrap();
    assert_eq!(types(&envelope), ["event"]);
}

#[test]
fn crlf_terminated_header_lines_are_accepted_as_json_whitespace() {
    let envelope = parse(b"{\"event_id\":\"e\"}\r\n{\"type\":\"event\" , \"length\":2 }\r\n{}\n").unwrap();
    assert_eq!(envelope.header.event_id.as_deref(), Some("e"));
    assert_eq!(&envelope.items[0].payload[..], b"{}");
}

#[test]
fn many_item_types_parse_including_unknown_ones() {
    let body = b"{}\n\
{\"type\":\"session\"}\n{\"sid\":\"s\"}\n\
{\"type\":\"client_report\"}\n{\"discarded_events\":[]}\n\
{\"type\":\"profile\",\"length\":2}\n{}\n\
{\"type\":\"replay_event\"}\n{}\n\
{\"type\":\"check_in\"}\n{}\n\
{\"type\":\"log\",\"item_count\":1,\"content_type\":\"application/vnd.sentry.items.log+json\"}\n{\"items\":[]}\n\
{\"type\":\"frobnicate\",\"future\":true}\n\x01\x02\n";
    let envelope = parse(body).unwrap();
    let expected = [
        "session",
        "client_report",
        "profile",
        "replay_event",
        "check_in",
        "log",
        "frobnicate",
    ];
    assert_eq!(types(&envelope), expected);
    assert_eq!(&envelope.items[6].payload[..], b"\x01\x02");
}

#[test]
fn header_fields_are_read_and_unknown_keys_retained() {
    let body = br#"{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","dsn":"https://k@h/1","sent_at":"2024-01-01T00:00:00.5Z","sdk":{"name":"x"},"zzz":1}"#;
    let header = parse(body).unwrap().header;
    assert_eq!(header.event_id.as_deref(), Some("9ec79c33ec9942ab8353589fcb2e04dc"));
    assert_eq!(header.dsn.as_deref(), Some("https://k@h/1"));
    assert_eq!(header.sent_at, Some(1_704_067_200.5));
    assert_eq!(header.raw.get("zzz"), Some(&Value::from(1)));
    assert!(header.raw.contains_key("sdk"));
}

#[test]
fn unparsable_sent_at_and_non_string_ids_become_none() {
    let header = parse(br#"{"event_id":42,"sent_at":"yesterday"}"#).unwrap().header;
    assert_eq!(header.event_id, None);
    assert_eq!(header.sent_at, None);
    assert_eq!(header.raw.len(), 2);
}

#[test]
fn empty_or_blank_bodies_are_empty_envelopes() {
    assert_eq!(parse(b""), Err(EnvelopeError::Empty));
    assert_eq!(parse(b" \n\r\n"), Err(EnvelopeError::Empty));
}

#[test]
fn headers_must_be_json_objects() {
    for body in [&b"[]\n"[..], b"\"x\"", b"nope\n{\"type\":\"event\"}\n{}", b"\n{}\n"] {
        assert_eq!(parse(body), Err(EnvelopeError::InvalidHeader));
    }
    assert_eq!(
        parse(b"{}\n[1]\n{}"),
        Err(EnvelopeError::InvalidItemHeader { index: 0 })
    );
    assert_eq!(
        parse(b"{}\n{\"type\":7}\n{}"),
        Err(EnvelopeError::MissingItemType { index: 0 })
    );
    assert_eq!(
        parse(b"{}\n{\"type\":\"\"}\n{}"),
        Err(EnvelopeError::MissingItemType { index: 0 })
    );
}

#[test]
fn header_lines_longer_than_the_limit_are_rejected() {
    let padded = |size: usize| format!("{{\"p\":\"{}\"}}", "a".repeat(size - 8));
    assert_eq!(padded(MAX_HEADER_LINE).len(), MAX_HEADER_LINE);
    assert!(parse(format!("{}\n", padded(MAX_HEADER_LINE)).as_bytes()).is_ok());
    assert!(parse(padded(MAX_HEADER_LINE).as_bytes()).is_ok());
    assert_eq!(
        parse(padded(MAX_HEADER_LINE + 1).as_bytes()),
        Err(EnvelopeError::HeaderTooLong)
    );
    let long_item = format!("{{}}\n{}\n", padded(MAX_HEADER_LINE + 1));
    assert_eq!(
        parse(long_item.as_bytes()),
        Err(EnvelopeError::ItemHeaderTooLong { index: 0 })
    );
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    crate::corpus::python_envelopes()
        .into_iter()
        .map(|(name, bytes)| (name.to_owned(), bytes.to_vec()))
        .collect()
}

#[test]
fn every_corpus_envelope_holds_one_event_of_its_declared_length() {
    let corpus = corpus();
    assert_eq!(corpus.len(), 36);
    for (name, body) in corpus {
        let envelope = parse(&body).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(types(&envelope), ["event"], "{name}");
        let declared: Value = serde_json::from_slice(body.split(|&b| b == b'\n').nth(1).unwrap()).unwrap();
        let payload = &envelope.items[0].payload;
        assert_eq!(Some(payload.len() as u64), declared["length"].as_u64(), "{name}");
        let event: Value = serde_json::from_slice(payload).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert!(event.is_object(), "{name}");
        let event_id = envelope.header.event_id.as_deref().unwrap_or_default();
        assert_eq!(event_id.len(), 32, "{name}");
        assert!(envelope.header.sent_at.is_some_and(|at| at > 1.7e9), "{name}");
    }
}

#[test]
fn every_prefix_of_a_corpus_envelope_parses_or_fails_cleanly() {
    let (_, body) = corpus().swap_remove(0);
    let header_len = body.iter().position(|&b| b == b'\n').unwrap();
    let complete = body.len() - 1; // without the optional trailing newline
    for len in 0..=body.len() {
        let result = parse(&body[..len]);
        let should_parse = len == header_len || len == header_len + 1 || len >= complete;
        assert_eq!(result.is_ok(), should_parse, "prefix {len}: {result:?}");
    }
}

#[test]
fn flipped_bytes_never_panic() {
    let (_, body) = corpus().swap_remove(0);
    let mut parsed = 0;
    for position in (0..body.len()).step_by(7) {
        for mask in [0x01, 0x20, 0xff] {
            let mut garbled = body.clone();
            garbled[position] ^= mask;
            parsed += usize::from(parse(&garbled).is_ok());
        }
    }
    // Flips inside the event payload leave the framing intact; flips in headers mostly break it.
    assert!(parsed > 0 && parsed < body.len() / 7 * 3);
}

#[test]
fn an_envelope_of_more_items_than_the_cap_is_refused_before_reading_them_all() {
    let mut body = b"{}\n".to_vec();
    for _ in 0..MAX_ITEMS {
        body.extend_from_slice(b"{\"type\":\"x\"}\n\n");
    }
    assert_eq!(
        parse_envelope(Bytes::from(body.clone())).map(|e| e.items.len()),
        Ok(MAX_ITEMS)
    );
    body.extend_from_slice(b"{\"type\":\"x\"}\n\n");
    assert_eq!(parse_envelope(Bytes::from(body)), Err(EnvelopeError::TooManyItems));
}
