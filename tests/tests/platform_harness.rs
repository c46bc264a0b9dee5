//! The fake platform on its own, without the tool: its JWK set, its signatures and their
//! tampering, its authorization endpoint, and its programmatic browser against a stub tool
//! that does the least a tool's login and launch endpoints must.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use lti_tests::platform::{
    Alg, CookieMode, FakePlatform, HeaderSpec, LaunchSpec, LoginMethod, auto_submit_form, claim,
    decode_unverified,
};
use serde_json::{Value, json};

const TARGET: &str = "https://tool.test/resource/1";

async fn fetch_jwks(platform: &FakePlatform) -> JwkSet {
    let response = reqwest::get(platform.jwks_url()).await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Verifies `token` the way a tool must (Security Framework §5.1.3), keys from `set`.
fn verify(
    platform: &FakePlatform,
    set: &JwkSet,
    token: &str,
) -> Result<Value, jsonwebtoken::errors::Error> {
    let kid = jsonwebtoken::decode_header(token)?.kid.expect("a kid");
    let jwk = set
        .find(&kid)
        .ok_or(jsonwebtoken::errors::ErrorKind::InvalidKeyFormat)?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[platform.client_id()]);
    validation.set_issuer(&[platform.issuer()]);
    validation.set_required_spec_claims(&["exp", "iat", "aud", "iss"]);
    jsonwebtoken::decode(token, &DecodingKey::from_jwk(jwk)?, &validation).map(|d| d.claims)
}

fn auth_params(platform: &FakePlatform, redirect_uri: &str) -> Vec<(&'static str, String)> {
    vec![
        ("scope", "openid".into()),
        ("response_type", "id_token".into()),
        ("response_mode", "form_post".into()),
        ("prompt", "none".into()),
        ("client_id", platform.client_id().into()),
        ("redirect_uri", redirect_uri.into()),
        ("login_hint", "user-7".into()),
        ("lti_message_hint", "not-one-of-the-platforms".into()),
        ("state", "state-123".into()),
        ("nonce", "nonce-456".into()),
    ]
}

async fn get_auth(platform: &FakePlatform, params: &[(&str, String)]) -> reqwest::Response {
    let mut url = url::Url::parse(&platform.auth_url()).unwrap();
    url.query_pairs_mut().extend_pairs(params);
    reqwest::get(url).await.unwrap()
}

#[tokio::test]
async fn jwks_is_served_counted_and_can_be_down() {
    let platform = FakePlatform::start().await;
    assert_eq!(platform.jwks_fetch_count(), 0);

    let response = reqwest::get(platform.jwks_url()).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(response.headers().get("cache-control").is_none());
    let json: Value = response.json().await.unwrap();
    let keys = json["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kid"], platform.current_kid().as_str());
    let mut members: Vec<&str> = keys[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    members.sort_unstable();
    assert_eq!(members, ["alg", "e", "kid", "kty", "n", "use"]);
    fetch_jwks(&platform).await;
    assert_eq!(platform.jwks_fetch_count(), 2);

    platform.set_jwks_down(true);
    let response = reqwest::get(platform.jwks_url()).await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(platform.jwks_fetch_count(), 3);

    platform.set_jwks_down(false);
    platform.set_jwks_max_age(Some(600));
    let response = reqwest::get(platform.jwks_url()).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "max-age=600");
    assert_eq!(platform.jwks_fetch_count(), 4);
}

#[tokio::test]
async fn token_endpoint_is_a_501_placeholder() {
    let platform = FakePlatform::start().await;
    let response = reqwest::Client::new()
        .post(platform.token_url())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 501);
}

