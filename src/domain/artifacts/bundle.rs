//! Reading an artifact bundle (a zip with `manifest.json`, as `sentry-cli sourcemaps upload` builds it)
//! within limits, so that a crafted archive (a zip bomb, a million entries) is refused with a sentence
//! instead of taking the server's memory. Each file is compressed for storage as soon as it is read.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use serde::Deserialize;
use sha1::{Digest, Sha1};

use super::normalize_debug_id;

/// How much a bundle may hold once unpacked.
#[derive(Debug, Clone, Copy)]
pub struct BundleLimits {
    pub max_files: usize,
    pub max_file_bytes: u64,
    pub max_total_bytes: u64,
    /// Unpacked bytes per packed byte, beyond which an entry is refused (text packs 3–10×; zeros 1000×).
    pub max_ratio: u64,
}

/// Generous for a web app's bundles (a large app ships a few hundred files of a few MB), small enough
/// that one upload cannot take a small server's memory.
pub const BUNDLE_LIMITS: BundleLimits = BundleLimits {
    max_files: 10_000,
    max_file_bytes: 32 * 1024 * 1024,
    max_total_bytes: 256 * 1024 * 1024,
    max_ratio: 100,
};

/// Entries smaller than this are not held to the ratio: a tiny repetitive file packs well without harm.
const RATIO_FREE_BYTES: u64 = 1024 * 1024;
const MANIFEST: &str = "manifest.json";
/// zstd level for stored files: fast, and source maps still shrink several times.
const STORED_LEVEL: i32 = 3;

/// A file of a bundle, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFile {
    pub url: String,
    pub file_type: String,
    pub debug_id: Option<String>,
    /// The `Sourcemap` / `X-SourceMap` header.
    pub sourcemap: Option<String>,
    /// Unpacked size and SHA-1.
    pub size: i64,
    pub sha1: String,
    /// The bytes, zstd-compressed.
    pub stored: Vec<u8>,
}

/// A bundle's manifest fields that matter here, and its files.
#[derive(Debug, Clone, Default)]
pub struct Bundle {
    pub release: Option<String>,
    pub dist: Option<String>,
    pub files: Vec<BundleFile>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BundleError {
    #[error("the bundle is not a readable zip archive: {0}")]
    NotZip(String),
    #[error("the bundle has no manifest.json")]
    NoManifest,
    #[error("the bundle's manifest.json is not valid: {0}")]
    BadManifest(String),
    #[error("the bundle names {0} files, more than the {1} allowed")]
    TooManyFiles(usize, usize),
    #[error("the bundle's file {0} is missing from the archive")]
    MissingFile(String),
    #[error("the bundle's file {0} unpacks to more than {1} bytes, the limit per file")]
    FileTooLarge(String, u64),
    #[error("the bundle unpacks to more than {0} bytes, the limit per bundle")]
    TooLarge(u64),
    #[error("the bundle's file {0} is compressed more than {1} to 1, which only a zip bomb is")]
    Ratio(String, u64),
}

#[derive(Deserialize)]
struct Manifest {
    #[serde(default)]
    files: BTreeMap<String, ManifestFile>,
    release: Option<String>,
    dist: Option<String>,
}

#[derive(Deserialize)]
struct ManifestFile {
    url: String,
    #[serde(rename = "type", default)]
    file_type: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

/// Unpacks a bundle within `limits`: its manifest, then each file the manifest names.
pub fn read_bundle(bytes: &[u8], limits: &BundleLimits) -> Result<Bundle, BundleError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| BundleError::NotZip(e.to_string()))?;
    let mut budget = limits.max_total_bytes;
    let manifest = read_entry(&mut archive, MANIFEST, limits, &mut budget)?.ok_or(BundleError::NoManifest)?;
    let manifest: Manifest = serde_json::from_slice(&manifest).map_err(|e| BundleError::BadManifest(e.to_string()))?;
    if manifest.files.len() > limits.max_files {
        return Err(BundleError::TooManyFiles(manifest.files.len(), limits.max_files));
    }
    let mut files = Vec::with_capacity(manifest.files.len());
    for (path, entry) in manifest.files {
        let bytes = read_entry(&mut archive, &path, limits, &mut budget)?.ok_or(BundleError::MissingFile(path))?;
        files.push(bundle_file(entry, &bytes));
    }
    Ok(Bundle {
        release: manifest.release.filter(|r| !r.is_empty()),
        dist: manifest.dist.filter(|d| !d.is_empty()),
        files,
    })
}

/// One file as stored, from its manifest entry and bytes.
fn bundle_file(entry: ManifestFile, bytes: &[u8]) -> BundleFile {
    let header = |names: &[&str]| {
        entry
            .headers
            .iter()
            .find(|(key, _)| names.iter().any(|name| key.eq_ignore_ascii_case(name)))
            .map(|(_, value)| value.trim().to_owned())
    };
    BundleFile {
        debug_id: header(&["debug-id"]).and_then(|id| normalize_debug_id(&id)),
        sourcemap: header(&["sourcemap", "x-sourcemap"]).filter(|v| !v.is_empty()),
        file_type: entry.file_type.unwrap_or_default(),
        url: entry.url,
        ..stored_file(bytes)
    }
}

