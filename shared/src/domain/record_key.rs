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

/// The platform scope as a key part: `1.3|<issuer>|<client_id>|<deployment_id>`, or
/// `1.1|<consumer_key>`. An LTI 1.3 scope without a deployment renders as
/// `1.3|<issuer>|<client_id>`, the key records had before they were scoped per deployment
/// (what `ltictl migrate deployments` moves from). Every part is escaped, so no deployment id
/// can make one scope's key equal another's.
pub fn scope_key(scope: &PlatformScope) -> String {
    match scope {
        PlatformScope::Lti13 {
            issuer,
            client_id,
            deployment_id,
        } => {
            let mut key = format!(
                "1.3|{}|{}",
                key_part(issuer.as_str()),
                key_part(client_id.as_str())
            );
            if let Some(deployment) = deployment_id {
                key.push('|');
                key.push_str(&key_part(deployment.as_str()));
            }
            key
        }
        PlatformScope::Lti11 { consumer_key } => format!("1.1|{}", key_part(consumer_key.as_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{ClientId, ConsumerKey, DeploymentId, Issuer};

    #[test]
    fn key_part_separator_in_value_is_escaped() {
        assert_eq!(key_part("a#b|c%d"), "a%23b%7Cc%25d");
        assert_eq!(key_part("plain-id_1.2"), "plain-id_1.2");
    }

    #[test]
    fn scope_key_distinct_scopes_do_not_collide() {
        let a = PlatformScope::registration(
            Issuer::parse("https://x|1").unwrap(),
            ClientId::parse("2").unwrap(),
        );
        let b = PlatformScope::registration(
            Issuer::parse("https://x").unwrap(),
            ClientId::parse("1|2").unwrap(),
        );
        let c = PlatformScope::Lti11 {
            consumer_key: ConsumerKey::parse("https://x|1|2").unwrap(),
        };
        assert_ne!(scope_key(&a), scope_key(&b));
        assert_ne!(scope_key(&a), scope_key(&c));
        assert_ne!(scope_key(&b), scope_key(&c));
    }

    #[test]
    fn scope_key_deployments_of_one_registration_do_not_collide() {
        let (iss, client) = (
            Issuer::parse("https://x").unwrap(),
            ClientId::parse("1").unwrap(),
        );
        let dep = |d: &str| {
            PlatformScope::lti13(iss.clone(), client.clone(), DeploymentId::parse(d).unwrap())
        };
        let legacy = PlatformScope::registration(iss.clone(), client.clone());
        let forged_client = ClientId::parse("1|dep-1").unwrap();
        assert_eq!(scope_key(&legacy), "1.3|https://x|1");
        assert_eq!(scope_key(&dep("dep-1")), "1.3|https://x|1|dep-1");
        assert_ne!(scope_key(&dep("dep-1")), scope_key(&dep("dep-2")));
        assert_ne!(scope_key(&dep("a|b")), scope_key(&dep("a%7Cb")));
        assert_ne!(scope_key(&dep("dep-1")), scope_key(&legacy));
        // A client id cannot borrow the deployment's separator.
        let forged = PlatformScope::registration(iss.clone(), forged_client);
        assert_ne!(scope_key(&forged), scope_key(&dep("dep-1")));
    }
}
