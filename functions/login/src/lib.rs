//! The `login` function: OIDC third-party login initiation (Security Framework §5.1.1.1–2).
//!
//! Accepts GET and POST, checks the request, stores the issued state and nonce, binds the state
//! to the browser with a `Secure; HttpOnly; SameSite=None; Partitioned` cookie and — when the
//! platform offers `lti_storage_target` — with LTI Platform Storage, then sends the browser to
//! the platform's authorization endpoint.

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use lti_shared::compose::ports::Ports;
use lti_shared::domain::clock::Clock;
use lti_shared::domain::oidc::LoginState;
use lti_shared::domain::tool::ToolUrls;
use lti_shared::lti13::login::{LoginParams, STATE_LIFETIME, start_login, state_cookie_name};
use lti_shared::ports::{ExpiringItems, PlatformRegistry};
use lti_shared::web::error::{Surface, WebError, respond};
use lti_shared::web::http::{html_response, params, redirect, request_id, set_cookie};
use lti_shared::web::pages::{StorageLogin, render};

pub use lti_shared::web::binding::storage_key;

/// The `Set-Cookie` value binding `state` to the browser. `Partitioned` (CHIPS) keeps it
/// working inside the LMS iframe where third-party cookies are otherwise blocked.
pub fn state_cookie(state: &LoginState) -> String {
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
            return respond(
                &WebError::MethodNotAllowed("GET and POST"),
                &id,
                Surface::Page,
            );
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
                            value: login.state.as_str(),
                            next: login.auth_request.as_str(),
                        }),
                    ),
                    None => redirect(login.auth_request.as_str()),
                };
                set_cookie(&mut response, &state_cookie(&login.state));
                response
            }
            Err(error) => respond(&WebError::Login(error), &id, Surface::Page),
        }
    }
}

#[async_trait::async_trait]
impl lti_shared::web::serve::Handler for Login {
    async fn handle(&self, req: Request) -> Response<Body> {
        Login::handle(self, req).await
    }
}

impl Login {
    /// The handler as every deployment wires it: cached registrations, the state records
    /// and the clock from `ports`, URLs under `tool`.
    pub fn from_ports(ports: &Ports, tool: ToolUrls) -> Self {
        Self::new(
            ports.registry.clone(),
            ports.store.clone(),
            ports.clock.clone(),
            tool,
        )
    }
}
