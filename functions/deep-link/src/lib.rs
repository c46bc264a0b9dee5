//! The `deep-link` function: LTI Deep Linking 2.0 (`LtiDeepLinkingRequest` →
//! `LtiDeepLinkingResponse`).
//!
//! `POST /deep-link` with an `id_token` is the platform's request (login sends the browser
//! here when the target is the deep-link URL). It is verified through the one verification
//! path ([`lti_shared::lti13::launch::Verifier`], with the same state-cookie and LTI Platform Storage
//! binding as launches), then only instructors, content developers and administrators may go
//! on; the settings the response needs are kept server-side under a random id
//! ([`ItemKind::DeepLinkRequest`], one hour) and the picker is shown.
//!
//! `POST /deep-link` with that id is the picker's own form (same-origin only). The stored
//! request is taken (once), the response JWT is signed with the tool's current key, and the
//! browser posts it to the platform's `deep_link_return_url` with an auto-submitting form.
//!
//! LTI 1.1 Content-Item selection shares the endpoint and the picker: a form POST signed with
//! OAuth 1.0a (`lti_message_type=ContentItemSelectionRequest`, Moodle's "Content Selection
//! URL") and the picker's form carrying `ci_request` go to
//! [`lti_shared::web::content_item::ContentItemSelection`].

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use lti_shared::compose::ports::Ports;
use lti_shared::domain::catalog::CatalogItem;
use lti_shared::domain::clock::Clock;
use lti_shared::domain::tool::ToolUrls;
use lti_shared::lti11::launch::{Lti11Verifier, is_lti11_launch};
use lti_shared::lti13::claims::MessageType;
use lti_shared::lti13::deep_link::{
    DeepLinkRequest, Outcome, REQUEST_LIFETIME, SelectionError, choose, response_claims,
};
use lti_shared::lti13::launch::{LaunchError, Verifier};
use lti_shared::lti13::login::random_token;
use lti_shared::ports::{Catalog, ExpiringItems, ItemKind, KeyStore};
use lti_shared::web::binding::{CookielessError, LaunchForm, clear_state_cookie, cookieless_page};
use lti_shared::web::content_item::ContentItemSelection;
use lti_shared::web::error::{Flow, PageRefusal, Surface, WebError, respond};
use lti_shared::web::http::{MAX_FORM_BYTES, html_response, param, params, request_id};
use lti_shared::web::pages::deep_link::{
    ACTION_CANCEL, ACTION_SELECT, CONTENT_ITEM_REQUEST_FIELD, Picker, PickerItem, REQUEST_FIELD,
};
use lti_shared::web::pages::{AutoSubmit, render};
use lti_shared::web::picker::{PickerPost, take_picker_post};

/// What the user sees when the platform does not accept LTI resource links.
const NOT_ACCEPTED: &str = "This tool adds activities to a course as LTI links, and this place in \
     your course does not accept them. Return to the course and add the tool from a place that \
     accepts external tool links (an assignment or module item, for example).";
/// What the user sees when the catalog is empty.
const EMPTY_CATALOG: &str = "The tool has no activities to offer yet. Ask the tool's \
     administrator to add some (`ltictl catalog add`), then try again.";

/// The handler and the ports it uses.
pub struct DeepLink {
    verifier: Verifier,
    lti11: Lti11Verifier,
    catalog: Arc<dyn Catalog>,
    items: Arc<dyn ExpiringItems>,
    keys: Arc<dyn KeyStore>,
    tool: ToolUrls,
}

/// A refused deep linking request, answered by the one error edge.
fn refused(error: LaunchError, id: &str) -> Response<Body> {
    respond(&WebError::DeepLinkRequest(error), id, Surface::Page)
}

/// A refusal of the picker's own, answered by the one error edge.
fn page(refusal: PageRefusal, id: &str) -> Response<Body> {
    respond(&WebError::Page(refusal), id, Surface::Page)
}

/// A storage or key failure during deep linking.
fn unavailable(id: &str, what: &'static str, error: &dyn std::fmt::Display) -> Response<Body> {
    respond(
        &WebError::unavailable(Flow::DeepLink, what, error),
        id,
        Surface::Page,
    )
}

