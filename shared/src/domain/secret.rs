//! Secret values: they never print, and they compare in constant time.

use std::fmt;

/// An LTI 1.1 consumer's shared secret (LTI 1.1 §4; RFC 5849 §3.4.2 uses it as HMAC key).
///
/// `Debug` prints `ConsumerSecret([redacted])`; there is deliberately no `Display` and no
/// `Serialize`, so it cannot reach a log line or a response by accident.
#[derive(Clone)]
pub struct ConsumerSecret(String);

impl ConsumerSecret {
    /// The shortest secret `ltictl` accepts for a new consumer.
    pub const MIN_LEN: usize = 16;

    /// Wraps a secret read from the key store or from an operator.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret's bytes, for computing a signature. Keep the borrow short.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ConsumerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConsumerSecret([redacted])")
    }
}

impl PartialEq for ConsumerSecret {
    fn eq(&self, other: &Self) -> bool {
        constant_time_eq(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl Eq for ConsumerSecret {}

/// The value CloudFront adds to every request it forwards to a function URL (header
/// [`crate::web::http::ORIGIN_VERIFY_HEADER`]), proving the request came through the one public
/// origin. Prints as `OriginSecret([redacted])` and compares in constant time.
#[derive(Clone)]
pub struct OriginSecret(String);

impl OriginSecret {
    /// The shortest value accepted: anything shorter is a configuration mistake, not a secret.
    pub const MIN_LEN: usize = 16;

    /// Wraps a configured value; `None` when it is shorter than [`Self::MIN_LEN`].
    pub fn new(value: impl Into<String>) -> Option<Self> {
        let value = value.into();
        (value.len() >= Self::MIN_LEN).then_some(Self(value))
    }

    /// Whether `presented` (a header value) is this secret, compared in constant time.
    pub fn matches(&self, presented: &[u8]) -> bool {
        constant_time_eq(self.0.as_bytes(), presented)
    }
}

impl fmt::Debug for OriginSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OriginSecret([redacted])")
    }
}

/// Compares two byte strings without revealing, through timing, where they first differ.
/// Lengths are not secret (a signature or a secret's length is public knowledge).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_secret_is_redacted() {
        let secret = ConsumerSecret::new("hunter2-hunter2-hunter2");
        assert_eq!(format!("{secret:?}"), "ConsumerSecret([redacted])");
    }

    #[test]
    fn origin_secret_short_value_is_refused() {
        assert!(OriginSecret::new("short").is_none());
        let secret = OriginSecret::new("0123456789abcdef").unwrap();
        assert!(secret.matches(b"0123456789abcdef"));
        assert!(!secret.matches(b"0123456789abcdeF"));
        assert_eq!(format!("{secret:?}"), "OriginSecret([redacted])");
    }

    #[test]
    fn constant_time_eq_detects_difference() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
