//! The jwks handler, fed recorded Lambda function-URL events.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use jwks::{CACHE_CONTROL, Jwks};
use lambda_http::Body;
use lti_shared::adapters::keystore::file::FileKeyStore;
use lti_shared::domain::clock::FixedClock;
use lti_shared::domain::keys::KeySet;
use lti_shared::ports::KeyStore;
use time::macros::datetime;

const NOW: time::OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);

fn event(name: &str) -> lambda_http::Request {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    lambda_http::request::from_str(&text).unwrap()
}

fn body_json(body: &Body) -> serde_json::Value {
    serde_json::from_slice(body.as_ref()).unwrap()
}

async fn handler_with_keys(dir: &std::path::Path, init: bool) -> (Jwks, KeySet) {
    let store = FileKeyStore::open(dir).unwrap();
    let mut keys = KeySet::default();
    if init {
        keys.init(NOW).unwrap();
        store.save_signing_keys(&keys).await.unwrap();
    }
    let handler = Jwks::new(Arc::new(store), Arc::new(FixedClock::new(NOW)));
    (handler, keys)
}

#[tokio::test]
async fn get_initialised_keys_returns_public_set() {
    let dir = tempfile::tempdir().unwrap();
    let (handler, keys) = handler_with_keys(dir.path(), true).await;
    let response = handler.handle(event("get-jwks.json")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], CACHE_CONTROL);
    let json = body_json(response.body());
    let published: Vec<&str> = json["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = keys.keys.iter().map(|k| k.kid.as_str()).collect();
    assert_eq!(published, expected, "current then next");
    let text = String::from_utf8(response.body().to_vec()).unwrap();
    for private in ["\"d\"", "\"p\"", "\"q\"", "pkcs8", "status"] {
        assert!(!text.contains(private), "{private} leaked: {text}");
    }
}

#[tokio::test]
async fn get_before_init_returns_empty_set() {
    let dir = tempfile::tempdir().unwrap();
    let (handler, _) = handler_with_keys(dir.path(), false).await;
    let response = handler.handle(event("get-jwks.json")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(response.body()), serde_json::json!({"keys": []}));
}

#[tokio::test]
async fn post_is_refused_with_405() {
    let dir = tempfile::tempdir().unwrap();
    let (handler, _) = handler_with_keys(dir.path(), true).await;
    let response = handler.handle(event("post-jwks.json")).await;
    assert_eq!(response.status(), 405);
    let json = body_json(response.body());
    assert_eq!(json["error"], "method_not_allowed");
    assert_eq!(json["request_id"], "5f7a4e0c-8f1b-4d55-9a43-0c3c4bd2a111");
}

#[tokio::test]
async fn unreadable_key_store_returns_503_without_internals() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keys.json"), "{not json").unwrap();
    let (handler, _) = handler_with_keys(dir.path(), false).await;
    let response = handler.handle(event("get-jwks.json")).await;
    assert_eq!(response.status(), 503);
    let text = String::from_utf8(response.body().to_vec()).unwrap();
    assert!(!text.contains("keys.json"), "internals leaked: {text}");
    assert_eq!(
        body_json(response.body())["error"],
        "temporarily_unavailable"
    );
}
