//! Content-Encoding vectors 13 and 14 and the legacy store bodies of vector 16.

use std::cell::Cell;
use std::io::Write;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

use super::*;

const MIB: usize = 1024 * 1024;
const EVENT: &[u8] = br#"{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","message":"boom"}"#;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn raw_deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn brotli(data: &[u8]) -> Vec<u8> {
    let mut output = Vec::new();
    {
        let mut encoder = brotli::CompressorWriter::new(&mut output, 4096, 4, 22);
        encoder.write_all(data).unwrap();
    }
    output
}

fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).unwrap()
}

fn decode(encoding: &str, body: Vec<u8>, max: usize) -> Result<Bytes, DecodeError> {
    decode_body(Some(encoding), Bytes::from(body), max)
}

/// A slice reader that records how many compressed bytes a decoder actually pulled.
struct CountingReader<'a> {
    data: &'a [u8],
    consumed: &'a Cell<usize>,
}

impl Read for CountingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.fill_buf()?.read(buf)?;
        self.consume(read);
        Ok(read)
    }
}

impl BufRead for CountingReader<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        Ok(&self.data[self.consumed.get()..])
    }

    fn consume(&mut self, amount: usize) {
        self.consumed.set(self.consumed.get() + amount);
    }
}

#[test]
fn every_supported_encoding_decodes() {
    let cases = [
        ("gzip", gzip(EVENT)),
        ("x-gzip", gzip(EVENT)),
        ("GZIP", gzip(EVENT)),
        ("br", brotli(EVENT)),
        ("zstd", zstd(EVENT)),
        ("deflate", zlib(EVENT)),
        ("deflate", raw_deflate(EVENT)),
    ];
    for (encoding, body) in cases {
        assert_eq!(decode(encoding, body, MIB).as_deref(), Ok(EVENT), "{encoding}");
    }
}

#[test]
fn identity_like_encodings_pass_the_body_through_untouched() {
    let body = Bytes::from_static(EVENT);
    for encoding in [
        None,
        Some(""),
        Some("identity"),
        Some("UTF-8"),
        Some(" utf-8 , identity"),
    ] {
        let decoded = decode_body(encoding, body.clone(), MIB).unwrap();
        assert_eq!(decoded.as_ptr(), body.as_ptr(), "{encoding:?}");
    }
}

#[test]
fn unknown_encodings_are_unsupported_before_any_work() {
    let result = decode("lzma", EVENT.to_vec(), MIB);
    assert_eq!(result, Err(DecodeError::UnsupportedEncoding("lzma".to_owned())));
    let stacked = decode("gzip, compress", gzip(EVENT), MIB);
    assert_eq!(stacked, Err(DecodeError::UnsupportedEncoding("compress".to_owned())));
}

#[test]
fn stacked_encodings_are_undone_in_reverse_order() {
    let body = brotli(&gzip(EVENT));
    assert_eq!(decode("gzip, br", body.clone(), MIB).as_deref(), Ok(EVENT));
    assert!(matches!(decode("br, gzip", body, MIB), Err(DecodeError::Corrupt(_))));
}

#[test]
fn corrupt_or_truncated_bodies_are_corrupt() {
    let truncated_gzip = gzip(EVENT)[..20].to_vec();
    let cases = [
        ("gzip", b"not gzip at all".to_vec()),
        ("gzip", truncated_gzip),
        ("br", b"\xff\xff\xff\xff not brotli".to_vec()),
        ("zstd", b"not zstd".to_vec()),
        ("deflate", b"\x78\x9c garbage".to_vec()),
    ];
    for (encoding, body) in cases {
        let result = decode(encoding, body, MIB);
        assert!(matches!(result, Err(DecodeError::Corrupt(_))), "{encoding}: {result:?}");
    }
}

#[test]
fn cap_is_inclusive_of_the_exact_size() {
    let data = vec![b'a'; 100_000];
    assert_eq!(decode("gzip", gzip(&data), 100_000).map(|b| b.len()), Ok(100_000));
    let over = decode("gzip", gzip(&data), 99_999);
    assert_eq!(over, Err(DecodeError::TooLarge { limit: 99_999 }));
    let plain = decode_body(None, Bytes::from(data), 99_999);
    assert_eq!(plain, Err(DecodeError::TooLarge { limit: 99_999 }));
}

#[test]
fn a_bomb_stops_at_the_cap_without_reading_all_input() {
    let zeros = vec![0u8; 16 * MIB];
    for (coding, compressed) in [(Coding::Gzip, gzip(&zeros)), (Coding::Deflate, zlib(&zeros))] {
        let consumed = Cell::new(0);
        let reader = CountingReader {
            data: &compressed,
            consumed: &consumed,
        };
        let result = decode_coding(coding, reader, MIB, &mut |_| true);
        assert_eq!(result, Err(DecodeError::TooLarge { limit: MIB }), "{coding:?}");
        // 1 MiB of 16 MiB decoded: the decoder must have pulled only a small share of the input.
        assert!(
            consumed.get() < compressed.len() / 4,
            "{coding:?}: {consumed:?} of {}",
            compressed.len()
        );
    }
}

