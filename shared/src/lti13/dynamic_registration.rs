//! LTI Dynamic Registration 1.0, the tool's side (1EdTech LTI DR 1.0 §3), in the flavours
//! Moodle and Canvas speak.
//!
//! 1. The platform opens the tool's registration URL with `openid_configuration` (and usually
//!    `registration_token`). The tool fetches that OpenID configuration (OpenID Connect
//!    Discovery plus the `lti-platform-configuration` claim, LTI DR §3.4), sending the token as
//!    a bearer when it has one (Canvas requires it there; Moodle's document is public), and
//!    checks it with [`check_configuration`]: the required endpoints are present, and the
//!    issuer matches the configuration URL (LTI DR §3.5.1).
//! 2. The administrator sees what will be registered and confirms. Between the two steps the
//!    checked configuration and the token wait server-side as a [`PendingRegistration`], which
//!    the confirmation consumes once.
//! 3. The tool POSTs its registration ([`registration_request`], LTI DR §3.5.2) with the token
//!    as bearer and reads back `client_id` and, when the platform made one, the
//!    `deployment_id` (LTI DR §3.6; Moodle returns it, Canvas creates the deployment later when
//!    the administrator enables the tool).
//!
//! Network input is parsed, never trusted: documents are size-limited, URLs must be `https`
//! (plain `http` only on a loopback host, and only where the [`UrlPolicy`] allows it, i.e. in
//! `ltictl serve`), and redirects are not followed, so the bearer token goes nowhere but the
//! endpoint the checked configuration names.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use url::Url;

use crate::domain::ids::{ClientId, DeploymentId, Issuer};
use crate::domain::model::{PlatformOptions, Registration, Status};
use crate::domain::text::strip_controls;
use crate::domain::tool::ToolUrls;
use crate::lti13::lms_config::{CUSTOM_PARAMETERS, ToolProfile, requested_scopes};
use crate::ports::StoreError;

/// The platform configuration claim of the OpenID configuration (LTI DR §3.4.1).
pub const PLATFORM_CONFIGURATION_CLAIM: &str =
    "https://purl.imsglobal.org/spec/lti-platform-configuration";
/// The tool configuration claim of the registration (LTI DR §3.5.2).
pub const TOOL_CONFIGURATION_CLAIM: &str = "https://purl.imsglobal.org/spec/lti-tool-configuration";
/// Canvas's privacy level extension of the tool configuration.
pub const CANVAS_PRIVACY_LEVEL: &str = "https://canvas.instructure.com/lti/privacy_level";

/// How long a checked configuration waits for the administrator's confirmation. Moodle's
/// registration tokens live an hour; a confirmation page left open longer starts again.
pub const PENDING_LIFETIME: time::Duration = time::Duration::minutes(20);

/// The largest document accepted from a platform.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// Timeout of one request to the platform.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Sent with every request to the platform.
pub const USER_AGENT: &str = concat!("serverless-lti-tool/", env!("CARGO_PKG_VERSION"));

/// A registration token (LTI DR §3.3): a bearer credential for one registration. `Debug`
/// prints `RegistrationToken([redacted])`; there is no `Display` and no `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistrationToken(String);

impl RegistrationToken {
    /// Wraps the token the platform passed.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The token, for the `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RegistrationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RegistrationToken([redacted])")
    }
}

