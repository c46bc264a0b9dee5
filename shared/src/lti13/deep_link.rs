//! Deep Linking 2.0: from a verified `LtiDeepLinkingRequest` to the signed
//! `LtiDeepLinkingResponse` (Deep Linking 2.0 §4.4, §4.5; Security Framework §5.2
//! "Tool-Originating Messages").
//!
//! The deep-linking function verifies the request through the one launch verifier
//! ([`crate::lti13::launch::Verifier`]), keeps what the response needs as a [`DeepLinkRequest`]
//! server-side while the user picks, and then builds the response here:
//!
//! - [`DeepLinkRequest::from_launch`] reads the settings the response depends on;
//! - [`choose`] turns the picked ids into catalog items, within what the platform accepts;
//! - [`response_claims`] builds the claims the tool signs: `iss` = client id, `aud` = the
//!   platform's issuer, a fresh `nonce`, `iat`, a short `exp`, `deployment_id`, message type,
//!   version, `content_items`, and `data` echoed exactly when the request had it;
//! - [`content_item`] builds one `ltiResourceLink` item (Deep Linking 2.0 §3.2), whose `url`
//!   is the tool's launch URL with `?item=<id>` ([`item_target`]); a later launch of the
//!   placed link is resolved back to the item with [`placed_item`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use url::Url;

use crate::domain::catalog::{CatalogError, CatalogItem, CatalogItemId};
use crate::domain::ids::{ClientId, DeploymentId, Issuer};
use crate::domain::tool::{LAUNCH_PATH, ToolUrls};
use crate::lti13::claims::MessageType;
use crate::lti13::launch::VerifiedLaunch;

/// The content item type of an LTI resource link (Deep Linking 2.0 §3.2).
pub const RESOURCE_LINK_TYPE: &str = "ltiResourceLink";
/// The message type of the response (Deep Linking 2.0 §4.5.2).
pub const RESPONSE_MESSAGE_TYPE: &str = "LtiDeepLinkingResponse";
/// How long the picker may stay open before its selection is refused.
pub const REQUEST_LIFETIME: Duration = Duration::hours(1);
/// The response token's lifetime: the browser posts it at once, so a few minutes suffice.
pub const RESPONSE_LIFETIME: Duration = Duration::minutes(5);
/// The query parameter of a target link that names a catalog item.
pub const ITEM_PARAM: &str = "item";
/// The `tag` of the line items the tool declares (Deep Linking 2.0 §3.2 `lineItem.tag`).
pub const LINE_ITEM_TAG: &str = "grade";
/// The iframe height the tool asks for when the platform accepts iframe placement.
pub const IFRAME_HEIGHT: u32 = 800;

/// Claim names of the response (Deep Linking 2.0 §4.5).
pub mod claim {
    /// `deployment_id` (§4.5.4).
    pub const DEPLOYMENT_ID: &str = "https://purl.imsglobal.org/spec/lti/claim/deployment_id";
    /// `message_type` (§4.5.2).
    pub const MESSAGE_TYPE: &str = "https://purl.imsglobal.org/spec/lti/claim/message_type";
    /// `version` (§4.5.3).
    pub const VERSION: &str = "https://purl.imsglobal.org/spec/lti/claim/version";
    /// `content_items` (§4.5.6).
    pub const CONTENT_ITEMS: &str = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items";
    /// `data` (§4.5.5).
    pub const DATA: &str = "https://purl.imsglobal.org/spec/lti-dl/claim/data";
    /// `msg` (§4.5.7).
    pub const MSG: &str = "https://purl.imsglobal.org/spec/lti-dl/claim/msg";
    /// `log` (§4.5.8).
    pub const LOG: &str = "https://purl.imsglobal.org/spec/lti-dl/claim/log";
    /// `errormsg` (§4.5.9).
    pub const ERRORMSG: &str = "https://purl.imsglobal.org/spec/lti-dl/claim/errormsg";
    /// `errorlog` (§4.5.10).
    pub const ERRORLOG: &str = "https://purl.imsglobal.org/spec/lti-dl/claim/errorlog";
}

