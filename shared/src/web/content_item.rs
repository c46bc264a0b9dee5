//! LTI 1.1 Content-Item selection at the HTTP edge: the platform's
//! `ContentItemSelectionRequest` opens the same activity picker as LTI 1.3 deep linking, and
//! the picker's form answers with a signed `ContentItemSelection` that the browser posts to the
//! platform's `content_item_return_url` (protocol in [`crate::lti11::content_item`]).
//!
//! **Where requests arrive.** Platforms send the request to different URLs: Moodle to the
//! tool type's "Content Selection URL" when one is set and otherwise to its "Tool URL"; Sakai
//! and Blackboard to the tool's launch URL. So the tool accepts it at both `/deep-link` (the
//! recommended Content Selection URL, next to LTI 1.3 deep linking) and `/launch`, where LTI
//! 1.1 bodies are told apart by their `lti_message_type`. The signature is checked over the
//! URL it was posted to (the public origin and the request's path), so either works. The
//! picker's own form always posts to `/deep-link`.
//!
//! [`ContentItemSelection::request`] verifies the request with the LTI 1.1 verifier (signature,
//! timestamp window, nonce replay, consumer status), lets only the roles that may edit content
//! through (as LTI 1.3 deep linking), refuses a request that accepts no LTI links or no
//! presentation target for one, keeps what the answer depends on server-side under a random id
//! ([`ItemKind::ContentItemRequest`], one hour), and shows the picker.
//!
//! [`ContentItemSelection::selection`] answers the picker's form: only from the tool's own page,
//! the stored request taken once (so the form cannot choose the return URL, the consumer or
//! `data`), the answer signed with the consumer's key and secret (HMAC-SHA1, the fields as form
//! parameters) and handed to the browser as an auto-submitting form.

use lambda_http::{Body, Request, Response};

use crate::domain::catalog::CatalogItem;
use crate::domain::tool::ToolUrls;
use crate::lti11::content_item::{
    ContentItemError, ContentItemRequest, Outcome, REQUEST_LIFETIME, choose, selection_message,
};
use crate::lti11::launch::{Lti11Error, Lti11Verifier};
use crate::lti11::oauth1::{fresh_nonce, sign_form_request};
use crate::lti13::login::random_token;
use crate::ports::{Catalog, ItemKind};
use crate::web::error::{Flow, PageRefusal, Surface, WebError, respond};
use crate::web::http::{html_response, oauth_request_params};
use crate::web::pages::deep_link::{
    ACTION_CANCEL, ACTION_SELECT, CONTENT_ITEM_REQUEST_FIELD, Picker, PickerItem,
};
use crate::web::pages::{AutoSubmit, render};
use crate::web::picker::{PickerPost, take_picker_post};

/// What the user sees when the catalog is empty.
const EMPTY_CATALOG: &str = "The tool has no activities to offer yet. Ask the tool's \
     administrator to add some (`ltictl catalog add`), then try again.";

/// The Content-Item selection flow over the ports it uses: the LTI 1.1 verifier (whose
/// consumer registry, key store, expiring items and clock it also uses), the catalog and the
/// tool's URLs.
pub struct ContentItemSelection<'a> {
    /// Verifies requests; its key store signs answers, its items keep pending requests.
    pub verifier: &'a Lti11Verifier,
    /// The activities offered.
    pub catalog: &'a dyn Catalog,
    /// The tool's public URLs.
    pub tool: &'a ToolUrls,
}

fn refused(error: impl Into<WebError>, id: &str) -> Response<Body> {
    respond(&error.into(), id, Surface::Page)
}

fn unavailable(id: &str, what: &'static str, error: &dyn std::fmt::Display) -> Response<Body> {
    refused(WebError::unavailable(Flow::DeepLink, what, error), id)
}

/// The catalog as the picker lists it.
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

