//! The grade [`Deliverer`]: what it does with a score when the platform accepts it, refuses it
//! for good, fails in a way worth retrying, or answers 409; when retries are due, woken early
//! or used up; and in which order it sends two scores of one learner on one resource link.
//!
//! Only the outbound ports are fakes: [`FakeServices`] stands for the platforms' grade
//! services (scripted answers, every call recorded) and [`RecordingQueue`] for the retry
//! queue (every `schedule` and `dead_letter` recorded). Storage is the real embedded store
//! (SQLite in a temporary folder), the keys are a real key file, and time is a
//! [`FixedClock`] the tests move by hand. Nothing touches the network.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lti_shared::adapters::keystore::file::FileKeyStore;
use lti_shared::adapters::store::embedded::EmbeddedStore;
use lti_shared::app::delivery::{
    ChannelRun, Deliverer, DelivererParts, DeliveryPolicy, SubmitError,
};
use lti_shared::domain::clock::{Clock, FixedClock};
use lti_shared::domain::ids::{
    AttemptId, ClientId, ConsumerKey, DeliveryId, DeploymentId, Issuer, LineItemUrl,
    ResourceLinkId, UserId,
};
use lti_shared::domain::keys::KeySet;
use lti_shared::domain::model::{
    AgsEndpoint, Attempt, AttemptKey, BasicOutcome, GradingSettings, PlatformScope, Registration,
    ResourceLink, Status,
};
use lti_shared::domain::outbox::{Delivery, DeliveryStatus, DeliveryTarget};
use lti_shared::domain::roles::Roles;
use lti_shared::domain::score::{ActivityProgress, GradingProgress, Score};
use lti_shared::domain::secret::ConsumerSecret;
use lti_shared::lti13::ags::{SCOPE_LINEITEM, SCOPE_SCORE};
use lti_shared::ports::{
    KeyStore, LaunchRecords, Outbox, PlatformRegistry, PlatformServices, QueueError, RetryQueue,
    ServiceError,
};
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);
const ISSUER: &str = "https://platform.example";
const CLIENT: &str = "client-1";
const LINK: &str = "link-1";
/// The line item the launch named.
const LINEITEM: &str = "https://platform.example/lineitems/1";
/// The line items container, for a link whose launch named no line item.
const LINEITEMS: &str = "https://platform.example/lineitems";
/// What [`FakeServices::find_or_create_lineitem`] answers.
const FOUND_LINEITEM: &str = "https://platform.example/lineitems/found";
const CONSUMER: &str = "consumer";
const OUTCOME_URL: &str = "https://platform.example/outcomes";
const ONE_MS: Duration = Duration::from_millis(1);

// ---- fakes of the outbound ports ----

/// One `post_score` call.
#[derive(Debug, Clone, PartialEq)]
struct PostedScore {
    lineitem: String,
    user: String,
    given: f64,
    timestamp: OffsetDateTime,
}

/// One `replace_result` call.
#[derive(Debug, Clone, PartialEq)]
struct ReplacedResult {
    service_url: String,
    sourcedid: String,
    consumer_key: String,
    secret: String,
    fraction: f64,
}

/// One `find_or_create_lineitem` call.
#[derive(Debug, Clone, PartialEq)]
struct LineItemLookup {
    container: String,
    resource_link: String,
    label: String,
    score_maximum: f64,
}

/// The platforms' grade services: answers come from a script (Ok once the script is used up)
/// and every call is recorded in order.
#[derive(Debug, Default)]
struct FakeServices {
    post_script: Mutex<VecDeque<Result<(), ServiceError>>>,
    posted: Mutex<Vec<PostedScore>>,
    replace_script: Mutex<VecDeque<Result<(), ServiceError>>>,
    replaced: Mutex<Vec<ReplacedResult>>,
    lookups: Mutex<Vec<LineItemLookup>>,
}

impl FakeServices {
    /// Queues the answers to the next `post_score` calls.
    fn script_post(&self, answers: impl IntoIterator<Item = Result<(), ServiceError>>) {
        self.post_script.lock().unwrap().extend(answers);
    }

    /// Queues the answers to the next `replace_result` calls.
    fn script_replace(&self, answers: impl IntoIterator<Item = Result<(), ServiceError>>) {
        self.replace_script.lock().unwrap().extend(answers);
    }