#[tokio::test]
async fn id_token_verifies_against_the_published_jwks() {
    let platform = FakePlatform::builder()
        .client_id("client-a")
        .deployment_id("deployment-a")
        .start()
        .await;
    assert_eq!(platform.client_id(), "client-a");
    let token = platform.id_token(&LaunchSpec::instructor(), "n-1", TARGET);
    let claims = verify(&platform, &fetch_jwks(&platform).await, &token).unwrap();
    assert_eq!(claims["iss"], platform.issuer());
    assert!(platform.issuer().starts_with("http://127.0.0.1:"));
    assert_eq!(claims["aud"], "client-a");
    assert_eq!(claims["azp"], "client-a");
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["sub"], "fake-user-instructor-1");
    assert_eq!(claims[claim::DEPLOYMENT_ID], "deployment-a");
    assert_eq!(claims[claim::VERSION], "1.3.0");
    assert_eq!(claims[claim::MESSAGE_TYPE], "LtiResourceLinkRequest");
    assert_eq!(claims[claim::TARGET_LINK_URI], TARGET);
    assert_eq!(claims[claim::RESOURCE_LINK]["id"], "fake-resource-link-1");
    assert!(claims[claim::CONTEXT]["id"].is_string());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );

    // The check can fail: a forged payload under the same signature is refused.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let (_, mut forged) = decode_unverified(&token);
    forged["sub"] = json!("someone-else");
    parts[1] = base64_url(&forged.to_string());
    assert!(verify(&platform, &fetch_jwks(&platform).await, &parts.join(".")).is_err());
}

#[tokio::test]
async fn tampering_edits_the_claims() {
    let platform = FakePlatform::start().await;
    let spec = LaunchSpec::student()
        .remove(claim::VERSION)
        .remove([claim::RESOURCE_LINK, "id"])
        .set([claim::CONTEXT, "label"], json!("changed"))
        .set("aud", json!(["x", "y"]))
        .azp("someone")
        .extra_audiences(["ignored-because-aud-is-set-later"])
        .nonce("forced")
        .iat_offset(-7200)
        .exp_offset(-3600)
        .nbf_offset(60)
        .without_pii()
        .map_claims(|claims| {
            claims.remove("sub");
        });
    let claims = platform.launch_claims(&spec, "from-request", TARGET);
    assert!(claims.get(claim::VERSION).is_none());
    assert!(claims[claim::RESOURCE_LINK].get("id").is_none());
    assert_eq!(claims[claim::RESOURCE_LINK]["title"], "Fake assignment");
    assert_eq!(claims[claim::CONTEXT]["label"], "changed");
    assert_eq!(claims["aud"], json!(["x", "y"]));
    assert_eq!(claims["azp"], "someone");
    assert_eq!(claims["nonce"], "forced");
    assert!(claims["exp"].as_i64() < claims["iat"].as_i64().map(|iat| iat + 7200));
    assert!(claims["nbf"].as_i64() > claims["exp"].as_i64());
    assert!(claims.get("sub").is_none());
    assert!(claims.get("email").is_none());

    let claims = platform.launch_claims(
        &LaunchSpec::student().extra_audiences(["other-tool"]),
        "n",
        TARGET,
    );
    assert_eq!(claims["aud"], json!([platform.client_id(), "other-tool"]));
}

#[tokio::test]
async fn rotate_key_changes_kid_and_keeps_the_old_key_published() {
    let platform = FakePlatform::start().await;
    let old_kid = platform.current_kid();
    let before = platform.id_token(&LaunchSpec::student(), "n", TARGET);

    let new_kid = platform.rotate_key();
    assert_ne!(new_kid, old_kid);
    assert_eq!(platform.current_kid(), new_kid);
    let after = platform.id_token(&LaunchSpec::student(), "n", TARGET);
    assert_eq!(decode_unverified(&after).0["kid"], new_kid.as_str());
    assert_eq!(
        platform.published_kids(),
        [new_kid.clone(), old_kid.clone()]
    );
    let set = fetch_jwks(&platform).await;
    verify(&platform, &set, &before).unwrap();
    verify(&platform, &set, &after).unwrap();

    platform.unpublish_old_keys();
    let set = fetch_jwks(&platform).await;
    assert_eq!(set.keys.len(), 1);
    assert!(set.find(&old_kid).is_none());
    assert!(verify(&platform, &set, &before).is_err());
    verify(&platform, &set, &after).unwrap();
}

#[tokio::test]
async fn alg_none_token_has_an_empty_signature() {
    let platform = FakePlatform::start().await;
    let token = platform.sign(json!({"sub": "x"}), HeaderSpec::alg_none());
    assert!(token.ends_with('.'));
    assert_eq!(token.split('.').count(), 3);
    let (header, claims) = decode_unverified(&token);
    assert_eq!(header["alg"], "none");
    assert_eq!(header["kid"], platform.current_kid().as_str());
    assert_eq!(claims, json!({"sub": "x"}));
}

