//! The launch handler, fed recorded Lambda function-URL events. (Full flows with a platform
//! that signs real id_tokens are in `tests/tests/launch_flow.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lambda_http::Body;
use launch::Launch;
use lti_shared::adapters::keystore::file::FileKeyStore;
use lti_shared::adapters::queue_polled::PolledStore;
use lti_shared::adapters::store::embedded::EmbeddedStore;
use lti_shared::compose::ports::Ports;
use lti_shared::domain::clock::FixedClock;
use lti_shared::domain::tool::ToolUrls;
use time::macros::datetime;

const NOW: time::OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);
const TOOL: &str = "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws";

fn event(method: &str, path: &str, body: &str, cookie: Option<&str>) -> lambda_http::Request {
    let file = format!("{}/tests/data/post-launch.json", env!("CARGO_MANIFEST_DIR"));
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    json["requestContext"]["http"]["method"] = method.into();
    json["rawPath"] = path.into();
    json["requestContext"]["http"]["path"] = path.into();
    json["body"] = body.into();
    if let Some(cookie) = cookie {
        json["cookies"] = serde_json::json!([cookie]);
    }
    lambda_http::request::from_str(&json.to_string()).unwrap()
}

/// The handler as every deployment wires it (`Launch::from_ports`), over the embedded store
/// and key file, a fixed clock and no registry cache.
fn handler(dir: &std::path::Path) -> Launch {
    let ports = Ports::new(
        Arc::new(EmbeddedStore::open(dir).unwrap()),
        Arc::new(FileKeyStore::open(dir).unwrap()),
        Arc::new(PolledStore),
        Arc::new(FixedClock::new(NOW)),
        std::time::Duration::ZERO,
    );
    Launch::from_ports(&ports, ToolUrls::new(&url::Url::parse(TOOL).unwrap()))
}

fn reason(response: &lambda_http::Response<Body>) -> String {
    let html = String::from_utf8(response.body().to_vec()).unwrap();
    let start = html.find("id=\"reason\">").expect("an error page") + "id=\"reason\">".len();
    html[start..].split('<').next().unwrap().to_owned()
}

fn token(header: serde_json::Value, payload: serde_json::Value) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        URL_SAFE_NO_PAD.encode(b"not-a-signature")
    )
}

#[tokio::test]
async fn get_launch_is_405() {
    let dir = tempfile::tempdir().unwrap();
    let response = handler(dir.path())
        .handle(event("GET", "/launch", "", None))
        .await;
    assert_eq!(response.status(), 405);
}

#[tokio::test]
async fn post_larger_than_any_launch_form_is_413_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    // An LTI 1.1-looking form padded past the cap: refused whole, nothing verified.
    let huge = format!(
        "lti_message_type=basic-lti-launch-request&oauth_signature=x&custom_pad={}",
        "a".repeat(300 * 1024)
    );
    let response = handler(dir.path())
        .handle(event("POST", "/launch", &huge, None))
        .await;
    assert_eq!(response.status(), 413);
    assert_eq!(reason(&response), "REQUEST_TOO_LARGE");
    // The same form at a usual size reaches the LTI 1.1 verifier (and is refused there).
    let usual = "lti_message_type=basic-lti-launch-request&oauth_signature=x&custom_pad=a";
    let response = handler(dir.path())
        .handle(event("POST", "/launch", usual, None))
        .await;
    assert_ne!(response.status(), 413);
    assert_ne!(reason(&response), "REQUEST_TOO_LARGE");
}

#[tokio::test]
async fn post_without_id_token_is_400_invalid_request() {
    let dir = tempfile::tempdir().unwrap();
    let response = handler(dir.path())
        .handle(event(
            "POST",
            "/launch",
            "state=abc",
            Some("__Host-lti_state_abc=abc"),
        ))
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(reason(&response), "INVALID_REQUEST");
}

#[tokio::test]
async fn post_malformed_token_without_cookie_is_400_before_any_lookup() {
    let dir = tempfile::tempdir().unwrap();
    let response = handler(dir.path())
        .handle(event("POST", "/launch", "id_token=abc&state=s", None))
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(reason(&response), "INVALID_REQUEST");
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    assert!(response.headers().contains_key("content-security-policy"));
}

#[tokio::test]
async fn post_token_from_unknown_issuer_is_401_unknown_platform() {
    let dir = tempfile::tempdir().unwrap();
    let id_token = token(
        serde_json::json!({"alg": "RS256", "kid": "k1"}),
        serde_json::json!({"iss": "https://unknown.example", "aud": "c"}),
    );
    let body = format!("id_token={id_token}&state=s");
    let response = handler(dir.path())
        .handle(event(
            "POST",
            "/launch",
            &body,
            Some("__Host-lti_state_s=s"),
        ))
        .await;
    assert_eq!(response.status(), 401);
    assert_eq!(reason(&response), "UNKNOWN_PLATFORM");
}

#[tokio::test]
async fn post_activity_with_forged_session_is_401() {
    let dir = tempfile::tempdir().unwrap();
    let forged = token(
        serde_json::json!({"alg": "RS256", "kid": "k1"}),
        serde_json::json!({"iss": TOOL, "aud": TOOL}),
    );
    let response = handler(dir.path())
        .handle(event(
            "POST",
            "/activity",
            &format!("lti_session={forged}"),
            None,
        ))
        .await;
    assert_eq!(response.status(), 401);
    assert_eq!(reason(&response), "SESSION_INVALID");
}
