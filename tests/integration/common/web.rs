//! Web UI test helpers: a cookie-keeping client that signs in through the real sign-in form and posts
//! forms with the page's CSRF token, the way a browser does.

use faultline::domain::accounts::Role;
use reqwest::header::HeaderMap;
use reqwest::redirect::Policy;

use super::TestApp;

pub const PASSWORD: &str = "correct horse";

/// One browser: its own cookies, no automatic redirects (tests look at them).
pub struct WebClient {
    pub client: reqwest::Client,
    base: String,
}

/// A page as the browser received it.
#[derive(Debug)]
pub struct WebPage {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl WebPage {
    pub fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }

    /// The value of the first hidden `csrf` field on the page.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("a csrf field in {}", self.body))
            + marker.len();
        let end = self.body[start..].find('"').expect("closing quote") + start;
        self.body[start..end].to_owned()
    }

    pub fn expect(self, status: u16) -> WebPage {
        assert_eq!(
            self.status,
            status,
            "{}\n{}",
            self.location().unwrap_or_default(),
            self.body
        );
        self
    }
}

impl WebClient {
    pub fn new(app: &TestApp) -> WebClient {
        WebClient::with_headers(app, HeaderMap::new())
    }

    /// A browser whose requests reach the app through a proxy that reports `address` as the client.
    pub fn from_address(app: &TestApp, address: &str) -> WebClient {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", address.parse().expect("header value"));
        WebClient::with_headers(app, headers)
    }

    fn with_headers(app: &TestApp, headers: HeaderMap) -> WebClient {
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .expect("client");
        WebClient {
            client,
            base: format!("http://{}", app.addr),
        }
    }

    pub async fn get(&self, path: &str) -> WebPage {
        read(
            self.client
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .expect("GET sent"),
        )
        .await
    }

    /// Posts a form as given (no token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> WebPage {
        let request = self.client.post(format!("{}{path}", self.base)).form(fields);
        read(request.send().await.expect("POST sent")).await
    }

    /// Posts a form with the CSRF token of the page at `form_page`, as submitting that page's form would.
    pub async fn submit(&self, form_page: &str, action: &str, fields: &[(&str, &str)]) -> WebPage {
        let csrf = self.get(form_page).await.expect(200).csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(action, &all).await
    }

    /// Signs in through the sign-in form; returns the answer to the form (a 303 on success).
    pub async fn sign_in(&self, email: &str, password: &str) -> WebPage {
        self.submit("/login", "/login", &[("email", email), ("password", password)])
            .await
    }
}

async fn read(response: reqwest::Response) -> WebPage {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.expect("body read");
    WebPage { status, headers, body }
}

impl TestApp {
    /// A user with the password [`PASSWORD`], `role` in `org` (the default organization when `None`).
    pub async fn user(&self, email: &str, org: Option<&str>, role: Role) {
        self.account(email, false, org, Some(role)).await;
    }

    /// An account as `faultline user create` makes it.
    async fn account(&self, email: &str, admin: bool, organization: Option<&str>, role: Option<Role>) {
        let new = faultline::core::accounts::NewUser {
            email,
            name: None,
            password: PASSWORD,
            admin,
            organization,
            role,
        };
        faultline::core::accounts::create_user(&super::operator_core(&self.db), new)
            .await
            .expect("account created");
    }

    /// A new user of `role` in `org`, signed in in a browser of their own.
    pub async fn signed_in(&self, email: &str, org: Option<&str>, role: Role) -> WebClient {
        self.user(email, org, role).await;
        let browser = WebClient::new(self);
        browser.sign_in(email, PASSWORD).await.expect(303);
        browser
    }

    /// A new administrator (owner of the default organization), signed in.
    pub async fn signed_in_admin(&self, email: &str) -> WebClient {
        self.account(email, true, None, None).await;
        let browser = WebClient::new(self);
        browser.sign_in(email, PASSWORD).await.expect(303);
        browser
    }
}

/// One row of a project's Performance page, as shown (the name as the page escapes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerformanceRow {
    pub name: String,
    pub op: String,
    pub failure_rate: String,
    pub count: i64,
}

/// One row of the issue list, as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRow {
    pub title: String,
    /// "Error" or "Performance".
    pub kind: String,
    pub events: i64,
}

/// The first group of `pattern` in `text`; panics (showing `text`) when it does not match.
fn capture(text: &str, pattern: &str) -> String {
    let found = regex::Regex::new(pattern).unwrap().captures(text);
    let found = found.unwrap_or_else(|| panic!("no {pattern} in {text}"));
    found[1].trim().to_owned()
}

impl WebPage {
    /// The rows of a Performance page (`#transactions`), in the page's order.
    pub fn performance_rows(&self) -> Vec<PerformanceRow> {
        let cell = regex::Regex::new(r"(?s)<td[^>]*>(.*?)</td>").unwrap();
        let rows = self.body.split("<tr><td class=\"transaction-name\">").skip(1);
        rows.map(|row| {
            // The split took the name cell's opening tag.
            let row = format!("<td>{}", &row[..row.find("</tr>").expect("the row ends")]);
            let cells: Vec<&str> = cell.captures_iter(&row).map(|c| c.get(1).unwrap().as_str()).collect();
            // Name (a link to its page), operation, per minute, sparkline, p50, p95, failure rate, Apdex, count.
            assert_eq!(cells.len(), 9, "{row}");
            PerformanceRow {
                name: capture(cells[0], r#"<a href="[^"]*">(.*)</a>"#),
                op: cells[1].to_owned(),
                failure_rate: cells[6].to_owned(),
                count: cells[8].parse().expect("a count"),
            }
        })
        .collect()
    }

    /// The rows of an issue list page, in the page's order.
    pub fn issue_rows(&self) -> Vec<IssueRow> {
        let rows = self.body.split("<li class=\"issue-row ").skip(1);
        rows.map(|row| IssueRow {
            title: capture(row, r#"class="issue-title" href="[^"]*">([^<]*)</a>"#),
            kind: capture(row, r#"class="tag issue-type [^"]*">([^<]*)</span>"#),
            events: capture(row, r#"<div class="issue-count"><strong>(\d+)</strong>"#)
                .parse()
                .unwrap(),
        })
        .collect()
    }

    /// Where an event's "In transaction X, trace Y" line (`#event-trace`) links; `None` without that line.
    pub fn trace_link(&self) -> Option<String> {
        let line = regex::Regex::new(r#"(?s)id="event-trace".*?href="([^"]*)".*?</p>"#).unwrap();
        line.captures(&self.body).map(|found| found[1].to_owned())
    }
}
