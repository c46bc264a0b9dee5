//! The claims of an LTI 1.3 `id_token`, as typed Rust values.
//!
//! `IdTokenClaims` is the whole JWT payload a platform sends with a launch: the OpenID
//! Connect claims of the 1EdTech Security Framework 1.0 (§5.1.2) and the LTI message claims of
//! LTI Core 1.3 §5, Deep Linking 2.0 §4.4, AGS 2.0 §3.1, NRPS 2.0 and the LTI 1.1 migration
//! guide. Every LTI claim is a field renamed to its claim URI ([`uri`] lists them).
//!
//! # Only after verification
//!
//! These types only implement `Deserialize`: there is deliberately no function here that reads
//! a JWT. The launch verifier checks the signature first and deserializes the payload into
//! `IdTokenClaims` afterwards (STYLE 5), so a value of this type has always been signed by a
//! registered platform. `IdTokenClaims` is crate-private: outside this crate the claims are
//! reached only through a [`VerifiedLaunch`](crate::lti13::launch::VerifiedLaunch), which only
//! [`Verifier::verify`](crate::lti13::launch::Verifier::verify) makes. The verifier, not serde,
//! decides which claims a message type requires (`resource_link` and `roles` are `Option` here
//! for that reason) and names a missing one.
//!
//! # Typed identifiers
//!
//! `iss`, `azp` and `deployment_id` are [`Issuer`], [`ClientId`] and [`DeploymentId`]: the
//! verifier has parsed exactly these values before the payload is deserialized (they route the
//! verification), so typing them refuses nothing new. `sub`, `resource_link.id`, `context.id`
//! and `nonce` stay strings as received, because the verifier refuses an unusable one with its
//! own error ([`InvalidClaim`](crate::lti13::launch::LaunchError::InvalidClaim),
//! [`NonceMismatch`](crate::lti13::launch::LaunchError::NonceMismatch)) rather than as a
//! payload that does not deserialize; `target_link_uri` stays a string because it is compared
//! with the login's target exactly, as sent.
//!
//! # What is accepted
//!
//! Claims this module does not know are ignored (LTI Core 1.3 §4.3), including vendor
//! extension claims (§5.4.7) and unknown members inside known claims. An optional claim sent
//! as JSON `null` counts as absent. Beyond that, platforms in use deviate from the
//! specifications in a few well-known ways, and each claim documents what it tolerates:
//!
//! - `aud` is a single string (Canvas, Blackboard, Moodle) or an array (D2L, the IMS reference
//!   implementation): [`Audience`] accepts both, as Security Framework §5.1.2 allows.
//! - Time claims (`exp`, `iat`, `nbf`) must be JSON numbers; fractional seconds
//!   (`1700000000.123`, `1.7e9`) are truncated; strings are refused.
//! - `custom` values are not always strings (Canvas substitutes numbers and booleans):
//!   [`VerifiedLaunch::custom`](crate::lti13::launch::VerifiedLaunch::custom)
//!   renders them.
//! - Moodle sends deep-linking booleans as `"true"`/`"false"`, `accept_media_types` as an
//!   array, launch dimensions as strings and `role_scope_mentor` as a comma-separated string.
//! - PHP platforms encode an empty `custom` object as `[]`.
//!
//! Claims that change what the tool does or who it trusts (`context`, `resource_link`,
//! `roles`, `custom`, the service claims and `deep_linking_settings`) are strict: a malformed
//! one makes deserialization fail, so the launch is refused rather than silently run with a
//! piece missing. Informational claims (`tool_platform`, `launch_presentation`, `lis`,
//! `lti1p1`) are lenient: a malformed one is treated as absent.
//!
//! # Personal data
//!
//! `Debug` prints no personal data: names, e-mail, picture, `sub`, the SIS person id, mentored
//! user ids, the LTI 1.1 user id and `custom` values are shown as `[redacted]`, so a claims
//! value can appear in a log line.

use std::fmt;
use std::slice;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, SeqAccess, Unexpected, Visitor};
use serde_json::{Map, Value};

use crate::domain::ids::{ClientId, DeploymentId, Issuer};

