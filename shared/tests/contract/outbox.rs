//! `Outbox`: scores and their grade deliveries, written together in one atomic step, ordered
//! per channel (one learner on one resource link), and sent under a channel lease.
//!
//! The status queries (`deliveries_with_status`, `due_deliveries`) read a secondary index on
//! DynamoDB, which is eventually consistent; the local server answers them at once, so these
//! contracts read them straight after writing, as the other suites do. The concurrency
//! contracts run on the embedded store only (see [`embedded_only`]).

use std::sync::Arc;

use lti_shared::domain::ids::{
    AttemptId, ClientId, ConsumerKey, DeliveryId, Issuer, LineItemUrl, ResourceLinkId, UserId,
};
use lti_shared::domain::model::{Attempt, AttemptKey, BasicOutcome, PlatformScope};
use lti_shared::domain::outbox::{
    Delivery, DeliveryStatus, DeliveryTarget, DeliveryTry, channel_of,
};
use lti_shared::domain::score::{ActivityProgress, GradingProgress, Score, truncate_to_millis};
use lti_shared::ports::{Store, StoreError};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::support::StoreFixture;

store_contracts!(
    submit_score_existing_attempt_writes_attempt_and_delivery,
    submit_score_basic_outcome_target_round_trips_every_field,
    submit_score_missing_attempt_fails_not_found_and_writes_nothing,
    submit_score_missing_attempt_in_scored_channel_keeps_last_score_time,
    submit_score_equal_timestamp_fails_already_exists_and_writes_nothing,
    submit_score_earlier_timestamp_fails_already_exists_and_writes_nothing,
    submit_score_same_millisecond_fails_already_exists,
    submit_score_later_timestamps_succeed_and_last_score_time_is_latest,
    submit_score_other_attempt_in_same_channel_is_ordered_with_it,
    submit_score_duplicate_delivery_id_fails_already_exists_and_writes_nothing,
    submit_score_other_user_link_or_scope_is_independent_channel,
    last_score_time_unknown_channel_is_none,
    last_score_time_sub_millisecond_timestamp_is_truncated_to_millis,
    delivery_unknown_is_none,
    delivery_written_by_one_instance_is_read_by_another,
    update_delivery_existing_replaces_status_tries_history_and_next_try,
    update_delivery_unknown_fails_not_found,
    pending_in_channel_returns_only_pending_oldest_score_first,
    pending_in_channel_unknown_channel_is_empty,
    deliveries_in_channel_returns_every_status_oldest_score_first,
    deliveries_with_status_returns_only_that_status_by_next_try_then_id,
    deliveries_with_status_respects_limit,
    due_deliveries_returns_only_pending_due_at_now_earliest_first,
    due_deliveries_respects_limit,
    lease_channel_free_is_granted_and_refused_to_another_while_live,
    lease_channel_expired_is_granted_to_another_owner,
    lease_channel_same_owner_renews,
    lease_channel_channels_are_independent,
    release_channel_by_other_owner_keeps_lease,
    release_channel_by_owner_frees_it,
    release_channel_unheld_succeeds,
    lease_channel_without_score_last_score_time_is_none,
    lease_channel_keeps_last_score_and_its_ordering,
    submit_score_keeps_channel_lease,
);

