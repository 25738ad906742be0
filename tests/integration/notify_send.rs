//! `Notifier::send` against real peers: an SMTP listener and an HTTP receiver on 127.0.0.1. No database.

use crate::common;

use std::time::Duration;

use common::receiver::{Receiver, Reply};
use common::smtp::{Fault, SmtpServer};
use faultline::config::Secret;
use faultline::domain::alerts::channel::{ChannelConfig, EmailSettings, HookSettings, SignedHookSettings, TlsMode};
use faultline::domain::alerts::FireReason;
use faultline::notify::{self, AlertMessage, AlertedIssue, Notifier, NotifySettings, Outgoing, SendError};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const WAIT: Duration = Duration::from_secs(10);
const KEY: &str = "delivery-41-7";
const ISSUE_URL: &str = "https://faultline.example.com/acme/web/issues/41/";

fn issue(id: i64, title: &str) -> AlertedIssue {
    AlertedIssue {
        issue_id: faultline::domain::IssueId(id),
        short_id: format!("WEB-{id}"),
        title: title.to_owned(),
        culprit: "checkout.views in pay".to_owned(),
        level: "error".to_owned(),
        reason: FireReason::NewIssue,
        environment: Some("production".to_owned()),
        release: Some("web@2.0.1".to_owned()),
        times_seen: 12,
        user_count: 3,
        first_seen_ms: 1_714_566_896_000,
        last_seen_ms: 1_714_570_496_000,
        url: format!("https://faultline.example.com/acme/web/issues/{id}/"),
    }
}

fn alert(issues: Vec<AlertedIssue>) -> AlertMessage {
    AlertMessage {
        rule_name: "Checkout errors".to_owned(),
        organization_slug: "acme".to_owned(),
        project_slug: "web".to_owned(),
        project_name: "Web shop".to_owned(),
        project_url: "https://faultline.example.com/acme/web/issues/".to_owned(),
        issues,
        test: false,
    }
}

fn single() -> AlertMessage {
    alert(vec![issue(41, "TypeError: cart is undefined")])
}

fn outgoing<'a>(message: &'a AlertMessage, members: &'a [String]) -> Outgoing<'a> {
    Outgoing {
        message,
        idempotency_key: KEY,
        member_emails: members,
    }
}

fn notifier(smtp: Option<notify::SmtpServer>, allow_private_targets: bool) -> Notifier {
    Notifier::new(NotifySettings {
        smtp,
        email_from: "Faultline <alerts@faultline.example.com>".to_owned(),
        allow_private_targets,
    })
}

/// Webhooks in these tests go to 127.0.0.1, which only an operator opt-in allows.
fn open_notifier() -> Notifier {
    notifier(None, true)
}

fn email_channel(port: u16, to: &[&str]) -> ChannelConfig {
    ChannelConfig::Email(EmailSettings {
        smtp_host: Some("127.0.0.1".to_owned()),
        smtp_port: Some(port),
        tls: TlsMode::None,
        to: to.iter().map(|a| a.to_string()).collect(),
        ..EmailSettings::default()
    })
}

fn hook(url: String) -> HookSettings {
    HookSettings { url }
}

fn is_retry(result: &Result<(), SendError>) -> bool {
    matches!(result, Err(SendError::Retry(_)))
}

fn is_permanent(result: &Result<(), SendError>) -> bool {
    matches!(result, Err(SendError::Permanent(_)))
}

fn error_text(result: Result<(), SendError>) -> String {
    result.expect_err("the send should fail").to_string()
}

/// A port nothing listens on.
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn an_alert_email_arrives_with_subject_both_bodies_and_the_issue_link() {
    let smtp = SmtpServer::start().await;
    let message = single();
    let channel = email_channel(smtp.port(), &["oncall@example.com"]);

    open_notifier().send(&channel, outgoing(&message, &[])).await.unwrap();

    let mails = smtp.wait_for_messages(1, WAIT).await;
    assert_eq!(mails[0].envelope_from, "alerts@faultline.example.com");
    assert_eq!(mails[0].recipients, ["oncall@example.com"]);
    let mail = mails[0].parsed();
    assert_eq!(mail.subject, "[web] New issue: TypeError: cart is undefined");
    assert_eq!(mail.message_id, format!("{KEY}@faultline"));
    let text = mail.text.expect("a text part");
    let html = mail.html.expect("an HTML part");
    for body in [&text, &html] {
        for expected in [
            ISSUE_URL,
            "TypeError: cart is undefined",
            "checkout.views in pay",
            "web@2.0.1",
        ] {
            assert!(body.contains(expected), "{expected} missing from {body}");
        }
    }
    assert!(html.contains(&format!("href=\"{ISSUE_URL}\"")), "{html}");
}

