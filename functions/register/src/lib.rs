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
//! - Re-registration ([`lti_shared::lti13::registration_update`]): when the platform answers
//!   with an issuer and client id the tool already has, nothing is written yet. The answer is
//!   a second confirmation page listing what would change (a deployment added, platform URLs,
//!   the name, the status); its own `POST /register` (same origin, once, within
//!   [`PENDING_LIFETIME`]) writes the update and an audit entry, then closes the window.
//! - `GET /config/canvas.json`: [`lti_shared::lti13::lms_config::canvas_developer_key`].
//!
//! The operator's privacy level ([`RegisterOptions::profile`], [`PRIVACY_VAR`] on Lambda,
//! `ltictl serve --privacy`) shapes both the Canvas JSON and the claims a registration asks for,
//! and the confirmation page says in words what personal data it means.
//!
//! Registration is by invitation ([`lti_shared::app::invitations`]): `GET /register` needs a
//! live `invitation` in its query (the URL `ltictl registration invite` prints, which the LMS
//! opens with its own parameters appended), checked before anything is fetched; the
//! confirmation uses it up, atomically, so it registers one LMS once. Unless the operator
//! opened registration to anyone ([`RegisterOptions::open_registration`], [`OPEN_VAR`] on
//! Lambda, `ltictl serve --open-registration`).
//!
//! Every refusal is a page naming what the administrator can do; nothing is stored.

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use lti_shared::adapters::registrar::Registrar;
use lti_shared::app::invitations::{self, INVITATION_PARAM};
use lti_shared::compose::ports::Ports;
use lti_shared::domain::audit::{AuditAction, AuditEntry, ErasureCounts};
use lti_shared::domain::clock::Clock;
use lti_shared::domain::model::{PlatformScope, Registration, Status};
use lti_shared::domain::tool::{CANVAS_CONFIG_PATH, REGISTER_PATH, ToolUrls};
use lti_shared::lti13::dynamic_registration::{
    PENDING_LIFETIME, PendingRegistration, PlatformConfiguration, RegisteredClient,
    RegistrationError, RegistrationToken, fresh_pending_id, registration_record,
    registration_request,
};
use lti_shared::lti13::lms_config::{PrivacyLevel, ToolProfile, canvas_developer_key};
use lti_shared::lti13::registration_update::{PendingUpdate, updated_registration};
use lti_shared::ports::{DataLifecycle, ExpiringItems, ItemKind, PlatformRegistry, StoreError};
use lti_shared::web::error::{Surface, WebError, respond};
use lti_shared::web::http::{
    html_response, is_same_origin_post, json_response, param, params, request_id,
};
use lti_shared::web::pages::{RegisterConfirm, RegisterDone, RegisterUpdate, render};

/// The environment variable with the operator's privacy level on Lambda (`anonymous`,
/// `name_only`, `email_only` or `public`; the stack's `PrivacyLevel` parameter). Unset or
/// empty: `anonymous`, the most private.
pub const PRIVACY_VAR: &str = lti_shared::compose::config::PRIVACY_LEVEL_VAR;

/// The environment variable that opens registration to anyone who can reach `/register`, with
/// no invitation (`true`; the stack's `OpenRegistration` parameter). Unset, empty or `false`:
/// by invitation only.
pub const OPEN_VAR: &str = lti_shared::compose::config::OPEN_REGISTRATION_VAR;

/// Whether `value` (the value of [`OPEN_VAR`]) opens registration: unset or empty is closed;
/// anything else must be `true` or `false`.
pub fn open_registration(value: Option<&str>) -> Result<bool, String> {
    lti_shared::compose::config::parse_open_registration(value)
}

/// What the audit log names as the command of a registration update.
pub const AUDIT_COMMAND: &str = "dynamic registration";

/// Settings of the registration endpoint.
#[derive(Debug, Clone, Default)]
pub struct RegisterOptions {
    /// Store registrations as active at once instead of pending review
    /// (`LTI_AUTO_ACTIVATE_REGISTRATIONS`; `ltictl serve --auto-activate-registrations`). For
    /// a re-registration it also makes the updated registration active, unless an operator
    /// disabled it (see [`lti_shared::lti13::registration_update::updated_status`]).
    pub auto_activate: bool,
    /// The tool's name, description and privacy level. The privacy level shapes both
    /// `/config/canvas.json` and the claims a dynamic registration asks for.
    pub profile: ToolProfile,
    /// Accept registrations without an invitation (`LTI_OPEN_REGISTRATION=true`; `ltictl
    /// serve --open-registration`). Anyone who can reach `/register` can then register a
    /// platform: only for a tool behind a private network, or while an operator watches.
    pub open_registration: bool,
}

