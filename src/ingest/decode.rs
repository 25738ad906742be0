//! Request body decoding at the SDK edge (protocol §5.1, §3.3): Content-Encoding and the legacy
//! store-endpoint encodings, always streamed into a size-capped buffer to defeat zip bombs (§5.2).

use std::io::{BufRead, Read};

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use bytes::Bytes;

/// Chunk size for streamed decoding; the output buffer grows by at most this much per read.
const CHUNK: usize = 64 * 1024;
/// Brotli decoder's internal input buffer.
const BROTLI_BUFFER: usize = 4096;
/// Largest zstd window accepted: 16 MiB, what zstd levels up to 19 use and brotli's maximum.
const ZSTD_WINDOW_LOG_MAX: u32 = 24;

/// Why a body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("decoded body exceeds {limit} bytes")]
    TooLarge { limit: usize },
    #[error("unsupported content encoding `{0}`")]
    UnsupportedEncoding(String),
    #[error("corrupt body: {0}")]
    Corrupt(String),
    /// The memory budget for bodies in flight has no room for this body's decoded bytes.
    #[error("too many request bodies are being decoded at once")]
    OverBudget,
}

/// Asked before the decoded output grows by the given number of bytes; `false` refuses the growth.
pub type Charge<'a> = &'a mut dyn FnMut(usize) -> bool;

/// One Content-Encoding coding we can undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Gzip,
    Deflate,
    Brotli,
    Zstd,
}

/// gzip / x-gzip, deflate (zlib, or raw deflate without a zlib header), br, zstd; identity, empty
/// and the bogus `UTF-8` value pass through; comma-separated lists are undone in reverse order.
/// Every stage streams into a buffer capped at `max_decoded` bytes and fails with `TooLarge` as
/// soon as the cap is crossed; an unencoded body larger than the cap is `TooLarge` too.
#[cfg(test)]
pub fn decode_body(content_encoding: Option<&str>, body: Bytes, max_decoded: usize) -> Result<Bytes, DecodeError> {
    decode_body_charged(content_encoding, body, max_decoded, &mut |_| true)
}

/// [`decode_body`], asking `charge` before each growth of a decoded buffer, so that the memory decoding
/// takes is counted against the budget of bodies in flight.
pub fn decode_body_charged(
    content_encoding: Option<&str>,
    body: Bytes,
    max_decoded: usize,
    charge: Charge<'_>,
) -> Result<Bytes, DecodeError> {
    let codings = parse_codings(content_encoding.unwrap_or(""))?;
    let mut current = body;
    for coding in codings.into_iter().rev() {
        current = Bytes::from(decode_coding(coding, &current[..], max_decoded, charge)?);
    }
    ensure_within(&current, max_decoded)?;
    Ok(current)
}

/// Store endpoint legacy bodies (§3.3): a body whose first non-whitespace byte is not `{` is
/// base64; after decoding, if it still does not start with `{`, it is zlib-compressed JSON.
pub fn decode_legacy_store_body(body: Bytes, max_decoded: usize) -> Result<Bytes, DecodeError> {
    if starts_with_brace(&body) {
        ensure_within(&body, max_decoded)?;
        return Ok(body);
    }
    let decoded = decode_base64(&body, max_decoded)?;
    if starts_with_brace(&decoded) {
        return Ok(Bytes::from(decoded));
    }
    decode_coding(Coding::Deflate, &decoded[..], max_decoded, &mut |_| true).map(Bytes::from)
}

fn parse_codings(header: &str) -> Result<Vec<Coding>, DecodeError> {
    let mut codings = Vec::new();
    for name in header.split(',').map(str::trim) {
        let coding = match name.to_ascii_lowercase().as_str() {
            // Empty: sentry-ruby 5.x; `UTF-8`: old sentry-java/android (§5.1).
            "" | "identity" | "utf-8" => continue,
            "gzip" | "x-gzip" => Coding::Gzip,
            "deflate" => Coding::Deflate,
            "br" => Coding::Brotli,
            "zstd" => Coding::Zstd,
            _ => return Err(DecodeError::UnsupportedEncoding(name.chars().take(64).collect())),
        };
        codings.push(coding);
    }
    Ok(codings)
}

/// Undoes one coding of `input`, reading it through a `BufRead` so that a decoder only pulls the
/// compressed bytes it needs (a caller can observe how far it got).
fn decode_coding<R: BufRead>(coding: Coding, input: R, max: usize, charge: Charge<'_>) -> Result<Vec<u8>, DecodeError> {
    read_capped(decoder(coding, input)?, max, charge)
}

/// The streaming decoder of one coding over `input`.
fn decoder<'a, R: BufRead + 'a>(coding: Coding, input: R) -> Result<Box<dyn Read + 'a>, DecodeError> {
    Ok(match coding {
        Coding::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
        Coding::Deflate => deflate_decoder(input)?,
        Coding::Brotli => Box::new(brotli::Decompressor::new(input, BROTLI_BUFFER)),
        Coding::Zstd => Box::new(zstd_decoder(input)?),
    })
}