/// The concurrency contracts run against the embedded store only: the local DynamoDB-compatible
/// server (moto) takes no lock around a conditional `UpdateItem` or a `TransactWriteItems`, so
/// concurrent callers race inside the server itself (two callers both granted the lease; a
/// cancelled transaction's rollback restoring another's partial writes) and these contracts
/// would fail there at random whatever the adapter does. On DynamoDB both operations are atomic.
mod embedded_only {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn submit_score_sixteen_concurrent_same_timestamp_exactly_one_succeeds() {
        let fixture = crate::support::StoreFixture::embedded().await;
        super::submit_score_sixteen_concurrent_same_timestamp_exactly_one_succeeds(&fixture).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn lease_channel_sixteen_concurrent_owners_exactly_one_granted() {
        let fixture = crate::support::StoreFixture::embedded().await;
        super::lease_channel_sixteen_concurrent_owners_exactly_one_granted(&fixture).await;
    }
}

/// The instant the scores in these contracts are given around (whole milliseconds).
const T0: OffsetDateTime = datetime!(2026-05-04 10:00:00.123 UTC);

fn ms(n: i64) -> Duration {
    Duration::milliseconds(n)
}

fn lti13(iss: &str, client_id: &str) -> PlatformScope {
    PlatformScope::lti13(
        Issuer::parse(iss).unwrap(),
        ClientId::parse(client_id).unwrap(),
        lti_shared::domain::ids::DeploymentId::parse("dep-1").unwrap(),
    )
}

fn lti11(consumer_key: &str) -> PlatformScope {
    PlatformScope::Lti11 {
        consumer_key: ConsumerKey::parse(consumer_key).unwrap(),
    }
}

fn main_scope() -> PlatformScope {
    lti13("https://lms.example", "client-1")
}

fn attempt_key(scope: &PlatformScope, link: &str, user: &str, attempt: &str) -> AttemptKey {
    AttemptKey {
        scope: scope.clone(),
        resource_link_id: ResourceLinkId::parse(link).unwrap(),
        user_id: UserId::parse(user).unwrap(),
        attempt_id: AttemptId::parse(attempt).unwrap(),
    }
}

/// An open attempt without a score, as a launch creates it.
fn open_attempt(key: AttemptKey) -> Attempt {
    let started_at = datetime!(2026-05-04 09:00:00 UTC);
    Attempt {
        key,
        context_id: Some(lti_shared::domain::ids::ContextId::parse("course-1").unwrap()),
        started_at,
        last_activity_at: started_at + Duration::minutes(5),
        roles: lti_shared::domain::roles::Roles::default(),
        basic_outcome: None,
        score: None,
        closed_at: None,
    }
}

/// Creates the attempt `attempt` of `user` on `link` in `scope`.
async fn seed_attempt(
    store: &dyn Store,
    scope: &PlatformScope,
    link: &str,
    user: &str,
    attempt: &str,
) -> Attempt {
    let a = open_attempt(attempt_key(scope, link, user, attempt));
    store.create_attempt(&a).await.unwrap();
    a
}

/// The usual subject: one learner's first attempt on one resource link.
async fn seed_main_attempt(store: &dyn Store) -> Attempt {
    seed_attempt(store, &main_scope(), "link-1", "learner-1", "attempt-1").await
}

fn score(given: f64, timestamp: OffsetDateTime) -> Score {
    Score {
        given,
        maximum: 10.0,
        activity_progress: ActivityProgress::Completed,
        grading_progress: GradingProgress::FullyGraded,
        comment: Some(format!("Score {given} — « bien » & <ok>")),
        timestamp,
    }
}

fn ags_target() -> DeliveryTarget {
    DeliveryTarget::Ags {
        lineitem: Some(
            LineItemUrl::parse("https://lms.example/api/lti/courses/1/line_items/7").unwrap(),
        ),
        lineitems: Some("https://lms.example/api/lti/courses/1/line_items".to_owned()),
        scopes: vec![
            "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem".to_owned(),
            "https://purl.imsglobal.org/spec/lti-ags/scope/score".to_owned(),
        ],
        label: Some("Quiz 1".to_owned()),
    }
}

fn delivery_id(id: &str) -> DeliveryId {
    DeliveryId::parse(id).unwrap()
}

/// What a score submission writes: the attempt carrying the score (given `given` out of 10 at
/// `at`) and a new pending delivery `id` for it, due at once.
fn scored(attempt: &Attempt, id: &str, given: f64, at: OffsetDateTime) -> (Attempt, Delivery) {
    let s = score(given, at);
    let updated = Attempt {
        score: Some(s.clone()),
        last_activity_at: at,
        ..attempt.clone()
    };
    let delivery = Delivery {
        id: delivery_id(id),
        attempt: attempt.key.clone(),
        score: s,
        target: ags_target(),
        status: DeliveryStatus::Pending,
        tries: 0,
        next_try_at: at,
        last_error: None,
        created_at: at + ms(2),
        delivered_at: None,
        history: Vec::new(),
    };
    (updated, delivery)
}

/// Submits a score that must be accepted; returns what was written.
async fn submit_ok(
    store: &dyn Store,
    attempt: &Attempt,
    id: &str,
    given: f64,
    at: OffsetDateTime,
) -> (Attempt, Delivery) {
    let (a, d) = scored(attempt, id, given, at);
    store
        .submit_score(&a, &d)
        .await
        .unwrap_or_else(|e| panic!("submitting delivery {id} at {at} failed: {e}"));
    (a, d)
}

fn ids(deliveries: &[Delivery]) -> Vec<&str> {
    deliveries.iter().map(|d| d.id.as_str()).collect()
}

fn tried(
    at: OffsetDateTime,
    outcome: &str,
    http_status: Option<u16>,
    error: Option<&str>,
) -> DeliveryTry {
    DeliveryTry {
        at,
        outcome: outcome.to_owned(),
        http_status,
        error: error.map(str::to_owned),
    }
}

/// Sets a stored delivery's status and next try time.
async fn set_status(
    store: &dyn Store,
    delivery: &Delivery,
    status: DeliveryStatus,
    next_try_at: OffsetDateTime,
) -> Delivery {
    let updated = Delivery {
        status,
        next_try_at,
        ..delivery.clone()
    };
    store.update_delivery(&updated).await.unwrap();
    updated
}

// ---------------------------------------------------------------------------------------------
// submit_score and last_score_time

async fn submit_score_existing_attempt_writes_attempt_and_delivery(fx: &StoreFixture) {
    let store = fx.store();
    let attempt = seed_main_attempt(store).await;
    let (a, d) = scored(&attempt, "delivery-1", 7.5, T0);
    store.submit_score(&a, &d).await.unwrap();

    let stored = store.attempt(&attempt.key).await.unwrap();
    assert_eq!(stored, Some(a.clone()));
    assert_eq!(stored.unwrap().score, Some(d.score.clone()));
    assert_eq!(store.delivery(&d.id).await.unwrap(), Some(d.clone()));
    let channel = channel_of(&attempt.key);
    assert_eq!(d.channel(), channel);
    assert_eq!(store.last_score_time(&channel).await.unwrap(), Some(T0));
    assert_eq!(store.pending_in_channel(&channel).await.unwrap(), vec![d]);
}

async fn submit_score_basic_outcome_target_round_trips_every_field(fx: &StoreFixture) {
    let store = fx.store();
    let scope = lti11("moodle-1");
    let attempt = Attempt {
        basic_outcome: Some(BasicOutcome {
            service_url: "https://moodle.example/mod/lti/service.php?x=1".to_owned(),
            sourcedid: r#"{"data":{"instanceid":"2","userid":"3"},"hash":"ab&<>"}"#.to_owned(),
        }),
        ..open_attempt(attempt_key(&scope, "link#1|a", "user|1#b", "attempt-1"))
    };
    store.create_attempt(&attempt).await.unwrap();
    let (a, d) = scored(&attempt, "delivery-bo", 0.0, T0);
    let d = Delivery {
        score: Score {
            activity_progress: ActivityProgress::Submitted,
            grading_progress: GradingProgress::PendingManual,
            comment: None,
            given: 0.0,
            maximum: 3.5,
            timestamp: T0,
        },
        target: DeliveryTarget::BasicOutcome(attempt.basic_outcome.clone().unwrap()),
        ..d
    };
    let a = Attempt {
        score: Some(d.score.clone()),
        ..a
    };
    store.submit_score(&a, &d).await.unwrap();
    assert_eq!(store.attempt(&attempt.key).await.unwrap(), Some(a));
    assert_eq!(store.delivery(&d.id).await.unwrap(), Some(d.clone()));
    assert_eq!(
        store.pending_in_channel(&d.channel()).await.unwrap(),
        vec![d]
    );
}

async fn submit_score_missing_attempt_fails_not_found_and_writes_nothing(fx: &StoreFixture) {
    let store = fx.store();
    let never_created = open_attempt(attempt_key(&main_scope(), "link-1", "learner-1", "ghost"));
    let (a, d) = scored(&never_created, "delivery-1", 5.0, T0);
    assert_store_error!(store.submit_score(&a, &d).await, NotFound);

    assert_eq!(store.attempt(&never_created.key).await.unwrap(), None);
    assert_eq!(store.delivery(&d.id).await.unwrap(), None);
    let channel = d.channel();
    assert_eq!(store.last_score_time(&channel).await.unwrap(), None);
    assert_eq!(
        store.pending_in_channel(&channel).await.unwrap(),
        Vec::new()
    );
    assert_eq!(
        store
            .deliveries_with_status(DeliveryStatus::Pending, 10)
            .await
            .unwrap(),
        Vec::new()
    );
    // Nothing of the refused submission blocks the channel: the same score is accepted once
    // the attempt exists.
    store.create_attempt(&never_created).await.unwrap();
    store.submit_score(&a, &d).await.unwrap();
    assert_eq!(store.delivery(&d.id).await.unwrap(), Some(d));
}

async fn submit_score_missing_attempt_in_scored_channel_keeps_last_score_time(fx: &StoreFixture) {
    let store = fx.store();
    let attempt = seed_main_attempt(store).await;
    let (first, _) = submit_ok(store, &attempt, "delivery-1", 4.0, T0).await;
    // Another attempt of the same learner on the same link (same channel) that was never
    // created, with a later score.
    let ghost = open_attempt(attempt_key(&main_scope(), "link-1", "learner-1", "ghost"));
    let (a, d) = scored(&ghost, "delivery-2", 9.0, T0 + ms(1));
    assert_store_error!(store.submit_score(&a, &d).await, NotFound);

    let channel = channel_of(&attempt.key);
    assert_eq!(store.last_score_time(&channel).await.unwrap(), Some(T0));
    assert_eq!(store.delivery(&d.id).await.unwrap(), None);
    assert_eq!(store.attempt(&ghost.key).await.unwrap(), None);
    assert_eq!(store.attempt(&attempt.key).await.unwrap(), Some(first));
    assert_eq!(
        ids(&store.pending_in_channel(&channel).await.unwrap()),
        ["delivery-1"]
    );
    // The refused timestamp was not recorded: it is still free to use.
    submit_ok(store, &attempt, "delivery-3", 9.0, T0 + ms(1)).await;
}

/// Submits a first score at `T0`, then one at `second_at` that must be refused as
/// `AlreadyExists` without writing anything.
async fn assert_second_score_refused(store: &dyn Store, second_at: OffsetDateTime) {
    let attempt = seed_main_attempt(store).await;
    let (first, first_delivery) = submit_ok(store, &attempt, "delivery-1", 4.0, T0).await;
    let (a, d) = scored(&first, "delivery-2", 9.0, second_at);
    assert_store_error!(store.submit_score(&a, &d).await, AlreadyExists);

    assert_eq!(
        store.attempt(&attempt.key).await.unwrap(),
        Some(first),
        "the attempt keeps the first score"
    );
    assert_eq!(store.delivery(&d.id).await.unwrap(), None);
    let channel = channel_of(&attempt.key);
    assert_eq!(store.last_score_time(&channel).await.unwrap(), Some(T0));
    assert_eq!(
        store.pending_in_channel(&channel).await.unwrap(),
        vec![first_delivery]
    );
}

async fn submit_score_equal_timestamp_fails_already_exists_and_writes_nothing(fx: &StoreFixture) {
    assert_second_score_refused(fx.store(), T0).await;
}

async fn submit_score_earlier_timestamp_fails_already_exists_and_writes_nothing(fx: &StoreFixture) {
    let store = fx.store();
    assert_second_score_refused(store, T0 - ms(1)).await;
    // Far earlier too.
    let attempt = store
        .attempt(&attempt_key(
            &main_scope(),
            "link-1",
            "learner-1",
            "attempt-1",
        ))
        .await
        .unwrap()
        .unwrap();
    let (a, d) = scored(&attempt, "delivery-3", 1.0, T0 - Duration::days(400));
    assert_store_error!(store.submit_score(&a, &d).await, AlreadyExists);
    assert_eq!(store.delivery(&d.id).await.unwrap(), None);
}

async fn submit_score_same_millisecond_fails_already_exists(fx: &StoreFixture) {
    // Scores are ordered to the millisecond (`truncate_to_millis`): a timestamp later by less
    // than a millisecond is not later.
    assert_second_score_refused(fx.store(), T0 + Duration::microseconds(999)).await;
}

async fn submit_score_later_timestamps_succeed_and_last_score_time_is_latest(fx: &StoreFixture) {
    let store = fx.store();
    let attempt = seed_main_attempt(store).await;
    let channel = channel_of(&attempt.key);
    let mut current = attempt;
    let mut written = Vec::new();
    for (n, at) in [T0, T0 + ms(1), T0 + Duration::hours(30)]
        .into_iter()
        .enumerate()
    {
        let (a, d) = submit_ok(store, &current, &format!("delivery-{n}"), n as f64, at).await;
        assert_eq!(store.last_score_time(&channel).await.unwrap(), Some(at));
        assert_eq!(store.attempt(&a.key).await.unwrap(), Some(a.clone()));
        assert_eq!(store.delivery(&d.id).await.unwrap(), Some(d.clone()));
        written.push(d);
        current = a;
    }
    assert_eq!(store.pending_in_channel(&channel).await.unwrap(), written);
}

async fn submit_score_other_attempt_in_same_channel_is_ordered_with_it(fx: &StoreFixture) {
    let store = fx.store();
    let first = seed_main_attempt(store).await;
    let second = seed_attempt(store, &main_scope(), "link-1", "learner-1", "attempt-2").await;
    assert_eq!(channel_of(&first.key), channel_of(&second.key));
    submit_ok(store, &first, "delivery-1", 4.0, T0).await;

    // The channel is the learner on the link, not the attempt: the second attempt's score
    // must still be later than the first attempt's.
    let (a, d) = scored(&second, "delivery-2", 6.0, T0);
    assert_store_error!(store.submit_score(&a, &d).await, AlreadyExists);
    assert_eq!(
        store.attempt(&second.key).await.unwrap(),
        Some(second.clone())
    );
    assert_eq!(store.delivery(&d.id).await.unwrap(), None);

    let (a, d) = submit_ok(store, &second, "delivery-2", 6.0, T0 + ms(1)).await;
    assert_eq!(store.attempt(&second.key).await.unwrap(), Some(a));
    assert_eq!(
        ids(&store.pending_in_channel(&d.channel()).await.unwrap()),
        ["delivery-1", "delivery-2"]
    );
    assert_eq!(
        store.last_score_time(&d.channel()).await.unwrap(),
        Some(T0 + ms(1))
    );
}

async fn submit_score_duplicate_delivery_id_fails_already_exists_and_writes_nothing(
    fx: &StoreFixture,
) {
    let store = fx.store();
    let attempt = seed_main_attempt(store).await;
    let (first, first_delivery) = submit_ok(store, &attempt, "delivery-1", 4.0, T0).await;
    let channel = channel_of(&attempt.key);

    // The same id again, with a later score, in the same channel and in another one.
    let other = seed_attempt(store, &main_scope(), "link-2", "learner-2", "attempt-1").await;
    for target in [&first, &other] {
        let (a, d) = scored(target, "delivery-1", 9.0, T0 + ms(5));
        assert_store_error!(store.submit_score(&a, &d).await, AlreadyExists);
        assert_eq!(store.last_score_time(&d.channel()).await.unwrap(), {
            if d.channel() == channel {
                Some(T0)
            } else {
                None
            }
        });
    }
    assert_eq!(store.attempt(&attempt.key).await.unwrap(), Some(first));
    assert_eq!(
        store.attempt(&other.key).await.unwrap(),
        Some(other.clone())
    );
    assert_eq!(
        store.delivery(&first_delivery.id).await.unwrap(),
        Some(first_delivery.clone())
    );
    assert_eq!(
        store.pending_in_channel(&channel).await.unwrap(),
        vec![first_delivery]
    );
    assert_eq!(
        store
            .pending_in_channel(&channel_of(&other.key))
            .await
            .unwrap(),
        Vec::new()
    );
}

async fn submit_score_other_user_link_or_scope_is_independent_channel(fx: &StoreFixture) {
    let store = fx.store();
    let base = seed_main_attempt(store).await;
    submit_ok(store, &base, "delivery-base", 5.0, T0).await;
    let others = [
        seed_attempt(store, &main_scope(), "link-1", "learner-2", "attempt-1").await,
        seed_attempt(store, &main_scope(), "link-2", "learner-1", "attempt-1").await,
        seed_attempt(
            store,
            &lti13("https://lms.example", "client-2"),
            "link-1",
            "learner-1",
            "attempt-1",
        )
        .await,
        seed_attempt(
            store,
            &lti13("https://lms2.example", "client-1"),
            "link-1",
            "learner-1",
            "attempt-1",
        )
        .await,
        seed_attempt(
            store,
            &lti11("client-1"),
            "link-1",
            "learner-1",
            "attempt-1",
        )
        .await,
    ];
    // Each gets a score at the base channel's timestamp and an earlier one: neither is
    // refused, since each channel orders only its own scores.
    for (n, other) in others.iter().enumerate() {
        let channel = channel_of(&other.key);
        assert_ne!(channel, channel_of(&base.key), "{:?}", other.key);
        assert_eq!(store.last_score_time(&channel).await.unwrap(), None);
        let (a, first) =
            submit_ok(store, other, &format!("delivery-{n}-a"), 1.0, T0 - ms(10)).await;
        let (_, second) = submit_ok(store, &a, &format!("delivery-{n}-b"), 2.0, T0).await;
        assert_eq!(store.last_score_time(&channel).await.unwrap(), Some(T0));
        assert_eq!(
            store.pending_in_channel(&channel).await.unwrap(),
            vec![first, second]
        );
    }
    let channel = channel_of(&base.key);
    assert_eq!(store.last_score_time(&channel).await.unwrap(), Some(T0));
    assert_eq!(
        ids(&store.pending_in_channel(&channel).await.unwrap()),
        ["delivery-base"]
    );
}

async fn submit_score_sixteen_concurrent_same_timestamp_exactly_one_succeeds(fx: &StoreFixture) {
    let attempt = seed_main_attempt(fx.store()).await;
    let start = Arc::new(tokio::sync::Barrier::new(16));
    let tasks: Vec<_> = (0..16)
        .map(|n| {
            let store = fx.shared();
            let start = Arc::clone(&start);
            let (a, d) = scored(&attempt, &format!("delivery-{n:02}"), f64::from(n), T0);
            tokio::spawn(async move {
                start.wait().await;
                (n, store.submit_score(&a, &d).await)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        let (n, outcome) = task.await.unwrap();
        match outcome {
            Ok(()) => winners.push(n),
            Err(StoreError::AlreadyExists(_)) => {}
            Err(e) => panic!("caller {n} failed: {e:?}"),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "callers whose score was accepted: {winners:?}"
    );
    let store = fx.store();
    let pending = store
        .pending_in_channel(&channel_of(&attempt.key))
        .await
        .unwrap();
    assert_eq!(ids(&pending), [format!("delivery-{:02}", winners[0])]);
    assert_eq!(
        store.attempt(&attempt.key).await.unwrap().unwrap().score,
        Some(pending[0].score.clone()),
        "the attempt carries the winner's score"
    );
}

async fn last_score_time_unknown_channel_is_none(fx: &StoreFixture) {
    let store = fx.store();
    let attempt = seed_main_attempt(store).await;
    assert_eq!(
        store
            .last_score_time(&channel_of(&attempt.key))
            .await
            .unwrap(),
        None,
        "an attempt without a score has no channel time"
    );
    assert_eq!(
        store.last_score_time("no-such-channel").await.unwrap(),
        None
    );
}

async fn last_score_time_sub_millisecond_timestamp_is_truncated_to_millis(fx: &StoreFixture) {
    let store = fx.store();
    let attempt = seed_main_attempt(store).await;
    let at = datetime!(2026-05-04 10:00:00.123456789 UTC);
    let (a, d) = submit_ok(store, &attempt, "delivery-1", 5.0, at).await;
    assert_eq!(
        store.last_score_time(&d.channel()).await.unwrap(),
        Some(truncate_to_millis(at))
    );
    assert_eq!(truncate_to_millis(at), T0);
    // The score itself is kept as given.
    assert_eq!(store.delivery(&d.id).await.unwrap(), Some(d.clone()));
    assert_eq!(store.attempt(&a.key).await.unwrap(), Some(a.clone()));
    // The next millisecond is later.
    submit_ok(store, &a, "delivery-2", 6.0, T0 + ms(1)).await;
    assert_eq!(
        store.last_score_time(&d.channel()).await.unwrap(),
        Some(T0 + ms(1))
    );
}

// ---------------------------------------------------------------------------------------------
// delivery and update_delivery

async fn delivery_unknown_is_none(fx: &StoreFixture) {
    let store = fx.store();
    assert_eq!(
        store
            .delivery(&delivery_id("no-such-delivery"))
            .await
            .unwrap(),
        None
    );
    let attempt = seed_main_attempt(store).await;
    submit_ok(store, &attempt, "delivery-1", 5.0, T0).await;
    assert_eq!(
        store.delivery(&delivery_id("delivery-2")).await.unwrap(),
        None
    );
    assert_eq!(
        store.delivery(&delivery_id("delivery-")).await.unwrap(),
        None
    );
}

async fn delivery_written_by_one_instance_is_read_by_another(fx: &StoreFixture) {
    let attempt = seed_main_attempt(fx.store()).await;
    let (a, d) = submit_ok(fx.store(), &attempt, "delivery-1", 5.0, T0).await;
    let other = fx.reopen().await;
    assert_eq!(other.delivery(&d.id).await.unwrap(), Some(d.clone()));
    assert_eq!(other.attempt(&a.key).await.unwrap(), Some(a.clone()));
    assert_eq!(other.last_score_time(&d.channel()).await.unwrap(), Some(T0));
    let (b, e) = scored(&a, "delivery-2", 6.0, T0);
    assert_store_error!(other.submit_score(&b, &e).await, AlreadyExists);
}

async fn update_delivery_existing_replaces_status_tries_history_and_next_try(fx: &StoreFixture) {
    let store = fx.store();
    let attempt = seed_main_attempt(store).await;
    let (_, d) = submit_ok(store, &attempt, "delivery-1", 5.0, T0).await;

    // A failed try: still pending, retried later.
    let mut retried = d.clone();
    retried.record_try(tried(
        T0 + ms(300),
        "retry",
        Some(503),
        Some("platform unavailable"),
    ));
    retried.next_try_at = T0 + Duration::minutes(1);
    retried.last_error = Some("HTTP 503: platform unavailable".to_owned());
    store.update_delivery(&retried).await.unwrap();
    assert_eq!(store.delivery(&d.id).await.unwrap(), Some(retried.clone()));
    assert_eq!(
        store.pending_in_channel(&d.channel()).await.unwrap(),
        vec![retried.clone()]
    );

    // Then delivered: every field of the update is what is read back.
    let mut delivered = retried.clone();
    delivered.record_try(tried(
        T0 + Duration::minutes(1),
        "retry",
        None,
        Some("timed out"),
    ));
    delivered.record_try(tried(
        T0 + Duration::minutes(3),
        "delivered",
        Some(200),
        None,
    ));
    delivered.status = DeliveryStatus::Delivered;
    delivered.next_try_at = T0 + Duration::minutes(3);
    delivered.last_error = None;
    delivered.delivered_at = Some(T0 + Duration::minutes(3) + ms(17));
    delivered.target = DeliveryTarget::Ags {
        lineitem: Some(
            LineItemUrl::parse("https://lms.example/api/lti/courses/1/line_items/8").unwrap(),
        ),
        lineitems: None,
        scopes: Vec::new(),
        label: None,
    };
    assert_eq!(delivered.tries, 3);
    store.update_delivery(&delivered).await.unwrap();
    assert_eq!(
        store.delivery(&d.id).await.unwrap(),
        Some(delivered.clone())
    );
    assert_eq!(
        store.pending_in_channel(&d.channel()).await.unwrap(),
        Vec::new()
    );
    assert_eq!(
        store
            .deliveries_with_status(DeliveryStatus::Delivered, 10)
            .await
            .unwrap(),
        vec![delivered]
    );
    assert_eq!(
        store
            .deliveries_with_status(DeliveryStatus::Pending, 10)
            .await
            .unwrap(),
        Vec::new()
    );
    // The attempt is not touched by delivery updates, nor the channel's time.
    assert_eq!(store.last_score_time(&d.channel()).await.unwrap(), Some(T0));
}

async fn update_delivery_unknown_fails_not_found(fx: &StoreFixture) {
    let store = fx.store();
    let attempt = seed_main_attempt(store).await;
    // Never submitted, in an empty store and beside an existing delivery of the same channel.
    let (_, ghost) = scored(&attempt, "ghost", 5.0, T0);
    assert_store_error!(store.update_delivery(&ghost).await, NotFound);
    assert_eq!(store.delivery(&ghost.id).await.unwrap(), None);

    let (_, d) = submit_ok(store, &attempt, "delivery-1", 5.0, T0).await;
    let ghost = Delivery {
        status: DeliveryStatus::Delivered,
        ..ghost
    };
    assert_store_error!(store.update_delivery(&ghost).await, NotFound);
    assert_eq!(store.delivery(&ghost.id).await.unwrap(), None);
    assert_eq!(store.delivery(&d.id).await.unwrap(), Some(d.clone()));
    assert_eq!(
        store.pending_in_channel(&d.channel()).await.unwrap(),
        vec![d]
    );
}

// ---------------------------------------------------------------------------------------------
// Queries

async fn pending_in_channel_returns_only_pending_oldest_score_first(fx: &StoreFixture) {
    let store = fx.store();
    let attempt = seed_main_attempt(store).await;
    // Ids and next try times both run against the score order, so only ordering by score
    // timestamp gives the expected answer. The timestamps span a power of ten of
    // milliseconds, which a textual sort of unpadded numbers would get wrong.
    let plan = [
        ("delivery-z", T0, T0 + Duration::hours(4)),
        ("delivery-y", T0 + ms(9), T0 + Duration::hours(3)),
        ("delivery-x", T0 + ms(10), T0 + Duration::hours(2)),
        ("delivery-w", T0 + ms(200), T0 + Duration::hours(1)),
        ("delivery-v", T0 + Duration::days(3), T0),
    ];
    let mut current = attempt.clone();
    let mut written = Vec::new();
    for (n, (id, at, next_try)) in plan.into_iter().enumerate() {
        let (a, d) = scored(&current, id, n as f64, at);
        let d = Delivery {
            next_try_at: next_try,
            ..d
        };
        store.submit_score(&a, &d).await.unwrap();
        current = a;
        written.push(d);
    }
    // Another learner's pending delivery on the same link.
    let other = seed_attempt(store, &main_scope(), "link-1", "learner-2", "attempt-1").await;
    submit_ok(store, &other, "delivery-other", 1.0, T0 + ms(1)).await;

    let channel = channel_of(&attempt.key);
    assert_eq!(store.pending_in_channel(&channel).await.unwrap(), written);

    set_status(store, &written[1], DeliveryStatus::Delivered, T0).await;
    set_status(store, &written[3], DeliveryStatus::Failed, T0).await;
    set_status(store, &written[4], DeliveryStatus::Dead, T0).await;
    let retried = set_status(
        store,
        &written[0],
        DeliveryStatus::Pending,
        T0 + Duration::days(9),
    )
    .await;
    assert_eq!(
        store.pending_in_channel(&channel).await.unwrap(),
        vec![retried, written[2].clone()]
    );
    assert_eq!(
        ids(&store
            .pending_in_channel(&channel_of(&other.key))
            .await
            .unwrap()),
        ["delivery-other"]
    );
}

async fn deliveries_in_channel_returns_every_status_oldest_score_first(fx: &StoreFixture) {
    let store = fx.store();
    let attempt = seed_main_attempt(store).await;
    let (a, first) = scored(&attempt, "delivery-b", 1.0, T0);
    store.submit_score(&a, &first).await.unwrap();
    let (a, second) = scored(&a, "delivery-a", 2.0, T0 + ms(10));
    store.submit_score(&a, &second).await.unwrap();
    let delivered = set_status(store, &first, DeliveryStatus::Delivered, T0).await;
    let other = seed_attempt(store, &main_scope(), "link-1", "learner-2", "attempt-1").await;
    submit_ok(store, &other, "delivery-other", 1.0, T0 + ms(1)).await;
    assert_eq!(
        store
            .deliveries_in_channel(&channel_of(&attempt.key))
            .await
            .unwrap(),
        vec![delivered, second]
    );
    assert!(
        store
            .deliveries_in_channel("no-such-channel")
            .await
            .unwrap()
            .is_empty()
    );
}

async fn pending_in_channel_unknown_channel_is_empty(fx: &StoreFixture) {
    let store = fx.store();
    let attempt = seed_main_attempt(store).await;
    let channel = channel_of(&attempt.key);
    assert_eq!(
        store.pending_in_channel(&channel).await.unwrap(),
        Vec::new()
    );
    assert_eq!(
        store.pending_in_channel("no-such-channel").await.unwrap(),
        Vec::new()
    );
    // A channel whose only delivery is no longer pending.
    let (_, d) = submit_ok(store, &attempt, "delivery-1", 5.0, T0).await;
    set_status(store, &d, DeliveryStatus::Delivered, T0).await;
    assert_eq!(
        store.pending_in_channel(&channel).await.unwrap(),
        Vec::new()
    );
}

/// Deliveries in four channels of every status, with next try times unrelated to the order
/// they were written in or to their ids; two share a next try time (ids break the tie).
/// Returns them in their expected order (next try time, then id) with their final status.
async fn seed_statuses(store: &dyn Store) -> Vec<Delivery> {
    let plan = [
        // (channel user, id, status, next try)
        (
            "learner-1",
            "d-05",
            DeliveryStatus::Pending,
            T0 + Duration::minutes(30),
        ),
        (
            "learner-2",
            "d-01",
            DeliveryStatus::Delivered,
            T0 + Duration::minutes(2),
        ),
        (
            "learner-3",
            "d-09",
            DeliveryStatus::Pending,
            T0 - Duration::minutes(5),
        ),
        (
            "learner-4",
            "d-03",
            DeliveryStatus::Failed,
            T0 - Duration::minutes(50),
        ),
        ("learner-1", "d-02", DeliveryStatus::Pending, T0),
        (
            "learner-2",
            "d-07",
            DeliveryStatus::Dead,
            T0 - Duration::days(2),
        ),
        (
            "learner-3",
            "d-04",
            DeliveryStatus::Pending,
            T0 - Duration::minutes(5),
        ),
        ("learner-4", "d-08", DeliveryStatus::Pending, T0 + ms(1)),
        (
            "learner-1",
            "d-06",
            DeliveryStatus::Delivered,
            T0 - Duration::hours(1),
        ),
        (
            "learner-2",
            "d-10",
            DeliveryStatus::Pending,
            T0 - Duration::days(3),
        ),
    ];
    let mut attempts = std::collections::HashMap::new();
    let mut all = Vec::new();
    for (n, (user, id, status, next_try)) in plan.into_iter().enumerate() {
        let attempt = match attempts.remove(user) {
            Some(a) => a,
            None => seed_attempt(store, &main_scope(), "link-1", user, "attempt-1").await,
        };
        let (a, d) = scored(&attempt, id, 1.0, T0 - Duration::days(10) + ms(n as i64));
        let d = Delivery {
            next_try_at: next_try,
            ..d
        };
        store.submit_score(&a, &d).await.unwrap();
        attempts.insert(user, a);
        // Set the final status (and next try) by an update, as the sender does.
        let final_d = if status == DeliveryStatus::Pending && n % 2 == 0 {
            d
        } else {
            set_status(store, &d, status, next_try).await
        };
        all.push(final_d);
    }
    all.sort_by(|a, b| (a.next_try_at, &a.id).cmp(&(b.next_try_at, &b.id)));
    all
}

fn with_status(all: &[Delivery], status: DeliveryStatus) -> Vec<Delivery> {
    all.iter().filter(|d| d.status == status).cloned().collect()
}

async fn deliveries_with_status_returns_only_that_status_by_next_try_then_id(fx: &StoreFixture) {
    let store = fx.store();
    let all = seed_statuses(store).await;
    for status in [
        DeliveryStatus::Pending,
        DeliveryStatus::Delivered,
        DeliveryStatus::Failed,
        DeliveryStatus::Dead,
    ] {
        let expected = with_status(&all, status);
        let found = store.deliveries_with_status(status, 100).await.unwrap();
        assert_eq!(ids(&found), ids(&expected), "{status:?}");
        assert_eq!(found, expected, "{status:?}");
    }
    // The tie on next try time is broken by id.
    assert_eq!(
        ids(&with_status(&all, DeliveryStatus::Pending)),
        ["d-10", "d-04", "d-09", "d-02", "d-08", "d-05"]
    );
}

async fn deliveries_with_status_respects_limit(fx: &StoreFixture) {
    let store = fx.store();
    let all = seed_statuses(store).await;
    let pending = with_status(&all, DeliveryStatus::Pending);
    for limit in [0, 1, 3, 6, 7] {
        assert_eq!(
            store
                .deliveries_with_status(DeliveryStatus::Pending, limit)
                .await
                .unwrap(),
            pending.iter().take(limit).cloned().collect::<Vec<_>>(),
            "limit {limit}"
        );
    }
}

async fn due_deliveries_returns_only_pending_due_at_now_earliest_first(fx: &StoreFixture) {
    let store = fx.store();
    let all = seed_statuses(store).await;
    let due = |now: OffsetDateTime| -> Vec<Delivery> {
        all.iter()
            .filter(|d| d.status == DeliveryStatus::Pending && d.next_try_at <= now)
            .cloned()
            .collect()
    };
    // d-02 is due exactly at T0 and d-08 a millisecond later.
    assert_eq!(ids(&due(T0)), ["d-10", "d-04", "d-09", "d-02"]);
    for now in [
        T0 - Duration::days(4),
        T0 - Duration::minutes(5),
        T0 - ms(1),
        T0,
        T0 + ms(1),
        T0 + Duration::days(1),
    ] {
        let found = store.due_deliveries(now, 100).await.unwrap();
        assert_eq!(ids(&found), ids(&due(now)), "at {now}");
        assert_eq!(found, due(now), "at {now}");
    }
}

async fn due_deliveries_respects_limit(fx: &StoreFixture) {
    let store = fx.store();
    let all = seed_statuses(store).await;
    let due: Vec<Delivery> = all
        .iter()
        .filter(|d| d.status == DeliveryStatus::Pending && d.next_try_at <= T0)
        .cloned()
        .collect();
    assert_eq!(due.len(), 4);
    for limit in [0, 1, 2, 4, 5] {
        assert_eq!(
            store.due_deliveries(T0, limit).await.unwrap(),
            due.iter().take(limit).cloned().collect::<Vec<_>>(),
            "limit {limit}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Channel leases

fn some_channel() -> String {
    channel_of(&attempt_key(
        &main_scope(),
        "link-1",
        "learner-1",
        "attempt-1",
    ))
}

async fn lease_channel_free_is_granted_and_refused_to_another_while_live(fx: &StoreFixture) {
    let store = fx.store();
    let channel = some_channel();
    let until = T0 + Duration::seconds(30);
    assert!(
        store
            .lease_channel(&channel, "worker-a", until, T0)
            .await
            .unwrap()
    );
    for now in [T0, T0 + Duration::seconds(10), until - ms(1)] {
        assert!(
            !store
                .lease_channel(&channel, "worker-b", now + Duration::minutes(5), now)
                .await
                .unwrap(),
            "another owner at {now}"
        );
    }
}

async fn lease_channel_expired_is_granted_to_another_owner(fx: &StoreFixture) {
    let store = fx.store();
    let channel = some_channel();
    let until = T0 + Duration::seconds(30);
    assert!(
        store
            .lease_channel(&channel, "worker-a", until, T0)
            .await
            .unwrap()
    );
    let later = until + ms(1);
    assert!(
        store
            .lease_channel(&channel, "worker-b", later + Duration::seconds(30), later)
            .await
            .unwrap()
    );
    // worker-b now holds it: worker-a is refused until it expires.
    assert!(
        !store
            .lease_channel(&channel, "worker-a", later + Duration::minutes(5), later)
            .await
            .unwrap()
    );
}

async fn lease_channel_same_owner_renews(fx: &StoreFixture) {
    let store = fx.store();
    let channel = some_channel();
    let first_until = T0 + Duration::seconds(30);
    assert!(
        store
            .lease_channel(&channel, "worker-a", first_until, T0)
            .await
            .unwrap()
    );
    let renewed_until = T0 + Duration::seconds(90);
    let at = T0 + Duration::seconds(20);
    assert!(
        store
            .lease_channel(&channel, "worker-a", renewed_until, at)
            .await
            .unwrap(),
        "the holder renews its live lease"
    );
    // The renewal moved the expiry: past the first one, another owner is still refused.
    let at = first_until + ms(1);
    assert!(
        !store
            .lease_channel(&channel, "worker-b", at + Duration::seconds(30), at)
            .await
            .unwrap()
    );
    let at = renewed_until + ms(1);
    assert!(
        store
            .lease_channel(&channel, "worker-b", at + Duration::seconds(30), at)
            .await
            .unwrap()
    );
}

async fn lease_channel_channels_are_independent(fx: &StoreFixture) {
    let store = fx.store();
    let until = T0 + Duration::seconds(30);
    let channels = [
        some_channel(),
        channel_of(&attempt_key(
            &main_scope(),
            "link-1",
            "learner-2",
            "attempt-1",
        )),
        channel_of(&attempt_key(
            &main_scope(),
            "link-2",
            "learner-1",
            "attempt-1",
        )),
        channel_of(&attempt_key(
            &lti11("client-1"),
            "link-1",
            "learner-1",
            "attempt-1",
        )),
    ];
    for (n, channel) in channels.iter().enumerate() {
        let owner = format!("worker-{n}");
        assert!(
            store
                .lease_channel(channel, &owner, until, T0)
                .await
                .unwrap(),
            "{channel}"
        );
    }
    for (n, channel) in channels.iter().enumerate() {
        assert!(
            !store
                .lease_channel(channel, "intruder", until, T0)
                .await
                .unwrap(),
            "{channel}"
        );
        store
            .release_channel(channel, &format!("worker-{n}"))
            .await
            .unwrap();
        assert!(
            store
                .lease_channel(channel, "intruder", until, T0)
                .await
                .unwrap(),
            "{channel}"
        );
        // The other channels are still held by their own workers.
        for later in &channels[n + 1..] {
            assert!(
                !store
                    .lease_channel(later, "intruder", until, T0)
                    .await
                    .unwrap(),
                "{later}"
            );
        }
    }
}

async fn lease_channel_sixteen_concurrent_owners_exactly_one_granted(fx: &StoreFixture) {
    let channel = some_channel();
    let start = Arc::new(tokio::sync::Barrier::new(16));
    let tasks: Vec<_> = (0..16)
        .map(|n| {
            let store = fx.shared();
            let start = Arc::clone(&start);
            let channel = channel.clone();
            tokio::spawn(async move {
                start.wait().await;
                let owner = format!("worker-{n}");
                let granted = store
                    .lease_channel(&channel, &owner, T0 + Duration::seconds(30), T0)
                    .await
                    .unwrap();
                (owner, granted)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        let (owner, granted) = task.await.unwrap();
        if granted {
            winners.push(owner);
        }
    }
    assert_eq!(winners.len(), 1, "owners granted the lease: {winners:?}");
    // The winner holds it: it renews, nobody else gets it.
    let store = fx.store();
    assert!(
        store
            .lease_channel(&channel, &winners[0], T0 + Duration::seconds(60), T0)
            .await
            .unwrap()
    );
    assert!(
        !store
            .lease_channel(&channel, "latecomer", T0 + Duration::seconds(60), T0)
            .await
            .unwrap()
    );
}

async fn release_channel_by_other_owner_keeps_lease(fx: &StoreFixture) {
    let store = fx.store();
    let channel = some_channel();
    let until = T0 + Duration::seconds(30);
    assert!(
        store
            .lease_channel(&channel, "worker-a", until, T0)
            .await
            .unwrap()
    );
    store.release_channel(&channel, "worker-b").await.unwrap();
    assert!(
        !store
            .lease_channel(&channel, "worker-b", until, T0)
            .await
            .unwrap()
    );
    assert!(
        store
            .lease_channel(&channel, "worker-a", until, T0)
            .await
            .unwrap(),
        "the holder still holds it"
    );
}

async fn release_channel_by_owner_frees_it(fx: &StoreFixture) {
    let store = fx.store();
    let channel = some_channel();
    let until = T0 + Duration::seconds(30);
    assert!(
        store
            .lease_channel(&channel, "worker-a", until, T0)
            .await
            .unwrap()
    );
    store.release_channel(&channel, "worker-a").await.unwrap();
    // Free at once, long before the released lease would have expired.
    assert!(
        store
            .lease_channel(&channel, "worker-b", until, T0)
            .await
            .unwrap()
    );
    // worker-a released it and no longer holds it: releasing again does not free it.
    store.release_channel(&channel, "worker-a").await.unwrap();
    assert!(
        !store
            .lease_channel(&channel, "worker-c", until, T0)
            .await
            .unwrap()
    );
}

async fn release_channel_unheld_succeeds(fx: &StoreFixture) {
    let store = fx.store();
    let channel = some_channel();
    store.release_channel(&channel, "worker-a").await.unwrap();
    let attempt = seed_main_attempt(store).await;
    submit_ok(store, &attempt, "delivery-1", 5.0, T0).await;
    store.release_channel(&channel, "worker-a").await.unwrap();
    assert!(
        store
            .lease_channel(&channel, "worker-b", T0 + Duration::seconds(30), T0)
            .await
            .unwrap()
    );
    assert_eq!(store.last_score_time(&channel).await.unwrap(), Some(T0));
}

async fn lease_channel_without_score_last_score_time_is_none(fx: &StoreFixture) {
    let store = fx.store();
    let channel = some_channel();
    assert!(
        store
            .lease_channel(&channel, "worker-a", T0 + Duration::seconds(30), T0)
            .await
            .unwrap()
    );
    assert_eq!(
        store.last_score_time(&channel).await.unwrap(),
        None,
        "a lease is not a score"
    );
    store.release_channel(&channel, "worker-a").await.unwrap();
    assert_eq!(store.last_score_time(&channel).await.unwrap(), None);
}

async fn lease_channel_keeps_last_score_and_its_ordering(fx: &StoreFixture) {
    let store = fx.store();
    let attempt = seed_main_attempt(store).await;
    let (a, _) = submit_ok(store, &attempt, "delivery-1", 5.0, T0).await;
    let channel = channel_of(&attempt.key);
    assert!(
        store
            .lease_channel(&channel, "worker-a", T0 + Duration::seconds(30), T0)
            .await
            .unwrap()
    );
    assert_eq!(store.last_score_time(&channel).await.unwrap(), Some(T0));
    store.release_channel(&channel, "worker-a").await.unwrap();
    assert_eq!(store.last_score_time(&channel).await.unwrap(), Some(T0));
    let (b, d) = scored(&a, "delivery-2", 6.0, T0);
    assert_store_error!(store.submit_score(&b, &d).await, AlreadyExists);
    submit_ok(store, &a, "delivery-2", 6.0, T0 + ms(1)).await;
}

async fn submit_score_keeps_channel_lease(fx: &StoreFixture) {
    let store = fx.store();
    let attempt = seed_main_attempt(store).await;
    let channel = channel_of(&attempt.key);
    let until = T0 + Duration::seconds(30);
    // Leased before the channel's first score, then scored twice while leased.
    assert!(
        store
            .lease_channel(&channel, "worker-a", until, T0)
            .await
            .unwrap()
    );
    let (a, _) = submit_ok(store, &attempt, "delivery-1", 5.0, T0).await;
    submit_ok(store, &a, "delivery-2", 6.0, T0 + ms(1)).await;
    assert_eq!(
        store.last_score_time(&channel).await.unwrap(),
        Some(T0 + ms(1))
    );
    assert!(
        !store
            .lease_channel(&channel, "worker-b", until, T0)
            .await
            .unwrap(),
        "the lease survives the scores"
    );
    assert!(
        store
            .lease_channel(&channel, "worker-a", until, T0)
            .await
            .unwrap()
    );
}
