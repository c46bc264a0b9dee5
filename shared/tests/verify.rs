//! The launch verifier, rule by rule: each test sends one bad launch and asserts the exact
//! [`LaunchError`] variant, beside `valid_launch_passes` which sends the good one. The platform's
//! key set is pre-seeded in the store (no HTTP), the clock is fixed, the store is the embedded
//! one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeSet;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lti_shared::adapters::jwks_client::{KeyCachePolicy, PlatformKeys};
use lti_shared::adapters::store::embedded::EmbeddedStore;
use lti_shared::domain::clock::FixedClock;
use lti_shared::domain::ids::{ClientId, DeploymentId, Issuer, TargetLinkUri};
use lti_shared::domain::keys::{KeyStatus, SigningKey};
use lti_shared::domain::model::{PlatformOptions, Registration, Status};
use lti_shared::domain::oidc::Nonce;
use lti_shared::domain::platform_key::KeyLookupError;
use lti_shared::lti13::claims::MessageType;
use lti_shared::lti13::launch::{
    BrowserBinding, LaunchError, LaunchInput, VerifiedLaunch, Verifier, VerifyPolicy,
};
use lti_shared::lti13::login::IssuedLogin;
use lti_shared::ports::{ExpiringItems, ItemKind, PlatformRegistry};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;
use url::Url;

const NOW: OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);
const ISS: &str = "https://lms.example";
const CLIENT: &str = "client-1";
const DEPLOYMENT: &str = "dep-1";
const TARGET: &str = "https://tool.example/launch";
const JWKS: &str = "https://lms.example/jwks";
const STATE: &str = "state-abcdefghijklmnopqrstuvwxyz";
const NONCE: &str = "nonce-abcdefghijklmnopqrstuvwxyz";

struct Rig {
    _dir: tempfile::TempDir,
    store: Arc<EmbeddedStore>,
    key: SigningKey,
    verifier: Verifier,
}

async fn rig_with(options: PlatformOptions, status: Status) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    store
        .add_platform(&Registration {
            issuer: Issuer::parse(ISS).unwrap(),
            client_id: ClientId::parse(CLIENT).unwrap(),
            deployment_ids: BTreeSet::from([DeploymentId::parse(DEPLOYMENT).unwrap()]),
            auth_url: Url::parse("https://lms.example/auth").unwrap(),
            token_url: Url::parse("https://lms.example/token").unwrap(),
            jwks_url: Url::parse(JWKS).unwrap(),
            name: None,
            status,
            options,
            created_at: NOW,
        })
        .await
        .unwrap();
    let key = SigningKey::generate(KeyStatus::Current, NOW).unwrap();
    // Seed the platform key cache as if the JWKS had just been fetched.
    let seeded = json!({"fetched_at": "2026-03-01T12:00:00Z", "keys": [key.public_jwk()]});
    store
        .put_item(
            ItemKind::PlatformKeys,
            JWKS,
            &seeded.to_string(),
            NOW + time::Duration::hours(24),
        )
        .await
        .unwrap();
    let issued = IssuedLogin {
        issuer: Issuer::parse(ISS).unwrap(),
        client_id: ClientId::parse(CLIENT).unwrap(),
        target_link_uri: TargetLinkUri::parse(TARGET).unwrap(),
        nonce: Nonce::parse(NONCE).unwrap(),
        login_hint: "hint".into(),
        message_hint: None,
        deployment_id: None,
        storage_target: None,
    };
    store
        .put_item(
            ItemKind::LoginState,
            STATE,
            &serde_json::to_string(&issued).unwrap(),
            NOW + time::Duration::minutes(10),
        )
        .await
        .unwrap();
    let verifier = Verifier::new(
        store.clone(),
        store.clone(),
        Arc::new(PlatformKeys::new(store.clone(), KeyCachePolicy::default())),
        Arc::new(FixedClock::new(NOW)),
    );
    Rig {
        _dir: dir,
        store,
        key,
        verifier,
    }
}

async fn rig() -> Rig {
    rig_with(PlatformOptions::default(), Status::Active).await
}

