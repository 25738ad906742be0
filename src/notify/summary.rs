//! What every channel says about a message, before its own format: the headline, the labelled facts of an
//! issue, times as text, and cutting long attacker-controlled text to a service's limit.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

use super::{AlertMessage, AlertedIssue};

/// How many issues a digest lists before "and N more".
pub const DIGEST_LIMIT: usize = 20;
/// Titles in headlines and subjects are cut here; the full title is in the body.
pub const HEADLINE_TITLE_CHARS: usize = 120;

/// `New issue: TypeError: x is undefined`, `3 issues fired "Errors in checkout"`, with a test prefix.
pub fn headline(message: &AlertMessage) -> String {
    let core = match message.issues.as_slice() {
        [issue] => format!(
            "{}: {}",
            issue.reason.describe(),
            truncate(&issue.title, HEADLINE_TITLE_CHARS)
        ),
        issues => format!("{} issues fired \"{}\"", issues.len(), message.rule_name),
    };
    if message.test {
        format!("Test notification: {core}")
    } else {
        core
    }
}

/// The email subject: the headline under the project's slug, on one line whatever the title holds.
pub fn subject(message: &AlertMessage) -> String {
    let subject = format!("[{}] {}", message.project_slug, headline(message));
    subject.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// The machine name of what a message is: `alert`, `digest` or `test`.
pub fn kind(message: &AlertMessage) -> &'static str {
    if message.test {
        "test"
    } else if message.is_digest() {
        "digest"
    } else {
        "alert"
    }
}

/// The issues a digest lists, and how many it leaves out.
pub fn listed_issues(message: &AlertMessage) -> (&[AlertedIssue], usize) {
    let shown = message.issues.len().min(DIGEST_LIMIT);
    (&message.issues[..shown], message.issues.len() - shown)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub label: &'static str,
    pub value: String,
}

/// The labelled facts of one issue, in the order every channel shows them; absent ones are left out.
pub fn facts(message: &AlertMessage, issue: &AlertedIssue) -> Vec<Fact> {
    let mut facts = vec![
        fact("Level", issue.level.clone()),
        fact("Project", message.project_name.clone()),
    ];
    if let Some(environment) = &issue.environment {
        facts.push(fact("Environment", environment.clone()));
    }
    if let Some(release) = &issue.release {
        facts.push(fact("Release", release.clone()));
    }
    facts.extend([
        fact("Events", issue.times_seen.to_string()),
        fact("Users", issue.user_count.to_string()),
        fact("First seen", utc_time(issue.first_seen_ms)),
        fact("Last seen", utc_time(issue.last_seen_ms)),
    ]);
    facts
}

fn fact(label: &'static str, value: String) -> Fact {
    Fact { label, value }
}

/// `2024-05-01 12:34:56 UTC`.
pub fn utc_time(ms: i64) -> String {
    moment(ms)
        .format(format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC"))
        .unwrap_or_default()
}

/// `2024-05-01T12:34:56.789Z`.
pub fn rfc3339(ms: i64) -> String {
    moment(ms).format(&Rfc3339).unwrap_or_default()
}

fn moment(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// At most `max_chars` characters, ending in `…` when cut.
pub fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
pub mod samples {
    //! Messages for the payload builders' tests.
    use crate::domain::alerts::FireReason;
    use crate::notify::{AlertMessage, AlertedIssue};

    pub fn issue(id: i64, title: &str) -> AlertedIssue {
        AlertedIssue {
            issue_id: crate::domain::IssueId(id),
            short_id: format!("WEB-{id}"),
            title: title.to_owned(),
            culprit: "app.views in checkout".to_owned(),
            level: "error".to_owned(),
            reason: FireReason::NewIssue,
            environment: Some("production".to_owned()),
            release: Some("web@1.2.3".to_owned()),
            times_seen: 42,
            user_count: 7,
            first_seen_ms: 1_714_566_896_000,
            last_seen_ms: 1_714_570_496_789,
            url: format!("https://faultline.example.com/acme/web/issues/{id}/"),
        }
    }

    pub fn message(issues: Vec<AlertedIssue>) -> AlertMessage {
        AlertMessage {
            rule_name: "Errors in checkout".to_owned(),
            organization_slug: "acme".to_owned(),
            project_slug: "web".to_owned(),
            project_name: "Web shop".to_owned(),
            project_url: "https://faultline.example.com/acme/web/issues/".to_owned(),
            issues,
            test: false,
        }
    }

    pub fn many(count: i64) -> AlertMessage {
        message((1..=count).map(|id| issue(id, &format!("Error number {id}"))).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::samples::*;
    use super::*;

    #[test]
    fn a_single_issue_headline_names_the_reason_and_title() {
        let message = message(vec![issue(1, "TypeError: x is undefined")]);
        assert_eq!(headline(&message), "New issue: TypeError: x is undefined");
        assert_eq!(subject(&message), "[web] New issue: TypeError: x is undefined");
        assert_eq!(kind(&message), "alert");
    }

    #[test]
    fn a_digest_headline_counts_issues_and_names_the_rule() {
        let message = many(3);
        assert_eq!(subject(&message), "[web] 3 issues fired \"Errors in checkout\"");
        assert_eq!(kind(&message), "digest");
    }

    #[test]
    fn a_test_message_says_so_first() {
        let mut message = message(vec![issue(1, "Boom")]);
        message.test = true;
        assert_eq!(subject(&message), "[web] Test notification: New issue: Boom");
        assert_eq!(kind(&message), "test");
    }

    #[test]
    fn a_subject_stays_on_one_line() {
        let message = message(vec![issue(1, "Boom\r\nBcc: victim@example.com")]);
        assert_eq!(subject(&message), "[web] New issue: Boom  Bcc: victim@example.com");
    }

    #[test]
    fn long_titles_are_cut_in_the_subject() {
        let message = message(vec![issue(1, &"é".repeat(500))]);
        let subject = subject(&message);
        assert!(subject.ends_with('…'));
        assert_eq!(
            subject.chars().count(),
            "[web] New issue: ".len() + HEADLINE_TITLE_CHARS
        );
    }

    #[test]
    fn digests_list_twenty_and_count_the_rest() {
        let message = many(23);
        let (shown, more) = listed_issues(&message);
        assert_eq!((shown.len(), more), (20, 3));
    }

    #[test]
    fn facts_leave_out_what_is_unknown() {
        let mut issue = issue(1, "Boom");
        issue.environment = None;
        let labels: Vec<&str> = facts(&message(vec![]), &issue).iter().map(|f| f.label).collect();
        assert_eq!(
            labels,
            [
                "Level",
                "Project",
                "Release",
                "Events",
                "Users",
                "First seen",
                "Last seen"
            ]
        );
    }

    #[test]
    fn times_read_in_utc() {
        assert_eq!(utc_time(1_714_566_896_000), "2024-05-01 12:34:56 UTC");
        assert_eq!(rfc3339(1_714_566_896_789), "2024-05-01T12:34:56.789Z");
    }
}
