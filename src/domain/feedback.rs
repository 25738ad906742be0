//! User feedback: what a user wrote about an error, from the legacy `user_report` item (and Sentry's
//! `user-feedback/` API: `event_id`, `name`, `email`, `comments`) or the newer `feedback` item (an event whose
//! `contexts.feedback` holds `message`, `contact_email`, `name`, `url`, `associated_event_id`). Every field is
//! the user's own text: kept as text, bounded, shown escaped.

use serde_json::Value;

const MAX_COMMENTS_CHARS: usize = 4_096;
const MAX_NAME_CHARS: usize = 128;
const MAX_EMAIL_CHARS: usize = 256;
const MAX_URL_CHARS: usize = 1_024;

/// One piece of feedback, read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFeedback {
    /// The event it is about (32 lowercase hex), when it names one.
    pub event_id: Option<String>,
    pub name: String,
    pub email: String,
    pub comments: String,
    /// The page it was written on (`feedback` items).
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedbackError {
    #[error("feedback is a JSON object")]
    NotAnObject,
    #[error("feedback needs its comments (`comments`, or `contexts.feedback.message`)")]
    NoComments,
    #[error("the feedback's event id {0:?} is not a UUID")]
    BadEventId(String),
}

/// Reads a `user_report` item or the API's body: `event_id`, `name`, `email`, `comments`.
pub fn read_user_report(value: &Value) -> Result<NewFeedback, FeedbackError> {
    value.as_object().ok_or(FeedbackError::NotAnObject)?;
    build(
        value.get("event_id"),
        text(value, "name"),
        text(value, "email"),
        text(value, "comments"),
        "",
    )
}

/// Reads a `feedback` item: the event's `contexts.feedback`.
pub fn read_feedback_event(value: &Value) -> Result<NewFeedback, FeedbackError> {
    value.as_object().ok_or(FeedbackError::NotAnObject)?;
    let feedback = value.pointer("/contexts/feedback").unwrap_or(&Value::Null);
    build(
        feedback.get("associated_event_id"),
        text(feedback, "name"),
        text(feedback, "contact_email"),
        text(feedback, "message"),
        text(feedback, "url"),
    )
}

fn build(
    event_id: Option<&Value>,
    name: &str,
    email: &str,
    comments: &str,
    url: &str,
) -> Result<NewFeedback, FeedbackError> {
    let comments = comments.trim();
    if comments.is_empty() {
        return Err(FeedbackError::NoComments);
    }
    let event_id = match event_id
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|id| !id.is_empty())
    {
        None => None,
        Some(id) => Some(event_id_hex(id).ok_or_else(|| FeedbackError::BadEventId(cut(id, 64)))?),
    };
    Ok(NewFeedback {
        event_id,
        name: cut(name.trim(), MAX_NAME_CHARS),
        email: cut(email.trim(), MAX_EMAIL_CHARS),
        comments: cut(comments, MAX_COMMENTS_CHARS),
        url: cut(url.trim(), MAX_URL_CHARS),
    })
}

/// A UUID (with or without dashes, any case) as 32 lowercase hex.
fn event_id_hex(id: &str) -> Option<String> {
    let hex: String = id
        .chars()
        .filter(|c| *c != '-')
        .collect::<String>()
        .to_ascii_lowercase();
    (hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(hex)
}

fn text<'v>(value: &'v Value, field: &str) -> &'v str {
    value.get(field).and_then(Value::as_str).unwrap_or_default()
}

fn cut(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_shapes_read_the_same() {
        let legacy = json!({"event_id": "9F2D6C1A-0C4B-4C7E-9F6A-0B1C2D3E4F50", "name": "Ann", "email": "ann@example.com",
                            "comments": "It broke when I paid"});
        let report = read_user_report(&legacy).unwrap();
        assert_eq!(report.event_id.as_deref(), Some("9f2d6c1a0c4b4c7e9f6a0b1c2d3e4f50"));
        assert_eq!(
            (report.name.as_str(), report.comments.as_str()),
            ("Ann", "It broke when I paid")
        );
        let modern = json!({"contexts": {"feedback": {"message": "It broke", "contact_email": "b@example.com",
                            "name": "Bo", "url": "https://shop.example/cart", "associated_event_id": "9f2d6c1a0c4b4c7e9f6a0b1c2d3e4f50"}}});
        let feedback = read_feedback_event(&modern).unwrap();
        assert_eq!(feedback.event_id, report.event_id);
        assert_eq!(
            (feedback.email.as_str(), feedback.url.as_str()),
            ("b@example.com", "https://shop.example/cart")
        );
    }

    #[test]
    fn empty_or_odd_feedback_is_refused_and_long_text_cut() {
        assert_eq!(
            read_user_report(&json!({"comments": "  "})),
            Err(FeedbackError::NoComments)
        );
        assert!(matches!(
            read_user_report(&json!({"comments": "x", "event_id": "nope"})),
            Err(FeedbackError::BadEventId(_))
        ));
        assert_eq!(read_user_report(&json!([])), Err(FeedbackError::NotAnObject));
        let long = read_user_report(&json!({"comments": "é".repeat(10_000)})).unwrap();
        assert_eq!(long.comments.chars().count(), MAX_COMMENTS_CHARS);
        assert_eq!(long.event_id, None, "feedback about no event is kept");
    }
}
