//! The Dynamic Registration client (LTI Dynamic Registration 1.0 §3.4, §3.5): fetches a
//! platform's OpenID configuration and posts the tool's registration, over HTTP, checking both
//! with the codec in [`crate::lti13::dynamic_registration`].

use serde_json::Value;

use crate::adapters::http_client::{OutboundClient, OutboundError, OutboundPolicy, read_capped};
use crate::lti13::dynamic_registration::{
    MAX_DOCUMENT_BYTES, PlatformConfiguration, REQUEST_TIMEOUT, RegisteredClient,
    RegistrationError, RegistrationToken, USER_AGENT, UrlPolicy, check_configuration,
    parse_registration_response,
};

/// Talks to platforms: fetches OpenID configurations and posts registrations.
///
/// Requests go through an [`OutboundClient`] (no redirects, [`REQUEST_TIMEOUT`], bodies read
/// up to [`MAX_DOCUMENT_BYTES`], built on first use); a URL its [`OutboundPolicy`] refuses,
/// before sending or at connect time, is [`RegistrationError::UnusableUrl`].
#[derive(Debug, Clone)]
pub struct Registrar {
    http: OutboundClient,
    /// Which URLs may be called.
    pub policy: UrlPolicy,
}

impl Registrar {
    /// A client with [`REQUEST_TIMEOUT`], no redirects, and `policy`; the outbound policy
    /// follows it: [`OutboundPolicy::local`] when `policy` allows http on loopback (local
    /// runs), [`OutboundPolicy::lambda`] otherwise.
    pub fn new(policy: UrlPolicy) -> Self {
        let outbound = if policy.allow_http_loopback {
            OutboundPolicy::local()
        } else {
            OutboundPolicy::lambda()
        };
        Self::with_outbound(policy, outbound)
    }

    /// A client with [`REQUEST_TIMEOUT`], no redirects, `policy` for the URLs it accepts and
    /// `outbound` for where requests may go.
    pub fn with_outbound(policy: UrlPolicy, outbound: OutboundPolicy) -> Self {
        let http = OutboundClient::new(outbound, REQUEST_TIMEOUT, USER_AGENT);
        Self { http, policy }
    }

    /// Fetches and checks the OpenID configuration at `url_text`, sending `token` as bearer
    /// when given (Canvas requires it; LTI DR §3.4 lets platforms protect the document).
    pub async fn fetch_configuration(
        &self,
        url_text: &str,
        token: Option<&RegistrationToken>,
    ) -> Result<PlatformConfiguration, RegistrationError> {
        const FIELD: &str = "openid_configuration";
        let url = self.policy.check(FIELD, url_text)?;
        let failed = |error| {
            outbound_error(
                FIELD,
                &url,
                error,
                RegistrationError::ConfigurationUnreachable,
            )
        };
        let mut request = self
            .http
            .get(url.clone())
            .map_err(failed)?
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(token) = token {
            request = request.bearer_auth(token.expose());
        }
        let response = self.http.send(request).await.map_err(failed)?;
        let status = response.status();
        if !status.is_success() {
            return Err(RegistrationError::ConfigurationStatus(status.as_u16()));
        }
        let body = read_capped(response, MAX_DOCUMENT_BYTES)
            .await
            .map_err(failed)?;
        check_configuration(&url, &body, self.policy)
    }

    /// Posts `request` to the platform's registration endpoint with `token` as bearer.
    pub async fn register(
        &self,
        platform: &PlatformConfiguration,
        token: Option<&RegistrationToken>,
        request: &Value,
    ) -> Result<RegisteredClient, RegistrationError> {
        const FIELD: &str = "registration_endpoint";
        let url = self
            .policy
            .check(FIELD, platform.registration_url.as_str())?;
        let failed = |error| {
            outbound_error(
                FIELD,
                &url,
                error,
                RegistrationError::RegistrationUnreachable,
            )
        };
        let mut call = self
            .http
            .post(url.clone())
            .map_err(failed)?
            .header(reqwest::header::ACCEPT, "application/json")
            .json(request);
        if let Some(token) = token {
            call = call.bearer_auth(token.expose());
        }
        let response = self.http.send(call).await.map_err(failed)?;
        let status = response.status().as_u16();
        let body = read_capped(response, MAX_DOCUMENT_BYTES)
            .await
            .map_err(failed)?;
        match status {
            200 | 201 => parse_registration_response(&body),
            401 | 403 => Err(RegistrationError::TokenRefused(status)),
            400..=499 => Err(RegistrationError::RegistrationRefused {
                status,
                error: error_code(&body),
            }),
            _ => Err(RegistrationError::RegistrationFailed(status)),
        }
    }
}

/// The `error` member of an OpenID DCR error response (§3.3), or Canvas's `errors`, cut short;
/// it goes to the log only.
fn error_code(body: &[u8]) -> String {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = match (&value["error"], &value["errors"]) {
        (Value::String(code), _) => code.clone(),
        (_, errors @ Value::Array(_)) => errors.to_string(),
        _ => "no error code".into(),
    };
    text.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// An [`OutboundError`] of a request to `url` (the platform's `field`) as a
/// [`RegistrationError`]: a refusal is [`RegistrationError::UnusableUrl`] (the detailed reason
/// goes to the log), anything else `unreachable` with a text that does not repeat the URL.
fn outbound_error(
    field: &'static str,
    url: &url::Url,
    error: OutboundError,
    unreachable: fn(String) -> RegistrationError,
) -> RegistrationError {
    match error {
        OutboundError::Refused(refusal) => {
            tracing::warn!(field, %refusal, "platform URL refused by the outbound policy");
            RegistrationError::UnusableUrl {
                field,
                url: url.as_str().chars().take(300).collect(),
                reason: refusal.rule(),
            }
        }
        OutboundError::Timeout => {
            unreachable(format!("no answer within {} s", REQUEST_TIMEOUT.as_secs()))
        }
        OutboundError::Connect(_) => unreachable("connection refused or host unreachable".into()),
        OutboundError::TooLarge { cap } => {
            unreachable(format!("the answer is larger than {cap} bytes"))
        }
        other @ (OutboundError::Transport(_) | OutboundError::Setup(_)) => {
            unreachable(other.to_string())
        }
    }
}
