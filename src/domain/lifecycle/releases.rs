//! Release ordering for regressions (§9.2): semver when both versions parse (with an optional
//! `package@` prefix and `+build` suffix), else the order in which the releases were first seen.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::domain::Timestamp;

/// Orders two releases; `Greater` means `a` is newer than `b`.
pub trait ReleaseOrder {
    fn cmp_releases(&self, a: &str, b: &str) -> Ordering;
}

/// A project's releases with the instant each was first seen: the usual [`ReleaseOrder`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownReleases {
    first_seen: HashMap<String, Timestamp>,
}

impl KnownReleases {
    /// Records a release; the earliest instant wins when a release is seen again.
    pub fn insert(&mut self, version: &str, first_seen: Timestamp) {
        let entry = self.first_seen.entry(version.to_string()).or_insert(first_seen);
        *entry = (*entry).min(first_seen);
    }

    pub fn first_seen(&self, version: &str) -> Option<Timestamp> {
        self.first_seen.get(version).copied()
    }
}

impl<S: AsRef<str>> FromIterator<(S, Timestamp)> for KnownReleases {
    fn from_iter<I: IntoIterator<Item = (S, Timestamp)>>(iter: I) -> Self {
        let mut releases = KnownReleases::default();
        for (version, first_seen) in iter {
            releases.insert(version.as_ref(), first_seen);
        }
        releases
    }
}

impl ReleaseOrder for KnownReleases {
    fn cmp_releases(&self, a: &str, b: &str) -> Ordering {
        compare_releases(a, self.first_seen(a), b, self.first_seen(b))
    }
}

/// Semver when both parse, else by first-seen instant. A release never seen sorts as the
/// oldest; two releases that cannot be ordered at all compare `Equal`.
pub fn compare_releases(
    a: &str,
    a_first_seen: Option<Timestamp>,
    b: &str,
    b_first_seen: Option<Timestamp>,
) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    match (Version::parse(a), Version::parse(b)) {
        (Some(va), Some(vb)) => va.cmp(&vb),
        _ => a_first_seen.cmp(&b_first_seen),
    }
}

/// A lenient semantic version: 1–4 numeric components (missing ones are 0, so `1.0` = `1.0.0`),
/// an optional leading `v`, and an optional prerelease.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Version {
    numbers: [u64; 4],
    prerelease: Vec<Identifier>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Identifier {
    // Declared first: numeric identifiers sort before alphanumeric ones (semver §11).
    Numeric(u64),
    Text(String),
}

impl Version {
    fn parse(release: &str) -> Option<Version> {
        let unprefixed = release.rsplit_once('@').map_or(release, |(_, version)| version);
        let without_build = unprefixed.split_once('+').map_or(unprefixed, |(v, _)| v);
        let (core, prerelease) = match without_build.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (without_build, None),
        };
        let core = core.strip_prefix(['v', 'V']).unwrap_or(core);
        Some(Version {
            numbers: parse_numbers(core)?,
            prerelease: match prerelease {
                Some(pre) => parse_prerelease(pre)?,
                None => Vec::new(),
            },
        })
    }
}

fn parse_numbers(core: &str) -> Option<[u64; 4]> {
    let mut numbers = [0u64; 4];
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() > numbers.len() {
        return None;
    }
    for (slot, part) in numbers.iter_mut().zip(&parts) {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = part.parse().ok()?;
    }
    Some(numbers)
}

fn parse_prerelease(text: &str) -> Option<Vec<Identifier>> {
    text.split('.')
        .map(|part| {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                None
            } else if part.bytes().all(|b| b.is_ascii_digit()) {
                part.parse().ok().map(Identifier::Numeric)
            } else {
                Some(Identifier::Text(part.to_string()))
            }
        })
        .collect()
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.numbers.cmp(&other.numbers).then_with(|| {
            // A prerelease precedes its release; otherwise identifiers compare left to right
            // and a shorter list of equal identifiers sorts first (semver §11).
            match (self.prerelease.is_empty(), other.prerelease.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.prerelease.cmp(&other.prerelease),
            }
        })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::{Equal, Greater, Less};

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_millis(millis)
    }

    fn semver(a: &str, b: &str) -> Ordering {
        compare_releases(a, None, b, None)
    }

    #[test]
    fn numeric_components_compare_as_numbers() {
        assert_eq!(semver("1.10.0", "1.9.0"), Greater);
        assert_eq!(semver("1.1", "1.0"), Greater);
        assert_eq!(semver("2.0", "1.9"), Greater);
        assert_eq!(semver("1.0", "1.0.0"), Equal);
    }

    #[test]
    fn package_prefixes_and_build_metadata_are_ignored() {
        assert_eq!(semver("shop@4.12.3+8c1f2e9", "shop@4.12.3+0000000"), Equal);
        assert_eq!(semver("shop@4.12.3+8c1f2e9", "shop@4.12.2"), Greater);
        assert_eq!(semver("@scope/pkg@2.0.0", "1.0.0"), Greater);
    }

    #[test]
    fn prereleases_precede_their_release_and_order_by_identifiers() {
        let ordered = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
        ];
        for pair in ordered.windows(2) {
            assert_eq!(semver(pair[0], pair[1]), Less, "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn unparsable_releases_order_by_first_seen() {
        assert_eq!(compare_releases("blue", Some(at(200)), "green", Some(at(100))), Greater);
        assert_eq!(compare_releases("blue", Some(at(100)), "1.0.0", Some(at(200))), Less);
        assert_eq!(compare_releases("blue", None, "green", Some(at(100))), Less);
        assert_eq!(compare_releases("blue", None, "green", None), Equal);
    }

    #[test]
    fn semver_wins_over_first_seen_when_both_parse() {
        assert_eq!(compare_releases("1.0.1", Some(at(1)), "1.0.0", Some(at(2))), Greater);
    }
}