fn claims() -> Value {
    let now = NOW.unix_timestamp();
    json!({
        "iss": ISS, "aud": CLIENT, "sub": "user-1", "nonce": NONCE,
        "iat": now - 5, "exp": now + 60,
        "https://purl.imsglobal.org/spec/lti/claim/deployment_id": DEPLOYMENT,
        "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiResourceLinkRequest",
        "https://purl.imsglobal.org/spec/lti/claim/version": "1.3.0",
        "https://purl.imsglobal.org/spec/lti/claim/target_link_uri": TARGET,
        "https://purl.imsglobal.org/spec/lti/claim/roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
        "https://purl.imsglobal.org/spec/lti/claim/resource_link": {"id": "rl-1"},
    })
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn sign_with(key: &SigningKey, header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let signature = key.sign_rs256(input.as_bytes()).unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

impl Rig {
    fn header(&self) -> Value {
        json!({"alg": "RS256", "typ": "JWT", "kid": self.key.kid})
    }

    fn sign(&self, claims: &Value) -> String {
        sign_with(&self.key, &self.header(), claims)
    }

    async fn verify_token(&self, token: &str) -> Result<(), LaunchError> {
        self.verify_with(token, STATE, BrowserBinding::Cookie(Some(STATE)))
            .await
    }

    async fn verify_with(
        &self,
        token: &str,
        state: &str,
        binding: BrowserBinding<'_>,
    ) -> Result<(), LaunchError> {
        let input = LaunchInput {
            id_token: token,
            state,
            binding,
        };
        self.verifier
            .verify(input, MessageType::ResourceLink)
            .await
            .map(drop)
    }

    async fn verify(&self, claims: &Value) -> Result<(), LaunchError> {
        self.verify_token(&self.sign(claims)).await
    }

    /// Verifies `claims`, signed, with the issued state bound by its cookie.
    async fn verified(&self, claims: &Value) -> Result<VerifiedLaunch, LaunchError> {
        let token = self.sign(claims);
        let input = LaunchInput {
            id_token: &token,
            state: STATE,
            binding: BrowserBinding::Cookie(Some(STATE)),
        };
        self.verifier.verify(input, MessageType::ResourceLink).await
    }
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().unwrap().remove(name);
    claims
}

const DEPLOYMENT_CLAIM: &str = "https://purl.imsglobal.org/spec/lti/claim/deployment_id";
const ROLES: &str = "https://purl.imsglobal.org/spec/lti/claim/roles";

macro_rules! refused {
    ($result:expr, $pattern:pat $(if $guard:expr)?) => {
        match $result {
            Err($pattern) $(if $guard)? => {}
            other => panic!("expected {}, got {other:?}", stringify!($pattern)),
        }
    };
}

#[tokio::test]
async fn valid_launch_passes() {
    let rig = rig().await;
    rig.verify(&claims()).await.unwrap();
}

#[tokio::test]
async fn token_oversized_is_refused_before_lookup() {
    let rig = rig().await;
    let token = "a".repeat(VerifyPolicy::default().max_token_bytes + 1);
    refused!(
        rig.verify_token(&token).await,
        LaunchError::TokenTooLarge(_)
    );
}

#[tokio::test]
async fn token_malformed_is_refused() {
    let rig = rig().await;
    refused!(
        rig.verify_token("abc").await,
        LaunchError::MalformedToken(_)
    );
    refused!(
        rig.verify_token("a.b.c.d").await,
        LaunchError::MalformedToken(_)
    );
    refused!(rig.verify_token("").await, LaunchError::MissingToken);
}

#[tokio::test]
async fn issuer_unknown_is_refused() {
    let rig = rig().await;
    refused!(
        rig.verify(&with(claims(), "iss", json!("https://other.example")))
            .await,
        LaunchError::UnknownIssuer(_)
    );
    // Exact comparison: a trailing slash is another issuer.
    refused!(
        rig.verify(&with(claims(), "iss", json!("https://lms.example/")))
            .await,
        LaunchError::UnknownIssuer(_)
    );
}

#[tokio::test]
async fn audience_rules_are_enforced() {
    let rig = rig().await;
    refused!(
        rig.verify(&with(claims(), "aud", json!("other-client")))
            .await,
        LaunchError::AudienceMismatch
    );
    refused!(
        rig.verify(&with(claims(), "aud", json!([CLIENT, "evil"])))
            .await,
        LaunchError::UntrustedAudience
    );
    let mut repeated = with(claims(), "aud", json!([CLIENT, CLIENT]));
    refused!(
        rig.verify(&repeated).await,
        LaunchError::MissingAuthorizedParty
    );
    repeated["azp"] = json!(CLIENT);
    rig.verify(&repeated).await.unwrap();
}

#[tokio::test]
async fn azp_other_than_client_is_refused() {
    let rig = rig().await;
    refused!(
        rig.verify(&with(claims(), "azp", json!("someone-else")))
            .await,
        LaunchError::AuthorizedPartyMismatch
    );
}

#[tokio::test]
async fn deployment_missing_or_unknown_is_refused() {
    let rig = rig().await;
    refused!(
        rig.verify(&without(claims(), DEPLOYMENT_CLAIM)).await,
        LaunchError::MissingDeployment
    );
    refused!(
        rig.verify(&with(claims(), DEPLOYMENT_CLAIM, json!("dep-9")))
            .await,
        LaunchError::UnknownDeployment(_)
    );
}

#[tokio::test]
async fn disabled_platform_is_refused() {
    let rig = rig_with(PlatformOptions::default(), Status::Disabled).await;
    refused!(rig.verify(&claims()).await, LaunchError::PlatformDisabled);
}

#[tokio::test]
async fn pending_platform_is_refused_until_approved() {
    let rig = rig_with(PlatformOptions::default(), Status::Pending).await;
    refused!(rig.verify(&claims()).await, LaunchError::PlatformPending);
}

#[tokio::test]
async fn algorithm_other_than_rs256_is_refused() {
    let rig = rig().await;
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "kid": rig.key.kid})),
        b64(&claims())
    );
    refused!(rig.verify_token(&none).await, LaunchError::UnsupportedAlgorithm(a) if a == "none");
    let hs = sign_with(
        &rig.key,
        &json!({"alg": "HS256", "kid": rig.key.kid}),
        &claims(),
    );
    refused!(rig.verify_token(&hs).await, LaunchError::UnsupportedAlgorithm(a) if a == "HS256");
    let missing = sign_with(&rig.key, &json!({"kid": rig.key.kid}), &claims());
    refused!(
        rig.verify_token(&missing).await,
        LaunchError::UnsupportedAlgorithm(_)
    );
}

