//! Discord webhook messages: one embed, coloured by level. `allowed_mentions` with an empty `parse` list
//! means no `@everyone` or role ping in an issue title ever notifies anyone; markdown in attacker text is
//! escaped so a title can't draw a disguised link.

use serde_json::{json, Value};

use super::summary::{facts, headline, listed_issues, rfc3339, truncate};
use super::{AlertMessage, AlertedIssue};

/// Discord limits: content 2000, embed title 256, description 4096, 25 fields, field name 256, value 1024.
const CONTENT_CHARS: usize = 2000;
const TITLE_CHARS: usize = 256;
const DESCRIPTION_CHARS: usize = 4096;
const MAX_FIELDS: usize = 25;
const FIELD_VALUE_CHARS: usize = 1024;
const DIGEST_TITLE_CHARS: usize = 150;

pub fn payload(message: &AlertMessage) -> Value {
    let embed = match message.issues.as_slice() {
        [issue] => issue_embed(message, issue),
        _ => digest_embed(message),
    };
    json!({
        "content": truncate(&escape_markdown(&headline(message)), CONTENT_CHARS),
        "embeds": [embed],
        "allowed_mentions": {"parse": []},
    })
}

fn issue_embed(message: &AlertMessage, issue: &AlertedIssue) -> Value {
    let fields: Vec<Value> = facts(message, issue)
        .into_iter()
        .take(MAX_FIELDS)
        .map(|fact| {
            json!({
                "name": fact.label,
                "value": truncate(&escape_markdown(&fact.value), FIELD_VALUE_CHARS),
                "inline": true,
            })
        })
        .collect();
    json!({
        // Embed titles are shown without markdown, so the title goes as it is.
        "title": truncate(&format!("{} {}", issue.short_id, issue.title), TITLE_CHARS),
        "url": issue.url,
        "description": truncate(&escape_markdown(&issue.culprit), DESCRIPTION_CHARS),
        "color": level_color(&issue.level),
        "fields": fields,
        "timestamp": rfc3339(issue.last_seen_ms),
    })
}

fn digest_embed(message: &AlertMessage) -> Value {
    let (shown, more) = listed_issues(message);
    let mut lines: Vec<String> = shown
        .iter()
        .map(|issue| {
            format!(
                "[{}]({}) {} · {} · {} events",
                escape_markdown(&issue.short_id),
                issue.url,
                escape_markdown(&truncate(&issue.title, DIGEST_TITLE_CHARS)),
                escape_markdown(&issue.level),
                issue.times_seen
            )
        })
        .collect();
    if more > 0 {
        lines.push(format!("and {more} more"));
    }
    let worst = shown
        .iter()
        .map(|issue| level_color(&issue.level))
        .max()
        .unwrap_or(NEUTRAL);
    json!({
        "title": truncate(&format!("{} · {}", message.project_name, message.rule_name), TITLE_CHARS),
        "url": message.project_url,
        "description": truncate(&lines.join("\n"), DESCRIPTION_CHARS),
        "color": worst,
    })
}

const NEUTRAL: u32 = 0x9CA3AF;

/// Colours ordered so that a more severe level has a larger number (the digest shows its worst).
fn level_color(level: &str) -> u32 {
    match level {
        "fatal" => 0xF00000,
        "error" => 0xE03E2F,
        "warning" => 0xDB8A00,
        "info" => 0x3B82F6,
        _ => NEUTRAL,
    }
}

/// Backslash-escapes Discord markdown so attacker text shows as typed.
pub fn escape_markdown(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '~' | '`' | '|' | '[' | ']' | '(' | ')' | '<' | '>' | '#' | '-' | '@'
        ) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::summary::samples::{issue, many, message};

    #[test]
    fn a_single_issue_is_one_embed_linking_the_issue() {
        let payload = payload(&message(vec![issue(3, "TypeError: x is undefined")]));
        let embed = &payload["embeds"][0];
        assert_eq!(embed["title"], "WEB-3 TypeError: x is undefined");
        assert_eq!(embed["url"], "https://faultline.example.com/acme/web/issues/3/");
        assert_eq!(embed["color"], 0xE03E2F);
        assert_eq!(embed["description"], "app.views in checkout");
        let names: Vec<&str> = embed["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "Level",
                "Project",
                "Environment",
                "Release",
                "Events",
                "Users",
                "First seen",
                "Last seen"
            ]
        );
        assert_eq!(payload["allowed_mentions"]["parse"].as_array().unwrap().len(), 0);
    }

    #[test]
    fn mentions_and_links_in_a_title_stay_inert() {
        let payload = payload(&message(vec![issue(1, "@everyone [click](https://evil.example)")]));
        let content = payload["content"].as_str().unwrap();
        assert!(
            content.contains(r"\@everyone \[click\]\(https://evil.example\)"),
            "{content}"
        );
        assert_eq!(payload["allowed_mentions"], json!({"parse": []}));
    }

    #[test]
    fn text_fits_discord_limits() {
        let mut long = issue(1, &"t".repeat(5000));
        long.culprit = "c".repeat(10_000);
        let payload = payload(&message(vec![long]));
        let embed = &payload["embeds"][0];
        assert_eq!(embed["title"].as_str().unwrap().chars().count(), 256);
        assert_eq!(embed["description"].as_str().unwrap().chars().count(), 4096);
        assert!(payload["content"].as_str().unwrap().chars().count() <= 2000);
        assert!(embed["fields"].as_array().unwrap().len() <= 25);
    }

    #[test]
    fn a_digest_lists_twenty_issue_links_then_the_rest() {
        let payload = payload(&many(22));
        let embed = &payload["embeds"][0];
        let description = embed["description"].as_str().unwrap();
        assert_eq!(description.lines().count(), 21);
        assert!(description.contains("(https://faultline.example.com/acme/web/issues/20/)"));
        assert!(description.ends_with("and 2 more"));
        assert_eq!(embed["url"], "https://faultline.example.com/acme/web/issues/");
        assert_eq!(payload["content"], "22 issues fired \"Errors in checkout\"");
    }
}
