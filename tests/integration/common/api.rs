//! API test helpers: users with bearer tokens, and requests to `/api/0/` with them.

use faultline::domain::accounts::{ApiToken, Role, ScopeSet};
use faultline::store::accounts;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::TestApp;

/// Every scope a token can carry.
pub const ALL_SCOPES: &str = "org:read project:read project:write project:releases event:read event:write event:admin";

/// Asserts the status and the exact media type sentry-cli insists on, then returns the body.
pub fn json_body(response: ApiResponse, status: u16) -> Value {
    assert_eq!(
        response.content_type.as_deref(),
        Some("application/json"),
        "{response:?}"
    );
    response.expect(status)
}

/// Asserts an error answer: the status and a `{"detail": "<text>"}` body, as sentry-cli prints it.
pub fn error_detail(response: ApiResponse, status: u16) -> String {
    let body = json_body(response, status);
    body["detail"]
        .as_str()
        .unwrap_or_else(|| panic!("a string detail in {body}"))
        .to_owned()
}

/// A user's bearer token, as `faultline token create` would make it.
#[derive(Debug, Clone)]
pub struct Token(pub String);

impl TestApp {
    /// Creates a user (member `role` of `org`, default organization when `None`) with a token of `scopes`.
    pub async fn token(&self, email: &str, org: Option<&str>, role: Role, scopes: &str) -> Token {
        let (user, _, _) = faultline::core::accounts::create_user(
            &faultline::core::Core::offline(self.db.clone(), url::Url::parse("http://localhost/").unwrap()),
            faultline::core::accounts::NewUser {
                email,
                name: None,
                password: "correct horse",
                admin: false,
                organization: org,
                role: Some(role),
            },
        )
        .await
        .expect("user created");
        let token = ApiToken::generate();
        let scopes = ScopeSet::parse(scopes).expect("valid scopes");
        accounts::create_token(&self.db, user.id, &token.hash, &token.hint(), "test", &scopes)
            .await
            .expect("token stored");
        Token(token.plaintext)
    }

    /// An owner of the default organization with every scope.
    pub async fn owner_token(&self) -> Token {
        self.token("owner@example.com", None, Role::Owner, ALL_SCOPES).await
    }

    pub async fn api(&self, token: &Token, method: Method, path: &str, body: Option<Value>) -> ApiResponse {
        let mut request = self.client.request(method, self.url(path)).bearer_auth(&token.0);
        if let Some(body) = body {
            request = request.json(&body);
        }
        ApiResponse::read(request.send().await.expect("request sent")).await
    }

    pub async fn get_json(&self, token: &Token, path: &str) -> ApiResponse {
        self.api(token, Method::GET, path, None).await
    }
}

/// A response read whole: status, the headers tests look at, and the JSON body (Null when empty).
#[derive(Debug)]
pub struct ApiResponse {
    pub status: StatusCode,
    pub content_type: Option<String>,
    pub link: Option<String>,
    pub body: Value,
}

impl ApiResponse {
    pub async fn read(response: reqwest::Response) -> ApiResponse {
        let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
        let status = response.status();
        let content_type = header("content-type");
        let link = header("link");
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON body, got {text:?}"))
        };
        ApiResponse {
            status,
            content_type,
            link,
            body,
        }
    }

    /// Asserts the status (showing the body when it differs) and returns the body.
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        self.body
    }

    /// The `cursor` attribute and `results` flag of the `rel` entry of the Link header.
    pub fn link_entry(&self, rel: &str) -> (String, String, bool) {
        let link = self.link.as_deref().expect("a Link header");
        let entry = link
            .split(", <")
            .find(|e| e.contains(&format!("rel=\"{rel}\"")))
            .unwrap_or_else(|| panic!("no {rel} entry in {link}"));
        let url = entry.trim_start_matches('<').split('>').next().unwrap().to_owned();
        let attr = |name: &str| {
            let start = entry.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
            entry[start..].split('"').next().unwrap().to_owned()
        };
        (url, attr("cursor"), attr("results") == "true")
    }
}
