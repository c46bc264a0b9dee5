//! The outcomes function on its AWS adapters, against moto: DynamoDB for the outbox, Secrets
//! Manager for the keys, and SQS for retries and dead letters. The function's two entry points
//! (the score API and the queue consumer) are driven as Lambda would drive them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use lambda_http::Body;
use lti_shared::adapters::ags_client::AgsClient;
use lti_shared::adapters::basic_outcomes::OutcomesClient;
use lti_shared::adapters::grade_services::GradeServices;
use lti_shared::adapters::http_client::OutboundPolicy;
use lti_shared::adapters::keystore::secrets_manager::{self, SecretsManagerKeyStore};
use lti_shared::adapters::queue_sqs::SqsQueue;
use lti_shared::adapters::store::dynamo::{self, DynamoStore};
use lti_shared::app::delivery::{Deliverer, DelivererParts};
use lti_shared::domain::clock::SystemClock;
use lti_shared::domain::ids::{
    AttemptId, ClientId, DeliveryId, DeploymentId, Issuer, LineItemUrl, ResourceLinkId, UserId,
};
use lti_shared::domain::keys::KeySet;
use lti_shared::domain::model::{
    AgsEndpoint, Attempt, AttemptKey, GradingSettings, PlatformScope, Registration, ResourceLink,
};
use lti_shared::domain::outbox::DeliveryStatus;
use lti_shared::domain::roles::Roles;
use lti_shared::domain::tool::ToolUrls;
use lti_shared::lti13::session::{self, SESSION_LIFETIME, SessionClaims};
use lti_shared::ports::{KeyStore, LaunchRecords, Outbox, PlatformRegistry};
use lti_tests::ags::{AGS_SCOPES, AgsConfig, AgsEndpoint as Endpoint, AgsPlatform};
use lti_tests::faults::Fault;
use lti_tests::grades::{CLIENT_ID, fast_policy};
use outcomes::{Outcomes, SqsEvent};
use serde_json::{Value, json};
use time::OffsetDateTime;

const TOOL: &str = "https://tool.example";

struct Aws {
    store: Arc<DynamoStore>,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    dead_url: String,
    handler: Outcomes,
    deliverer: Arc<Deliverer>,
    keys: KeySet,
    ags: AgsPlatform,
    lineitem: String,
}

async fn aws() -> Aws {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        !endpoint.is_empty(),
        "these tests need moto: run ./infra/test.sh, or export AWS_ENDPOINT_URL"
    );
    let config = lti_shared::compose::config::aws_sdk_config().await;
    let name = format!("lti-outcomes-{}", uuid::Uuid::new_v4());
    dynamo::create_table(&aws_sdk_dynamodb::Client::new(&config), &name)
        .await
        .unwrap();
    secrets_manager::create_secret(&aws_sdk_secretsmanager::Client::new(&config), &name)
        .await
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue = |suffix: &'static str| {
        let sqs = sqs.clone();
        let name = format!("{name}-{suffix}");
        async move {
            sqs.create_queue()
                .queue_name(name)
                .send()
                .await
                .unwrap()
                .queue_url
                .unwrap()
        }
    };
    let (queue_url, dead_url) = (queue("retries").await, queue("dead").await);
    let store = Arc::new(DynamoStore::from_config(&config, &name));
    let key_store = Arc::new(SecretsManagerKeyStore::from_config(
        &config,
        &name,
        Duration::from_secs(300),
    ));
    let mut keys = KeySet::default();
    keys.init(OffsetDateTime::now_utc()).unwrap();
    key_store.save_signing_keys(&keys).await.unwrap();
    let ags = AgsPlatform::start(
        AgsConfig::new(CLIENT_ID).with_jwks(&keys.public_jwks(OffsetDateTime::now_utc())),
    )
    .await;
    let lineitem = ags.add_line_item("c", json!({"label": "Quiz", "scoreMaximum": 10}));
    let clock = Arc::new(SystemClock);
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
        queue: Arc::new(SqsQueue::from_config(
            &config,
            queue_url.clone(),
            dead_url.clone(),
        )),
        clock: clock.clone(),
        policy: lti_shared::app::delivery::DeliveryPolicy {
            max_tries: 3,
            ..fast_policy()
        },
    }));
    let handler = Outcomes::new(
        deliverer.clone(),
        store.clone(),
        key_store,
        clock,
        ToolUrls::new(&url::Url::parse(TOOL).unwrap()),
    );
    let aws = Aws {
        store,
        sqs,
        queue_url,
        dead_url,
        handler,
        deliverer,
        keys,
        ags,
        lineitem,
    };
    aws.seed().await;
    aws
}

