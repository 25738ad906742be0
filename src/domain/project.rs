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

    /// A slug made from a display name, as Sentry does when none is given: `Web Shop!` → `web-shop`.
    pub fn from_name(name: &str) -> Result<ProjectSlug, InvalidSlug> {
        let mut slug = String::new();
        for c in name.trim().to_lowercase().chars() {
            if c.is_ascii_alphanumeric() || c == '_' {
                slug.push(c);
            } else if !slug.ends_with('-') && !slug.is_empty() {
                slug.push('-');
            }
        }
        let slug: String = slug.trim_end_matches('-').chars().take(50).collect();
        ProjectSlug::parse(slug.trim_end_matches('-'))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_slugs_of_their_ascii_words() {
        assert_eq!(ProjectSlug::from_name("Web Shop!").unwrap().as_str(), "web-shop");
        assert_eq!(ProjectSlug::from_name("  API -- v2 ").unwrap().as_str(), "api-v2");
        assert_eq!(ProjectSlug::from_name("Ünïcode").unwrap().as_str(), "n-code");
        assert_eq!(ProjectSlug::from_name("!!!"), Err(InvalidSlug));
    }

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
