//! The login handler, fed recorded Lambda function-URL events.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use lambda_http::Body;
use login::Login;
use lti_shared::adapters::store::embedded::EmbeddedStore;
use lti_shared::domain::clock::FixedClock;
use lti_shared::domain::ids::{ClientId, DeploymentId, Issuer};
use lti_shared::domain::model::{PlatformOptions, Registration, Status};
use lti_shared::domain::oidc::LoginState;
use lti_shared::domain::tool::ToolUrls;
use lti_shared::lti13::login::issued_login;
use lti_shared::ports::PlatformRegistry;
use time::macros::datetime;
use url::Url;

const NOW: time::OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);
const TOOL: &str = "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws";

fn event(query: Option<&str>) -> lambda_http::Request {
    let path = format!("{}/tests/data/get-login.json", env!("CARGO_MANIFEST_DIR"));
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    if let Some(query) = query {
        json["rawQueryString"] = query.into();
        json["queryStringParameters"] = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect::<HashMap<String, String>>()
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect::<serde_json::Map<_, _>>()
            .into();
    }
    lambda_http::request::from_str(&json.to_string()).unwrap()
}

fn registration(client_id: &str) -> Registration {
    Registration {
        issuer: Issuer::parse("https://canvas.test.example").unwrap(),
        client_id: ClientId::parse(client_id).unwrap(),
        deployment_ids: BTreeSet::from([DeploymentId::parse("1:abc").unwrap()]),
        auth_url: Url::parse("https://canvas.test.example/api/lti/authorize_redirect").unwrap(),
        token_url: Url::parse("https://canvas.test.example/login/oauth2/token").unwrap(),
        jwks_url: Url::parse("https://canvas.test.example/api/lti/security/jwks").unwrap(),
        name: None,
        status: Status::Active,
        options: PlatformOptions::default(),
        created_at: NOW,
    }
}

async fn setup(dir: &std::path::Path, clients: &[&str]) -> (Login, Arc<EmbeddedStore>) {
    let store = Arc::new(EmbeddedStore::open(dir).unwrap());
    for client in clients {
        store.add_platform(&registration(client)).await.unwrap();
    }
    let login = Login::new(
        store.clone(),
        store.clone(),
        Arc::new(FixedClock::new(NOW)),
        ToolUrls::new(&Url::parse(TOOL).unwrap()),
    );
    (login, store)
}

fn body(response: &lambda_http::Response<Body>) -> String {
    String::from_utf8(response.body().to_vec()).unwrap()
}

#[tokio::test]
async fn get_valid_login_redirects_to_platform_with_bound_state() {
    let dir = tempfile::tempdir().unwrap();
    let (login, store) = setup(dir.path(), &["10000000000001"]).await;
    let response = login.handle(event(None)).await;
    assert_eq!(response.status(), 302);
    let location = Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    assert!(
        location
            .as_str()
            .starts_with("https://canvas.test.example/api/lti/authorize_redirect?")
    );
    let q: HashMap<String, String> = location.query_pairs().into_owned().collect();
    assert_eq!(q["scope"], "openid");
    assert_eq!(q["response_type"], "id_token");
    assert_eq!(q["response_mode"], "form_post");
    assert_eq!(q["prompt"], "none");
    assert_eq!(q["client_id"], "10000000000001");
    assert_eq!(q["redirect_uri"], format!("{TOOL}/launch"));
    assert_eq!(q["login_hint"], "opaque-hint-1");
    assert_eq!(q["lti_message_hint"], "msg-hint");
    assert!(
        q["state"].len() >= 22 && q["nonce"].len() >= 22,
        "at least 128 bits each"
    );
    assert_ne!(q["state"], q["nonce"]);

    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with(&format!("__Host-lti_state_{}={}", q["state"], q["state"])));
    for attribute in [
        "Secure",
        "HttpOnly",
        "SameSite=None",
        "Partitioned",
        "Path=/",
    ] {
        assert!(
            cookie.contains(attribute),
            "{attribute} missing from {cookie}"
        );
    }
    let state = LoginState::parse(q["state"].as_str()).unwrap();
    let issued = issued_login(store.as_ref(), &state, NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(issued.nonce.as_str(), q["nonce"]);
    assert_eq!(issued.target_link_uri.as_str(), format!("{TOOL}/launch"));
    assert_eq!(issued.client_id.as_str(), "10000000000001");
}

