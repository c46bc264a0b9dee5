//! The tool's RSA signing keys and the public JWK set built from them.
//!
//! The tool signs client assertions (Security Framework §4.1) and deep-linking responses
//! (Deep Linking 2.0 §4.2) with RS256 (Security Framework §6.1). Platforms verify them with
//! the keys the `jwks` function publishes (Security Framework §6.3), so the published set holds:
//! - the **current** key, which signs;
//! - the **next** key, published ahead of use so platforms that cache the set already know it
//!   when a rotation promotes it;
//! - **retired** keys for [`RETIRED_KEY_PUBLISH_WINDOW`] after they stopped signing, so tokens
//!   signed just before a rotation still verify.
//!
//! The private half never leaves this module except as PKCS#8 DER for the key store, and the
//! public set is a different type ([`PublicJwkSet`]) that has no field for it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::domain::ids::KeyId;

/// How long a retired key stays in the published JWK set.
pub const RETIRED_KEY_PUBLISH_WINDOW: Duration = Duration::days(7);

/// Why a key operation failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// The crypto library could not generate or load a key.
    #[error("the RSA key could not be {0}")]
    Crypto(&'static str),
    /// No key has this `kid`.
    #[error("no signing key has kid {0}")]
    UnknownKey(KeyId),
    /// The current key cannot be retired without a replacement.
    #[error("key {0} is the current signing key; run `ltictl keys rotate` to replace it first")]
    RetireCurrent(KeyId),
    /// There is no current key to sign with.
    #[error("there is no current signing key; run `ltictl keys init`")]
    NoCurrentKey,
}

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    /// Signs everything the tool sends.
    Current,
    /// Published, and becomes current at the next rotation.
    Next,
    /// No longer signs; published for a while, then dropped.
    Retired,
}

impl KeyStatus {
    /// The lower-case name used in tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Current => "current",
            KeyStatus::Next => "next",
            KeyStatus::Retired => "retired",
        }
    }
}

/// JWK `kty` (RFC 7518 §6.1): only RSA is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum KeyType {
    /// RSA.
    #[default]
    #[serde(rename = "RSA")]
    Rsa,
}

/// JWK `alg` (RFC 7518 §3.1): LTI requires RS256 (Security Framework §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    #[default]
    #[serde(rename = "RS256")]
    Rs256,
}

/// JWK `use` (RFC 7517 §4.2): signatures only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum KeyUse {
    /// Signature verification.
    #[default]
    #[serde(rename = "sig")]
    Sig,
}

/// A PKCS#8 DER private key. Prints as `PrivateKey([redacted])`.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKeyDer(Vec<u8>);

impl std::fmt::Debug for PrivateKeyDer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey([redacted])")
    }
}

impl Serialize for PrivateKeyDer {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&URL_SAFE_NO_PAD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for PrivateKeyDer {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        URL_SAFE_NO_PAD
            .decode(text)
            .map(Self)
            .map_err(serde::de::Error::custom)
    }
}

/// One of the tool's signing keys, as kept in the key store: a JWK with its status and the
/// private key as PKCS#8 DER (member `pkcs8`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKey {
    /// The key's id: its RFC 7638 thumbprint.
    pub kid: KeyId,
    /// Always `RSA`.
    #[serde(default)]
    pub kty: KeyType,
    /// Always `RS256`.
    #[serde(default)]
    pub alg: Algorithm,
    /// Always `sig`.
    #[serde(default, rename = "use")]
    pub key_use: KeyUse,
    /// Modulus, base64url (RFC 7518 §6.3.1.1).
    pub n: String,
    /// Public exponent, base64url (RFC 7518 §6.3.1.2).
    pub e: String,
    /// Where the key is in its life.
    pub status: KeyStatus,
    /// When the key was generated.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the key stopped signing.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub retired_at: Option<OffsetDateTime>,
    /// The private key.
    pkcs8: PrivateKeyDer,
}

