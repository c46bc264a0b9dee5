//! Newtypes for the protocol identifiers the tool handles.
//!
//! Every identifier a platform or an operator gives us is wrapped in its own type so that an
//! issuer can never be passed where a client id is expected. Parsing refuses empty values,
//! control characters and over-long values: LTI Core 1.3 §5.1.1.2 (`deployment_id`), §5.3.5
//! (`resource_link.id`), §5.4.1 (`context.id`) and §5.3.6 (`sub`) all cap identifiers at 255
//! ASCII characters; issuers are URLs and get a larger cap.
//!
//! Two identifiers are URLs and parse as such: [`TargetLinkUri`] (LTI Core 1.3 §5.3.4) and
//! [`LineItemUrl`] (AGS 2.0 §3.2.3). The values the tool itself issues at login, the OIDC
//! `state` and `nonce`, live in [`crate::domain::oidc`].

use std::fmt;

use serde::{Deserialize, Serialize};
use url::Url;

/// Why a value could not be used as an identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The value was empty.
    #[error("{kind} must not be empty")]
    Empty {
        /// Which identifier was being parsed.
        kind: &'static str,
    },
    /// The value was longer than the protocol allows.
    #[error("{kind} is longer than {max} characters")]
    TooLong {
        /// Which identifier was being parsed.
        kind: &'static str,
        /// The largest length accepted.
        max: usize,
    },
    /// The value contained a control character.
    #[error("{kind} contains a control character")]
    ControlCharacter {
        /// Which identifier was being parsed.
        kind: &'static str,
    },
    /// The value contained a character its alphabet does not have (the OIDC values the tool
    /// issues are base64url, RFC 4648 §5).
    #[error("{kind} contains a character outside its alphabet")]
    InvalidCharacter {
        /// Which identifier was being parsed.
        kind: &'static str,
    },
    /// The value is not an absolute URL. Its `Display` is the URL parser's reason alone, as
    /// the login page's log line has always shown it.
    #[error("{source}")]
    NotAbsoluteUrl {
        /// Which identifier was being parsed.
        kind: &'static str,
        /// Why the URL parser refused it.
        #[source]
        source: url::ParseError,
    },
    /// The URL's scheme is neither `https` nor `http`.
    #[error("{kind} is not an http or https URL")]
    NotHttpUrl {
        /// Which identifier was being parsed.
        kind: &'static str,
    },
}

fn check(kind: &'static str, value: &str, max: usize) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if value.chars().count() > max {
        return Err(IdError::TooLong { kind, max });
    }
    if value.chars().any(char::is_control) {
        return Err(IdError::ControlCharacter { kind });
    }
    Ok(())
}

