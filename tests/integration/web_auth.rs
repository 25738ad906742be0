//! Signing in to the web UI: the first-run page, sessions with safe cookies, CSRF on every form, slowed
//! down password guessing, and the audit log. Both databases.

use crate::common;

use common::web::{WebClient, PASSWORD};
use common::{Backend, TestApp};
use faultline::domain::accounts::Role;
use faultline::store::accounts;

async fn first_run_creates_the_admin_and_then_closes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = WebClient::new(&app);
    let home = browser.get("/").await.expect(303);
    assert_eq!(home.location(), Some("/setup"));
    let created = browser
        .submit(
            "/setup",
            "/setup",
            &[
                ("email", "first@example.com"),
                ("name", "First"),
                ("password", "long enough"),
                ("password_again", "long enough"),
            ],
        )
        .await
        .expect(303);
    assert!(cookie_of(&created, "faultline_session").is_some(), "signed in at once");
    let projects = browser.get("/organizations/default/").await.expect(200);
    assert!(projects.body.contains("first@example.com"));
    let user = accounts::find_user_by_email(&app.db, "first@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(user.is_admin);

    let stranger = WebClient::new(&app);
    assert_eq!(stranger.get("/setup").await.expect(303).location(), Some("/login"));
    let csrf = stranger.get("/login").await.expect(200).csrf();
    let second = stranger
        .post_raw(
            "/setup",
            &[
                ("csrf", &csrf),
                ("email", "second@example.com"),
                ("password", "long enough"),
                ("password_again", "long enough"),
            ],
        )
        .await;
    assert_eq!(second.location(), Some("/login"));
    assert!(accounts::find_user_by_email(&app.db, "second@example.com")
        .await
        .unwrap()
        .is_none());
    app.stop().await;
}

async fn signing_in_and_out_with_a_safe_cookie(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("dev@example.com", None, Role::Member).await;
    let browser = WebClient::new(&app);
    let asked = browser
        .get("/organizations/default/issues/?status=resolved")
        .await
        .expect(303);
    assert_eq!(
        asked.location(),
        Some("/login?next=%2Forganizations%2Fdefault%2Fissues%2F%3Fstatus%3Dresolved")
    );
    let login = browser.get(asked.location().unwrap()).await.expect(200);
    let signed_in = browser
        .post_raw(
            "/login",
            &[
                ("csrf", &login.csrf()),
                ("email", "DEV@example.com"),
                ("password", PASSWORD),
                ("next", "/organizations/default/issues/?status=resolved"),
            ],
        )
        .await
        .expect(303);
    assert_eq!(
        signed_in.location(),
        Some("/organizations/default/issues/?status=resolved")
    );
    let cookie = cookie_of(&signed_in, "faultline_session").expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    browser.get("/organizations/default/issues/").await.expect(200);

    browser
        .submit("/organizations/default/", "/logout", &[])
        .await
        .expect(303);
    assert_eq!(
        browser.get("/organizations/default/").await.expect(303).location(),
        Some("/login?next=%2Forganizations%2Fdefault%2F")
    );
    app.stop().await;
}

async fn cookies_are_secure_behind_https(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| {
        config.public_url = "https://errors.example.com/".parse().unwrap()
    })
    .await;
    app.user("dev@example.com", None, Role::Member).await;
    let browser = WebClient::new(&app);
    let signed_in = browser.sign_in("dev@example.com", PASSWORD).await.expect(303);
    assert!(cookie_of(&signed_in, "faultline_session").unwrap().contains("Secure"));
    app.stop().await;
}

/// Signs in with `next` as the query string gave it to the sign-in page and as its form posts it back.
async fn sign_in_with_next(app: &TestApp, encoded: &str, decoded: &str) -> common::web::WebPage {
    let browser = WebClient::new(app);
    let page = browser.get(&format!("/login?next={encoded}")).await.expect(200);
    browser
        .post_raw(
            "/login",
            &[
                ("csrf", &page.csrf()),
                ("email", "dev@example.com"),
                ("password", PASSWORD),
                ("next", decoded),
            ],
        )
        .await
}

async fn an_open_redirect_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("dev@example.com", None, Role::Member).await;
    let elsewhere = [
        ("%2F%2Fevil.example%2F", "//evil.example/"),
        ("https%3A%2F%2Fevil.example%2F", "https://evil.example/"),
        ("%2F%5Cevil.example", "/\\evil.example"),
        ("/%5Cevil.example", "/\\evil.example"),
        ("/%09/evil.example/", "/\t/evil.example/"),
        ("/%0A/evil.example/", "/\n/evil.example/"),
        ("%0A", "\n"),
        ("/%0D%0ASet-Cookie:%20x=1", "/\r\nSet-Cookie: x=1"),
        ("/%C3%A9", "/\u{e9}"),
    ];
    for (encoded, decoded) in elsewhere {
        let signed_in = sign_in_with_next(&app, encoded, decoded).await.expect(303);
        assert_eq!(signed_in.location(), Some("/"), "{encoded}");
    }
    app.stop().await;
}

