//! OIDC third-party login initiation (Security Framework §5.1.1.1–§5.1.1.2; LTI Core 1.3 §4.1).
//!
//! The platform sends the browser to `/login`; the tool finds the registration, issues a
//! [`LoginState`] and a [`Nonce`] from the CSPRNG, stores them server-side with what they were
//! issued for ([`IssuedLogin`]), and answers with the authentication request to the platform.
//! The function binds the state to the browser (cookie and, when offered, Platform Storage).

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use url::Url;

use crate::domain::ids::{ClientId, DeploymentId, IdError, Issuer, TargetLinkUri};
use crate::domain::model::{Registration, Status};
use crate::domain::oidc::{LoginState, NoRandomness, Nonce};
use crate::domain::tool::ToolUrls;
use crate::ports::{ExpiringItems, ItemKind, PlatformRegistry, StoreError};

/// How long an issued state waits for its launch.
pub const STATE_LIFETIME: Duration = Duration::minutes(10);

/// What every state cookie's name starts with ([`state_cookie_name`]): a browser that sends
/// none at all keeps no cookies for the tool.
pub const STATE_COOKIE_PREFIX: &str = "__Host-lti_state_";

/// Why a login initiation was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// A required parameter is missing.
    #[error("the login request has no {0}")]
    MissingParameter(&'static str),
    /// A parameter is not usable.
    #[error("the login parameter {name} is invalid: {reason}")]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// Why.
        reason: String,
    },
    /// `target_link_uri` is not a URL of this tool.
    #[error("target_link_uri {0} does not belong to this tool")]
    ForeignTarget(String),
    /// No registration has this issuer (and client id).
    #[error("no registration for issuer {issuer}{}", client_id.as_ref().map(|c| format!(" and client id {c}")).unwrap_or_default())]
    UnknownPlatform {
        /// The issuer.
        issuer: Issuer,
        /// The client id, when sent.
        client_id: Option<ClientId>,
    },
    /// Several registrations share the issuer and the platform sent no client id.
    #[error("issuer {issuer} has {count} registrations and the login request has no client_id")]
    AmbiguousPlatform {
        /// The issuer.
        issuer: Issuer,
        /// How many registrations it has.
        count: usize,
    },
    /// The registration is disabled.
    #[error("the registration for {0} is disabled")]
    PlatformDisabled(Issuer),
    /// The registration awaits an operator's approval (made by dynamic registration).
    #[error("the registration for {0} is pending approval")]
    PlatformPending(Issuer),
    /// The deployment is not registered for the client.
    #[error("deployment {0} is not registered")]
    UnknownDeployment(DeploymentId),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The random generator failed.
    #[error("no randomness available")]
    Randomness,
}

/// The login initiation parameters (Security Framework §5.1.1.1; LTI Core 1.3 §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginParams {
    /// `iss`.
    pub issuer: Issuer,
    /// `login_hint`, passed back to the platform unchanged.
    pub login_hint: String,
    /// `target_link_uri`.
    pub target_link_uri: TargetLinkUri,
    /// `client_id`, when the platform sends it.
    pub client_id: Option<ClientId>,
    /// `lti_deployment_id`, when sent.
    pub deployment_id: Option<DeploymentId>,
    /// `lti_message_hint`, passed back unchanged.
    pub message_hint: Option<String>,
    /// `lti_storage_target`: the frame that offers LTI Platform Storage.
    pub storage_target: Option<String>,
}

impl From<NoRandomness> for LoginError {
    fn from(_: NoRandomness) -> Self {
        Self::Randomness
    }
}

fn invalid(name: &'static str) -> impl Fn(IdError) -> LoginError {
    move |e| LoginError::InvalidParameter {
        name,
        reason: e.to_string(),
    }
}

impl LoginParams {
    /// Parses the query or form parameters of a login request. The first value of a repeated
    /// parameter counts; empty values count as absent.
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, LoginError> {
        let mut found: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
        for (name, value) in pairs {
            if !value.is_empty() {
                found.entry(name).or_insert(value);
            }
        }
        let required = |name: &'static str| {
            found
                .get(name)
                .copied()
                .ok_or(LoginError::MissingParameter(name))
        };
        let issuer = Issuer::parse(required("iss")?).map_err(invalid("iss"))?;
        let login_hint = required("login_hint")?.to_owned();
        let target_link_uri = TargetLinkUri::parse(required("target_link_uri")?)
            .map_err(invalid("target_link_uri"))?;
        let client_id = found
            .get("client_id")
            .map(|c| ClientId::parse(*c))
            .transpose()
            .map_err(invalid("client_id"))?;
        let deployment_id = found
            .get("lti_deployment_id")
            .map(|d| DeploymentId::parse(*d))
            .transpose()
            .map_err(invalid("lti_deployment_id"))?;
        Ok(Self {
            issuer,
            login_hint,
            target_link_uri,
            client_id,
            deployment_id,
            message_hint: found.get("lti_message_hint").map(|s| (*s).to_owned()),
            storage_target: found.get("lti_storage_target").map(|s| (*s).to_owned()),
        })
    }
}