/// Why a verified launch cannot start a deep-linking interaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeepLinkError {
    /// The message is not an `LtiDeepLinkingRequest`.
    #[error("the message is a {0}, not an LtiDeepLinkingRequest")]
    NotDeepLinking(&'static str),
    /// No `deep_linking_settings` claim.
    #[error("the request has no deep_linking_settings claim")]
    MissingSettings,
    /// `deep_link_return_url` is not an absolute http(s) URL.
    #[error("deep_link_return_url is not an absolute http(s) URL")]
    InvalidReturnUrl,
}

/// What the response to one deep-linking request depends on, kept server-side between showing
/// the picker and the selection (as JSON in an expiring item).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeepLinkRequest {
    /// The platform's issuer: the response's `aud`.
    pub issuer: Issuer,
    /// The tool's client id: the response's `iss`.
    pub client_id: ClientId,
    /// The deployment, echoed in the response.
    pub deployment_id: DeploymentId,
    /// Where the response is posted (`deep_link_return_url`).
    pub return_url: Url,
    /// `accept_types`.
    pub accept_types: Vec<String>,
    /// `accept_presentation_document_targets`.
    pub accept_targets: Vec<String>,
    /// `accept_multiple` (absent means one item only).
    pub accept_multiple: bool,
    /// The default `text` for returned items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The opaque `data`, echoed exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

impl DeepLinkRequest {
    /// Reads the settings of a verified deep-linking request.
    pub fn from_launch(launch: &VerifiedLaunch) -> Result<Self, DeepLinkError> {
        if launch.message_type() != MessageType::DeepLinking {
            return Err(DeepLinkError::NotDeepLinking(
                launch.message_type().as_str(),
            ));
        }
        let settings = launch
            .claims()
            .deep_linking_settings
            .as_ref()
            .ok_or(DeepLinkError::MissingSettings)?;
        let return_url = Url::parse(&settings.deep_link_return_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http") && u.host_str().is_some())
            .ok_or(DeepLinkError::InvalidReturnUrl)?;
        let registration = launch.registration();
        Ok(Self {
            issuer: registration.issuer.clone(),
            client_id: registration.client_id.clone(),
            deployment_id: launch.deployment_id().clone(),
            return_url,
            accept_types: settings.accept_types.clone(),
            accept_targets: settings.accept_presentation_document_targets.clone(),
            accept_multiple: settings.accept_multiple.unwrap_or(false),
            text: settings.text.clone(),
            data: settings.data.clone(),
        })
    }

    /// Whether the platform accepts LTI resource links, the only type the tool returns.
    pub fn accepts_resource_links(&self) -> bool {
        self.accept_types.iter().any(|t| t == RESOURCE_LINK_TYPE)
    }

    /// Whether the platform accepts presentation target `target` (`iframe`, `window`, …).
    pub fn accepts_target(&self, target: &str) -> bool {
        self.accept_targets.iter().any(|t| t == target)
    }
}

/// Why a selection cannot be returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    /// The platform does not accept `ltiResourceLink` items.
    #[error("the platform does not accept LTI resource links here")]
    ResourceLinksNotAccepted,
    /// Several items, and the platform accepts one.
    #[error("the platform accepts one item here, {0} were selected")]
    SeveralNotAccepted(usize),
    /// An id that is not (or no longer) in the catalog.
    #[error("activity {0:?} is not in the catalog")]
    UnknownItem(String),
}

