//! The Dynamic Registration client (LTI Dynamic Registration 1.0 §3.4, §3.5): fetches a
//! platform's OpenID configuration and posts the tool's registration, over HTTP, checking both
//! with the codec in [`crate::lti13::dynamic_registration`].

use serde_json::Value;

use crate::lti13::dynamic_registration::{
    MAX_DOCUMENT_BYTES, PlatformConfiguration, REQUEST_TIMEOUT, RegisteredClient,
    RegistrationError, RegistrationToken, USER_AGENT, UrlPolicy, check_configuration,
    parse_registration_response,
};

/// Talks to platforms: fetches OpenID configurations and posts registrations.
#[derive(Debug, Clone)]
pub struct Registrar {
    http: reqwest::Client,
    /// Which URLs may be called.
    pub policy: UrlPolicy,
}

impl Registrar {
    /// A client with [`REQUEST_TIMEOUT`], no redirects, and `policy`.
    pub fn new(policy: UrlPolicy) -> Self {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(USER_AGENT)
            .build()
            .unwrap_or_default();
        Self { http, policy }
    }

    /// Fetches and checks the OpenID configuration at `url_text`, sending `token` as bearer
    /// when given (Canvas requires it; LTI DR §3.4 lets platforms protect the document).
    pub async fn fetch_configuration(
        &self,
        url_text: &str,
        token: Option<&RegistrationToken>,
    ) -> Result<PlatformConfiguration, RegistrationError> {
        let url = self.policy.check("openid_configuration", url_text)?;
        let mut request = self
            .http
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(token) = token {
            request = request.bearer_auth(token.expose());
        }
        let response = request
            .send()
            .await
            .map_err(|e| RegistrationError::ConfigurationUnreachable(transport(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(RegistrationError::ConfigurationStatus(status.as_u16()));
        }
        let body = read_limited(response)
            .await
            .map_err(RegistrationError::ConfigurationUnreachable)?;
        check_configuration(&url, &body, self.policy)
    }

    /// Posts `request` to the platform's registration endpoint with `token` as bearer.
    pub async fn register(
        &self,
        platform: &PlatformConfiguration,
        token: Option<&RegistrationToken>,
        request: &Value,
    ) -> Result<RegisteredClient, RegistrationError> {
        let url = self
            .policy
            .check("registration_endpoint", platform.registration_url.as_str())?;
        let mut call = self
            .http
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .json(request);
        if let Some(token) = token {
            call = call.bearer_auth(token.expose());
        }
        let response = call
            .send()
            .await
            .map_err(|e| RegistrationError::RegistrationUnreachable(transport(&e)))?;
        let status = response.status().as_u16();
        let body = read_limited(response)
            .await
            .map_err(RegistrationError::RegistrationUnreachable)?;
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

/// A transport error's text without its URL (which may carry a query the platform chose).
fn transport(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return format!("no answer within {} s", REQUEST_TIMEOUT.as_secs());
    }
    if error.is_connect() {
        return "connection refused or host unreachable".into();
    }
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), "the URL");
    }
    text
}

/// The body, refused once it passes [`MAX_DOCUMENT_BYTES`].
async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let too_large = || format!("the answer is larger than {MAX_DOCUMENT_BYTES} bytes");
    if response
        .content_length()
        .is_some_and(|len| len > MAX_DOCUMENT_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport(&e))? {
        if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