/// What a state was issued for, kept server-side until the launch (or expiry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedLogin {
    /// The registration's issuer.
    pub issuer: Issuer,
    /// The registration's client id.
    pub client_id: ClientId,
    /// The target the platform asked for; the launch's `target_link_uri` must equal it.
    pub target_link_uri: TargetLinkUri,
    /// The nonce sent in the authentication request; the id_token must carry it.
    pub nonce: Nonce,
    /// Kept to restart the login in a new window when the browser blocks the state cookie.
    pub login_hint: String,
    /// Kept for the same reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_hint: Option<String>,
    /// Kept for the same reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<DeploymentId>,
    /// The Platform Storage frame the platform offered, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_target: Option<String>,
}

impl IssuedLogin {
    /// The login URL that restarts this flow (for "open in a new window").
    pub fn restart_url(&self, tool: &ToolUrls) -> Url {
        let mut url = tool.login();
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("iss", self.issuer.as_str())
                .append_pair("login_hint", &self.login_hint)
                .append_pair("target_link_uri", self.target_link_uri.as_str())
                .append_pair("client_id", self.client_id.as_str());
            if let Some(hint) = &self.message_hint {
                query.append_pair("lti_message_hint", hint);
            }
            if let Some(deployment) = &self.deployment_id {
                query.append_pair("lti_deployment_id", deployment.as_str());
            }
        }
        url
    }
}

/// The outcome of a login initiation: where to send the browser, and the state to bind.
#[derive(Debug, Clone)]
pub struct LoginRedirect {
    /// The platform's authorization endpoint with the authentication request in the query.
    pub auth_request: Url,
    /// The state, to bind to the browser.
    pub state: LoginState,
    /// The Platform Storage frame, when the platform offered one.
    pub storage_target: Option<String>,
    /// The platform's origin (of its authorization endpoint), to which Platform Storage
    /// messages are addressed.
    pub platform_origin: String,
}

/// A fresh random token (256 bits, base64url without padding) for an opaque key that is
/// neither a state nor a nonce, such as a stored deep-linking request's id. States and nonces
/// come from [`LoginState::generate`] and [`Nonce::generate`].
pub fn random_token() -> Result<String, LoginError> {
    Ok(crate::domain::oidc::random_token()?)
}

async fn find_registration(
    params: &LoginParams,
    registry: &dyn PlatformRegistry,
) -> Result<Registration, LoginError> {
    let unknown = || LoginError::UnknownPlatform {
        issuer: params.issuer.clone(),
        client_id: params.client_id.clone(),
    };
    match &params.client_id {
        Some(client_id) => registry
            .platform(&params.issuer, client_id)
            .await?
            .ok_or_else(unknown),
        None => {
            let mut list = registry.platforms_of_issuer(&params.issuer).await?;
            match list.len() {
                0 => Err(unknown()),
                1 => Ok(list.remove(0)),
                count => Err(LoginError::AmbiguousPlatform {
                    issuer: params.issuer.clone(),
                    count,
                }),
            }
        }
    }
}

