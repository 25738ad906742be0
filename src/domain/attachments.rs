//! Event attachments: files an SDK sends beside an event (`attachment` items, protocol §4.3: `filename`,
//! `content_type`, `attachment_type`). What is kept of an item's header (bounded, never trusted as markup or
//! as a path), which of an envelope's attachments fit the project's quota, and how a download names its file.

use sha1::{Digest, Sha1};

/// Longest file name kept, in characters; the rest is cut.
const MAX_NAME_CHARS: usize = 256;
/// Longest content type or attachment type kept.
const MAX_TYPE_CHARS: usize = 128;
/// The name an attachment without one gets (Sentry's default).
const DEFAULT_NAME: &str = "Unnamed Attachment";
/// Sentry's default `attachment_type`.
pub const DEFAULT_ATTACHMENT_TYPE: &str = "event.attachment";

/// One attachment read from its item, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    pub name: String,
    /// As the SDK sent it (only shown; downloads are always `application/octet-stream`).
    pub content_type: String,
    pub attachment_type: String,
    /// SHA-1 of the bytes, 40 lowercase hex (Sentry's API field; with the name it keeps a re-send once).
    pub sha1: String,
    pub bytes: bytes::Bytes,
}

impl NewAttachment {
    /// Reads an `attachment` item's header fields and payload.
    pub fn read(
        filename: Option<&str>,
        content_type: Option<&str>,
        attachment_type: Option<&str>,
        bytes: bytes::Bytes,
    ) -> NewAttachment {
        let name = clean(filename.unwrap_or_default(), MAX_NAME_CHARS);
        NewAttachment {
            name: if name.is_empty() { DEFAULT_NAME.to_owned() } else { name },
            content_type: Some(clean(content_type.unwrap_or_default(), MAX_TYPE_CHARS))
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| "application/octet-stream".to_owned()),
            attachment_type: Some(clean(attachment_type.unwrap_or_default(), MAX_TYPE_CHARS))
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| DEFAULT_ATTACHMENT_TYPE.to_owned()),
            sha1: hex::encode(Sha1::digest(&bytes)),
            bytes,
        }
    }

    pub fn size(&self) -> i64 {
        self.bytes.len() as i64
    }
}

/// Text as sent, trimmed and cut, with control characters (a newline in a header) dropped.
fn clean(text: &str, chars: usize) -> String {
    text.trim().chars().filter(|c| !c.is_control()).take(chars).collect()
}

/// Which of `sizes` (in order) fit a quota of `quota` bytes when `used` are taken: each that fits is
/// counted before the next is tried, so a big attachment that does not fit leaves room for a small one.
pub fn fitting(sizes: &[i64], used: i64, quota: i64) -> Vec<bool> {
    let mut used = used;
    sizes
        .iter()
        .map(|&size| {
            let fits = used.saturating_add(size) <= quota;
            if fits {
                used += size;
            }
            fits
        })
        .collect()
}

/// The `Content-Disposition` of a download: always `attachment` (never shown inline), the name as a plain
/// ASCII fallback (quotes, backslashes and anything outside printable ASCII replaced by `_`) and as
/// RFC 5987's `filename*` in UTF-8, so that any name is safe in the header and kept as sent by browsers.
pub fn content_disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'!'
            | b'#'
            | b'$'
            | b'&'
            | b'+'
            | b'-'
            | b'.'
            | b'^'
            | b'_'
            | b'`'
            | b'|'
            | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect();
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// The headers of a download, for every edge alike: saved as a file, never shown. The type is always
/// `application/octet-stream` (never the type the SDK sent, so no browser renders or sniffs an uploaded
/// HTML or SVG file), and a sandboxing CSP guards against any browser that opens it anyway.
pub fn download_headers(name: &str) -> [(&'static str, String); 4] {
    [
        ("content-type", "application/octet-stream".to_owned()),
        ("content-disposition", content_disposition(name)),
        ("x-content-type-options", "nosniff".to_owned()),
        ("content-security-policy", "sandbox".to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_header_is_kept_bounded_with_sentrys_defaults() {
        let read = NewAttachment::read(None, None, None, bytes::Bytes::from_static(b"hello"));
        assert_eq!(read.name, "Unnamed Attachment");
        assert_eq!(read.content_type, "application/octet-stream");
        assert_eq!(read.attachment_type, "event.attachment");
        assert_eq!(read.sha1, "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d");
        let odd = NewAttachment::read(
            Some(" a\r\nb.txt "),
            Some("text/plain"),
            Some("event.minidump"),
            bytes::Bytes::new(),
        );
        assert_eq!(odd.name, "ab.txt", "no header line breaks");
        assert_eq!(odd.attachment_type, "event.minidump");
        let long = NewAttachment::read(Some(&"é".repeat(1_000)), None, None, bytes::Bytes::new());
        assert_eq!(long.name.chars().count(), MAX_NAME_CHARS);
    }

    #[test]
    fn a_big_attachment_over_quota_leaves_room_for_a_small_one() {
        assert_eq!(fitting(&[60, 50, 30], 10, 100), vec![true, false, true]);
        assert_eq!(fitting(&[1], 100, 100), vec![false]);
        assert_eq!(fitting(&[0], 100, 100), vec![true], "an empty file always fits");
    }

    #[test]
    fn a_download_is_never_inline_and_any_name_is_header_safe() {
        assert_eq!(
            content_disposition("report.txt"),
            "attachment; filename=\"report.txt\"; filename*=UTF-8''report.txt"
        );
        let hostile = content_disposition("a\"; filename=evil.html\\ü.txt");
        assert!(
            hostile.starts_with("attachment; filename=\"a_; filename=evil.html__.txt\""),
            "{hostile}"
        );
        assert!(
            hostile.ends_with("filename*=UTF-8''a%22%3B%20filename%3Devil.html%5C%C3%BC.txt"),
            "{hostile}"
        );
        assert!(
            hostile.bytes().all(|b| b.is_ascii_graphic() || b == b' '),
            "header-safe"
        );
    }
}
