//! Alert email over SMTP: a text + HTML pair rendered from `templates/email/alert.{txt,html}` (askama
//! escapes the HTML one), sent through the channel's own SMTP server or the server-wide one.

use std::time::Duration;

use askama::Template;
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::summary::{facts, headline, listed_issues, subject, Fact};
use super::{AlertMessage, NotifySettings, SendError, EMAIL_NOT_CONFIGURED};
use crate::domain::alerts::channel::{EmailSettings, TlsMode};

/// Per SMTP command (connect, each reply).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// The whole conversation, so a server trickling replies can't hold a worker.
const SESSION_TIMEOUT: Duration = Duration::from_secs(30);

pub struct EmailView<'a> {
    pub headline: String,
    pub rule_name: &'a str,
    pub project_name: &'a str,
    pub project_url: &'a str,
    pub test: bool,
    pub issues: Vec<IssueView<'a>>,
    pub more: usize,
}

pub struct IssueView<'a> {
    pub short_id: &'a str,
    pub title: &'a str,
    pub culprit: &'a str,
    pub url: &'a str,
    pub facts: Vec<Fact>,
}

#[derive(Template)]
#[template(path = "email/alert.txt")]
struct AlertText<'a> {
    view: &'a EmailView<'a>,
}

#[derive(Template)]
#[template(path = "email/alert.html")]
struct AlertHtml<'a> {
    view: &'a EmailView<'a>,
}

pub fn view(message: &AlertMessage) -> EmailView<'_> {
    let (shown, more) = listed_issues(message);
    EmailView {
        headline: headline(message),
        rule_name: &message.rule_name,
        project_name: &message.project_name,
        project_url: &message.project_url,
        test: message.test,
        issues: shown
            .iter()
            .map(|issue| IssueView {
                short_id: &issue.short_id,
                title: &issue.title,
                culprit: &issue.culprit,
                url: &issue.url,
                facts: facts(message, issue),
            })
            .collect(),
        more,
    }
}

/// An email ready to send: subject and both bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// An issue alert's email.
pub fn mail(message: &AlertMessage) -> Mail {
    let (text, html) = render(message);
    Mail {
        subject: subject(message),
        text,
        html,
    }
}

/// Who gets it and how a retry is recognised.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    pub idempotency_key: &'a str,
    /// The recipients when the channel names none.
    pub member_emails: &'a [String],
}

/// The text and HTML bodies.
pub fn render(message: &AlertMessage) -> (String, String) {
    let view = view(message);
    let text = AlertText { view: &view }.render().expect("the text template renders");
    let html = AlertHtml { view: &view }.render().expect("the HTML template renders");
    (text, html)
}

/// Where a message goes out: the channel's server, else the server-wide one.
struct Relay {
    host: String,
    port: Option<u16>,
    tls: TlsMode,
    credentials: Option<(String, String)>,
}

fn relay(settings: &NotifySettings, channel: &EmailSettings) -> Result<Relay, SendError> {
    if let Some(host) = &channel.smtp_host {
        return Ok(Relay {
            host: host.clone(),
            port: channel.smtp_port,
            tls: channel.tls,
            credentials: channel
                .username
                .clone()
                .map(|user| (user, channel.password.clone().unwrap_or_default())),
        });
    }
    let server = settings
        .smtp
        .as_ref()
        .ok_or(SendError::NotConfigured(EMAIL_NOT_CONFIGURED))?;
    Ok(Relay {
        host: server.host.clone(),
        port: Some(server.port),
        tls: server.tls,
        credentials: server.username.clone().map(|user| {
            let password = server.password.as_ref().map(|secret| secret.0.clone());
            (user, password.unwrap_or_default())
        }),
    })
}

fn transport(relay: &Relay) -> Result<AsyncSmtpTransport<Tokio1Executor>, SendError> {
    let tls_failure = |error: lettre::transport::smtp::Error| {
        SendError::Permanent(format!("the SMTP TLS settings are not usable: {error}"))
    };
    let mut builder = match relay.tls {
        TlsMode::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&relay.host),
        TlsMode::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&relay.host).map_err(tls_failure)?,
        TlsMode::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&relay.host).map_err(tls_failure)?,
    };
    builder = builder.timeout(Some(COMMAND_TIMEOUT));
    if let Some(port) = relay.port {
        builder = builder.port(port);
    }
    if let Some((user, password)) = &relay.credentials {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(builder.build())
}

