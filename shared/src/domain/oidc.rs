//! The values the tool issues in an OIDC third-party login (Security Framework §5.1.1.2; LTI
//! Core 1.3 §4.1): the `state` that binds a launch to the browser that started the login, and
//! the `nonce` the platform must put in the id_token (Security Framework §5.1.2, checked and
//! consumed as §5.1.3 step 9 asks).
//!
//! The tool makes both from the CSPRNG ([`LoginState::generate`], [`Nonce::generate`]: 256
//! bits, base64url without padding). It reads them back from a posted form, a cookie, LTI
//! Platform Storage, the id_token and the store, and parsing accepts only what it could have
//! issued: 1 to [`LoginState::MAX_LEN`] base64url characters (RFC 4648 §5). A value that does
//! not parse was never issued, so callers treat it like an unknown one.
//!
//! These are values a browser holds, not secrets: `Debug` and `Display` show them. Equality is
//! still constant-time, so comparing a presented value with the issued one reveals nothing
//! through timing.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::domain::ids::IdError;
use crate::domain::secret::constant_time_eq;

/// Bytes of randomness in a fresh token (256 bits).
const RANDOM_BYTES: usize = 32;

/// The system's random generator failed; nothing fresh can be issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no randomness available")]
pub struct NoRandomness;

/// A fresh random token: 256 bits from the CSPRNG, base64url without padding (43 characters).
/// For opaque keys that are neither a state nor a nonce; those have their own types.
pub fn random_token() -> Result<String, NoRandomness> {
    use base64::Engine as _;
    let mut bytes = [0u8; RANDOM_BYTES];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| NoRandomness)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn check(kind: &'static str, value: &str, max: usize) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if value.len() > max {
        return Err(IdError::TooLong { kind, max });
    }
    if value.chars().any(char::is_control) {
        return Err(IdError::ControlCharacter { kind });
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(IdError::InvalidCharacter { kind });
    }
    Ok(())
}

macro_rules! login_value {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The longest value accepted. The tool issues 43 characters; the cap leaves room
            /// without letting a caller make the tool carry an arbitrarily long value around.
            pub const MAX_LEN: usize = 255;

            /// A fresh value from the CSPRNG.
            pub fn generate() -> Result<Self, NoRandomness> {
                random_token().map(Self)
            }

            /// Parses a value read back from the browser, the platform or the store.
            pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                check($kind, &value, Self::MAX_LEN)?;
                Ok(Self(value))
            }

            /// The value exactly as it travels.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        /// Constant-time: where two values first differ does not show in the time taken.
        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                constant_time_eq(self.0.as_bytes(), other.0.as_bytes())
            }
        }

        impl Eq for $name {}

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::parse(value)
            }
        }
    };
}

login_value!(
    /// The OIDC `state` of one login (Security Framework §5.1.1.2: the tool "binds it to a
    /// `state` parameter"). It keys the server-side record of what the login was for, names
    /// the browser's state cookie and its LTI Platform Storage entry, and comes back in the
    /// launch's form post.
    LoginState, "state"
);

login_value!(
    /// The OIDC `nonce` of one login (Security Framework §5.1.1.2). The platform copies it into
    /// the id_token (§5.1.2); the launch checks it is the one issued with the state and records
    /// it as used, so the token cannot be replayed (§5.1.3 step 9).
    Nonce, "nonce"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_values_are_43_base64url_characters_and_differ() {
        let a = Nonce::generate().unwrap();
        let b = Nonce::generate().unwrap();
        assert_eq!(a.as_str().len(), 43);
        assert_ne!(a, b);
        assert_eq!(Nonce::parse(a.as_str()).unwrap(), a);
        let state = LoginState::generate().unwrap();
        assert_eq!(LoginState::parse(state.to_string()).unwrap(), state);
    }

    #[test]
    fn parse_empty_is_refused() {
        assert_eq!(LoginState::parse(""), Err(IdError::Empty { kind: "state" }));
        assert_eq!(Nonce::parse(""), Err(IdError::Empty { kind: "nonce" }));
    }

    #[test]
    fn parse_too_long_is_refused() {
        assert_eq!(
            Nonce::parse("n".repeat(256)),
            Err(IdError::TooLong {
                kind: "nonce",
                max: 255
            })
        );
        assert!(Nonce::parse("n".repeat(255)).is_ok());
    }

    #[test]
    fn parse_outside_base64url_is_refused() {
        assert_eq!(
            LoginState::parse("a\nb"),
            Err(IdError::ControlCharacter { kind: "state" })
        );
        for bad in ["a;b", "a b", "a=b", "a.b", "a/b", "a+b", "é"] {
            assert_eq!(
                LoginState::parse(bad),
                Err(IdError::InvalidCharacter { kind: "state" }),
                "{bad}"
            );
        }
        assert!(LoginState::parse("state-abc_XYZ-019").is_ok());
    }

    #[test]
    fn serde_reads_and_writes_the_bare_string() {
        let nonce: Nonce = serde_json::from_str("\"n-0S6_WzA2Mj\"").unwrap();
        assert_eq!(nonce.as_str(), "n-0S6_WzA2Mj");
        assert_eq!(serde_json::to_string(&nonce).unwrap(), "\"n-0S6_WzA2Mj\"");
        assert!(serde_json::from_str::<Nonce>("\"\"").is_err());
        assert!(serde_json::from_str::<LoginState>("\"a b\"").is_err());
    }

    #[test]
    fn equality_compares_the_whole_value() {
        let issued = Nonce::parse("abcdef").unwrap();
        assert_eq!(issued, Nonce::parse("abcdef").unwrap());
        assert_ne!(issued, Nonce::parse("abcdeF").unwrap());
        assert_ne!(issued, Nonce::parse("abcde").unwrap());
    }

    #[test]
    fn debug_and_display_show_the_value() {
        let state = LoginState::parse("s1").unwrap();
        assert_eq!(format!("{state:?}"), "LoginState(\"s1\")");
        assert_eq!(state.to_string(), "s1");
    }
}