/// The claim names (JSON member names) of the LTI claims read by `IdTokenClaims`, for error
/// messages that name a missing claim.
pub mod uri {
    /// Message type, LTI Core 1.3 §5.3.1.
    pub const MESSAGE_TYPE: &str = "https://purl.imsglobal.org/spec/lti/claim/message_type";
    /// LTI version, LTI Core 1.3 §5.3.2.
    pub const VERSION: &str = "https://purl.imsglobal.org/spec/lti/claim/version";
    /// Deployment id, LTI Core 1.3 §5.3.3.
    pub const DEPLOYMENT_ID: &str = "https://purl.imsglobal.org/spec/lti/claim/deployment_id";
    /// Target link URI, LTI Core 1.3 §5.3.4.
    pub const TARGET_LINK_URI: &str = "https://purl.imsglobal.org/spec/lti/claim/target_link_uri";
    /// Resource link, LTI Core 1.3 §5.3.5.
    pub const RESOURCE_LINK: &str = "https://purl.imsglobal.org/spec/lti/claim/resource_link";
    /// Roles, LTI Core 1.3 §5.3.7.
    pub const ROLES: &str = "https://purl.imsglobal.org/spec/lti/claim/roles";
    /// Role-scope mentor, LTI Core 1.3 §5.4.3.
    pub const ROLE_SCOPE_MENTOR: &str =
        "https://purl.imsglobal.org/spec/lti/claim/role_scope_mentor";
    /// Context, LTI Core 1.3 §5.4.1.
    pub const CONTEXT: &str = "https://purl.imsglobal.org/spec/lti/claim/context";
    /// Platform instance, LTI Core 1.3 §5.4.2.
    pub const TOOL_PLATFORM: &str = "https://purl.imsglobal.org/spec/lti/claim/tool_platform";
    /// Launch presentation, LTI Core 1.3 §5.4.4.
    pub const LAUNCH_PRESENTATION: &str =
        "https://purl.imsglobal.org/spec/lti/claim/launch_presentation";
    /// Learning Information Services, LTI Core 1.3 §5.4.5.
    pub const LIS: &str = "https://purl.imsglobal.org/spec/lti/claim/lis";
    /// Custom properties, LTI Core 1.3 §5.4.6.
    pub const CUSTOM: &str = "https://purl.imsglobal.org/spec/lti/claim/custom";
    /// Assignment and Grade Services endpoint, AGS 2.0 §3.1.
    pub const AGS_ENDPOINT: &str = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint";
    /// Names and Role Provisioning Services, NRPS 2.0 ("LTI 1.3 integration").
    pub const NRPS: &str = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice";
    /// Deep-linking settings, Deep Linking 2.0 §4.4.1.
    pub const DEEP_LINKING_SETTINGS: &str =
        "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings";
    /// LTI 1.1 migration data, LTI 1.3 Migration Guide (`lti1p1` claim).
    pub const LTI1P1: &str = "https://purl.imsglobal.org/spec/lti/claim/lti1p1";
}