macro_rules! identifier {
    ($(#[$meta:meta])* $name:ident, $kind:literal, $max:expr) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The longest value accepted.
            pub const MAX_LEN: usize = $max;

            /// Parses a value received from a platform, an operator or the store.
            pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                check($kind, &value, Self::MAX_LEN)?;
                Ok(Self(value))
            }

            /// The identifier exactly as it appears on the wire.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

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

identifier!(
    /// A platform's issuer identifier (`iss`, LTI Core 1.3 §5.1.2; Security Framework §5.1.2).
    /// Compared exactly, case-sensitively.
    Issuer, "issuer", 1024
);
identifier!(
    /// The OAuth 2 client id the platform assigned to the tool (Security Framework §5.1.1.1).
    ClientId, "client_id", 255
);
identifier!(
    /// A deployment of the tool on a platform (LTI Core 1.3 §3.1.3, §5.3.3).
    DeploymentId, "deployment_id", 255
);
identifier!(
    /// An LTI 1.1 OAuth consumer key (LTI 1.1 §4, RFC 5849 §3.1 `oauth_consumer_key`).
    ConsumerKey, "consumer key", 255
);
identifier!(
    /// A user as the platform identifies them: `sub` in LTI 1.3 (LTI Core 1.3 §5.3.6) or
    /// `user_id` in LTI 1.1.
    UserId, "user id", 255
);
identifier!(
    /// A course or other context (LTI Core 1.3 §5.4.1 `context.id`, LTI 1.1 `context_id`).
    ContextId, "context id", 255
);
identifier!(
    /// A placement of the tool in a context (LTI Core 1.3 §5.3.5 `resource_link.id`, LTI 1.1
    /// `resource_link_id`).
    ResourceLinkId, "resource link id", 255
);
identifier!(
    /// The `kid` of one of the tool's signing keys (RFC 7517 §4.5).
    KeyId, "key id", 255
);
identifier!(
    /// One attempt of a user on a resource link. Generated by the tool as a UUIDv7, so ids
    /// sort in the order the attempts were started.
    AttemptId, "attempt id", 64
);

identifier!(
    /// One grade delivery (an outbox record). Generated by the tool as a UUIDv7.
    DeliveryId, "delivery id", 64
);

/// The URL a launch is for (LTI Core 1.3 §5.3.4 `target_link_uri`): sent by the platform in
/// the login initiation (LTI Core 1.3 §4.1, Security Framework §5.1.1.1), kept with the issued
/// state, and compared with the id_token's claim of the same name.
///
/// A parsed absolute URL. It reads and writes the URL's serialization (`Url::as_str`), which is
/// how the tool has always stored it; the launch compares that serialization with the signed
/// claim exactly, byte for byte ([`TargetLinkUri::is_exactly`]).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TargetLinkUri(Url);

impl TargetLinkUri {
    /// Parses a target: any absolute URL. Whether it belongs to the tool is checked by the
    /// login ([`crate::domain::tool::ToolUrls::owns`]), not here, so a foreign target is
    /// refused as foreign rather than as malformed.
    pub fn parse(value: impl AsRef<str>) -> Result<Self, IdError> {
        Url::parse(value.as_ref())
            .map(Self)
            .map_err(|source| IdError::NotAbsoluteUrl {
                kind: "target_link_uri",
                source,
            })
    }

    /// The URL's serialization.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The parsed URL.
    pub fn as_url(&self) -> &Url {
        &self.0
    }

    /// Whether `claim` (the id_token's `target_link_uri`, as signed) is this target exactly:
    /// LTI Core 1.3 §5.3.4 says it "MUST be the same value". No normalization is applied to
    /// the claim.
    pub fn is_exactly(&self, claim: &str) -> bool {
        self.as_str() == claim
    }
}

impl fmt::Debug for TargetLinkUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TargetLinkUri")
            .field(&self.as_str())
            .finish()
    }
}

impl fmt::Display for TargetLinkUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for TargetLinkUri {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<TargetLinkUri> for String {
    fn from(value: TargetLinkUri) -> String {
        value.0.into()
    }
}

impl std::str::FromStr for TargetLinkUri {
    type Err = IdError;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
}

/// The URL of one line item (AGS 2.0 §3.2.3: a line item's `id` is its endpoint URL, and the
/// base of its score endpoint, §3.4). It comes from the launch's AGS claim (`lineitem`, AGS 2.0
/// §3.1) or from the line items container (found or created, §3.2).
///
/// Kept exactly as the platform wrote it, so it is stored and sent back unchanged (Moodle's
/// carry a query string such as `?type_id=3`). Parsing accepts what the score endpoint can be
/// built from: an absolute `https` or `http` URL.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LineItemUrl(String);

impl LineItemUrl {
    /// Parses a line item URL received from a platform or read from the store.
    pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
        const KIND: &str = "line item URL";
        let value = value.into();
        if value.is_empty() {
            return Err(IdError::Empty { kind: KIND });
        }
        let url =
            Url::parse(&value).map_err(|source| IdError::NotAbsoluteUrl { kind: KIND, source })?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(IdError::NotHttpUrl { kind: KIND });
        }
        Ok(Self(value))
    }

    /// The URL exactly as the platform wrote it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LineItemUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for LineItemUrl {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<LineItemUrl> for String {
    fn from(value: LineItemUrl) -> String {
        value.0
    }
}

impl std::str::FromStr for LineItemUrl {
    type Err = IdError;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
}

/// A fresh UUIDv7 for `now`: random, yet sorting in creation order.
fn uuid_v7(now: time::OffsetDateTime) -> String {
    let millis = u64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let ts = uuid::Timestamp::from_unix(
        uuid::NoContext,
        millis / 1000,
        u32::try_from((millis % 1000) * 1_000_000).unwrap_or(0),
    );
    uuid::Uuid::new_v7(ts).to_string()
}

impl AttemptId {
    /// A fresh, time-ordered attempt id for an attempt started at `now`.
    pub fn generate(now: time::OffsetDateTime) -> Self {
        Self(uuid_v7(now))
    }
}

