//! DSN derivation (§1, vector 1) and request credential grammar (§2, vector 7).

use super::*;

const KEY: &str = "0123456789abcdef0123456789abcdef";
const OTHER_KEY: &str = "fedcba9876543210fedcba9876543210";

fn creds<'a>(
    x_sentry_auth: Option<&'a str>,
    authorization: Option<&'a str>,
    query: Option<&'a str>,
) -> RequestCredentials<'a> {
    RequestCredentials {
        x_sentry_auth,
        authorization,
        query,
    }
}

fn header_key(value: &str) -> Result<Option<PublicKey>, AuthError> {
    key_from_request(&creds(Some(value), None, None))
}

fn key(text: &str) -> PublicKey {
    PublicKey::parse(text).unwrap()
}

#[test]
fn dsn_endpoints_keep_prefix_and_explicit_port() {
    let dsn = Dsn::parse(&format!("https://{KEY}@host:9000/sub/path/42")).unwrap();
    assert_eq!(dsn.envelope_url(), "https://host:9000/sub/path/api/42/envelope/");
    assert_eq!(dsn.store_url(), "https://host:9000/sub/path/api/42/store/");
    assert_eq!(dsn.path_prefix, "/sub/path");
    assert_eq!(dsn.project_id, 42);
}

#[test]
fn dsn_endpoints_omit_default_ports() {
    let dsn = Dsn::parse(&format!("http://{KEY}@host:80/42")).unwrap();
    assert_eq!(dsn.store_url(), "http://host/api/42/store/");
    let secure = Dsn::parse(&format!("https://{KEY}@host:443/42")).unwrap();
    assert_eq!(secure.envelope_url(), "https://host/api/42/envelope/");
    let odd = Dsn::parse(&format!("http://{KEY}@host:443/42")).unwrap();
    assert_eq!(odd.port, Some(443));
}

#[test]
fn dsn_ignores_secret_key_and_keeps_the_public_one() {
    let dsn = Dsn::parse(&format!("https://{KEY}:secret@errors.example.com/sentry/7")).unwrap();
    assert_eq!(dsn.public_key.as_str(), KEY);
    assert_eq!(dsn.to_string(), format!("https://{KEY}@errors.example.com/sentry/7"));
    assert_eq!(dsn.envelope_url(), "https://errors.example.com/sentry/api/7/envelope/");
}

#[test]
fn dsn_display_round_trips() {
    for text in [
        format!("http://{KEY}@localhost:8000/1"),
        format!("https://{KEY}@[::1]:9000/a/b/99"),
    ] {
        assert_eq!(Dsn::parse(&text).unwrap().to_string(), text);
    }
}

#[test]
fn malformed_dsns_are_rejected() {
    let bad = [
        format!("ftp://{KEY}@host/1"),
        "https://host/1".to_owned(),
        format!("https://{KEY}@host/"),
        format!("https://{KEY}@host/abc"),
        format!("https://{KEY}@host/+7"),
        format!("https://{KEY}@host/99999999999999999999999"),
        "not a url".to_owned(),
    ];
    for text in bad {
        assert!(matches!(Dsn::parse(&text), Err(AuthError::InvalidDsn(_))), "{text}");
    }
    let short_key = Dsn::parse("https://abc@host/1");
    assert!(matches!(short_key, Err(AuthError::InvalidKey(_))));
}

#[test]
fn server_dsn_is_rooted_at_the_base_url() {
    let base = Url::parse("https://errors.example.com:8443/sentry/").unwrap();
    let dsn = Dsn::for_project(&base, &key(KEY), 3);
    assert_eq!(
        dsn.to_string(),
        format!("https://{KEY}@errors.example.com:8443/sentry/3")
    );
    assert_eq!(
        dsn.envelope_url(),
        "https://errors.example.com:8443/sentry/api/3/envelope/"
    );
    assert_eq!(Dsn::parse(&dsn.to_string()).unwrap(), dsn);
    let plain = Dsn::for_project(&Url::parse("http://localhost:80").unwrap(), &key(KEY), 1);
    assert_eq!(plain.to_string(), format!("http://{KEY}@localhost/1"));
}

#[test]
fn public_keys_are_32_hex_lowercased_without_flags() {
    assert_eq!(key(&KEY.to_uppercase()).as_str(), KEY);
    assert_eq!(key(&format!("{KEY}.no-cache")).as_str(), KEY);
    for bad in [
        "",
        "abc",
        &KEY[1..],
        &format!("{KEY}0"),
        "0123456789abcdef0123456789abcdeg",
    ] {
        assert!(matches!(PublicKey::parse(bad), Err(AuthError::InvalidKey(_))), "{bad}");
    }
}

