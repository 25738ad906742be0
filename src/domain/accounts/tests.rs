use super::*;

#[test]
fn scopes_parse_from_commas_or_spaces_and_print_in_a_stable_order() {
    let set = ScopeSet::parse("project:read, org:read event:admin").unwrap();
    assert_eq!(set.to_text(), "org:read project:read event:admin");
    assert_eq!(ScopeSet::parse(&set.to_text()).unwrap(), set);
}

#[test]
fn an_unknown_scope_is_refused_with_its_name() {
    let error = ScopeSet::parse("org:read org:write").unwrap_err();
    assert_eq!(error, UnknownScope("org:write".into()));
    assert!(error.to_string().contains("project:releases"));
}

#[test]
fn members_cannot_administer_issues_or_change_projects() {
    let member = Role::Member.scopes();
    assert!(member.contains(Scope::EventRead) && member.contains(Scope::ProjectReleases));
    assert!(!member.contains(Scope::EventAdmin) && !member.contains(Scope::ProjectWrite));
    assert!(Role::Owner.scopes().contains(Scope::EventAdmin));
}

#[test]
fn a_token_acts_with_only_the_scopes_its_role_also_grants() {
    let token = ScopeSet::parse("event:read event:admin").unwrap();
    assert_eq!(token.intersection(&Role::Member.scopes()).to_text(), "event:read");
    assert_eq!(token.intersection(&Role::Admin.scopes()), token);
}

#[test]
fn roles_parse_case_insensitively() {
    assert_eq!(Role::parse("Owner").unwrap(), Role::Owner);
    assert!(Role::parse("superuser").is_err());
}

#[test]
fn tokens_are_random_prefixed_hex_and_only_their_hash_matches() {
    let a = ApiToken::generate();
    let b = ApiToken::generate();
    assert_ne!(a.plaintext, b.plaintext);
    assert!(a.plaintext.starts_with("sntryu_") && a.plaintext.len() == 7 + 64);
    assert_eq!(hash_token(&a.plaintext), a.hash);
    assert_ne!(hash_token(&b.plaintext), a.hash);
    assert!(!a.hash.contains(&a.plaintext[7..]));
    assert_eq!(a.hint(), a.plaintext[a.plaintext.len() - 4..]);
}

#[test]
fn passwords_verify_only_against_their_own_hash() {
    let hash = hash_password("correct horse").unwrap();
    assert!(hash.starts_with("$argon2id$"));
    assert!(verify_password("correct horse", &hash));
    assert!(!verify_password("correct hors", &hash));
    assert!(!verify_password("correct horse", "not a hash"));
}

#[test]
fn short_passwords_are_refused() {
    assert!(matches!(hash_password("1234567"), Err(PasswordError::TooShort)));
}

#[test]
fn sign_in_follows_a_local_path_with_its_query() {
    for next in [
        "/",
        "/organizations/default/issues/?query=is%3Aunresolved",
        "/settings/account/#tokens",
    ] {
        assert_eq!(landing_after_sign_in(next), next);
    }
}

#[test]
fn sign_in_never_leaves_the_site() {
    let elsewhere = [
        "",
        "evil.example",
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "\\/evil.example",
        "/a\\b",
        "/\t/evil.example/",
        "/\n/evil.example/",
        "\n",
        "/\r\nSet-Cookie: x=1",
        "/ /evil.example",
        "/\u{7f}",
        "/\u{0}",
        "/caf\u{e9}",
    ];
    for next in elsewhere {
        assert_eq!(landing_after_sign_in(next), DEFAULT_LANDING, "{next:?}");
    }
}
