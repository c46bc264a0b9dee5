//! A platform's public signing key, as the launch verifier uses it, and why a key could not be
//! found (Security Framework §6.3 "Key Set URL"). Where the keys come from is the
//! [`PlatformKeySource`](crate::ports::PlatformKeySource) port's business.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Why no key could be found for a token.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyLookupError {
    /// The platform's key set has no usable key with this `kid`, even after a refetch.
    #[error("the platform's key set has no key {0:?}")]
    UnknownKid(String),
    /// The key with this `kid` is not an RSA signing key (RS256 needs one).
    #[error("the platform's key {0:?} is not an RSA signature key")]
    KeyTypeMismatch(String),
    /// The key set could not be fetched and no usable copy is cached.
    #[error("the platform's key set at {url} could not be fetched: {reason}")]
    KeySetUnavailable {
        /// The JWKS URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
}

/// One RSA public key of a platform, parsed once for fast verification.
pub struct PlatformKey {
    kid: String,
    key: aws_lc_rs::signature::ParsedPublicKey,
}

impl std::fmt::Debug for PlatformKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformKey")
            .field("kid", &self.kid)
            .finish()
    }
}

impl PlatformKey {
    /// Parses an RSA key from its JWK `n` and `e` (base64url, RFC 7518 §6.3.1).
    pub fn from_components(kid: &str, n: &str, e: &str) -> Option<Self> {
        let n = URL_SAFE_NO_PAD.decode(n.trim_end_matches('=')).ok()?;
        let e = URL_SAFE_NO_PAD.decode(e.trim_end_matches('=')).ok()?;
        let components = aws_lc_rs::signature::RsaPublicKeyComponents { n: &n, e: &e };
        let key = components
            .to_parsed_public_key(&aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256)
            .ok()?;
        Some(Self {
            kid: kid.to_owned(),
            key,
        })
    }

    /// Checks an RS256 signature (RFC 7518 §3.3) over `message`.
    pub fn verify_rs256(&self, message: &[u8], signature: &[u8]) -> bool {
        self.key.verify_sig(message, signature).is_ok()
    }

    /// The key's `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }
}