/// The catalog items for the ids the user picked, in the order picked (duplicates dropped),
/// checked against what the platform accepts. No ids is an empty selection, which is valid
/// (Deep Linking 2.0 §4.5.6).
pub fn choose(
    request: &DeepLinkRequest,
    catalog: &[CatalogItem],
    picked: &[&str],
) -> Result<Vec<CatalogItem>, SelectionError> {
    let mut ids: Vec<&str> = Vec::new();
    for id in picked {
        if !ids.contains(id) {
            ids.push(id);
        }
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    if !request.accepts_resource_links() {
        return Err(SelectionError::ResourceLinksNotAccepted);
    }
    if ids.len() > 1 && !request.accept_multiple {
        return Err(SelectionError::SeveralNotAccepted(ids.len()));
    }
    ids.into_iter()
        .map(|id| {
            catalog
                .iter()
                .find(|item| item.id.as_str() == id)
                .cloned()
                .ok_or_else(|| SelectionError::UnknownItem(id.to_owned()))
        })
        .collect()
}

/// The target link of a catalog item: the tool's launch URL with `?item=<id>`. The platform
/// launches the placed link with it as `target_link_uri` (Deep Linking 2.0 §3.2 `url`).
pub fn item_target(tool: &ToolUrls, id: &CatalogItemId) -> Url {
    let mut url = tool.launch();
    url.query_pairs_mut().append_pair(ITEM_PARAM, id.as_str());
    url
}

/// The catalog item a launch's `target_link_uri` names, if it is the tool's launch URL with
/// `?item=<id>`. `Ok(None)` for any other target (the built-in activity); an `item` parameter
/// that is not a valid id is an error.
pub fn placed_item(
    tool: &ToolUrls,
    target_link_uri: &str,
) -> Result<Option<CatalogItemId>, CatalogError> {
    let Ok(url) = Url::parse(target_link_uri) else {
        return Ok(None);
    };
    if !tool.owns(&url) || url.path() != LAUNCH_PATH {
        return Ok(None);
    }
    url.query_pairs()
        .find(|(name, _)| name == ITEM_PARAM)
        .map(|(_, value)| CatalogItemId::parse(value.into_owned()))
        .transpose()
}

/// A declared line item (Deep Linking 2.0 §3.2 `lineItem`; AGS 2.0 §3.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineItem {
    /// The maximum score.
    pub score_maximum: f64,
    /// The gradebook column label: the item's title.
    pub label: String,
    /// The tool's id for the resource: the catalog item id.
    pub resource_id: String,
    /// [`LINE_ITEM_TAG`].
    pub tag: String,
}

/// `iframe` presentation (Deep Linking 2.0 §3.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IframePresentation {
    /// The preferred height in pixels.
    pub height: u32,
}

/// `window` presentation (Deep Linking 2.0 §3.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowPresentation {
    /// One window per catalog item, so reopening the link reuses it.
    pub target_name: String,
}

/// One `ltiResourceLink` content item (Deep Linking 2.0 §3.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentItem {
    /// Always [`RESOURCE_LINK_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The item's title.
    pub title: String,
    /// The item's description, else the request's default text; absent when neither exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The target link ([`item_target`]).
    pub url: String,
    /// The item's custom parameters; absent when it has none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, String>,
    /// Present only for gradable items.
    #[serde(rename = "lineItem", default, skip_serializing_if = "Option::is_none")]
    pub line_item: Option<LineItem>,
    /// Present only when the platform accepts `iframe`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iframe: Option<IframePresentation>,
    /// Present only when the platform accepts `window`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowPresentation>,
}

/// The content item for one catalog item, within what `request` accepts.
pub fn content_item(request: &DeepLinkRequest, tool: &ToolUrls, item: &CatalogItem) -> ContentItem {
    ContentItem {
        kind: RESOURCE_LINK_TYPE.to_owned(),
        title: item.title.clone(),
        text: item.description.clone().or_else(|| request.text.clone()),
        url: item_target(tool, &item.id).to_string(),
        custom: item.custom.clone(),
        line_item: item.score_maximum.map(|score_maximum| LineItem {
            score_maximum,
            label: item.title.clone(),
            resource_id: item.id.to_string(),
            tag: LINE_ITEM_TAG.to_owned(),
        }),
        iframe: request
            .accepts_target("iframe")
            .then_some(IframePresentation {
                height: IFRAME_HEIGHT,
            }),
        window: request
            .accepts_target("window")
            .then(|| WindowPresentation {
                target_name: format!("lti-{}", item.id),
            }),
    }
}

/// How the interaction ended.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    /// The user picked these items (possibly none).
    Selected(&'a [CatalogItem]),
    /// The user cancelled.
    Cancelled,
    /// Nothing can be returned: `message` for the user, `log` for the platform's log.
    Failed {
        /// Shown to the user (`errormsg`).
        message: &'a str,
        /// Logged by the platform (`errorlog`).
        log: &'a str,
    },
}

