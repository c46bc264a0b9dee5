//! The `register` function: LTI Dynamic Registration 1.0 (see
//! [`lti_shared::lti13::dynamic_registration`]) and the Canvas developer-key JSON.
//!
//! - `GET /register?openid_configuration=…&registration_token=…`: the platform opens this in a
//!   window or iframe. The tool fetches and checks the platform's OpenID configuration, keeps
//!   it (with the token) server-side for [`PENDING_LIFETIME`], and shows the administrator what
//!   will be registered.
//! - `POST /register` (from that page only): consumes the pending registration once, posts the
//!   tool's registration to the platform, stores the returned client id and deployment as a
//!   registration (pending review unless auto-activation is on), and answers with the page that
//!   posts `org.imsglobal.lti.close` to the platform.
//! - `GET /config/canvas.json`: [`lti_shared::lti13::lms_config::canvas_developer_key`].
//!
//! Every refusal is a page naming what the administrator can do; nothing is stored.

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use lti_shared::adapters::registrar::Registrar;
use lti_shared::compose::ports::Ports;
use lti_shared::domain::clock::Clock;
use lti_shared::domain::model::Status;
use lti_shared::domain::tool::{CANVAS_CONFIG_PATH, REGISTER_PATH, ToolUrls};
use lti_shared::lti13::dynamic_registration::{
    PENDING_LIFETIME, PendingRegistration, RegistrationError, RegistrationToken, fresh_pending_id,
    registration_record, registration_request,
};
use lti_shared::lti13::lms_config::{PrivacyLevel, ToolProfile, canvas_developer_key};
use lti_shared::ports::{ExpiringItems, ItemKind, PlatformRegistry, StoreError};
use lti_shared::web::error::{Surface, WebError, respond};
use lti_shared::web::http::{
    html_response, is_same_origin_post, json_response, param, params, request_id,
};
use lti_shared::web::pages::{RegisterConfirm, RegisterDone, render};

/// Settings of the registration endpoint.
#[derive(Debug, Clone, Default)]
pub struct RegisterOptions {
    /// Store registrations as active at once instead of pending review
    /// (`LTI_AUTO_ACTIVATE_REGISTRATIONS`; `ltictl serve --auto-activate-registrations`).
    pub auto_activate: bool,
    /// The tool's name, description and privacy level.
    pub profile: ToolProfile,
}

/// The handler and the ports it uses.
pub struct Register {
    registry: Arc<dyn PlatformRegistry>,
    items: Arc<dyn ExpiringItems>,
    clock: Arc<dyn Clock>,
    tool: ToolUrls,
    registrar: Registrar,
    options: RegisterOptions,
}

/// A registration refusal or failure, answered by the one error edge. The detail names the
/// rule and the platform's URLs; never the registration token.
fn refused(error: RegistrationError, id: &str) -> Response<Body> {
    respond(&WebError::Registration(error), id, Surface::Page)
}

fn privacy_text(level: PrivacyLevel) -> &'static str {
    match level {
        PrivacyLevel::Anonymous => {
            "none: no names, e-mail addresses or SIS ids (the tool works with platform user ids)"
        }
        PrivacyLevel::NameOnly => "names only",
        PrivacyLevel::EmailOnly => "e-mail addresses only (never stored)",
        PrivacyLevel::Public => "names, SIS ids and e-mail addresses (e-mail is never stored)",
    }
}

impl Register {
    /// A handler over these ports, publishing URLs under `tool`.
    pub fn new(
        registry: Arc<dyn PlatformRegistry>,
        items: Arc<dyn ExpiringItems>,
        clock: Arc<dyn Clock>,
        tool: ToolUrls,
        registrar: Registrar,
        options: RegisterOptions,
    ) -> Self {
        Self {
            registry,
            items,
            clock,
            tool,
            registrar,
            options,
        }
    }