#[tokio::test]
async fn an_issue_title_cannot_add_headers_or_markup_to_an_email() {
    let smtp = SmtpServer::start().await;
    let message = alert(vec![issue(
        41,
        "Boom\r\nBcc: victim@example.com\r\n\r\n<img src=x onerror=alert(1)>",
    )]);
    let channel = email_channel(smtp.port(), &["oncall@example.com"]);

    open_notifier().send(&channel, outgoing(&message, &[])).await.unwrap();

    let mails = smtp.wait_for_messages(1, WAIT).await;
    assert_eq!(mails[0].recipients, ["oncall@example.com"]);
    assert_eq!(mails[0].header("Bcc"), None);
    let mail = mails[0].parsed();
    assert!(
        mail.subject
            .starts_with("[web] New issue: Boom  Bcc: victim@example.com"),
        "{}",
        mail.subject
    );
    let html = mail.html.unwrap();
    assert!(!html.contains("<img"), "{html}");
}

#[tokio::test]
async fn an_email_channel_without_recipients_goes_to_the_members_through_the_server_smtp() {
    let smtp = SmtpServer::start().await;
    let server = notify::SmtpServer {
        host: "127.0.0.1".to_owned(),
        port: smtp.port(),
        tls: TlsMode::None,
        username: None,
        password: None,
    };
    let members = ["ana@example.com".to_owned(), "bo@example.com".to_owned()];
    let message = alert(vec![issue(1, "First"), issue(2, "Second")]);
    let channel = ChannelConfig::Email(EmailSettings::default());

    notifier(Some(server), false)
        .send(&channel, outgoing(&message, &members))
        .await
        .unwrap();

    let mails = smtp.wait_for_messages(1, WAIT).await;
    assert_eq!(mails[0].recipients, members);
    let mail = mails[0].parsed();
    assert_eq!(mail.subject, "[web] 2 issues fired \"Checkout errors\"");
    let text = mail.text.unwrap();
    assert!(text.contains("/issues/1/") && text.contains("/issues/2/"), "{text}");
}

#[tokio::test]
async fn an_email_with_no_recipients_at_all_is_a_permanent_failure() {
    let smtp = SmtpServer::start().await;
    let message = single();

    let result = open_notifier()
        .send(&email_channel(smtp.port(), &[]), outgoing(&message, &[]))
        .await;

    assert_eq!(result, Err(SendError::Permanent("no recipients".into())));
    assert_eq!(smtp.sessions(), 0);
}

#[tokio::test]
async fn an_email_without_any_smtp_server_says_how_to_configure_one() {
    let message = single();
    let channel = ChannelConfig::Email(EmailSettings {
        to: vec!["oncall@example.com".into()],
        ..EmailSettings::default()
    });

    let text = error_text(open_notifier().send(&channel, outgoing(&message, &[])).await);

    assert!(text.contains("FAULTLINE_SMTP_HOST"), "{text}");
}

#[tokio::test]
async fn a_deferring_smtp_server_means_retry_and_the_retry_delivers_once() {
    let smtp = SmtpServer::start_refusing(1).await;
    let message = single();
    let channel = email_channel(smtp.port(), &["oncall@example.com"]);
    let notifier = open_notifier();

    let first = notifier.send(&channel, outgoing(&message, &[])).await;
    assert!(is_retry(&first), "{first:?}");
    assert!(smtp.messages().is_empty());

    notifier.send(&channel, outgoing(&message, &[])).await.unwrap();
    assert_eq!(smtp.wait_for_messages(1, WAIT).await.len(), 1);
}

#[tokio::test]
async fn a_busy_greeting_is_retried_and_a_rejection_is_permanent() {
    let busy = SmtpServer::start_with(Fault::GreetingBusy, 1).await;
    let rejecting = SmtpServer::start_with(Fault::DataRejected, 1).await;
    let message = single();
    let notifier = open_notifier();

    let deferred = notifier
        .send(&email_channel(busy.port(), &["a@example.com"]), outgoing(&message, &[]))
        .await;
    let rejected = notifier
        .send(
            &email_channel(rejecting.port(), &["a@example.com"]),
            outgoing(&message, &[]),
        )
        .await;

    assert!(is_retry(&deferred), "{deferred:?}");
    assert!(is_permanent(&rejected), "{rejected:?}");
}

