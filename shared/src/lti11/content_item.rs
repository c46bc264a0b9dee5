//! IMS Content-Item Message 1.0 (LTI 1.1 "Deep Linking 1.0"): from a verified
//! `ContentItemSelectionRequest` to the `ContentItemSelection` the browser posts back to the
//! platform's `content_item_return_url`.
//!
//! Moodle ("Supports Deep Linking (Content-Item Message)"), Sakai and Blackboard LTI 1.1 tool
//! configurations send it. The request is an LTI 1.1 message like a launch (Content-Item 1.0
//! §3: same parameters, same OAuth 1.0a signature, "verified in the same way as a launch
//! request"), so it goes through the launch verifier's steps
//! ([`Lti11Verifier::verify_content_item_request`]): signature over the public URL, consumer
//! status, timestamp window, message type, version, then this message's own parameters, and
//! the nonce recorded last.
//!
//! Then, as for LTI 1.3 deep linking ([`crate::lti13::deep_link`]):
//!
//! - [`ContentItemRequest::from_verified`] reads what the answer depends on (return URL,
//!   `accept_multiple`, the presentation target, `data`) and refuses a request the tool cannot
//!   answer: one that accepts no LTI links (`accept_media_types`) or no presentation target an
//!   LTI link can use (`accept_presentation_document_targets`);
//! - [`choose`] turns the picked catalog ids into items, within `accept_multiple`;
//! - [`content_items`] builds the JSON-LD `content_items`: one `LtiLinkItem` per item, whose
//!   `url` is the tool's launch URL and whose `custom` carries the catalog item id as
//!   [`ITEM_CUSTOM`], so a later LTI 1.1 launch of the placed link (the platform sends it as
//!   `custom_catalog_item`) finds the item; gradable items declare a `lineItem` with
//!   `scoreConstraints`;
//! - [`selection_message`] builds the unsigned form fields of the answer (`lti_message_type`,
//!   `lti_version`, `content_items`, `data` echoed exactly, `lti_msg`/`lti_log` or
//!   `lti_errormsg`/`lti_errorlog`). The edge signs them with the consumer's key and secret
//!   ([`crate::lti11::oauth1::sign_form_request`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::Duration;
use url::Url;

use crate::domain::catalog::CatalogItem;
use crate::domain::ids::ConsumerKey;
use crate::domain::model::{Consumer, PlatformScope};
use crate::domain::roles::Roles;
use crate::domain::tool::ToolUrls;
use crate::lti11::launch::{Lti11Error, Lti11Verifier, check_user_and_context, first};

/// `lti_message_type` of the request (Content-Item 1.0 §4.1).
pub const REQUEST_MESSAGE_TYPE: &str = "ContentItemSelectionRequest";
/// `lti_message_type` of the answer (Content-Item 1.0 §4.2).
pub const RESPONSE_MESSAGE_TYPE: &str = "ContentItemSelection";
/// `lti_version` of both.
pub const LTI_VERSION: &str = "LTI-1p0";
/// The media type of an LTI link (`LtiLinkItem`), the only kind of item the tool returns.
pub const LTI_LINK_MEDIA_TYPE: &str = "application/vnd.ims.lti.v1.ltilink";
/// The JSON-LD context of `content_items`.
pub const CONTEXT: &str = "http://purl.imsglobal.org/ctx/lti/v1/ContentItem";
/// The custom parameter that names the placed catalog item. The platform sends it back on
/// every launch of the link as `custom_catalog_item`. It replaces a catalog custom parameter
/// of the same name.
pub const ITEM_CUSTOM: &str = "catalog_item";
/// The line item's reporting method: the total score (LIS 2.1 Result).
pub const TOTAL_SCORE: &str = "http://purl.imsglobal.org/ctx/lis/v2p1/Result#totalScore";
/// How long the picker may stay open before its selection is refused.
pub const REQUEST_LIFETIME: Duration = Duration::hours(1);
/// The iframe height the tool asks for when the link is shown in an iframe.
pub const IFRAME_HEIGHT: u32 = 800;

/// The parameters a `ContentItemSelectionRequest` must carry besides the launch ones
/// (Content-Item 1.0 §4.1: "required").
const REQUIRED: [&str; 3] = [
    "content_item_return_url",
    "accept_media_types",
    "accept_presentation_document_targets",
];