    /// Answers one request. Never fails: every outcome is a response.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let id = request_id(&req);
        let method = req.method().clone();
        match (req.uri().path(), method) {
            (CANVAS_CONFIG_PATH, http::Method::GET) => json_response(
                200,
                &canvas_developer_key(&self.tool, &self.options.profile),
                "public, max-age=300",
            ),
            (REGISTER_PATH, http::Method::GET) => match self.start(&req, &id).await {
                Ok(page) => page,
                Err(error) => refused(error, &id),
            },
            (REGISTER_PATH, http::Method::POST) => match self.confirm(&req, &id).await {
                Ok(page) => page,
                Err(error) => refused(error, &id),
            },
            (CANVAS_CONFIG_PATH, _) => {
                respond(&WebError::MethodNotAllowed("GET"), &id, Surface::Json)
            }
            (REGISTER_PATH, _) => respond(
                &WebError::MethodNotAllowed("GET and POST"),
                &id,
                Surface::Page,
            ),
            _ => respond(&WebError::NotFound, &id, Surface::Json),
        }
    }

    /// Step 1: fetch and check the configuration, keep it, show the confirmation page.
    async fn start(&self, req: &Request, id: &str) -> Result<Response<Body>, RegistrationError> {
        let params = params(req);
        let configuration_url = param(&params, "openid_configuration")
            .filter(|v| !v.is_empty())
            .ok_or(RegistrationError::MissingConfigurationUrl)?;
        let token = param(&params, "registration_token")
            .filter(|v| !v.is_empty())
            .map(RegistrationToken::new);
        let platform = self
            .registrar
            .fetch_configuration(configuration_url, token.as_ref())
            .await?;
        let pending_id = fresh_pending_id();
        let pending = PendingRegistration {
            platform: platform.clone(),
            token,
        };
        self.items
            .put_item(
                ItemKind::PendingRegistration,
                &pending_id,
                &pending.to_stored()?,
                self.clock.now() + PENDING_LIFETIME,
            )
            .await?;
        tracing::info!(
            request_id = id,
            issuer = %platform.issuer,
            product = %platform.product_family_code,
            "dynamic registration awaiting confirmation"
        );
        let product = match &platform.version {
            Some(version) => format!("{} {version}", platform.product_family_code),
            None => platform.product_family_code.clone(),
        };
        let profile = &self.options.profile;
        Ok(html_response(
            200,
            render(&RegisterConfirm {
                tool_name: &profile.title,
                platform_name: &platform.display_name,
                issuer: platform.issuer.as_str(),
                product: &product,
                login_url: self.tool.login().as_str(),
                launch_url: self.tool.launch().as_str(),
                deep_link_url: self.tool.deep_link().as_str(),
                jwks_url: self.tool.jwks().as_str(),
                scopes: platform.scopes_to_request(),
                privacy: privacy_text(profile.privacy),
                activate: self.options.auto_activate,
                action: self.tool.register().as_str(),
                pending: &pending_id,
                minutes: PENDING_LIFETIME.whole_minutes(),
            }),
        ))
    }

    /// Step 2: the administrator confirmed; register with the platform and store the result.
    async fn confirm(&self, req: &Request, id: &str) -> Result<Response<Body>, RegistrationError> {
        // The pending id is unguessable, and the page that carries it is ours: a form another
        // site submits into the administrator's browser is refused before anything happens.
        if !is_same_origin_post(req, &self.tool.origin_string()) {
            return Err(RegistrationError::CrossSiteConfirmation);
        }
        let params = params(req);
        let pending_id = param(&params, "pending").unwrap_or_default();
        if pending_id.is_empty() || pending_id.len() > 64 {
            return Err(RegistrationError::UnknownPending);
        }
        let stored = self
            .items
            .take_item(ItemKind::PendingRegistration, pending_id, self.clock.now())
            .await?
            .ok_or(RegistrationError::UnknownPending)?;
        let pending = PendingRegistration::from_stored(&stored)?;
        let platform = &pending.platform;
        let body = registration_request(&self.tool, &self.options.profile, platform);
        let client = self
            .registrar
            .register(platform, pending.token.as_ref(), &body)
            .await?;
        let status = if self.options.auto_activate {
            Status::Active
        } else {
            Status::Pending
        };
        let record = registration_record(platform, &client, status, self.clock.now());
        match self.registry.add_platform(&record).await {
            Ok(()) => {}
            Err(StoreError::AlreadyExists(_)) => {
                return Err(RegistrationError::AlreadyRegistered {
                    issuer: record.issuer,
                    client_id: record.client_id,
                });
            }
            Err(other) => return Err(other.into()),
        }
        tracing::info!(
            request_id = id,
            issuer = %record.issuer,
            client_id = %record.client_id,
            deployment = client.deployment_id.is_some(),
            status = status.as_str(),
            "platform registered by dynamic registration"
        );
        Ok(html_response(
            200,
            render(&RegisterDone {
                platform_name: &platform.display_name,
                client_id: record.client_id.as_str(),
                deployment_id: client.deployment_id.as_ref().map(|d| d.as_str()),
                active: status == Status::Active,
            }),
        ))
    }
}

#[async_trait::async_trait]
impl lti_shared::web::serve::Handler for Register {
    async fn handle(&self, req: Request) -> Response<Body> {
        Register::handle(self, req).await
    }
}

impl Register {
    /// The handler as every deployment wires it: the registry (uncached: it writes) and
    /// pending registrations from `ports`, URLs under `tool`, platforms reached through
    /// `registrar`.
    pub fn from_ports(
        ports: &Ports,
        tool: ToolUrls,
        registrar: Registrar,
        options: RegisterOptions,
    ) -> Self {
        Self::new(
            ports.store.clone(),
            ports.store.clone(),
            ports.clock.clone(),
            tool,
            registrar,
            options,
        )
    }
}