/// A file's size, SHA-1 and compressed bytes (the rest left empty for the caller).
pub fn stored_file(bytes: &[u8]) -> BundleFile {
    BundleFile {
        url: String::new(),
        file_type: String::new(),
        debug_id: None,
        sourcemap: None,
        size: bytes.len() as i64,
        sha1: hex::encode(Sha1::digest(bytes)),
        stored: zstd::bulk::compress(bytes, STORED_LEVEL).expect("compressing to memory cannot fail"),
    }
}

/// Reads the entry `name` (`None` when absent), refusing it before reading when its declared sizes break a
/// limit, and while reading when it turns out larger than declared (a lying header).
fn read_entry(
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
    limits: &BundleLimits,
    budget: &mut u64,
) -> Result<Option<Vec<u8>>, BundleError> {
    let mut entry = match archive.by_name(name) {
        Ok(entry) => entry,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(BundleError::NotZip(e.to_string())),
    };
    let ratio_cap = entry
        .compressed_size()
        .max(1)
        .saturating_mul(limits.max_ratio)
        .max(RATIO_FREE_BYTES);
    let cap = limits.max_file_bytes.min(*budget).min(ratio_cap);
    let refuse = |unpacked: u64| {
        if unpacked > limits.max_file_bytes {
            BundleError::FileTooLarge(name.to_owned(), limits.max_file_bytes)
        } else if unpacked > *budget {
            BundleError::TooLarge(limits.max_total_bytes)
        } else {
            BundleError::Ratio(name.to_owned(), limits.max_ratio)
        }
    };
    if entry.size() > cap {
        return Err(refuse(entry.size()));
    }
    let mut bytes = Vec::with_capacity(entry.size() as usize);
    (&mut entry)
        .take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| BundleError::NotZip(format!("{name}: {e}")))?;
    if bytes.len() as u64 > cap {
        return Err(refuse(bytes.len() as u64));
    }
    *budget -= bytes.len() as u64;
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, bytes) in entries {
            writer.start_file(*name, SimpleFileOptions::default()).unwrap();
            writer.write_all(bytes).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    const MANIFEST_JSON: &str = r#"{"org":"o","release":"1.0","files":{
        "files/_/_/app.min.js":{"url":"~/app.min.js","type":"minified_source",
            "headers":{"debug-id":"2F3B0C4E-AAAA-4BBB-8CCC-0123456789AB","Sourcemap":"app.min.js.map"}},
        "files/_/_/app.min.js.map":{"url":"~/app.min.js.map","type":"source_map",
            "headers":{"debug-id":"2f3b0c4e-aaaa-4bbb-8ccc-0123456789ab"}}}}"#;

    #[test]
    fn a_bundle_gives_its_files_with_headers_and_debug_ids() {
        let zip = zip_of(&[
            ("manifest.json", MANIFEST_JSON.as_bytes()),
            ("files/_/_/app.min.js", b"x()"),
            ("files/_/_/app.min.js.map", b"{}"),
        ]);
        let bundle = read_bundle(&zip, &BUNDLE_LIMITS).unwrap();
        assert_eq!(bundle.release.as_deref(), Some("1.0"));
        let [minified, map] = &bundle.files[..] else { panic!() };
        assert_eq!(minified.sourcemap.as_deref(), Some("app.min.js.map"));
        assert_eq!(minified.debug_id, map.debug_id);
        assert_eq!(map.debug_id.as_deref(), Some("2f3b0c4e-aaaa-4bbb-8ccc-0123456789ab"));
        assert_eq!(zstd::decode_all(&map.stored[..]).unwrap(), b"{}");
    }

    #[test]
    fn a_zip_bomb_is_refused_by_its_ratio() {
        let zeros = vec![0u8; 8 * 1024 * 1024];
        let manifest = r#"{"files":{"a":{"url":"~/a","type":"source_map"}}}"#;
        let zip = zip_of(&[("manifest.json", manifest.as_bytes()), ("a", &zeros)]);
        let refused = read_bundle(&zip, &BUNDLE_LIMITS).unwrap_err();
        assert_eq!(refused, BundleError::Ratio("a".into(), 100));
    }

    #[test]
    fn files_over_the_limits_are_refused() {
        let limits = BundleLimits {
            max_file_bytes: 10,
            ..BUNDLE_LIMITS
        };
        let manifest = r#"{"files":{"a":{"url":"~/a"}}}"#;
        let zip = zip_of(&[("manifest.json", manifest.as_bytes()), ("a", b"01234567890")]);
        assert!(matches!(read_bundle(&zip, &limits), Err(BundleError::FileTooLarge(..))));
        let few = BundleLimits {
            max_files: 0,
            ..BUNDLE_LIMITS
        };
        assert_eq!(read_bundle(&zip, &few).unwrap_err(), BundleError::TooManyFiles(1, 0));
    }

    #[test]
    fn a_manifest_that_is_not_json_is_refused() {
        let zip = zip_of(&[("manifest.json", b"not json")]);
        assert!(matches!(
            read_bundle(&zip, &BUNDLE_LIMITS),
            Err(BundleError::BadManifest(_))
        ));
        assert!(matches!(
            read_bundle(b"PK no zip", &BUNDLE_LIMITS),
            Err(BundleError::NotZip(_))
        ));
        let without = zip_of(&[("other", b"")]);
        assert_eq!(
            read_bundle(&without, &BUNDLE_LIMITS).unwrap_err(),
            BundleError::NoManifest
        );
    }
}
