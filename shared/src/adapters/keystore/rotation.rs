//! Rotation of the key document, as the Secrets Manager rotation function does it: the pure
//! half (what the pending version holds, and whether it is safe to make current). The calls to
//! Secrets Manager live in the `rotate-keys` function.
//!
//! A rotation applies [`KeySet::rotate`] to the `AWSCURRENT` document: the published next key
//! becomes current, the current key is retired (and stays published for
//! [`crate::domain::keys::RETIRED_KEY_PUBLISH_WINDOW`]), a new next key is published, and keys retired
//! longer ago are dropped. LTI 1.1 consumer secrets are carried over unchanged. Because the new
//! current key was published a whole rotation earlier and the old one stays published, every
//! token signed before, during or after the rotation verifies against the published set, so no
//! launch or grade fails.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;

use super::KeyDocument;
use crate::domain::ids::KeyId;
use crate::domain::keys::{KeyError, KeySet, KeyStatus};

/// Why a rotation could not be prepared, or why a pending document must not become current.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RotationError {
    /// A document is not a key document (the detail never quotes it: it holds secrets).
    #[error("{0}")]
    Corrupt(String),
    /// A key could not be generated or used.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The pending document does not have exactly one current key.
    #[error("the pending key document has {0} current keys instead of exactly one")]
    CurrentKeyCount(usize),
    /// The pending current key does not verify its own signature through the published set.
    #[error("the pending current key {0} does not verify through the published key set")]
    SignatureCheck(KeyId),
    /// The pending current key was not published before the rotation, so platforms that
    /// cached the key set would not know it.
    #[error("the pending current key {0} was not published before the rotation")]
    CurrentNotPublishedBefore(KeyId),
    /// The key that signed until now is not published as retired, so tokens it signed moments
    /// ago would stop verifying.
    #[error("the previous current key {0} is not published as retired in the pending document")]
    PreviousNotRetired(KeyId),
    /// The LTI 1.1 consumer secrets differ (someone changed the document during the rotation).
    #[error(
        "the pending key document's LTI 1.1 consumer secrets differ from the current ones; \
         the secret changed during the rotation: rotate again"
    )]
    ConsumerSecretsChanged,
}

fn parse(text: &str, which: &str) -> Result<KeyDocument, RotationError> {
    KeyDocument::parse(text, which).map_err(|e| RotationError::Corrupt(e.to_string()))
}

/// The pending document for a rotation at `now`, from the `AWSCURRENT` document `current`:
/// its signing keys rotated, its consumer secrets unchanged. An empty document (a fresh stack)
/// gets its first current and next keys.
pub fn rotated_document(current: &str, now: OffsetDateTime) -> Result<String, RotationError> {
    let mut doc = parse(current, "the current secret version")?;
    doc.signing_keys.rotate(now)?;
    doc.render()
        .map_err(|e| RotationError::Corrupt(e.to_string()))
}

/// Checks that `pending` may replace `current` at `now`: it parses, has exactly one current key,
/// which signs and verifies through the key set `pending` publishes and was already published
/// by `current` (unless `current` had no keys at all); the key that was current is published
/// as retired; the consumer secrets are unchanged.
pub fn check_rotated_document(
    current: &str,
    pending: &str,
    now: OffsetDateTime,
) -> Result<(), RotationError> {
    let before = parse(current, "the current secret version")?;
    let after = parse(pending, "the pending secret version")?;

    let currents: Vec<_> = after
        .signing_keys
        .keys
        .iter()
        .filter(|k| k.status == KeyStatus::Current)
        .collect();
    let [new_current] = currents.as_slice() else {
        return Err(RotationError::CurrentKeyCount(currents.len()));
    };
    if !signs_and_verifies(&after.signing_keys, now)? {
        return Err(RotationError::SignatureCheck(new_current.kid.clone()));
    }

    let published_before = before.signing_keys.public_jwks(now);
    if !before.signing_keys.keys.is_empty()
        && !published_before
            .keys
            .iter()
            .any(|k| k.kid == new_current.kid)
    {
        return Err(RotationError::CurrentNotPublishedBefore(
            new_current.kid.clone(),
        ));
    }

    if let Ok(old_current) = before.signing_keys.current() {
        let retired = after
            .signing_keys
            .keys
            .iter()
            .any(|k| k.kid == old_current.kid && k.status == KeyStatus::Retired);
        let published = after
            .signing_keys
            .public_jwks(now)
            .keys
            .iter()
            .any(|k| k.kid == old_current.kid);
        if !(retired && published) {
            return Err(RotationError::PreviousNotRetired(old_current.kid.clone()));
        }
    }

    if before.consumer_secrets != after.consumer_secrets {
        return Err(RotationError::ConsumerSecretsChanged);
    }
    Ok(())
}

