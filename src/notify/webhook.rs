//! The generic JSON webhook: a versioned body (documented in docs/webhooks.md) signed with the channel's
//! secret, so a receiver can tell Faultline's requests from anyone else's.

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use super::summary::{kind, rfc3339};
use super::{AlertMessage, AlertedIssue};

/// Bumped only when a field changes meaning or disappears; new fields may appear within a version.
pub const PAYLOAD_VERSION: &str = "1";

#[derive(Serialize)]
struct Payload<'a> {
    version: &'static str,
    id: &'a str,
    kind: &'static str,
    rule: Rule<'a>,
    project: Project<'a>,
    issues: Vec<Issue<'a>>,
}

#[derive(Serialize)]
struct Rule<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct Project<'a> {
    slug: &'a str,
    name: &'a str,
    organization: &'a str,
    url: &'a str,
}

#[derive(Serialize)]
struct Issue<'a> {
    id: crate::domain::IssueId,
    short_id: &'a str,
    title: &'a str,
    culprit: &'a str,
    level: &'a str,
    reason: &'static str,
    environment: Option<&'a str>,
    release: Option<&'a str>,
    times_seen: i64,
    user_count: i64,
    first_seen: String,
    last_seen: String,
    url: &'a str,
}

/// The exact bytes sent, which are also the bytes signed.
pub fn payload(message: &AlertMessage, idempotency_key: &str) -> Vec<u8> {
    let payload = Payload {
        version: PAYLOAD_VERSION,
        id: idempotency_key,
        kind: kind(message),
        rule: Rule {
            name: &message.rule_name,
        },
        project: Project {
            slug: &message.project_slug,
            name: &message.project_name,
            organization: &message.organization_slug,
            url: &message.project_url,
        },
        issues: message.issues.iter().map(issue).collect(),
    };
    serde_json::to_vec(&payload).expect("plain data serializes")
}

fn issue(issue: &AlertedIssue) -> Issue<'_> {
    Issue {
        id: issue.issue_id,
        short_id: &issue.short_id,
        title: &issue.title,
        culprit: &issue.culprit,
        level: &issue.level,
        reason: issue.reason.as_str(),
        environment: issue.environment.as_deref(),
        release: issue.release.as_deref(),
        times_seen: issue.times_seen,
        user_count: issue.user_count,
        first_seen: rfc3339(issue.first_seen_ms),
        last_seen: rfc3339(issue.last_seen_ms),
        url: &issue.url,
    }
}

/// `sha256=<hex HMAC-SHA256 of body keyed with secret>`, the `X-Faultline-Signature` value.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The headers besides `Content-Type`, `Idempotency-Key` and `User-Agent`.
pub fn headers(message: &AlertMessage, secret: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    signed_headers(kind(message), secret, body)
}

/// The signature and event headers of any message of this `kind` (issue or metric alert).
pub fn signed_headers(kind: &str, secret: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    vec![
        ("X-Faultline-Signature", signature(secret, body)),
        ("X-Faultline-Event", kind.to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::summary::samples::{issue, many, message};

    #[test]
    fn signature_matches_the_published_hmac_sha256_vector() {
        // The widely published example value of HMAC-SHA256 with key "key" over this sentence.
        assert_eq!(
            signature("key", b"The quick brown fox jumps over the lazy dog"),
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }

    #[test]
    fn the_body_carries_version_id_kind_rule_project_and_issues() {
        let body: serde_json::Value =
            serde_json::from_slice(&payload(&message(vec![issue(5, "Boom")]), "delivery-9")).unwrap();
        assert_eq!(body["version"], "1");
        assert_eq!(body["id"], "delivery-9");
        assert_eq!(body["kind"], "alert");
        assert_eq!(body["rule"]["name"], "Errors in checkout");
        assert_eq!(body["project"]["slug"], "web");
        assert_eq!(body["project"]["organization"], "acme");
        let issue = &body["issues"][0];
        assert_eq!(issue["id"], 5);
        assert_eq!(issue["short_id"], "WEB-5");
        assert_eq!(issue["reason"], "new_issue");
        assert_eq!(issue["times_seen"], 42);
        assert_eq!(issue["first_seen"], "2024-05-01T12:34:56Z");
        assert_eq!(issue["last_seen"], "2024-05-01T13:34:56.789Z");
        assert_eq!(issue["url"], "https://faultline.example.com/acme/web/issues/5/");
    }

    #[test]
    fn a_digest_lists_every_issue() {
        let body: serde_json::Value = serde_json::from_slice(&payload(&many(30), "k")).unwrap();
        assert_eq!(body["kind"], "digest");
        assert_eq!(body["issues"].as_array().unwrap().len(), 30);
    }

    #[test]
    fn unknown_environment_and_release_are_null() {
        let mut bare = issue(1, "Boom");
        bare.environment = None;
        bare.release = None;
        let body: serde_json::Value = serde_json::from_slice(&payload(&message(vec![bare]), "k")).unwrap();
        assert!(body["issues"][0]["environment"].is_null());
        assert!(body["issues"][0]["release"].is_null());
    }

    #[test]
    fn headers_sign_the_exact_body() {
        let message = message(vec![issue(1, "Boom")]);
        let body = payload(&message, "k");
        let headers = headers(&message, "s3cret", &body);
        assert_eq!(headers[0], ("X-Faultline-Signature", signature("s3cret", &body)));
        assert_eq!(headers[1], ("X-Faultline-Event", "alert".to_owned()));
    }
}