/// Why a dynamic registration was refused. Every refusal stores nothing.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    /// No `openid_configuration` parameter.
    #[error("the request has no openid_configuration parameter")]
    MissingConfigurationUrl,
    /// A URL the platform gave is unusable (not absolute, not https, has credentials).
    #[error("{field} {url:?} is not usable: {reason}")]
    UnusableUrl {
        /// Which URL.
        field: &'static str,
        /// The value, for the log.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The configuration could not be fetched.
    #[error("the OpenID configuration could not be fetched: {0}")]
    ConfigurationUnreachable(String),
    /// The configuration URL answered with an error status.
    #[error("the OpenID configuration URL answered HTTP {0}")]
    ConfigurationStatus(u16),
    /// The configuration is not a JSON object of the expected shape.
    #[error("the OpenID configuration is not valid: {0}")]
    ConfigurationInvalid(String),
    /// A required member of the configuration is missing.
    #[error("the OpenID configuration has no {0}")]
    MissingField(&'static str),
    /// The issuer does not match the configuration URL (LTI DR §3.5.1).
    #[error("issuer {issuer:?} does not match the configuration URL {url:?}")]
    IssuerMismatch {
        /// The configuration's issuer.
        issuer: String,
        /// Where the configuration came from.
        url: String,
    },
    /// The registration endpoint refused the token (401 or 403): bad, used or expired.
    #[error("the registration endpoint refused the registration token (HTTP {0})")]
    TokenRefused(u16),
    /// The registration endpoint refused the registration (another 4xx).
    #[error("the registration endpoint refused the registration (HTTP {status}, {error})")]
    RegistrationRefused {
        /// The status.
        status: u16,
        /// The platform's `error` code, when it sent one (OpenID DCR §3.3).
        error: String,
    },
    /// The registration endpoint failed (5xx or an unexpected status).
    #[error("the registration endpoint failed with HTTP {0}")]
    RegistrationFailed(u16),
    /// The registration endpoint could not be reached.
    #[error("the registration endpoint could not be reached: {0}")]
    RegistrationUnreachable(String),
    /// The registration response is unusable (no `client_id`, bad JSON).
    #[error("the registration response is not valid: {0}")]
    ResponseInvalid(String),
    /// Issuer and client id were registered by another confirmation while this one was on
    /// its way (between the tool's look-up and its write): updating it now would change a
    /// registration without showing the administrator what changes, so nothing is written.
    /// (A registration the tool already had when the platform answered is updated instead,
    /// see [`crate::lti13::registration_update`].)
    #[error("issuer {issuer} with client id {client_id} was registered meanwhile")]
    AlreadyRegistered {
        /// The issuer.
        issuer: Issuer,
        /// The client id.
        client_id: ClientId,
    },
    /// The registration an update was proposed for changed (or was removed) after the
    /// administrator was shown the changes: the confirmed changes no longer describe what
    /// would happen, so nothing is written.
    #[error("issuer {issuer} with client id {client_id} changed since the update was proposed")]
    RegistrationChanged {
        /// The issuer.
        issuer: Issuer,
        /// The client id.
        client_id: ClientId,
    },
    /// The confirmation refers to no pending registration or update (expired, or used
    /// already).
    #[error("no pending registration with this id (expired or used)")]
    UnknownPending,
    /// The confirmation was not posted by the tool's own page.
    #[error("the confirmation was not posted from the tool's own page")]
    CrossSiteConfirmation,
    /// Registration is by invitation, and the request carries none (no `invitation`
    /// parameter).
    #[error("registration is by invitation and the request carries none")]
    InvitationRequired,
    /// The invitation is not one the tool holds: revoked, mistyped, or never issued.
    #[error("the invitation is unknown (revoked, mistyped or never issued)")]
    InvitationUnknown,
    /// The invitation has expired.
    #[error("the invitation expired at {0}")]
    InvitationExpired(OffsetDateTime),
    /// The invitation was used by a confirmed registration already.
    #[error("the invitation was used at {0}")]
    InvitationUsed(OffsetDateTime),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Which platform URLs the tool will call.
#[derive(Debug, Clone, Copy, Default)]
pub struct UrlPolicy {
    /// Accept `http://` on a loopback host (`localhost`, `127.0.0.1`, `[::1]`). Only for
    /// `ltictl serve` and tests: on Lambda, loopback is the runtime API.
    pub allow_http_loopback: bool,
}

impl UrlPolicy {
    /// Parses and checks a platform URL: absolute, `https` (or loopback `http` when allowed),
    /// no user name or password.
    pub fn check(&self, field: &'static str, text: &str) -> Result<Url, RegistrationError> {
        let unusable = |reason| RegistrationError::UnusableUrl {
            field,
            url: text.chars().take(300).collect(),
            reason,
        };
        let url = Url::parse(text).map_err(|_| unusable("not an absolute URL"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(unusable("has credentials"));
        }
        let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        match url.scheme() {
            "https" if url.host().is_some() => Ok(url),
            "http" if loopback && self.allow_http_loopback => Ok(url),
            _ => Err(unusable("must be an https:// URL")),
        }
    }
}

/// A platform's OpenID configuration, checked (LTI DR §3.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformConfiguration {
    /// `issuer`, exactly as the platform will send it in id_tokens.
    pub issuer: Issuer,
    /// `authorization_endpoint` (OIDC authentication requests).
    pub auth_url: Url,
    /// `token_endpoint` (client-credentials grants for AGS and NRPS).
    pub token_url: Url,
    /// `jwks_uri` (the platform's keys).
    pub jwks_url: Url,
    /// `registration_endpoint`.
    pub registration_url: Url,
    /// `authorization_server`: the `aud` of client assertions when it differs from the token
    /// endpoint (LTI DR §3.4.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_server: Option<String>,
    /// `scopes_supported`, when listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    /// `product_family_code` (`moodle`, `canvas`, `sakai`, `desire2learn`…).
    pub product_family_code: String,
    /// `version`, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// A human-readable name for the platform (Canvas's account name, else the product and
    /// host), for operators.
    pub display_name: String,
}

impl PlatformConfiguration {
    /// Whether the platform is Canvas (which takes placements and its privacy extension).
    pub fn is_canvas(&self) -> bool {
        self.product_family_code.eq_ignore_ascii_case("canvas")
    }

    /// The `aud` of client assertions to keep for this platform: its `authorization_server`
    /// when it declares one that differs from the token endpoint (LTI DR §3.4.1).
    pub fn token_audience(&self) -> Option<String> {
        self.authorization_server
            .clone()
            .filter(|aud| aud != self.token_url.as_str())
    }

    /// The scopes the tool will ask this platform for: the tool's scopes the platform lists in
    /// `scopes_supported`, or all of them when it lists none.
    pub fn scopes_to_request(&self) -> Vec<&'static str> {
        match &self.scopes_supported {
            Some(supported) => requested_scopes()
                .into_iter()
                .filter(|s| supported.iter().any(|x| x == s))
                .collect(),
            None => requested_scopes(),
        }
    }
}

/// Whether `issuer` matches the URL its configuration came from (LTI DR §3.5.1): same scheme,
/// host and port, and the configuration URL's path starts with the issuer's path on a segment
/// boundary. `https://lms.example/moodle` matches `https://lms.example/moodle/mod/lti/...` but
/// not `https://lms.example/moodle2/...` or `https://evil.example/...`.
pub fn issuer_matches(issuer: &Url, configuration_url: &Url) -> bool {
    if issuer.scheme() != configuration_url.scheme()
        || issuer.host_str() != configuration_url.host_str()
        || issuer.port_or_known_default() != configuration_url.port_or_known_default()
    {
        return false;
    }
    let prefix = issuer.path().trim_end_matches('/');
    let path = configuration_url.path();
    prefix.is_empty()
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The OpenID configuration members the tool reads (the rest is ignored).
#[derive(Deserialize)]
struct RawConfiguration {
    issuer: Option<String>,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
    jwks_uri: Option<String>,
    registration_endpoint: Option<String>,
    #[serde(default)]
    authorization_server: Option<String>,
    #[serde(default)]
    scopes_supported: Option<Vec<String>>,
    #[serde(rename = "https://purl.imsglobal.org/spec/lti-platform-configuration")]
    platform: Option<RawPlatform>,
}

#[derive(Deserialize)]
struct RawPlatform {
    product_family_code: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default, rename = "https://canvas.instructure.com/lti/account_name")]
    account_name: Option<String>,
}

