//! The score API handler, fed recorded Lambda function-URL events, over the embedded store.
//! Deliveries go to a closed loopback port, so every accepted score stays pending: these tests
//! are about what the API accepts and refuses. (Delivery to a live platform is tested in
//! `tests/tests/outcomes_flow.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;

use lambda_http::Body;
use lti_shared::adapters::ags_client::AgsClient;
use lti_shared::adapters::basic_outcomes::OutcomesClient;
use lti_shared::adapters::grade_services::GradeServices;
use lti_shared::adapters::http_client::OutboundPolicy;
use lti_shared::adapters::keystore::file::FileKeyStore;
use lti_shared::adapters::queue_polled::PolledStore;
use lti_shared::adapters::store::embedded::EmbeddedStore;
use lti_shared::app::delivery::{Deliverer, DelivererParts, DeliveryPolicy};
use lti_shared::domain::clock::{Clock, FixedClock};
use lti_shared::domain::ids::{
    AttemptId, ClientId, ConsumerKey, DeploymentId, Issuer, LineItemUrl, ResourceLinkId, UserId,
};
use lti_shared::domain::keys::KeySet;
use lti_shared::domain::model::{
    AgsEndpoint, Attempt, AttemptKey, BasicOutcome, GradingSettings, PlatformScope, ResourceLink,
};
use lti_shared::domain::roles::Roles;
use lti_shared::domain::tool::ToolUrls;
use lti_shared::lti13::ags::{SCOPE_LINEITEM, SCOPE_SCORE};
use lti_shared::lti13::session::{self, SESSION_LIFETIME, SessionClaims};
use lti_shared::ports::{KeyStore, LaunchRecords, Outbox, PlatformRegistry};
use outcomes::Outcomes;
use serde_json::{Value, json};
use time::macros::datetime;

const NOW: time::OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);
const TOOL: &str = "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws";
/// Nothing listens here: deliveries fail fast and stay pending.
const DEAD_PLATFORM: &str = "http://127.0.0.1:9";

struct Rig {
    _dir: tempfile::TempDir,
    handler: Outcomes,
    store: Arc<EmbeddedStore>,
    keys: KeySet,
    clock: Arc<FixedClock>,
}

fn scope13() -> PlatformScope {
    PlatformScope::lti13(
        Issuer::parse("https://platform.example").unwrap(),
        ClientId::parse("client-1").unwrap(),
        DeploymentId::parse("d").unwrap(),
    )
}

fn key(scope: &PlatformScope, user: &str, attempt: &str) -> AttemptKey {
    AttemptKey {
        scope: scope.clone(),
        resource_link_id: ResourceLinkId::parse("link-1").unwrap(),
        user_id: UserId::parse(user).unwrap(),
        attempt_id: AttemptId::parse(attempt).unwrap(),
    }
}

async fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let key_store = Arc::new(FileKeyStore::open(dir.path()).unwrap());
    let mut keys = KeySet::default();
    keys.init(NOW).unwrap();
    key_store.save_signing_keys(&keys).await.unwrap();
    let clock = Arc::new(FixedClock::new(NOW));
    let deliverer = Arc::new(Deliverer::new(DelivererParts {
        registry: store.clone(),
        records: store.clone(),
        outbox: store.clone(),
        keys: key_store.clone(),
        services: Arc::new(GradeServices::new(
            // Platforms here listen on loopback over http: the local-run outbound policy.
            Arc::new(
                AgsClient::with_policy(
                    store.clone(),
                    clock.clone(),
                    lti_shared::lti13::ags::REQUEST_TIMEOUT,
                    OutboundPolicy::local(),
                )
                .unwrap(),
            ),
            Arc::new(
                OutcomesClient::with_policy(
                    clock.clone(),
                    lti_shared::lti11::pox::REQUEST_TIMEOUT,
                    OutboundPolicy::local(),
                )
                .unwrap(),
            ),
        )),
        queue: Arc::new(PolledStore),
        clock: clock.clone(),
        policy: DeliveryPolicy::default(),
    }));
    let handler = Outcomes::new(
        deliverer,
        store.clone(),
        key_store,
        clock.clone(),
        ToolUrls::new(&url::Url::parse(TOOL).unwrap()),
    );
    let rig = Rig {
        _dir: dir,
        handler,
        store,
        keys,
        clock,
    };
    rig.store
        .add_platform(&lti_shared::domain::model::Registration {
            issuer: Issuer::parse("https://platform.example").unwrap(),
            client_id: ClientId::parse("client-1").unwrap(),
            deployment_ids: [DeploymentId::parse("d").unwrap()].into(),
            auth_url: url::Url::parse("https://platform.example/auth").unwrap(),
            token_url: url::Url::parse(&format!("{DEAD_PLATFORM}/token")).unwrap(),
            jwks_url: url::Url::parse("https://platform.example/jwks").unwrap(),
            name: None,
            status: lti_shared::domain::model::Status::Active,
            options: Default::default(),
            created_at: NOW,
        })
        .await
        .unwrap();
    for (scope, ags) in [
        (scope13(), true),
        (
            PlatformScope::Lti11 {
                consumer_key: ConsumerKey::parse("consumer").unwrap(),
            },
            false,
        ),
    ] {
        rig.store
            .put_resource_link(&ResourceLink {
                scope: scope.clone(),
                resource_link_id: ResourceLinkId::parse("link-1").unwrap(),
                context_id: None,
                title: Some("Quiz".into()),
                description: None,
                ags: ags.then(|| AgsEndpoint {
                    scopes: vec![SCOPE_SCORE.into(), SCOPE_LINEITEM.into()],
                    lineitems: Some(format!("{DEAD_PLATFORM}/lineitems")),
                    lineitem: Some(
                        LineItemUrl::parse(format!("{DEAD_PLATFORM}/lineitems/1")).unwrap(),
                    ),
                }),
                lti11: None,
                grading: GradingSettings::default(),
                updated_at: NOW,
            })
            .await
            .unwrap();
        for (user, attempt) in [("alice", "000001"), ("bob", "000001")] {
            rig.store
                .create_attempt(&Attempt {
                    key: key(&scope, user, attempt),
                    context_id: None,
                    started_at: NOW,
                    last_activity_at: NOW,
                    roles: Roles::default(),
                    basic_outcome: (!ags).then(|| BasicOutcome {
                        service_url: format!("{DEAD_PLATFORM}/outcomes"),
                        sourcedid: format!("{user}-sourcedid"),
                    }),
                    score: None,
                    closed_at: None,
                })
                .await
                .unwrap();
        }
    }
    rig
}

impl Rig {
    fn token_for(&self, scope: &PlatformScope, user: Option<&str>, aud: &str) -> String {
        let now = self.clock.now();
        session::issue(
            &self.keys,
            &SessionClaims {
                iss: TOOL.into(),
                aud: aud.into(),
                iat: now.unix_timestamp(),
                exp: (now + SESSION_LIFETIME).unix_timestamp(),
                jti: "j".into(),
                platform: scope.clone(),
                deployment_id: Some(DeploymentId::parse("d").unwrap()),
                user_id: user.map(|u| UserId::parse(u).unwrap()),
                resource_link_id: ResourceLinkId::parse("link-1").unwrap(),
                context_id: None,
                attempt_id: user.map(|_| AttemptId::parse("000001").unwrap()),
                roles: Roles::default(),
            },
        )
        .unwrap()
    }