/// The payload of a verified LTI 1.3 `id_token`.
///
/// Standard claims follow Security Framework 1.0 §5.1.2 and OpenID Connect Core §5.1; LTI
/// claims follow LTI Core 1.3 §5 and the service specifications named on each field. See the
/// module documentation for what is tolerated and why. `Debug` redacts personal data.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct IdTokenClaims {
    /// Issuer: the platform's issuer identifier, an HTTPS URL (Security Framework §5.1.2). The
    /// verifier compares it exactly with the registered issuer (§5.1.3 step 2) before the
    /// payload is deserialized.
    pub(crate) iss: Issuer,
    /// Subject: the platform's stable id for the user (Security Framework §5.1.2, LTI Core 1.3
    /// §5.3.6). Absent in an anonymous launch (§5.3.6.1).
    #[serde(default)]
    pub(crate) sub: Option<String>,
    /// Audience: must contain the tool's client id (Security Framework §5.1.3 step 3).
    pub(crate) aud: Audience,
    /// Authorized party; when present it must be the tool's client id (§5.1.3 steps 4 and 5),
    /// which the verifier checks before the payload is deserialized.
    #[serde(default)]
    pub(crate) azp: Option<ClientId>,
    /// Expiry, in seconds since the Unix epoch (Security Framework §5.1.2). Fractional
    /// seconds are truncated; a string is refused.
    #[serde(deserialize_with = "numeric_date")]
    pub(crate) exp: i64,
    /// Issue time, in seconds since the Unix epoch (Security Framework §5.1.2). Fractional
    /// seconds are truncated; a string is refused.
    #[serde(deserialize_with = "numeric_date")]
    pub(crate) iat: i64,
    /// Not-before time, in seconds since the Unix epoch (RFC 7519 §4.1.5). Optional; D2L sends
    /// it. Fractional seconds are truncated; a string is refused.
    #[serde(default, deserialize_with = "optional_numeric_date")]
    pub(crate) nbf: Option<i64>,
    /// The nonce the tool put in its authentication request (Security Framework §5.1.2), as
    /// received: the verifier parses it into a [`Nonce`](crate::domain::oidc::Nonce) and refuses
    /// one that is not the nonce issued with the state.
    pub(crate) nonce: String,
    /// Full display name (OIDC Core §5.1, LTI Core 1.3 §5.3.6). Personal data; redacted in
    /// `Debug`.
    #[serde(default)]
    pub(crate) name: Option<String>,
    /// Given name(s) (OIDC Core §5.1). Personal data; redacted in `Debug`.
    #[serde(default)]
    pub(crate) given_name: Option<String>,
    /// Family name(s) (OIDC Core §5.1). Personal data; redacted in `Debug`.
    #[serde(default)]
    pub(crate) family_name: Option<String>,
    /// Middle name(s) (OIDC Core §5.1). Personal data; redacted in `Debug`.
    #[serde(default)]
    pub(crate) middle_name: Option<String>,
    /// Preferred e-mail address (OIDC Core §5.1). Personal data; redacted in `Debug`.
    #[serde(default)]
    pub(crate) email: Option<String>,
    /// Profile picture URL (OIDC Core §5.1). Personal data; redacted in `Debug`.
    #[serde(default)]
    pub(crate) picture: Option<String>,
    /// Preferred locale as a BCP 47 tag (OIDC Core §5.1, LTI Core 1.3 §5.3.6).
    #[serde(default)]
    pub(crate) locale: Option<String>,

    /// The message type exactly as received (LTI Core 1.3 §5.3.1), kept as a string so that a
    /// refusal can name an unsupported type. [`IdTokenClaims::message_kind`] parses it.
    #[serde(rename = "https://purl.imsglobal.org/spec/lti/claim/message_type")]
    pub(crate) message_type: String,
    /// The LTI version; `1.3.0` for this specification (LTI Core 1.3 §5.3.2).
    #[serde(rename = "https://purl.imsglobal.org/spec/lti/claim/version")]
    pub(crate) version: String,
    /// The deployment the message belongs to (LTI Core 1.3 §5.3.3). Required: a payload
    /// without it does not deserialize. The verifier has checked it is registered before the
    /// payload is deserialized.
    #[serde(rename = "https://purl.imsglobal.org/spec/lti/claim/deployment_id")]
    pub(crate) deployment_id: DeploymentId,
    /// The URL the launch is for (LTI Core 1.3 §5.3.4), as received. Required by the
    /// specification for resource-link launches; the verifier enforces that and compares it
    /// exactly with the login's [`TargetLinkUri`](crate::domain::ids::TargetLinkUri).
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti/claim/target_link_uri",
        default
    )]
    pub(crate) target_link_uri: Option<String>,
    /// The launching resource link (LTI Core 1.3 §5.3.5). Required for resource-link launches,
    /// absent from deep-linking requests (Deep Linking 2.0 §4.4); the verifier decides.
    /// Strict: a malformed claim fails deserialization.
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti/claim/resource_link",
        default,
        deserialize_with = "strict_claim"
    )]
    pub(crate) resource_link: Option<ResourceLinkClaim>,
    /// The user's role URIs in the context (LTI Core 1.3 §5.3.7). The claim is required but
    /// may be an empty array (§5.3.7.1), which stays `Some(vec![])`. Strict: it must be an
    /// array of strings, since roles decide what the user may do.
    #[serde(rename = "https://purl.imsglobal.org/spec/lti/claim/roles", default)]
    pub(crate) roles: Option<Vec<String>>,
    /// Ids of the users the launching user mentors (LTI Core 1.3 §5.4.3). An array, or a
    /// comma-separated string as Moodle sends it. Redacted in `Debug`.
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti/claim/role_scope_mentor",
        default,
        deserialize_with = "optional_list"
    )]
    pub(crate) role_scope_mentor: Option<Vec<String>>,
    /// The context (usually a course) of the launch (LTI Core 1.3 §5.4.1). Strict.
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti/claim/context",
        default,
        deserialize_with = "strict_claim"
    )]
    pub(crate) context: Option<ContextClaim>,
    /// The platform instance (LTI Core 1.3 §5.4.2). Lenient: a malformed claim is absent.
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti/claim/tool_platform",
        default,
        deserialize_with = "lenient_claim"
    )]
    pub(crate) tool_platform: Option<ToolPlatformClaim>,
    /// How the platform shows the tool (LTI Core 1.3 §5.4.4). Lenient: a malformed claim is
    /// absent.
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation",
        default,
        deserialize_with = "lenient_claim"
    )]
    pub(crate) launch_presentation: Option<LaunchPresentationClaim>,
    /// Student-information-system ids (LTI Core 1.3 §5.4.5). Lenient: a malformed claim is
    /// absent.
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti/claim/lis",
        default,
        deserialize_with = "lenient_claim"
    )]
    pub(crate) lis: Option<LisClaim>,
    /// Custom properties (LTI Core 1.3 §5.4.6). The specification wants string values, but
    /// platforms also send numbers and booleans, so values are kept as JSON; read them with
    /// [`IdTokenClaims::custom_str`]. An empty array (PHP's empty object) is an empty map.
    /// Strict otherwise: any other non-object fails deserialization. Values are redacted in
    /// `Debug`, because substitution can put personal data in them.
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti/claim/custom",
        default,
        deserialize_with = "custom_map"
    )]
    pub(crate) custom: Option<Map<String, Value>>,
    /// Assignment and Grade Services endpoints (AGS 2.0 §3.1). Strict: a malformed claim
    /// fails deserialization rather than silently switching grading off.
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint",
        default,
        deserialize_with = "strict_claim"
    )]
    pub(crate) ags_endpoint: Option<AgsEndpointClaim>,
    /// Names and Role Provisioning Services endpoint (NRPS 2.0, "LTI 1.3 integration").
    /// Strict.
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice",
        default,
        deserialize_with = "strict_claim"
    )]
    pub(crate) nrps: Option<NrpsClaim>,
    /// Deep-linking settings (Deep Linking 2.0 §4.4.1); required in a deep-linking request,
    /// which the verifier enforces. Strict.
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings",
        default,
        deserialize_with = "strict_claim"
    )]
    pub(crate) deep_linking_settings: Option<DeepLinkingSettingsClaim>,
    /// LTI 1.1 identifiers for migrating users and links (LTI 1.3 Migration Guide). Lenient:
    /// a malformed claim is absent, which only means no migration data.
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti/claim/lti1p1",
        default,
        deserialize_with = "lenient_claim"
    )]
    pub(crate) lti1p1: Option<Lti1p1Claim>,
}