/// Handles a login initiation: checks it, stores the issued state and nonce, and builds the
/// authentication request (Security Framework §5.1.1.2).
pub async fn start_login(
    params: LoginParams,
    registry: &dyn PlatformRegistry,
    items: &dyn ExpiringItems,
    tool: &ToolUrls,
    now: OffsetDateTime,
) -> Result<LoginRedirect, LoginError> {
    if !tool.owns(params.target_link_uri.as_url()) {
        return Err(LoginError::ForeignTarget(
            params.target_link_uri.to_string(),
        ));
    }
    let registration = find_registration(&params, registry).await?;
    match registration.status {
        Status::Active => {}
        Status::Disabled => return Err(LoginError::PlatformDisabled(registration.issuer)),
        Status::Pending => return Err(LoginError::PlatformPending(registration.issuer)),
    }
    if let Some(deployment) = &params.deployment_id
        && !registration.deployment_ids.contains(deployment)
    {
        return Err(LoginError::UnknownDeployment(deployment.clone()));
    }
    let state = LoginState::generate()?;
    let nonce = Nonce::generate()?;
    let issued = IssuedLogin {
        issuer: registration.issuer.clone(),
        client_id: registration.client_id.clone(),
        target_link_uri: params.target_link_uri.clone(),
        nonce: nonce.clone(),
        login_hint: params.login_hint.clone(),
        message_hint: params.message_hint.clone(),
        deployment_id: params.deployment_id.clone(),
        storage_target: params.storage_target.clone(),
    };
    let record = serde_json::to_string(&issued).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    items
        .put_item(
            ItemKind::LoginState,
            state.as_str(),
            &record,
            now + STATE_LIFETIME,
        )
        .await?;

    let mut auth_request = registration.auth_url.clone();
    {
        let mut query = auth_request.query_pairs_mut();
        query
            .append_pair("scope", "openid")
            .append_pair("response_type", "id_token")
            .append_pair("response_mode", "form_post")
            .append_pair("prompt", "none")
            .append_pair("client_id", registration.client_id.as_str())
            .append_pair(
                "redirect_uri",
                tool.redirect_uri_for(params.target_link_uri.as_url())
                    .as_str(),
            )
            .append_pair("login_hint", &params.login_hint)
            .append_pair("state", state.as_str())
            .append_pair("nonce", nonce.as_str());
        if let Some(hint) = &params.message_hint {
            query.append_pair("lti_message_hint", hint);
        }
    }
    Ok(LoginRedirect {
        platform_origin: registration.auth_url.origin().ascii_serialization(),
        auth_request,
        state,
        storage_target: params.storage_target,
    })
}

/// Reads the login a state was issued for, if it is still live.
pub async fn issued_login(
    items: &dyn ExpiringItems,
    state: &LoginState,
    now: OffsetDateTime,
) -> Result<Option<IssuedLogin>, StoreError> {
    match items
        .item(ItemKind::LoginState, state.as_str(), now)
        .await?
    {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(e.to_string())),
    }
}

/// The name of the cookie that binds `state` to the browser. One cookie per state, so two
/// launches in two frames of one page do not overwrite each other's binding; the `__Host-`
/// prefix makes the browser refuse it from any other host or without `Secure`.
pub fn state_cookie_name(state: &LoginState) -> String {
    format!("{STATE_COOKIE_PREFIX}{state}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(target: &str) -> Result<LoginParams, LoginError> {
        LoginParams::parse([
            ("iss", "https://lms.example"),
            ("login_hint", "hint"),
            ("target_link_uri", target),
        ])
    }

    #[test]
    fn parse_relative_target_link_uri_is_invalid() {
        match params("/launch") {
            Err(LoginError::InvalidParameter { name, reason }) => {
                assert_eq!(name, "target_link_uri");
                assert_eq!(reason, "relative URL without a base");
            }
            other => panic!("expected InvalidParameter, got {other:?}"),
        }
    }

    #[test]
    fn parse_absolute_target_link_uri_is_kept_as_url() {
        let parsed = params("https://tool.example/launch?item=q1").unwrap();
        assert_eq!(
            parsed.target_link_uri.as_str(),
            "https://tool.example/launch?item=q1"
        );
        // Any absolute URL parses; whether it is the tool's is start_login's check, which
        // refuses it as foreign.
        assert!(params("javascript:alert(1)").is_ok());
    }

    #[test]
    fn state_cookie_name_is_the_prefix_and_the_state() {
        let state = LoginState::parse("abc-_1").unwrap();
        assert_eq!(state_cookie_name(&state), "__Host-lti_state_abc-_1");
        assert!(state_cookie_name(&state).starts_with(STATE_COOKIE_PREFIX));
    }

    #[test]
    fn issued_login_reads_and_writes_the_stored_json_unchanged() {
        let stored = r#"{"issuer":"https://lms.example","client_id":"c1","target_link_uri":"https://tool.example/launch","nonce":"n-0S6_WzA2Mj","login_hint":"hint"}"#;
        let issued: IssuedLogin = serde_json::from_str(stored).unwrap();
        assert_eq!(issued.nonce.as_str(), "n-0S6_WzA2Mj");
        assert_eq!(
            issued.target_link_uri.as_str(),
            "https://tool.example/launch"
        );
        assert_eq!(serde_json::to_string(&issued).unwrap(), stored);
    }
}