impl DeliveryId {
    /// A fresh, time-ordered delivery id for a score submitted at `now`.
    pub fn generate(now: time::OffsetDateTime) -> Self {
        Self(uuid_v7(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_empty_is_refused() {
        assert_eq!(
            ClientId::parse(""),
            Err(IdError::Empty { kind: "client_id" })
        );
    }

    #[test]
    fn parse_too_long_is_refused() {
        let long = "x".repeat(256);
        assert_eq!(
            UserId::parse(long),
            Err(IdError::TooLong {
                kind: "user id",
                max: 255
            })
        );
        assert!(UserId::parse("x".repeat(255)).is_ok());
    }

    #[test]
    fn parse_control_character_is_refused() {
        assert_eq!(
            ContextId::parse("a\nb"),
            Err(IdError::ControlCharacter { kind: "context id" })
        );
    }

    #[test]
    fn deserialize_invalid_identifier_fails() {
        let err = serde_json::from_str::<DeploymentId>("\"\"");
        assert!(err.is_err());
        let ok: DeploymentId = serde_json::from_str("\"dep-1\"").unwrap();
        assert_eq!(ok.as_str(), "dep-1");
    }

    #[test]
    fn target_link_uri_relative_is_refused() {
        assert_eq!(
            TargetLinkUri::parse("/launch"),
            Err(IdError::NotAbsoluteUrl {
                kind: "target_link_uri",
                source: url::ParseError::RelativeUrlWithoutBase
            })
        );
        // The reason shown is the URL parser's, as before the type existed.
        let error = TargetLinkUri::parse("").unwrap_err();
        assert_eq!(error.to_string(), "relative URL without a base");
    }

    #[test]
    fn target_link_uri_absolute_is_accepted_and_round_trips() {
        let target = TargetLinkUri::parse("https://tool.example/launch?item=q1").unwrap();
        assert_eq!(target.as_str(), "https://tool.example/launch?item=q1");
        assert_eq!(target.as_url().path(), "/launch");
        let json = serde_json::to_string(&target).unwrap();
        assert_eq!(json, "\"https://tool.example/launch?item=q1\"");
        assert_eq!(
            serde_json::from_str::<TargetLinkUri>(&json).unwrap(),
            target
        );
        assert!(serde_json::from_str::<TargetLinkUri>("\"launch\"").is_err());
        assert_eq!(
            format!("{target:?}"),
            "TargetLinkUri(\"https://tool.example/launch?item=q1\")"
        );
    }

    #[test]
    fn target_link_uri_comparison_is_exact() {
        let target = TargetLinkUri::parse("https://tool.example/launch").unwrap();
        assert!(target.is_exactly("https://tool.example/launch"));
        // Equal after normalization, but not the value the login was for.
        assert!(!target.is_exactly("https://TOOL.example/launch"));
        assert!(!target.is_exactly("https://tool.example:443/launch"));
    }

    #[test]
    fn line_item_url_not_a_web_url_is_refused() {
        assert_eq!(
            LineItemUrl::parse(""),
            Err(IdError::Empty {
                kind: "line item URL"
            })
        );
        assert_eq!(
            LineItemUrl::parse("not a url"),
            Err(IdError::NotAbsoluteUrl {
                kind: "line item URL",
                source: url::ParseError::RelativeUrlWithoutBase
            })
        );
        assert_eq!(
            LineItemUrl::parse("ftp://platform.example/lineitems/1"),
            Err(IdError::NotHttpUrl {
                kind: "line item URL"
            })
        );
        assert!(serde_json::from_str::<LineItemUrl>("\"/lineitems/1\"").is_err());
    }

    #[test]
    fn line_item_url_is_kept_exactly_as_sent() {
        // Not what `Url` would serialize (upper-case host, default port, no path): kept as is.
        let sent = "https://LMS.example:443?type_id=3";
        let url = LineItemUrl::parse(sent).unwrap();
        assert_eq!(url.as_str(), sent);
        let json = serde_json::to_string(&url).unwrap();
        assert_eq!(json, format!("\"{sent}\""));
        assert_eq!(serde_json::from_str::<LineItemUrl>(&json).unwrap(), url);
        assert!(LineItemUrl::parse("http://127.0.0.1:8080/c1/lineitems/7/lineitem").is_ok());
    }

    #[test]
    fn attempt_ids_sort_by_start_time() {
        let early = time::macros::datetime!(2026-01-01 00:00:00 UTC);
        let late = time::macros::datetime!(2026-01-01 00:00:01 UTC);
        assert!(AttemptId::generate(early) < AttemptId::generate(late));
    }
}
