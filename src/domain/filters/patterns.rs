//! Filter patterns: globs where `*` is any text, matched case-insensitively against the whole text, as
//! Sentry's error-message and release filters read them. Checked when set: at most 100 patterns of at most
//! 200 characters, each a valid glob.

use globset::{GlobBuilder, GlobMatcher};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

const MAX_PATTERNS: usize = 100;
const MAX_PATTERN_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidPattern {
    #[error("at most {MAX_PATTERNS} patterns")]
    TooMany,
    #[error("the pattern {0:?} is longer than {MAX_PATTERN_CHARS} characters")]
    TooLong(String),
    #[error("the pattern {pattern:?} is not valid: {why}")]
    Invalid { pattern: String, why: String },
}

/// Patterns with their compiled matchers; stored as the list of their texts.
#[derive(Debug, Clone, Default)]
pub struct Patterns {
    texts: Vec<String>,
    matchers: Vec<GlobMatcher>,
}

impl Eq for Patterns {}

impl PartialEq for Patterns {
    fn eq(&self, other: &Patterns) -> bool {
        self.texts == other.texts
    }
}

impl Patterns {
    /// Parses patterns; blank lines are skipped and repeats dropped.
    pub fn parse<S: AsRef<str>>(lines: &[S]) -> Result<Patterns, InvalidPattern> {
        let mut texts: Vec<String> = Vec::new();
        for line in lines.iter().map(|l| l.as_ref().trim()).filter(|l| !l.is_empty()) {
            if line.chars().count() > MAX_PATTERN_CHARS {
                return Err(InvalidPattern::TooLong(line.chars().take(40).collect()));
            }
            if !texts.iter().any(|t| t == line) {
                texts.push(line.to_owned());
            }
        }
        if texts.len() > MAX_PATTERNS {
            return Err(InvalidPattern::TooMany);
        }
        let matchers = texts
            .iter()
            .map(|text| {
                GlobBuilder::new(text)
                    .case_insensitive(true)
                    .literal_separator(false)
                    .backslash_escape(true)
                    .build()
                    .map(|glob| glob.compile_matcher())
                    .map_err(|e| InvalidPattern::Invalid {
                        pattern: text.clone(),
                        why: e.kind().to_string(),
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Patterns { texts, matchers })
    }

    pub fn texts(&self) -> &[String] {
        &self.texts
    }

    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// Whether any pattern matches any of the texts.
    pub fn matches_any(&self, texts: &[String]) -> bool {
        !self.matchers.is_empty()
            && texts
                .iter()
                .any(|t| self.matchers.iter().any(|m| m.is_match(t.as_str())))
    }
}

impl Serialize for Patterns {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.texts.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Patterns {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Patterns, D::Error> {
        let texts = Vec::<String>::deserialize(deserializer)?;
        Patterns::parse(&texts).map_err(serde::de::Error::custom)
    }
}