    fn token(&self, user: &str) -> String {
        self.token_for(&scope13(), Some(user), TOOL)
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> (u16, Value) {
        let file = format!(
            "{}/tests/data/post-outcomes.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut event: Value =
            serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        event["requestContext"]["http"]["method"] = method.into();
        event["rawPath"] = path.into();
        event["requestContext"]["http"]["path"] = path.into();
        event["body"] = body.into();
        if let Some(token) = token {
            event["headers"]["authorization"] = format!("Bearer {token}").into();
        }
        let req = lambda_http::request::from_str(&event.to_string()).unwrap();
        let response = self.handler.handle(req).await;
        let status = response.status().as_u16();
        let body = match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        (status, body)
    }

    async fn post(&self, token: Option<&str>, body: &str) -> (u16, Value) {
        self.call("POST", "/outcomes", token, body).await
    }
}

#[tokio::test]
async fn post_valid_score_is_recorded_with_a_pending_delivery() {
    let rig = rig().await;
    let (status, body) = rig
        .post(
            Some(&rig.token("alice")),
            r#"{"scoreGiven":7,"scoreMaximum":10,"comment":"well done"}"#,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["scoreGiven"], 7.0);
    let id = lti_shared::domain::ids::DeliveryId::parse(body["id"].as_str().unwrap()).unwrap();
    let delivery = rig.store.delivery(&id).await.unwrap().unwrap();
    assert_eq!(delivery.tries, 1, "delivery was tried at once");
    assert!(delivery.last_error.is_some());
    let attempt = rig
        .store
        .attempt(&key(&scope13(), "alice", "000001"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(attempt.score.unwrap().comment.as_deref(), Some("well done"));
}

#[tokio::test]
async fn post_from_another_activity_origin_is_accepted() {
    let rig = rig().await;
    let token = rig.token_for(&scope13(), Some("alice"), "https://activity.example");
    let (status, _) = rig
        .post(Some(&token), r#"{"scoreGiven":1,"scoreMaximum":2}"#)
        .await;
    assert_eq!(status, 202);
}

#[tokio::test]
async fn post_score_refusals_name_the_field_and_store_nothing() {
    let rig = rig().await;
    let token = rig.token("alice");
    for (body, field) in [
        (r#"{"scoreGiven":-1,"scoreMaximum":10}"#, "scoreGiven"),
        (r#"{"scoreGiven":11,"scoreMaximum":10}"#, "scoreGiven"),
        (r#"{"scoreGiven":0,"scoreMaximum":0}"#, "scoreMaximum"),
        (r#"{"scoreMaximum":10}"#, "scoreGiven"),
        (
            r#"{"scoreGiven":1,"scoreMaximum":10,"activityProgress":"Finished"}"#,
            "activityProgress",
        ),
        (
            r#"{"scoreGiven":1,"scoreMaximum":10,"gradingProgress":"Done"}"#,
            "gradingProgress",
        ),
    ] {
        let (status, answer) = rig.post(Some(&token), body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"], "invalid_score", "{body}");
        assert_eq!(answer["field"], field, "{body}");
    }
    let (status, answer) = rig
        .post(
            Some(&token),
            r#"{"scoreGiven":1,"scoreMaximum":10,"grade":1}"#,
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"], "invalid_json");
    assert!(answer["message"].as_str().unwrap().contains("grade"));
    let pending = rig
        .store
        .deliveries_with_status(lti_shared::domain::outbox::DeliveryStatus::Pending, 10)
        .await
        .unwrap();
    assert!(pending.is_empty(), "a refused score left a delivery");
    let attempt = rig
        .store
        .attempt(&key(&scope13(), "alice", "000001"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(attempt.score, None);
}

#[tokio::test]
async fn post_above_maximum_with_extra_credit_is_accepted() {
    let rig = rig().await;
    let mut link = rig
        .store
        .resource_link(&scope13(), &ResourceLinkId::parse("link-1").unwrap())
        .await
        .unwrap()
        .unwrap();
    link.grading.extra_credit = true;
    rig.store.put_resource_link(&link).await.unwrap();
    let (status, _) = rig
        .post(
            Some(&rig.token("alice")),
            r#"{"scoreGiven":11,"scoreMaximum":10}"#,
        )
        .await;
    assert_eq!(status, 202);
}

#[tokio::test]
async fn post_without_token_is_401() {
    let rig = rig().await;
    let (status, body) = rig.post(None, r#"{"scoreGiven":1,"scoreMaximum":2}"#).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "missing_token");
}

#[tokio::test]
async fn post_with_expired_token_is_401() {
    let rig = rig().await;
    let token = rig.token("alice");
    rig.clock
        .advance(SESSION_LIFETIME + time::Duration::seconds(1));
    let (status, body) = rig
        .post(Some(&token), r#"{"scoreGiven":1,"scoreMaximum":2}"#)
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "session_expired");
}

#[tokio::test]
async fn post_with_token_signed_by_another_key_is_401() {
    let rig = rig().await;
    let mut other = KeySet::default();
    other.init(NOW).unwrap();
    let forged = session::issue(
        &other,
        &session::verify(&rig.token("alice"), &rig.keys, TOOL, TOOL, NOW).unwrap(),
    )
    .unwrap();
    let (status, body) = rig
        .post(Some(&forged), r#"{"scoreGiven":1,"scoreMaximum":2}"#)
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_token");
}

#[tokio::test]
async fn post_naming_another_attempt_is_403() {
    let rig = rig().await;
    let (status, body) = rig
        .post(
            Some(&rig.token("alice")),
            r#"{"scoreGiven":1,"scoreMaximum":2,"attemptId":"000002"}"#,
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(body["field"], "attemptId");
    let (status, _) = rig
        .post(
            Some(&rig.token("alice")),
            r#"{"scoreGiven":1,"scoreMaximum":2,"attemptId":"000001"}"#,
        )
        .await;
    assert_eq!(status, 202);
}

#[tokio::test]
async fn post_anonymous_session_is_403() {
    let rig = rig().await;
    let token = rig.token_for(&scope13(), None, TOOL);
    let (status, body) = rig
        .post(Some(&token), r#"{"scoreGiven":1,"scoreMaximum":2}"#)
        .await;
    assert_eq!(status, 403);
    assert_eq!(body["error"], "anonymous_launch");
}

#[tokio::test]
async fn post_without_grade_passback_is_422() {
    let rig = rig().await;
    let mut link = rig
        .store
        .resource_link(&scope13(), &ResourceLinkId::parse("link-1").unwrap())
        .await
        .unwrap()
        .unwrap();
    link.ags = None;
    rig.store.put_resource_link(&link).await.unwrap();
    let (status, body) = rig
        .post(
            Some(&rig.token("alice")),
            r#"{"scoreGiven":1,"scoreMaximum":2}"#,
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"], "no_grade_passback");
}

#[tokio::test]
async fn post_lti11_attempt_is_recorded_for_basic_outcomes() {
    let rig = rig().await;
    let scope = PlatformScope::Lti11 {
        consumer_key: ConsumerKey::parse("consumer").unwrap(),
    };
    let token = rig.token_for(&scope, Some("bob"), TOOL);
    let (status, body) = rig
        .post(Some(&token), r#"{"scoreGiven":3,"scoreMaximum":4}"#)
        .await;
    assert_eq!(status, 202, "{body}");
    let id = lti_shared::domain::ids::DeliveryId::parse(body["id"].as_str().unwrap()).unwrap();
    let delivery = rig.store.delivery(&id).await.unwrap().unwrap();
    assert!(matches!(
        delivery.target,
        lti_shared::domain::outbox::DeliveryTarget::BasicOutcome(_)
    ));
}

#[tokio::test]
async fn get_own_delivery_shows_status_and_another_learners_is_404() {
    let rig = rig().await;
    let (_, body) = rig
        .post(
            Some(&rig.token("alice")),
            r#"{"scoreGiven":5,"scoreMaximum":10}"#,
        )
        .await;
    let path = format!("/outcomes/{}", body["id"].as_str().unwrap());
    let (status, mine) = rig.call("GET", &path, Some(&rig.token("alice")), "").await;
    assert_eq!(status, 200);
    assert_eq!(mine["status"], "pending");
    assert_eq!(mine["tries"], 1);
    assert!(
        mine["last_error"]
            .as_str()
            .unwrap()
            .contains("could not reach")
    );
    let (status, theirs) = rig.call("GET", &path, Some(&rig.token("bob")), "").await;
    assert_eq!(status, 404, "{theirs}");
    let (status, _) = rig
        .call("GET", "/outcomes/not-an-id", Some(&rig.token("alice")), "")
        .await;
    assert_eq!(status, 404);
    let (status, _) = rig.call("GET", &path, None, "").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn scores_in_one_millisecond_get_strictly_increasing_timestamps() {
    let rig = rig().await;
    let token = rig.token("alice");
    let mut stamps = Vec::new();
    for given in 1..=3 {
        let (status, body) = rig
            .post(
                Some(&token),
                &json!({"scoreGiven": given, "scoreMaximum": 10}).to_string(),
            )
            .await;
        assert_eq!(status, 202);
        stamps.push(body["timestamp"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        stamps,
        vec![
            "2026-03-01T12:00:00.000Z",
            "2026-03-01T12:00:00.001Z",
            "2026-03-01T12:00:00.002Z"
        ]
    );
}

#[tokio::test]
async fn best_policy_sends_the_best_score_of_the_learner() {
    let rig = rig().await;
    let scope = scope13();
    let mut link = rig
        .store
        .resource_link(&scope, &ResourceLinkId::parse("link-1").unwrap())
        .await
        .unwrap()
        .unwrap();
    link.grading.passback = lti_shared::domain::model::PassbackPolicy::Best;
    rig.store.put_resource_link(&link).await.unwrap();
    // A second attempt of alice with a better score already recorded.
    let mut second = rig
        .store
        .attempt(&key(&scope, "alice", "000001"))
        .await
        .unwrap()
        .unwrap();
    second.key.attempt_id = AttemptId::parse("000002").unwrap();
    second.score = Some(lti_shared::domain::score::Score {
        given: 9.0,
        maximum: 10.0,
        activity_progress: lti_shared::domain::score::ActivityProgress::Completed,
        grading_progress: lti_shared::domain::score::GradingProgress::FullyGraded,
        comment: None,
        timestamp: NOW - time::Duration::hours(1),
    });
    rig.store.create_attempt(&second).await.unwrap();
    let (_, body) = rig
        .post(
            Some(&rig.token("alice")),
            r#"{"scoreGiven":4,"scoreMaximum":10}"#,
        )
        .await;
    assert_eq!(body["scoreGiven"], 9.0, "best policy sends the best score");
    link.grading.passback = lti_shared::domain::model::PassbackPolicy::Latest;
    rig.store.put_resource_link(&link).await.unwrap();
    rig.clock.advance(time::Duration::seconds(1));
    let (_, body) = rig
        .post(
            Some(&rig.token("alice")),
            r#"{"scoreGiven":3,"scoreMaximum":10}"#,
        )
        .await;
    assert_eq!(
        body["scoreGiven"], 3.0,
        "latest policy sends the latest score"
    );
}

#[tokio::test]
async fn options_preflight_allows_cross_origin_bearer_calls() {
    let rig = rig().await;
    let file = format!(
        "{}/tests/data/post-outcomes.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    event["requestContext"]["http"]["method"] = "OPTIONS".into();
    event["body"] = "".into();
    let response = rig
        .handler
        .handle(lambda_http::request::from_str(&event.to_string()).unwrap())
        .await;
    assert_eq!(response.status(), 204);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert!(
        response.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
}

#[tokio::test]
async fn queue_batch_with_unknown_and_garbage_messages_reports_no_failure() {
    let rig = rig().await;
    let event: outcomes::SqsEvent = serde_json::from_value(json!({"Records": [
        {"messageId": "m1", "body": "{\"delivery_id\": \"unknown\"}", "eventSource": "aws:sqs"},
        {"messageId": "m2", "body": "garbage", "eventSource": "aws:sqs"}
    ]}))
    .unwrap();
    let response = rig.handler.handle_queue(event).await;
    assert!(response.batch_item_failures.is_empty());
}
