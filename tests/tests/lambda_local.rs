//! One complete LTI 1.3 launch and one grade through the real Lambda binaries, run by
//! `cargo lambda watch` (the Lambda Runtime API emulator) on their DynamoDB, Secrets Manager
//! and SQS adapters against moto. `infra/lambda-local.sh` starts moto and the emulator and runs
//! this test; it is `#[ignore]`d because it needs both running:
//!
//! ```sh
//! ./infra/lambda-local.sh            # or, with both already running:
//! LAMBDA_LOCAL_URL=http://127.0.0.1:9000 AWS_ENDPOINT_URL=http://127.0.0.1:5000 \
//!   LTI_TABLE=lti-local LTI_SECRET_ID=lti-local \
//!   cargo nextest run -p lti-tests --test lambda_local --run-ignored only
//! ```
//!
//! The fake platform and the AGS platform run in this test process on loopback; the emulator
//! routes `/login`, `/launch`, `/activity`, `/jwks`, `/.well-known/jwks.json` and `/outcomes`
//! to the functions (`[workspace.metadata.lambda.watch.router]` in the root `Cargo.toml`), the
//! same paths `ltictl serve` answers on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::Duration;

use lti_shared::adapters::keystore::secrets_manager::SecretsManagerKeyStore;
use lti_shared::adapters::store::dynamo::DynamoStore;
use lti_shared::domain::keys::KeySet;
use lti_shared::ports::{KeyStore, PlatformRegistry as _};
use lti_tests::ags::{AGS_SCOPES, AgsConfig, AgsPlatform};
use lti_tests::platform::{FakePlatform, LaunchSpec, auto_submit_form};
use serde_json::{Value, json};

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run ./infra/lambda-local.sh (see this file's header)")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs cargo lambda watch and moto: run ./infra/lambda-local.sh"]
async fn lambda_binaries_launch_and_grade_against_moto() {
    let base = var("LAMBDA_LOCAL_URL").trim_end_matches('/').to_owned();
    let url = |path: &str| format!("{base}{path}");
    var("AWS_ENDPOINT_URL");
    let config = lti_shared::compose::config::aws_sdk_config().await;
    let store = DynamoStore::from_config(&config, var("LTI_TABLE"));
    let keys =
        SecretsManagerKeyStore::from_config(&config, var("LTI_SECRET_ID"), Duration::from_secs(0));
    if keys.signing_keys().await.unwrap().keys.is_empty() {
        let mut set = KeySet::default();
        set.init(time::OffsetDateTime::now_utc()).unwrap();
        keys.save_signing_keys(&set).await.unwrap();
    }

    // The jwks function publishes the keys the launch and outcomes functions sign with.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let jwks: Value = http
        .get(url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        jwks["keys"].as_array().is_some_and(|k| k.len() >= 2),
        "{jwks}"
    );

    // A platform with grade passback: its token endpoint checks the tool's client assertion
    // against the jwks function.
    let platform = FakePlatform::start().await;
    let ags =
        AgsPlatform::start(AgsConfig::new(platform.client_id()).with_jwks_url(url("/jwks"))).await;
    let mut registration = platform.registration(platform.client_id());
    registration.token_url = url::Url::parse(&ags.token_url()).unwrap();
    store.add_platform(&registration).await.unwrap();
    platform.add_redirect_uri(url("/launch"));
    let lineitem = ags.add_line_item(
        "course-1",
        json!({"label": "Quiz", "scoreMaximum": 10, "resourceLinkId": "link-1"}),
    );
    let spec = LaunchSpec::student().resource_link_id("link-1").set(
        "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint",
        json!({
            "scope": AGS_SCOPES,
            "lineitems": ags.line_items_url("course-1"),
            "lineitem": lineitem,
        }),
    );

    // Login (login function) → the platform's auth → launch (launch function).
    let outcome = platform.launch(&url("/login"), &url("/launch"), spec).await;
    assert_eq!(
        outcome.login_response.status, 302,
        "{:?}",
        outcome.login_response
    );
    let launch = outcome.expect_launch();
    assert_eq!(launch.status, 200, "{}", launch.body);
    let (action, fields) = auto_submit_form(&launch.body).expect("the hand-off form");
    assert_eq!(action, url("/activity"));
    let session = &fields.iter().find(|(n, _)| n == "lti_session").unwrap().1;
    let sub = outcome.claims()["sub"].as_str().unwrap().to_owned();

    // The demo activity (launch function) accepts the session.
    let activity = http
        .post(url("/activity"))
        .form(&[("lti_session", session.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(activity.status(), 200);

    // One grade through the outcomes function, delivered to the platform at once.
    let response = http
        .post(url("/outcomes"))
        .bearer_auth(session)
        .json(&json!({"scoreGiven": 7, "scoreMaximum": 10, "comment": "via Lambda"}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["status"], "delivered", "{answer}");
    let id = answer["id"].as_str().unwrap();
    let shown: Value = http
        .get(url(&format!("/outcomes/{id}")))
        .bearer_auth(session)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["status"], "delivered", "{shown}");

    let received = ags.scores_for(&lineitem, &sub);
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].score_given, Some(7.0));
    assert_eq!(received[0].comment.as_deref(), Some("via Lambda"));
    assert!(ags.refusals().is_empty(), "{:?}", ags.refusals());
}
