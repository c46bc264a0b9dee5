//! The `launch` function: LTI 1.3 resource-link launches (LTI Core 1.3 §5) and the built-in
//! demo activity.
//!
//! `POST /launch` verifies the id_token through the one verification path
//! ([`lti_shared::lti13::launch::Verifier`]), records the launch, and hands the browser to the activity
//! with an auto-submitting form carrying `lti_session`. When the browser sent no state cookie it
//! first tries LTI Platform Storage (if the platform offered it at login) and otherwise offers
//! to open the tool in a new window. `POST /activity` is the demo activity: it shows what the
//! verified launch established. LTI 1.1 `basic-lti-launch-request` form POSTs arrive on the same
//! `/launch` URL and are told apart by their body (`oauth_signature`, `lti_message_type`); an
//! LTI 1.1 launch of a link placed by Content-Item selection names its catalog item in
//! `custom_catalog_item` and goes to that item's activity. An LTI 1.1
//! `ContentItemSelectionRequest` posted here (Sakai, Blackboard, Moodle without a Content
//! Selection URL) opens the activity picker
//! ([`lti_shared::web::content_item::ContentItemSelection`]).

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use lti_shared::app::record::record_launch;
use lti_shared::compose::ports::Ports;
use lti_shared::domain::catalog::{CatalogError, CatalogItemId};
use lti_shared::domain::clock::Clock;
use lti_shared::domain::ids::{DeploymentId, TargetLinkUri};
use lti_shared::domain::launch_facts::LaunchFacts;
use lti_shared::domain::roles::Roles;
use lti_shared::domain::tool::{ACTIVITY_PATH, ToolUrls};
use lti_shared::lti11::content_item::{ITEM_CUSTOM, is_content_item_request};
use lti_shared::lti11::launch::{Lti11Error, Lti11Verifier, is_lti11_launch, lti11_continuity};
use lti_shared::lti13::claims::MessageType;
use lti_shared::lti13::deep_link::placed_item;
use lti_shared::lti13::launch::{LaunchError, Verifier};
use lti_shared::lti13::session::{self, SESSION_LIFETIME, SessionClaims};
use lti_shared::ports::{Catalog, KeyStore, LaunchRecords};
use lti_shared::web::binding::{CookielessError, LaunchForm, clear_state_cookie, cookieless_page};
use lti_shared::web::content_item::ContentItemSelection;
use lti_shared::web::error::{Flow, PageRefusal, Surface, WebError, respond};
use lti_shared::web::http::{
    MAX_FORM_BYTES, html_response, oauth_request_params, param, params, request_id,
};
use lti_shared::web::pages::{Activity, AutoSubmit, render};
use url::Url;

/// The handler and the ports it uses.
pub struct Launch {
    verifier: Verifier,
    lti11: Lti11Verifier,
    records: Arc<dyn LaunchRecords>,
    keys: Arc<dyn KeyStore>,
    catalog: Arc<dyn Catalog>,
    tool: ToolUrls,
}

/// A refusal on the launch pages, answered by the one error edge.
fn refused(error: impl Into<WebError>, id: &str) -> Response<Body> {
    respond(&error.into(), id, Surface::Page)
}

/// A storage or key failure during a launch.
fn unavailable(id: &str, what: &'static str, error: &dyn std::fmt::Display) -> Response<Body> {
    refused(WebError::unavailable(Flow::Launch, what, error), id)
}

impl Launch {
    /// A handler over these ports.
    pub fn new(
        verifier: Verifier,
        lti11: Lti11Verifier,
        records: Arc<dyn LaunchRecords>,
        keys: Arc<dyn KeyStore>,
        catalog: Arc<dyn Catalog>,
        tool: ToolUrls,
    ) -> Self {
        Self {
            verifier,
            lti11,
            records,
            keys,
            catalog,
            tool,
        }
    }

    fn clock(&self) -> &dyn Clock {
        self.verifier.clock().as_ref()
    }