/// The privacy level in `value` (the value of [`PRIVACY_VAR`]): unset or empty is the most
/// private, [`PrivacyLevel::Anonymous`]; anything else must name a level.
pub fn privacy_level(value: Option<&str>) -> Result<PrivacyLevel, String> {
    lti_shared::compose::config::parse_privacy_level(value)
}

/// The handler and the ports it uses.
pub struct Register {
    registry: Arc<dyn PlatformRegistry>,
    items: Arc<dyn ExpiringItems>,
    audit: Arc<dyn DataLifecycle>,
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

impl Register {
    /// A handler over these ports, publishing URLs under `tool`. `audit` receives an entry for
    /// every registration a re-registration updates.
    pub fn new(
        registry: Arc<dyn PlatformRegistry>,
        items: Arc<dyn ExpiringItems>,
        audit: Arc<dyn DataLifecycle>,
        clock: Arc<dyn Clock>,
        tool: ToolUrls,
        registrar: Registrar,
        options: RegisterOptions,
    ) -> Self {
        Self {
            registry,
            items,
            audit,
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
        // The invitation first: an uninvited request makes the tool fetch nothing and store
        // nothing.
        let invitation = if self.options.open_registration {
            None
        } else {
            Some(
                invitations::check(
                    self.items.as_ref(),
                    param(&params, INVITATION_PARAM),
                    self.clock.now(),
                )
                .await?,
            )
        };
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
            invitation,
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
                privacy: profile.privacy.personal_data(),
                claims: profile.privacy.claims().join(", "),
                activate: self.options.auto_activate,
                action: self.tool.register().as_str(),
                pending: &pending_id,
                minutes: PENDING_LIFETIME.whole_minutes(),
            }),
        ))
    }

    /// Step 2: the administrator confirmed; register with the platform and store the result.
    /// A form that carries `update` instead confirms a proposed update ([`Self::apply_update`]).
    async fn confirm(&self, req: &Request, id: &str) -> Result<Response<Body>, RegistrationError> {
        // The pending id is unguessable, and the page that carries it is ours: a form another
        // site submits into the administrator's browser is refused before anything happens.
        if !is_same_origin_post(req, &self.tool.origin_string()) {
            return Err(RegistrationError::CrossSiteConfirmation);
        }
        let params = params(req);
        if let Some(update_id) = param(&params, "update") {
            return self.apply_update(update_id, id).await;
        }
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
        // Use the invitation up before the platform is asked: of two confirmations opened with
        // one invitation, only one registers.
        let used = match (&pending.invitation, self.options.open_registration) {
            (Some(key), _) => Some((
                key,
                invitations::consume(self.items.as_ref(), key, self.clock.now()).await?,
            )),
            (None, true) => None,
            // Opened while registration was open, confirmed after it was closed.
            (None, false) => return Err(RegistrationError::InvitationRequired),
        };
        let platform = &pending.platform;
        let body = registration_request(&self.tool, &self.options.profile, platform);
        let client = match self
            .registrar
            .register(platform, pending.token.as_ref(), &body)
            .await
        {
            Ok(client) => client,
            Err(error) => {
                // The LMS did not register the tool: the administrator may try again with the
                // same invitation.
                if let Some((key, invitation)) = used
                    && let Err(store) =
                        invitations::give_back(self.items.as_ref(), key, &invitation).await
                {
                    tracing::error!(request_id = id, %store, "could not give an invitation back");
                }
                return Err(error);
            }
        };
        if let Some(existing) = self
            .registry
            .platform(&platform.issuer, &client.client_id)
            .await?
        {
            return self.propose_update(existing, platform, &client, id).await;
        }
        let status = if self.options.auto_activate {
            Status::Active
        } else {
            Status::Pending
        };
        let record = registration_record(platform, &client, status, self.clock.now());
        match self.registry.add_platform(&record).await {
            Ok(()) => {}
            // Registered by another confirmation since the look-up above: the administrator
            // has not seen what an update would change, so nothing is written.
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
                status: status.as_str(),
                updated: false,
                changes: Vec::new(),
            }),
        ))
    }

    /// The platform answered with a registration the tool already has: keep the update it
    /// implies for the administrator's second confirmation, and show what would change. When
    /// nothing would, say so and close the window (nothing to confirm, nothing written).
    async fn propose_update(
        &self,
        existing: Registration,
        platform: &PlatformConfiguration,
        client: &RegisteredClient,
        id: &str,
    ) -> Result<Response<Body>, RegistrationError> {
        let after = updated_registration(&existing, platform, client, self.options.auto_activate);
        let pending = PendingUpdate {
            before: existing,
            after,
        };
        let changes = pending.changes();
        let deployment = client.deployment_id.as_ref().map(|d| d.as_str());
        if changes.is_empty() {
            tracing::info!(
                request_id = id,
                issuer = %pending.after.issuer,
                client_id = %pending.after.client_id,
                "dynamic registration run again: the registration already matched"
            );
            return Ok(html_response(
                200,
                render(&RegisterDone {
                    platform_name: &platform.display_name,
                    client_id: pending.after.client_id.as_str(),
                    deployment_id: deployment,
                    status: pending.after.status.as_str(),
                    updated: true,
                    changes: Vec::new(),
                }),
            ));
        }
        let update_id = fresh_pending_id();
        self.items
            .put_item(
                ItemKind::PendingRegistrationUpdate,
                &update_id,
                &pending.to_stored()?,
                self.clock.now() + PENDING_LIFETIME,
            )
            .await?;
        tracing::info!(
            request_id = id,
            issuer = %pending.after.issuer,
            client_id = %pending.after.client_id,
            changes = changes.len(),
            "dynamic registration run again: update awaiting confirmation"
        );
        Ok(html_response(
            200,
            render(&RegisterUpdate {
                platform_name: &platform.display_name,
                issuer: pending.after.issuer.as_str(),
                client_id: pending.after.client_id.as_str(),
                changes: changes.iter().map(ToString::to_string).collect(),
                status: pending.after.status.as_str(),
                action: self.tool.register().as_str(),
                update: &update_id,
                minutes: PENDING_LIFETIME.whole_minutes(),
            }),
        ))
    }

    /// Step 3 of a re-registration: the administrator confirmed the changes. Consumes the
    /// proposed update once, writes it only if the registration is still what the changes
    /// were computed from, and records what changed in the audit log.
    async fn apply_update(
        &self,
        update_id: &str,
        id: &str,
    ) -> Result<Response<Body>, RegistrationError> {
        if update_id.is_empty() || update_id.len() > 64 {
            return Err(RegistrationError::UnknownPending);
        }
        let now = self.clock.now();
        let stored = self
            .items
            .take_item(ItemKind::PendingRegistrationUpdate, update_id, now)
            .await?
            .ok_or(RegistrationError::UnknownPending)?;
        let pending = PendingUpdate::from_stored(&stored)?;
        let (issuer, client_id) = (&pending.before.issuer, &pending.before.client_id);
        let changed = || RegistrationError::RegistrationChanged {
            issuer: issuer.clone(),
            client_id: client_id.clone(),
        };
        let current = self.registry.platform(issuer, client_id).await?;
        if current.as_ref() != Some(&pending.before) {
            return Err(changed());
        }
        match self.registry.update_platform(&pending.after).await {
            Ok(()) => {}
            Err(StoreError::NotFound(_)) => return Err(changed()),
            Err(other) => return Err(other.into()),
        }
        let changes = pending.changes();
        let mut entry = AuditEntry::new(
            now,
            AuditAction::RegistrationUpdate,
            AUDIT_COMMAND,
            Some(PlatformScope::registration(
                issuer.clone(),
                client_id.clone(),
            )),
            None,
            ErasureCounts::default(),
        );
        entry.changes = changes.iter().map(|c| c.audit_text()).collect();
        // The update is written: a failing audit write must not tell the administrator that
        // it was not. The entry goes to the log instead (it holds no personal data).
        if let Err(error) = self.audit.append_audit(&entry).await {
            tracing::error!(
                request_id = id,
                %error,
                issuer = %issuer,
                client_id = %client_id,
                changes = ?entry.changes,
                "registration updated, but its audit entry could not be written"
            );
        }
        tracing::info!(
            request_id = id,
            issuer = %issuer,
            client_id = %client_id,
            changes = ?entry.changes,
            status = pending.after.status.as_str(),
            "registration updated by dynamic registration"
        );
        let added = pending
            .after
            .deployment_ids
            .difference(&pending.before.deployment_ids)
            .next();
        Ok(html_response(
            200,
            render(&RegisterDone {
                platform_name: pending.after.name.as_deref().unwrap_or(issuer.as_str()),
                client_id: client_id.as_str(),
                deployment_id: added.map(|d| d.as_str()),
                status: pending.after.status.as_str(),
                updated: true,
                changes: changes.iter().map(|c| c.audit_text()).collect(),
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
    /// The handler as every deployment wires it: the registry (uncached: it writes), pending
    /// registrations and the audit log from `ports`, URLs under `tool`, platforms reached
    /// through `registrar`.
    pub fn from_ports(
        ports: &Ports,
        tool: ToolUrls,
        registrar: Registrar,
        options: RegisterOptions,
    ) -> Self {
        Self::new(
            ports.store.clone(),
            ports.store.clone(),
            ports.store.clone(),
            ports.clock.clone(),
            tool,
            registrar,
            options,
        )
    }
}
