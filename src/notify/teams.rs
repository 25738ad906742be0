//! Microsoft Teams messages for a Workflows ("When a Teams webhook request is received") webhook: one
//! Adaptive Card 1.4. Attacker text goes in RichTextBlock runs, which Adaptive Cards show without markdown
//! or `{{DATE()}}` substitution; fact values, which do parse markdown, are escaped.

use serde_json::{json, Value};

use super::summary::{facts, headline, listed_issues, truncate};
use super::{AlertMessage, AlertedIssue};

/// Teams caps a card near 28 KB; titles and culprits are cut well before that.
const TITLE_CHARS: usize = 500;
const CULPRIT_CHARS: usize = 300;
const DIGEST_TITLE_CHARS: usize = 150;

pub fn payload(message: &AlertMessage) -> Value {
    let (body, action) = match message.issues.as_slice() {
        [issue] => (issue_body(message, issue), open_url("View issue", &issue.url)),
        _ => (digest_body(message), open_url("View project", &message.project_url)),
    };
    card(body, action)
}

/// The message around one Adaptive Card with this body and action (metric alerts use it too).
pub(super) fn card(body: Vec<Value>, action: Value) -> Value {
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "msteams": {"width": "Full"},
                "body": body,
                "actions": [action],
            },
        }],
    })
}

fn issue_body(message: &AlertMessage, issue: &AlertedIssue) -> Vec<Value> {
    let mut lead = issue.reason.describe().to_owned();
    if message.test {
        lead = format!("Test notification: {lead}");
    }
    let facts: Vec<Value> = facts(message, issue)
        .into_iter()
        .map(|fact| json!({"title": fact.label, "value": escape(&fact.value)}))
        .collect();
    vec![
        json!({"type": "TextBlock", "text": lead, "weight": "Bolder", "color": "Attention", "wrap": true}),
        rich_text(
            &format!("{} {}", issue.short_id, truncate(&issue.title, TITLE_CHARS)),
            "Large",
            false,
        ),
        rich_text(&truncate(&issue.culprit, CULPRIT_CHARS), "Default", true),
        json!({"type": "FactSet", "facts": facts}),
    ]
}

fn digest_body(message: &AlertMessage) -> Vec<Value> {
    let (shown, more) = listed_issues(message);
    let mut body = vec![rich_text(&headline(message), "Large", false)];
    body.extend(shown.iter().map(|issue| {
        let line = format!(
            "{} {} · {} · {} events",
            issue.short_id,
            truncate(&issue.title, DIGEST_TITLE_CHARS),
            issue.level,
            issue.times_seen
        );
        let mut run = rich_text(&line, "Default", false);
        run["inlines"][0]["selectAction"] = json!({"type": "Action.OpenUrl", "url": issue.url});
        run
    }));
    if more > 0 {
        body.push(json!({"type": "TextBlock", "text": format!("and {more} more"), "isSubtle": true}));
    }
    body
}

pub(super) fn rich_text(text: &str, size: &str, subtle: bool) -> Value {
    json!({
        "type": "RichTextBlock",
        "inlines": [{"type": "TextRun", "text": text, "size": size, "isSubtle": subtle}],
    })
}

pub(super) fn open_url(title: &str, url: &str) -> Value {
    json!({"type": "Action.OpenUrl", "title": title, "url": url})
}

/// Backslash-escapes what makes links and emphasis in Adaptive Card markdown (CommonMark escapes), and breaks
/// `{{` so no function is evaluated.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '*' | '_' | '[' | ']') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.replace("{{", "{\u{200B}{")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::summary::samples::{issue, many, message};

    fn card(payload: &Value) -> &Value {
        &payload["attachments"][0]["content"]
    }

    #[test]
    fn a_single_issue_is_an_adaptive_card_with_facts_and_a_link() {
        let payload = payload(&message(vec![issue(4, "TypeError: x is undefined")]));
        assert_eq!(payload["type"], "message");
        assert_eq!(
            payload["attachments"][0]["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        let card = card(&payload);
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["version"], "1.4");
        assert_eq!(card["body"][0]["text"], "New issue");
        assert_eq!(card["body"][1]["inlines"][0]["text"], "WEB-4 TypeError: x is undefined");
        assert_eq!(card["body"][2]["inlines"][0]["text"], "app.views in checkout");
        let facts = card["body"][3]["facts"].as_array().unwrap();
        assert!(facts.contains(&json!({"title": "Events", "value": "42"})));
        assert!(facts.contains(&json!({"title": "Release", "value": "web@1.2.3"})));
        assert_eq!(card["actions"][0]["type"], "Action.OpenUrl");
        assert_eq!(
            card["actions"][0]["url"],
            "https://faultline.example.com/acme/web/issues/4/"
        );
    }

    #[test]
    fn attacker_text_in_facts_cannot_link_or_call_functions() {
        let mut hostile = issue(1, "Boom");
        hostile.environment = Some("[click](https://evil.example) {{DATE(2017-02-14T06:00:00Z)}}".to_owned());
        let payload = payload(&message(vec![hostile]));
        let text = card(&payload)["body"][3].to_string();
        assert!(!text.contains("[click](https"), "{text}");
        assert!(!text.contains("{{"), "{text}");
    }

    #[test]
    fn a_digest_lists_twenty_linked_lines_then_the_rest() {
        let payload = payload(&many(21));
        let card = card(&payload);
        let body = card["body"].as_array().unwrap();
        let linked = body
            .iter()
            .filter(|block| block["inlines"][0]["selectAction"]["type"] == "Action.OpenUrl")
            .count();
        assert_eq!(linked, 20);
        assert_eq!(body.last().unwrap()["text"], "and 1 more");
        assert_eq!(
            card["actions"][0]["url"],
            "https://faultline.example.com/acme/web/issues/"
        );
    }
}