/// Parses and checks an OpenID configuration fetched from `configuration_url`.
pub fn check_configuration(
    configuration_url: &Url,
    body: &[u8],
    policy: UrlPolicy,
) -> Result<PlatformConfiguration, RegistrationError> {
    let raw: RawConfiguration = serde_json::from_slice(body)
        .map_err(|e| RegistrationError::ConfigurationInvalid(e.to_string()))?;
    let required = |value: Option<String>, name: &'static str| {
        value
            .filter(|v| !v.trim().is_empty())
            .ok_or(RegistrationError::MissingField(name))
    };
    let issuer_text = required(raw.issuer, "issuer")?;
    let auth = required(raw.authorization_endpoint, "authorization_endpoint")?;
    let token = required(raw.token_endpoint, "token_endpoint")?;
    let jwks = required(raw.jwks_uri, "jwks_uri")?;
    let registration = required(raw.registration_endpoint, "registration_endpoint")?;
    let platform = raw.platform.ok_or(RegistrationError::MissingField(
        PLATFORM_CONFIGURATION_CLAIM,
    ))?;
    let product = required(platform.product_family_code, "product_family_code")?;

    let issuer_url = policy.check("issuer", &issuer_text)?;
    if issuer_url.query().is_some() || issuer_url.fragment().is_some() {
        return Err(RegistrationError::UnusableUrl {
            field: "issuer",
            url: issuer_text,
            reason: "has a query or fragment",
        });
    }
    if !issuer_matches(&issuer_url, configuration_url) {
        return Err(RegistrationError::IssuerMismatch {
            issuer: issuer_text,
            url: configuration_url.to_string(),
        });
    }
    let issuer = Issuer::parse(issuer_text.as_str())
        .map_err(|e| RegistrationError::ConfigurationInvalid(format!("issuer: {e}")))?;
    let host = issuer_url.host_str().unwrap_or_default().to_owned();
    // Platform-supplied text is stored and later printed in an operator's terminal: no
    // control characters or escape sequences (see `domain::text`).
    let product = strip_controls(&product);
    let display_name = platform
        .account_name
        .map(|n| strip_controls(&n))
        .filter(|n| !n.trim().is_empty())
        .map(|n| format!("{} ({product})", n.trim()))
        .unwrap_or_else(|| format!("{product} at {host}"));
    Ok(PlatformConfiguration {
        issuer,
        auth_url: policy.check("authorization_endpoint", &auth)?,
        token_url: policy.check("token_endpoint", &token)?,
        jwks_url: policy.check("jwks_uri", &jwks)?,
        registration_url: policy.check("registration_endpoint", &registration)?,
        authorization_server: raw.authorization_server.filter(|s| !s.trim().is_empty()),
        scopes_supported: raw.scopes_supported,
        product_family_code: product,
        version: platform.version.map(|v| strip_controls(&v)),
        display_name: display_name.chars().take(200).collect(),
    })
}

