//! The user-feedback items of an envelope: `user_report` (legacy: `event_id`, `name`, `email`, `comments`) and
//! `feedback` (an event whose `contexts.feedback` holds the message). Stored before the envelope's event, so
//! a 2xx means they are kept. An unreadable one is counted as invalid; with nothing else in the envelope it is
//! the answer (a 400 with its sentence), and nothing of the envelope is stored.

use serde_json::Value;

use crate::core::feedback::record;
use crate::core::outcomes::Origin;
use crate::domain::envelope::Envelope;
use crate::domain::feedback::{read_feedback_event, read_user_report, FeedbackError, NewFeedback};
use crate::domain::outcomes::{reason, Category, Outcome};
use crate::domain::ProjectId;

use super::accounting;
use super::error::IngestError;
use super::pipeline::store_failed;
use super::Ingest;

/// Whether an item is user feedback.
pub(super) fn is_feedback_item(ty: &str) -> bool {
    matches!(ty, "user_report" | "feedback")
}

fn category(ty: &str) -> Category {
    if ty == "feedback" {
        Category::Feedback
    } else {
        Category::UserReport
    }
}

/// Stores the envelope's feedback items, if any. `alone`: nothing else in the envelope is processed.
pub(super) async fn ingest_feedback(
    ingest: &Ingest,
    (project_id, origin): (ProjectId, Origin),
    envelope: &Envelope,
    alone: bool,
) -> Result<(), IngestError> {
    let items: Vec<_> = envelope.items.iter().filter(|i| is_feedback_item(&i.ty)).collect();
    if items.is_empty() {
        return Ok(());
    }
    let read: Result<Vec<(Category, NewFeedback)>, FeedbackError> = items
        .iter()
        .map(|item| {
            let value: Value = serde_json::from_slice(&item.payload).map_err(|_| FeedbackError::NotAnObject)?;
            let feedback = if item.ty == "feedback" {
                read_feedback_event(&value)?
            } else {
                read_user_report(&value)?
            };
            Ok((category(&item.ty), feedback))
        })
        .collect();
    let feedback = match read {
        Ok(feedback) => feedback,
        Err(error) => {
            for item in &items {
                accounting::record(
                    ingest,
                    origin,
                    category(&item.ty),
                    Outcome::Invalid,
                    reason::INVALID_EVENT,
                    1,
                );
            }
            return if alone {
                Err(IngestError::InvalidEvent(error.to_string()))
            } else {
                Ok(())
            };
        }
    };
    let (categories, feedback): (Vec<Category>, Vec<NewFeedback>) = feedback.into_iter().unzip();
    record(&ingest.db, project_id, &feedback)
        .await
        .map_err(|error| store_failed(ingest, &error, "feedback items"))?;
    for category in categories {
        accounting::record(ingest, origin, category, Outcome::Accepted, "", 1);
    }
    Ok(())
}