impl IdTokenClaims {
    /// The message type, if it is one this tool handles (LTI Core 1.3 §5.3.1).
    pub(crate) fn message_kind(&self) -> Option<MessageType> {
        MessageType::from_claim(&self.message_type)
    }

    /// Whether the launch is anonymous: no `sub` claim (LTI Core 1.3 §5.3.6.1).
    pub(crate) fn is_anonymous(&self) -> bool {
        self.sub.is_none()
    }

    /// A custom property rendered as a string (LTI Core 1.3 §5.4.6).
    ///
    /// Strings are returned as they are; numbers and booleans, which some platforms send
    /// instead of strings, are rendered in their JSON form (`42`, `1.5`, `true`). `null`,
    /// arrays and objects give `None`, as does a missing key or a missing claim.
    pub(crate) fn custom_str(&self, key: &str) -> Option<String> {
        match self.custom.as_ref()?.get(key)? {
            Value::String(value) => Some(value.clone()),
            Value::Number(value) => Some(value.to_string()),
            Value::Bool(value) => Some(value.to_string()),
            Value::Null | Value::Array(_) | Value::Object(_) => None,
        }
    }
}

impl fmt::Debug for IdTokenClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdTokenClaims")
            .field("iss", &self.iss)
            .field("sub", &Redacted(&self.sub))
            .field("aud", &self.aud)
            .field("azp", &self.azp)
            .field("exp", &self.exp)
            .field("iat", &self.iat)
            .field("nbf", &self.nbf)
            .field("nonce", &self.nonce)
            .field("name", &Redacted(&self.name))
            .field("given_name", &Redacted(&self.given_name))
            .field("family_name", &Redacted(&self.family_name))
            .field("middle_name", &Redacted(&self.middle_name))
            .field("email", &Redacted(&self.email))
            .field("picture", &Redacted(&self.picture))
            .field("locale", &self.locale)
            .field("message_type", &self.message_type)
            .field("version", &self.version)
            .field("deployment_id", &self.deployment_id)
            .field("target_link_uri", &self.target_link_uri)
            .field("resource_link", &self.resource_link)
            .field("roles", &self.roles)
            .field("role_scope_mentor", &RedactedList(&self.role_scope_mentor))
            .field("context", &self.context)
            .field("tool_platform", &self.tool_platform)
            .field("launch_presentation", &self.launch_presentation)
            .field("lis", &self.lis)
            .field("custom", &RedactedValues(&self.custom))
            .field("ags_endpoint", &self.ags_endpoint)
            .field("nrps", &self.nrps)
            .field("deep_linking_settings", &self.deep_linking_settings)
            .field("lti1p1", &self.lti1p1)
            .finish()
    }
}

/// The LTI message types this tool handles (LTI Core 1.3 §5.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// `LtiResourceLinkRequest`: a user opened a resource link (LTI Core 1.3 §5).
    ResourceLink,
    /// `LtiDeepLinkingRequest`: a user is choosing content to add (Deep Linking 2.0 §4.4).
    DeepLinking,
}

impl MessageType {
    /// Parses the `message_type` claim value; `None` for any other type. Case-sensitive.
    pub fn from_claim(value: &str) -> Option<Self> {
        match value {
            "LtiResourceLinkRequest" => Some(Self::ResourceLink),
            "LtiDeepLinkingRequest" => Some(Self::DeepLinking),
            _ => None,
        }
    }