#[tokio::test]
async fn login_with_storage_target_serves_platform_storage_page() {
    let dir = tempfile::tempdir().unwrap();
    let (login, _) = setup(dir.path(), &["10000000000001"]).await;
    let query = format!(
        "iss=https%3A%2F%2Fcanvas.test.example&login_hint=h&target_link_uri={}%2Flaunch&client_id=10000000000001&lti_storage_target=post_message_forwarding",
        url::form_urlencoded::byte_serialize(TOOL.as_bytes()).collect::<String>()
    );
    let response = login.handle(event(Some(&query))).await;
    assert_eq!(response.status(), 200);
    let html = body(&response);
    assert!(html.contains("lti.put_data"));
    assert!(html.contains("data-target=\"post_message_forwarding\""));
    assert!(html.contains("data-origin=\"https://canvas.test.example\""));
    assert!(
        response.headers().contains_key("set-cookie"),
        "the cookie is set too"
    );
}

#[tokio::test]
async fn login_without_client_id_uses_the_only_registration() {
    let dir = tempfile::tempdir().unwrap();
    let (login, _) = setup(dir.path(), &["10000000000001"]).await;
    let query = format!(
        "iss=https%3A%2F%2Fcanvas.test.example&login_hint=h&target_link_uri={}%2Flaunch",
        url::form_urlencoded::byte_serialize(TOOL.as_bytes()).collect::<String>()
    );
    assert_eq!(login.handle(event(Some(&query))).await.status(), 302);
}

#[tokio::test]
async fn login_without_client_id_and_several_registrations_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (login, _) = setup(dir.path(), &["10000000000001", "10000000000002"]).await;
    let query = format!(
        "iss=https%3A%2F%2Fcanvas.test.example&login_hint=h&target_link_uri={}%2Flaunch",
        url::form_urlencoded::byte_serialize(TOOL.as_bytes()).collect::<String>()
    );
    let response = login.handle(event(Some(&query))).await;
    assert_eq!(response.status(), 400);
    assert!(body(&response).contains("CLIENT_ID_REQUIRED"));
}

#[tokio::test]
async fn login_foreign_target_is_refused_without_redirect() {
    let dir = tempfile::tempdir().unwrap();
    let (login, _) = setup(dir.path(), &["10000000000001"]).await;
    let query = "iss=https%3A%2F%2Fcanvas.test.example&login_hint=h&target_link_uri=https%3A%2F%2Fevil.example%2Fphish&client_id=10000000000001";
    let response = login.handle(event(Some(query))).await;
    assert_eq!(response.status(), 400);
    assert!(!response.headers().contains_key("location"));
    assert!(!response.headers().contains_key("set-cookie"));
    assert!(body(&response).contains("FOREIGN_TARGET"));
}

#[tokio::test]
async fn login_missing_parameters_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let (login, _) = setup(dir.path(), &["10000000000001"]).await;
    let response = login
        .handle(event(Some("login_hint=h&target_link_uri=x")))
        .await;
    assert_eq!(response.status(), 400);
    assert!(body(&response).contains("INVALID_LOGIN_REQUEST"));
}

#[tokio::test]
async fn login_unknown_platform_and_deployment_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (login, _) = setup(dir.path(), &["10000000000001"]).await;
    let target = url::form_urlencoded::byte_serialize(format!("{TOOL}/launch").as_bytes())
        .collect::<String>();
    let response = login
        .handle(event(Some(&format!(
            "iss=https%3A%2F%2Fother.example&login_hint=h&target_link_uri={target}"
        ))))
        .await;
    assert_eq!(response.status(), 400);
    assert!(body(&response).contains("UNKNOWN_PLATFORM"));
    let response = login
        .handle(event(Some(&format!(
            "iss=https%3A%2F%2Fcanvas.test.example&login_hint=h&target_link_uri={target}&client_id=10000000000001&lti_deployment_id=9%3Azzz"
        ))))
        .await;
    assert_eq!(response.status(), 403);
    assert!(body(&response).contains("UNKNOWN_DEPLOYMENT"));
}
