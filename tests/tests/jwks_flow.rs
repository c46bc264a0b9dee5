//! The JWKS flow across crates: `ltictl`'s local server, over a real socket, publishes keys
//! that an independent JWT library accepts for what the tool signs, and stops publishing a
//! key's private half at every step of its life.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use lti_shared::domain::keys::KeySet;
use lti_tests::tool::RunningTool;
use time::OffsetDateTime;

async fn start() -> RunningTool {
    RunningTool::start(None).await
}

/// A compact JWS signed by the tool's current key, the way client assertions will be.
fn sign_with_current(keys: &KeySet, claims: &serde_json::Value) -> String {
    let key = keys.current().unwrap();
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": key.kid});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = key.sign_rs256(input.as_bytes()).unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Verifies `token` using only the served key set, as a platform would.
fn verify_with(
    set: &JwkSet,
    token: &str,
) -> Result<serde_json::Value, jsonwebtoken::errors::Error> {
    let kid = jsonwebtoken::decode_header(token)?.kid.unwrap();
    let jwk = set.find(&kid).expect("the token's kid is published");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&["https://platform.example/token"]);
    validation.set_required_spec_claims(&["exp", "aud"]);
    jsonwebtoken::decode(token, &DecodingKey::from_jwk(jwk)?, &validation).map(|d| d.claims)
}

async fn fetch(base: &str, path: &str) -> (reqwest::StatusCode, String, JwkSet) {
    let response = reqwest::get(format!("{base}{path}")).await.unwrap();
    let status = response.status();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let set = response.json::<JwkSet>().await.unwrap();
    (status, content_type, set)
}

#[tokio::test]
async fn served_keys_verify_tool_signatures_across_a_rotation() {
    let running = start().await;
    let mut keys = KeySet::default();
    keys.init(OffsetDateTime::now_utc()).unwrap();
    running.backend.keys.save_signing_keys(&keys).await.unwrap();

    let claims = serde_json::json!({
        "iss": "client-1", "sub": "client-1", "aud": "https://platform.example/token",
        "exp": OffsetDateTime::now_utc().unix_timestamp() + 300, "jti": "j-1"
    });
    let before = sign_with_current(&keys, &claims);

    let (status, content_type, set) = fetch(&running.base, "/jwks").await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/json");
    assert_eq!(set.keys.len(), 2);
    assert_eq!(verify_with(&set, &before).unwrap()["jti"], "j-1");

    // A tampered token is refused by the same check.
    let mut parts: Vec<&str> = before.split('.').collect();
    let forged = URL_SAFE_NO_PAD.encode(
        serde_json::json!({"iss": "client-1", "aud": "https://platform.example/token",
                           "exp": claims["exp"], "jti": "forged"})
        .to_string(),
    );
    parts[1] = &forged;
    assert!(verify_with(&set, &parts.join(".")).is_err());

    // Rotate: the token signed before still verifies (retired key published), and so does
    // one signed by the new current key, which platforms already knew as "next".
    keys.rotate(OffsetDateTime::now_utc()).unwrap();
    running.backend.keys.save_signing_keys(&keys).await.unwrap();
    let after = sign_with_current(&keys, &claims);
    assert!(
        set.find(keys.current().unwrap().kid.as_str()).is_some(),
        "next was pre-published"
    );
    let (_, _, set) = fetch(&running.base, "/.well-known/jwks.json").await;
    assert_eq!(set.keys.len(), 3);
    verify_with(&set, &before).unwrap();
    verify_with(&set, &after).unwrap();
}

#[tokio::test]
async fn served_keys_have_no_private_members() {
    let running = start().await;
    let mut keys = KeySet::default();
    keys.init(OffsetDateTime::now_utc()).unwrap();
    keys.rotate(OffsetDateTime::now_utc()).unwrap();
    running.backend.keys.save_signing_keys(&keys).await.unwrap();
    let text = reqwest::get(format!("{}/jwks", running.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    for key in json["keys"].as_array().unwrap() {
        let mut members: Vec<&String> = key.as_object().unwrap().keys().collect();
        members.sort();
        assert_eq!(members, ["alg", "e", "kid", "kty", "n", "use"]);
    }
}

#[tokio::test]
async fn unknown_path_is_404_json() {
    let running = start().await;
    let response = reqwest::get(format!("{}/nothing-here", running.base))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let json: serde_json::Value = response.json().await.unwrap();
    assert_eq!(json["error"], "not_found");
}
