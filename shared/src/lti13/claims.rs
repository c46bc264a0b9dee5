//! The claims of an LTI 1.3 `id_token`, as typed Rust values.
//!
//! [`IdTokenClaims`] is the whole JWT payload a platform sends with a launch: the OpenID
//! Connect claims of the 1EdTech Security Framework 1.0 (§5.1.2) and the LTI message claims of
//! LTI Core 1.3 §5, Deep Linking 2.0 §4.4, AGS 2.0 §3.1, NRPS 2.0 and the LTI 1.1 migration
//! guide. Every LTI claim is a field renamed to its claim URI ([`uri`] lists them).
//!
//! # Only after verification
//!
//! These types only implement `Deserialize`: there is deliberately no function here that reads
//! a JWT. The launch verifier checks the signature first and deserializes the payload into
//! [`IdTokenClaims`] afterwards (STYLE 5), so a value of this type has always been signed by a
//! registered platform. The verifier, not serde, decides which claims a message type requires
//! (`resource_link` and `roles` are `Option` here for that reason) and names a missing one.
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
//!   [`IdTokenClaims::custom_str`] renders them.
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

/// The claim names (JSON member names) of the LTI claims read by [`IdTokenClaims`], for error
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
pub struct IdTokenClaims {
    /// Issuer: the platform's issuer identifier, an HTTPS URL (Security Framework §5.1.2). The
    /// verifier compares it exactly with the registered issuer (§5.1.3 step 2).
    pub iss: String,
    /// Subject: the platform's stable id for the user (Security Framework §5.1.2, LTI Core 1.3
    /// §5.3.6). Absent in an anonymous launch (§5.3.6.1).
    #[serde(default)]
    pub sub: Option<String>,
    /// Audience: must contain the tool's client id (Security Framework §5.1.3 step 3).
    pub aud: Audience,
    /// Authorized party; when present it must be the tool's client id (§5.1.3 steps 4 and 5).
    #[serde(default)]
    pub azp: Option<String>,
    /// Expiry, in seconds since the Unix epoch (Security Framework §5.1.2). Fractional
    /// seconds are truncated; a string is refused.
    #[serde(deserialize_with = "numeric_date")]
    pub exp: i64,
    /// Issue time, in seconds since the Unix epoch (Security Framework §5.1.2). Fractional
    /// seconds are truncated; a string is refused.
    #[serde(deserialize_with = "numeric_date")]
    pub iat: i64,
    /// Not-before time, in seconds since the Unix epoch (RFC 7519 §4.1.5). Optional; D2L sends
    /// it. Fractional seconds are truncated; a string is refused.
    #[serde(default, deserialize_with = "optional_numeric_date")]
    pub nbf: Option<i64>,
    /// The nonce the tool put in its authentication request (Security Framework §5.1.2).
    pub nonce: String,
    /// Full display name (OIDC Core §5.1, LTI Core 1.3 §5.3.6). Personal data; redacted in
    /// `Debug`.
    #[serde(default)]
    pub name: Option<String>,
    /// Given name(s) (OIDC Core §5.1). Personal data; redacted in `Debug`.
    #[serde(default)]
    pub given_name: Option<String>,
    /// Family name(s) (OIDC Core §5.1). Personal data; redacted in `Debug`.
    #[serde(default)]
    pub family_name: Option<String>,
    /// Middle name(s) (OIDC Core §5.1). Personal data; redacted in `Debug`.
    #[serde(default)]
    pub middle_name: Option<String>,
    /// Preferred e-mail address (OIDC Core §5.1). Personal data; redacted in `Debug`.
    #[serde(default)]
    pub email: Option<String>,
    /// Profile picture URL (OIDC Core §5.1). Personal data; redacted in `Debug`.
    #[serde(default)]
    pub picture: Option<String>,
    /// Preferred locale as a BCP 47 tag (OIDC Core §5.1, LTI Core 1.3 §5.3.6).
    #[serde(default)]
    pub locale: Option<String>,