/// The tool's registration request (LTI DR §3.5.2; OpenID DCR client metadata): the login,
/// redirect (launch and deep-link) and key set URLs, `private_key_jwt` client authentication,
/// the AGS and NRPS scopes the platform supports, and the LTI tool configuration with the
/// resource-link and deep-linking messages. For Canvas the messages carry placements, and the
/// privacy level is always stated (other platforms ignore what they do not know, OpenID DCR
/// §2).
pub fn registration_request(
    tool: &ToolUrls,
    profile: &ToolProfile,
    platform: &PlatformConfiguration,
) -> Value {
    let launch = tool.launch().to_string();
    let deep_link = tool.deep_link().to_string();
    let mut resource_link = json!({
        "type": "LtiResourceLinkRequest",
        "target_link_uri": launch,
        "label": profile.title,
    });
    let mut deep_linking = json!({
        "type": "LtiDeepLinkingRequest",
        "target_link_uri": deep_link,
        "label": profile.title,
    });
    if platform.is_canvas() {
        resource_link["placements"] = json!(["course_navigation"]);
        resource_link["https://canvas.instructure.com/lti/visibility"] = json!("admins");
        resource_link["https://canvas.instructure.com/lti/course_navigation/default_enabled"] =
            json!(false);
        deep_linking["placements"] = json!(["assignment_selection", "link_selection"]);
    }
    let custom: serde_json::Map<String, Value> = CUSTOM_PARAMETERS
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
        .collect();
    json!({
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": tool.login().to_string(),
        "redirect_uris": [launch, deep_link],
        "client_name": profile.title,
        "jwks_uri": tool.jwks().to_string(),
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": platform.scopes_to_request().join(" "),
        TOOL_CONFIGURATION_CLAIM: {
            "domain": tool.domain(),
            "description": profile.description,
            "target_link_uri": launch,
            "custom_parameters": custom,
            "claims": profile.privacy.claims(),
            "messages": [resource_link, deep_linking],
            CANVAS_PRIVACY_LEVEL: profile.privacy.as_str(),
        },
    })
}