    fn posted(&self) -> Vec<PostedScore> {
        self.posted.lock().unwrap().clone()
    }

    fn replaced(&self) -> Vec<ReplacedResult> {
        self.replaced.lock().unwrap().clone()
    }

    fn lookups(&self) -> Vec<LineItemLookup> {
        self.lookups.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl PlatformServices for FakeServices {
    async fn find_or_create_lineitem(
        &self,
        _registration: &Registration,
        _keys: &KeySet,
        _granted: &[String],
        lineitems: &str,
        resource_link: &ResourceLinkId,
        label: &str,
        score_maximum: f64,
    ) -> Result<LineItemUrl, ServiceError> {
        self.lookups.lock().unwrap().push(LineItemLookup {
            container: lineitems.to_owned(),
            resource_link: resource_link.as_str().to_owned(),
            label: label.to_owned(),
            score_maximum,
        });
        Ok(LineItemUrl::parse(FOUND_LINEITEM).unwrap())
    }

    async fn post_score(
        &self,
        _registration: &Registration,
        _keys: &KeySet,
        _granted: &[String],
        lineitem: &LineItemUrl,
        user: &UserId,
        score: &Score,
    ) -> Result<(), ServiceError> {
        self.posted.lock().unwrap().push(PostedScore {
            lineitem: lineitem.as_str().to_owned(),
            user: user.as_str().to_owned(),
            given: score.given,
            timestamp: score.timestamp,
        });
        self.post_script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Ok(()))
    }

    async fn replace_result(
        &self,
        outcome: &BasicOutcome,
        consumer_key: &ConsumerKey,
        secret: ConsumerSecret,
        fraction: f64,
    ) -> Result<(), ServiceError> {
        self.replaced.lock().unwrap().push(ReplacedResult {
            service_url: outcome.service_url.clone(),
            sourcedid: outcome.sourcedid.clone(),
            consumer_key: consumer_key.as_str().to_owned(),
            secret: secret.expose().to_owned(),
            fraction,
        });
        self.replace_script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Ok(()))
    }
}

/// The retry queue: records what the deliverer asks of it, and always succeeds.
#[derive(Debug, Default)]
struct RecordingQueue {
    scheduled: Mutex<Vec<(DeliveryId, Duration)>>,
    dead: Mutex<Vec<DeliveryId>>,
}

impl RecordingQueue {
    fn scheduled(&self) -> Vec<(DeliveryId, Duration)> {
        self.scheduled.lock().unwrap().clone()
    }