/// How many characters of a value sent by the platform an error keeps.
const ERROR_VALUE_MAX: usize = 64;

/// Whether an LTI 1.1 body says it is a `ContentItemSelectionRequest`. Only for routing: the
/// verifier checks it again, after the signature.
pub fn is_content_item_request(params: &[(String, String)]) -> bool {
    first(params, "lti_message_type") == Some(REQUEST_MESSAGE_TYPE)
}

/// A `ContentItemSelectionRequest` that passed every check of the LTI 1.1 verifier.
#[derive(Debug, Clone)]
pub struct VerifiedContentItemRequest {
    consumer: Consumer,
    params: Vec<(String, String)>,
    return_url: Url,
    roles: Roles,
}

impl Lti11Verifier {
    /// Verifies a `ContentItemSelectionRequest` posted to `public_url` (the public origin and
    /// the request's path), with the steps and the answers of [`Lti11Verifier::verify`]:
    /// POST, OAuth parameters, consumer, signature, consumer status, timestamp,
    /// `lti_message_type` = `ContentItemSelectionRequest`, `lti_version` = `LTI-1p0`; then
    /// `content_item_return_url` (an absolute http(s) URL), `accept_media_types` and
    /// `accept_presentation_document_targets` present, `user_id` and `context_id` usable if
    /// sent; last, the nonce recorded (a replay is refused). No `resource_link_id` is needed.
    pub async fn verify_content_item_request(
        &self,
        method: &str,
        public_url: &Url,
        params: Vec<(String, String)>,
    ) -> Result<VerifiedContentItemRequest, Lti11Error> {
        let checked = self
            .authenticate(method, public_url, params, REQUEST_MESSAGE_TYPE)
            .await?;
        let params = checked.request.params();
        if let Some(missing) = REQUIRED
            .into_iter()
            .find(|name| first(params, name).is_none())
        {
            return Err(Lti11Error::MissingParameter(missing));
        }
        let return_url =
            return_url(params).ok_or(Lti11Error::InvalidParameter("content_item_return_url"))?;
        check_user_and_context(params)?;
        self.record_nonce(&checked).await?;
        let roles = Roles::from_lti11(
            first(params, "roles").unwrap_or_default(),
            &Default::default(),
        );
        Ok(VerifiedContentItemRequest {
            params: params.to_vec(),
            consumer: checked.consumer,
            return_url,
            roles,
        })
    }
}

/// `content_item_return_url`, if it is an absolute http(s) URL with a host.
fn return_url(params: &[(String, String)]) -> Option<Url> {
    first(params, "content_item_return_url")
        .and_then(|text| Url::parse(text).ok())
        .filter(|url| matches!(url.scheme(), "https" | "http") && url.host_str().is_some())
}

impl VerifiedContentItemRequest {
    /// The consumer the request came from.
    pub fn consumer(&self) -> &Consumer {
        &self.consumer
    }

    /// The platform scope of the request's identifiers.
    pub fn scope(&self) -> PlatformScope {
        PlatformScope::Lti11 {
            consumer_key: self.consumer.key.clone(),
        }
    }

    /// The user's roles (the LTI 1.1 `roles` list, through the shared role model).
    pub fn roles(&self) -> &Roles {
        &self.roles
    }

    /// A request parameter (first non-empty value).
    pub fn param(&self, name: &str) -> Option<&str> {
        first(&self.params, name)
    }

    /// `content_item_return_url`, query included.
    pub fn return_url(&self) -> &Url {
        &self.return_url
    }
}

/// The presentation targets an LTI link can be shown in (Content-Item 1.0 §4.1
/// `accept_presentation_document_targets`), in the order the tool prefers them: the activity
/// works inside the LMS page, so an iframe first. `embed` (inline HTML) and `none` cannot show
/// a launch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PresentationTarget {
    /// An iframe in the platform's page.
    Iframe,
    /// The platform's whole frame (page).
    Frame,
    /// A new window or tab.
    Window,
    /// A popup window.
    Popup,
    /// An overlay over the platform's page.
    Overlay,
}