impl SigningKey {
    /// Generates a fresh 2048-bit RSA key (Security Framework §6.1 asks for at least 2048).
    pub fn generate(status: KeyStatus, now: OffsetDateTime) -> Result<Self, KeyError> {
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::rsa::{KeyPair, KeySize};
        use aws_lc_rs::signature::KeyPair as _;
        let pair =
            KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Crypto("generated"))?;
        let der = pair.as_der().map_err(|_| KeyError::Crypto("encoded"))?;
        let public = pair.public_key();
        let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
        let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
        Ok(Self {
            kid: thumbprint(&n, &e)?,
            kty: KeyType::Rsa,
            alg: Algorithm::Rs256,
            key_use: KeyUse::Sig,
            n,
            e,
            status,
            created_at: now,
            retired_at: None,
            pkcs8: PrivateKeyDer(der.as_ref().to_vec()),
        })
    }

    /// The public half, as published.
    pub fn public_jwk(&self) -> PublicJwk {
        PublicJwk {
            kty: self.kty,
            kid: self.kid.clone(),
            alg: self.alg,
            key_use: self.key_use,
            n: self.n.clone(),
            e: self.e.clone(),
        }
    }

    /// Signs `message` with RSASSA-PKCS1-v1_5 SHA-256 (JWS `RS256`, RFC 7518 §3.3).
    pub fn sign_rs256(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        use aws_lc_rs::rsa::KeyPair;
        let pair = KeyPair::from_pkcs8(&self.pkcs8.0).map_err(|_| KeyError::Crypto("loaded"))?;
        let mut signature = vec![0; pair.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        pair.sign(
            &aws_lc_rs::signature::RSA_PKCS1_SHA256,
            &rng,
            message,
            &mut signature,
        )
        .map_err(|_| KeyError::Crypto("used to sign"))?;
        Ok(signature)
    }
}

/// RFC 7638 JWK thumbprint: SHA-256 over the required members in lexicographic order.
fn thumbprint(n: &str, e: &str) -> Result<KeyId, KeyError> {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
    KeyId::parse(URL_SAFE_NO_PAD.encode(digest.as_ref())).map_err(|_| KeyError::Crypto("named"))
}

/// A public JWK (RFC 7517 §4) as published by the `jwks` function. It has no private members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwk {
    /// `RSA`.
    pub kty: KeyType,
    /// The key id platforms match against a JWT's `kid` header.
    pub kid: KeyId,
    /// `RS256`.
    pub alg: Algorithm,
    /// `sig`.
    #[serde(rename = "use")]
    pub key_use: KeyUse,
    /// Modulus, base64url.
    pub n: String,
    /// Public exponent, base64url.
    pub e: String,
}

/// A public JWK set (RFC 7517 §5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwkSet {
    /// The published keys: current, next, then recently retired.
    pub keys: Vec<PublicJwk>,
}

/// All of the tool's signing keys, as kept in the key store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySet {
    /// Every key, in no particular order.
    pub keys: Vec<SigningKey>,
}

impl KeySet {
    /// The key that signs.
    pub fn current(&self) -> Result<&SigningKey, KeyError> {
        self.with_status(KeyStatus::Current)
            .next()
            .ok_or(KeyError::NoCurrentKey)
    }

    /// Signs `claims` as a JWT with the current key: RS256, `typ` JWT and the key's `kid` in
    /// the header (JWS compact serialization, RFC 7515 §7.1; Security Framework §6.1). Session
    /// tokens, client assertions and deep-linking responses are all made here.
    pub fn sign_jwt<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        let key = self.current()?;
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": key.kid});
        let payload = serde_json::to_vec(claims).map_err(|_| KeyError::Crypto("used to sign"))?;
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let signature = key.sign_rs256(input.as_bytes())?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    fn with_status(&self, status: KeyStatus) -> impl Iterator<Item = &SigningKey> {
        self.keys.iter().filter(move |k| k.status == status)
    }

