//! Storage adapters for the [`crate::ports`] traits.
//!
//! - [`dynamo`]: the cloud adapter, one DynamoDB table (key design documented there).
//! - [`embedded`]: a SQLite file in the local data folder, for `ltictl serve` and tests.
//!
//! Both build their keys with [`key_part`] and [`scope_key`], and both return lists in the
//! order the port documents, sorted by domain values (not by encoded keys), so their answers
//! are identical.

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::model::{Attempt, PlatformScope, Registration};

pub mod dynamo;
pub mod embedded;

/// Characters escaped inside one key part: the separators `#` and `|`, the escape `%`
/// itself, and control characters. Escaping them means no identifier can forge a separator,
/// so `("a#b", "c")` and `("a", "b#c")` never make the same key.
const KEY_PART: &AsciiSet = &CONTROLS.add(b'#').add(b'|').add(b'%');

/// One identifier, escaped so it can sit between separators in a composite key.
pub fn key_part(value: &str) -> String {
    utf8_percent_encode(value, KEY_PART).to_string()
}

/// The platform scope as a key part: `1.3|<issuer>|<client_id>` or `1.1|<consumer_key>`.
pub fn scope_key(scope: &PlatformScope) -> String {
    match scope {
        PlatformScope::Lti13 { issuer, client_id } => format!(
            "1.3|{}|{}",
            key_part(issuer.as_str()),
            key_part(client_id.as_str())
        ),
        PlatformScope::Lti11 { consumer_key } => format!("1.1|{}", key_part(consumer_key.as_str())),
    }
}

/// An instant as whole milliseconds since the Unix epoch: the precision expiries are checked at.
pub(crate) fn unix_millis(at: time::OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Orders registrations by issuer, then client id.
pub(crate) fn sort_registrations(list: &mut [Registration]) {
    list.sort_by(|a, b| (&a.issuer, &a.client_id).cmp(&(&b.issuer, &b.client_id)));
}

/// Orders attempts by user, then start time (attempt id breaks ties).
pub(crate) fn sort_attempts(list: &mut [Attempt]) {
    list.sort_by(|a, b| {
        a.key
            .user_id
            .cmp(&b.key.user_id)
            .then(a.started_at.cmp(&b.started_at))
            .then_with(|| a.key.attempt_id.cmp(&b.key.attempt_id))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ClientId, ConsumerKey, Issuer};

    #[test]
    fn key_part_separator_in_value_is_escaped() {
        assert_eq!(key_part("a#b|c%d"), "a%23b%7Cc%25d");
        assert_eq!(key_part("plain-id_1.2"), "plain-id_1.2");
    }

    #[test]
    fn scope_key_distinct_scopes_do_not_collide() {
        let a = PlatformScope::Lti13 {
            issuer: Issuer::parse("https://x|1").unwrap(),
            client_id: ClientId::parse("2").unwrap(),
        };
        let b = PlatformScope::Lti13 {
            issuer: Issuer::parse("https://x").unwrap(),
            client_id: ClientId::parse("1|2").unwrap(),
        };
        let c = PlatformScope::Lti11 {
            consumer_key: ConsumerKey::parse("https://x|1|2").unwrap(),
        };
        assert_ne!(scope_key(&a), scope_key(&b));
        assert_ne!(scope_key(&a), scope_key(&c));
        assert_ne!(scope_key(&b), scope_key(&c));
    }
}