    /// The claim value for this message type.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ResourceLink => "LtiResourceLinkRequest",
            Self::DeepLinking => "LtiDeepLinkingRequest",
        }
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `aud` claim: one audience as a bare string, or an array of audiences (Security
/// Framework 1.0 §5.1.2). Canvas, Blackboard and Moodle send a string, D2L an array.
///
/// An empty array deserializes (to a value that contains nothing); the verifier refuses it
/// because it does not contain the tool's client id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// `"aud": "client-id"`.
    Single(String),
    /// `"aud": ["client-id", …]`.
    Multiple(Vec<String>),
}

impl Audience {
    /// Whether `audience` (typically the tool's client id) is one of the audiences; exact,
    /// case-sensitive comparison (Security Framework §5.1.3 step 3).
    pub fn contains(&self, audience: &str) -> bool {
        self.iter().any(|candidate| candidate == audience)
    }

    /// The audiences as a slice; a single audience is a one-element slice.
    pub fn as_slice(&self) -> &[String] {
        match self {
            Self::Single(audience) => slice::from_ref(audience),
            Self::Multiple(audiences) => audiences,
        }
    }

    /// Iterates over the audiences.
    pub fn iter(&self) -> slice::Iter<'_, String> {
        self.as_slice().iter()
    }

    /// How many audiences there are. More than one obliges the verifier to look at `azp`
    /// (Security Framework §5.1.3 step 4).
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether there is no audience at all (an empty array).
    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }
}

impl<'a> IntoIterator for &'a Audience {
    type Item = &'a String;
    type IntoIter = slice::Iter<'a, String>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AudienceVisitor;

        impl<'de> Visitor<'de> for AudienceVisitor {
            type Value = Audience;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Audience, E> {
                Ok(Audience::Single(value.to_owned()))
            }

            fn visit_string<E: de::Error>(self, value: String) -> Result<Audience, E> {
                Ok(Audience::Single(value))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Audience, A::Error> {
                let mut audiences = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(16));
                while let Some(audience) = seq.next_element::<String>()? {
                    audiences.push(audience);
                }
                Ok(Audience::Multiple(audiences))
            }
        }

        deserializer.deserialize_any(AudienceVisitor)
    }
}

/// The resource link a launch comes from (LTI Core 1.3 §5.3.5).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ResourceLinkClaim {
    /// The platform's id for this placement of the link; stable, unique within the
    /// deployment, case-sensitive, at most 255 ASCII characters.
    pub id: String,
    /// Title of the link.
    #[serde(default)]
    pub title: Option<String>,
    /// Description of the link (Canvas sends `null` when there is none).
    #[serde(default)]
    pub description: Option<String>,
}

/// The context (course, section, group…) a launch comes from (LTI Core 1.3 §5.4.1).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ContextClaim {
    /// The platform's id for the context, unique within the deployment.
    pub id: String,
    /// Short name, often the course code.
    #[serde(default)]
    pub label: Option<String>,
    /// Full name, often the course title.
    #[serde(default)]
    pub title: Option<String>,
    /// Context type URIs (JSON member `type`; LTI Core 1.3 Appendix A.1). Empty when absent
    /// or `null`; a single string, which some platforms send, becomes a one-element list.
    /// Moodle sends short names such as `CourseSection` rather than URIs.
    #[serde(rename = "type", default, deserialize_with = "list_or_empty")]
    pub types: Vec<String>,
}

/// The platform instance that sent the message (LTI Core 1.3 §5.4.2).
///
/// `guid` is required by the specification but optional here: the Deep Linking 2.0 example
/// omits it. Older Moodle versions send `family_code` instead of `product_family_code`; that
/// member is ignored. `contact_email` is redacted in `Debug`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct ToolPlatformClaim {
    /// Stable id of the platform instance, unique within the issuer.
    #[serde(default)]
    pub guid: Option<String>,
    /// Administrative contact e-mail of the instance.
    #[serde(default)]
    pub contact_email: Option<String>,
    /// Description of the instance.
    #[serde(default)]
    pub description: Option<String>,
    /// Name of the instance.
    #[serde(default)]
    pub name: Option<String>,
    /// Home URL of the instance.
    #[serde(default)]
    pub url: Option<String>,
    /// Vendor product family code, such as `canvas`, `moodle` or `BlackboardLearn`.
    #[serde(default)]
    pub product_family_code: Option<String>,
    /// Vendor product version.
    #[serde(default)]
    pub version: Option<String>,
}

