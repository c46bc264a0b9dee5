//! LTI 1.1 Content-Item selection (IMS Content-Item Message 1.0) end to end over real sockets:
//! a `ContentItemSelectionRequest` signed by an independent OAuth 1.0a implementation (Python's
//! oauthlib) is posted to the running tool (loopback), the picker's form is submitted as the
//! browser would, and the `ContentItemSelection` form the browser carries back to the platform's
//! `content_item_return_url` is verified, again independently, with oauthlib's
//! `SignatureOnlyEndpoint`, as a platform would. Then a learner's LTI 1.1 launch of the placed
//! link, with the `custom_` parameters the platform sends back, lands on the item's activity.
//!
//! The tool's public URL is `https://lti.example.edu` while it listens on plain loopback, as
//! behind a proxy or on Lambda: signatures are over the public URL. Nothing leaves loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use lti_shared::domain::catalog::{CatalogItem, CatalogItemId, NewCatalogItem};
use lti_tests::platform::auto_submit_form;
use lti_tests::tool::{RunningTool, oauthlib_sign, oauthlib_verify};
use serde_json::{Value, json};
use time::OffsetDateTime;

const PUBLIC: &str = "https://lti.example.edu";
const KEY: &str = "moodle-main";
const SECRET: &str = "a-long-consumer-secret-0123456789";
/// Moodle's return URL carries a query, which the tool must sign and keep in the URL.
const RETURN_URL: &str =
    "https://moodle.example.edu/mod/lti/contentitem_return.php?course=5&id=2&sesskey=Ab1+x";
const QUIZ_URL: &str = "https://activities.example.edu/quiz/1";
const READING_URL: &str = "https://reading.example.org/chapter/3";
const DATA: &str = "csrf:7f3a & \"quoted\" ✓ +1";

struct Rig {
    tool: RunningTool,
}

impl Rig {
    /// The tool with the consumer and two catalog items: `quiz-1` (gradable, with a custom
    /// parameter) and `reading`.
    async fn start() -> Self {
        let tool = RunningTool::start(Some(PUBLIC)).await;
        tool.add_consumer(KEY, SECRET).await;
        let rig = Self { tool };
        rig.add_item("quiz-1", QUIZ_URL, Some(10.0)).await;
        rig.add_item("reading", READING_URL, None).await;
        rig
    }

    async fn add_item(&self, id: &str, url: &str, score: Option<f64>) {
        let item = CatalogItem::new(
            NewCatalogItem {
                id,
                title: &format!("Title of {id}"),
                description: Some("What the activity is about"),
                activity_url: url,
                score_maximum: score,
                custom: vec![("chapter".into(), "3".into())],
            },
            OffsetDateTime::now_utc(),
        )
        .unwrap();
        self.tool
            .backend
            .store
            .add_catalog_item(&item)
            .await
            .unwrap();
    }

    /// POSTs a form to a path of the running tool.
    async fn post(&self, path: &str, body: &[(String, String)], site: Option<&str>) -> Reply {
        let mut request = reqwest::Client::new().post(self.tool.url(path)).form(body);
        if let Some(site) = site {
            request = request.header("sec-fetch-site", site);
        }
        let response = request.send().await.unwrap();
        Reply {
            status: response.status().as_u16(),
            body: response.text().await.unwrap(),
        }
    }

    /// Signs `params` as the platform does for the tool's `path` and posts them there.
    async fn request(&self, path: &str, params: &[(String, String)], extra: Value) -> Reply {
        let signed = sign(&format!("{PUBLIC}{path}"), params, extra);
        self.post(path, &signed, None).await
    }

    /// The picker a request to `/deep-link` shows (asserted to be one).
    async fn picker(&self, params: &[(String, String)]) -> Reply {
        let reply = self.request("/deep-link", params, json!({})).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert!(reply.body.contains("name=\"ci_request\""), "{}", reply.body);
        reply
    }

    /// Submits the picker's form with `action` and `items`, from the tool's own page or from
    /// another site.
    async fn submit(&self, picker: &Reply, action: &str, items: &[&str], site: &str) -> Reply {
        let (form_action, fields) = auto_submit_form(&picker.body).unwrap();
        assert_eq!(form_action, format!("{PUBLIC}/deep-link"));
        let key = field(&fields, "ci_request").unwrap().to_owned();
        let mut form = vec![
            ("ci_request".to_owned(), key),
            ("dl_action".to_owned(), action.to_owned()),
        ];
        form.extend(items.iter().map(|i| ("item".to_owned(), (*i).to_owned())));
        self.post("/deep-link", &form, Some(site)).await
    }
}