#[test]
fn bombs_in_every_encoding_are_too_large() {
    let zeros = vec![0u8; 16 * MIB];
    for (encoding, body) in [
        ("br", brotli(&zeros)),
        ("zstd", zstd(&zeros)),
        ("deflate", raw_deflate(&zeros)),
    ] {
        assert_eq!(
            decode(encoding, body, MIB),
            Err(DecodeError::TooLarge { limit: MIB }),
            "{encoding}"
        );
    }
}

#[test]
fn zstd_frames_demanding_huge_windows_are_refused() {
    let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    encoder.window_log(27).unwrap();
    encoder.include_contentsize(false).unwrap();
    encoder.write_all(&vec![1u8; 20 * MIB]).unwrap();
    let body = encoder.finish().unwrap();
    let result = decode("zstd", body, 64 * MIB).map(|decoded| decoded.len());
    assert!(matches!(result, Err(DecodeError::Corrupt(_))), "{result:?}");
}

#[test]
fn capped_reader_never_reserves_past_the_cap() {
    let data = vec![7u8; 300_000];
    let output = read_capped(&data[..], 300_000, &mut |_| true).unwrap();
    assert_eq!(output.len(), 300_000);
    assert!(output.capacity() <= 300_000, "capacity {}", output.capacity());
}

#[test]
fn legacy_json_body_passes_through() {
    let body = Bytes::from_static(b"  {\"message\":\"hi\"}");
    let decoded = decode_legacy_store_body(body.clone(), MIB).unwrap();
    assert_eq!(decoded.as_ptr(), body.as_ptr());
}

#[test]
fn legacy_base64_bodies_decode_with_or_without_zlib() {
    let cases = [
        STANDARD.encode(EVENT),
        STANDARD_NO_PAD.encode(EVENT),
        STANDARD.encode(zlib(EVENT)),
        format!(
            "{}\n",
            STANDARD
                .encode(zlib(EVENT))
                .as_bytes()
                .chunks(20)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect::<Vec<_>>()
                .join("\n")
        ),
    ];
    for body in cases {
        let decoded = decode_legacy_store_body(Bytes::from(body.clone()), MIB);
        assert_eq!(decoded.as_deref(), Ok(EVENT), "{body}");
    }
}

#[test]
fn legacy_garbage_and_bombs_are_refused() {
    let garbage = decode_legacy_store_body(Bytes::from_static(b"<html>"), MIB);
    assert!(matches!(garbage, Err(DecodeError::Corrupt(_))), "{garbage:?}");
    let not_zlib = decode_legacy_store_body(Bytes::from(STANDARD.encode("plain text")), MIB);
    assert!(matches!(not_zlib, Err(DecodeError::Corrupt(_))), "{not_zlib:?}");
    let bomb = STANDARD.encode(zlib(&vec![b' '; 4 * MIB]));
    let result = decode_legacy_store_body(Bytes::from(bomb), MIB);
    assert_eq!(result, Err(DecodeError::TooLarge { limit: MIB }));
    let too_long = decode_legacy_store_body(Bytes::from(STANDARD.encode(vec![b'{'; 4096])), 1000);
    assert_eq!(too_long, Err(DecodeError::TooLarge { limit: 1000 }));
}

#[test]
fn the_first_line_of_a_gzip_prefix_is_read_before_the_rest_arrives() {
    let mut body = b"{\"dsn\":\"http://key@host/1\"}\n".to_vec();
    body.extend((0..20_000).map(|i| (i % 251) as u8));
    let compressed = gzip(&body);
    let prefix = &compressed[..compressed.len() / 2];
    let line = first_line(Some("gzip"), prefix, 1024).unwrap();
    assert_eq!(line.as_deref(), Some(&b"{\"dsn\":\"http://key@host/1\"}"[..]));
    assert_eq!(
        first_line(None, b"{\"a\":1}\nrest", 1024).unwrap().as_deref(),
        Some(&b"{\"a\":1}"[..])
    );
}

#[test]
fn no_first_line_yet_when_the_prefix_ends_before_the_newline_or_is_too_long() {
    let compressed = gzip(b"{\"dsn\":\"http://key@host/1\"}\n{}\n");
    assert_eq!(first_line(Some("gzip"), &compressed[..8], 1024).unwrap(), None);
    assert_eq!(first_line(None, &[b'x'; 5000], 1024).unwrap(), None);
    assert!(first_line(Some("compress"), b"x", 1024).is_err());
}

#[test]
fn decoding_stops_when_the_budget_refuses_more_memory() {
    let compressed = gzip(&vec![b'a'; 2 * MIB]);
    let mut granted = 0;
    let mut charge = |bytes: usize| {
        granted += bytes;
        granted <= MIB / 2
    };
    let result = decode_body_charged(Some("gzip"), Bytes::from(compressed), 4 * MIB, &mut charge);
    assert_eq!(result, Err(DecodeError::OverBudget));
}