impl ContentItemSelection<'_> {
    /// The platform's `ContentItemSelectionRequest` (a form POST to `/deep-link` or
    /// `/launch`): verify, check the role and what the platform accepts, keep the request,
    /// show the picker. Never fails: every outcome is a response.
    pub async fn request(&self, req: &Request, id: &str) -> Response<Body> {
        let params = match oauth_request_params(req) {
            Ok(params) => params,
            Err(error) => return refused(WebError::ContentItemRequest(error.into()), id),
        };
        // The base string uses the public URL the platform posted to, never the host or port
        // this server sees behind a proxy or on Lambda.
        let mut public_url = self.tool.launch();
        public_url.set_path(req.uri().path());
        let verified = match self
            .verifier
            .verify_content_item_request(req.method().as_str(), &public_url, params)
            .await
        {
            Ok(verified) => verified,
            Err(error) => return refused(WebError::ContentItemRequest(error), id),
        };
        let roles = verified.roles();
        tracing::info!(
            request_id = id,
            consumer = %verified.consumer().key,
            roles = %roles,
            "LTI 1.1 content-item selection request verified"
        );
        if !roles.can_edit_content() {
            tracing::info!(request_id = id, roles = %roles, "content-item selection refused: role");
            return refused(PageRefusal::RoleNotAllowed, id);
        }
        let request = match ContentItemRequest::from_verified(&verified) {
            Ok(request) => request,
            Err(error) => return refused(error, id),
        };
        let catalog = match self.catalog.catalog_items().await {
            Ok(catalog) => catalog,
            Err(error) => return unavailable(id, "cannot read the catalog", &error),
        };
        let key = match random_token() {
            Ok(key) => key,
            Err(error) => return unavailable(id, "cannot make a request id", &error),
        };
        let stored = match serde_json::to_string(&request) {
            Ok(text) => text,
            Err(error) => return unavailable(id, "cannot store the request", &error),
        };
        let now = self.verifier.clock.now();
        if let Err(error) = self
            .verifier
            .items
            .put_item(
                ItemKind::ContentItemRequest,
                &key,
                &stored,
                now + REQUEST_LIFETIME,
            )
            .await
        {
            return unavailable(id, "cannot store the request", &error);
        }
        let (heading, notice) = if catalog.is_empty() {
            ("No activities yet", EMPTY_CATALOG)
        } else {
            ("Add activities", "")
        };
        html_response(
            200,
            render(&Picker {
                heading,
                notice,
                action: self.tool.deep_link().as_str(),
                request_field: CONTENT_ITEM_REQUEST_FIELD,
                request_key: &key,
                items: picker_items(&catalog),
                multiple: request.accept_multiple,
            }),
        )
    }

    /// The picker's form (it carries [`CONTENT_ITEM_REQUEST_FIELD`]): build the
    /// `ContentItemSelection`, sign it with the consumer's key and secret, and hand it to the
    /// browser as an auto-submitting form to the stored `content_item_return_url`.
    pub async fn selection(
        &self,
        req: &Request,
        params: &[(String, String)],
        id: &str,
    ) -> Response<Body> {
        let now = self.verifier.clock.now();
        let post = match take_picker_post::<ContentItemRequest>(
            req,
            &self.tool.origin_string(),
            params,
            CONTENT_ITEM_REQUEST_FIELD,
            ItemKind::ContentItemRequest,
            self.verifier.items.as_ref(),
            self.catalog,
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
                Err(ContentItemError::UnknownItem(item)) => {
                    tracing::info!(
                        request_id = id,
                        item,
                        "content-item selection of an unknown item"
                    );
                    failure = format!(
                        "The activity {item} is no longer offered by the tool; choose another one."
                    );
                    Outcome::Failed {
                        message: &failure,
                        log: "the selection could not be returned",
                    }
                }
                Err(
                    error @ (ContentItemError::SeveralNotAccepted(_)
                    | ContentItemError::LtiLinksNotAccepted(_)
                    | ContentItemError::NoPresentationTarget(_)),
                ) => return refused(error, id),
            },
            ACTION_CANCEL => Outcome::Cancelled,
            _ => Outcome::Failed {
                message: "The tool has no activities to offer yet.",
                log: "the tool's catalog is empty",
            },
        };
        let fields = selection_message(&request, self.tool, outcome);
        let secret = match self
            .verifier
            .keys
            .consumer_secret(&request.consumer_key)
            .await
        {
            Ok(Some(secret)) => secret,
            // The consumer was removed while the picker was open.
            Ok(None) => return refused(WebError::ContentItemRequest(Lti11Error::BadSignature), id),
            Err(error) => return unavailable(id, "cannot read the consumer secret", &error),
        };
        let oauth = sign_form_request(
            &request.return_url,
            &fields,
            request.consumer_key.as_str(),
            &secret,
            now.unix_timestamp(),
            &fresh_nonce(),
        );
        tracing::info!(
            request_id = id,
            consumer = %request.consumer_key,
            items = chosen_count(outcome),
            cancelled = matches!(outcome, Outcome::Cancelled),
            error = matches!(outcome, Outcome::Failed { .. }),
            "content-item selection sent"
        );
        html_response(
            200,
            render(&AutoSubmit {
                title: "Returning to your course…",
                action: request.return_url.as_str(),
                fields: fields
                    .iter()
                    .chain(oauth.iter())
                    .map(|(name, value)| (name.as_str(), value.as_str()))
                    .collect(),
            }),
        )
    }
}

/// How many items an outcome returns.
fn chosen_count(outcome: Outcome<'_>) -> usize {
    match outcome {
        Outcome::Selected(items) => items.len(),
        Outcome::Cancelled | Outcome::Failed { .. } => 0,
    }
}
