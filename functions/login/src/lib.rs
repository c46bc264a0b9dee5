//! The `login` function: OIDC third-party login initiation (Security Framework §5.1.1.1–2).
//!
//! Accepts GET and POST, checks the request, stores the issued state and nonce, binds the state
//! to the browser with a `Secure; HttpOnly; SameSite=None; Partitioned` cookie and — when the
//! platform offers `lti_storage_target` — with LTI Platform Storage, then sends the browser to
//! the platform's authorization endpoint.

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use lti_shared::domain::clock::Clock;
use lti_shared::domain::tool::ToolUrls;
use lti_shared::lti13::login::{
    LoginError, LoginParams, STATE_LIFETIME, start_login, state_cookie_name,
};
use lti_shared::ports::{ExpiringItems, PlatformRegistry};
use lti_shared::web::http::{html_response, param, params, redirect, request_id, set_cookie};
use lti_shared::web::pages::{ErrorPage, StorageLogin, render};

pub use lti_shared::web::binding::storage_key;

/// The `Set-Cookie` value binding `state` to the browser. `Partitioned` (CHIPS) keeps it
/// working inside the LMS iframe where third-party cookies are otherwise blocked.
pub fn state_cookie(state: &str) -> String {
    format!(
        "{}={state}; Path=/; Max-Age={}; Secure; HttpOnly; SameSite=None; Partitioned",
        state_cookie_name(state),
        STATE_LIFETIME.whole_seconds()
    )
}

/// The handler and the ports it uses.
pub struct Login {
    registry: Arc<dyn PlatformRegistry>,
    items: Arc<dyn ExpiringItems>,
    clock: Arc<dyn Clock>,
    tool: ToolUrls,
}

fn refusal(error: &LoginError) -> (u16, &'static str, &'static str) {
    match error {
        LoginError::MissingParameter(_) | LoginError::InvalidParameter { .. } => (
            400,
            "INVALID_LOGIN_REQUEST",
            "The platform's login request is incomplete. Open the activity again from your course; if it keeps failing, tell your LMS administrator.",
        ),
        LoginError::ForeignTarget(_) => (
            400,
            "FOREIGN_TARGET",
            "The platform asked for a page that does not belong to this tool. Ask your LMS administrator to check the tool's target link URI.",
        ),
        LoginError::UnknownPlatform { .. } => (
            400,
            "UNKNOWN_PLATFORM",
            "This platform is not registered with the tool. Ask your LMS administrator to register it (issuer and client id).",
        ),
        LoginError::AmbiguousPlatform { .. } => (
            400,
            "CLIENT_ID_REQUIRED",
            "Several registrations share this platform's issuer and it did not say which one it uses. Ask your LMS administrator to make the platform send client_id.",
        ),
        LoginError::PlatformDisabled(_) => (
            403,
            "PLATFORM_DISABLED",
            "This platform's registration is disabled. Ask your LMS administrator.",
        ),
        LoginError::PlatformPending(_) => (
            403,
            "PLATFORM_PENDING",
            "This platform's registration is waiting for the tool operator's approval. Ask your LMS administrator to have it approved.",
        ),
        LoginError::UnknownDeployment(_) => (
            403,
            "UNKNOWN_DEPLOYMENT",
            "This deployment of the tool is not registered. Ask your LMS administrator to add the deployment id.",
        ),
        LoginError::Store(_) | LoginError::Randomness => (
            503,
            "TEMPORARILY_UNAVAILABLE",
            "The tool cannot start launches right now. Try again in a few minutes.",
        ),
    }
}

impl Login {
    /// A handler over these ports, publishing URLs under `tool`.
    pub fn new(
        registry: Arc<dyn PlatformRegistry>,
        items: Arc<dyn ExpiringItems>,
        clock: Arc<dyn Clock>,
        tool: ToolUrls,
    ) -> Self {
        Self {
            registry,
            items,
            clock,
            tool,
        }
    }

    /// Answers one request. Never fails: every outcome is a response.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let id = request_id(&req);
        if !matches!(*req.method(), http::Method::GET | http::Method::POST) {
            return lti_shared::web::http::ApiError::method_not_allowed("GET and POST")
                .into_response(&id);
        }
        let params = params(&req);
        let pairs = params.iter().map(|(n, v)| (n.as_str(), v.as_str()));
        let outcome = match LoginParams::parse(pairs) {
            Ok(parsed) => {
                start_login(
                    parsed,
                    self.registry.as_ref(),
                    self.items.as_ref(),
                    &self.tool,
                    self.clock.now(),
                )
                .await
            }
            Err(error) => Err(error),
        };
        match outcome {
            Ok(login) => {
                tracing::info!(
                    request_id = id,
                    storage = login.storage_target.is_some(),
                    "login started"
                );
                let mut response = match &login.storage_target {
                    Some(target) => html_response(
                        200,
                        render(&StorageLogin {
                            target,
                            platform_origin: &login.platform_origin,
                            key: &storage_key(&login.state),
                            value: &login.state,
                            next: login.auth_request.as_str(),
                        }),
                    ),
                    None => redirect(login.auth_request.as_str()),
                };
                set_cookie(&mut response, &state_cookie(&login.state));
                response
            }
            Err(error) => {
                let (status, code, advice) = refusal(&error);
                if status >= 500 {
                    tracing::error!(request_id = id, code, %error, "login failed");
                } else {
                    tracing::info!(request_id = id, code, %error, iss = param(&params, "iss"), "login refused");
                }
                html_response(
                    status,
                    render(&ErrorPage {
                        heading: "The tool could not be opened",
                        advice,
                        code,
                        request_id: &id,
                    }),
                )
            }
        }
    }
}
