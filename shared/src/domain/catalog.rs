//! The catalog: the activities the tool offers for placement in a course through deep linking
//! (Deep Linking 2.0 §2.2, "the tool provides an interface allowing the user to discover and
//! select one or more specific items").
//!
//! Operators manage it with `ltictl catalog add | list | remove`; the deep-linking picker lists
//! it, and a later launch of a placed item finds its activity here by the item id carried in the
//! item's target link (`<public origin>/launch?item=<id>`).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

/// Why a catalog item could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CatalogError {
    /// The id is not a short slug.
    #[error(
        "item id {0:?} must be 1 to {max} characters of letters, digits, '-' and '_', starting \
         with a letter or digit",
        max = CatalogItemId::MAX_LEN
    )]
    InvalidId(String),
    /// The title is empty, too long, or has control characters.
    #[error("the title must be 1 to {max} characters without control characters", max = MAX_TITLE)]
    InvalidTitle,
    /// The description is too long or has control characters other than line breaks.
    #[error("the description must be at most {max} characters", max = MAX_DESCRIPTION)]
    InvalidDescription,
    /// The activity URL is not usable.
    #[error(
        "activity URL {0:?} must be an absolute https:// URL (http:// is accepted for localhost only)"
    )]
    InvalidActivityUrl(String),
    /// The maximum score is not a positive finite number.
    #[error("the maximum score must be a number greater than 0, not {0}")]
    InvalidScoreMaximum(String),
    /// A custom parameter has an unusable name.
    #[error("custom parameter name {0:?} must be letters, digits and '_' (1 to 64 characters)")]
    InvalidCustomName(String),
}

/// The longest title accepted.
pub const MAX_TITLE: usize = 255;
/// The longest description accepted.
pub const MAX_DESCRIPTION: usize = 2000;

/// A catalog item's id: a short slug (`[A-Za-z0-9][A-Za-z0-9_-]*`, at most 64 characters).
///
/// It travels in target link URLs (`/launch?item=<id>`) and line item `resourceId`s, so it is
/// limited to characters that need no escaping anywhere.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CatalogItemId(String);

impl CatalogItemId {
    /// The longest id accepted.
    pub const MAX_LEN: usize = 64;

