//! The ids of stored things, one type per kind, so a project's id cannot be passed where an issue's is
//! meant. Each wraps the database's `i64`, binds and decodes as that number on SQLite and Postgres alike,
//! serialises as the bare number and displays as it (templates and URLs print ids with `{}`).

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! numeric_id {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The number itself, for the few places that need it (a DSN, arithmetic).
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> $name {
                $name(id)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(text: &str) -> Result<$name, Self::Err> {
                text.parse().map($name)
            }
        }
    )*};
}

numeric_id! {
    /// An organization's row id.
    OrganizationId;
    /// A project's row id (also the number in its DSN and ingest URLs).
    ProjectId;
    /// An issue's row id (the number in its URLs).
    IssueId;
    /// An alert rule's row id.
    RuleId;
    /// An alert channel's row id.
    ChannelId;
    /// A user's row id.
    UserId;
    /// A cron monitor's row id.
    MonitorId;
    /// An event attachment's row id.
    AttachmentId;
}

/// An event's id as SDKs send it and the API shows it: 32 lowercase hex characters (a UUID without
/// dashes). Serialises and stores as that text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type)]
#[serde(transparent)]
#[sqlx(transparent)]
pub struct EventId(String);

impl EventId {
    /// The id if `text` is 32 lowercase hex characters.
    pub fn parse(text: &str) -> Option<EventId> {
        let valid = text.len() == 32 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| EventId(text.to_owned()))
    }

    /// A fresh random id.
    pub fn random() -> EventId {
        EventId(uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for EventId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for EventId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for EventId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_display_as_the_plain_number() {
        assert_eq!(IssueId(42).to_string(), "42");
        assert_eq!(format!("/issues/{}/", ProjectId(7)), "/issues/7/");
        assert_eq!(OrganizationId(-3).to_string(), "-3");
        assert_eq!(UserId(1).get(), 1);
    }

    #[test]
    fn ids_serialise_as_bare_numbers_and_back() {
        let json = serde_json::to_string(&IssueId(12345)).unwrap();
        assert_eq!(json, "12345");
        assert_eq!(serde_json::from_str::<IssueId>(&json).unwrap(), IssueId(12345));
        let pair = serde_json::json!({"rule": RuleId(3), "channel": ChannelId(4)});
        assert_eq!(pair, serde_json::json!({"rule": 3, "channel": 4}));
        assert!(serde_json::from_str::<IssueId>("\"12\"").is_err());
    }

    #[test]
    fn ids_parse_from_text() {
        assert_eq!("17".parse::<ProjectId>(), Ok(ProjectId(17)));
        assert!("x".parse::<ProjectId>().is_err());
    }

    #[test]
    fn event_ids_are_32_lowercase_hex() {
        let id = EventId::parse("0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(id.to_string(), "0123456789abcdef0123456789abcdef");
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"0123456789abcdef0123456789abcdef\""
        );
        assert!(EventId::parse("0123456789ABCDEF0123456789abcdef").is_none());
        assert!(EventId::parse("0123456789abcdef").is_none());
        assert!(EventId::parse("0123456789abcdef0123456789abcdeg").is_none());
        assert!(EventId::parse(EventId::random().as_str()).is_some());
    }
}
