//! The register handler, fed recorded Lambda function-URL events. The full flow against a
//! platform on loopback is in `tests/tests/dynamic_registration.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;

use lambda_http::Body;
use lti_shared::adapters::registrar::Registrar;
use lti_shared::adapters::store::embedded::EmbeddedStore;
use lti_shared::domain::clock::FixedClock;
use lti_shared::domain::tool::ToolUrls;
use lti_shared::lti13::dynamic_registration::UrlPolicy;
use lti_shared::ports::PlatformRegistry;
use register::{Register, RegisterOptions};
use time::macros::datetime;
use url::Url;

const NOW: time::OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);
const TOOL: &str = "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws";

fn event(name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> lambda_http::Request {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut json);
    lambda_http::request::from_str(&json.to_string()).unwrap()
}

fn setup(dir: &std::path::Path) -> (Register, Arc<EmbeddedStore>) {
    let store = Arc::new(EmbeddedStore::open(dir).unwrap());
    let register = Register::new(
        store.clone(),
        store.clone(),
        Arc::new(FixedClock::new(NOW)),
        ToolUrls::new(&Url::parse(TOOL).unwrap()),
        Registrar::new(UrlPolicy::default()),
        RegisterOptions::default(),
    );
    (register, store)
}

fn body(response: &lambda_http::Response<Body>) -> String {
    String::from_utf8(response.body().to_vec()).unwrap()
}

#[tokio::test]
async fn get_canvas_config_is_the_developer_key_json() {
    let dir = tempfile::tempdir().unwrap();
    let (register, _) = setup(dir.path());
    let response = register
        .handle(event("get-register.json", |e| {
            e["rawPath"] = "/config/canvas.json".into();
            e["requestContext"]["http"]["path"] = "/config/canvas.json".into();
            e["rawQueryString"] = "".into();
            e.as_object_mut().unwrap().remove("queryStringParameters");
        }))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let json: serde_json::Value = serde_json::from_str(&body(&response)).unwrap();
    assert_eq!(json["oidc_initiation_url"], format!("{TOOL}/login"));
    assert_eq!(json["public_jwk_url"], format!("{TOOL}/jwks"));
}

#[tokio::test]
async fn get_register_without_configuration_explains_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let (register, _) = setup(dir.path());
    let response = register
        .handle(event("get-register.json", |e| {
            e["rawQueryString"] = "".into();
            e.as_object_mut().unwrap().remove("queryStringParameters");
        }))
        .await;
    assert_eq!(response.status(), 400);
    let page = body(&response);
    assert!(page.contains("MISSING_OPENID_CONFIGURATION"), "{page}");
    assert!(
        page.contains("5f7a4e0c-8f1b-4d55-9a43-0c3c4bd2a111"),
        "request id: {page}"
    );
}

#[tokio::test]
async fn get_register_http_configuration_is_refused_on_lambda() {
    let dir = tempfile::tempdir().unwrap();
    let (register, _) = setup(dir.path());
    let response = register
        .handle(event("get-register.json", |e| {
            let query = "openid_configuration=http%3A%2F%2F127.0.0.1%3A9001%2Fnext";
            e["rawQueryString"] = query.into();
            e["queryStringParameters"] =
                serde_json::json!({"openid_configuration": "http://127.0.0.1:9001/next"});
        }))
        .await;
    assert_eq!(response.status(), 400);
    assert!(body(&response).contains("UNUSABLE_PLATFORM_URL"));
}

#[tokio::test]
async fn post_register_from_another_site_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (register, store) = setup(dir.path());
    let response = register
        .handle(event("post-register.json", |e| {
            e["headers"]["sec-fetch-site"] = "cross-site".into();
            e["headers"]["origin"] = "https://evil.example".into();
        }))
        .await;
    assert_eq!(response.status(), 403);
    assert!(body(&response).contains("CROSS_SITE_CONFIRMATION"));
    assert!(store.platforms().await.unwrap().is_empty());
}

#[tokio::test]
async fn post_register_unknown_pending_id_is_expired() {
    let dir = tempfile::tempdir().unwrap();
    let (register, store) = setup(dir.path());
    let response = register.handle(event("post-register.json", |_| {})).await;
    assert_eq!(response.status(), 410);
    assert!(body(&response).contains("REGISTRATION_EXPIRED"));
    assert!(store.platforms().await.unwrap().is_empty());
}

#[tokio::test]
async fn put_register_is_not_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let (register, _) = setup(dir.path());
    let response = register
        .handle(event("post-register.json", |e| {
            e["requestContext"]["http"]["method"] = "PUT".into();
        }))
        .await;
    assert_eq!(response.status(), 405);
}
