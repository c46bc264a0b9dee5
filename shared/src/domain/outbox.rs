//! The outbox: one record per grade to deliver, written in the same atomic step as the score.
//!
//! A submitted score becomes a [`Delivery`]: the score, the attempt it belongs to, and
//! everything needed to send it (the AGS line item or the Basic Outcomes target, copied from
//! what the launch stored), so it can be delivered long after the launch session has ended.
//! Deliveries of one learner on one resource link form a **channel** and are sent strictly in
//! order: a later score never overtakes an earlier one that is still pending, and a delivered
//! score is never sent again (its status is written before the channel moves on).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::domain::ids::{DeliveryId, LineItemUrl};
use crate::domain::model::{AttemptKey, BasicOutcome};
use crate::domain::record_key::{key_part, scope_key};
use crate::domain::score::Score;

/// How many tries are kept in a delivery's history (the oldest are dropped beyond this; the
/// `tries` counter keeps the full count).
pub const MAX_HISTORY: usize = 50;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not delivered yet; it will be tried (again) at `next_try_at`.
    Pending,
    /// The platform accepted it.
    Delivered,
    /// The platform refused it for good (e.g. 400 or 403); an operator may replay it.
    Failed,
    /// Every try failed; it is in the dead-letter queue until an operator replays it.
    Dead,
}

impl DeliveryStatus {
    /// The lower-case name used in JSON, tables and `ltictl`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Dead => "dead",
        }
    }

    /// Parses [`as_str`](Self::as_str)'s names.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "pending" => DeliveryStatus::Pending,
            "delivered" => DeliveryStatus::Delivered,
            "failed" => DeliveryStatus::Failed,
            "dead" => DeliveryStatus::Dead,
            _ => return None,
        })
    }
}

/// Where the score goes, as the launch described it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeliveryTarget {
    /// An AGS 2.0 line item (LTI 1.3).
    Ags {
        /// The line item URL, when known (from the launch, or found/created earlier).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lineitem: Option<LineItemUrl>,
        /// The line items container, for find-or-create when `lineitem` is unknown.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lineitems: Option<String>,
        /// The scopes the launch granted.
        scopes: Vec<String>,
        /// A label for a line item the tool creates (the resource link's title).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<String>,
    },
    /// An LTI 1.1 Basic Outcomes result.
    BasicOutcome(BasicOutcome),
}

/// One try to deliver, kept as an audit row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryTry {
    /// When the try finished.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// `delivered`, `retry` or `failed`.
    pub outcome: String,
    /// The platform's HTTP status, when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// What went wrong, in words an operator can act on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One grade to deliver: the outbox record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Its id (also the id the score API answers with).
    pub id: DeliveryId,
    /// The attempt the score was given on (platform, resource link, user, attempt).
    pub attempt: AttemptKey,
    /// The score to send (with the passback policy applied) and its timestamp.
    pub score: Score,
    /// Where it goes.
    pub target: DeliveryTarget,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// How many tries were made.
    pub tries: u32,
    /// When it may next be tried.
    #[serde(with = "time::serde::rfc3339")]
    pub next_try_at: OffsetDateTime,
    /// The last error, while not delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the score was submitted.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the platform accepted it.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub delivered_at: Option<OffsetDateTime>,
    /// Every try, oldest first (at most [`MAX_HISTORY`]).
    #[serde(default)]
    pub history: Vec<DeliveryTry>,
}

impl Delivery {
    /// The channel this delivery is ordered in (one learner on one resource link).
    pub fn channel(&self) -> String {
        channel_of(&self.attempt)
    }

    /// Appends a try to the history (dropping the oldest beyond [`MAX_HISTORY`]).
    pub fn record_try(&mut self, row: DeliveryTry) {
        self.tries = self.tries.saturating_add(1);
        self.history.push(row);
        if self.history.len() > MAX_HISTORY {
            let excess = self.history.len() - MAX_HISTORY;
            self.history.drain(..excess);
        }
    }
}

/// The channel key of an attempt: platform scope, resource link and user.
pub fn channel_of(attempt: &AttemptKey) -> String {
    format!(
        "{}#{}#{}",
        scope_key(&attempt.scope),
        key_part(attempt.resource_link_id.as_str()),
        key_part(attempt.user_id.as_str())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{AttemptId, ConsumerKey, ResourceLinkId, UserId};
    use crate::domain::model::PlatformScope;

    fn key(link: &str, user: &str) -> AttemptKey {
        AttemptKey {
            scope: PlatformScope::Lti11 {
                consumer_key: ConsumerKey::parse("k").unwrap(),
            },
            resource_link_id: ResourceLinkId::parse(link).unwrap(),
            user_id: UserId::parse(user).unwrap(),
            attempt_id: AttemptId::parse("1").unwrap(),
        }
    }

    #[test]
    fn channel_of_separator_in_ids_does_not_collide() {
        assert_ne!(channel_of(&key("a#b", "c")), channel_of(&key("a", "b#c")));
    }

    #[test]
    fn status_names_round_trip() {
        for s in [
            DeliveryStatus::Pending,
            DeliveryStatus::Delivered,
            DeliveryStatus::Failed,
            DeliveryStatus::Dead,
        ] {
            assert_eq!(DeliveryStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(DeliveryStatus::parse("lost"), None);
    }
}