#[tokio::test]
async fn hs256_token_is_keyed_with_the_public_key_pem() {
    let platform = FakePlatform::start().await;
    let token = platform.id_token(&LaunchSpec::student().alg(Alg::Hs256), "n", TARGET);
    assert_eq!(decode_unverified(&token).0["alg"], "HS256");
    let pem = platform.public_key_pem();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&[platform.client_id()]);
    jsonwebtoken::decode::<Value>(
        &token,
        &DecodingKey::from_secret(pem.as_bytes()),
        &validation,
    )
    .unwrap();
    // An RS256 verifier refuses it.
    assert!(verify(&platform, &fetch_jwks(&platform).await, &token).is_err());

    // Another secret can be chosen.
    let der = platform.public_key_der();
    let token = platform.sign(
        json!({"aud": platform.client_id(), "exp": 4_000_000_000_u64}),
        HeaderSpec::hs256_with_public_key().hmac_secret(der.clone()),
    );
    jsonwebtoken::decode::<Value>(&token, &DecodingKey::from_secret(&der), &validation).unwrap();
}

#[tokio::test]
async fn kid_can_be_omitted_wrong_or_unpublished() {
    let platform = FakePlatform::start().await;
    let set = fetch_jwks(&platform).await;

    let token = platform.id_token(&LaunchSpec::student().without_kid(), "n", TARGET);
    assert!(decode_unverified(&token).0.get("kid").is_none());

    let token = platform.id_token(&LaunchSpec::student().kid("nobody"), "n", TARGET);
    assert_eq!(decode_unverified(&token).0["kid"], "nobody");
    assert!(verify(&platform, &set, &token).is_err());

    let token = platform.id_token(
        &LaunchSpec::student().signed_with_unpublished_key(),
        "n",
        TARGET,
    );
    let kid = decode_unverified(&token).0["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(kid, platform.unpublished_kid());
    assert!(!platform.published_kids().contains(&kid));
    assert!(verify(&platform, &set, &token).is_err());

    // Unpublished key under the current kid: a signature that does not verify.
    let token = platform.sign(
        platform.launch_claims(&LaunchSpec::student(), "n", TARGET),
        HeaderSpec::rs256()
            .signed_with_unpublished_key()
            .kid(platform.current_kid()),
    );
    assert!(verify(&platform, &set, &token).is_err());

    let token = platform.sign(
        json!({}),
        HeaderSpec::rs256()
            .field("jku", json!("https://evil.test/jwks"))
            .without_field("typ"),
    );
    let (header, _) = decode_unverified(&token);
    assert_eq!(header["jku"], "https://evil.test/jwks");
    assert!(header.get("typ").is_none());
}

#[tokio::test]
async fn auth_endpoint_refuses_an_unregistered_redirect_uri_or_client() {
    let platform = FakePlatform::builder()
        .redirect_uri("https://tool.test/launch")
        .start()
        .await;
    let mut params = auth_params(&platform, "https://evil.test/launch");
    let response = get_auth(&platform, &params).await;
    assert_eq!(response.status(), 400);
    let body = response.text().await.unwrap();
    assert!(body.contains("redirect_uri"), "{body}");
    assert!(auto_submit_form(&body).is_none());
    let recorded = platform.last_auth_request().unwrap();
    assert_eq!(recorded["redirect_uri"], "https://evil.test/launch");
    assert_eq!(recorded["nonce"], "nonce-456");

    params = auth_params(&platform, "https://tool.test/launch");
    params[4].1 = "unknown-client".into();
    let response = get_auth(&platform, &params).await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("client_id"));
    assert_eq!(platform.auth_request_count(), 2);
}

