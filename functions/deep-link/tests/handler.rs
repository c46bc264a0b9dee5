//! The deep-link handler, fed recorded Lambda function-URL events. (Full flows with a platform
//! that signs real id_tokens are in `tests/tests/deep_linking_flow.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;

use deep_link::DeepLink;
use lambda_http::Body;
use lti_shared::adapters::keystore::file::FileKeyStore;
use lti_shared::adapters::queue_polled::PolledStore;
use lti_shared::adapters::store::embedded::EmbeddedStore;
use lti_shared::compose::ports::Ports;
use lti_shared::domain::clock::FixedClock;
use lti_shared::domain::tool::ToolUrls;
use lti_shared::ports::{ExpiringItems, ItemKind};
use time::macros::datetime;

const NOW: time::OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);
const TOOL: &str = "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws";

fn event(method: &str, body: &str, headers: &[(&str, &str)]) -> lambda_http::Request {
    let file = format!(
        "{}/tests/data/post-deep-link.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    json["requestContext"]["http"]["method"] = method.into();
    json["body"] = body.into();
    for (name, value) in headers {
        json["headers"][*name] = (*value).into();
    }
    lambda_http::request::from_str(&json.to_string()).unwrap()
}

/// The handler as every deployment wires it (`DeepLink::from_ports`), over the embedded
/// store and key file, a fixed clock and no registry cache.
fn handler(store: Arc<EmbeddedStore>, dir: &std::path::Path) -> DeepLink {
    let ports = Ports::new(
        store,
        Arc::new(FileKeyStore::open(dir).unwrap()),
        Arc::new(PolledStore),
        Arc::new(FixedClock::new(NOW)),
        std::time::Duration::ZERO,
    );
    DeepLink::from_ports(&ports, ToolUrls::new(&url::Url::parse(TOOL).unwrap()))
}

fn reason(response: &lambda_http::Response<Body>) -> String {
    let html = String::from_utf8(response.body().to_vec()).unwrap();
    let start = html.find("id=\"reason\">").expect("an error page") + "id=\"reason\">".len();
    html[start..].split('<').next().unwrap().to_owned()
}

fn setup() -> (tempfile::TempDir, Arc<EmbeddedStore>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    (dir, store)
}

#[tokio::test]
async fn get_deep_link_is_405() {
    let (dir, store) = setup();
    let response = handler(store, dir.path())
        .handle(event("GET", "", &[]))
        .await;
    assert_eq!(response.status(), 405);
}

#[tokio::test]
async fn post_malformed_token_is_400_invalid_request() {
    let (dir, store) = setup();
    let response = handler(store, dir.path())
        .handle(event("POST", "id_token=abc&state=s", &[]))
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(reason(&response), "INVALID_REQUEST");
    assert!(response.headers().contains_key("content-security-policy"));
}

#[tokio::test]
async fn selection_from_another_site_is_403_and_keeps_the_request() {
    let (dir, store) = setup();
    store
        .put_item(
            ItemKind::DeepLinkRequest,
            "key-1",
            "{}",
            NOW + time::Duration::hours(1),
        )
        .await
        .unwrap();
    let response = handler(store.clone(), dir.path())
        .handle(event(
            "POST",
            "dl_request=key-1&dl_action=cancel",
            &[("sec-fetch-site", "cross-site")],
        ))
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(reason(&response), "CROSS_SITE_POST");
    assert!(
        store
            .item(ItemKind::DeepLinkRequest, "key-1", NOW)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn selection_with_unknown_request_is_400_selection_expired() {
    let (dir, store) = setup();
    let response = handler(store, dir.path())
        .handle(event(
            "POST",
            "dl_request=never-issued&dl_action=cancel",
            &[("sec-fetch-site", "same-origin")],
        ))
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(reason(&response), "SELECTION_EXPIRED");
}

// ---------------------------------------------------------------------------------------------
// LTI 1.1 Content-Item selection through the Lambda handler (full flows, signed and verified
// by oauthlib, are in `tests/tests/content_item_flow.rs`)
// ---------------------------------------------------------------------------------------------

const CONSUMER: &str = "moodle-main";
const CONSUMER_SECRET: &str = "consumer secret";

/// A consumer known to the tool, with its secret in the key file.
async fn add_consumer(store: &EmbeddedStore, dir: &std::path::Path) {
    use lti_shared::ports::{ConsumerRegistry as _, KeyStore as _};
    let key = lti_shared::domain::ids::ConsumerKey::parse(CONSUMER).unwrap();
    FileKeyStore::open(dir)
        .unwrap()
        .put_consumer_secret(
            &key,
            &lti_shared::domain::secret::ConsumerSecret::new(CONSUMER_SECRET),
        )
        .await
        .unwrap();
    store
        .add_consumer(&lti_shared::domain::model::Consumer {
            key,
            name: None,
            status: lti_shared::domain::model::Status::Active,
            created_at: NOW,
        })
        .await
        .unwrap();
}

/// A `ContentItemSelectionRequest` for the function URL's `/deep-link`, signed at `NOW` with
/// `secret`, as a form body.
fn content_item_request(secret: &str) -> String {
    let params: Vec<(String, String)> = [
        ("lti_message_type", "ContentItemSelectionRequest"),
        ("lti_version", "LTI-1p0"),
        ("roles", "Instructor"),
        ("accept_media_types", "application/vnd.ims.lti.v1.ltilink"),
        ("accept_presentation_document_targets", "iframe"),
        (
            "content_item_return_url",
            "https://moodle.example.edu/mod/lti/contentitem_return.php?course=5",
        ),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_owned(), v.to_owned()))
    .collect();
    let oauth = lti_shared::lti11::oauth1::sign_form_request(
        &url::Url::parse(&format!("{TOOL}/deep-link")).unwrap(),
        &params,
        CONSUMER,
        &lti_shared::domain::secret::ConsumerSecret::new(secret),
        NOW.unix_timestamp(),
        "nonce-0123456789",
    );
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().chain(oauth.iter()))
        .finish()
}

#[tokio::test]
async fn content_item_request_signed_for_the_function_url_shows_the_picker() {
    let (dir, store) = setup();
    add_consumer(&store, dir.path()).await;
    let response = handler(store, dir.path())
        .handle(event("POST", &content_item_request(CONSUMER_SECRET), &[]))
        .await;
    let html = String::from_utf8(response.body().to_vec()).unwrap();
    assert_eq!(response.status(), 200, "{html}");
    assert!(html.contains("name=\"ci_request\""), "{html}");
    assert!(
        html.contains(&format!("action=\"{TOOL}/deep-link\"")),
        "{html}"
    );
}

#[tokio::test]
async fn content_item_request_with_another_secret_is_401_invalid_signature() {
    let (dir, store) = setup();
    add_consumer(&store, dir.path()).await;
    let response = handler(store, dir.path())
        .handle(event("POST", &content_item_request("another"), &[]))
        .await;
    assert_eq!(response.status(), 401);
    assert_eq!(reason(&response), "INVALID_SIGNATURE");
}

#[tokio::test]
async fn content_item_selection_from_another_site_is_403_and_keeps_the_request() {
    let (dir, store) = setup();
    store
        .put_item(
            ItemKind::ContentItemRequest,
            "key-1",
            "{}",
            NOW + time::Duration::hours(1),
        )
        .await
        .unwrap();
    let response = handler(store.clone(), dir.path())
        .handle(event(
            "POST",
            "ci_request=key-1&dl_action=cancel",
            &[("sec-fetch-site", "cross-site")],
        ))
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(reason(&response), "CROSS_SITE_POST");
    assert!(
        store
            .item(ItemKind::ContentItemRequest, "key-1", NOW)
            .await
            .unwrap()
            .is_some()
    );
}