    /// The message type exactly as received (LTI Core 1.3 §5.3.1), kept as a string so that a
    /// refusal can name an unsupported type. [`IdTokenClaims::message_kind`] parses it.
    #[serde(rename = "https://purl.imsglobal.org/spec/lti/claim/message_type")]
    pub message_type: String,
    /// The LTI version; `1.3.0` for this specification (LTI Core 1.3 §5.3.2).
    #[serde(rename = "https://purl.imsglobal.org/spec/lti/claim/version")]
    pub version: String,
    /// The deployment the message belongs to (LTI Core 1.3 §5.3.3). Required: a payload
    /// without it does not deserialize.
    #[serde(rename = "https://purl.imsglobal.org/spec/lti/claim/deployment_id")]
    pub deployment_id: String,
    /// The URL the launch is for (LTI Core 1.3 §5.3.4). Required by the specification for
    /// resource-link launches; the verifier enforces that.
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti/claim/target_link_uri",
        default
    )]
    pub target_link_uri: Option<String>,
    /// The launching resource link (LTI Core 1.3 §5.3.5). Required for resource-link launches,
    /// absent from deep-linking requests (Deep Linking 2.0 §4.4); the verifier decides.
    /// Strict: a malformed claim fails deserialization.
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti/claim/resource_link",
        default,
        deserialize_with = "strict_claim"
    )]
    pub resource_link: Option<ResourceLinkClaim>,
    /// The user's role URIs in the context (LTI Core 1.3 §5.3.7). The claim is required but
    /// may be an empty array (§5.3.7.1), which stays `Some(vec![])`. Strict: it must be an
    /// array of strings, since roles decide what the user may do.
    #[serde(rename = "https://purl.imsglobal.org/spec/lti/claim/roles", default)]
    pub roles: Option<Vec<String>>,
    /// Ids of the users the launching user mentors (LTI Core 1.3 §5.4.3). An array, or a
    /// comma-separated string as Moodle sends it. Redacted in `Debug`.
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti/claim/role_scope_mentor",
        default,
        deserialize_with = "optional_list"
    )]
    pub role_scope_mentor: Option<Vec<String>>,
    /// The context (usually a course) of the launch (LTI Core 1.3 §5.4.1). Strict.
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti/claim/context",
        default,
        deserialize_with = "strict_claim"
    )]
    pub context: Option<ContextClaim>,
    /// The platform instance (LTI Core 1.3 §5.4.2). Lenient: a malformed claim is absent.
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti/claim/tool_platform",
        default,
        deserialize_with = "lenient_claim"
    )]
    pub tool_platform: Option<ToolPlatformClaim>,
    /// How the platform shows the tool (LTI Core 1.3 §5.4.4). Lenient: a malformed claim is
    /// absent.
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation",
        default,
        deserialize_with = "lenient_claim"
    )]
    pub launch_presentation: Option<LaunchPresentationClaim>,
    /// Student-information-system ids (LTI Core 1.3 §5.4.5). Lenient: a malformed claim is
    /// absent.
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti/claim/lis",
        default,
        deserialize_with = "lenient_claim"
    )]
    pub lis: Option<LisClaim>,
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
    pub custom: Option<Map<String, Value>>,
    /// Assignment and Grade Services endpoints (AGS 2.0 §3.1). Strict: a malformed claim
    /// fails deserialization rather than silently switching grading off.
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint",
        default,
        deserialize_with = "strict_claim"
    )]
    pub ags_endpoint: Option<AgsEndpointClaim>,
    /// Names and Role Provisioning Services endpoint (NRPS 2.0, "LTI 1.3 integration").
    /// Strict.
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice",
        default,
        deserialize_with = "strict_claim"
    )]
    pub nrps: Option<NrpsClaim>,
    /// Deep-linking settings (Deep Linking 2.0 §4.4.1); required in a deep-linking request,
    /// which the verifier enforces. Strict.
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings",
        default,
        deserialize_with = "strict_claim"
    )]
    pub deep_linking_settings: Option<DeepLinkingSettingsClaim>,
    /// LTI 1.1 identifiers for migrating users and links (LTI 1.3 Migration Guide). Lenient:
    /// a malformed claim is absent, which only means no migration data.
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti/claim/lti1p1",
        default,
        deserialize_with = "lenient_claim"
    )]
    pub lti1p1: Option<Lti1p1Claim>,
}

impl IdTokenClaims {
    /// The message type, if it is one this tool handles (LTI Core 1.3 §5.3.1).
    pub fn message_kind(&self) -> Option<MessageType> {
        MessageType::from_claim(&self.message_type)
    }

    /// Whether the launch is anonymous: no `sub` claim (LTI Core 1.3 §5.3.6.1).
    pub fn is_anonymous(&self) -> bool {
        self.sub.is_none()
    }