    fn dead(&self) -> Vec<DeliveryId> {
        self.dead.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl RetryQueue for RecordingQueue {
    async fn schedule(&self, id: &DeliveryId, delay: Duration) -> Result<(), QueueError> {
        self.scheduled.lock().unwrap().push((id.clone(), delay));
        Ok(())
    }

    async fn dead_letter(&self, id: &DeliveryId) -> Result<(), QueueError> {
        self.dead.lock().unwrap().push(id.clone());
        Ok(())
    }

    async fn forget_dead(&self, _ids: &[DeliveryId]) -> Result<(), QueueError> {
        Ok(())
    }
}

/// A failure worth retrying (the platform is overloaded).
fn unavailable() -> ServiceError {
    ServiceError {
        message: "the platform answered 503".into(),
        status: Some(503),
        retry_after: None,
        retryable: true,
    }
}

/// A refusal for good with this HTTP status.
fn refused(status: u16) -> ServiceError {
    ServiceError {
        message: format!("the platform answered {status}"),
        status: Some(status),
        retry_after: None,
        retryable: false,
    }
}

// ---- the rig ----

struct Rig {
    _dir: tempfile::TempDir,
    store: Arc<EmbeddedStore>,
    key_store: Arc<FileKeyStore>,
    clock: Arc<FixedClock>,
    services: Arc<FakeServices>,
    queue: Arc<RecordingQueue>,
    deliverer: Deliverer,
}

fn scope13() -> PlatformScope {
    PlatformScope::lti13(
        Issuer::parse(ISSUER).unwrap(),
        ClientId::parse(CLIENT).unwrap(),
        lti_shared::domain::ids::DeploymentId::parse("dep-1").unwrap(),
    )
}

fn scope11() -> PlatformScope {
    PlatformScope::Lti11 {
        consumer_key: ConsumerKey::parse(CONSUMER).unwrap(),
    }
}

fn key(scope: &PlatformScope, user: &str) -> AttemptKey {
    AttemptKey {
        scope: scope.clone(),
        resource_link_id: ResourceLinkId::parse(LINK).unwrap(),
        user_id: UserId::parse(user).unwrap(),
        attempt_id: AttemptId::parse("000001").unwrap(),
    }
}

fn link(scope: &PlatformScope, ags: Option<AgsEndpoint>) -> ResourceLink {
    ResourceLink {
        scope: scope.clone(),
        resource_link_id: ResourceLinkId::parse(LINK).unwrap(),
        context_id: None,
        title: Some("Quiz".into()),
        description: None,
        ags,
        lti11: None,
        grading: GradingSettings::default(),
        updated_at: NOW,
    }
}

fn ags(lineitem: Option<&str>) -> AgsEndpoint {
    AgsEndpoint {
        scopes: vec![SCOPE_SCORE.into(), SCOPE_LINEITEM.into()],
        lineitems: Some(LINEITEMS.into()),
        lineitem: lineitem.map(|l| LineItemUrl::parse(l).unwrap()),
    }
}

/// A score of `given` out of 10 (its timestamp is the deliverer's to set).
fn score(given: f64) -> Score {
    Score {
        given,
        maximum: 10.0,
        activity_progress: ActivityProgress::Completed,
        grading_progress: GradingProgress::FullyGraded,
        comment: None,
        timestamp: NOW,
    }
}

async fn rig() -> Rig {
    rig_with(DeliveryPolicy::default()).await
}

/// A registered LTI 1.3 platform and an LTI 1.1 consumer (no secret yet), each with the
/// resource link `link-1` and an attempt of alice on it; the LTI 1.3 link names its line item.
async fn rig_with(policy: DeliveryPolicy) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let key_store = Arc::new(FileKeyStore::open(dir.path()).unwrap());
    let mut keys = KeySet::default();
    keys.init(NOW).unwrap();
    key_store.save_signing_keys(&keys).await.unwrap();
    let clock = Arc::new(FixedClock::new(NOW));
    let services = Arc::new(FakeServices::default());
    let queue = Arc::new(RecordingQueue::default());
    let deliverer = Deliverer::new(DelivererParts {
        registry: store.clone(),
        records: store.clone(),
        outbox: store.clone(),
        keys: key_store.clone(),
        services: services.clone(),
        queue: queue.clone(),
        clock: clock.clone(),
        policy,
    });
    store
        .add_platform(&Registration {
            issuer: Issuer::parse(ISSUER).unwrap(),
            client_id: ClientId::parse(CLIENT).unwrap(),
            deployment_ids: [DeploymentId::parse("d").unwrap()].into(),
            auth_url: url::Url::parse("https://platform.example/auth").unwrap(),
            token_url: url::Url::parse("https://platform.example/token").unwrap(),
            jwks_url: url::Url::parse("https://platform.example/jwks").unwrap(),
            name: None,
            status: Status::Active,
            options: Default::default(),
            created_at: NOW,
        })
        .await
        .unwrap();
    store
        .put_resource_link(&link(&scope13(), Some(ags(Some(LINEITEM)))))
        .await
        .unwrap();
    store
        .put_resource_link(&link(&scope11(), None))
        .await
        .unwrap();
    for scope in [scope13(), scope11()] {
        let lti11 = matches!(scope, PlatformScope::Lti11 { .. });
        store
            .create_attempt(&Attempt {
                key: key(&scope, "alice"),
                context_id: None,
                started_at: NOW,
                last_activity_at: NOW,
                roles: Roles::default(),
                basic_outcome: lti11.then(|| BasicOutcome {
                    service_url: OUTCOME_URL.into(),
                    sourcedid: "alice-sourcedid".into(),
                }),
                score: None,
                closed_at: None,
            })
            .await
            .unwrap();
    }
    Rig {
        _dir: dir,
        store,
        key_store,
        clock,
        services,
        queue,
        deliverer,
    }
}

impl Rig {
    async fn attempt(&self, scope: &PlatformScope) -> Attempt {
        self.store
            .attempt(&key(scope, "alice"))
            .await
            .unwrap()
            .unwrap()
    }