#[tokio::test]
async fn kid_missing_or_unknown_is_refused() {
    let rig = rig().await;
    let no_kid = sign_with(&rig.key, &json!({"alg": "RS256"}), &claims());
    refused!(rig.verify_token(&no_kid).await, LaunchError::MissingKeyId);
    let other = sign_with(&rig.key, &json!({"alg": "RS256", "kid": "nope"}), &claims());
    // The set is fresh and was just fetched: no refetch inside the rate limit.
    refused!(
        rig.verify_token(&other).await,
        LaunchError::Key(KeyLookupError::UnknownKid(_))
    );
}

#[tokio::test]
async fn signature_of_other_key_or_tampered_payload_is_refused() {
    let rig = rig().await;
    let stranger = SigningKey::generate(KeyStatus::Current, NOW).unwrap();
    let forged = sign_with(&stranger, &rig.header(), &claims());
    refused!(rig.verify_token(&forged).await, LaunchError::BadSignature);
    let token = rig.sign(&claims());
    let parts: Vec<&str> = token.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(&with(claims(), "sub", json!("admin"))),
        parts[2]
    );
    refused!(rig.verify_token(&tampered).await, LaunchError::BadSignature);
}

#[tokio::test]
async fn time_claims_are_checked_with_leeway() {
    let rig = rig().await;
    let now = NOW.unix_timestamp();
    refused!(
        rig.verify(&with(claims(), "exp", json!(now - 61))).await,
        LaunchError::Expired
    );
    refused!(
        rig.verify(&with(claims(), "iat", json!(now + 61))).await,
        LaunchError::IssuedInFuture
    );
    refused!(
        rig.verify(&with(claims(), "nbf", json!(now + 61))).await,
        LaunchError::NotYetValid
    );
    // Inside the 60 s leeway: a 60 s token issued 90 s ago.
    rig.verify(&with(
        with(claims(), "iat", json!(now - 90)),
        "exp",
        json!(now - 30),
    ))
    .await
    .unwrap();
}

#[tokio::test]
async fn iat_after_exp_is_refused_even_inside_the_leeway() {
    let rig = rig().await;
    let now = NOW.unix_timestamp();
    // Both times inside the leeway, but the token expires before it was issued.
    let backwards = with(
        with(claims(), "iat", json!(now + 30)),
        "exp",
        json!(now + 20),
    );
    refused!(rig.verify(&backwards).await, LaunchError::IssuedAfterExpiry);
    // The same times the right way round pass.
    let forwards = with(
        with(claims(), "iat", json!(now - 20)),
        "exp",
        json!(now + 30),
    );
    rig.verify(&forwards).await.unwrap();
}

#[tokio::test]
async fn registration_leeway_is_bounded() {
    let options = PlatformOptions {
        clock_leeway_secs: Some(86_400),
        ..PlatformOptions::default()
    };
    let rig = rig_with(options, Status::Active).await;
    let now = NOW.unix_timestamp();
    // A day of leeway is capped at five minutes.
    refused!(
        rig.verify(&with(claims(), "exp", json!(now - 301))).await,
        LaunchError::Expired
    );
}