async fn a_local_next_is_followed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("dev@example.com", None, Role::Member).await;
    let next = "/organizations/default/issues/?query=is%3Aunresolved";
    let encoded = "%2Forganizations%2Fdefault%2Fissues%2F%3Fquery%3Dis%253Aunresolved";
    let page = WebClient::new(&app)
        .get(&format!("/login?next={encoded}"))
        .await
        .expect(200);
    assert!(
        page.body.contains(&format!("name=\"next\" value=\"{next}\"")),
        "{}",
        page.body
    );
    let signed_in = sign_in_with_next(&app, encoded, next).await.expect(303);
    assert_eq!(signed_in.location(), Some(next));
    app.stop().await;
}

async fn forms_without_the_csrf_token_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user("dev@example.com", None, Role::Member).await;
    let browser = WebClient::new(&app);
    browser.get("/login").await.expect(200);
    browser
        .post_raw("/login", &[("email", "dev@example.com"), ("password", PASSWORD)])
        .await
        .expect(403);
    browser.sign_in("dev@example.com", PASSWORD).await.expect(303);
    browser.post_raw("/logout", &[("csrf", "forged")]).await.expect(403);
    browser.get("/organizations/default/").await.expect(200);
    app.stop().await;
}

async fn failed_sign_ins_slow_down_and_are_audited(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| config.trust_proxy = true).await;
    app.user("dev@example.com", None, Role::Member).await;
    let attacker = WebClient::from_address(&app, "203.0.113.9");
    for _ in 0..5 {
        let page = attacker.sign_in("dev@example.com", "guess").await.expect(401);
        assert!(page.body.contains("Wrong e-mail address or password."));
    }
    let refused = attacker.sign_in("dev@example.com", PASSWORD).await.expect(429);
    assert!(refused.headers.get("retry-after").is_some());
    assert!(refused.body.contains("Too many failed sign-ins"));
    let other_account = attacker.sign_in("someone@example.com", "guess").await;
    assert_eq!(other_account.status, 401, "other accounts are not slowed down");
    let elsewhere = WebClient::from_address(&app, "198.51.100.7");
    assert_eq!(
        elsewhere.sign_in("dev@example.com", PASSWORD).await.status,
        429,
        "so is the account"
    );

    let owner = app.signed_in("owner@example.com", None, Role::Owner).await;
    assert_eq!(
        owner.get("/settings/audit/").await.status,
        403,
        "an owner who is not an administrator"
    );
    let admin = app.signed_in_admin("admin@example.com").await;
    let log = admin.get("/settings/audit/").await.expect(200);
    assert_eq!(log.body.matches("login_failed").count(), 6, "{}", log.body);
    assert!(log.body.contains("login_throttled"));
    assert!(log.body.contains("203.0.113.9"));
    app.stop().await;
}

/// Behind a proxy without FAULTLINE_TRUST_PROXY every client has the proxy's address: guessing some
/// accounts from there must not lock anybody else out.
async fn guessing_some_accounts_locks_out_no_other(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        app.user(email, None, Role::Member).await;
    }
    let attacker = WebClient::from_address(&app, "203.0.113.9");
    for n in 0..4 {
        for email in ["a@example.com", "b@example.com", &format!("nobody{n}@example.com")] {
            attacker.sign_in(email, "guess").await.expect(401);
        }
    }
    let colleague = WebClient::from_address(&app, "198.51.100.7");
    let signed_in = colleague.sign_in("c@example.com", PASSWORD).await.expect(303);
    assert_eq!(signed_in.location(), Some("/"));
    let same_browser = attacker.sign_in("c@example.com", PASSWORD).await.expect(303);
    assert_eq!(same_browser.location(), Some("/"));
    app.stop().await;
}

fn cookie_of(page: &common::web::WebPage, name: &str) -> Option<String> {
    page.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

on_both_databases!(
    first_run_creates_the_admin_and_then_closes,
    signing_in_and_out_with_a_safe_cookie,
    cookies_are_secure_behind_https,
    an_open_redirect_is_refused,
    a_local_next_is_followed,
    forms_without_the_csrf_token_are_refused,
    failed_sign_ins_slow_down_and_are_audited,
    guessing_some_accounts_locks_out_no_other,
);