#[tokio::test]
async fn auth_endpoint_form_carries_state_and_an_id_token_with_the_request_nonce() {
    let platform = FakePlatform::start().await;
    platform.add_redirect_uri("https://tool.test/launch");
    platform.set_launch_template(LaunchSpec::instructor().target_link_uri(TARGET));
    let params = auth_params(&platform, "https://tool.test/launch");

    let response = get_auth(&platform, &params).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = response.text().await.unwrap();
    assert!(page.contains("submit()"), "the form submits itself: {page}");
    let (action, fields) = auto_submit_form(&page).unwrap();
    assert_eq!(action, "https://tool.test/launch");
    let fields: HashMap<String, String> = fields.into_iter().collect();
    assert_eq!(fields["state"], "state-123");
    let claims = verify(&platform, &fetch_jwks(&platform).await, &fields["id_token"]).unwrap();
    assert_eq!(claims["nonce"], "nonce-456");
    assert_eq!(claims["sub"], "fake-user-instructor-1");
    assert_eq!(claims[claim::TARGET_LINK_URI], TARGET);
    assert_eq!(platform.last_auth_request().unwrap()["state"], "state-123");

    // The same as a form POST.
    let response = reqwest::Client::new()
        .post(platform.auth_url())
        .form(&params)
        .send()
        .await
        .unwrap();
    let (_, fields) = auto_submit_form(&response.text().await.unwrap()).unwrap();
    let fields: HashMap<String, String> = fields.into_iter().collect();
    assert_eq!(fields["state"], "state-123");
    assert_eq!(
        decode_unverified(&fields["id_token"]).1["nonce"],
        "nonce-456"
    );
}

#[tokio::test]
async fn auth_endpoint_refuses_an_unknown_message_hint_without_a_template() {
    let platform = FakePlatform::builder()
        .redirect_uri("https://tool.test/launch")
        .start()
        .await;
    let response = get_auth(
        &platform,
        &auth_params(&platform, "https://tool.test/launch"),
    )
    .await;
    let (_, fields) = auto_submit_form(&response.text().await.unwrap()).unwrap();
    let fields: HashMap<String, String> = fields.into_iter().collect();
    assert_eq!(fields["error"], "invalid_request");
    assert!(fields["error_description"].contains("lti_message_hint"));
    assert!(!fields.contains_key("id_token"));
}

#[tokio::test]
async fn auth_endpoint_posts_protocol_errors_back_to_the_redirect_uri() {
    let platform = FakePlatform::builder()
        .redirect_uri("https://tool.test/launch")
        .start()
        .await;
    platform.set_launch_template(LaunchSpec::student());
    for (index, bad, error) in [
        (0, "profile", "invalid_scope"),
        (1, "code", "unsupported_response_type"),
        (2, "query", "invalid_request"),
        (3, "login", "invalid_request"),
        (9, "", "invalid_request"),
    ] {
        let mut params = auth_params(&platform, "https://tool.test/launch");
        params[index].1 = bad.into();
        let response = get_auth(&platform, &params).await;
        assert_eq!(response.status(), 200);
        let (action, fields) = auto_submit_form(&response.text().await.unwrap()).unwrap();
        assert_eq!(action, "https://tool.test/launch");
        let fields: HashMap<String, String> = fields.into_iter().collect();
        assert_eq!(fields["error"], error, "{} = {bad:?}", params[index].0);
        assert_eq!(fields["state"], "state-123");
        assert!(!fields.contains_key("id_token"));
    }
}

// --- a stub tool, the least a tool's login and launch endpoints do ---------------------------

struct StubTool {
    base: String,
    nonces: Arc<Mutex<Vec<String>>>,
    _server: tokio::task::JoinHandle<()>,
}

impl StubTool {
    fn login_url(&self) -> String {
        format!("{}/login", self.base)
    }

    fn launch_url(&self) -> String {
        format!("{}/launch", self.base)
    }
}

/// `/login` checks `iss`, redirects to `auth_url` with a state cookie; `/launch` answers JSON
/// saying what it received.
async fn start_stub_tool(auth_url: String, issuer: String) -> StubTool {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let nonces = Arc::new(Mutex::new(Vec::new()));
    let (launch_url, recorded) = (format!("{base}/launch"), Arc::clone(&nonces));
    let server = tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (auth_url, issuer, launch_url, nonces) = (
                auth_url.clone(),
                issuer.clone(),
                launch_url.clone(),
                Arc::clone(&recorded),
            );
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let (auth_url, issuer, launch_url, nonces) = (
                    auth_url.clone(),
                    issuer.clone(),
                    launch_url.clone(),
                    Arc::clone(&nonces),
                );
                async move {
                    Ok::<_, Infallible>(
                        stub_handle(request, &auth_url, &issuer, &launch_url, &nonces).await,
                    )
                }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    StubTool {
        base,
        nonces,
        _server: server,
    }
}