impl PresentationTarget {
    /// Every usable target, most preferred first.
    pub const PREFERENCE: [PresentationTarget; 5] = [
        PresentationTarget::Iframe,
        PresentationTarget::Frame,
        PresentationTarget::Window,
        PresentationTarget::Popup,
        PresentationTarget::Overlay,
    ];

    /// The target's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            PresentationTarget::Iframe => "iframe",
            PresentationTarget::Frame => "frame",
            PresentationTarget::Window => "window",
            PresentationTarget::Popup => "popup",
            PresentationTarget::Overlay => "overlay",
        }
    }
}

/// Why a content selection cannot be answered as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentItemError {
    /// `accept_media_types` (the value, cut to 64 characters) has no LTI link type.
    #[error("accept_media_types {0:?} does not accept LTI links")]
    LtiLinksNotAccepted(String),
    /// `accept_presentation_document_targets` (the value, cut to 64 characters) has no target
    /// an LTI link can be shown in.
    #[error("accept_presentation_document_targets {0:?} has no target for an LTI link")]
    NoPresentationTarget(String),
    /// Several items were posted, and the platform accepts one (`accept_multiple=false`).
    #[error("the platform accepts one item here, {0} were selected")]
    SeveralNotAccepted(usize),
    /// An id that is not (or no longer) in the catalog.
    #[error("activity {0:?} is not in the catalog")]
    UnknownItem(String),
}

fn clip(value: &str) -> String {
    value.chars().take(ERROR_VALUE_MAX).collect()
}

/// The elements of a comma-separated list parameter, trimmed, lower-cased, without empties.
fn list(value: &str) -> impl Iterator<Item = String> + '_ {
    value
        .split(',')
        .map(|element| element.trim().to_ascii_lowercase())
        .filter(|element| !element.is_empty())
}

/// Whether a media range of `accept_media_types` covers an LTI link: the type itself,
/// `application/*` or `*/*` (parameters after `;` ignored).
fn covers_lti_link(range: &str) -> bool {
    let range = range.split(';').next().unwrap_or_default().trim();
    matches!(range, LTI_LINK_MEDIA_TYPE | "application/*" | "*/*")
}

/// What the answer to one `ContentItemSelectionRequest` depends on, kept server-side (as JSON
/// in an expiring item) between showing the picker and the selection, so the picker's form
/// cannot send the answer elsewhere or for another consumer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentItemRequest {
    /// The consumer: its key and secret sign the answer.
    pub consumer_key: ConsumerKey,
    /// Where the answer is posted (`content_item_return_url`, query included).
    pub return_url: Url,
    /// `accept_multiple` (absent means one item only).
    pub accept_multiple: bool,
    /// The presentation target the tool advises, among those the platform accepts.
    pub target: PresentationTarget,
    /// The default `text` for returned items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The opaque `data`, echoed exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

impl ContentItemRequest {
    /// Reads what the answer depends on, refusing a request that accepts no LTI link or no
    /// presentation target an LTI link can use.
    pub fn from_verified(request: &VerifiedContentItemRequest) -> Result<Self, ContentItemError> {
        let media_types = request.param("accept_media_types").unwrap_or_default();
        if !list(media_types).any(|range| covers_lti_link(&range)) {
            return Err(ContentItemError::LtiLinksNotAccepted(clip(media_types)));
        }
        let targets_sent = request
            .param("accept_presentation_document_targets")
            .unwrap_or_default();
        let targets: Vec<String> = list(targets_sent).collect();
        let target = PresentationTarget::PREFERENCE
            .into_iter()
            .find(|target| targets.iter().any(|t| t == target.as_str()))
            .ok_or_else(|| ContentItemError::NoPresentationTarget(clip(targets_sent)))?;
        Ok(Self {
            consumer_key: request.consumer.key.clone(),
            return_url: request.return_url.clone(),
            accept_multiple: request
                .param("accept_multiple")
                .is_some_and(|value| value.trim().eq_ignore_ascii_case("true")),
            target,
            text: request.param("text").map(str::to_owned),
            data: request
                .params
                .iter()
                .find(|(name, _)| name == "data")
                .map(|(_, value)| value.clone()),
        })
    }
}