fn scope(ags: &AgsPlatform) -> PlatformScope {
    PlatformScope::lti13(
        Issuer::parse(ags.issuer()).unwrap(),
        ClientId::parse(CLIENT_ID).unwrap(),
        DeploymentId::parse("d").unwrap(),
    )
}

impl Aws {
    async fn seed(&self) {
        let now = OffsetDateTime::now_utc();
        let url = |u: String| url::Url::parse(&u).unwrap();
        self.store
            .add_platform(&Registration {
                issuer: Issuer::parse(self.ags.issuer()).unwrap(),
                client_id: ClientId::parse(CLIENT_ID).unwrap(),
                deployment_ids: [DeploymentId::parse("d").unwrap()].into(),
                auth_url: url(format!("{}/auth", self.ags.base_url())),
                token_url: url(self.ags.token_url()),
                jwks_url: url(format!("{}/jwks", self.ags.base_url())),
                name: None,
                status: lti_shared::domain::model::Status::Active,
                options: Default::default(),
                created_at: now,
            })
            .await
            .unwrap();
        let scope = scope(&self.ags);
        self.store
            .put_resource_link(&ResourceLink {
                scope: scope.clone(),
                resource_link_id: ResourceLinkId::parse("link-1").unwrap(),
                context_id: None,
                title: Some("Quiz".into()),
                description: None,
                ags: Some(AgsEndpoint {
                    scopes: AGS_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
                    lineitems: Some(self.ags.line_items_url("c")),
                    lineitem: Some(LineItemUrl::parse(self.lineitem.as_str()).unwrap()),
                }),
                lti11: None,
                grading: GradingSettings::default(),
                updated_at: now,
            })
            .await
            .unwrap();
        self.store
            .create_attempt(&Attempt {
                key: self.key(),
                context_id: None,
                started_at: now,
                last_activity_at: now,
                roles: Roles::default(),
                basic_outcome: None,
                score: None,
                closed_at: None,
            })
            .await
            .unwrap();
    }

    fn key(&self) -> AttemptKey {
        AttemptKey {
            scope: scope(&self.ags),
            resource_link_id: ResourceLinkId::parse("link-1").unwrap(),
            user_id: UserId::parse("learner-1").unwrap(),
            attempt_id: AttemptId::parse("000001").unwrap(),
        }
    }

    fn session(&self) -> String {
        let now = OffsetDateTime::now_utc();
        let key = self.key();
        session::issue(
            &self.keys,
            &SessionClaims {
                iss: TOOL.into(),
                aud: TOOL.into(),
                iat: now.unix_timestamp(),
                exp: (now + SESSION_LIFETIME).unix_timestamp(),
                jti: "j".into(),
                deployment_id: key.scope.deployment_id().cloned(),
                platform: key.scope,
                user_id: Some(key.user_id),
                resource_link_id: key.resource_link_id,
                context_id: None,
                attempt_id: Some(key.attempt_id),
                roles: Roles::default(),
            },
        )
        .unwrap()
    }