/// Signs a probe with the set's current key and verifies it with the published JWK of the
/// same `kid`, as a platform would.
fn signs_and_verifies(keys: &KeySet, now: OffsetDateTime) -> Result<bool, RotationError> {
    const PROBE: &[u8] = b"lti-tool rotation probe";
    let key = keys.current()?;
    let signature = key.sign_rs256(PROBE)?;
    let published = keys.public_jwks(now);
    let Some(jwk) = published.keys.iter().find(|k| k.kid == key.kid) else {
        return Ok(false);
    };
    let (Ok(n), Ok(e)) = (
        URL_SAFE_NO_PAD.decode(&jwk.n),
        URL_SAFE_NO_PAD.decode(&jwk.e),
    ) else {
        return Ok(false);
    };
    let public = aws_lc_rs::signature::RsaPublicKeyComponents { n: &n, e: &e };
    Ok(public
        .verify(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            PROBE,
            &signature,
        )
        .is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::keys::RETIRED_KEY_PUBLISH_WINDOW;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);

    fn initialised(consumers: &[(&str, &str)]) -> KeyDocument {
        let mut doc = KeyDocument::default();
        doc.signing_keys.init(NOW).unwrap();
        for (key, secret) in consumers {
            doc.consumer_secrets
                .insert((*key).to_owned(), (*secret).to_owned());
        }
        doc
    }

    #[test]
    fn rotated_document_promotes_next_and_keeps_consumer_secrets() {
        let doc = initialised(&[("moodle", "a-long-consumer-secret")]);
        let current = doc.render().unwrap();
        let pending = rotated_document(&current, NOW).unwrap();
        let after = parse(&pending, "pending").unwrap();
        assert_eq!(
            after.signing_keys.current().unwrap().kid,
            doc.signing_keys.keys[1].kid
        );
        assert_eq!(after.consumer_secrets, doc.consumer_secrets);
        check_rotated_document(&current, &pending, NOW).unwrap();
    }

    #[test]
    fn rotated_document_empty_document_gets_first_keys() {
        let pending = rotated_document(r#"{"signing_keys":{"keys":[]}}"#, NOW).unwrap();
        let after = parse(&pending, "pending").unwrap();
        assert_eq!(after.signing_keys.public_jwks(NOW).keys.len(), 2);
        check_rotated_document("", &pending, NOW).unwrap();
    }

    #[test]
    fn rotated_document_garbage_is_corrupt() {
        assert!(matches!(
            rotated_document("not json", NOW),
            Err(RotationError::Corrupt(_))
        ));
    }

    #[test]
    fn check_rotated_document_unrotated_copy_is_refused() {
        let current = initialised(&[]).render().unwrap();
        // The same document: the previous current key is still current, not retired.
        assert!(matches!(
            check_rotated_document(&current, &current, NOW),
            Err(RotationError::PreviousNotRetired(_))
        ));
    }

    #[test]
    fn check_rotated_document_two_current_keys_are_refused() {
        let current = initialised(&[]).render().unwrap();
        let mut after = parse(&rotated_document(&current, NOW).unwrap(), "pending").unwrap();
        for key in &mut after.signing_keys.keys {
            key.status = KeyStatus::Current;
        }
        assert_eq!(
            check_rotated_document(&current, &after.render().unwrap(), NOW),
            Err(RotationError::CurrentKeyCount(3))
        );
    }

    #[test]
    fn check_rotated_document_unpublished_current_is_refused() {
        let doc = initialised(&[]);
        let current = doc.render().unwrap();
        // A document whose current key platforms have never seen.
        let mut keys = doc.signing_keys.clone();
        keys.rotate(NOW).unwrap();
        keys.rotate(NOW).unwrap();
        let other = KeyDocument {
            signing_keys: keys,
            consumer_secrets: doc.consumer_secrets.clone(),
        };
        let result = check_rotated_document(&current, &other.render().unwrap(), NOW);
        assert!(matches!(
            result,
            Err(RotationError::CurrentNotPublishedBefore(_))
        ));
    }

    #[test]
    fn check_rotated_document_changed_consumer_secrets_are_refused() {
        let current = initialised(&[("moodle", "a-long-consumer-secret")]);
        let mut after = parse(
            &rotated_document(&current.render().unwrap(), NOW).unwrap(),
            "pending",
        )
        .unwrap();
        after.consumer_secrets.clear();
        assert_eq!(
            check_rotated_document(&current.render().unwrap(), &after.render().unwrap(), NOW),
            Err(RotationError::ConsumerSecretsChanged)
        );
    }

    #[test]
    fn check_rotated_document_old_key_past_window_is_not_required() {
        // Rotating twice a window apart: the first retired key may go, the last current stays.
        let current = initialised(&[]).render().unwrap();
        let once = rotated_document(&current, NOW).unwrap();
        let later = NOW + RETIRED_KEY_PUBLISH_WINDOW;
        let twice = rotated_document(&once, later).unwrap();
        check_rotated_document(&once, &twice, later).unwrap();
        assert_eq!(parse(&twice, "pending").unwrap().signing_keys.keys.len(), 3);
    }
}