    /// The set to publish at `now`: current, next, and keys retired less than
    /// [`RETIRED_KEY_PUBLISH_WINDOW`] ago (most recently retired first).
    pub fn public_jwks(&self, now: OffsetDateTime) -> PublicJwkSet {
        let mut retired: Vec<&SigningKey> = self
            .with_status(KeyStatus::Retired)
            .filter(|k| {
                k.retired_at
                    .is_some_and(|at| at + RETIRED_KEY_PUBLISH_WINDOW > now)
            })
            .collect();
        retired.sort_by_key(|k| std::cmp::Reverse(k.retired_at));
        let keys = self
            .with_status(KeyStatus::Current)
            .chain(self.with_status(KeyStatus::Next))
            .chain(retired)
            .map(SigningKey::public_jwk)
            .collect();
        PublicJwkSet { keys }
    }

    /// Creates a current and a next key when there is no current key. Returns whether
    /// anything changed; an initialised set is left alone.
    pub fn init(&mut self, now: OffsetDateTime) -> Result<bool, KeyError> {
        if self.current().is_ok() {
            return Ok(false);
        }
        if let Some(next) = self.keys.iter_mut().find(|k| k.status == KeyStatus::Next) {
            next.status = KeyStatus::Current;
        } else {
            self.keys
                .push(SigningKey::generate(KeyStatus::Current, now)?);
        }
        self.keys.push(SigningKey::generate(KeyStatus::Next, now)?);
        Ok(true)
    }

    /// Rotates: the next key becomes current (a new one is made if there is none), the old
    /// current key is retired, a new next key is generated, and keys retired longer than the
    /// publish window are dropped.
    pub fn rotate(&mut self, now: OffsetDateTime) -> Result<(), KeyError> {
        if self.with_status(KeyStatus::Next).next().is_none() {
            self.keys.push(SigningKey::generate(KeyStatus::Next, now)?);
        }
        let fresh_next = SigningKey::generate(KeyStatus::Next, now)?;
        for key in &mut self.keys {
            match key.status {
                KeyStatus::Current => {
                    key.status = KeyStatus::Retired;
                    key.retired_at = Some(now);
                }
                KeyStatus::Next => key.status = KeyStatus::Current,
                KeyStatus::Retired => {}
            }
        }
        self.keys.push(fresh_next);
        self.keys.retain(|k| {
            k.status != KeyStatus::Retired
                || k.retired_at
                    .is_some_and(|at| at + RETIRED_KEY_PUBLISH_WINDOW > now)
        });
        Ok(())
    }