/// What the platform answered to a registration (LTI DR §3.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredClient {
    /// The tool's client id on the platform.
    pub client_id: ClientId,
    /// The deployment the platform created, when it did (Moodle does; Canvas deploys later).
    pub deployment_id: Option<DeploymentId>,
}

#[derive(Deserialize)]
struct RawResponse {
    client_id: Option<Value>,
    #[serde(
        default,
        rename = "https://purl.imsglobal.org/spec/lti-tool-configuration"
    )]
    tool: Option<RawToolConfiguration>,
}

#[derive(Deserialize)]
struct RawToolConfiguration {
    #[serde(default)]
    deployment_id: Option<Value>,
}

/// A JSON string, or a number written as a string (some platforms send numeric ids).
fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parses a successful registration response.
pub fn parse_registration_response(body: &[u8]) -> Result<RegisteredClient, RegistrationError> {
    let raw: RawResponse = serde_json::from_slice(body)
        .map_err(|e| RegistrationError::ResponseInvalid(e.to_string()))?;
    let client_id = raw
        .client_id
        .as_ref()
        .and_then(id_text)
        .ok_or_else(|| RegistrationError::ResponseInvalid("no client_id".into()))?;
    let client_id = ClientId::parse(client_id)
        .map_err(|e| RegistrationError::ResponseInvalid(format!("client_id: {e}")))?;
    let deployment_id =
        match raw.tool.and_then(|t| t.deployment_id) {
            None | Some(Value::Null) => None,
            Some(value) => {
                let text = id_text(&value).ok_or_else(|| {
                    RegistrationError::ResponseInvalid("deployment_id is not a string".into())
                })?;
                Some(DeploymentId::parse(text).map_err(|e| {
                    RegistrationError::ResponseInvalid(format!("deployment_id: {e}"))
                })?)
            }
        };
    Ok(RegisteredClient {
        client_id,
        deployment_id,
    })
}

/// The registration to store for a platform that accepted the tool.
pub fn registration_record(
    platform: &PlatformConfiguration,
    client: &RegisteredClient,
    status: Status,
    now: OffsetDateTime,
) -> Registration {
    let token_audience = platform.token_audience();
    Registration {
        issuer: platform.issuer.clone(),
        client_id: client.client_id.clone(),
        deployment_ids: client
            .deployment_id
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>(),
        auth_url: platform.auth_url.clone(),
        token_url: platform.token_url.clone(),
        jwks_url: platform.jwks_url.clone(),
        name: Some(strip_controls(&platform.display_name)),
        status,
        options: PlatformOptions {
            token_audience,
            ..PlatformOptions::default()
        },
        created_at: now,
    }
}

/// A checked configuration waiting for the administrator's confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRegistration {
    /// The checked configuration.
    pub platform: PlatformConfiguration,
    /// The registration token, when the platform gave one.
    pub token: Option<RegistrationToken>,
    /// The store key of the invitation this registration was opened with (a SHA-256 hash,
    /// never the invitation itself; see `app::invitations`), consumed when the administrator
    /// confirms. `None` when the operator opened registration without invitations.
    pub invitation: Option<String>,
}

/// The stored form of a [`PendingRegistration`]. It lives only in the store's short-lived
/// items (never in a log or a page) until the confirmation takes it.
#[derive(Serialize, Deserialize)]
struct StoredPending {
    platform: PlatformConfiguration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    invitation: Option<String>,
}