/// The first line of a body of which only a prefix has arrived, decoded as far as that prefix allows;
/// `None` while the prefix holds no complete line. Used to read an envelope's header (and its `dsn`)
/// before the rest of the body is read. Looks at most `max_line` decoded bytes; a body with several
/// codings is not peeked at (`None`), and is then read whole.
pub fn first_line(
    content_encoding: Option<&str>,
    prefix: &[u8],
    max_line: usize,
) -> Result<Option<Vec<u8>>, DecodeError> {
    let codings = parse_codings(content_encoding.unwrap_or(""))?;
    let mut reader: Box<dyn Read + '_> = match codings.as_slice() {
        [] => Box::new(prefix),
        [coding] => decoder(*coding, prefix)?,
        _ => return Ok(None),
    };
    let mut line = Vec::new();
    let mut chunk = [0u8; 4096];
    while line.len() <= max_line {
        // A truncated stream ends in an error once the prefix runs out: no line yet.
        let Ok(read) = reader.read(&mut chunk) else {
            return Ok(None);
        };
        if read == 0 {
            return Ok(None);
        }
        line.extend_from_slice(&chunk[..read]);
        if let Some(end) = line.iter().position(|&byte| byte == b'\n') {
            line.truncate(end);
            return Ok(Some(line));
        }
    }
    Ok(None)
}

/// A frame may declare a window of up to 2 GiB that the decoder allocates up front, whatever our
/// output cap; refuse windows above brotli's 16 MiB so that no encoding amplifies memory more.
fn zstd_decoder<R: BufRead>(input: R) -> Result<impl Read, DecodeError> {
    let corrupt = |err: std::io::Error| DecodeError::Corrupt(err.to_string());
    let mut decoder = zstd::stream::read::Decoder::with_buffer(input).map_err(corrupt)?;
    decoder.window_log_max(ZSTD_WINDOW_LOG_MAX).map_err(corrupt)?;
    Ok(decoder)
}

/// HTTP `deflate` means zlib (RFC 1950), but some clients send raw deflate (§5.1). A raw stream
/// can only look like a zlib header if it opens with a non-final stored block whose padding bits
/// are set, which encoders never emit, so the header decides the variant.
fn deflate_decoder<'a, R: BufRead + 'a>(mut input: R) -> Result<Box<dyn Read + 'a>, DecodeError> {
    let head = input.fill_buf().map_err(|err| DecodeError::Corrupt(err.to_string()))?;
    if has_zlib_header(head) {
        Ok(Box::new(flate2::bufread::ZlibDecoder::new(input)))
    } else {
        Ok(Box::new(flate2::bufread::DeflateDecoder::new(input)))
    }
}

/// RFC 1950: compression method 8, window ≤ 32 KiB, and the header checksum divisible by 31.
fn has_zlib_header(bytes: &[u8]) -> bool {
    match bytes {
        [cmf, flg, ..] => cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0,
        _ => false,
    }
}

/// Reads `reader` to its end into a buffer that never holds more than `max` bytes; crossing the
/// cap stops reading at once, and so does a growth that `charge` refuses.
fn read_capped(mut reader: impl Read, max: usize, charge: Charge<'_>) -> Result<Vec<u8>, DecodeError> {
    let mut output = Vec::new();
    let mut chunk = vec![0; CHUNK];
    loop {
        let read = match reader.read(&mut chunk) {
            Ok(0) => return Ok(output),
            Ok(read) => read,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(DecodeError::Corrupt(err.to_string())),
        };
        if output.len() + read > max {
            return Err(DecodeError::TooLarge { limit: max });
        }
        if output.len() + read > output.capacity() {
            // Double as usual, but never reserve past the cap.
            let target = output.capacity().saturating_mul(2).clamp(output.len() + read, max);
            // Growing copies the buffer, so for a moment both the old and the new one are held: charge the
            // whole new capacity (the budget overstates a finished buffer by at most half).
            if !charge(target) {
                return Err(DecodeError::OverBudget);
            }
            output.reserve_exact(target - output.len());
        }
        output.extend_from_slice(&chunk[..read]);
    }
}

/// Legacy raven clients used standard base64, sometimes unpadded or wrapped over lines.
fn decode_base64(body: &[u8], max: usize) -> Result<Vec<u8>, DecodeError> {
    let compact: Vec<u8> = body
        .iter()
        .copied()
        .filter(|byte| !byte.is_ascii_whitespace())
        .collect();
    if compact.len() / 4 * 3 > max.saturating_add(3) {
        return Err(DecodeError::TooLarge { limit: max });
    }
    let config = GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let standard = GeneralPurpose::new(&alphabet::STANDARD, config);
    let url_safe = GeneralPurpose::new(&alphabet::URL_SAFE, config);
    let decoded = standard
        .decode(&compact)
        .or_else(|_| url_safe.decode(&compact))
        .map_err(|err| DecodeError::Corrupt(format!("invalid base64: {err}")))?;
    ensure_within(&decoded, max)?;
    Ok(decoded)
}

fn starts_with_brace(bytes: &[u8]) -> bool {
    bytes.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'{')
}

fn ensure_within(bytes: &[u8], max: usize) -> Result<(), DecodeError> {
    if bytes.len() > max {
        return Err(DecodeError::TooLarge { limit: max });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