/// The catalog items for the ids the user picked, in the order picked (duplicates dropped),
/// within `accept_multiple`. No ids is an empty selection, which is valid.
pub fn choose(
    request: &ContentItemRequest,
    catalog: &[CatalogItem],
    picked: &[&str],
) -> Result<Vec<CatalogItem>, ContentItemError> {
    let mut ids: Vec<&str> = Vec::new();
    for id in picked {
        if !ids.contains(id) {
            ids.push(id);
        }
    }
    if ids.len() > 1 && !request.accept_multiple {
        return Err(ContentItemError::SeveralNotAccepted(ids.len()));
    }
    ids.into_iter()
        .map(|id| {
            catalog
                .iter()
                .find(|item| item.id.as_str() == id)
                .cloned()
                .ok_or_else(|| ContentItemError::UnknownItem(clip(id)))
        })
        .collect()
}

/// One `LtiLinkItem` (Content-Item 1.0 §3.3) for a catalog item: the tool's launch URL, the
/// item's title and text, its custom parameters plus [`ITEM_CUSTOM`], the advised
/// presentation, and a `lineItem` when the item is gradable.
pub fn lti_link_item(request: &ContentItemRequest, tool: &ToolUrls, item: &CatalogItem) -> Value {
    let mut custom: BTreeMap<String, String> = item.custom.clone();
    custom.insert(ITEM_CUSTOM.to_owned(), item.id.to_string());
    let mut placement = Map::new();
    placement.insert(
        "presentationDocumentTarget".into(),
        json!(request.target.as_str()),
    );
    match request.target {
        PresentationTarget::Iframe => {
            placement.insert("displayHeight".into(), json!(IFRAME_HEIGHT));
        }
        PresentationTarget::Window | PresentationTarget::Popup => {
            placement.insert("windowTarget".into(), json!(format!("lti-{}", item.id)));
        }
        PresentationTarget::Frame | PresentationTarget::Overlay => {}
    }
    let mut link = json!({
        "@type": "LtiLinkItem",
        "mediaType": LTI_LINK_MEDIA_TYPE,
        "url": tool.launch().as_str(),
        "title": item.title,
        "placementAdvice": placement,
        "custom": custom,
    });
    if let (Some(text), Value::Object(fields)) = (
        item.description.as_ref().or(request.text.as_ref()),
        &mut link,
    ) {
        fields.insert("text".into(), json!(text));
    }
    if let (Some(maximum), Value::Object(fields)) = (item.score_maximum, &mut link) {
        fields.insert(
            "lineItem".into(),
            json!({
                "@type": "LineItem",
                "label": item.title,
                "reportingMethod": TOTAL_SCORE,
                "assignedActivity": {"activityId": item.id.as_str()},
                "scoreConstraints": {
                    "@type": "NumericLimits",
                    "normalMaximum": maximum,
                    "totalMaximum": maximum,
                },
            }),
        );
    }
    link
}

/// The `content_items` JSON-LD document (Content-Item 1.0 §4.2): the [`CONTEXT`] and a
/// `@graph` of one [`lti_link_item`] per item.
pub fn content_items(
    request: &ContentItemRequest,
    tool: &ToolUrls,
    items: &[CatalogItem],
) -> Value {
    json!({
        "@context": CONTEXT,
        "@graph": items
            .iter()
            .map(|item| lti_link_item(request, tool, item))
            .collect::<Vec<_>>(),
    })
}

/// How the selection ended.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    /// The user picked these items (possibly none).
    Selected(&'a [CatalogItem]),
    /// The user cancelled.
    Cancelled,
    /// Nothing can be returned: `message` for the user, `log` for the platform's log.
    Failed {
        /// Shown to the user (`lti_errormsg`).
        message: &'a str,
        /// Logged by the platform (`lti_errorlog`).
        log: &'a str,
    },
}

