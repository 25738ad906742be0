//! Metric alerts for Slack, Discord and Teams, escaped and cut to each service's limits as issue alerts
//! are (see those modules for why each escape is needed).

use serde_json::{json, Value};

use super::super::discord::escape_markdown;
use super::super::slack::{self, button, mrkdwn};
use super::super::summary::{rfc3339, truncate};
use super::super::teams::{self, open_url, rich_text};
use super::{earlier_line, headline, MetricMessage};
use crate::domain::alerts::metric::Transition;

/// Slack: section 3000, field 2000, header 150 characters.
const SLACK_TEXT_CHARS: usize = 3000;
const SLACK_FIELD_CHARS: usize = 2000;
/// Discord: content 2000, embed title 256, description 4096, field value 1024.
const DISCORD_CONTENT_CHARS: usize = 2000;
const DISCORD_TITLE_CHARS: usize = 256;
const DISCORD_DESCRIPTION_CHARS: usize = 4096;
const DISCORD_FIELD_CHARS: usize = 1024;

const FIRING_COLOR: u32 = 0xE03E2F;
const RESOLVED_COLOR: u32 = 0x16A34A;

pub fn slack(message: &MetricMessage) -> Value {
    let headline = slack::escape(&headline(message.latest()));
    let fields: Vec<Value> = message
        .facts()
        .into_iter()
        .map(|fact| {
            mrkdwn(
                &format!("*{}*\n{}", fact.label, slack::escape(&fact.value)),
                SLACK_FIELD_CHARS,
            )
        })
        .collect();
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": message.lead()}}),
        json!({"type": "section", "text": mrkdwn(&headline, SLACK_TEXT_CHARS)}),
        json!({"type": "section", "fields": fields}),
    ];
    if !message.earlier().is_empty() {
        let lines: Vec<String> = message.earlier().iter().map(earlier_line).collect();
        blocks.push(json!({"type": "context", "elements": [mrkdwn(&lines.join("\n"), SLACK_TEXT_CHARS)]}));
    }
    blocks.push(button("View transaction", &message.url));
    json!({"text": headline, "blocks": blocks})
}

pub fn discord(message: &MetricMessage) -> Value {
    let latest = message.latest();
    let fields: Vec<Value> = message
        .facts()
        .into_iter()
        .map(|fact| {
            json!({
                "name": fact.label,
                "value": truncate(&escape_markdown(&fact.value), DISCORD_FIELD_CHARS),
                "inline": true,
            })
        })
        .collect();
    let mut description = escape_markdown(&headline(latest));
    for line in message.earlier().iter().map(earlier_line) {
        description.push('\n');
        description.push_str(&line);
    }
    let color = match latest.transition {
        Transition::Fire => FIRING_COLOR,
        Transition::Resolve => RESOLVED_COLOR,
    };
    json!({
        "content": truncate(&escape_markdown(&headline(latest)), DISCORD_CONTENT_CHARS),
        "embeds": [{
            // Embed titles are shown without markdown, so the name goes as it is.
            "title": truncate(&format!("{}: {}", message.lead(), latest.transaction), DISCORD_TITLE_CHARS),
            "url": message.url,
            "description": truncate(&description, DISCORD_DESCRIPTION_CHARS),
            "color": color,
            "fields": fields,
            "timestamp": rfc3339(latest.at_ms),
        }],
        "allowed_mentions": {"parse": []},
    })
}

pub fn teams(message: &MetricMessage) -> Value {
    let color = match message.latest().transition {
        Transition::Fire => "Attention",
        Transition::Resolve => "Good",
    };
    let facts: Vec<Value> = message
        .facts()
        .into_iter()
        .map(|fact| json!({"title": fact.label, "value": teams::escape(&fact.value)}))
        .collect();
    let mut body = vec![
        json!({"type": "TextBlock", "text": message.lead(), "weight": "Bolder", "color": color, "wrap": true}),
        rich_text(&headline(message.latest()), "Large", false),
        json!({"type": "FactSet", "facts": facts}),
    ];
    body.extend(
        message
            .earlier()
            .iter()
            .map(|change| rich_text(&earlier_line(change), "Default", true)),
    );
    teams::card(body, open_url("View transaction", &message.url))
}

#[cfg(test)]
mod tests {
    use super::super::samples::{change, fired, message};
    use super::*;

    #[test]
    fn slack_names_the_transaction_and_links_its_page() {
        let payload = slack(&fired());
        assert_eq!(
            payload["text"],
            "p95 duration of /checkout/{id}/ is 2239 ms, above 500 ms"
        );
        let blocks = payload["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["text"]["text"], "Metric alert");
        let button = blocks.last().unwrap();
        assert!(button["elements"][0]["url"]
            .as_str()
            .unwrap()
            .ends_with("/performance/transaction/?name=%2Fcheckout%2F%7Bid%7D%2F"));
        assert!(payload.to_string().contains("*Threshold*\\nabove 500 ms"));
    }

    #[test]
    fn attacker_text_in_a_transaction_name_stays_inert() {
        let mut hostile = change(Transition::Fire, Some(900.0));
        hostile.transaction = "<!channel> @everyone [x](https://evil.example)".to_owned();
        let message = message(vec![hostile]);
        let slack = slack(&message).to_string();
        assert!(!slack.contains("<!channel>"), "{slack}");
        let discord = discord(&message);
        assert!(discord["content"].as_str().unwrap().contains(r"\@everyone \[x\]"));
        assert_eq!(discord["allowed_mentions"], json!({"parse": []}));
    }

    #[test]
    fn a_resolve_is_green_and_lists_the_earlier_crossing() {
        let message = message(vec![
            change(Transition::Fire, Some(900.0)),
            change(Transition::Resolve, Some(20.0)),
        ]);
        let embed = &discord(&message)["embeds"][0];
        assert_eq!(embed["color"], RESOLVED_COLOR);
        assert!(embed["description"].as_str().unwrap().contains("Fired at"));
        let card = teams(&message);
        let content = &card["attachments"][0]["content"];
        assert_eq!(content["body"][0]["text"], "Metric alert resolved");
        assert_eq!(content["actions"][0]["title"], "View transaction");
    }
}