struct Reply {
    status: u16,
    body: String,
}

impl Reply {
    fn reason(&self) -> String {
        let start = self
            .body
            .find("id=\"reason\">")
            .unwrap_or_else(|| panic!("no reason: {}", self.body))
            + "id=\"reason\">".len();
        self.body[start..].split('<').next().unwrap().to_owned()
    }

    fn assert_refused(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.reason().as_str()),
            (status, code),
            "{}",
            self.body
        );
    }

    /// The auto-submitting `ContentItemSelection` form: its action and fields.
    fn selection(&self) -> (String, Vec<(String, String)>) {
        assert_eq!(self.status, 200, "{}", self.body);
        auto_submit_form(&self.body).expect("an auto-submitting form")
    }
}

fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn with(params: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut out = without(params, name);
    out.push((name.to_owned(), value.to_owned()));
    out
}

fn without(params: &[(String, String)], name: &str) -> Vec<(String, String)> {
    params.iter().filter(|(n, _)| n != name).cloned().collect()
}

/// A `ContentItemSelectionRequest` as Moodle sends it for an editing teacher.
fn request_params() -> Vec<(String, String)> {
    owned(&[
        ("lti_message_type", "ContentItemSelectionRequest"),
        ("lti_version", "LTI-1p0"),
        ("user_id", "2"),
        ("roles", "Instructor,urn:lti:sysrole:ims/lis/Administrator"),
        ("context_id", "5"),
        ("context_title", "Biology 101"),
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
        ("content_item_return_url", RETURN_URL),
        ("title", "Biology activities"),
        ("text", ""),
        ("data", DATA),
    ])
}

/// Signs `params` for `url` with oauthlib; `extra` overrides or adds request fields.
fn sign(url: &str, params: &[(String, String)], extra: Value) -> Vec<(String, String)> {
    let mut request = json!({"url": url, "key": KEY, "secret": SECRET, "params": params});
    if let (Some(request), Some(extra)) = (request.as_object_mut(), extra.as_object()) {
        request.extend(extra.clone());
    }
    oauthlib_sign(&request)
}