#[tokio::test]
async fn an_unreachable_smtp_server_is_retried() {
    let message = single();
    let channel = email_channel(closed_port().await, &["oncall@example.com"]);

    let result = open_notifier().send(&channel, outgoing(&message, &[])).await;

    assert!(is_retry(&result), "{result:?}");
}

#[tokio::test]
async fn smtp_credentials_are_used_and_never_appear_in_an_error() {
    let smtp = SmtpServer::start_with(Fault::AuthRejected, 1).await;
    let message = single();
    let password = "correct horse battery staple";
    let channel = ChannelConfig::Email(EmailSettings {
        smtp_host: Some("127.0.0.1".into()),
        smtp_port: Some(smtp.port()),
        tls: TlsMode::None,
        username: Some("mailer".into()),
        password: Some(password.into()),
        to: vec!["oncall@example.com".into()],
        ..EmailSettings::default()
    });
    let notifier = open_notifier();

    let refused = notifier.send(&channel, outgoing(&message, &[])).await;
    assert!(is_permanent(&refused), "{refused:?}");
    assert!(!error_text(refused).contains(password));

    notifier.send(&channel, outgoing(&message, &[])).await.unwrap();
    let mails = smtp.wait_for_messages(1, WAIT).await;
    assert_eq!(mails[0].auth, Some(("mailer".into(), password.into())));
}

#[tokio::test]
async fn the_server_wide_smtp_password_stays_out_of_errors_too() {
    let smtp = SmtpServer::start_with(Fault::AuthRejected, 1).await;
    let server = notify::SmtpServer {
        host: "127.0.0.1".into(),
        port: smtp.port(),
        tls: TlsMode::None,
        username: Some("mailer".into()),
        password: Some(Secret("hunter2-server-secret".into())),
    };
    let message = single();
    let channel = ChannelConfig::Email(EmailSettings::default());
    let members = ["ana@example.com".to_owned()];

    let text = error_text(
        notifier(Some(server), false)
            .send(&channel, outgoing(&message, &members))
            .await,
    );

    assert!(!text.contains("hunter2-server-secret"), "{text}");
}

fn assert_common_http_headers(request: &common::receiver::ReceivedRequest) {
    assert_eq!(request.method, "POST");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("idempotency-key"), Some(KEY));
    let agent = request.header("user-agent").unwrap_or_default();
    assert!(agent.starts_with("Faultline/"), "{agent}");
}