    /// Answers one request. Never fails: every outcome is a response.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let id = request_id(&req);
        if *req.method() != http::Method::POST {
            return refused(WebError::MethodNotAllowed("POST"), &id);
        }
        if req.uri().path() == ACTIVITY_PATH {
            self.activity(&req, &id).await
        } else {
            self.launch(&req, &id).await
        }
    }

    async fn launch(&self, req: &Request, id: &str) -> Response<Body> {
        let size = req.body().len();
        if size > MAX_FORM_BYTES {
            return refused(PageRefusal::FormTooLarge(size), id);
        }
        let params = params(req);
        if is_lti11_launch(&params) {
            if is_content_item_request(&params) {
                let selection = ContentItemSelection {
                    verifier: &self.lti11,
                    catalog: self.catalog.as_ref(),
                    tool: &self.tool,
                };
                return selection.request(req, id).await;
            }
            return self.launch_lti11(req, id).await;
        }
        let form = LaunchForm::read(req, &params);
        // No state cookie at all: before verifying, see whether Platform Storage can prove the
        // browser.
        match cookieless_page(&self.verifier, &self.tool, &self.tool.launch(), &form).await {
            Err(CookielessError::Refused(error)) => return refused(error, id),
            Err(CookielessError::Store(error)) => {
                return unavailable(id, "cannot read the login state", &error);
            }
            Ok(Some(page)) => {
                tracing::info!(
                    request_id = id,
                    storage = page.storage_offered,
                    "launch without state cookie"
                );
                return html_response(200, page.html);
            }
            Ok(None) => {}
        }

        let input = form.input(req, &self.tool);
        let launch = match self.verifier.verify(input, MessageType::ResourceLink).await {
            Ok(launch) => launch,
            Err(error) => return refused(error, id),
        };
        let Some(mut facts) = launch.facts() else {
            return refused(LaunchError::MissingClaim("resource_link"), id);
        };
        let activity = match self.activity_for(launch.target_link_uri(), id).await {
            Ok(activity) => activity,
            Err(response) => return response,
        };
        facts.continues = lti11_continuity(&launch, self.keys.as_ref()).await;
        tracing::info!(
            request_id = id,
            issuer = %launch.registration().issuer,
            roles = %launch.roles(),
            "launch verified"
        );
        let mut response = self
            .hand_off(facts, Some(launch.deployment_id().clone()), activity, id)
            .await;
        clear_state_cookie(&mut response, launch.state());
        response
    }

    /// Where a launch with this `target_link_uri` goes: the activity of the catalog item a
    /// deep-linked target names (`/launch?item=<id>`), else the built-in activity. A named item
    /// that is no longer in the catalog is refused with a page that says so.
    async fn activity_for(&self, target: &TargetLinkUri, id: &str) -> Result<Url, Response<Body>> {
        self.activity_of(placed_item(&self.tool, target.as_str()), id)
            .await
    }

    /// The activity of the catalog item a launch names (`Ok(None)`: the built-in activity).
    async fn activity_of(
        &self,
        item: Result<Option<CatalogItemId>, CatalogError>,
        id: &str,
    ) -> Result<Url, Response<Body>> {
        let item_id = match item {
            Ok(None) => return Ok(self.tool.activity()),
            Ok(Some(item_id)) => item_id,
            Err(error) => return Err(refused(PageRefusal::ItemInvalid(error.to_string()), id)),
        };
        match self.catalog.catalog_item(&item_id).await {
            Ok(Some(item)) => Ok(item.activity_url),
            Ok(None) => Err(refused(PageRefusal::ItemRemoved(item_id.to_string()), id)),
            Err(error) => Err(unavailable(id, "cannot read the catalog", &error)),
        }
    }

    /// Records a verified launch (LTI 1.3 or 1.1) and hands the browser to `activity` with an
    /// auto-submitting form carrying the `lti_session` token, whose audience is the activity's
    /// origin. Course staff land on the resource's attempts view instead.
    async fn hand_off(
        &self,
        facts: LaunchFacts,
        deployment_id: Option<DeploymentId>,
        activity: Url,
        id: &str,
    ) -> Response<Body> {
        let activity = if facts.roles.is_instructor() {
            self.tool.views()
        } else {
            activity
        };
        let now = self.clock().now();
        let platform = facts.scope.clone();
        let user_id = facts.user_id.clone();
        let resource_link_id = facts.resource_link_id.clone();
        let context_id = facts.context.as_ref().map(|(c, _)| c.clone());
        let roles = facts.roles.clone();
        let attempt = match record_launch(facts, self.records.as_ref(), now).await {
            Ok(attempt) => attempt,
            Err(error) => return unavailable(id, "cannot record the launch", &error),
        };
        let keys = match self.keys.signing_keys().await {
            Ok(keys) => keys,
            Err(error) => return unavailable(id, "cannot read the signing keys", &error),
        };
        let claims = SessionClaims {
            iss: self.tool.origin_string(),
            aud: activity.origin().ascii_serialization(),
            iat: now.unix_timestamp(),
            exp: (now + SESSION_LIFETIME).unix_timestamp(),
            jti: lti_shared::web::http::fresh_request_id(),
            platform,
            deployment_id,
            user_id,
            resource_link_id,
            context_id,
            attempt_id: attempt.map(|a| a.key.attempt_id),
            roles,
        };
        let token = match session::issue(&keys, &claims) {
            Ok(token) => token,
            Err(error) => return unavailable(id, "cannot sign the session", &error),
        };
        html_response(
            200,
            render(&AutoSubmit {
                title: "Opening the activity…",
                action: activity.as_str(),
                fields: vec![("lti_session", &token)],
            }),
        )
    }

    /// An LTI 1.1 `basic-lti-launch-request` (OAuth 1.0a), on the same URL as LTI 1.3.
    async fn launch_lti11(&self, req: &Request, id: &str) -> Response<Body> {
        let params = match oauth_request_params(req) {
            Ok(params) => params,
            Err(error) => return refused(Lti11Error::OAuth(error), id),
        };
        // The base string uses the public URL the platform was given, never the host or port
        // this server sees behind a proxy or on Lambda.
        let mut public_url = self.tool.launch();
        public_url.set_path(req.uri().path());
        let launch = match self
            .lti11
            .verify(req.method().as_str(), &public_url, params)
            .await
        {
            Ok(launch) => launch,
            Err(error) => return refused(error, id),
        };
        tracing::info!(
            request_id = id,
            consumer = %launch.consumer().key,
            roles = %launch.roles(),
            "LTI 1.1 launch verified"
        );
        // A link placed by Content-Item selection names its catalog item in a custom parameter.
        let item = launch
            .custom(ITEM_CUSTOM)
            .map(CatalogItemId::parse)
            .transpose();
        let activity = match self.activity_of(item, id).await {
            Ok(activity) => activity,
            Err(response) => return response,
        };
        self.hand_off(launch.facts(), None, activity, id).await
    }

    async fn activity(&self, req: &Request, id: &str) -> Response<Body> {
        let params = params(req);
        let token = param(&params, "lti_session").unwrap_or_default();
        let keys = match self.keys.signing_keys().await {
            Ok(keys) => keys,
            Err(error) => return unavailable(id, "cannot read the signing keys", &error),
        };
        let origin = self.tool.origin_string();
        let claims = match session::verify(token, &keys, &origin, &origin, self.clock().now()) {
            Ok(claims) => claims,
            Err(error) => {
                return refused(PageRefusal::ActivitySessionInvalid(error.to_string()), id);
            }
        };
        let roles: &Roles = &claims.roles;
        let user = match &claims.user_id {
            Some(user_id) => self
                .records
                .user(&claims.platform, user_id)
                .await
                .ok()
                .flatten(),
            None => None,
        };
        let neutral = if roles.is_instructor() {
            "Course staff"
        } else if roles.is_learner() {
            "Learner"
        } else {
            "Participant"
        };
        let who = user
            .and_then(|u| {
                u.name.or_else(|| match (u.given_name, u.family_name) {
                    (Some(g), Some(f)) => Some(format!("{g} {f}")),
                    (g, f) => g.or(f),
                })
            })
            .unwrap_or_else(|| neutral.to_owned());
        let context = match &claims.context_id {
            Some(context_id) => self
                .records
                .context(&claims.platform, context_id)
                .await
                .ok()
                .flatten(),
            None => None,
        };
        let course = context
            .and_then(|c| c.title.or(c.label))
            .or_else(|| claims.context_id.as_ref().map(ToString::to_string))
            .unwrap_or_else(|| "(none)".to_owned());
        let link = self
            .records
            .resource_link(&claims.platform, &claims.resource_link_id)
            .await
            .ok()
            .flatten();
        let resource = link
            .and_then(|l| l.title)
            .unwrap_or_else(|| claims.resource_link_id.to_string());
        let platform = match &claims.platform {
            lti_shared::domain::model::PlatformScope::Lti13 { issuer, .. } => issuer.to_string(),
            lti_shared::domain::model::PlatformScope::Lti11 { consumer_key } => {
                consumer_key.to_string()
            }
        };
        let heading = if roles.is_instructor() {
            "Resource overview"
        } else {
            "Activity"
        };
        html_response(
            200,
            render(&Activity {
                heading,
                instructor: roles.is_instructor(),
                who: &who,
                course: &course,
                resource: &resource,
                roles: &roles.to_string(),
                attempt: claims
                    .attempt_id
                    .as_ref()
                    .map_or("(anonymous launch: not recorded)", |a| a.as_str()),
                platform: &platform,
                score_session: claims.attempt_id.as_ref().map(|_| token),
            }),
        )
    }
}

#[async_trait::async_trait]
impl lti_shared::web::serve::Handler for Launch {
    async fn handle(&self, req: Request) -> Response<Body> {
        Launch::handle(self, req).await
    }
}

impl Launch {
    /// The handler as every deployment wires it (Lambda, `ltictl serve`, the tests): the
    /// verifiers, launch records, keys and catalog from `ports`, URLs under `tool`.
    pub fn from_ports(ports: &Ports, tool: ToolUrls) -> Self {
        Self::new(
            ports.verifier(),
            ports.lti11_verifier(),
            ports.store.clone(),
            ports.keys.clone(),
            ports.store.clone(),
            tool,
        )
    }
}
