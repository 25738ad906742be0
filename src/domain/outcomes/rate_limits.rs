//! `X-Sentry-Rate-Limits` (protocol §6.2): `retry_after:categories:scope:reason`, limits separated by
//! `", "`, categories by `;`, integer seconds (the Python SDK skips any other).

use super::Category;

/// Whose limit it is; SDKs ignore it, people reading the header do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitScope {
    Organization,
    Project,
    Key,
}

impl RateLimitScope {
    pub fn as_str(self) -> &'static str {
        match self {
            RateLimitScope::Organization => "organization",
            RateLimitScope::Project => "project",
            RateLimitScope::Key => "key",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    pub retry_after_secs: u64,
    /// Empty means every category.
    pub categories: Vec<Category>,
    pub scope: RateLimitScope,
    pub reason: &'static str,
}

/// The header value for these limits.
pub fn format_rate_limits(limits: &[RateLimit]) -> String {
    limits
        .iter()
        .map(|limit| {
            let categories: Vec<&str> = limit.categories.iter().map(|c| c.as_str()).collect();
            format!(
                "{}:{}:{}:{}",
                limit.retry_after_secs,
                categories.join(";"),
                limit.scope.as_str(),
                limit.reason
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}