/// The form body a browser sends for `fields`.
fn form_body(fields: &[(String, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

/// Verifies the selection form with oauthlib, as the platform would on receiving it.
fn platform_accepts(action: &str, fields: &[(String, String)], secret: &str) -> bool {
    let verdict = oauthlib_verify(action, &form_body(fields), KEY, secret);
    verdict["valid"] == json!(true)
}

// ---------------------------------------------------------------------------------------------
// The selection
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn content_item_selection_is_signed_for_the_return_url_and_verifies_with_oauthlib() {
    let rig = Rig::start().await;
    let picker = rig.picker(&request_params()).await;
    // Several accepted: a checkbox per catalog item, and a cancel button.
    assert_eq!(
        picker.body.matches("type=\"checkbox\"").count(),
        2,
        "{}",
        picker.body
    );
    assert!(picker.body.contains("value=\"cancel\""));

    let reply = rig
        .submit(&picker, "select", &["quiz-1", "reading"], "same-origin")
        .await;
    let (action, fields) = reply.selection();
    // Posted to the return URL as sent, query included; the query is not repeated in the form.
    assert_eq!(action, RETURN_URL);
    for name in ["course", "id", "sesskey"] {
        assert!(field(&fields, name).is_none(), "{name} in {fields:?}");
    }

    // The platform's check, by an independent implementation: valid with the consumer's
    // secret, refused with another one or when a field changed on the way.
    assert!(platform_accepts(&action, &fields, SECRET), "{fields:?}");
    assert!(!platform_accepts(&action, &fields, "another-secret"));
    let tampered = with(&fields, "data", "changed");
    assert!(!platform_accepts(&action, &tampered, SECRET));
    let elsewhere = action.replace("course=5", "course=6");
    assert!(!platform_accepts(&elsewhere, &fields, SECRET));

    assert_eq!(
        field(&fields, "lti_message_type"),
        Some("ContentItemSelection")
    );
    assert_eq!(field(&fields, "lti_version"), Some("LTI-1p0"));
    assert_eq!(field(&fields, "oauth_consumer_key"), Some(KEY));
    assert_eq!(field(&fields, "oauth_signature_method"), Some("HMAC-SHA1"));
    assert_eq!(field(&fields, "data"), Some(DATA));
    assert!(field(&fields, "lti_errormsg").is_none());

    let items: Value = serde_json::from_str(field(&fields, "content_items").unwrap()).unwrap();
    assert_eq!(
        items["@context"],
        "http://purl.imsglobal.org/ctx/lti/v1/ContentItem"
    );
    let graph = items["@graph"].as_array().unwrap();
    assert_eq!(graph.len(), 2);
    let quiz = &graph[0];
    assert_eq!(quiz["@type"], "LtiLinkItem");
    assert_eq!(quiz["mediaType"], "application/vnd.ims.lti.v1.ltilink");
    assert_eq!(quiz["url"], format!("{PUBLIC}/launch"));
    assert_eq!(quiz["title"], "Title of quiz-1");
    assert_eq!(quiz["text"], "What the activity is about");
    assert_eq!(
        quiz["custom"],
        json!({"chapter": "3", "catalog_item": "quiz-1"})
    );
    assert_eq!(
        quiz["lineItem"]["scoreConstraints"],
        json!({"@type": "NumericLimits", "normalMaximum": 10.0, "totalMaximum": 10.0})
    );
    assert_eq!(quiz["lineItem"]["assignedActivity"]["activityId"], "quiz-1");
    assert_eq!(
        quiz["placementAdvice"]["presentationDocumentTarget"],
        "iframe"
    );
    let reading = &graph[1];
    assert_eq!(reading["custom"]["catalog_item"], "reading");
    assert!(reading.get("lineItem").is_none(), "{reading}");
}

#[tokio::test]
async fn content_item_request_posted_to_launch_opens_the_same_picker() {
    let rig = Rig::start().await;
    // Sakai and Blackboard (and Moodle without a Content Selection URL) post to the launch URL.
    let reply = rig.request("/launch", &request_params(), json!({})).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.contains("name=\"ci_request\""), "{}", reply.body);
    assert!(reply.body.contains("value=\"quiz-1\""), "{}", reply.body);
    let (action, fields) = rig
        .submit(&reply, "select", &["reading"], "same-origin")
        .await
        .selection();
    assert_eq!(action, RETURN_URL);
    assert!(platform_accepts(&action, &fields, SECRET));
    // Signed for /deep-link but posted to /launch: the signature is over the URL posted to.
    let signed = sign(&format!("{PUBLIC}/deep-link"), &request_params(), json!({}));
    rig.post("/launch", &signed, None)
        .await
        .assert_refused(401, "INVALID_SIGNATURE");
}

#[tokio::test]
async fn content_item_request_without_data_gets_selection_without_data() {
    let rig = Rig::start().await;
    let picker = rig.picker(&without(&request_params(), "data")).await;
    let (action, fields) = rig
        .submit(&picker, "select", &["reading"], "same-origin")
        .await
        .selection();
    assert!(field(&fields, "data").is_none(), "{fields:?}");
    assert!(platform_accepts(&action, &fields, SECRET));
}

#[tokio::test]
async fn content_item_cancel_returns_a_signed_message_and_no_items() {
    let rig = Rig::start().await;
    let picker = rig.picker(&request_params()).await;
    let (action, fields) = rig
        .submit(&picker, "cancel", &["quiz-1"], "same-origin")
        .await
        .selection();
    assert_eq!(action, RETURN_URL);
    assert!(platform_accepts(&action, &fields, SECRET));
    assert_eq!(
        field(&fields, "lti_message_type"),
        Some("ContentItemSelection")
    );
    assert!(field(&fields, "lti_msg").is_some(), "{fields:?}");
    assert!(field(&fields, "lti_log").is_some(), "{fields:?}");
    assert!(field(&fields, "content_items").is_none(), "{fields:?}");
    assert!(field(&fields, "lti_errormsg").is_none(), "{fields:?}");
    assert_eq!(field(&fields, "data"), Some(DATA));
}

#[tokio::test]
async fn content_item_empty_catalog_offers_return_with_an_error_message() {
    let rig = Rig::start().await;
    for id in ["quiz-1", "reading"] {
        rig.tool
            .backend
            .store
            .remove_catalog_item(&CatalogItemId::parse(id).unwrap())
            .await
            .unwrap();
    }
    let picker = rig.picker(&request_params()).await;
    assert!(picker.body.contains("id=\"notice\""), "{}", picker.body);
    let (action, fields) = rig
        .submit(&picker, "return", &[], "same-origin")
        .await
        .selection();
    assert!(platform_accepts(&action, &fields, SECRET));
    assert!(field(&fields, "lti_errormsg").is_some(), "{fields:?}");
    assert!(field(&fields, "lti_errorlog").is_some(), "{fields:?}");
    assert!(field(&fields, "content_items").is_none(), "{fields:?}");
}

#[tokio::test]
async fn content_item_single_item_platform_gets_radio_buttons_and_two_items_are_refused() {
    let rig = Rig::start().await;
    let single = with(&request_params(), "accept_multiple", "false");
    let picker = rig.picker(&single).await;
    assert_eq!(
        picker.body.matches("type=\"radio\"").count(),
        2,
        "{}",
        picker.body
    );
    assert!(!picker.body.contains("type=\"checkbox\""));
    // One item: returned.
    let (_, fields) = rig
        .submit(&picker, "select", &["quiz-1"], "same-origin")
        .await
        .selection();
    let items: Value = serde_json::from_str(field(&fields, "content_items").unwrap()).unwrap();
    assert_eq!(items["@graph"].as_array().unwrap().len(), 1);
    // Two items (a tampered form): refused with a page that says so.
    let picker = rig.picker(&single).await;
    rig.submit(&picker, "select", &["quiz-1", "reading"], "same-origin")
        .await
        .assert_refused(400, "SEVERAL_NOT_ACCEPTED");
}

// ---------------------------------------------------------------------------------------------
// Refusals, each beside the passing case
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn content_item_request_refusals_name_their_reason() {
    let rig = Rig::start().await;
    let url = format!("{PUBLIC}/deep-link");
    let good = sign(&url, &request_params(), json!({}));

    // A parameter changed after signing: the return URL, so the answer would go elsewhere.
    let tampered = with(
        &good,
        "content_item_return_url",
        "https://evil.example/steal",
    );
    rig.post("/deep-link", &tampered, None)
        .await
        .assert_refused(401, "INVALID_SIGNATURE");
    // Wrong secret and unknown consumer: the same answer.
    let wrong = sign(&url, &request_params(), json!({"secret": "not-the-secret"}));
    rig.post("/deep-link", &wrong, None)
        .await
        .assert_refused(401, "INVALID_SIGNATURE");
    let unknown = sign(&url, &request_params(), json!({"key": "nobody"}));
    rig.post("/deep-link", &unknown, None)
        .await
        .assert_refused(401, "INVALID_SIGNATURE");
    // Signed for the loopback address instead of the public URL.
    let internal = sign(&rig.tool.url("/deep-link"), &request_params(), json!({}));
    rig.post("/deep-link", &internal, None)
        .await
        .assert_refused(401, "INVALID_SIGNATURE");
    // A stale timestamp.
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let old = sign(
        &url,
        &request_params(),
        json!({"timestamp": (now - 360).to_string()}),
    );
    rig.post("/deep-link", &old, None)
        .await
        .assert_refused(401, "LAUNCH_EXPIRED");
    // Missing or unusable required parameters.
    for name in [
        "content_item_return_url",
        "accept_media_types",
        "accept_presentation_document_targets",
        "lti_version",
    ] {
        rig.request("/deep-link", &without(&request_params(), name), json!({}))
            .await
            .assert_refused(400, "INVALID_REQUEST");
    }
    for bad in [
        "javascript:alert(1)",
        "/relative/return",
        "ftp://lms.example/x",
    ] {
        rig.request(
            "/deep-link",
            &with(&request_params(), "content_item_return_url", bad),
            json!({}),
        )
        .await
        .assert_refused(400, "INVALID_REQUEST");
    }
    // Another message type on the deep-link URL.
    rig.request(
        "/deep-link",
        &with(
            &request_params(),
            "lti_message_type",
            "basic-lti-launch-request",
        ),
        json!({}),
    )
    .await
    .assert_refused(400, "UNSUPPORTED_MESSAGE");

    // The good request passes, and its replay is refused.
    let reply = rig.post("/deep-link", &good, None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    rig.post("/deep-link", &good, None)
        .await
        .assert_refused(401, "LAUNCH_REPLAYED");
}

#[tokio::test]
async fn content_item_request_the_tool_cannot_answer_is_refused_with_a_page() {
    let rig = Rig::start().await;
    rig.request(
        "/deep-link",
        &with(&request_params(), "accept_media_types", "text/html,image/*"),
        json!({}),
    )
    .await
    .assert_refused(400, "LTI_LINKS_NOT_ACCEPTED");
    rig.request(
        "/deep-link",
        &with(
            &request_params(),
            "accept_presentation_document_targets",
            "embed",
        ),
        json!({}),
    )
    .await
    .assert_refused(400, "PRESENTATION_NOT_SUPPORTED");
    // Wildcards and one usable target are enough.
    let reply = rig
        .request(
            "/deep-link",
            &with(
                &with(&request_params(), "accept_media_types", "*/*"),
                "accept_presentation_document_targets",
                "embed,window",
            ),
            json!({}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn content_item_request_by_a_learner_is_refused_and_an_instructor_passes() {
    let rig = Rig::start().await;
    let learner = with(&request_params(), "roles", "Learner");
    let reply = rig.request("/deep-link", &learner, json!({})).await;
    reply.assert_refused(403, "ROLE_NOT_ALLOWED");
    assert!(!reply.body.contains("ci_request"));
    let developer = with(&request_params(), "roles", "ContentDeveloper");
    rig.picker(&developer).await;
}

#[tokio::test]
async fn content_item_selection_from_another_site_or_twice_is_refused() {
    let rig = Rig::start().await;
    let picker = rig.picker(&request_params()).await;
    rig.submit(&picker, "select", &["quiz-1"], "cross-site")
        .await
        .assert_refused(403, "CROSS_SITE_POST");
    // The refused post did not use up the request: the tool's own page still can.
    let (action, fields) = rig
        .submit(&picker, "select", &["quiz-1"], "same-origin")
        .await
        .selection();
    assert!(platform_accepts(&action, &fields, SECRET));
    rig.submit(&picker, "select", &["quiz-1"], "same-origin")
        .await
        .assert_refused(400, "SELECTION_EXPIRED");
    // An id the tool never issued.
    let forged = owned(&[("ci_request", "not-a-key"), ("dl_action", "select")]);
    rig.post("/deep-link", &forged, Some("same-origin"))
        .await
        .assert_refused(400, "SELECTION_EXPIRED");
}

// ---------------------------------------------------------------------------------------------
// A later LTI 1.1 launch of the placed link
// ---------------------------------------------------------------------------------------------

/// A learner's LTI 1.1 launch of a placed `item` of a `content_items` graph, as the platform
/// makes it: to the item's `url`, with each `custom` entry as `custom_<name>`.
fn placed_launch(item: &Value) -> (String, Vec<(String, String)>) {
    let mut params = owned(&[
        ("lti_message_type", "basic-lti-launch-request"),
        ("lti_version", "LTI-1p0"),
        ("resource_link_id", "placed-1"),
        ("resource_link_title", "Title of quiz-1"),
        ("user_id", "7"),
        ("roles", "Learner"),
        ("context_id", "5"),
    ]);
    for (name, value) in item["custom"].as_object().unwrap() {
        params.push((format!("custom_{name}"), value.as_str().unwrap().to_owned()));
    }
    (item["url"].as_str().unwrap().to_owned(), params)
}

#[tokio::test]
async fn content_item_placed_link_lti11_launch_reaches_the_items_activity() {
    let rig = Rig::start().await;
    let picker = rig.picker(&request_params()).await;
    let (_, fields) = rig
        .submit(&picker, "select", &["quiz-1"], "same-origin")
        .await
        .selection();
    let items: Value = serde_json::from_str(field(&fields, "content_items").unwrap()).unwrap();
    let (url, params) = placed_launch(&items["@graph"][0]);
    assert_eq!(url, format!("{PUBLIC}/launch"));

    let signed = sign(&url, &params, json!({}));
    let reply = rig.post("/launch", &signed, None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let (action, fields) = auto_submit_form(&reply.body).unwrap();
    assert_eq!(action, QUIZ_URL);
    assert!(field(&fields, "lti_session").is_some());

    // The same launch without the custom parameter goes to the built-in activity.
    let plain = without(&params, "custom_catalog_item");
    let reply = rig
        .post("/launch", &sign(&url, &plain, json!({})), None)
        .await;
    let (action, _) = auto_submit_form(&reply.body).unwrap();
    assert_eq!(action, format!("{PUBLIC}/activity"));
}

#[tokio::test]
async fn content_item_placed_link_of_a_removed_or_invalid_item_is_refused_by_name() {
    let rig = Rig::start().await;
    let item = json!({"url": format!("{PUBLIC}/launch"), "custom": {"catalog_item": "quiz-1"}});
    let (url, params) = placed_launch(&item);
    rig.tool
        .backend
        .store
        .remove_catalog_item(&CatalogItemId::parse("quiz-1").unwrap())
        .await
        .unwrap();
    let reply = rig
        .post("/launch", &sign(&url, &params, json!({})), None)
        .await;
    reply.assert_refused(404, "ITEM_REMOVED");
    assert!(reply.body.contains("quiz-1"), "{}", reply.body);

    let invalid = with(&params, "custom_catalog_item", "../etc");
    rig.post("/launch", &sign(&url, &invalid, json!({})), None)
        .await
        .assert_refused(400, "ITEM_INVALID");
}