/// The claims of an `LtiDeepLinkingResponse` (Deep Linking 2.0 §4.5; Security Framework §5.2.2
/// "Tool JWT").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseClaims {
    /// The tool's client id.
    pub iss: String,
    /// The platform's issuer.
    pub aud: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at: [`RESPONSE_LIFETIME`] after `iat`.
    pub exp: i64,
    /// Fresh for every response.
    pub nonce: String,
    /// The request's deployment.
    #[serde(rename = "https://purl.imsglobal.org/spec/lti/claim/deployment_id")]
    pub deployment_id: String,
    /// [`RESPONSE_MESSAGE_TYPE`].
    #[serde(rename = "https://purl.imsglobal.org/spec/lti/claim/message_type")]
    pub message_type: String,
    /// `1.3.0`.
    #[serde(rename = "https://purl.imsglobal.org/spec/lti/claim/version")]
    pub version: String,
    /// The selected items; empty on cancel and error.
    #[serde(rename = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items")]
    pub content_items: Vec<ContentItem>,
    /// The request's `data`, exactly; absent when the request had none.
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti-dl/claim/data",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub data: Option<String>,
    /// A message for the user.
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti-dl/claim/msg",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub msg: Option<String>,
    /// A message for the platform's log.
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti-dl/claim/log",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub log: Option<String>,
    /// An error message for the user.
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti-dl/claim/errormsg",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub errormsg: Option<String>,
    /// An error message for the platform's log.
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti-dl/claim/errorlog",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub errorlog: Option<String>,
}