    /// A custom property rendered as a string (LTI Core 1.3 §5.4.6).
    ///
    /// Strings are returned as they are; numbers and booleans, which some platforms send
    /// instead of strings, are rendered in their JSON form (`42`, `1.5`, `true`). `null`,
    /// arrays and objects give `None`, as does a missing key or a missing claim.
    pub fn custom_str(&self, key: &str) -> Option<String> {
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
mod tests {
    use super::*;
    use serde_json::json;

    const CANVAS: &str = include_str!("../../tests/data/claims/canvas_resource_link.json");
    const MOODLE_DL: &str = include_str!("../../tests/data/claims/moodle_deep_linking.json");
    const BLACKBOARD: &str = include_str!("../../tests/data/claims/blackboard_resource_link.json");
    const D2L: &str = include_str!("../../tests/data/claims/d2l_resource_link.json");
    const ANONYMOUS: &str = include_str!("../../tests/data/claims/anonymous_launch.json");

    /// The smallest payload that deserializes, built from the [`uri`] constants.
    fn minimal() -> Value {
        let mut payload = json!({
            "iss": "https://platform.example.edu",
            "aud": "tool-client-id",
            "exp": 1_700_000_300,
            "iat": 1_700_000_000,
            "nonce": "n-0S6_WzA2Mj",
        });
        payload[uri::MESSAGE_TYPE] = json!("LtiResourceLinkRequest");
        payload[uri::VERSION] = json!("1.3.0");
        payload[uri::DEPLOYMENT_ID] = json!("deployment-1");
        payload
    }

    fn parse(payload: Value) -> Result<IdTokenClaims, serde_json::Error> {
        serde_json::from_value(payload)
    }

    fn with(claim: &str, value: Value) -> Result<IdTokenClaims, serde_json::Error> {
        let mut payload = minimal();
        payload[claim] = value;
        parse(payload)
    }

    #[test]
    fn canvas_resource_link_fixture_parses_every_claim() {
        let claims: IdTokenClaims = serde_json::from_str(CANVAS).unwrap();

        assert_eq!(claims.iss, "https://canvas.instructure.com");
        assert_eq!(claims.aud, Audience::Single("10000000000042".into()));
        assert_eq!(claims.azp.as_deref(), Some("10000000000042"));
        assert_eq!(
            (claims.iat, claims.exp, claims.nbf),
            (1_749_758_209, 1_749_761_809, None)
        );
        assert_eq!(claims.message_kind(), Some(MessageType::ResourceLink));
        assert_eq!(
            claims.deployment_id,
            "12:8865aa05b4b79b64a91a86042e43af5ea8ae79eb"
        );
        let link = claims.resource_link.as_ref().unwrap();
        assert_eq!(link.id, "4dde05e8ca1973bcca9bffc13e1548820eee93a3");
        assert_eq!(link.title.as_deref(), Some("Week 3 quiz"));
        assert_eq!(link.description, None);
        assert_eq!(claims.roles.as_ref().map(Vec::len), Some(3));
        let context = claims.context.as_ref().unwrap();
        assert_eq!(context.label.as_deref(), Some("MATH101"));
        assert_eq!(
            context.types,
            ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"]
        );
        let presentation = claims.launch_presentation.as_ref().unwrap();
        assert_eq!(
            (presentation.height, presentation.width),
            (Some(400), Some(800))
        );
        assert_eq!(
            claims
                .tool_platform
                .as_ref()
                .unwrap()
                .product_family_code
                .as_deref(),
            Some("canvas")
        );
        let lis = claims.lis.as_ref().unwrap();
        assert_eq!(
            lis.course_offering_sourcedid.as_deref(),
            Some("$CourseSection.sourcedId")
        );
        assert_eq!(claims.custom_str("canvas_course_id").as_deref(), Some("42"));
        assert_eq!(
            claims.custom_str("canvas_user_is_root_admin").as_deref(),
            Some("false")
        );
        let ags = claims.ags_endpoint.as_ref().unwrap();
        assert_eq!(ags.scope.len(), 5);
        assert_eq!(
            ags.lineitem.as_deref(),
            Some("https://canvas.example.edu/api/lti/courses/42/line_items/7")
        );
        assert_eq!(claims.nrps.as_ref().unwrap().service_versions, ["2.0"]);
        let lti1p1 = claims.lti1p1.as_ref().unwrap();
        assert_eq!(
            lti1p1.user_id.as_deref(),
            Some("c0ddd6c90cbe1ef0f32fbce5c3bf654204be186c")
        );
        assert_eq!(
            lti1p1.oauth_consumer_key_sign.as_deref(),
            Some("FPR9uW9niYZZTkodpKrJCfjktJ51YJhc6m44c4kzKNk=")
        );
        assert_eq!(claims.deep_linking_settings, None);
        assert!(!claims.is_anonymous());
    }

    #[test]
    fn moodle_deep_linking_fixture_reads_string_booleans_and_media_type_list() {
        let claims: IdTokenClaims = serde_json::from_str(MOODLE_DL).unwrap();

        assert_eq!(claims.message_kind(), Some(MessageType::DeepLinking));
        assert_eq!(claims.aud, Audience::Single("Kj3abX9qWzT1pLm".into()));
        assert_eq!(claims.resource_link, None);
        let settings = claims.deep_linking_settings.as_ref().unwrap();
        assert_eq!(settings.accept_multiple, Some(true));
        assert_eq!(settings.auto_create, Some(false));
        assert_eq!(settings.accept_lineitem, None);
        assert_eq!(settings.accept_types, ["ltiResourceLink"]);
        assert_eq!(
            settings.accept_presentation_document_targets,
            ["frame", "iframe", "window"]
        );
        assert_eq!(
            settings.accept_media_types.as_deref(),
            Some("application/vnd.ims.lti.v1.ltilink")
        );
        assert_eq!(settings.data, None);
        assert_eq!(settings.title.as_deref(), Some(""));
        let presentation = claims.launch_presentation.as_ref().unwrap();
        assert_eq!(presentation.height, Some(400));
        assert_eq!(presentation.width, None);
        let platform = claims.tool_platform.as_ref().unwrap();
        assert_eq!(platform.product_family_code, None);
        assert_eq!(platform.guid.as_deref(), Some("moodle.example.edu"));
        assert_eq!(claims.context.as_ref().unwrap().types, ["CourseSection"]);
        assert_eq!(
            claims.nrps.as_ref().unwrap().service_versions,
            ["1.0", "2.0"]
        );
        assert_eq!(claims.custom_str("level").as_deref(), Some("2"));
    }

    #[test]
    fn blackboard_resource_link_fixture_ignores_vendor_claims() {
        let claims: IdTokenClaims = serde_json::from_str(BLACKBOARD).unwrap();

        assert_eq!(claims.iss, "https://blackboard.com");
        assert!(claims.aud.contains("53c4573a-1ac8-4484-b036-a7b22b557e8c"));
        assert_eq!(claims.resource_link.as_ref().unwrap().id, "_18938_1");
        let presentation = claims.launch_presentation.as_ref().unwrap();
        assert_eq!(presentation.document_target, None);
        assert!(presentation.return_url.is_some());
        let lis = claims.lis.as_ref().unwrap();
        assert_eq!(
            lis.course_section_sourcedid.as_deref(),
            Some("HIST200-FA24-001")
        );
        assert_eq!(lis.course_offering_sourcedid, None);
        assert_eq!(
            claims
                .tool_platform
                .as_ref()
                .unwrap()
                .contact_email
                .as_deref(),
            Some("lms-admin@example.edu")
        );
        assert_eq!(claims.nrps.as_ref().unwrap().service_versions, ["2.0"]);
        assert_eq!(claims.middle_name, None);
    }

    #[test]
    fn d2l_resource_link_fixture_reads_audience_array_and_nbf() {
        let claims: IdTokenClaims = serde_json::from_str(D2L).unwrap();

        assert_eq!(claims.aud.len(), 1);
        assert!(claims.aud.contains("48828118-0ba0-4851-9e26-7c532c7d1868"));
        assert_eq!(claims.nbf, Some(1_730_507_998));
        assert_eq!(claims.resource_link.as_ref().unwrap().description, None);
        assert_eq!(
            claims
                .ags_endpoint
                .as_ref()
                .unwrap()
                .lineitem
                .as_deref()
                .map(|url| url.ends_with("/31")),
            Some(true)
        );
        assert_eq!(claims.custom_str("grade_scale").as_deref(), Some("100"));
        assert_eq!(claims.lti1p1, None);
    }

    #[test]
    fn anonymous_launch_without_user_claims_parses_as_anonymous() {
        let claims: IdTokenClaims = serde_json::from_str(ANONYMOUS).unwrap();

        assert!(claims.is_anonymous());
        assert_eq!(claims.sub, None);
        assert_eq!(
            (&claims.name, &claims.email, &claims.given_name),
            (&None, &None, &None)
        );
        assert_eq!(claims.roles, Some(vec![]));
        assert_eq!(claims.aud.len(), 2);
        assert_eq!(claims.context.as_ref().unwrap().types, Vec::<String>::new());
        assert_eq!(claims.custom, None);
        assert_eq!(claims.custom_str("anything"), None);
    }

    #[test]
    fn minimal_payload_without_optional_claims_parses() {
        let claims = parse(minimal()).unwrap();

        assert_eq!(claims.deployment_id, "deployment-1");
        assert_eq!(claims.version, "1.3.0");
        assert_eq!(claims.roles, None);
        assert_eq!(claims.resource_link, None);
        assert_eq!(claims.target_link_uri, None);
        assert_eq!(claims.nbf, None);
    }

    #[test]
    fn claim_uris_every_constant_is_read_into_its_field() {
        let mut payload = minimal();
        payload[uri::TARGET_LINK_URI] = json!("https://tool.example.com/launch");
        payload[uri::RESOURCE_LINK] = json!({ "id": "rl-1" });
        payload[uri::ROLES] = json!([]);
        payload[uri::ROLE_SCOPE_MENTOR] = json!(["u-1"]);
        payload[uri::CONTEXT] = json!({ "id": "ctx-1" });
        payload[uri::TOOL_PLATFORM] = json!({ "guid": "g-1" });
        payload[uri::LAUNCH_PRESENTATION] = json!({ "document_target": "window" });
        payload[uri::LIS] = json!({ "course_offering_sourcedid": "c-1" });
        payload[uri::CUSTOM] = json!({ "k": "v" });
        payload[uri::AGS_ENDPOINT] = json!({ "scope": [] });
        payload[uri::NRPS] = json!({ "context_memberships_url": "https://p.example/m" });
        payload[uri::DEEP_LINKING_SETTINGS] = json!({
            "deep_link_return_url": "https://p.example/dl",
            "accept_types": ["link"],
            "accept_presentation_document_targets": ["iframe"],
        });
        payload[uri::LTI1P1] = json!({ "user_id": "old-1" });

        let claims = parse(payload).unwrap();

        assert!(claims.target_link_uri.is_some());
        assert!(claims.resource_link.is_some());
        assert!(claims.roles.is_some());
        assert!(claims.role_scope_mentor.is_some());
        assert!(claims.context.is_some());
        assert!(claims.tool_platform.is_some());
        assert!(claims.launch_presentation.is_some());
        assert!(claims.lis.is_some());
        assert!(claims.custom.is_some());
        assert!(claims.ags_endpoint.is_some());
        assert!(claims.nrps.is_some());
        assert!(claims.deep_linking_settings.is_some());
        assert!(claims.lti1p1.is_some());
    }

    #[test]
    fn deployment_id_missing_fails_naming_the_claim() {
        let mut payload = minimal();
        payload.as_object_mut().unwrap().remove(uri::DEPLOYMENT_ID);

        let error = parse(payload).unwrap_err();

        assert!(error.to_string().contains(uri::DEPLOYMENT_ID), "{error}");
    }

    #[test]
    fn deployment_id_null_fails() {
        let error = with(uri::DEPLOYMENT_ID, Value::Null).unwrap_err();

        assert!(
            error.to_string().starts_with("invalid type: null"),
            "{error}"
        );
    }

    #[test]
    fn message_type_missing_fails_naming_the_claim() {
        let mut payload = minimal();
        payload.as_object_mut().unwrap().remove(uri::MESSAGE_TYPE);

        let error = parse(payload).unwrap_err();

        assert!(error.to_string().contains(uri::MESSAGE_TYPE), "{error}");
    }

    #[test]
    fn message_type_unknown_is_kept_verbatim_and_unparsed() {
        let claims = with(uri::MESSAGE_TYPE, json!("LtiSubmissionReviewRequest")).unwrap();

        assert_eq!(claims.message_type, "LtiSubmissionReviewRequest");
        assert_eq!(claims.message_kind(), None);
    }

    #[test]
    fn message_type_from_claim_round_trips_and_is_case_sensitive() {
        for kind in [MessageType::ResourceLink, MessageType::DeepLinking] {
            assert_eq!(MessageType::from_claim(kind.as_str()), Some(kind));
            assert_eq!(kind.to_string(), kind.as_str());
        }
        assert_eq!(MessageType::from_claim("ltiresourcelinkrequest"), None);
    }

    #[test]
    fn time_claims_fractional_seconds_are_truncated() {
        let mut payload = minimal();
        payload["iat"] = json!(1_700_000_000.987);
        payload["exp"] = json!(1.7000003e9);
        payload["nbf"] = json!(1_699_999_999.5);

        let claims = parse(payload).unwrap();

        assert_eq!(claims.iat, 1_700_000_000);
        assert_eq!(claims.exp, 1_700_000_300);
        assert_eq!(claims.nbf, Some(1_699_999_999));
    }

    #[test]
    fn time_claim_string_is_refused() {
        for claim in ["exp", "iat", "nbf"] {
            let error = with(claim, json!("1700000000")).unwrap_err();
            assert!(
                error.to_string().starts_with("invalid type: string"),
                "{claim}: {error}"
            );
        }
    }

    #[test]
    fn time_claim_out_of_range_is_refused() {
        let error = with("exp", json!(1e300)).unwrap_err();
        assert!(error.to_string().starts_with("invalid value"), "{error}");

        let error = with("iat", json!(u64::MAX)).unwrap_err();
        assert!(error.to_string().starts_with("invalid value"), "{error}");
    }

    #[test]
    fn time_claim_missing_fails() {
        let mut payload = minimal();
        payload.as_object_mut().unwrap().remove("exp");

        let error = parse(payload).unwrap_err();

        assert!(error.to_string().contains("missing field `exp`"), "{error}");
    }

    #[test]
    fn nbf_null_is_absent() {
        assert_eq!(with("nbf", Value::Null).unwrap().nbf, None);
    }

    #[test]
    fn audience_single_string_acts_as_one_element_list() {
        let audience = with("aud", json!("tool-client-id")).unwrap().aud;

        assert!(audience.contains("tool-client-id"));
        assert!(!audience.contains("TOOL-CLIENT-ID"));
        assert_eq!(audience.len(), 1);
        assert!(!audience.is_empty());
        assert_eq!(audience.as_slice(), ["tool-client-id".to_owned()]);
        assert_eq!(audience.iter().count(), 1);
    }

    #[test]
    fn audience_array_contains_each_member() {
        let audience = with("aud", json!(["tool-client-id", "other"])).unwrap().aud;

        assert!(audience.contains("tool-client-id"));
        assert!(audience.contains("other"));
        assert!(!audience.contains("third"));
        assert_eq!(audience.len(), 2);
        assert_eq!(
            (&audience).into_iter().collect::<Vec<_>>(),
            ["tool-client-id", "other"]
        );
    }

    #[test]
    fn audience_empty_array_parses_and_contains_nothing() {
        let audience = with("aud", json!([])).unwrap().aud;

        assert!(audience.is_empty());
        assert!(!audience.contains("tool-client-id"));
    }

    #[test]
    fn audience_number_or_mixed_array_is_refused() {
        let error = with("aud", json!(42)).unwrap_err();
        assert!(
            error.to_string().starts_with("invalid type: integer"),
            "{error}"
        );

        let error = with("aud", json!(["tool-client-id", 42])).unwrap_err();
        assert!(
            error.to_string().starts_with("invalid type: integer"),
            "{error}"
        );
    }

    #[test]
    fn optional_claims_null_are_absent() {
        let mut payload = minimal();
        for claim in [
            "sub",
            "azp",
            "name",
            "given_name",
            "family_name",
            "middle_name",
            "email",
            "picture",
            "locale",
            uri::TARGET_LINK_URI,
            uri::RESOURCE_LINK,
            uri::ROLES,
            uri::ROLE_SCOPE_MENTOR,
            uri::CONTEXT,
            uri::TOOL_PLATFORM,
            uri::LAUNCH_PRESENTATION,
            uri::LIS,
            uri::CUSTOM,
            uri::AGS_ENDPOINT,
            uri::NRPS,
            uri::DEEP_LINKING_SETTINGS,
            uri::LTI1P1,
        ] {
            payload[claim] = Value::Null;
        }

        let claims = parse(payload).unwrap();

        assert_eq!(claims, parse(minimal()).unwrap());
    }

    #[test]
    fn roles_empty_array_is_present_and_empty() {
        assert_eq!(with(uri::ROLES, json!([])).unwrap().roles, Some(vec![]));
    }

    #[test]
    fn roles_string_is_refused() {
        let error = with(uri::ROLES, json!("Instructor")).unwrap_err();

        assert!(
            error.to_string().starts_with("invalid type: string"),
            "{error}"
        );
    }

    #[test]
    fn role_scope_mentor_comma_string_is_split() {
        let claims = with(uri::ROLE_SCOPE_MENTOR, json!("u-1, u-2,,u-3")).unwrap();

        assert_eq!(
            claims.role_scope_mentor,
            Some(vec!["u-1".into(), "u-2".into(), "u-3".into()])
        );
    }

    #[test]
    fn resource_link_without_id_fails() {
        let error = with(uri::RESOURCE_LINK, json!({ "title": "Quiz" })).unwrap_err();

        assert!(error.to_string().contains("missing field `id`"), "{error}");
    }

    #[test]
    fn context_not_an_object_fails() {
        for value in [json!("ctx-1"), json!(["ctx-1", "label"])] {
            let error = with(uri::CONTEXT, value).unwrap_err();
            assert!(
                error.to_string().starts_with("invalid type: ")
                    && error.to_string().ends_with("expected a JSON object"),
                "{error}"
            );
        }
    }

    #[test]
    fn context_type_single_string_becomes_one_element_list() {
        let claims = with(uri::CONTEXT, json!({ "id": "c", "type": "CourseOffering" })).unwrap();

        assert_eq!(claims.context.unwrap().types, ["CourseOffering"]);
    }

    #[test]
    fn launch_presentation_string_is_treated_as_absent() {
        let claims = with(uri::LAUNCH_PRESENTATION, json!("iframe")).unwrap();

        assert_eq!(claims.launch_presentation, None);
    }

    #[test]
    fn launch_presentation_dimensions_accept_numeric_strings_and_drop_bad_values() {
        let read = |value: Value| {
            with(
                uri::LAUNCH_PRESENTATION,
                json!({ "height": value, "width": 640 }),
            )
            .unwrap()
            .launch_presentation
            .unwrap()
        };

        assert_eq!(read(json!(" 480 ")).height, Some(480));
        assert_eq!(read(json!(480.9)).height, Some(480));
        assert_eq!(read(json!("480.5")).height, Some(480));
        assert_eq!(read(json!("100%")).height, None);
        assert_eq!(read(json!(-1)).height, None);
        assert_eq!(read(json!(5_000_000_000_u64)).height, None);
        assert_eq!(read(json!(true)).height, None);
        assert_eq!(read(json!(null)).height, None);
        assert_eq!(read(json!("480")).width, Some(640));
    }

    #[test]
    fn tool_platform_malformed_is_treated_as_absent() {
        let claims = with(uri::TOOL_PLATFORM, json!({ "guid": 7, "name": "LMS" })).unwrap();

        assert_eq!(claims.tool_platform, None);
    }

    #[test]
    fn lis_malformed_is_treated_as_absent() {
        assert_eq!(with(uri::LIS, json!(["a"])).unwrap().lis, None);
    }

    #[test]
    fn lti1p1_integer_values_render_as_strings() {
        let claims = with(
            uri::LTI1P1,
            json!({ "user_id": 27, "oauth_consumer_key": 12345, "resource_link_id": "rl" }),
        )
        .unwrap();

        let lti1p1 = claims.lti1p1.unwrap();
        assert_eq!(lti1p1.user_id.as_deref(), Some("27"));
        assert_eq!(lti1p1.oauth_consumer_key.as_deref(), Some("12345"));
        assert_eq!(lti1p1.resource_link_id.as_deref(), Some("rl"));
        assert_eq!(lti1p1.oauth_consumer_key_sign, None);
    }

    #[test]
    fn lti1p1_malformed_is_treated_as_absent() {
        let claims = with(uri::LTI1P1, json!({ "user_id": { "id": 1 } })).unwrap();

        assert_eq!(claims.lti1p1, None);
    }

    #[test]
    fn ags_endpoint_string_fails() {
        let error = with(uri::AGS_ENDPOINT, json!("https://p.example/lineitems")).unwrap_err();

        assert!(
            error.to_string().starts_with("invalid type: string"),
            "{error}"
        );
    }

    #[test]
    fn ags_endpoint_blank_lineitem_is_absent_and_missing_scope_is_empty() {
        let claims = with(
            uri::AGS_ENDPOINT,
            json!({ "lineitem": "", "lineitems": "https://p.example/lineitems" }),
        )
        .unwrap();

        let ags = claims.ags_endpoint.unwrap();
        assert_eq!(ags.lineitem, None);
        assert_eq!(
            ags.lineitems.as_deref(),
            Some("https://p.example/lineitems")
        );
        assert!(ags.scope.is_empty());
    }

    #[test]
    fn nrps_without_memberships_url_fails() {
        let error = with(uri::NRPS, json!({ "service_versions": ["2.0"] })).unwrap_err();

        assert!(
            error
                .to_string()
                .contains("missing field `context_memberships_url`"),
            "{error}"
        );
    }

    fn settings(extra: Value) -> Value {
        let mut settings = json!({
            "deep_link_return_url": "https://p.example/dl",
            "accept_types": ["ltiResourceLink"],
            "accept_presentation_document_targets": ["iframe"],
        });
        if let (Some(settings), Value::Object(extra)) = (settings.as_object_mut(), extra) {
            settings.extend(extra);
        }
        settings
    }

    #[test]
    fn deep_linking_settings_boolean_strings_parse_in_any_case() {
        let claims = with(
            uri::DEEP_LINKING_SETTINGS,
            settings(json!({
                "accept_multiple": "TRUE",
                "accept_lineitem": true,
                "auto_create": " false ",
            })),
        )
        .unwrap();

        let settings = claims.deep_linking_settings.unwrap();
        assert_eq!(settings.accept_multiple, Some(true));
        assert_eq!(settings.accept_lineitem, Some(true));
        assert_eq!(settings.auto_create, Some(false));
    }

    #[test]
    fn deep_linking_settings_unrecognised_boolean_fails() {
        for value in [json!("yes"), json!(1)] {
            let error = with(
                uri::DEEP_LINKING_SETTINGS,
                settings(json!({ "accept_multiple": value })),
            )
            .unwrap_err();
            assert!(error.to_string().starts_with("invalid "), "{error}");
        }
    }

    #[test]
    fn deep_linking_settings_missing_accept_types_fails() {
        let mut value = settings(json!({}));
        value.as_object_mut().unwrap().remove("accept_types");

        let error = with(uri::DEEP_LINKING_SETTINGS, value).unwrap_err();

        assert!(
            error.to_string().contains("missing field `accept_types`"),
            "{error}"
        );
    }

    #[test]
    fn deep_linking_settings_null_document_targets_fails() {
        let error = with(
            uri::DEEP_LINKING_SETTINGS,
            settings(json!({ "accept_presentation_document_targets": null })),
        )
        .unwrap_err();

        assert!(
            error.to_string().starts_with("invalid type: null"),
            "{error}"
        );
    }

    #[test]
    fn deep_linking_settings_media_type_forms_are_read() {
        let read = |value: Value| {
            with(
                uri::DEEP_LINKING_SETTINGS,
                settings(json!({ "accept_media_types": value })),
            )
            .unwrap()
            .deep_linking_settings
            .unwrap()
            .accept_media_types
        };

        assert_eq!(
            read(json!(["image/*", "text/html"])).as_deref(),
            Some("image/*,text/html")
        );
        assert_eq!(
            read(json!("image/*,text/html")).as_deref(),
            Some("image/*,text/html")
        );
        assert_eq!(read(json!(null)), None);
    }

    #[test]
    fn custom_non_object_fails() {
        let error = with(uri::CUSTOM, json!("level=2")).unwrap_err();

        assert!(
            error.to_string().starts_with("invalid type: string"),
            "{error}"
        );
    }

    #[test]
    fn custom_empty_array_is_an_empty_map() {
        let claims = with(uri::CUSTOM, json!([])).unwrap();

        assert_eq!(claims.custom, Some(Map::new()));
    }

    #[test]
    fn custom_str_renders_scalars_and_skips_structures() {
        let claims = with(
            uri::CUSTOM,
            json!({
                "text": "abc",
                "empty": "",
                "count": 2,
                "ratio": 1.5,
                "admin": true,
                "nothing": null,
                "list": ["a"],
                "object": { "a": 1 },
            }),
        )
        .unwrap();

        assert_eq!(claims.custom_str("text").as_deref(), Some("abc"));
        assert_eq!(claims.custom_str("empty").as_deref(), Some(""));
        assert_eq!(claims.custom_str("count").as_deref(), Some("2"));
        assert_eq!(claims.custom_str("ratio").as_deref(), Some("1.5"));
        assert_eq!(claims.custom_str("admin").as_deref(), Some("true"));
        assert_eq!(claims.custom_str("nothing"), None);
        assert_eq!(claims.custom_str("list"), None);
        assert_eq!(claims.custom_str("object"), None);
        assert_eq!(claims.custom_str("absent"), None);
    }

    #[test]
    fn debug_output_omits_personal_data() {
        let mut claims: IdTokenClaims = serde_json::from_str(CANVAS).unwrap();
        claims.middle_name = Some("Augusta".into());
        claims.role_scope_mentor = Some(vec!["mentee-4711".into()]);
        let blackboard: IdTokenClaims = serde_json::from_str(BLACKBOARD).unwrap();

        let printed = format!("{claims:?} {claims:#?} {blackboard:?}");

        for personal in [
            "Ada",
            "Lovelace",
            "Augusta",
            "ada.lovelace@example.edu",
            "avatar.png",
            "e77934e7-4e98-4055-b4b4-3a8431e4f22a",
            "SIS-7858675309",
            "mentee-4711",
            "c0ddd6c90cbe1ef0f32fbce5c3bf654204be186c",
            "canvas.example.edu\"",
            "Joe",
            "jcool@example.edu",
            "lms-admin@example.edu",
            "9283749283749",
        ] {
            assert!(!printed.contains(personal), "Debug shows {personal}");
        }
        assert!(printed.contains("sub: Some([redacted])"));
        assert!(printed.contains("\"canvas_course_id\": [redacted]"));
        assert!(printed.contains("role_scope_mentor: Some([redacted; 1])"));
        assert!(printed.contains("12:8865aa05b4b79b64a91a86042e43af5ea8ae79eb"));
    }
}