    /// Retires a key that is not current. Retiring a retired key changes nothing.
    pub fn retire(&mut self, kid: &KeyId, now: OffsetDateTime) -> Result<(), KeyError> {
        let key = self
            .keys
            .iter_mut()
            .find(|k| &k.kid == kid)
            .ok_or_else(|| KeyError::UnknownKey(kid.clone()))?;
        match key.status {
            KeyStatus::Current => Err(KeyError::RetireCurrent(kid.clone())),
            KeyStatus::Retired => Ok(()),
            KeyStatus::Next => {
                key.status = KeyStatus::Retired;
                key.retired_at = Some(now);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);

    fn statuses(set: &KeySet) -> Vec<KeyStatus> {
        set.keys.iter().map(|k| k.status).collect()
    }

    #[test]
    fn init_empty_set_creates_current_and_next() {
        let mut set = KeySet::default();
        assert!(set.init(NOW).unwrap());
        assert_eq!(statuses(&set), vec![KeyStatus::Current, KeyStatus::Next]);
        assert!(!set.init(NOW).unwrap(), "a second init changes nothing");
    }

    #[test]
    fn rotate_promotes_next_and_retires_current() {
        let mut set = KeySet::default();
        set.init(NOW).unwrap();
        let old_current = set.current().unwrap().kid.clone();
        let old_next = set.keys[1].kid.clone();
        set.rotate(NOW).unwrap();
        assert_eq!(set.current().unwrap().kid, old_next);
        let retired = set.keys.iter().find(|k| k.kid == old_current).unwrap();
        assert_eq!(retired.status, KeyStatus::Retired);
        assert_eq!(retired.retired_at, Some(NOW));
        assert_eq!(set.with_status(KeyStatus::Next).count(), 1);
    }

    #[test]
    fn rotate_without_next_still_leaves_current_and_next() {
        let mut set = KeySet::default();
        set.init(NOW).unwrap();
        let next = set.keys[1].kid.clone();
        set.retire(&next, NOW).unwrap();
        set.rotate(NOW).unwrap();
        assert_eq!(set.with_status(KeyStatus::Current).count(), 1);
        assert_eq!(set.with_status(KeyStatus::Next).count(), 1);
    }

    #[test]
    fn rotate_drops_keys_retired_past_the_window() {
        let mut set = KeySet::default();
        set.init(NOW).unwrap();
        set.rotate(NOW).unwrap();
        assert_eq!(set.keys.len(), 3);
        set.rotate(NOW + RETIRED_KEY_PUBLISH_WINDOW + Duration::seconds(1))
            .unwrap();
        // The first retired key is gone; the one retired now remains.
        assert_eq!(set.keys.len(), 3);
    }

    #[test]
    fn retire_current_is_refused() {
        let mut set = KeySet::default();
        set.init(NOW).unwrap();
        let kid = set.current().unwrap().kid.clone();
        assert_eq!(set.retire(&kid, NOW), Err(KeyError::RetireCurrent(kid)));
    }

    #[test]
    fn retire_unknown_kid_is_refused() {
        let mut set = KeySet::default();
        let kid = KeyId::parse("nope").unwrap();
        assert_eq!(set.retire(&kid, NOW), Err(KeyError::UnknownKey(kid)));
    }

    #[test]
    fn public_jwks_hides_old_retired_keys_and_private_members() {
        let mut set = KeySet::default();
        set.init(NOW).unwrap();
        set.rotate(NOW).unwrap();
        assert_eq!(set.public_jwks(NOW).keys.len(), 3);
        let later = NOW + RETIRED_KEY_PUBLISH_WINDOW;
        let published = set.public_jwks(later);
        assert_eq!(published.keys.len(), 2);
        assert_eq!(published.keys[0].kid, set.current().unwrap().kid);
        let json = serde_json::to_value(&published).unwrap();
        for key in json["keys"].as_array().unwrap() {
            let mut members: Vec<&str> = key
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            members.sort_unstable();
            assert_eq!(members, ["alg", "e", "kid", "kty", "n", "use"]);
            assert_eq!(key["alg"], "RS256");
            assert_eq!(key["use"], "sig");
        }
    }

    #[test]
    fn sign_rs256_verifies_with_published_components() {
        let key = SigningKey::generate(KeyStatus::Current, NOW).unwrap();
        let signature = key.sign_rs256(b"header.payload").unwrap();
        let n = URL_SAFE_NO_PAD.decode(&key.n).unwrap();
        let e = URL_SAFE_NO_PAD.decode(&key.e).unwrap();
        let public = aws_lc_rs::signature::RsaPublicKeyComponents { n: &n, e: &e };
        public
            .verify(
                &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
                b"header.payload",
                &signature,
            )
            .unwrap();
        assert!(
            public
                .verify(
                    &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
                    b"header.tampered",
                    &signature,
                )
                .is_err()
        );
    }

    #[test]
    fn kid_is_rfc7638_thumbprint() {
        // RFC 7638 §3.1 worked example.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let kid = thumbprint(n, "AQAB").unwrap();
        assert_eq!(kid.as_str(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn debug_private_key_is_redacted() {
        let key = SigningKey::generate(KeyStatus::Current, NOW).unwrap();
        assert!(format!("{key:?}").contains("PrivateKey([redacted])"));
    }
}