#[tokio::test]
async fn slack_gets_block_kit_with_the_issue_button() {
    let receiver = Receiver::start().await;
    let message = single();
    let channel = ChannelConfig::Slack(hook(receiver.url("/services/T0/B0/xyz")));

    open_notifier().send(&channel, outgoing(&message, &[])).await.unwrap();

    let requests = receiver.wait_for(1, WAIT).await;
    assert_eq!(requests[0].path, "/services/T0/B0/xyz");
    assert_common_http_headers(&requests[0]);
    let body = requests[0].json();
    assert_eq!(body["text"], "New issue: TypeError: cart is undefined");
    let blocks = body["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks.last().unwrap()["elements"][0]["url"], ISSUE_URL);
}

#[tokio::test]
async fn discord_gets_an_embed_that_cannot_mention_anyone() {
    let receiver = Receiver::start().await;
    let message = alert(vec![issue(41, "@everyone look")]);
    let channel = ChannelConfig::Discord(hook(receiver.url("/api/webhooks/1/token")));

    open_notifier().send(&channel, outgoing(&message, &[])).await.unwrap();

    let requests = receiver.wait_for(1, WAIT).await;
    assert_common_http_headers(&requests[0]);
    let body = requests[0].json();
    assert_eq!(body["allowed_mentions"], serde_json::json!({"parse": []}));
    assert_eq!(body["embeds"][0]["url"], ISSUE_URL);
    assert_eq!(body["embeds"][0]["title"], "WEB-41 @everyone look");
}

#[tokio::test]
async fn teams_gets_an_adaptive_card_opening_the_issue() {
    let receiver = Receiver::start().await;
    let message = single();
    let channel = ChannelConfig::Teams(hook(receiver.url("/workflows/run")));

    open_notifier().send(&channel, outgoing(&message, &[])).await.unwrap();

    let requests = receiver.wait_for(1, WAIT).await;
    assert_common_http_headers(&requests[0]);
    let body = requests[0].json();
    assert_eq!(body["type"], "message");
    let card = &body["attachments"][0]["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["actions"][0]["url"], ISSUE_URL);
}

#[tokio::test]
async fn the_generic_webhook_is_signed_over_the_exact_body() {
    let receiver = Receiver::start().await;
    let message = alert(vec![issue(1, "First"), issue(2, "Second")]);
    let secret = "whsec-test-secret";
    let channel = ChannelConfig::Webhook(SignedHookSettings {
        url: receiver.url("/faultline"),
        secret: secret.into(),
    });

    open_notifier().send(&channel, outgoing(&message, &[])).await.unwrap();

    let request = receiver.wait_for(1, WAIT).await.remove(0);
    assert_common_http_headers(&request);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&request.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(request.header("x-faultline-signature"), Some(expected.as_str()));
    assert_eq!(request.header("x-faultline-event"), Some("digest"));
    let body = request.json();
    assert_eq!(body["version"], "1");
    assert_eq!(body["id"], KEY);
    assert_eq!(body["kind"], "digest");
    assert_eq!(
        body["issues"][1]["url"],
        "https://faultline.example.com/acme/web/issues/2/"
    );
    assert_eq!(body["issues"][0]["first_seen"], "2024-05-01T12:34:56Z");
}

#[tokio::test]
async fn server_errors_are_retried_and_client_errors_are_not() {
    let receiver = Receiver::with_statuses(vec![500, 429, 400]).await;
    let message = single();
    let channel = ChannelConfig::Slack(hook(receiver.url("/hook")));
    let notifier = open_notifier();

    let server_error = notifier.send(&channel, outgoing(&message, &[])).await;
    let throttled = notifier.send(&channel, outgoing(&message, &[])).await;
    let client_error = notifier.send(&channel, outgoing(&message, &[])).await;

    assert!(is_retry(&server_error) && error_text(server_error).contains("500"));
    assert!(is_retry(&throttled) && error_text(throttled).contains("429"));
    assert!(is_permanent(&client_error) && error_text(client_error).contains("400"));
}

#[tokio::test]
async fn private_targets_are_refused_unless_the_operator_allows_them() {
    let receiver = Receiver::start().await;
    let message = single();
    let guarded = notifier(None, false);
    let targets = [
        receiver.url("/hook"),
        format!("http://localhost:{}/hook", receiver.port()),
        format!("http://[::ffff:127.0.0.1]:{}/hook", receiver.port()),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://10.0.0.1/hook".to_owned(),
    ];

    for target in targets {
        let result = guarded
            .send(&ChannelConfig::Slack(hook(target.clone())), outgoing(&message, &[]))
            .await;
        assert!(is_permanent(&result), "{target}: {result:?}");
        assert!(
            error_text(result).contains("FAULTLINE_WEBHOOK_ALLOW_PRIVATE"),
            "{target}"
        );
    }

    assert!(receiver.requests().is_empty());
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let receiver = Receiver::with_replies(vec![Reply::redirect("/elsewhere")]).await;
    let message = single();
    let channel = ChannelConfig::Slack(hook(receiver.url("/hook")));

    let result = open_notifier().send(&channel, outgoing(&message, &[])).await;

    assert!(is_permanent(&result), "{result:?}");
    let paths: Vec<String> = receiver.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/hook"]);
}

#[tokio::test]
async fn an_endless_error_answer_is_read_only_in_part() {
    let receiver = Receiver::with_replies(vec![Reply::endless(502)]).await;
    let message = single();
    let channel = ChannelConfig::Slack(hook(receiver.url("/hook")));

    let notifier = open_notifier();
    let send = notifier.send(&channel, outgoing(&message, &[]));
    let result = tokio::time::timeout(Duration::from_secs(30), send)
        .await
        .expect("the send gives up on an endless answer");

    assert!(is_retry(&result), "{result:?}");
    assert!(error_text(result).len() < 1000);
}

#[tokio::test]
async fn errors_never_show_the_secret_part_of_a_webhook_url() {
    let token = "T0AAAA/B0BBBB/very-secret-token";
    let echoing = Receiver::with_replies(vec![Reply::with_body(404, &format!("no hook at /services/{token}"))]).await;
    let message = single();
    let notifier = open_notifier();

    let answered = notifier
        .send(
            &ChannelConfig::Slack(hook(echoing.url(&format!("/services/{token}")))),
            outgoing(&message, &[]),
        )
        .await;
    let unreachable_url = format!("http://127.0.0.1:{}/services/{token}", closed_port().await);
    let unreachable = notifier
        .send(&ChannelConfig::Discord(hook(unreachable_url)), outgoing(&message, &[]))
        .await;

    assert!(is_permanent(&answered), "{answered:?}");
    assert!(is_retry(&unreachable), "{unreachable:?}");
    for text in [error_text(answered), error_text(unreachable)] {
        assert!(!text.contains("very-secret-token"), "{text}");
    }
}