#[tokio::test]
async fn claims_of_wrong_shape_are_refused() {
    let rig = rig().await;
    refused!(
        rig.verify(&with(claims(), "exp", json!("soon"))).await,
        LaunchError::InvalidClaims(_)
    );
}

#[tokio::test]
async fn version_other_than_1_3_0_is_refused() {
    let rig = rig().await;
    let bad = with(
        claims(),
        "https://purl.imsglobal.org/spec/lti/claim/version",
        json!("1.2.0"),
    );
    refused!(rig.verify(&bad).await, LaunchError::UnsupportedVersion(_));
}

#[tokio::test]
async fn message_type_unknown_or_for_another_endpoint_is_refused() {
    let rig = rig().await;
    let key = "https://purl.imsglobal.org/spec/lti/claim/message_type";
    refused!(
        rig.verify(&with(claims(), key, json!("LtiSubmissionReviewRequest"))).await,
        LaunchError::UnsupportedMessageType(name) if name == "LtiSubmissionReviewRequest"
    );
    refused!(
        rig.verify(&with(claims(), key, json!("LtiDeepLinkingRequest")))
            .await,
        LaunchError::WrongEndpoint(_)
    );
}

#[tokio::test]
async fn required_claims_missing_are_named() {
    let rig = rig().await;
    refused!(
        rig.verify(&without(claims(), ROLES)).await,
        LaunchError::MissingClaim("roles")
    );
    rig.verify(&with(claims(), ROLES, json!([]))).await.unwrap();
}

#[tokio::test]
async fn resource_link_missing_is_named() {
    let rig = rig().await;
    refused!(
        rig.verify(&without(
            claims(),
            "https://purl.imsglobal.org/spec/lti/claim/resource_link"
        ))
        .await,
        LaunchError::MissingClaim("resource_link")
    );
}

#[tokio::test]
async fn sub_missing_is_refused_unless_anonymous_allowed() {
    let rig = rig().await;
    refused!(
        rig.verify(&without(claims(), "sub")).await,
        LaunchError::MissingClaim("sub")
    );
    let anonymous = rig_with(
        PlatformOptions {
            allow_anonymous: true,
            ..PlatformOptions::default()
        },
        Status::Active,
    )
    .await;
    anonymous.verify(&without(claims(), "sub")).await.unwrap();
}

/// The AGS claim with this `lineitem`, on the good claims.
fn with_lineitem(lineitem: &str) -> Value {
    with(
        claims(),
        "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint",
        json!({
            "scope": ["https://purl.imsglobal.org/spec/lti-ags/scope/score"],
            "lineitems": "https://lms.example/lineitems",
            "lineitem": lineitem,
        }),
    )
}

#[tokio::test]
async fn verified_launch_exposes_typed_values() {
    let rig = rig().await;
    let sent = "https://LMS.example/lineitems/7/lineitem?type_id=3";
    let launch = rig.verified(&with_lineitem(sent)).await.unwrap();
    assert_eq!(launch.target_link_uri().as_str(), TARGET);
    assert_eq!(launch.state().as_str(), STATE);
    assert!(!launch.is_anonymous());
    assert_eq!(launch.custom("absent"), None);
    // The line item is kept exactly as the platform wrote it.
    let ags = launch.facts().unwrap().link.ags.unwrap();
    assert_eq!(ags.lineitem.unwrap().as_str(), sent);
}

#[tokio::test]
async fn line_item_no_score_could_be_sent_to_is_absent() {
    let rig = rig().await;
    let launch = rig.verified(&with_lineitem("/lineitems/7")).await.unwrap();
    let ags = launch.facts().unwrap().link.ags.unwrap();
    assert_eq!(ags.lineitem, None);
    assert_eq!(
        ags.lineitems.as_deref(),
        Some("https://lms.example/lineitems")
    );
}

#[tokio::test]
async fn target_link_uri_other_than_login_is_refused() {
    let rig = rig().await;
    let key = "https://purl.imsglobal.org/spec/lti/claim/target_link_uri";
    refused!(
        rig.verify(&with(claims(), key, json!("https://tool.example/other")))
            .await,
        LaunchError::TargetLinkMismatch
    );
    // The same URL once normalized is still not the same value (LTI Core 1.3 §5.3.4).
    for spelled in [
        "https://TOOL.example/launch",
        "https://tool.example:443/launch",
    ] {
        refused!(
            rig.verify(&with(claims(), key, json!(spelled))).await,
            LaunchError::TargetLinkMismatch
        );
    }
    rig.verify(&claims()).await.unwrap();
}