async fn stub_handle(
    request: Request<Incoming>,
    auth_url: &str,
    issuer: &str,
    launch_url: &str,
    nonces: &Mutex<Vec<String>>,
) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let cookie = request
        .headers()
        .get("cookie")
        .map(|c| c.to_str().unwrap().to_owned());
    let body = request.into_body().collect().await.unwrap().to_bytes();
    let mut params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    params.extend(url::form_urlencoded::parse(&body).into_owned());
    let param = |name: &str| params.get(name).cloned().unwrap_or_default();
    match path.as_str() {
        "/login" => {
            if param("iss") != issuer {
                return Response::builder()
                    .status(400)
                    .body(Full::new(Bytes::from("unknown issuer")))
                    .unwrap();
            }
            let state = format!("s-{}", uuid::Uuid::new_v4().simple());
            let nonce = format!("n-{}", uuid::Uuid::new_v4().simple());
            nonces.lock().unwrap().push(nonce.clone());
            let mut url = url::Url::parse(auth_url).unwrap();
            url.query_pairs_mut().extend_pairs([
                ("scope", "openid"),
                ("response_type", "id_token"),
                ("response_mode", "form_post"),
                ("prompt", "none"),
                ("client_id", &param("client_id")),
                ("redirect_uri", launch_url),
                ("login_hint", &param("login_hint")),
                ("lti_message_hint", &param("lti_message_hint")),
                ("state", &state),
                ("nonce", &nonce),
            ]);
            Response::builder()
                .status(302)
                .header("location", url.as_str())
                .header(
                    "set-cookie",
                    format!(
                        "lti_state={state}; Path=/; Secure; HttpOnly; SameSite=None; Partitioned"
                    ),
                )
                .body(Full::new(Bytes::new()))
                .unwrap()
        }
        "/launch" => {
            let echoed = json!({
                "cookie": cookie,
                "state": param("state"),
                "id_token": param("id_token"),
                "error": param("error"),
            });
            Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(echoed.to_string())))
                .unwrap()
        }
        _ => Response::builder()
            .status(404)
            .body(Full::new(Bytes::new()))
            .unwrap(),
    }
}

async fn platform_and_tool() -> (FakePlatform, StubTool) {
    let platform = FakePlatform::start().await;
    let tool = start_stub_tool(platform.auth_url(), platform.issuer().to_owned()).await;
    platform.add_redirect_uri(tool.launch_url());
    (platform, tool)
}

#[tokio::test]
async fn launch_drives_the_whole_oidc_flow() {
    let (platform, tool) = platform_and_tool().await;
    for method in [LoginMethod::Get, LoginMethod::Post] {
        let outcome = platform
            .launch(
                &tool.login_url(),
                TARGET,
                LaunchSpec::student().login_method(method),
            )
            .await;
        assert_eq!(outcome.login_response.status, 302);
        let sent: HashMap<_, _> = outcome.login_params.iter().cloned().collect();
        assert_eq!(sent["iss"], platform.issuer());
        assert_eq!(sent["target_link_uri"], TARGET);
        assert_eq!(sent["client_id"], platform.client_id());
        assert_eq!(sent["lti_deployment_id"], platform.deployment_id());
        let auth = outcome.auth_request_params.clone().unwrap();
        assert_eq!(auth["lti_message_hint"], sent["lti_message_hint"]);
        assert_eq!(platform.last_auth_request().unwrap(), auth);

        let echoed = outcome.expect_launch().json();
        assert_eq!(echoed["cookie"], format!("lti_state={}", auth["state"]));
        assert_eq!(echoed["state"], auth["state"]);
        assert_eq!(outcome.state.as_deref(), Some(auth["state"].as_str()));
        assert_eq!(echoed["id_token"], outcome.expect_id_token());
        let claims = verify(
            &platform,
            &fetch_jwks(&platform).await,
            outcome.expect_id_token(),
        )
        .unwrap();
        assert_eq!(claims["nonce"], auth["nonce"]);
        assert_eq!(
            claims["nonce"].as_str(),
            tool.nonces.lock().unwrap().last().map(String::as_str)
        );
        assert_eq!(claims[claim::TARGET_LINK_URI], TARGET);
        assert_eq!(outcome.claims(), claims);
    }
}