/// The response claims for `outcome`, issued at `now` with `nonce` (a fresh random value).
pub fn response_claims(
    request: &DeepLinkRequest,
    tool: &ToolUrls,
    outcome: Outcome<'_>,
    now: OffsetDateTime,
    nonce: String,
) -> ResponseClaims {
    let mut claims = ResponseClaims {
        iss: request.client_id.to_string(),
        aud: request.issuer.to_string(),
        iat: now.unix_timestamp(),
        exp: (now + RESPONSE_LIFETIME).unix_timestamp(),
        nonce,
        deployment_id: request.deployment_id.to_string(),
        message_type: RESPONSE_MESSAGE_TYPE.to_owned(),
        version: "1.3.0".to_owned(),
        content_items: Vec::new(),
        data: request.data.clone(),
        msg: None,
        log: None,
        errormsg: None,
        errorlog: None,
    };
    match outcome {
        Outcome::Selected(items) => {
            claims.content_items = items
                .iter()
                .map(|item| content_item(request, tool, item))
                .collect();
            claims.log = Some(format!("{} item(s) selected", items.len()));
        }
        Outcome::Cancelled => {
            claims.msg = Some("No activity was added.".to_owned());
            claims.log = Some("the user cancelled the selection".to_owned());
        }
        Outcome::Failed { message, log } => {
            claims.errormsg = Some(message.to_owned());
            claims.errorlog = Some(log.to_owned());
        }
    }
    claims
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::domain::catalog::NewCatalogItem;

    fn tool() -> ToolUrls {
        ToolUrls::new(&Url::parse("https://lti.example.edu").unwrap())
    }

    fn request() -> DeepLinkRequest {
        DeepLinkRequest {
            issuer: Issuer::parse("https://lms.example.edu").unwrap(),
            client_id: ClientId::parse("client-1").unwrap(),
            deployment_id: DeploymentId::parse("dep-1").unwrap(),
            return_url: Url::parse("https://lms.example.edu/deep-links").unwrap(),
            accept_types: vec!["link".into(), "ltiResourceLink".into()],
            accept_targets: vec!["iframe".into(), "window".into()],
            accept_multiple: true,
            text: Some("Default text".into()),
            data: Some("csrftoken:c7fbba78 & \"quoted\" ✓".into()),
        }
    }

    fn item(id: &str, score: Option<f64>) -> CatalogItem {
        CatalogItem::new(
            NewCatalogItem {
                id,
                title: &format!("Title {id}"),
                description: Some("A description"),
                activity_url: "https://activities.example.edu/a",
                score_maximum: score,
                custom: vec![("chapter".into(), "3".into())],
            },
            OffsetDateTime::UNIX_EPOCH,
        )
        .unwrap()
    }

    fn now() -> OffsetDateTime {
        time::macros::datetime!(2026-03-01 12:00:00 UTC)
    }

    fn json_of(claims: &ResponseClaims) -> Value {
        serde_json::to_value(claims).unwrap()
    }

    #[test]
    fn response_claims_selected_sets_every_required_claim() {
        let items = [item("quiz-1", Some(10.0))];
        let claims = response_claims(
            &request(),
            &tool(),
            Outcome::Selected(&items),
            now(),
            "n-1".into(),
        );
        let v = json_of(&claims);
        assert_eq!(v["iss"], "client-1");
        assert_eq!(v["aud"], "https://lms.example.edu");
        assert_eq!(v["iat"], now().unix_timestamp());
        assert_eq!(v["exp"], now().unix_timestamp() + 300);
        assert_eq!(v["nonce"], "n-1");
        assert_eq!(v[claim::DEPLOYMENT_ID], "dep-1");
        assert_eq!(v[claim::MESSAGE_TYPE], "LtiDeepLinkingResponse");
        assert_eq!(v[claim::VERSION], "1.3.0");
        assert_eq!(v[claim::CONTENT_ITEMS].as_array().unwrap().len(), 1);
        assert!(v.get(claim::ERRORMSG).is_none());
        assert!(v.get(claim::ERRORLOG).is_none());
        assert!(v.get(claim::MSG).is_none());
    }

    #[test]
    fn response_claims_data_in_request_is_echoed_exactly() {
        let claims = response_claims(&request(), &tool(), Outcome::Cancelled, now(), "n".into());
        assert_eq!(
            json_of(&claims)[claim::DATA],
            json!("csrftoken:c7fbba78 & \"quoted\" ✓")
        );
    }

    #[test]
    fn response_claims_no_data_in_request_has_no_data_claim() {
        let request = DeepLinkRequest {
            data: None,
            ..request()
        };
        for outcome in [
            Outcome::Selected(&[]),
            Outcome::Cancelled,
            Outcome::Failed {
                message: "m",
                log: "l",
            },
        ] {
            let v = json_of(&response_claims(
                &request,
                &tool(),
                outcome,
                now(),
                "n".into(),
            ));
            assert!(v.get(claim::DATA).is_none(), "{v}");
        }
    }

    #[test]
    fn response_claims_cancel_has_msg_log_and_no_items() {
        let v = json_of(&response_claims(
            &request(),
            &tool(),
            Outcome::Cancelled,
            now(),
            "n".into(),
        ));
        assert_eq!(v[claim::CONTENT_ITEMS], json!([]));
        assert!(v[claim::MSG].as_str().unwrap().contains("No activity"));
        assert!(v[claim::LOG].is_string());
        assert!(v.get(claim::ERRORMSG).is_none());
        assert!(v.get(claim::ERRORLOG).is_none());
    }

    #[test]
    fn response_claims_error_has_errormsg_errorlog_and_no_items() {
        let v = json_of(&response_claims(
            &request(),
            &tool(),
            Outcome::Failed {
                message: "Nothing to add",
                log: "catalog empty",
            },
            now(),
            "n".into(),
        ));
        assert_eq!(v[claim::CONTENT_ITEMS], json!([]));
        assert_eq!(v[claim::ERRORMSG], "Nothing to add");
        assert_eq!(v[claim::ERRORLOG], "catalog empty");
        assert!(v.get(claim::MSG).is_none());
        assert!(v.get(claim::LOG).is_none());
    }

    #[test]
    fn content_item_gradable_has_line_item_with_every_field() {
        let v = serde_json::to_value(content_item(
            &request(),
            &tool(),
            &item("quiz-1", Some(12.5)),
        ))
        .unwrap();
        assert_eq!(v["type"], "ltiResourceLink");
        assert_eq!(v["title"], "Title quiz-1");
        assert_eq!(v["text"], "A description");
        assert_eq!(v["url"], "https://lti.example.edu/launch?item=quiz-1");
        assert_eq!(v["custom"], json!({"chapter": "3"}));
        assert_eq!(
            v["lineItem"],
            json!({"scoreMaximum": 12.5, "label": "Title quiz-1", "resourceId": "quiz-1", "tag": "grade"})
        );
    }

    #[test]
    fn content_item_not_gradable_has_no_line_item() {
        let v =
            serde_json::to_value(content_item(&request(), &tool(), &item("read-1", None))).unwrap();
        assert!(v.get("lineItem").is_none(), "{v}");
    }

    #[test]
    fn content_item_presentation_only_for_accepted_targets() {
        let v = serde_json::to_value(content_item(&request(), &tool(), &item("a", None))).unwrap();
        assert_eq!(v["iframe"], json!({"height": IFRAME_HEIGHT}));
        assert_eq!(v["window"], json!({"targetName": "lti-a"}));

        let only_window = DeepLinkRequest {
            accept_targets: vec!["window".into()],
            ..request()
        };
        let v =
            serde_json::to_value(content_item(&only_window, &tool(), &item("a", None))).unwrap();
        assert!(v.get("iframe").is_none(), "{v}");
        assert!(v.get("window").is_some());

        let none = DeepLinkRequest {
            accept_targets: vec!["embed".into()],
            ..request()
        };
        let v = serde_json::to_value(content_item(&none, &tool(), &item("a", None))).unwrap();
        assert!(
            v.get("iframe").is_none() && v.get("window").is_none(),
            "{v}"
        );
    }

    #[test]
    fn content_item_without_description_uses_request_text_then_none() {
        let mut bare = item("a", None);
        bare.description = None;
        bare.custom.clear();
        let v = serde_json::to_value(content_item(&request(), &tool(), &bare)).unwrap();
        assert_eq!(v["text"], "Default text");
        assert!(v.get("custom").is_none(), "{v}");
        let no_text = DeepLinkRequest {
            text: None,
            ..request()
        };
        let v = serde_json::to_value(content_item(&no_text, &tool(), &bare)).unwrap();
        assert!(v.get("text").is_none(), "{v}");
    }

    #[test]
    fn choose_several_when_multiple_accepted_keeps_order() {
        let catalog = [item("a", None), item("b", Some(1.0)), item("c", None)];
        let chosen = choose(&request(), &catalog, &["c", "a", "c"]).unwrap();
        let ids: Vec<&str> = chosen.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["c", "a"]);
    }

    #[test]
    fn choose_several_when_one_accepted_is_refused() {
        let catalog = [item("a", None), item("b", None)];
        let single = DeepLinkRequest {
            accept_multiple: false,
            ..request()
        };
        assert_eq!(
            choose(&single, &catalog, &["a", "b"]),
            Err(SelectionError::SeveralNotAccepted(2))
        );
        assert_eq!(choose(&single, &catalog, &["b"]).unwrap().len(), 1);
    }

    #[test]
    fn choose_unknown_item_is_refused() {
        let catalog = [item("a", None)];
        assert_eq!(
            choose(&request(), &catalog, &["a", "gone"]),
            Err(SelectionError::UnknownItem("gone".into()))
        );
    }

    #[test]
    fn choose_when_resource_links_not_accepted_is_refused() {
        let catalog = [item("a", None)];
        let links_only = DeepLinkRequest {
            accept_types: vec!["link".into()],
            ..request()
        };
        assert!(!links_only.accepts_resource_links());
        assert_eq!(
            choose(&links_only, &catalog, &["a"]),
            Err(SelectionError::ResourceLinksNotAccepted)
        );
        assert_eq!(choose(&links_only, &catalog, &[]), Ok(Vec::new()));
    }

    #[test]
    fn placed_item_reads_item_of_own_launch_url_only() {
        let tool = tool();
        let id = CatalogItemId::parse("quiz-1").unwrap();
        let target = item_target(&tool, &id);
        assert_eq!(placed_item(&tool, target.as_str()), Ok(Some(id)));
        assert_eq!(
            placed_item(&tool, "https://lti.example.edu/launch"),
            Ok(None)
        );
        assert_eq!(
            placed_item(&tool, "https://other.example/launch?item=quiz-1"),
            Ok(None)
        );
        assert_eq!(
            placed_item(&tool, "https://lti.example.edu/activity?item=quiz-1"),
            Ok(None)
        );
        assert!(placed_item(&tool, "https://lti.example.edu/launch?item=a%2Fb").is_err());
    }

    #[test]
    fn deep_link_request_round_trips_as_json() {
        let text = serde_json::to_string(&request()).unwrap();
        assert_eq!(
            serde_json::from_str::<DeepLinkRequest>(&text).unwrap(),
            request()
        );
    }
}
