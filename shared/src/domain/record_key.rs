//! How records are named: one identifier escaped so it can sit inside a composite key, and a
//! platform scope as one key part. Both storage adapters and the outbox channel name use these,
//! so the same record has the same name everywhere.

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::domain::model::PlatformScope;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{ClientId, ConsumerKey, Issuer};

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
