//! Project slugs: URL-safe names that also prefix short ids (`web` → `WEB-1A`).

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectSlug(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a project slug is 1–50 characters of a–z, 0–9, '-' and '_', starting with a letter or digit")]
pub struct InvalidSlug;

impl ProjectSlug {
    pub fn parse(text: &str) -> Result<ProjectSlug, InvalidSlug> {
        let slug = text.trim().to_ascii_lowercase();
        let valid_chars = slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        let starts_well = slug.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
        if slug.len() > 50 || !valid_chars || !starts_well {
            return Err(InvalidSlug);
        }
        Ok(ProjectSlug(slug))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercased_and_trimmed() {
        assert_eq!(ProjectSlug::parse(" Web-App ").unwrap().as_str(), "web-app");
    }

    #[test]
    fn slugs_refuse_spaces_symbols_and_empty_text() {
        for bad in ["", "a b", "-web", "web/api", "wéb", &"x".repeat(51)] {
            assert_eq!(ProjectSlug::parse(bad), Err(InvalidSlug), "{bad:?}");
        }
    }
}