    async fn link(&self, scope: &PlatformScope) -> ResourceLink {
        self.store
            .resource_link(scope, &ResourceLinkId::parse(LINK).unwrap())
            .await
            .unwrap()
            .unwrap()
    }

    /// Submits `given`/10 for alice on the LTI 1.3 link.
    async fn submit(&self, given: f64) -> Delivery {
        let scope = scope13();
        self.deliverer
            .submit(
                &self.attempt(&scope).await,
                &self.link(&scope).await,
                score(given),
            )
            .await
            .unwrap()
    }

    /// The delivery as stored now.
    async fn stored(&self, id: &DeliveryId) -> Delivery {
        self.store.delivery(id).await.unwrap().unwrap()
    }

    /// Moves the clock one millisecond past `at`.
    fn advance_past(&self, at: OffsetDateTime) {
        self.clock
            .advance(at - self.clock.now() + time::Duration::milliseconds(1));
    }

    /// How long from now until `at`.
    fn until(&self, at: OffsetDateTime) -> Duration {
        (at - self.clock.now()).unsigned_abs()
    }
}

fn lineitem_post(given: f64, timestamp: OffsetDateTime) -> PostedScore {
    PostedScore {
        lineitem: LINEITEM.into(),
        user: "alice".into(),
        given,
        timestamp,
    }
}

// ---- accepted at once ----

#[tokio::test]
async fn submit_platform_accepts_is_delivered_at_once() {
    let rig = rig().await;
    let delivery = rig.submit(7.0).await;

    assert_eq!(delivery.status, DeliveryStatus::Delivered);
    assert_eq!(delivery.tries, 1);
    assert_eq!(delivery.delivered_at, Some(NOW));
    assert_eq!(delivery.last_error, None);
    assert_eq!(delivery.score.timestamp, NOW);
    assert_eq!(rig.stored(&delivery.id).await, delivery);
    assert_eq!(rig.services.posted(), vec![lineitem_post(7.0, NOW)]);
    assert_eq!(rig.services.lookups(), vec![]);
    assert_eq!(rig.queue.scheduled(), vec![]);
    assert_eq!(rig.queue.dead(), vec![]);
    let attempt = rig.attempt(&scope13()).await;
    assert_eq!(
        attempt.score.map(|s| (s.given, s.timestamp)),
        Some((7.0, NOW))
    );
}

#[tokio::test]
async fn submit_link_without_ags_is_refused_and_nothing_recorded() {
    let rig = rig().await;
    let scope = scope13();
    let result = rig
        .deliverer
        .submit(&rig.attempt(&scope).await, &link(&scope, None), score(7.0))
        .await;

    assert!(matches!(result, Err(SubmitError::NoPassback)), "{result:?}");
    assert_eq!(rig.services.posted(), vec![]);
    assert_eq!(rig.queue.scheduled(), vec![]);
    let channel = lti_shared::domain::outbox::channel_of(&key(&scope, "alice"));
    assert_eq!(
        rig.store.deliveries_in_channel(&channel).await.unwrap(),
        vec![]
    );
    assert_eq!(rig.attempt(&scope).await.score, None);
}

#[tokio::test]
async fn submit_without_known_lineitem_finds_one_and_keeps_it() {
    let rig = rig().await;
    let scope = scope13();
    rig.store
        .put_resource_link(&link(&scope, Some(ags(None))))
        .await
        .unwrap();
    let delivery = rig.submit(4.0).await;

    assert_eq!(delivery.status, DeliveryStatus::Delivered);
    assert_eq!(
        rig.services.lookups(),
        vec![LineItemLookup {
            container: LINEITEMS.into(),
            resource_link: LINK.into(),
            label: "Quiz".into(),
            score_maximum: 10.0,
        }]
    );
    assert_eq!(
        rig.services.posted(),
        vec![PostedScore {
            lineitem: FOUND_LINEITEM.into(),
            ..lineitem_post(4.0, NOW)
        }]
    );
    let DeliveryTarget::Ags { lineitem, .. } = &delivery.target else {
        panic!("not an AGS target: {:?}", delivery.target);
    };
    assert_eq!(
        lineitem.as_ref().map(LineItemUrl::as_str),
        Some(FOUND_LINEITEM)
    );
    let kept = rig.link(&scope).await.ags.unwrap().lineitem;
    assert_eq!(kept.as_ref().map(LineItemUrl::as_str), Some(FOUND_LINEITEM));
}

// ---- retries ----

#[tokio::test]
async fn submit_retryable_failure_is_pending_and_scheduled() {
    let rig = rig().await;
    rig.services.script_post([Err(unavailable())]);
    let delivery = rig.submit(7.0).await;

    assert_eq!(delivery.status, DeliveryStatus::Pending);
    assert_eq!(delivery.tries, 1);
    assert_eq!(delivery.delivered_at, None);
    assert_eq!(
        delivery.last_error.as_deref(),
        Some("the platform answered 503")
    );
    assert_eq!(delivery.history.len(), 1);
    assert_eq!(delivery.history[0].outcome, "retry");
    assert_eq!(delivery.history[0].http_status, Some(503));
    assert!(delivery.next_try_at > NOW, "{}", delivery.next_try_at);
    assert_eq!(rig.services.posted().len(), 1);
    let scheduled = rig.queue.scheduled();
    assert_eq!(scheduled.len(), 1, "{scheduled:?}");
    let (id, delay) = &scheduled[0];
    assert_eq!(id, &delivery.id);
    let expected = rig.until(delivery.next_try_at);
    assert!(
        delay.abs_diff(expected) <= ONE_MS,
        "{delay:?} vs {expected:?}"
    );
    // The first retry of the default policy: 2 s with "equal jitter", so 1 s to 2 s.
    assert!(
        (Duration::from_secs(1)..=Duration::from_secs(2)).contains(delay),
        "{delay:?}"
    );
    assert_eq!(rig.queue.dead(), vec![]);
}

#[tokio::test]
async fn deliver_before_due_sends_nothing_and_schedules_the_rest() {
    let rig = rig().await;
    rig.services.script_post([Err(unavailable())]);
    let delivery = rig.submit(7.0).await;
    // Woken half a second in: the first retry is at least a second away.
    rig.clock.advance(time::Duration::milliseconds(500));

    let run = rig.deliverer.deliver(&delivery.id).await.unwrap();

    assert_eq!(run, ChannelRun::Processed);
    assert_eq!(rig.services.posted().len(), 1, "sent again before due");
    let stored = rig.stored(&delivery.id).await;
    assert_eq!(stored, delivery, "the delivery changed");
    let scheduled = rig.queue.scheduled();
    assert_eq!(scheduled.len(), 2, "the early wake-up was not rescheduled");
    let (id, rest) = &scheduled[1];
    assert_eq!(id, &delivery.id);
    let expected = rig.until(delivery.next_try_at);
    assert!(
        rest.abs_diff(expected) <= ONE_MS,
        "{rest:?} vs {expected:?}"
    );
    let first_delay = scheduled[0].1;
    assert!(
        first_delay.abs_diff(*rest + Duration::from_millis(500)) <= ONE_MS,
        "{scheduled:?}"
    );
}

#[tokio::test]
async fn deliver_after_due_tries_again_and_is_delivered() {
    let rig = rig().await;
    rig.services.script_post([Err(unavailable())]);
    let delivery = rig.submit(7.0).await;
    rig.advance_past(delivery.next_try_at);

    let run = rig.deliverer.deliver(&delivery.id).await.unwrap();

    assert_eq!(run, ChannelRun::Processed);
    let stored = rig.stored(&delivery.id).await;
    assert_eq!(stored.status, DeliveryStatus::Delivered);
    assert_eq!(stored.tries, 2);
    assert_eq!(stored.delivered_at, Some(rig.clock.now()));
    assert_eq!(stored.last_error, None);
    let outcomes: Vec<_> = stored.history.iter().map(|t| t.outcome.as_str()).collect();
    assert_eq!(outcomes, ["retry", "delivered"]);
    // The same score, with the same timestamp, both times.
    assert_eq!(
        rig.services.posted(),
        vec![lineitem_post(7.0, NOW), lineitem_post(7.0, NOW)]
    );
    assert_eq!(rig.queue.scheduled().len(), 1);
    assert_eq!(rig.queue.dead(), vec![]);
}

#[tokio::test]
async fn deliver_retryable_failure_at_max_tries_is_dead_lettered() {
    let rig = rig_with(DeliveryPolicy {
        max_tries: 2,
        ..DeliveryPolicy::default()
    })
    .await;
    rig.services
        .script_post([Err(unavailable()), Err(unavailable())]);
    let delivery = rig.submit(7.0).await;
    assert_eq!(delivery.status, DeliveryStatus::Pending);
    rig.advance_past(delivery.next_try_at);

    rig.deliverer.deliver(&delivery.id).await.unwrap();

    let stored = rig.stored(&delivery.id).await;
    assert_eq!(stored.status, DeliveryStatus::Dead);
    assert_eq!(stored.tries, 2);
    assert_eq!(stored.delivered_at, None);
    assert_eq!(
        stored.last_error.as_deref(),
        Some("the platform answered 503")
    );
    assert_eq!(rig.services.posted().len(), 2);
    assert_eq!(rig.queue.dead(), vec![delivery.id.clone()]);
    assert_eq!(
        rig.queue.scheduled().len(),
        1,
        "a dead delivery was scheduled"
    );

    // A repeated queue message for a dead delivery does nothing.
    rig.clock.advance(time::Duration::hours(1));
    rig.deliverer.deliver(&delivery.id).await.unwrap();
    assert_eq!(rig.services.posted().len(), 2);
    assert_eq!(rig.queue.dead().len(), 1);
    assert_eq!(rig.stored(&delivery.id).await, stored);
}

// ---- refusals ----

#[tokio::test]
async fn submit_refused_400_is_failed_and_not_scheduled() {
    let rig = rig().await;
    rig.services.script_post([Err(refused(400))]);
    let delivery = rig.submit(7.0).await;

    assert_eq!(delivery.status, DeliveryStatus::Failed);
    assert_eq!(delivery.tries, 1);
    assert_eq!(delivery.delivered_at, None);
    assert_eq!(
        delivery.last_error.as_deref(),
        Some("the platform answered 400")
    );
    assert_eq!(delivery.history.len(), 1);
    assert_eq!(delivery.history[0].outcome, "failed");
    assert_eq!(delivery.history[0].http_status, Some(400));
    assert_eq!(rig.services.posted().len(), 1);
    assert_eq!(rig.queue.scheduled(), vec![]);
    assert_eq!(rig.queue.dead(), vec![]);
}

#[tokio::test]
async fn deliver_409_on_retry_counts_as_delivered() {
    let rig = rig().await;
    rig.services
        .script_post([Err(unavailable()), Err(refused(409))]);
    let delivery = rig.submit(7.0).await;
    assert_eq!(delivery.status, DeliveryStatus::Pending);
    rig.advance_past(delivery.next_try_at);

    rig.deliverer.deliver(&delivery.id).await.unwrap();

    let stored = rig.stored(&delivery.id).await;
    assert_eq!(stored.status, DeliveryStatus::Delivered);
    assert_eq!(stored.tries, 2);
    assert_eq!(stored.delivered_at, Some(rig.clock.now()));
    assert_eq!(stored.last_error, None);
    let last = stored.history.last().unwrap();
    assert_eq!(last.outcome, "delivered");
    assert_eq!(
        last.error.as_deref(),
        Some("the platform already had this score (409 on a retry)")
    );
    assert_eq!(rig.services.posted().len(), 2);
    assert_eq!(rig.queue.scheduled().len(), 1);
}

#[tokio::test]
async fn submit_409_on_first_try_is_failed() {
    let rig = rig().await;
    rig.services.script_post([Err(refused(409))]);
    let delivery = rig.submit(7.0).await;

    assert_eq!(delivery.status, DeliveryStatus::Failed);
    assert_eq!(delivery.tries, 1);
    assert_eq!(delivery.delivered_at, None);
    assert_eq!(
        delivery.last_error.as_deref(),
        Some("the platform answered 409")
    );
    assert_eq!(delivery.history[0].http_status, Some(409));
    assert_eq!(rig.services.posted().len(), 1);
    assert_eq!(rig.queue.scheduled(), vec![]);
}

// ---- ordering ----

#[tokio::test]
async fn submit_second_score_waits_behind_pending_first() {
    let rig = rig().await;
    rig.services.script_post([Err(unavailable())]);
    let first = rig.submit(3.0).await;
    assert_eq!(first.status, DeliveryStatus::Pending);

    let second = rig.submit(8.0).await;

    assert_eq!(second.status, DeliveryStatus::Pending);
    assert_eq!(second.tries, 0, "the second score overtook the first");
    assert_eq!(
        second.score.timestamp,
        NOW + time::Duration::milliseconds(1)
    );
    assert_eq!(rig.services.posted(), vec![lineitem_post(3.0, NOW)]);
    // Only the first is queued: its run carries the channel on to the second.
    let scheduled: Vec<_> = rig
        .queue
        .scheduled()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(scheduled, vec![first.id.clone()]);

    rig.advance_past(first.next_try_at);
    rig.deliverer.deliver(&first.id).await.unwrap();

    assert_eq!(
        rig.services.posted(),
        vec![
            lineitem_post(3.0, NOW),
            lineitem_post(3.0, NOW),
            lineitem_post(8.0, NOW + time::Duration::milliseconds(1)),
        ]
    );
    let first = rig.stored(&first.id).await;
    let second = rig.stored(&second.id).await;
    assert_eq!((first.status, first.tries), (DeliveryStatus::Delivered, 2));
    assert_eq!(
        (second.status, second.tries),
        (DeliveryStatus::Delivered, 1)
    );
    assert_eq!(rig.queue.scheduled().len(), 1);
}

// ---- LTI 1.1 Basic Outcomes ----

#[tokio::test]
async fn submit_lti11_with_secret_is_sent_with_replace_result() {
    let rig = rig().await;
    let scope = scope11();
    rig.key_store
        .put_consumer_secret(
            &ConsumerKey::parse(CONSUMER).unwrap(),
            &ConsumerSecret::new("s3cret"),
        )
        .await
        .unwrap();
    let delivery = rig
        .deliverer
        .submit(
            &rig.attempt(&scope).await,
            &rig.link(&scope).await,
            score(7.0),
        )
        .await
        .unwrap();

    assert_eq!(delivery.status, DeliveryStatus::Delivered);
    assert_eq!(delivery.tries, 1);
    assert_eq!(
        rig.services.replaced(),
        vec![ReplacedResult {
            service_url: OUTCOME_URL.into(),
            sourcedid: "alice-sourcedid".into(),
            consumer_key: CONSUMER.into(),
            secret: "s3cret".into(),
            fraction: 0.7,
        }]
    );
    assert_eq!(rig.services.posted(), vec![]);
    assert_eq!(rig.queue.scheduled(), vec![]);
}

#[tokio::test]
async fn submit_lti11_without_secret_is_failed_and_not_sent() {
    let rig = rig().await;
    let scope = scope11();
    let delivery = rig
        .deliverer
        .submit(
            &rig.attempt(&scope).await,
            &rig.link(&scope).await,
            score(7.0),
        )
        .await
        .unwrap();

    assert_eq!(delivery.status, DeliveryStatus::Failed);
    assert_eq!(delivery.tries, 1);
    assert_eq!(delivery.history[0].http_status, None);
    let error = delivery.last_error.unwrap();
    assert!(error.contains("has no secret"), "{error}");
    assert_eq!(rig.services.replaced(), vec![]);
    assert_eq!(rig.queue.scheduled(), vec![]);
}

#[tokio::test]
async fn submit_lti11_retryable_failure_is_pending_and_scheduled() {
    let rig = rig().await;
    let scope = scope11();
    rig.key_store
        .put_consumer_secret(
            &ConsumerKey::parse(CONSUMER).unwrap(),
            &ConsumerSecret::new("s3cret"),
        )
        .await
        .unwrap();
    rig.services.script_replace([Err(unavailable())]);
    let delivery = rig
        .deliverer
        .submit(
            &rig.attempt(&scope).await,
            &rig.link(&scope).await,
            score(7.0),
        )
        .await
        .unwrap();

    assert_eq!(delivery.status, DeliveryStatus::Pending);
    assert_eq!(delivery.tries, 1);
    assert_eq!(delivery.history[0].http_status, Some(503));
    assert_eq!(rig.services.replaced().len(), 1);
    let scheduled = rig.queue.scheduled();
    assert_eq!(scheduled.len(), 1, "{scheduled:?}");
    assert_eq!(scheduled[0].0, delivery.id);
}