/// The form fields of the `ContentItemSelection` answer for `outcome`, before signing:
/// `lti_message_type`, `lti_version`, then `content_items` (a selection only; a cancelled or
/// failed selection returns no items), `data` exactly as the request had it (absent when it
/// had none), and `lti_log` (a selection), `lti_msg` and `lti_log` (cancelled) or
/// `lti_errormsg` and `lti_errorlog` (failed).
pub fn selection_message(
    request: &ContentItemRequest,
    tool: &ToolUrls,
    outcome: Outcome<'_>,
) -> Vec<(String, String)> {
    let mut fields: Vec<(&str, String)> = vec![
        ("lti_message_type", RESPONSE_MESSAGE_TYPE.to_owned()),
        ("lti_version", LTI_VERSION.to_owned()),
    ];
    match outcome {
        Outcome::Selected(items) => {
            fields.push((
                "content_items",
                content_items(request, tool, items).to_string(),
            ));
            fields.push(("lti_log", format!("{} item(s) selected", items.len())));
        }
        Outcome::Cancelled => {
            fields.push(("lti_msg", "No activity was added.".to_owned()));
            fields.push(("lti_log", "the user cancelled the selection".to_owned()));
        }
        Outcome::Failed { message, log } => {
            fields.push(("lti_errormsg", message.to_owned()));
            fields.push(("lti_errorlog", log.to_owned()));
        }
    }
    if let Some(data) = &request.data {
        fields.push(("data", data.clone()));
    }
    fields
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;
    use crate::domain::catalog::NewCatalogItem;
    use crate::domain::model::Status;

    fn tool() -> ToolUrls {
        ToolUrls::new(&Url::parse("https://lti.example.edu").unwrap())
    }

    fn verified(params: &[(&str, &str)]) -> VerifiedContentItemRequest {
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        VerifiedContentItemRequest {
            return_url: return_url(&params).unwrap(),
            consumer: Consumer {
                key: ConsumerKey::parse("moodle-main").unwrap(),
                name: None,
                status: Status::Active,
                created_at: OffsetDateTime::UNIX_EPOCH,
            },
            params,
            roles: Roles::default(),
        }
    }

    /// A request as Moodle sends it (mod/lti `lti_build_content_item_selection_request`).
    fn moodle_params() -> Vec<(&'static str, &'static str)> {
        vec![
            ("lti_message_type", "ContentItemSelectionRequest"),
            ("lti_version", "LTI-1p0"),
            ("accept_media_types", "application/vnd.ims.lti.v1.ltilink"),
            (
                "accept_presentation_document_targets",
                "frame,iframe,window",
            ),
            ("accept_copy_advice", "false"),
            ("accept_multiple", "true"),
            ("accept_unsigned", "false"),
            ("auto_create", "false"),
            ("can_confirm", "false"),
            (
                "content_item_return_url",
                "https://moodle.example.edu/mod/lti/contentitem_return.php?course=5&id=2&sesskey=x",
            ),
            ("title", "Activities"),
            ("text", ""),
        ]
    }

    fn with(name: &'static str, value: &'static str) -> Vec<(&'static str, &'static str)> {
        let mut params: Vec<_> = moodle_params()
            .into_iter()
            .filter(|(n, _)| *n != name)
            .collect();
        params.push((name, value));
        params
    }

    fn request() -> ContentItemRequest {
        ContentItemRequest::from_verified(&verified(&with("data", "opaque & \"q\" ✓ +1"))).unwrap()
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

    fn fields_of(fields: &[(String, String)]) -> BTreeMap<&str, &str> {
        fields
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn from_verified_moodle_request_reads_every_setting() {
        let request = request();
        assert_eq!(request.consumer_key.as_str(), "moodle-main");
        assert_eq!(
            request.return_url.as_str(),
            "https://moodle.example.edu/mod/lti/contentitem_return.php?course=5&id=2&sesskey=x"
        );
        assert!(request.accept_multiple);
        // iframe is preferred over frame and window, whatever the platform's order.
        assert_eq!(request.target, PresentationTarget::Iframe);
        // An empty text is no text.
        assert_eq!(request.text, None);
        assert_eq!(request.data.as_deref(), Some("opaque & \"q\" ✓ +1"));
    }

    #[test]
    fn from_verified_accept_multiple_absent_or_false_means_one() {
        for params in [
            with("accept_multiple", "false"),
            moodle_params()
                .into_iter()
                .filter(|(n, _)| *n != "accept_multiple")
                .collect(),
        ] {
            let request = ContentItemRequest::from_verified(&verified(&params)).unwrap();
            assert!(!request.accept_multiple);
        }
        let upper = with("accept_multiple", "TRUE");
        assert!(
            ContentItemRequest::from_verified(&verified(&upper))
                .unwrap()
                .accept_multiple
        );
    }

    #[test]
    fn from_verified_media_types_without_lti_link_are_refused() {
        for refused in [
            "text/html,image/*",
            "application/vnd.ims.lti.v1.ltilinkx",
            " ",
        ] {
            assert_eq!(
                ContentItemRequest::from_verified(&verified(&with("accept_media_types", refused))),
                Err(ContentItemError::LtiLinksNotAccepted(refused.to_owned())),
                "{refused}"
            );
        }
        for accepted in [
            "image/*, application/vnd.ims.lti.v1.ltilink",
            "APPLICATION/VND.IMS.LTI.V1.LTILINK",
            "application/*",
            "*/*",
            "application/vnd.ims.lti.v1.ltilink; q=1",
        ] {
            assert!(
                ContentItemRequest::from_verified(&verified(&with("accept_media_types", accepted)))
                    .is_ok(),
                "{accepted}"
            );
        }
    }

    #[test]
    fn from_verified_targets_without_one_for_a_link_are_refused() {
        for refused in ["embed", "none", "embed,none", ""] {
            assert_eq!(
                ContentItemRequest::from_verified(&verified(&with(
                    "accept_presentation_document_targets",
                    refused
                ))),
                Err(ContentItemError::NoPresentationTarget(refused.to_owned())),
                "{refused:?}"
            );
        }
        for (sent, chosen) in [
            ("window", PresentationTarget::Window),
            ("embed, Frame", PresentationTarget::Frame),
            ("overlay,popup", PresentationTarget::Popup),
            ("window,iframe", PresentationTarget::Iframe),
        ] {
            let request = ContentItemRequest::from_verified(&verified(&with(
                "accept_presentation_document_targets",
                sent,
            )))
            .unwrap();
            assert_eq!(request.target, chosen, "{sent}");
        }
    }

    #[test]
    fn lti_link_item_gradable_has_every_field_and_line_item() {
        let link = lti_link_item(&request(), &tool(), &item("quiz-1", Some(12.5)));
        assert_eq!(link["@type"], "LtiLinkItem");
        assert_eq!(link["mediaType"], "application/vnd.ims.lti.v1.ltilink");
        assert_eq!(link["url"], "https://lti.example.edu/launch");
        assert_eq!(link["title"], "Title quiz-1");
        assert_eq!(link["text"], "A description");
        assert_eq!(
            link["custom"],
            json!({"chapter": "3", "catalog_item": "quiz-1"})
        );
        assert_eq!(
            link["placementAdvice"],
            json!({"presentationDocumentTarget": "iframe", "displayHeight": 800})
        );
        assert_eq!(
            link["lineItem"],
            json!({
                "@type": "LineItem",
                "label": "Title quiz-1",
                "reportingMethod": TOTAL_SCORE,
                "assignedActivity": {"activityId": "quiz-1"},
                "scoreConstraints": {
                    "@type": "NumericLimits",
                    "normalMaximum": 12.5,
                    "totalMaximum": 12.5,
                },
            })
        );
    }

    #[test]
    fn lti_link_item_not_gradable_has_no_line_item_and_item_id_wins_over_custom() {
        let mut reading = item("reading", None);
        reading.custom.insert(ITEM_CUSTOM.into(), "spoofed".into());
        reading.description = None;
        let link = lti_link_item(&request(), &tool(), &reading);
        assert!(link.get("lineItem").is_none(), "{link}");
        assert_eq!(link["custom"][ITEM_CUSTOM], "reading");
        // No description and no default text: no text.
        assert!(link.get("text").is_none(), "{link}");
        let window = ContentItemRequest {
            target: PresentationTarget::Window,
            text: Some("Default".into()),
            ..request()
        };
        let link = lti_link_item(&window, &tool(), &reading);
        assert_eq!(
            link["placementAdvice"],
            json!({"presentationDocumentTarget": "window", "windowTarget": "lti-reading"})
        );
        assert_eq!(link["text"], "Default");
    }

    #[test]
    fn content_items_is_json_ld_with_context_and_graph() {
        let items = [item("quiz-1", Some(10.0)), item("reading", None)];
        let document = content_items(&request(), &tool(), &items);
        assert_eq!(
            document["@context"],
            "http://purl.imsglobal.org/ctx/lti/v1/ContentItem"
        );
        let graph = document["@graph"].as_array().unwrap();
        assert_eq!(graph.len(), 2);
        assert_eq!(graph[0]["custom"][ITEM_CUSTOM], "quiz-1");
        assert_eq!(graph[1]["custom"][ITEM_CUSTOM], "reading");
    }

    #[test]
    fn selection_message_selected_has_items_and_echoes_data_exactly() {
        let items = [item("quiz-1", Some(10.0))];
        let fields = selection_message(&request(), &tool(), Outcome::Selected(&items));
        let map = fields_of(&fields);
        assert_eq!(map["lti_message_type"], "ContentItemSelection");
        assert_eq!(map["lti_version"], "LTI-1p0");
        assert_eq!(map["data"], "opaque & \"q\" ✓ +1");
        let document: Value = serde_json::from_str(map["content_items"]).unwrap();
        assert_eq!(document["@graph"][0]["title"], "Title quiz-1");
        assert!(!map.contains_key("lti_errormsg") && !map.contains_key("lti_msg"));
        assert!(fields.iter().all(|(name, _)| !name.starts_with("oauth_")));
    }

    #[test]
    fn selection_message_without_data_in_request_has_no_data() {
        let request = ContentItemRequest {
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
            let fields = selection_message(&request, &tool(), outcome);
            assert!(!fields_of(&fields).contains_key("data"), "{fields:?}");
        }
    }

    #[test]
    fn selection_message_cancel_and_failure_return_messages_and_no_items() {
        let cancelled = selection_message(&request(), &tool(), Outcome::Cancelled);
        let map = fields_of(&cancelled);
        assert!(map["lti_msg"].contains("No activity"));
        assert!(map.contains_key("lti_log"));
        assert!(!map.contains_key("content_items") && !map.contains_key("lti_errormsg"));
        assert_eq!(map["data"], "opaque & \"q\" ✓ +1");

        let failed = selection_message(
            &request(),
            &tool(),
            Outcome::Failed {
                message: "Nothing to add",
                log: "catalog empty",
            },
        );
        let map = fields_of(&failed);
        assert_eq!(map["lti_errormsg"], "Nothing to add");
        assert_eq!(map["lti_errorlog"], "catalog empty");
        assert!(!map.contains_key("content_items") && !map.contains_key("lti_msg"));
    }

    #[test]
    fn choose_several_when_one_accepted_is_refused_and_one_passes() {
        let catalog = [item("a", None), item("b", None)];
        let single = ContentItemRequest {
            accept_multiple: false,
            ..request()
        };
        assert_eq!(
            choose(&single, &catalog, &["a", "b"]),
            Err(ContentItemError::SeveralNotAccepted(2))
        );
        assert_eq!(choose(&single, &catalog, &["b", "b"]).unwrap().len(), 1);
        let chosen = choose(&request(), &catalog, &["b", "a", "b"]).unwrap();
        let ids: Vec<&str> = chosen.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["b", "a"]);
    }

    #[test]
    fn choose_unknown_item_is_refused() {
        let catalog = [item("a", None)];
        assert_eq!(
            choose(&request(), &catalog, &["a", "gone"]),
            Err(ContentItemError::UnknownItem("gone".into()))
        );
        assert_eq!(choose(&request(), &catalog, &[]), Ok(Vec::new()));
    }

    #[test]
    fn content_item_request_round_trips_as_json() {
        let text = serde_json::to_string(&request()).unwrap();
        assert_eq!(
            serde_json::from_str::<ContentItemRequest>(&text).unwrap(),
            request()
        );
    }

    #[test]
    fn is_content_item_request_reads_the_message_type_only() {
        let params = |t: &str| vec![("lti_message_type".to_owned(), t.to_owned())];
        assert!(is_content_item_request(&params(
            "ContentItemSelectionRequest"
        )));
        assert!(!is_content_item_request(&params(
            "basic-lti-launch-request"
        )));
        assert!(!is_content_item_request(&[]));
    }
}