    /// Parses an id typed by an operator or read from a target link.
    pub fn parse(value: impl Into<String>) -> Result<Self, CatalogError> {
        let value = value.into();
        let mut chars = value.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && value.len() <= Self::MAX_LEN;
        if valid {
            Ok(Self(value))
        } else {
            Err(CatalogError::InvalidId(value))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CatalogItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CatalogItemId {
    type Error = CatalogError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<CatalogItemId> for String {
    fn from(value: CatalogItemId) -> String {
        value.0
    }
}

/// Parses an activity URL: absolute https, or http on a loopback host (a local activity).
pub fn parse_activity_url(text: &str) -> Result<Url, CatalogError> {
    let invalid = || CatalogError::InvalidActivityUrl(text.to_owned());
    let url = Url::parse(text).map_err(|_| invalid())?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" if url.host_str().is_some() => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(invalid()),
    }
}

/// One activity the tool offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogItem {
    /// Its id, unique in the catalog.
    pub id: CatalogItemId,
    /// Shown in the picker and sent as the content item's `title`.
    pub title: String,
    /// Shown in the picker and sent as the content item's `text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where a launch of the placed item hands the learner.
    pub activity_url: Url,
    /// The maximum score; present means the item is gradable and declares a line item
    /// (Deep Linking 2.0 §3.2 `lineItem.scoreMaximum`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_maximum: Option<f64>,
    /// Custom parameters the platform sends back on every launch of the placed item
    /// (Deep Linking 2.0 §3.2 `custom`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, String>,
    /// When the item was added.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// The fields of a new catalog item, as an operator gives them.
#[derive(Debug, Clone, Default)]
pub struct NewCatalogItem<'a> {
    /// The id.
    pub id: &'a str,
    /// The title.
    pub title: &'a str,
    /// The description.
    pub description: Option<&'a str>,
    /// The activity URL.
    pub activity_url: &'a str,
    /// The maximum score.
    pub score_maximum: Option<f64>,
    /// Custom parameters.
    pub custom: Vec<(String, String)>,
}

impl CatalogItem {
    /// Builds a checked item from an operator's input.
    pub fn new(input: NewCatalogItem<'_>, now: OffsetDateTime) -> Result<Self, CatalogError> {
        let id = CatalogItemId::parse(input.id)?;
        let title = input.title.trim();
        if title.is_empty()
            || title.chars().count() > MAX_TITLE
            || title.chars().any(char::is_control)
        {
            return Err(CatalogError::InvalidTitle);
        }
        let description = match input.description.map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                let bad_control = text.chars().any(|c| c.is_control() && c != '\n');
                if text.chars().count() > MAX_DESCRIPTION || bad_control {
                    return Err(CatalogError::InvalidDescription);
                }
                Some(text.to_owned())
            }
        };
        let activity_url = parse_activity_url(input.activity_url)?;
        if let Some(max) = input.score_maximum
            && !(max.is_finite() && max > 0.0)
        {
            return Err(CatalogError::InvalidScoreMaximum(max.to_string()));
        }
        let mut custom = BTreeMap::new();
        for (name, value) in input.custom {
            let valid = !name.is_empty()
                && name.len() <= 64
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(CatalogError::InvalidCustomName(name));
            }
            custom.insert(name, value);
        }
        Ok(Self {
            id,
            title: title.to_owned(),
            description,
            activity_url,
            score_maximum: input.score_maximum,
            custom,
            created_at: now,
        })
    }

    /// Whether launches of this item are graded.
    pub fn is_gradable(&self) -> bool {
        self.score_maximum.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> NewCatalogItem<'static> {
        NewCatalogItem {
            id: "quiz-1",
            title: "Quiz 1",
            description: Some("Fractions"),
            activity_url: "https://activities.example.edu/quiz/1",
            score_maximum: Some(10.0),
            custom: vec![("level".into(), "2".into())],
        }
    }

    #[test]
    fn catalog_item_new_valid_input_keeps_every_field() {
        let item = CatalogItem::new(input(), OffsetDateTime::UNIX_EPOCH).unwrap();
        assert_eq!(item.id.as_str(), "quiz-1");
        assert_eq!(item.title, "Quiz 1");
        assert_eq!(item.description.as_deref(), Some("Fractions"));
        assert_eq!(item.score_maximum, Some(10.0));
        assert!(item.is_gradable());
        assert_eq!(item.custom.get("level").map(String::as_str), Some("2"));
    }

    #[test]
    fn catalog_item_id_invalid_values_are_refused() {
        for bad in ["", "-x", "a b", "a/b", "a?b", "a&b", "é", &"x".repeat(65)] {
            assert!(
                matches!(CatalogItemId::parse(bad), Err(CatalogError::InvalidId(_))),
                "{bad:?}"
            );
        }
        for good in ["a", "Quiz_1-b", &"x".repeat(64)] {
            assert!(CatalogItemId::parse(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn catalog_item_new_bad_url_is_refused() {
        for bad in [
            "http://activities.example.edu/x",
            "javascript:alert(1)",
            "/relative",
            "ftp://example.edu/x",
        ] {
            let result = CatalogItem::new(
                NewCatalogItem {
                    activity_url: bad,
                    ..input()
                },
                OffsetDateTime::UNIX_EPOCH,
            );
            assert!(
                matches!(result, Err(CatalogError::InvalidActivityUrl(_))),
                "{bad}"
            );
        }
        let local = NewCatalogItem {
            activity_url: "http://localhost:9000/a",
            ..input()
        };
        assert!(CatalogItem::new(local, OffsetDateTime::UNIX_EPOCH).is_ok());
    }

    #[test]
    fn catalog_item_new_non_positive_score_is_refused() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let result = CatalogItem::new(
                NewCatalogItem {
                    score_maximum: Some(bad),
                    ..input()
                },
                OffsetDateTime::UNIX_EPOCH,
            );
            assert!(matches!(result, Err(CatalogError::InvalidScoreMaximum(_))));
        }
    }

    #[test]
    fn catalog_item_new_empty_title_and_bad_custom_name_are_refused() {
        let empty = NewCatalogItem {
            title: "  ",
            ..input()
        };
        assert_eq!(
            CatalogItem::new(empty, OffsetDateTime::UNIX_EPOCH),
            Err(CatalogError::InvalidTitle)
        );
        let custom = NewCatalogItem {
            custom: vec![("a-b".into(), "x".into())],
            ..input()
        };
        assert_eq!(
            CatalogItem::new(custom, OffsetDateTime::UNIX_EPOCH),
            Err(CatalogError::InvalidCustomName("a-b".into()))
        );
    }
}