#[tokio::test]
async fn state_unknown_or_unbound_is_refused() {
    let rig = rig().await;
    let token = rig.sign(&claims());
    refused!(
        rig.verify_with(
            &token,
            "unknown-state",
            BrowserBinding::Cookie(Some("unknown-state"))
        )
        .await,
        LaunchError::UnknownState
    );
    refused!(
        rig.verify_with(&token, STATE, BrowserBinding::Cookie(None))
            .await,
        LaunchError::StateMismatch
    );
    refused!(
        rig.verify_with(&token, STATE, BrowserBinding::Cookie(Some("other")))
            .await,
        LaunchError::StateMismatch
    );
    // Platform Storage was not offered at login, so it cannot stand in for the cookie.
    refused!(
        rig.verify_with(&token, STATE, BrowserBinding::PlatformStorage(STATE))
            .await,
        LaunchError::StateMismatch
    );
    // None of these refusals burned the nonce.
    rig.verify_token(&token).await.unwrap();
}

#[tokio::test]
async fn state_the_tool_never_issues_is_unknown() {
    let rig = rig().await;
    let token = rig.sign(&claims());
    // Not a state the tool could have issued (outside base64url, or too long): refused as
    // unknown, exactly like a well-formed state with no record.
    for posted in ["state with spaces".to_owned(), "s".repeat(300)] {
        refused!(
            rig.verify_with(&token, &posted, BrowserBinding::Cookie(Some(&posted)))
                .await,
            LaunchError::UnknownState
        );
    }
    refused!(
        rig.verify_with(&token, "", BrowserBinding::Cookie(None))
            .await,
        LaunchError::MissingState
    );
    rig.verify_token(&token).await.unwrap();
}

#[tokio::test]
async fn nonce_other_than_issued_is_refused() {
    let rig = rig().await;
    refused!(
        rig.verify(&with(claims(), "nonce", json!("another-nonce")))
            .await,
        LaunchError::NonceMismatch
    );
    // A nonce the tool never issues (empty, outside base64url) is a mismatch too, not a
    // payload that fails to deserialize.
    for nonce in [
        "",
        "nonce with spaces",
        "nonce-abcdefghijklmnopqrstuvwxyz.extra",
    ] {
        refused!(
            rig.verify(&with(claims(), "nonce", json!(nonce))).await,
            LaunchError::NonceMismatch
        );
    }
    // The issued one still passes.
    rig.verify(&claims()).await.unwrap();
}

#[tokio::test]
async fn replayed_token_is_refused() {
    let rig = rig().await;
    let token = rig.sign(&claims());
    rig.verify_token(&token).await.unwrap();
    // The state was removed with the nonce; the replay is still named as one.
    refused!(rig.verify_token(&token).await, LaunchError::NonceReplayed);
}

#[tokio::test]
async fn simultaneous_posts_of_one_token_give_one_launch() {
    let rig = Arc::new(rig().await);
    let token = rig.sign(&claims());
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let rig = Arc::clone(&rig);
            let token = token.clone();
            tokio::spawn(async move { rig.verify_token(&token).await })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => ok += 1,
            Err(LaunchError::NonceReplayed) => {}
            Err(other) => panic!("unexpected refusal {other:?}"),
        }
    }
    assert_eq!(ok, 1);
    assert!(
        rig.store
            .item(ItemKind::LoginState, STATE, NOW)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn custom_unexpanded_substitution_variable_is_absent() {
    let rig = rig().await;
    // Moodle 4.4's shapes: a variable it does not support arrives as its own name, another
    // arrives empty; a plain value and a Canvas-style number arrive as data.
    let launch = rig
        .verified(&with(
            claims(),
            "https://purl.imsglobal.org/spec/lti/claim/custom",
            json!({
                "resource_link_id_history": "$ResourceLink.id.history",
                "context_id_history": "",
                "chapter": "3",
                "points": 10,
                "price": "$5",
            }),
        ))
        .await
        .unwrap();
    assert_eq!(launch.custom("resource_link_id_history"), None);
    assert_eq!(launch.custom("context_id_history").as_deref(), Some(""));
    assert_eq!(launch.custom("chapter").as_deref(), Some("3"));
    assert_eq!(launch.custom("points").as_deref(), Some("10"));
    assert_eq!(launch.custom("price").as_deref(), Some("$5"));
}