impl fmt::Debug for ToolPlatformClaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolPlatformClaim")
            .field("guid", &self.guid)
            .field("contact_email", &Redacted(&self.contact_email))
            .field("description", &self.description)
            .field("name", &self.name)
            .field("url", &self.url)
            .field("product_family_code", &self.product_family_code)
            .field("version", &self.version)
            .finish()
    }
}

/// How the platform presents the tool (LTI Core 1.3 §5.4.4).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LaunchPresentationClaim {
    /// `frame`, `iframe` or `window`, as received.
    #[serde(default)]
    pub document_target: Option<String>,
    /// Where to send the user when done; the platform must accept the `lti_msg`,
    /// `lti_errormsg`, `lti_log` and `lti_errorlog` query parameters on it.
    #[serde(default)]
    pub return_url: Option<String>,
    /// Locale as a BCP 47 tag.
    #[serde(default)]
    pub locale: Option<String>,
    /// Height of the frame or window, in pixels. A number or a numeric string (Moodle);
    /// fractions are truncated; anything else (`"100%"`, negative) is ignored.
    #[serde(default, deserialize_with = "dimension")]
    pub height: Option<u32>,
    /// Width of the frame or window, in pixels; read like `height`.
    #[serde(default, deserialize_with = "dimension")]
    pub width: Option<u32>,
}

/// Learning Information Services ids from the student information system (LTI Core 1.3
/// §5.4.5, Appendix D).
///
/// A platform may pass an unexpanded variable such as `$CourseSection.sourcedId` when it has
/// no value (Canvas does); the values are kept as received. `person_sourcedid` is redacted in
/// `Debug`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct LisClaim {
    /// The user's id in the student information system.
    #[serde(default)]
    pub person_sourcedid: Option<String>,
    /// The course offering's id in the student information system.
    #[serde(default)]
    pub course_offering_sourcedid: Option<String>,
    /// The course section's id in the student information system.
    #[serde(default)]
    pub course_section_sourcedid: Option<String>,
}

impl fmt::Debug for LisClaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LisClaim")
            .field("person_sourcedid", &Redacted(&self.person_sourcedid))
            .field("course_offering_sourcedid", &self.course_offering_sourcedid)
            .field("course_section_sourcedid", &self.course_section_sourcedid)
            .finish()
    }
}

/// The Assignment and Grade Services endpoints available to this launch (AGS 2.0 §3.1).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AgsEndpointClaim {
    /// The scopes the tool may request an access token for. Empty when absent or `null`; a
    /// string is read as a comma-separated list.
    #[serde(default, deserialize_with = "list_or_empty")]
    pub scope: Vec<String>,
    /// The line item container of the context; absent if the tool may not use it. A blank
    /// string counts as absent.
    #[serde(default, deserialize_with = "blank_as_none")]
    pub lineitems: Option<String>,
    /// The single line item bound to the launched link. AGS 2.0 §3.1 lets the platform send
    /// it blank when there is none, so a blank string counts as absent.
    #[serde(default, deserialize_with = "blank_as_none")]
    pub lineitem: Option<String>,
}

/// The Names and Role Provisioning Services endpoint (NRPS 2.0, "LTI 1.3 integration").
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NrpsClaim {
    /// The membership service URL of the launch context. Required.
    pub context_memberships_url: String,
    /// The service versions the endpoint supports, such as `2.0`. Empty when absent or
    /// `null`; a string is read as a comma-separated list.
    #[serde(default, deserialize_with = "list_or_empty")]
    pub service_versions: Vec<String>,
}

/// What a deep-linking request accepts back (Deep Linking 2.0 §4.4.1).
///
/// Booleans may be JSON booleans or the strings `"true"`/`"false"` (any ASCII case), which
/// Moodle sends; any other value fails deserialization, because guessing would produce a
/// response the platform rejects.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DeepLinkingSettingsClaim {
    /// Where the tool posts its deep-linking response. Required.
    pub deep_link_return_url: String,
    /// Content item types the platform accepts, such as `ltiResourceLink`. Required; a
    /// string is read as a comma-separated list.
    #[serde(deserialize_with = "required_list")]
    pub accept_types: Vec<String>,
    /// Document targets the platform supports, such as `iframe` or `window`. Required; a
    /// string is read as a comma-separated list.
    #[serde(deserialize_with = "required_list")]
    pub accept_presentation_document_targets: Vec<String>,
    /// Accepted media types for file items, as a comma-separated string such as
    /// `image/*,text/html`. Moodle sends an array, which is joined with commas.
    #[serde(default, deserialize_with = "media_types")]
    pub accept_media_types: Option<String>,
    /// Whether more than one content item may be returned.
    #[serde(default, deserialize_with = "flexible_bool")]
    pub accept_multiple: Option<bool>,
    /// Whether the platform creates line items declared on returned resource links; absent
    /// means unknown.
    #[serde(default, deserialize_with = "flexible_bool")]
    pub accept_lineitem: Option<bool>,
    /// Whether returned items are saved without the user confirming; absent means `false`.
    #[serde(default, deserialize_with = "flexible_bool")]
    pub auto_create: Option<bool>,
    /// Default title for the returned item.
    #[serde(default)]
    pub title: Option<String>,
    /// Default text for the returned item.
    #[serde(default)]
    pub text: Option<String>,
    /// Opaque value the tool must echo back in its response if present.
    #[serde(default)]
    pub data: Option<String>,
}