fn build_message(
    settings: &NotifySettings,
    channel: &EmailSettings,
    mail: &Mail,
    envelope: Envelope<'_>,
) -> Result<Message, SendError> {
    let recipients: &[String] = if channel.to.is_empty() {
        envelope.member_emails
    } else {
        &channel.to
    };
    if recipients.is_empty() {
        return Err(SendError::Permanent("no recipients".into()));
    }
    let sender = channel.from.as_deref().unwrap_or(&settings.email_from);
    let mut builder = Message::builder()
        .from(mailbox(sender)?)
        .subject(mail.subject.clone())
        .message_id(Some(message_id(envelope.idempotency_key)));
    for recipient in recipients {
        builder = builder.to(mailbox(recipient)?);
    }
    let body = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(mail.text.clone()),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(mail.html.clone()),
        );
    builder
        .multipart(body)
        .map_err(|error| SendError::Permanent(format!("the email could not be built: {error}")))
}

fn mailbox(address: &str) -> Result<Mailbox, SendError> {
    address
        .parse()
        .map_err(|_| SendError::Permanent(format!("not an email address: {address}")))
}

/// `<{key}@faultline>`: a retried delivery keeps its Message-ID, so mail systems can drop the repeat.
pub fn message_id(idempotency_key: &str) -> String {
    let local: String = idempotency_key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("<{local}@faultline>")
}

pub async fn send(
    settings: &NotifySettings,
    channel: &EmailSettings,
    mail: &Mail,
    envelope: Envelope<'_>,
) -> Result<(), SendError> {
    let relay = relay(settings, channel)?;
    let message = build_message(settings, channel, mail, envelope)?;
    let transport = transport(&relay)?;
    let outcome = tokio::time::timeout(SESSION_TIMEOUT, transport.send(message)).await;
    let password = relay.credentials.as_ref().map(|(_, password)| password.as_str());
    match outcome {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(classify(&error, password)),
        Err(_) => Err(SendError::Retry("the SMTP server did not answer in time".into())),
    }
}

/// 4xx and connection trouble pass; 5xx is the server's final word.
fn classify(error: &lettre::transport::smtp::Error, password: Option<&str>) -> SendError {
    let mut text = error.to_string();
    // A server may echo what it was sent; a password never reaches a log through us.
    if let Some(password) = password.filter(|password| !password.is_empty()) {
        text = text.replace(password, "[redacted]");
    }
    if error.is_permanent() {
        SendError::Permanent(format!("the SMTP server refused the message: {text}"))
    } else if error.is_transient() {
        SendError::Retry(format!("the SMTP server deferred the message: {text}"))
    } else {
        SendError::Retry(format!("the SMTP server could not be reached: {text}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::summary::samples::{issue, many, message};

    #[test]
    fn the_html_body_escapes_attacker_text() {
        let hostile = issue(1, "<script>alert(1)</script> & \"quotes\"");
        let (text, html) = render(&message(vec![hostile]));
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains("&#60;script&#62;alert(1)&#60;/script&#62; &#38; &#34;quotes&#34;"),
            "{html}"
        );
        assert!(text.contains("<script>alert(1)</script> & \"quotes\""), "{text}");
    }

    #[test]
    fn both_bodies_carry_the_facts_and_the_link() {
        let (text, html) = render(&message(vec![issue(7, "TypeError: x is undefined")]));
        for body in [&text, &html] {
            for expected in [
                "TypeError: x is undefined",
                "app.views in checkout",
                "production",
                "web@1.2.3",
                "42",
                "2024-05-01 12:34:56 UTC",
                "https://faultline.example.com/acme/web/issues/7/",
            ] {
                assert!(body.contains(expected), "{expected} missing from {body}");
            }
        }
    }

    #[test]
    fn a_digest_email_lists_twenty_issues_then_the_rest() {
        let (text, _) = render(&many(24));
        assert!(text.contains("WEB-20 "));
        assert!(!text.contains("WEB-21 "));
        assert!(text.contains("and 4 more"));
        assert!(text.contains("https://faultline.example.com/acme/web/issues/\n"));
    }

    #[test]
    fn the_message_id_comes_from_the_idempotency_key() {
        assert_eq!(message_id("delivery-12-3"), "<delivery-12-3@faultline>");
        assert_eq!(message_id("a b<c>@d"), "<a-b-c--d@faultline>");
    }
}