impl PendingRegistration {
    /// The value to keep in the store.
    pub fn to_stored(&self) -> Result<String, StoreError> {
        serde_json::to_string(&StoredPending {
            platform: self.platform.clone(),
            token: self.token.as_ref().map(|t| t.expose().to_owned()),
            invitation: self.invitation.clone(),
        })
        .map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    /// Reads a stored value back.
    pub fn from_stored(text: &str) -> Result<Self, StoreError> {
        let stored: StoredPending =
            serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(Self {
            platform: stored.platform,
            token: stored.token.map(RegistrationToken::new),
            invitation: stored.invitation,
        })
    }
}

/// A fresh, unguessable id for a pending registration (122 random bits).
pub fn fresh_pending_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lti13::lms_config::{AGS_SCOPES, NRPS_SCOPE};

    const STRICT: UrlPolicy = UrlPolicy {
        allow_http_loopback: false,
    };

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn moodle() -> Value {
        json!({
            "issuer": "https://moodle.example.edu",
            "token_endpoint": "https://moodle.example.edu/mod/lti/token.php",
            "jwks_uri": "https://moodle.example.edu/mod/lti/certs.php",
            "authorization_endpoint": "https://moodle.example.edu/mod/lti/auth.php",
            "registration_endpoint": "https://moodle.example.edu/mod/lti/openid-registration.php",
            "scopes_supported": [
                "https://purl.imsglobal.org/spec/lti-bo/scope/basicoutcome",
                "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
                "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
                "https://purl.imsglobal.org/spec/lti-ags/scope/score",
                "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
                "openid"
            ],
            "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                "product_family_code": "moodle",
                "version": "4.3",
                "messages_supported": ["LtiResourceLink", "LtiDeepLinkingRequest"]
            }
        })
    }

    const MOODLE_CONFIG_URL: &str = "https://moodle.example.edu/mod/lti/openid-configuration.php";

    fn check(doc: &Value, from: &str) -> Result<PlatformConfiguration, RegistrationError> {
        check_configuration(&url(from), doc.to_string().as_bytes(), STRICT)
    }

    #[test]
    fn issuer_matches_same_origin_and_path_prefix_only() {
        let cfg = url("https://lms.example/moodle/mod/lti/openid-configuration.php");
        assert!(issuer_matches(&url("https://lms.example/moodle"), &cfg));
        assert!(issuer_matches(&url("https://lms.example/moodle/"), &cfg));
        assert!(issuer_matches(&url("https://lms.example"), &cfg));
        assert!(!issuer_matches(&url("https://lms.example/moo"), &cfg));
        assert!(!issuer_matches(&url("https://evil.example"), &cfg));
        assert!(!issuer_matches(&url("http://lms.example/moodle"), &cfg));
        assert!(!issuer_matches(
            &url("https://lms.example:8443/moodle"),
            &cfg
        ));
        assert!(!issuer_matches(
            &url("https://lms.example.evil.example"),
            &cfg
        ));
    }

    #[test]
    fn check_configuration_moodle_document_is_accepted() {
        let platform = check(&moodle(), MOODLE_CONFIG_URL).unwrap();
        assert_eq!(platform.issuer.as_str(), "https://moodle.example.edu");
        assert_eq!(platform.product_family_code, "moodle");
        assert_eq!(platform.display_name, "moodle at moodle.example.edu");
        let mut scopes = platform.scopes_to_request();
        scopes.sort_unstable();
        let mut expected = requested_scopes();
        expected.sort_unstable();
        assert_eq!(scopes, expected);
    }

    #[test]
    fn check_configuration_issuer_elsewhere_is_refused() {
        let mut doc = moodle();
        doc["issuer"] = "https://other.example.edu".into();
        assert!(matches!(
            check(&doc, MOODLE_CONFIG_URL),
            Err(RegistrationError::IssuerMismatch { .. })
        ));
    }

    #[test]
    fn check_configuration_missing_fields_are_named() {
        for field in [
            "issuer",
            "authorization_endpoint",
            "token_endpoint",
            "jwks_uri",
            "registration_endpoint",
        ] {
            let mut doc = moodle();
            doc.as_object_mut().unwrap().remove(field);
            match check(&doc, MOODLE_CONFIG_URL) {
                Err(RegistrationError::MissingField(name)) => assert_eq!(name, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        let mut doc = moodle();
        doc.as_object_mut()
            .unwrap()
            .remove(PLATFORM_CONFIGURATION_CLAIM);
        assert!(matches!(
            check(&doc, MOODLE_CONFIG_URL),
            Err(RegistrationError::MissingField(
                PLATFORM_CONFIGURATION_CLAIM
            ))
        ));
    }

    #[test]
    fn check_configuration_http_endpoint_is_refused() {
        let mut doc = moodle();
        doc["registration_endpoint"] = "http://moodle.example.edu/reg".into();
        assert!(matches!(
            check(&doc, MOODLE_CONFIG_URL),
            Err(RegistrationError::UnusableUrl {
                field: "registration_endpoint",
                ..
            })
        ));
        assert!(check(&json!([1, 2]), MOODLE_CONFIG_URL).is_err());
        assert!(check_configuration(&url(MOODLE_CONFIG_URL), b"\xff{", STRICT).is_err());
    }

    #[test]
    fn url_policy_loopback_http_only_when_allowed() {
        assert!(STRICT.check("x", "http://127.0.0.1:9001/next").is_err());
        assert!(STRICT.check("x", "http://169.254.169.254/latest").is_err());
        assert!(STRICT.check("x", "https://user:pw@lms.example/").is_err());
        assert!(STRICT.check("x", "https://lms.example/").is_ok());
        let local = UrlPolicy {
            allow_http_loopback: true,
        };
        assert!(local.check("x", "http://127.0.0.1:9001/x").is_ok());
        assert!(local.check("x", "http://lms.example/").is_err());
    }

    fn canvas_platform() -> PlatformConfiguration {
        let doc = json!({
            "issuer": "https://canvas.instructure.com",
            "authorization_endpoint": "https://sso.canvaslms.com/api/lti/authorize_redirect",
            "registration_endpoint": "https://canvas.instructure.com/api/lti/registrations",
            "jwks_uri": "https://sso.canvaslms.com/api/lti/security/jwks",
            "token_endpoint": "https://sso.canvaslms.com/login/oauth2/token",
            "scopes_supported": [AGS_SCOPES[3], NRPS_SCOPE],
            "authorization_server": "https://canvas.instructure.com",
            "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                "product_family_code": "canvas",
                "version": "vCloud",
                "https://canvas.instructure.com/lti/account_name": "Test University"
            }
        });
        check(
            &doc,
            "https://canvas.instructure.com/api/lti/security/openid-configuration",
        )
        .unwrap()
    }

    #[test]
    fn registration_request_canvas_has_placements_and_supported_scopes_only() {
        let tool = ToolUrls::new(&url("https://lti.example.edu"));
        let platform = canvas_platform();
        assert_eq!(platform.display_name, "Test University (canvas)");
        let body = registration_request(&tool, &ToolProfile::default(), &platform);
        assert_eq!(
            body["redirect_uris"],
            json!([
                "https://lti.example.edu/launch",
                "https://lti.example.edu/deep-link"
            ])
        );
        assert_eq!(body["initiate_login_uri"], "https://lti.example.edu/login");
        assert_eq!(body["token_endpoint_auth_method"], "private_key_jwt");
        assert_eq!(body["scope"], format!("{} {NRPS_SCOPE}", AGS_SCOPES[3]));
        let config = &body[TOOL_CONFIGURATION_CLAIM];
        assert_eq!(config["domain"], "lti.example.edu");
        assert_eq!(config[CANVAS_PRIVACY_LEVEL], "anonymous");
        assert_eq!(config["claims"], json!(["iss", "sub"]));
        assert_eq!(config["messages"][1]["type"], "LtiDeepLinkingRequest");
        assert_eq!(
            config["messages"][1]["target_link_uri"],
            "https://lti.example.edu/deep-link"
        );
        assert_eq!(
            config["messages"][1]["placements"],
            json!(["assignment_selection", "link_selection"])
        );
        let moodle = check(&moodle(), MOODLE_CONFIG_URL).unwrap();
        let body = registration_request(&tool, &ToolProfile::default(), &moodle);
        assert!(body[TOOL_CONFIGURATION_CLAIM]["messages"][1]["placements"].is_null());
    }

    #[test]
    fn registration_request_asks_for_name_claims_only_at_levels_with_names() {
        use crate::lti13::lms_config::PrivacyLevel;
        let tool = ToolUrls::new(&url("https://lti.example.edu"));
        let moodle = check(&moodle(), MOODLE_CONFIG_URL).unwrap();
        let expected = [
            (PrivacyLevel::Anonymous, json!(["iss", "sub"])),
            (
                PrivacyLevel::NameOnly,
                json!(["iss", "sub", "name", "given_name", "family_name"]),
            ),
            (PrivacyLevel::EmailOnly, json!(["iss", "sub", "email"])),
            (
                PrivacyLevel::Public,
                json!(["iss", "sub", "name", "given_name", "family_name", "email"]),
            ),
        ];
        for (level, claims) in expected {
            let profile = ToolProfile {
                privacy: level,
                ..ToolProfile::default()
            };
            let config = &registration_request(&tool, &profile, &moodle)[TOOL_CONFIGURATION_CLAIM];
            assert_eq!(config["claims"], claims, "{level:?}");
            assert_eq!(config[CANVAS_PRIVACY_LEVEL], level.as_str());
        }
        assert_eq!(
            ToolProfile::default().privacy,
            PrivacyLevel::Anonymous,
            "the default is the most private"
        );
    }

    #[test]
    fn parse_registration_response_reads_client_and_optional_deployment() {
        let moodle = json!({"client_id": "fYQt5KS4vCinujE",
            TOOL_CONFIGURATION_CLAIM: {"deployment_id": "119"}});
        let client = parse_registration_response(moodle.to_string().as_bytes()).unwrap();
        assert_eq!(client.client_id.as_str(), "fYQt5KS4vCinujE");
        assert_eq!(client.deployment_id.unwrap().as_str(), "119");
        let canvas = json!({"client_id": 10000000000001_u64, "client_name": "x"});
        let client = parse_registration_response(canvas.to_string().as_bytes()).unwrap();
        assert_eq!(client.client_id.as_str(), "10000000000001");
        assert_eq!(client.deployment_id, None);
        for bad in [
            json!({}),
            json!({"client_id": ""}),
            json!({"client_id": ["x"]}),
        ] {
            assert!(matches!(
                parse_registration_response(bad.to_string().as_bytes()),
                Err(RegistrationError::ResponseInvalid(_))
            ));
        }
    }

    #[test]
    fn registration_record_keeps_audience_only_when_it_differs() {
        let platform = canvas_platform();
        let client = RegisteredClient {
            client_id: ClientId::parse("10000000000001").unwrap(),
            deployment_id: None,
        };
        let now = OffsetDateTime::UNIX_EPOCH;
        let record = registration_record(&platform, &client, Status::Pending, now);
        assert_eq!(record.status, Status::Pending);
        assert!(record.deployment_ids.is_empty());
        assert_eq!(
            record.options.token_audience.as_deref(),
            Some("https://canvas.instructure.com")
        );
        assert_eq!(record.name.as_deref(), Some("Test University (canvas)"));
    }

    #[test]
    fn pending_registration_round_trips_and_hides_the_token_in_debug() {
        let pending = PendingRegistration {
            platform: canvas_platform(),
            token: Some(RegistrationToken::new("reg-token-secret")),
            invitation: Some("0123abcd".into()),
        };
        let stored = pending.to_stored().unwrap();
        assert_eq!(PendingRegistration::from_stored(&stored).unwrap(), pending);
        assert!(!format!("{pending:?}").contains("reg-token-secret"));
    }
}