/// LTI 1.1 identifiers sent during a migration to LTI 1.3 (LTI 1.3 Migration Guide, `lti1p1`
/// claim).
///
/// `oauth_consumer_key_sign` lets the tool check that the platform knows the LTI 1.1 secret
/// (the formula is in `lti11-reference.md`, V-11). Some PHP platforms JSON-decode these
/// values, so an integer is accepted and rendered in decimal. `user_id` is redacted in `Debug`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct Lti1p1Claim {
    /// The user's LTI 1.1 `user_id`, when it differs from `sub`.
    #[serde(default, deserialize_with = "string_or_integer")]
    pub user_id: Option<String>,
    /// The LTI 1.1 consumer key of the migrated integration.
    #[serde(default, deserialize_with = "string_or_integer")]
    pub oauth_consumer_key: Option<String>,
    /// Base64 HMAC-SHA256 over key, deployment, issuer, client id, `exp` and nonce, keyed
    /// with the LTI 1.1 secret.
    #[serde(default, deserialize_with = "string_or_integer")]
    pub oauth_consumer_key_sign: Option<String>,
    /// The link's LTI 1.1 `resource_link_id`, when it differs from the LTI 1.3 one.
    #[serde(default, deserialize_with = "string_or_integer")]
    pub resource_link_id: Option<String>,
}

impl fmt::Debug for Lti1p1Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lti1p1Claim")
            .field("user_id", &Redacted(&self.user_id))
            .field("oauth_consumer_key", &self.oauth_consumer_key)
            .field("oauth_consumer_key_sign", &self.oauth_consumer_key_sign)
            .field("resource_link_id", &self.resource_link_id)
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Redaction helpers for `Debug`.

/// Shows whether an optional value is present, never the value.
struct Redacted<'a>(&'a Option<String>);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(_) => f.write_str("Some([redacted])"),
            None => f.write_str("None"),
        }
    }
}

/// Shows how many values an optional list holds, never the values.
struct RedactedList<'a>(&'a Option<Vec<String>>);

impl fmt::Debug for RedactedList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(values) => write!(f, "Some([redacted; {}])", values.len()),
            None => f.write_str("None"),
        }
    }
}

/// Shows the keys of the custom map, never the values.
struct RedactedValues<'a>(&'a Option<Map<String, Value>>);

impl fmt::Debug for RedactedValues<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Hidden;
        impl fmt::Debug for Hidden {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[redacted]")
            }
        }
        match self.0 {
            Some(map) => {
                f.write_str("Some(")?;
                f.debug_map()
                    .entries(map.keys().map(|key| (key, Hidden)))
                    .finish()?;
                f.write_str(")")
            }
            None => f.write_str("None"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Deserialization helpers.

/// A JWT NumericDate (RFC 7519 §2): seconds since the epoch as a JSON number. Integers are
/// taken as they are; finite floats are truncated towards zero; strings, and numbers outside
/// `i64`, are refused.
struct NumericDate(i64);

impl<'de> Deserialize<'de> for NumericDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NumericDateVisitor;

        impl Visitor<'_> for NumericDateVisitor {
            type Value = NumericDate;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of seconds since the Unix epoch")
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<NumericDate, E> {
                Ok(NumericDate(value))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<NumericDate, E> {
                i64::try_from(value)
                    .map(NumericDate)
                    .map_err(|_| E::invalid_value(Unexpected::Unsigned(value), &self))
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<NumericDate, E> {
                // `i64::MAX as f64` is 2^63, one past the largest i64, hence the strict `<`.
                if value.is_finite() && value >= i64::MIN as f64 && value < i64::MAX as f64 {
                    Ok(NumericDate(value.trunc() as i64))
                } else {
                    Err(E::invalid_value(Unexpected::Float(value), &self))
                }
            }
        }

        deserializer.deserialize_any(NumericDateVisitor)
    }
}

fn numeric_date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    NumericDate::deserialize(deserializer).map(|date| date.0)
}

fn optional_numeric_date<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    Ok(Option::<NumericDate>::deserialize(deserializer)?.map(|date| date.0))
}

