//! LTI 1.1 → 1.3 continuity: an LTI 1.3 launch whose `lti1p1` claim carries a valid
//! `oauth_consumer_key_sign` continues the user's LTI 1.1 records and attempts; an invalid one
//! launches normally without linking. The LTI 1.1 launch is signed by oauthlib, the LTI 1.3 one
//! by the fake platform, both through the tool's real server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use lti_shared::domain::ids::{ConsumerKey, ResourceLinkId, UserId};
use lti_shared::domain::model::PlatformScope;
use lti_shared::domain::secret::ConsumerSecret;
use lti_tests::platform::{FakePlatform, LaunchSpec, claim};
use lti_tests::tool::{RunningTool, oauthlib_sign};
use serde_json::{Value, json};

const KEY: &str = "moodle-legacy";
const SECRET: &str = "legacy-consumer-secret-0123456789";
const USER: &str = "fake-user-student-1";
const LINK11: &str = "legacy-link-9";

struct Rig {
    tool: RunningTool,
    platform: FakePlatform,
}

async fn rig() -> Rig {
    let tool = RunningTool::start(None).await;
    tool.add_consumer(KEY, SECRET).await;
    let platform = FakePlatform::builder()
        .redirect_uri(tool.url("/launch"))
        .start()
        .await;
    tool.backend
        .store
        .add_platform(&platform.registration(platform.client_id()))
        .await
        .unwrap();
    Rig { tool, platform }
}

/// An LTI 1.1 launch of `LINK11` by `USER`, signed by oauthlib.
async fn lti11_launch(rig: &Rig) {
    let params: Vec<(&str, &str)> = vec![
        ("lti_message_type", "basic-lti-launch-request"),
        ("lti_version", "LTI-1p0"),
        ("resource_link_id", LINK11),
        ("user_id", USER),
        ("roles", "Learner"),
    ];
    let signed = oauthlib_sign(&json!({"url": rig.tool.url("/launch"), "key": KEY,
                                       "secret": SECRET, "params": params}));
    let response = reqwest::Client::new()
        .post(format!("{}/launch", rig.tool.base))
        .form(&signed)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// A student launch whose `lti1p1` claim is signed with `secret` over the token's final claims.
fn migrating_launch(secret: &'static str) -> LaunchSpec {
    LaunchSpec::student().map_claims(move |claims| {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let aud = match &claims["aud"] {
            Value::Array(list) => text(&list[0]),
            other => text(other),
        };
        let signature = lti_shared::lti11::oauth1::migration_signature(
            &ConsumerSecret::new(secret),
            KEY,
            &text(&claims[claim::DEPLOYMENT_ID]),
            &text(&claims["iss"]),
            &aud,
            claims["exp"].as_i64().unwrap(),
            &text(&claims["nonce"]),
        );
        claims.insert(
            "https://purl.imsglobal.org/spec/lti/claim/lti1p1".into(),
            json!({"oauth_consumer_key": KEY, "oauth_consumer_key_sign": signature,
                   "resource_link_id": LINK11}),
        );
    })
}

fn scope13(rig: &Rig) -> PlatformScope {
    let registration = rig.platform.registration(rig.platform.client_id());
    PlatformScope::lti13(
        registration.issuer,
        registration.client_id,
        lti_shared::domain::ids::DeploymentId::parse(lti_tests::platform::DEFAULT_DEPLOYMENT_ID)
            .unwrap(),
    )
}

#[tokio::test]
async fn lti13_launch_with_valid_migration_claim_continues_lti11_attempt() {
    let rig = rig().await;
    lti11_launch(&rig).await;
    let scope11 = PlatformScope::Lti11 {
        consumer_key: ConsumerKey::parse(KEY).unwrap(),
    };
    let user = UserId::parse(USER).unwrap();
    let old = rig
        .tool
        .backend
        .store
        .attempts_of_user_on_resource_link(&scope11, &ResourceLinkId::parse(LINK11).unwrap(), &user)
        .await
        .unwrap();
    assert_eq!(old.len(), 1);

    let outcome = rig
        .platform
        .launch(
            &format!("{}/login", rig.tool.base),
            &format!("{}/launch", rig.tool.base),
            migrating_launch(SECRET),
        )
        .await;
    assert_eq!(
        outcome.expect_launch().status,
        200,
        "{}",
        outcome.expect_launch().body
    );

    let scope = scope13(&rig);
    let stored = rig
        .tool
        .backend
        .store
        .user(&scope, &user)
        .await
        .unwrap()
        .unwrap();
    let link = stored
        .lti11
        .expect("the 1.3 user is linked to the 1.1 user");
    assert_eq!((link.consumer_key.as_str(), link.id.as_str()), (KEY, USER));
    let link13 = ResourceLinkId::parse("fake-resource-link-1").unwrap();
    let resource = rig
        .tool
        .backend
        .store
        .resource_link(&scope, &link13)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resource.lti11.unwrap().id, LINK11);
    let carried = rig
        .tool
        .backend
        .store
        .attempts_of_user_on_resource_link(&scope, &link13, &user)
        .await
        .unwrap();
    assert_eq!(
        carried.len(),
        1,
        "the LTI 1.1 attempt is resumed, not a new one"
    );
    assert_eq!(carried[0].key.attempt_id, old[0].key.attempt_id);
    assert_eq!(carried[0].started_at, old[0].started_at);
}

#[tokio::test]
async fn lti13_launch_with_invalid_migration_claim_launches_without_linking() {
    let rig = rig().await;
    lti11_launch(&rig).await;
    let outcome = rig
        .platform
        .launch(
            &format!("{}/login", rig.tool.base),
            &format!("{}/launch", rig.tool.base),
            migrating_launch("not-the-consumer-secret"),
        )
        .await;
    assert_eq!(
        outcome.expect_launch().status,
        200,
        "an invalid claim does not refuse"
    );
    let scope = scope13(&rig);
    let user = UserId::parse(USER).unwrap();
    let stored = rig
        .tool
        .backend
        .store
        .user(&scope, &user)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.lti11, None);
    let link13 = ResourceLinkId::parse("fake-resource-link-1").unwrap();
    let attempts = rig
        .tool
        .backend
        .store
        .attempts_of_user_on_resource_link(&scope, &link13, &user)
        .await
        .unwrap();
    assert_eq!(attempts.len(), 1);
    assert!(attempts[0].roles.is_learner());
    // A fresh attempt, not the LTI 1.1 one: nothing was copied.
    let scope11 = PlatformScope::Lti11 {
        consumer_key: ConsumerKey::parse(KEY).unwrap(),
    };
    let old = rig
        .tool
        .backend
        .store
        .attempts_of_user_on_resource_link(&scope11, &ResourceLinkId::parse(LINK11).unwrap(), &user)
        .await
        .unwrap();
    assert_ne!(attempts[0].started_at, old[0].started_at);
}
