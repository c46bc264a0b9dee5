//! Deep Linking 2.0 end to end over real sockets: the fake platform sends an
//! `LtiDeepLinkingRequest` through login to the tool's `/deep-link`, the picker's form is
//! submitted as the browser would, and the `LtiDeepLinkingResponse` the browser carries back to
//! the platform's `deep_link_return_url` is verified against the tool's published JWKS with an
//! independent JWT library (`jsonwebtoken`). Then a learner's launch of a placed item lands on
//! that item's activity.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use lti_shared::domain::catalog::{CatalogItem, CatalogItemId, NewCatalogItem};
use lti_tests::platform::{
    FakePlatform, HttpResponse, LaunchOutcome, LaunchSpec, auto_submit_form, claim,
    decode_unverified,
};
use lti_tests::tool::RunningTool;
use serde_json::{Value, json};
use time::OffsetDateTime;

const CONTENT_ITEMS: &str = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items";
const DATA: &str = "https://purl.imsglobal.org/spec/lti-dl/claim/data";
const QUIZ_URL: &str = "https://activities.example.edu/quiz/1";
const READING_URL: &str = "https://reading.example.org/chapter/3";
const CONTENT_DEVELOPER: &str =
    "http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper";

struct Rig {
    platform: FakePlatform,
    tool: RunningTool,
}

impl Rig {
    /// A platform and a tool that know each other, with two catalog items: `quiz-1`
    /// (gradable, with custom parameters) and `reading` (not gradable).
    async fn start() -> Self {
        let platform = FakePlatform::start().await;
        let tool = RunningTool::start(None).await;
        tool.backend
            .store
            .add_platform(&platform.registration(platform.client_id()))
            .await
            .unwrap();
        platform.add_redirect_uri(tool.url("/launch"));
        platform.add_redirect_uri(tool.url("/deep-link"));
        let rig = Self { platform, tool };
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

    fn spec(&self) -> LaunchSpec {
        LaunchSpec::deep_linking(self.platform.deep_link_return_url())
    }

    /// Login, then the platform's form post of the deep-linking request to the tool.
    async fn request(&self, spec: LaunchSpec) -> LaunchOutcome {
        self.platform
            .launch(&self.tool.url("/login"), &self.tool.url("/deep-link"), spec)
            .await
    }

    /// The picker the request shows (asserted to be one).
    async fn picker(&self, spec: LaunchSpec) -> String {
        let outcome = self.request(spec).await;
        let page = outcome.expect_launch();
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("name=\"dl_request\""), "{}", page.body);
        page.body.clone()
    }

    /// Submits the picker's form with `action` and `items`, as the tool's own page
    /// (`Sec-Fetch-Site: same-origin`) or as another site's.
    async fn submit(&self, picker: &str, action: &str, items: &[&str], site: &str) -> Reply {
        let (_, fields) = auto_submit_form(picker).unwrap();
        let key = fields
            .iter()
            .find(|(n, _)| n == "dl_request")
            .map(|(_, v)| v.clone())
            .unwrap();
        let mut form = vec![
            ("dl_request".to_owned(), key),
            ("dl_action".to_owned(), action.to_owned()),
        ];
        form.extend(items.iter().map(|i| ("item".to_owned(), (*i).to_owned())));
        let response = reqwest::Client::new()
            .post(self.tool.url("/deep-link"))
            .header("sec-fetch-site", site)
            .form(&form)
            .send()
            .await
            .unwrap();
        Reply {
            status: response.status().as_u16(),
            body: response.text().await.unwrap(),
        }
    }

