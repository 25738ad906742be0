//! Slack incoming-webhook messages in Block Kit. Issue text is attacker-controlled, so every mrkdwn string
//! escapes `&`, `<` and `>`: that is what stops `<!channel>` pings and disguised `<url|links>`.

use serde_json::{json, Value};

use super::summary::{facts, headline, listed_issues, truncate};
use super::{AlertMessage, AlertedIssue};

/// Block Kit limits: header text 150, section text 3000, field text 2000.
const HEADER_CHARS: usize = 150;
const SECTION_CHARS: usize = 3000;
const FIELD_CHARS: usize = 2000;
/// What a digest line shows of a title.
const DIGEST_TITLE_CHARS: usize = 200;

pub fn payload(message: &AlertMessage) -> Value {
    let blocks = match message.issues.as_slice() {
        [issue] => single_issue_blocks(message, issue),
        _ => digest_blocks(message),
    };
    json!({
        "text": escape(&headline(message)),
        "blocks": blocks,
    })
}

fn single_issue_blocks(message: &AlertMessage, issue: &AlertedIssue) -> Vec<Value> {
    let fields: Vec<Value> = facts(message, issue)
        .into_iter()
        .map(|fact| mrkdwn(&format!("*{}*\n{}", fact.label, escape(&fact.value)), FIELD_CHARS))
        .collect();
    let description = format!(
        "*{}* {}\n`{}`",
        escape(&issue.short_id),
        escape(&issue.title),
        escape(&issue.culprit)
    );
    vec![
        header(message),
        json!({"type": "section", "text": mrkdwn(&description, SECTION_CHARS)}),
        json!({"type": "section", "fields": fields}),
        button("View issue", &issue.url),
    ]
}

fn digest_blocks(message: &AlertMessage) -> Vec<Value> {
    let (shown, more) = listed_issues(message);
    let mut blocks = vec![header(message)];
    blocks.extend(shown.iter().map(|issue| {
        let line = format!(
            "*<{}|{}>* {}\n{} · {} events · {} users · `{}`",
            issue.url,
            escape(&issue.short_id),
            escape(&truncate(&issue.title, DIGEST_TITLE_CHARS)),
            escape(&issue.level),
            issue.times_seen,
            issue.user_count,
            escape(&truncate(&issue.culprit, DIGEST_TITLE_CHARS)),
        );
        json!({"type": "section", "text": mrkdwn(&line, SECTION_CHARS)})
    }));
    if more > 0 {
        blocks.push(json!({
            "type": "context",
            "elements": [mrkdwn(&format!("and {more} more"), SECTION_CHARS)],
        }));
    }
    blocks.push(button("View project", &message.project_url));
    blocks
}

/// The header names the reason (or counts a digest) and leaves issue text to the escaped mrkdwn below it.
fn header(message: &AlertMessage) -> Value {
    let text = match message.issues.as_slice() {
        [issue] if message.test => format!("Test notification: {}", issue.reason.describe()),
        [issue] => issue.reason.describe().to_owned(),
        _ => headline(message),
    };
    json!({
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(&text, HEADER_CHARS)},
    })
}

pub(super) fn button(label: &str, url: &str) -> Value {
    json!({
        "type": "actions",
        "elements": [{
            "type": "button",
            "text": {"type": "plain_text", "text": label},
            "url": url,
        }],
    })
}

pub(super) fn mrkdwn(text: &str, max_chars: usize) -> Value {
    json!({"type": "mrkdwn", "text": truncate(text, max_chars)})
}

/// Slack's three control characters in message text.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::summary::samples::{issue, many, message};

    #[test]
    fn a_single_issue_has_header_description_facts_and_a_button() {
        let payload = payload(&message(vec![issue(1, "TypeError: x is undefined")]));
        let blocks = payload["blocks"].as_array().unwrap();
        let types: Vec<&str> = blocks.iter().map(|b| b["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["header", "section", "section", "actions"]);
        assert_eq!(blocks[0]["text"]["text"], "New issue");
        assert!(blocks[1]["text"]["text"]
            .as_str()
            .unwrap()
            .contains("app.views in checkout"));
        let fields: Vec<&str> = blocks[2]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["text"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&"*Level*\nerror"));
        assert!(fields.contains(&"*Environment*\nproduction"));
        assert!(fields.contains(&"*Release*\nweb@1.2.3"));
        assert!(fields.contains(&"*Events*\n42"));
        assert!(fields.contains(&"*Users*\n7"));
        assert!(fields.len() <= 10, "Slack allows ten fields per section");
        assert_eq!(
            blocks[3]["elements"][0]["url"],
            "https://faultline.example.com/acme/web/issues/1/"
        );
        assert_eq!(payload["text"], "New issue: TypeError: x is undefined");
    }

    #[test]
    fn attacker_text_cannot_ping_or_link() {
        let mut hostile = issue(1, "<!channel> <https://evil.example|click> & more");
        hostile.culprit = "<@U123>".to_owned();
        let text = payload(&message(vec![hostile])).to_string();
        assert!(!text.contains("<!channel>"), "{text}");
        assert!(!text.contains("<https://evil"), "{text}");
        assert!(!text.contains("<@U123>"), "{text}");
        assert!(text.contains("&lt;!channel&gt; &lt;https://evil.example|click&gt; &amp; more"));
    }

    #[test]
    fn a_digest_lists_twenty_sections_then_the_rest_and_a_project_button() {
        let payload = payload(&many(25));
        let blocks = payload["blocks"].as_array().unwrap();
        let sections = blocks.iter().filter(|b| b["type"] == "section").count();
        assert_eq!(sections, 20);
        assert!(payload.to_string().contains("and 5 more"));
        assert_eq!(
            blocks.last().unwrap()["elements"][0]["url"],
            "https://faultline.example.com/acme/web/issues/"
        );
        assert_eq!(blocks[0]["text"]["text"], "25 issues fired \"Errors in checkout\"");
        assert!(blocks.len() <= 50, "Slack allows fifty blocks");
    }

    #[test]
    fn long_titles_fit_slack_limits() {
        let payload = payload(&message(vec![issue(1, &"x".repeat(10_000))]));
        let blocks = payload["blocks"].as_array().unwrap();
        assert!(blocks[1]["text"]["text"].as_str().unwrap().chars().count() <= 3000);
    }
}