#[test]
fn generated_keys_are_valid_and_distinct() {
    let first = PublicKey::generate();
    assert_eq!(PublicKey::parse(first.as_str()).unwrap(), first);
    assert_ne!(first, PublicKey::generate());
}

#[test]
fn sentry_header_grammar_is_lenient_about_case_and_spaces() {
    let values = [
        format!("Sentry sentry_version=7, sentry_key={KEY}, sentry_client=x/1"),
        format!("sentry sentry_key={KEY}"),
        format!("SENTRY   sentry_key = {KEY} ,sentry_version = 7.0 , junk, other=1"),
        format!("Sentry sentry_key={KEY},sentry_secret=s,sentry_timestamp=1700000000"),
    ];
    for value in values {
        assert_eq!(header_key(&value), Ok(Some(key(KEY))), "{value}");
    }
}

#[test]
fn newer_protocol_versions_are_unsupported() {
    let value = format!("Sentry sentry_version=8, sentry_key={KEY}");
    assert_eq!(header_key(&value), Err(AuthError::UnsupportedVersion(8)));
    assert_eq!(AuthError::UnsupportedVersion(8).status_code(), 400);
    let query = format!("sentry_key={KEY}&sentry_version=9");
    let result = key_from_request(&creds(None, None, Some(&query)));
    assert_eq!(result, Err(AuthError::UnsupportedVersion(9)));
}

#[test]
fn header_without_a_key_is_malformed() {
    for value in [
        "Sentry sentry_version=7, sentry_client=x/1",
        "Sentry sentry_key=",
        "Sentry",
        "Bearer x",
    ] {
        let result = header_key(value);
        assert!(
            matches!(result, Err(AuthError::MalformedHeader(_))),
            "{value}: {result:?}"
        );
    }
    assert_eq!(AuthError::MalformedHeader(String::new()).status_code(), 401);
}

#[test]
fn header_key_that_is_not_32_hex_is_invalid() {
    let result = header_key("Sentry sentry_key=public");
    assert_eq!(result, Err(AuthError::InvalidKey("public".to_owned())));
    assert_eq!(result.unwrap_err().status_code(), 400);
}

#[test]
fn conflicting_sources_are_refused_but_agreeing_ones_accepted() {
    let header = format!("Sentry sentry_key={KEY}");
    let same = format!("sentry_key={}&sentry_version=7", KEY.to_uppercase());
    let different = format!("sentry_key={OTHER_KEY}&sentry_version=7");
    let agreeing = key_from_request(&creds(Some(&header), None, Some(&same)));
    assert_eq!(agreeing, Ok(Some(key(KEY))));
    let conflict = key_from_request(&creds(Some(&header), None, Some(&different)));
    assert_eq!(conflict, Err(AuthError::ConflictingKeys));
    assert_eq!(AuthError::ConflictingKeys.status_code(), 401);
}

#[test]
fn authorization_header_accepts_sentry_and_basic_schemes() {
    let sentry = format!("Sentry sentry_key={KEY}");
    let basic = format!("Basic {}", STANDARD.encode(format!("{KEY}:ignored")));
    let bare_basic = format!("basic {}", STANDARD.encode(KEY));
    for value in [sentry, basic, bare_basic] {
        let result = key_from_request(&creds(None, Some(&value), None));
        assert_eq!(result, Ok(Some(key(KEY))), "{value}");
    }
    let bearer = key_from_request(&creds(None, Some("Bearer token"), None));
    assert_eq!(bearer, Ok(None));
    let garbage = key_from_request(&creds(None, Some("Basic !!!"), None));
    assert!(matches!(garbage, Err(AuthError::MalformedHeader(_))));
}

#[test]
fn query_is_only_inspected_when_it_mentions_sentry() {
    let query = format!("sentry_key={KEY}&sentry_version=7&sentry_client=sentry.javascript.browser%2F8.0");
    assert_eq!(key_from_request(&creds(None, None, Some(&query))), Ok(Some(key(KEY))));
    assert_eq!(key_from_request(&creds(None, None, Some("page=2&key=x"))), Ok(None));
    assert_eq!(key_from_request(&creds(None, None, Some("sentry_version=7"))), Ok(None));
    let empty = key_from_request(&creds(None, None, Some("sentry_key=")));
    assert!(matches!(empty, Err(AuthError::MalformedHeader(_))));
}

#[test]
fn no_credentials_anywhere_is_none() {
    assert_eq!(key_from_request(&RequestCredentials::default()), Ok(None));
    assert_eq!(AuthError::Missing.status_code(), 401);
    assert_eq!(AuthError::InvalidDsn(String::new()).status_code(), 401);
}