#[tokio::test]
async fn launch_tampering_reaches_the_tool() {
    let (platform, tool) = platform_and_tool().await;

    let outcome = platform
        .launch(
            &tool.login_url(),
            TARGET,
            LaunchSpec::student()
                .response_state("forged")
                .without_kid()
                .remove(claim::ROLES),
        )
        .await;
    let echoed = outcome.expect_launch().json();
    let sent_state = &outcome.auth_request_params.as_ref().unwrap()["state"];
    assert_eq!(echoed["state"], "forged");
    assert_ne!(sent_state, "forged");
    assert_eq!(echoed["cookie"], format!("lti_state={sent_state}"));
    let token = echoed["id_token"].as_str().unwrap();
    assert!(decode_unverified(token).0.get("kid").is_none());
    assert!(decode_unverified(token).1.get(claim::ROLES).is_none());

    let outcome = platform
        .launch(
            &tool.login_url(),
            TARGET,
            LaunchSpec::student().raw_id_token("not-a-jwt"),
        )
        .await;
    assert_eq!(outcome.expect_launch().json()["id_token"], "not-a-jwt");

    let outcome = platform
        .launch(
            &tool.login_url(),
            TARGET,
            LaunchSpec::student().auth_error("login_required", "no session"),
        )
        .await;
    assert!(outcome.id_token.is_none());
    assert_eq!(outcome.expect_launch().json()["error"], "login_required");
}

#[tokio::test]
async fn launch_cookie_modes() {
    let (platform, tool) = platform_and_tool().await;

    // reqwest's jar treats loopback as a secure origin, so it sends the Secure cookie too.
    let outcome = platform
        .launch(
            &tool.login_url(),
            TARGET,
            LaunchSpec::student().cookie_mode(CookieMode::Jar),
        )
        .await;
    let sent_state = &outcome.auth_request_params.as_ref().unwrap()["state"];
    assert_eq!(
        outcome.expect_launch().json()["cookie"],
        format!("lti_state={sent_state}")
    );
    assert!(outcome.launch_cookie.is_none());

    let outcome = platform
        .launch(
            &tool.login_url(),
            TARGET,
            LaunchSpec::student().cookie_mode(CookieMode::Omit),
        )
        .await;
    assert_eq!(outcome.expect_launch().json()["cookie"], Value::Null);
    assert!(outcome.launch_cookie.is_none());
}

#[tokio::test]
async fn launch_stops_where_the_tool_refuses() {
    let (platform, tool) = platform_and_tool().await;
    let outcome = platform
        .launch(
            &tool.login_url(),
            TARGET,
            LaunchSpec::student().login_param("iss", "https://other.test"),
        )
        .await;
    assert_eq!(outcome.login_response.status, 400);
    assert!(outcome.auth_request_params.is_none());
    assert!(outcome.launch_response.is_none());
    assert_eq!(platform.auth_request_count(), 0);
}

fn base64_url(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[tokio::test]
async fn launch_as_a_second_registration_and_with_a_wrong_login_hint() {
    let platform = FakePlatform::builder()
        .additional_client_id("second-client")
        .start()
        .await;
    let tool = start_stub_tool(platform.auth_url(), platform.issuer().to_owned()).await;
    platform.add_redirect_uri(tool.launch_url());

    let outcome = platform
        .launch(
            &tool.login_url(),
            TARGET,
            LaunchSpec::student()
                .client_id("second-client")
                .deployment_id("deployment-2"),
        )
        .await;
    let claims = outcome.claims();
    assert_eq!(claims["aud"], "second-client");
    assert_eq!(claims["azp"], "second-client");
    assert_eq!(claims[claim::DEPLOYMENT_ID], "deployment-2");

    // The tool is told a login_hint other than the one the platform expects back.
    let outcome = platform
        .launch(
            &tool.login_url(),
            TARGET,
            LaunchSpec::student().login_param("login_hint", "someone-else"),
        )
        .await;
    assert!(outcome.id_token.is_none());
    assert_eq!(outcome.expect_launch().json()["error"], "login_required");
}