fn picker_items(catalog: &[CatalogItem]) -> Vec<PickerItem<'_>> {
    catalog
        .iter()
        .map(|item| PickerItem {
            id: item.id.as_str(),
            title: &item.title,
            description: item.description.as_deref(),
            grading: item.score_maximum.map(|max| format!("graded out of {max}")),
        })
        .collect()
}

impl DeepLink {
    /// A handler over these ports.
    pub fn new(
        verifier: Verifier,
        lti11: Lti11Verifier,
        catalog: Arc<dyn Catalog>,
        items: Arc<dyn ExpiringItems>,
        keys: Arc<dyn KeyStore>,
        tool: ToolUrls,
    ) -> Self {
        Self {
            verifier,
            lti11,
            catalog,
            items,
            keys,
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
            return respond(&WebError::MethodNotAllowed("POST"), &id, Surface::Page);
        }
        let size = req.body().len();
        if size > MAX_FORM_BYTES {
            return page(PageRefusal::FormTooLarge(size), &id);
        }
        let params = params(&req);
        let lti13 = param(&params, "id_token").is_some();
        if param(&params, CONTENT_ITEM_REQUEST_FIELD).is_some() && !lti13 {
            self.content_item().selection(&req, &params, &id).await
        } else if param(&params, REQUEST_FIELD).is_some() && !lti13 {
            self.selection(&req, &params, &id).await
        } else if is_lti11_launch(&params) && !lti13 {
            self.content_item().request(&req, &id).await
        } else {
            self.request(&req, &params, &id).await
        }
    }