    /// Posts a score as the function URL would hand it to the function.
    async fn post(&self, given: u32) -> Value {
        let request = http::Request::builder()
            .method("POST")
            .uri(format!("{TOOL}/outcomes"))
            .header("authorization", format!("Bearer {}", self.session()))
            .header("content-type", "application/json")
            .body(Body::Text(
                json!({"scoreGiven": given, "scoreMaximum": 10}).to_string(),
            ))
            .unwrap();
        let response = self.handler.handle(request).await;
        assert_eq!(response.status(), 202);
        match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap(),
            other => panic!("unexpected body {other:?}"),
        }
    }

    /// Receives what is on `queue` (waiting up to three seconds: retry delays are whole
    /// seconds, rounded up) and deletes it, as the Lambda event source does; returns the
    /// messages as the SQS event the function gets.
    async fn take(&self, queue: &str) -> SqsEvent {
        let output = self
            .sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(3)
            .send()
            .await
            .unwrap();
        let mut records = Vec::new();
        for message in output.messages.unwrap_or_default() {
            self.sqs
                .delete_message()
                .queue_url(queue)
                .receipt_handle(message.receipt_handle.unwrap())
                .send()
                .await
                .unwrap();
            records.push(json!({
                "messageId": message.message_id.unwrap(),
                "body": message.body.unwrap(),
                "eventSource": "aws:sqs",
            }));
        }
        serde_json::from_value(json!({ "Records": records })).unwrap()
    }

    async fn status(&self, id: &DeliveryId) -> DeliveryStatus {
        self.store.delivery(id).await.unwrap().unwrap().status
    }
}

#[tokio::test]
async fn a_score_while_the_platform_is_down_is_queued_and_delivered_from_sqs() {
    let aws = aws().await;
    aws.ags.stop().await;
    let answer = aws.post(6).await;
    assert_eq!(answer["status"], "pending");
    let id = DeliveryId::parse(answer["id"].as_str().unwrap()).unwrap();
    aws.ags.restart().await;
    let event = aws.take(&aws.queue_url).await;
    assert_eq!(event.records.len(), 1, "one retry message");
    let response = aws.handler.handle_queue(event).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(aws.status(&id).await, DeliveryStatus::Delivered);
    aws.ags
        .assert_each_delivered_once_in_order(&[(aws.lineitem.as_str(), "learner-1", 6.0)]);
    // A repeated message (SQS delivers at least once) changes nothing.
    let again: SqsEvent = serde_json::from_value(json!({"Records": [{
        "messageId": "dup", "eventSource": "aws:sqs",
        "body": json!({"delivery_id": id}).to_string(),
    }]}))
    .unwrap();
    aws.handler.handle_queue(again).await;
    assert_eq!(aws.ags.accepted_scores(), 1);
}

#[tokio::test]
async fn exhausted_retries_go_to_the_dead_letter_queue_and_a_replay_empties_it() {
    let aws = aws().await;
    aws.ags
        .faults()
        .push_n(Endpoint::Scores, Fault::Status(500), 100);
    let answer = aws.post(4).await;
    let id = DeliveryId::parse(answer["id"].as_str().unwrap()).unwrap();
    for _ in 0..10 {
        if aws.status(&id).await == DeliveryStatus::Dead {
            break;
        }
        let event = aws.take(&aws.queue_url).await;
        aws.handler.handle_queue(event).await;
    }
    assert_eq!(aws.status(&id).await, DeliveryStatus::Dead);
    let dead = SqsQueue::new(aws.sqs.clone(), aws.queue_url.clone(), aws.dead_url.clone());
    let letters = dead.receive_dead(Duration::from_secs(0)).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].1.as_ref(), Some(&id));
    aws.ags.faults().clear();
    let replayed = aws.deliverer.replay(&id).await.unwrap().unwrap();
    assert_eq!(replayed.status, DeliveryStatus::Delivered);
    aws.ags
        .assert_each_delivered_once_in_order(&[(aws.lineitem.as_str(), "learner-1", 4.0)]);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        dead.receive_dead(Duration::from_secs(0))
            .await
            .unwrap()
            .is_empty(),
        "the replayed delivery's dead letter was removed"
    );
}
