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