    /// Verifies a response JWT as a platform would: the tool's JWKS, RS256, `iss` = client
    /// id, `aud` = the platform's issuer, `exp` and `iat` required.
    async fn verify(&self, jwt: &str) -> Value {
        let set: JwkSet = reqwest::get(self.tool.url("/jwks"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let kid = jsonwebtoken::decode_header(jwt).unwrap().kid.unwrap();
        let jwk = set.find(&kid).expect("the response's kid is published");
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[self.platform.issuer()]);
        validation.set_issuer(&[self.platform.client_id()]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
        validation.leeway = 0;
        jsonwebtoken::decode::<Value>(jwt, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .unwrap()
            .claims
    }
}

struct Reply {
    status: u16,
    body: String,
}

impl Reply {
    /// The auto-submitting form back to the platform: its action and `JWT`.
    fn response_jwt(&self) -> (String, String) {
        assert_eq!(self.status, 200, "{}", self.body);
        let (action, fields) = auto_submit_form(&self.body).expect("an auto-submitting form");
        assert_eq!(fields.len(), 1, "only JWT is posted: {fields:?}");
        assert_eq!(fields[0].0, "JWT");
        (action, fields[0].1.clone())
    }

    fn reason(&self) -> String {
        reason(&self.body)
    }
}

fn reason(html: &str) -> String {
    let start = html.find("id=\"reason\">").expect("an error page") + "id=\"reason\">".len();
    html[start..].split('<').next().unwrap().to_owned()
}

fn assert_refused(page: &HttpResponse, status: u16, code: &str) {
    assert_eq!(page.status.as_u16(), status, "{}", page.body);
    assert_eq!(reason(&page.body), code, "{}", page.body);
}

// ---------------------------------------------------------------------------------------------
// The response
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn instructor_selects_two_items_response_verifies_against_tool_jwks() {
    let rig = Rig::start().await;
    let picker = rig.picker(rig.spec()).await;
    // Several accepted: checkboxes, one per catalog item, and a cancel button.
    assert_eq!(picker.matches("type=\"checkbox\"").count(), 2, "{picker}");
    assert!(picker.contains("value=\"cancel\""));

    let before = OffsetDateTime::now_utc().unix_timestamp();
    let reply = rig
        .submit(&picker, "select", &["quiz-1", "reading"], "same-origin")
        .await;
    let (action, jwt) = reply.response_jwt();
    assert_eq!(action, rig.platform.deep_link_return_url());

    let (header, _) = decode_unverified(&jwt);
    assert_eq!(header["alg"], "RS256");
    let current = rig.tool.backend.keys.signing_keys().await.unwrap();
    assert_eq!(header["kid"], current.current().unwrap().kid.as_str());

    let claims = rig.verify(&jwt).await;
    assert_eq!(claims["iss"], rig.platform.client_id());
    assert_eq!(claims["aud"], rig.platform.issuer());
    assert!(claims["nonce"].as_str().unwrap().len() >= 32);
    let iat = claims["iat"].as_i64().unwrap();
    let after = OffsetDateTime::now_utc().unix_timestamp();
    assert!((before..=after).contains(&iat), "iat {iat}");
    assert_eq!(claims["exp"].as_i64().unwrap() - iat, 300);
    assert_eq!(claims[claim::DEPLOYMENT_ID], rig.platform.deployment_id());
    assert_eq!(claims[claim::MESSAGE_TYPE], "LtiDeepLinkingResponse");
    assert_eq!(claims[claim::VERSION], "1.3.0");
    assert_eq!(claims[DATA], "fake-platform-deep-link-data");

    let items = claims[CONTENT_ITEMS].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["type"], "ltiResourceLink");
    assert_eq!(items[0]["title"], "Title of quiz-1");
    assert_eq!(items[0]["text"], "What the activity is about");
    assert_eq!(items[0]["url"], rig.tool.url("/launch?item=quiz-1"));
    assert_eq!(items[0]["custom"], json!({"chapter": "3"}));
    assert_eq!(
        items[0]["lineItem"],
        json!({"scoreMaximum": 10.0, "label": "Title of quiz-1", "resourceId": "quiz-1", "tag": "grade"})
    );
    assert_eq!(items[1]["url"], rig.tool.url("/launch?item=reading"));
    assert!(items[1].get("lineItem").is_none(), "{}", items[1]);
    // The fake platform accepts iframe and window.
    assert!(items[0]["iframe"].is_object() && items[0]["window"].is_object());
}

#[tokio::test]
async fn response_nonce_is_fresh_for_every_response() {
    let rig = Rig::start().await;
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let picker = rig.picker(rig.spec()).await;
        let (_, jwt) = rig
            .submit(&picker, "select", &["reading"], "same-origin")
            .await
            .response_jwt();
        nonces.push(rig.verify(&jwt).await["nonce"].as_str().unwrap().to_owned());
    }
    assert_ne!(nonces[0], nonces[1]);
}

#[tokio::test]
async fn request_without_data_gets_response_without_data() {
    let rig = Rig::start().await;
    let spec = rig.spec().remove(vec![
        claim::DEEP_LINKING_SETTINGS.to_owned(),
        "data".to_owned(),
    ]);
    let picker = rig.picker(spec).await;
    let (_, jwt) = rig
        .submit(&picker, "select", &["reading"], "same-origin")
        .await
        .response_jwt();
    let claims = rig.verify(&jwt).await;
    assert!(claims.get(DATA).is_none(), "{claims}");
}

#[tokio::test]
async fn cancel_returns_msg_and_no_items() {
    let rig = Rig::start().await;
    let picker = rig.picker(rig.spec()).await;
    let (action, jwt) = rig
        .submit(&picker, "cancel", &["quiz-1"], "same-origin")
        .await
        .response_jwt();
    assert_eq!(action, rig.platform.deep_link_return_url());
    let claims = rig.verify(&jwt).await;
    assert_eq!(claims[CONTENT_ITEMS], json!([]));
    assert!(claims["https://purl.imsglobal.org/spec/lti-dl/claim/msg"].is_string());
    assert_eq!(claims[DATA], "fake-platform-deep-link-data");
}

#[tokio::test]
async fn single_item_platform_gets_radio_buttons_and_two_items_become_an_error() {
    let rig = Rig::start().await;
    let spec = || {
        rig.spec().set(
            vec![
                claim::DEEP_LINKING_SETTINGS.to_owned(),
                "accept_multiple".to_owned(),
            ],
            json!(false),
        )
    };
    let picker = rig.picker(spec()).await;
    assert_eq!(picker.matches("type=\"radio\"").count(), 2, "{picker}");
    assert!(!picker.contains("type=\"checkbox\""));
    // One item: returned.
    let (_, jwt) = rig
        .submit(&picker, "select", &["quiz-1"], "same-origin")
        .await
        .response_jwt();
    assert_eq!(
        rig.verify(&jwt).await[CONTENT_ITEMS]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Two items (a tampered form): an error response with no items.
    let picker = rig.picker(spec()).await;
    let (_, jwt) = rig
        .submit(&picker, "select", &["quiz-1", "reading"], "same-origin")
        .await
        .response_jwt();
    let claims = rig.verify(&jwt).await;
    assert_eq!(claims[CONTENT_ITEMS], json!([]));
    assert!(claims["https://purl.imsglobal.org/spec/lti-dl/claim/errormsg"].is_string());
}

#[tokio::test]
async fn platform_not_accepting_resource_links_gets_notice_and_error_response() {
    let rig = Rig::start().await;
    let spec = rig.spec().set(
        vec![
            claim::DEEP_LINKING_SETTINGS.to_owned(),
            "accept_types".to_owned(),
        ],
        json!(["link", "file"]),
    );
    let picker = rig.picker(spec).await;
    assert!(picker.contains("id=\"notice\""), "{picker}");
    assert!(
        !picker.contains("name=\"item\""),
        "no items offered: {picker}"
    );
    let (_, jwt) = rig
        .submit(&picker, "return", &[], "same-origin")
        .await
        .response_jwt();
    let claims = rig.verify(&jwt).await;
    assert_eq!(claims[CONTENT_ITEMS], json!([]));
    assert!(claims["https://purl.imsglobal.org/spec/lti-dl/claim/errormsg"].is_string());
    assert!(claims["https://purl.imsglobal.org/spec/lti-dl/claim/errorlog"].is_string());
}

// ---------------------------------------------------------------------------------------------
// Refusals (each beside the passing case above)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn learner_is_refused_with_403() {
    let rig = Rig::start().await;
    let spec = rig
        .spec()
        .sub("fake-user-student-1")
        .roles(["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]);
    let outcome = rig.request(spec).await;
    let page = outcome.expect_launch();
    assert_refused(page, 403, "ROLE_NOT_ALLOWED");
    assert!(page.body.contains("instructors"), "{}", page.body);
    assert!(!page.body.contains("dl_request"));
}

#[tokio::test]
async fn content_developer_may_pick() {
    let rig = Rig::start().await;
    let picker = rig.picker(rig.spec().roles([CONTENT_DEVELOPER])).await;
    assert!(picker.contains("value=\"quiz-1\""));
}

#[tokio::test]
async fn selection_posted_from_another_site_is_refused() {
    let rig = Rig::start().await;
    let picker = rig.picker(rig.spec()).await;
    let reply = rig
        .submit(&picker, "select", &["quiz-1"], "cross-site")
        .await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(reply.reason(), "CROSS_SITE_POST");
    // The refused post did not use up the request: the tool's own page still can.
    let (_, jwt) = rig
        .submit(&picker, "select", &["quiz-1"], "same-origin")
        .await
        .response_jwt();
    rig.verify(&jwt).await;
}

#[tokio::test]
async fn selection_sent_twice_is_refused_the_second_time() {
    let rig = Rig::start().await;
    let picker = rig.picker(rig.spec()).await;
    rig.submit(&picker, "select", &["quiz-1"], "same-origin")
        .await
        .response_jwt();
    let again = rig
        .submit(&picker, "select", &["quiz-1"], "same-origin")
        .await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert_eq!(again.reason(), "SELECTION_EXPIRED");
}

#[tokio::test]
async fn resource_link_launch_posted_to_deep_link_is_refused() {
    let rig = Rig::start().await;
    let outcome = rig.request(LaunchSpec::instructor()).await;
    let page = outcome.expect_launch();
    assert_refused(page, 400, "UNSUPPORTED_MESSAGE");
    assert!(page.body.contains("/launch"), "{}", page.body);
}

#[tokio::test]
async fn deep_linking_request_posted_to_launch_is_refused_with_advice() {
    let rig = Rig::start().await;
    let outcome = rig
        .platform
        .launch(
            &rig.tool.url("/login"),
            &rig.tool.url("/launch"),
            rig.spec(),
        )
        .await;
    let page = outcome.expect_launch();
    assert_refused(page, 400, "UNSUPPORTED_MESSAGE");
    assert!(page.body.contains("/deep-link"), "{}", page.body);
}

// ---------------------------------------------------------------------------------------------
// A later launch of a placed item
// ---------------------------------------------------------------------------------------------

/// The session token and where the launch hands it.
fn hand_off(outcome: &LaunchOutcome) -> (String, Value) {
    let page = outcome.expect_launch();
    assert_eq!(page.status, 200, "{}", page.body);
    let (action, fields) = auto_submit_form(&page.body).unwrap();
    let token = &fields.iter().find(|(n, _)| n == "lti_session").unwrap().1;
    (action, decode_unverified(token).1)
}

#[tokio::test]
async fn placed_item_launch_lands_on_the_items_activity() {
    let rig = Rig::start().await;
    let picker = rig.picker(rig.spec()).await;
    let (_, jwt) = rig
        .submit(&picker, "select", &["quiz-1"], "same-origin")
        .await
        .response_jwt();
    let claims = rig.verify(&jwt).await;
    let target = claims[CONTENT_ITEMS][0]["url"].as_str().unwrap().to_owned();

    // The platform launches the placed link with its url as target_link_uri.
    let outcome = rig
        .platform
        .launch(&rig.tool.url("/login"), &target, LaunchSpec::student())
        .await;
    let (action, session) = hand_off(&outcome);
    assert_eq!(action, QUIZ_URL);
    assert_eq!(session["aud"], "https://activities.example.edu");

    // A launch without an item still goes to the built-in activity.
    let outcome = rig
        .platform
        .launch(
            &rig.tool.url("/login"),
            &rig.tool.url("/launch"),
            LaunchSpec::student(),
        )
        .await;
    let (action, session) = hand_off(&outcome);
    assert_eq!(action, rig.tool.url("/activity"));
    assert_eq!(session["aud"], rig.tool.base);
}

#[tokio::test]
async fn placed_item_removed_from_catalog_is_refused_by_name() {
    let rig = Rig::start().await;
    let target = rig.tool.url("/launch?item=quiz-1");
    rig.tool
        .backend
        .store
        .remove_catalog_item(&CatalogItemId::parse("quiz-1").unwrap())
        .await
        .unwrap();
    let outcome = rig
        .platform
        .launch(&rig.tool.url("/login"), &target, LaunchSpec::student())
        .await;
    let page = outcome.expect_launch();
    assert_refused(page, 404, "ITEM_REMOVED");
    assert!(page.body.contains("removed from the tool"), "{}", page.body);
    assert!(page.body.contains("quiz-1"), "{}", page.body);
}