/// Describes a JSON value for a serde error message.
fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(value) => Unexpected::Bool(*value),
        Value::Number(number) => {
            if let Some(value) = number.as_u64() {
                Unexpected::Unsigned(value)
            } else if let Some(value) = number.as_i64() {
                Unexpected::Signed(value)
            } else {
                Unexpected::Float(number.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(value) => Unexpected::Str(value),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

/// An informational claim: `null`, a non-object or an object that does not parse counts as
/// absent.
fn lenient_claim<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Ok(match Value::deserialize(deserializer)? {
        object @ Value::Object(_) => serde_json::from_value(object).ok(),
        _ => None,
    })
}

/// A claim that must be well formed: `null` is `None`, an object must parse, and anything
/// else is an error. (Without this check serde would also read a struct from a JSON array,
/// member by member in declaration order.)
fn strict_claim<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        object @ Value::Object(_) => serde_json::from_value(object)
            .map(Some)
            .map_err(de::Error::custom),
        other => Err(de::Error::invalid_type(
            unexpected(&other),
            &"a JSON object",
        )),
    }
}

const LIST: &str = "an array of strings or a comma-separated string";

/// A list of strings: an array of strings, or one string read as a comma-separated list
/// (blank items dropped). `null` is `None`; anything else is an error.
fn string_list<E: de::Error>(value: Value) -> Result<Option<Vec<String>>, E> {
    match value {
        Value::Null => Ok(None),
        Value::String(joined) => Ok(Some(
            joined
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect(),
        )),
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::String(item) => Ok(item),
                other => Err(E::invalid_type(unexpected(&other), &"a string")),
            })
            .collect::<Result<Vec<_>, E>>()
            .map(Some),
        other => Err(E::invalid_type(unexpected(&other), &LIST)),
    }
}

fn optional_list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    string_list(Value::deserialize(deserializer)?)
}

fn list_or_empty<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Ok(optional_list(deserializer)?.unwrap_or_default())
}

fn required_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    optional_list(deserializer)?.ok_or_else(|| de::Error::invalid_type(Unexpected::Unit, &LIST))
}

/// `accept_media_types`: a comma-separated string, or an array of media types (Moodle)
/// joined with commas. `null` is `None`.
fn media_types<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        Value::String(joined) => Ok(Some(joined)),
        list @ Value::Array(_) => Ok(string_list::<D::Error>(list)?.map(|types| types.join(","))),
        other => Err(de::Error::invalid_type(unexpected(&other), &LIST)),
    }
}

/// A boolean sent as a JSON boolean or as the string `"true"`/`"false"`. `null` is `None`.
fn flexible_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    const EXPECTED: &str = "a boolean or the string \"true\" or \"false\"";
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        Value::Bool(value) => Ok(Some(value)),
        Value::String(text) if text.trim().eq_ignore_ascii_case("true") => Ok(Some(true)),
        Value::String(text) if text.trim().eq_ignore_ascii_case("false") => Ok(Some(false)),
        Value::String(text) => Err(de::Error::invalid_value(Unexpected::Str(&text), &EXPECTED)),
        other => Err(de::Error::invalid_type(unexpected(&other), &EXPECTED)),
    }
}

/// A pixel size from a number or a numeric string; anything unusable is `None`, never an
/// error.
fn dimension<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    fn from_float(value: f64) -> Option<u32> {
        (value.is_finite() && value >= 0.0 && value <= f64::from(u32::MAX))
            .then(|| value.trunc() as u32)
    }
    Ok(match Value::deserialize(deserializer)? {
        Value::Number(number) => match number.as_u64() {
            Some(value) => u32::try_from(value).ok(),
            None => number.as_f64().and_then(from_float),
        },
        Value::String(text) => {
            let text = text.trim();
            text.parse::<u32>()
                .ok()
                .or_else(|| text.parse::<f64>().ok().and_then(from_float))
        }
        _ => None,
    })
}

/// An optional URL where a blank string means absent.
fn blank_as_none<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.filter(|url| !url.trim().is_empty()))
}

/// A string, or an integer rendered in decimal. `null` is `None`.
fn string_or_integer<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        Value::String(text) => Ok(Some(text)),
        Value::Number(number) if number.is_i64() || number.is_u64() => Ok(Some(number.to_string())),
        other => Err(de::Error::invalid_type(
            unexpected(&other),
            &"a string or an integer",
        )),
    }
}

/// The `custom` claim: an object, or an empty array (PHP's encoding of an empty object).
/// `null` is `None`; anything else is an error.
fn custom_map<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Map<String, Value>>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        Value::Object(map) => Ok(Some(map)),
        Value::Array(items) if items.is_empty() => Ok(Some(Map::new())),
        other => Err(de::Error::invalid_type(
            unexpected(&other),
            &"an object of custom properties",
        )),
    }
}

#[cfg(test)]
mod tests;