    /// LTI 1.1 Content-Item selection over this handler's ports.
    fn content_item(&self) -> ContentItemSelection<'_> {
        ContentItemSelection {
            verifier: &self.lti11,
            catalog: self.catalog.as_ref(),
            tool: &self.tool,
        }
    }

    /// The platform's `LtiDeepLinkingRequest`: verify, check the role, show the picker.
    async fn request(
        &self,
        req: &Request,
        params: &[(String, String)],
        id: &str,
    ) -> Response<Body> {
        let form = LaunchForm::read(req, params);
        // No state cookie at all: try LTI Platform Storage first, exactly as a launch does.
        match cookieless_page(&self.verifier, &self.tool, &self.tool.deep_link(), &form).await {
            Err(CookielessError::Refused(error)) => return refused(error, id),
            Err(CookielessError::Store(error)) => {
                return unavailable(id, "cannot read the login state", &error);
            }
            Ok(Some(page)) => return html_response(200, page.html),
            Ok(None) => {}
        }

        let input = form.input(req, &self.tool);
        let launch = match self.verifier.verify(input, MessageType::DeepLinking).await {
            Ok(launch) => launch,
            Err(error) => return refused(error, id),
        };
        let mut response = self.picker(&launch, id).await;
        // The state has been used; tell the browser to drop its cookie.
        clear_state_cookie(&mut response, launch.state());
        response
    }

    /// The picker for a verified request, after the role check.
    async fn picker(
        &self,
        launch: &lti_shared::lti13::launch::VerifiedLaunch,
        id: &str,
    ) -> Response<Body> {
        let roles = launch.roles();
        tracing::info!(
            request_id = id,
            issuer = %launch.registration().issuer,
            roles = %roles,
            "deep linking request verified"
        );
        if !roles.can_edit_content() {
            tracing::info!(request_id = id, roles = %roles, "deep linking refused: role");
            return page(PageRefusal::RoleNotAllowed, id);
        }
        let request = match DeepLinkRequest::from_launch(launch) {
            Ok(request) => request,
            Err(error) => return page(PageRefusal::DeepLinkUnanswerable(error.to_string()), id),
        };
        let catalog = if request.accepts_resource_links() {
            match self.catalog.catalog_items().await {
                Ok(catalog) => catalog,
                Err(error) => return unavailable(id, "cannot read the catalog", &error),
            }
        } else {
            Vec::new()
        };
        let key = match random_token() {
            Ok(key) => key,
            Err(error) => return unavailable(id, "cannot make a request id", &error),
        };
        let stored = match serde_json::to_string(&request) {
            Ok(text) => text,
            Err(error) => return unavailable(id, "cannot store the request", &error),
        };
        let now = self.clock().now();
        if let Err(error) = self
            .items
            .put_item(
                ItemKind::DeepLinkRequest,
                &key,
                &stored,
                now + REQUEST_LIFETIME,
            )
            .await
        {
            return unavailable(id, "cannot store the request", &error);
        }
        let (heading, notice) = match (request.accepts_resource_links(), catalog.is_empty()) {
            (false, _) => ("Nothing to add here", NOT_ACCEPTED),
            (true, true) => ("No activities yet", EMPTY_CATALOG),
            (true, false) => ("Add activities", ""),
        };
        html_response(
            200,
            render(&Picker {
                heading,
                notice,
                action: self.tool.deep_link().as_str(),
                request_field: REQUEST_FIELD,
                request_key: &key,
                items: picker_items(&catalog),
                multiple: request.accept_multiple,
            }),
        )
    }

    /// The picker's form: build, sign and return the response.
    async fn selection(
        &self,
        req: &Request,
        params: &[(String, String)],
        id: &str,
    ) -> Response<Body> {
        let now = self.clock().now();
        let post = match take_picker_post::<DeepLinkRequest>(
            req,
            &self.tool.origin_string(),
            params,
            REQUEST_FIELD,
            ItemKind::DeepLinkRequest,
            self.items.as_ref(),
            self.catalog.as_ref(),
            now,
        )
        .await
        {
            Ok(post) => post,
            Err(error) => return respond(&error, id, Surface::Page),
        };
        let PickerPost {
            request,
            action,
            picked,
            catalog,
        } = post;
        let chosen;
        let failure;
        let outcome = match action {
            ACTION_SELECT => match choose(&request, &catalog, &picked) {
                Ok(items) => {
                    chosen = items;
                    Outcome::Selected(&chosen)
                }
                Err(error) => {
                    tracing::info!(request_id = id, detail = %error, "deep linking selection refused");
                    failure = selection_failure(&error);
                    Outcome::Failed {
                        message: &failure,
                        log: "the selection could not be returned",
                    }
                }
            },
            ACTION_CANCEL => Outcome::Cancelled,
            _ if !request.accepts_resource_links() => Outcome::Failed {
                message: "This tool adds LTI links, which this place in the course does not accept.",
                log: "ltiResourceLink is not in accept_types",
            },
            _ => Outcome::Failed {
                message: "The tool has no activities to offer yet.",
                log: "the tool's catalog is empty",
            },
        };
        let nonce = match random_token() {
            Ok(nonce) => nonce,
            Err(error) => return unavailable(id, "cannot make a nonce", &error),
        };
        let claims = response_claims(&request, &self.tool, outcome, now, nonce);
        let keys = match self.keys.signing_keys().await {
            Ok(keys) => keys,
            Err(error) => return unavailable(id, "cannot read the signing keys", &error),
        };
        let jwt = match keys.sign_jwt(&claims) {
            Ok(jwt) => jwt,
            Err(error) => return unavailable(id, "cannot sign the response", &error),
        };
        tracing::info!(
            request_id = id,
            items = claims.content_items.len(),
            error = claims.errormsg.is_some(),
            "deep linking response sent"
        );
        html_response(
            200,
            render(&AutoSubmit {
                title: "Returning to your course…",
                action: request.return_url.as_str(),
                fields: vec![("JWT", &jwt)],
            }),
        )
    }
}

/// The `errormsg` for a selection that cannot be returned.
fn selection_failure(error: &SelectionError) -> String {
    match error {
        SelectionError::ResourceLinksNotAccepted => {
            "This tool adds LTI links, which this place in the course does not accept.".to_owned()
        }
        SelectionError::SeveralNotAccepted(_) => {
            "Only one activity can be added here; choose one.".to_owned()
        }
        SelectionError::UnknownItem(item) => {
            format!("The activity {item} is no longer offered by the tool; choose another one.")
        }
    }
}

#[async_trait::async_trait]
impl lti_shared::web::serve::Handler for DeepLink {
    async fn handle(&self, req: Request) -> Response<Body> {
        DeepLink::handle(self, req).await
    }
}

impl DeepLink {
    /// The handler as every deployment wires it: the LTI 1.3 and 1.1 verifiers, catalog,
    /// request records and keys from `ports`, URLs under `tool`.
    pub fn from_ports(ports: &Ports, tool: ToolUrls) -> Self {
        Self::new(
            ports.verifier(),
            ports.lti11_verifier(),
            ports.store.clone(),
            ports.store.clone(),
            ports.keys.clone(),
            tool,
        )
    }
}
