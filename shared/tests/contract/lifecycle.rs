//! `DataLifecycle`: finding everything held on a person or a context, removing it record by
//! record (idempotently), the audit log, the retention listings; and the erasure, export and
//! purge operations of `lti_shared::app::lifecycle` and `lti_shared::app::export` built on them.

use lti_shared::app::export::{Selection, attempt_rows};
use lti_shared::app::lifecycle::{
    Retention, erase_context, erase_user, export_user, purge_expired,
};
use lti_shared::domain::audit::{
    AuditAction, AuditEntry, ErasureCounts, SubjectKind, subject_hash,
};
use lti_shared::domain::ids::{
    AttemptId, ClientId, ConsumerKey, ContextId, DeliveryId, Issuer, LineItemUrl, ResourceLinkId,
    UserId,
};
use lti_shared::domain::model::{Attempt, AttemptKey, Context, PlatformScope, ResourceLink, User};
use lti_shared::domain::outbox::{Delivery, DeliveryStatus, DeliveryTarget, channel_of};
use lti_shared::domain::score::{ActivityProgress, GradingProgress, Score};
use lti_shared::ports::Store;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::support::StoreFixture;

store_contracts!(
    attempts_of_user_spans_resource_links_and_only_theirs,
    attempts_of_user_unknown_is_empty,
    resource_links_of_context_returns_only_its_links,
    deliveries_of_attempt_returns_only_that_attempts,
    remove_delivery_removes_it_and_is_idempotent,
    remove_channel_forgets_last_score_time_and_is_idempotent,
    remove_attempt_removes_only_it_and_is_idempotent,
    remove_user_removes_record_and_is_idempotent,
    remove_resource_link_and_context_are_idempotent,
    attempts_inactive_since_returns_only_older_within_limit,
    users_not_seen_since_returns_only_older,
    append_audit_round_trips_oldest_first_and_refuses_duplicate_id,
    erase_user_removes_only_that_users_data_and_audits_without_ids,
    erase_user_repeated_removes_nothing_and_reports_earlier_entry,
    erase_user_interrupted_run_is_finished_by_a_second_run,
    erase_user_unknown_user_or_wrong_scope_removes_nothing,
    erase_context_removes_links_attempts_deliveries_and_context_only,
    purge_expired_removes_only_what_is_past_retention,
    purge_expired_forever_removes_nothing,
    export_user_gathers_user_attempts_deliveries_and_references,
    export_user_unknown_is_none,
    attempt_rows_resource_and_context_include_names_scores_and_delivery,
);

const T0: OffsetDateTime = datetime!(2026-05-04 09:00:00 UTC);

fn lti13(client_id: &str) -> PlatformScope {
    PlatformScope::lti13(
        Issuer::parse("https://lms.example").unwrap(),
        ClientId::parse(client_id).unwrap(),
        lti_shared::domain::ids::DeploymentId::parse("dep-1").unwrap(),
    )
}

fn main_scope() -> PlatformScope {
    lti13("client-1")
}

fn lti11() -> PlatformScope {
    PlatformScope::Lti11 {
        consumer_key: ConsumerKey::parse("moodle").unwrap(),
    }
}

fn uid(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

fn cid(id: &str) -> ContextId {
    ContextId::parse(id).unwrap()
}

fn lid(id: &str) -> ResourceLinkId {
    ResourceLinkId::parse(id).unwrap()
}

fn key(scope: &PlatformScope, link: &str, user: &str, attempt: &str) -> AttemptKey {
    AttemptKey {
        scope: scope.clone(),
        resource_link_id: lid(link),
        user_id: uid(user),
        attempt_id: AttemptId::parse(attempt).unwrap(),
    }
}

fn user(scope: &PlatformScope, id: &str, seen: OffsetDateTime) -> User {
    User {
        scope: scope.clone(),
        user_id: uid(id),
        name: Some(format!("Zoë {id}")),
        given_name: None,
        family_name: None,
        sis_id: Some(format!("SIS-{id}")),
        lti11: None,
        updated_at: seen,
    }
}

fn link(scope: &PlatformScope, id: &str, context: Option<&str>) -> ResourceLink {
    ResourceLink {
        scope: scope.clone(),
        resource_link_id: lid(id),
        context_id: context.map(cid),
        title: Some(format!("Quiz {id}")),
        description: None,
        ags: None,
        lti11: None,
        grading: Default::default(),
        updated_at: T0,
    }
}

fn context(scope: &PlatformScope, id: &str) -> Context {
    Context {
        scope: scope.clone(),
        context_id: cid(id),
        label: Some("BIO-101".into()),
        title: Some("Biology".into()),
        types: Vec::new(),
        memberships_url: None,
        lti11: None,
        updated_at: T0,
    }
}

/// Launches `user` on `link` (in `context`) in `scope`: writes the user, the context, the
/// link and attempt `attempt`, started at `at`.
async fn launch(
    store: &dyn Store,
    scope: &PlatformScope,
    ctx: &str,
    link_id: &str,
    user_id: &str,
    attempt: &str,
    at: OffsetDateTime,
) -> Attempt {
    store.put_user(&user(scope, user_id, at)).await.unwrap();
    store.put_context(&context(scope, ctx)).await.unwrap();
    store
        .put_resource_link(&link(scope, link_id, Some(ctx)))
        .await
        .unwrap();
    let a = Attempt {
        key: key(scope, link_id, user_id, attempt),
        context_id: Some(cid(ctx)),
        started_at: at,
        last_activity_at: at + Duration::minutes(5),
        roles: Default::default(),
        basic_outcome: None,
        score: None,
        closed_at: None,
    };
    store.create_attempt(&a).await.unwrap();
    a
}

/// Submits a score of `given`/10 on `attempt` at `at` with delivery `id`.
async fn score(store: &dyn Store, attempt: &Attempt, id: &str, given: f64, at: OffsetDateTime) {
    let s = Score {
        given,
        maximum: 10.0,
        activity_progress: ActivityProgress::Completed,
        grading_progress: GradingProgress::FullyGraded,
        comment: None,
        timestamp: at,
    };
    let updated = Attempt {
        score: Some(s.clone()),
        last_activity_at: at,
        ..attempt.clone()
    };
    let delivery = Delivery {
        id: DeliveryId::parse(id).unwrap(),
        attempt: attempt.key.clone(),
        score: s,
        target: DeliveryTarget::Ags {
            lineitem: Some(LineItemUrl::parse("https://lms.example/lineitems/1").unwrap()),
            lineitems: None,
            scopes: vec!["https://purl.imsglobal.org/spec/lti-ags/scope/score".into()],
            label: None,
        },
        status: DeliveryStatus::Pending,
        tries: 0,
        next_try_at: at,
        last_error: None,
        created_at: at,
        delivered_at: None,
        history: Vec::new(),
    };
    store.submit_score(&updated, &delivery).await.unwrap();
}

fn attempt_ids(list: &[Attempt]) -> Vec<(String, String, String)> {
    list.iter()
        .map(|a| {
            (
                a.key.resource_link_id.to_string(),
                a.key.user_id.to_string(),
                a.key.attempt_id.to_string(),
            )
        })
        .collect()
}

fn triple(link: &str, user: &str, attempt: &str) -> (String, String, String) {
    (link.into(), user.into(), attempt.into())
}

/// A small course: learners `ana` and `ben` on `quiz-1` and `quiz-2` of `bio`, `ana` also on
/// `quiz-9` of `chem`; scores on `ana`'s and `ben`'s `quiz-1` attempts; and, in another
/// platform, a learner with the same id `ana` in a context with the same id `bio`.
async fn seed_course(store: &dyn Store) -> Vec<Attempt> {
    let s = main_scope();
    let a1 = launch(store, &s, "bio", "quiz-1", "ana", "a1", T0).await;
    let a2 = launch(
        store,
        &s,
        "bio",
        "quiz-1",
        "ana",
        "a2",
        T0 + Duration::hours(1),
    )
    .await;
    let a3 = launch(store, &s, "bio", "quiz-2", "ana", "a3", T0).await;
    let a4 = launch(store, &s, "chem", "quiz-9", "ana", "a4", T0).await;
    let b1 = launch(store, &s, "bio", "quiz-1", "ben", "b1", T0).await;
    let other = launch(store, &lti11(), "bio", "quiz-1", "ana", "x1", T0).await;
    score(store, &a1, "d-a1", 7.0, T0 + Duration::minutes(10)).await;
    score(store, &a2, "d-a2", 8.0, T0 + Duration::minutes(70)).await;
    score(store, &b1, "d-b1", 5.0, T0 + Duration::minutes(10)).await;
    score(store, &other, "d-x1", 9.0, T0 + Duration::minutes(10)).await;
    vec![a1, a2, a3, a4, b1, other]
}

async fn attempts_of_user_spans_resource_links_and_only_theirs(f: &StoreFixture) {
    let store = f.store();
    seed_course(store).await;
    let list = store
        .attempts_of_user(&main_scope(), &uid("ana"))
        .await
        .unwrap();
    assert_eq!(
        attempt_ids(&list),
        vec![
            triple("quiz-1", "ana", "a1"),
            triple("quiz-1", "ana", "a2"),
            triple("quiz-2", "ana", "a3"),
            triple("quiz-9", "ana", "a4"),
        ]
    );
    assert_eq!(list[0].score.as_ref().unwrap().given, 7.0);
    let other = store.attempts_of_user(&lti11(), &uid("ana")).await.unwrap();
    assert_eq!(attempt_ids(&other), vec![triple("quiz-1", "ana", "x1")]);
}

async fn attempts_of_user_unknown_is_empty(f: &StoreFixture) {
    let store = f.store();
    seed_course(store).await;
    assert!(
        store
            .attempts_of_user(&main_scope(), &uid("zed"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .attempts_of_user(&lti13("client-2"), &uid("ana"))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn resource_links_of_context_returns_only_its_links(f: &StoreFixture) {
    let store = f.store();
    seed_course(store).await;
    store
        .put_resource_link(&link(&main_scope(), "loose", None))
        .await
        .unwrap();
    let ids = |list: Vec<ResourceLink>| -> Vec<String> {
        list.into_iter()
            .map(|l| l.resource_link_id.to_string())
            .collect()
    };
    let bio = store
        .resource_links_of_context(&main_scope(), &cid("bio"))
        .await
        .unwrap();
    assert_eq!(ids(bio), ["quiz-1", "quiz-2"]);
    let chem = store
        .resource_links_of_context(&main_scope(), &cid("chem"))
        .await
        .unwrap();
    assert_eq!(ids(chem), ["quiz-9"]);
    let other = store
        .resource_links_of_context(&lti11(), &cid("bio"))
        .await
        .unwrap();
    assert_eq!(ids(other), ["quiz-1"]);
    assert!(
        store
            .resource_links_of_context(&main_scope(), &cid("none"))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn deliveries_of_attempt_returns_only_that_attempts(f: &StoreFixture) {
    let store = f.store();
    let seeded = seed_course(store).await;
    let of =
        |d: Vec<Delivery>| -> Vec<String> { d.into_iter().map(|d| d.id.to_string()).collect() };
    assert_eq!(
        of(store.deliveries_of_attempt(&seeded[0].key).await.unwrap()),
        ["d-a1"]
    );
    assert_eq!(
        of(store.deliveries_of_attempt(&seeded[1].key).await.unwrap()),
        ["d-a2"]
    );
    assert!(
        store
            .deliveries_of_attempt(&seeded[2].key)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        of(store.deliveries_of_attempt(&seeded[5].key).await.unwrap()),
        ["d-x1"]
    );
}

async fn remove_delivery_removes_it_and_is_idempotent(f: &StoreFixture) {
    let store = f.store();
    let seeded = seed_course(store).await;
    let d = store
        .deliveries_of_attempt(&seeded[0].key)
        .await
        .unwrap()
        .remove(0);
    assert!(store.remove_delivery(&d).await.unwrap());
    assert!(store.delivery(&d.id).await.unwrap().is_none());
    assert!(
        store
            .deliveries_of_attempt(&seeded[0].key)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(!store.remove_delivery(&d).await.unwrap());
    assert!(
        store
            .delivery(&DeliveryId::parse("d-a2").unwrap())
            .await
            .unwrap()
            .is_some()
    );
    let pending = store
        .deliveries_with_status(DeliveryStatus::Pending, 100)
        .await
        .unwrap();
    assert!(pending.iter().all(|p| p.id != d.id));
}

async fn remove_channel_forgets_last_score_time_and_is_idempotent(f: &StoreFixture) {
    let store = f.store();
    let seeded = seed_course(store).await;
    let channel = channel_of(&seeded[0].key);
    assert!(store.last_score_time(&channel).await.unwrap().is_some());
    assert!(store.remove_channel(&channel).await.unwrap());
    assert_eq!(store.last_score_time(&channel).await.unwrap(), None);
    assert!(!store.remove_channel(&channel).await.unwrap());
    let ben = channel_of(&seeded[4].key);
    assert!(store.last_score_time(&ben).await.unwrap().is_some());
}

async fn remove_attempt_removes_only_it_and_is_idempotent(f: &StoreFixture) {
    let store = f.store();
    let seeded = seed_course(store).await;
    assert!(store.remove_attempt(&seeded[0].key).await.unwrap());
    assert!(store.attempt(&seeded[0].key).await.unwrap().is_none());
    assert!(!store.remove_attempt(&seeded[0].key).await.unwrap());
    assert!(store.attempt(&seeded[1].key).await.unwrap().is_some());
    assert!(store.attempt(&seeded[5].key).await.unwrap().is_some());
}

async fn remove_user_removes_record_and_is_idempotent(f: &StoreFixture) {
    let store = f.store();
    seed_course(store).await;
    assert!(store.remove_user(&main_scope(), &uid("ben")).await.unwrap());
    assert!(
        store
            .user(&main_scope(), &uid("ben"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(!store.remove_user(&main_scope(), &uid("ben")).await.unwrap());
    assert!(
        store
            .user(&main_scope(), &uid("ana"))
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.user(&lti11(), &uid("ana")).await.unwrap().is_some());
}

async fn remove_resource_link_and_context_are_idempotent(f: &StoreFixture) {
    let store = f.store();
    seed_course(store).await;
    let s = main_scope();
    assert!(
        store
            .remove_resource_link(&s, &lid("quiz-2"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .remove_resource_link(&s, &lid("quiz-2"))
            .await
            .unwrap()
    );
    assert!(
        store
            .resource_link(&s, &lid("quiz-2"))
            .await
            .unwrap()
            .is_none()
    );
    let bio = store
        .resource_links_of_context(&s, &cid("bio"))
        .await
        .unwrap();
    assert_eq!(bio.len(), 1);
    assert!(store.remove_context(&s, &cid("chem")).await.unwrap());
    assert!(!store.remove_context(&s, &cid("chem")).await.unwrap());
    assert!(store.context(&s, &cid("chem")).await.unwrap().is_none());
    assert!(
        store
            .context(&lti11(), &cid("bio"))
            .await
            .unwrap()
            .is_some()
    );
}

async fn attempts_inactive_since_returns_only_older_within_limit(f: &StoreFixture) {
    let store = f.store();
    seed_course(store).await;
    // a2 was last active at T0 + 70 min (its score); every other attempt earlier.
    let mut old = store
        .attempts_inactive_since(T0 + Duration::minutes(60), 100)
        .await
        .unwrap();
    old.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(old.len(), 5);
    assert!(old.iter().all(|a| a.key.attempt_id.as_str() != "a2"));
    assert!(
        store
            .attempts_inactive_since(T0, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .attempts_inactive_since(T0 + Duration::days(1), 2)
            .await
            .unwrap()
            .len(),
        2
    );
}

async fn users_not_seen_since_returns_only_older(f: &StoreFixture) {
    let store = f.store();
    seed_course(store).await;
    store
        .put_user(&user(&main_scope(), "ben", T0 + Duration::days(30)))
        .await
        .unwrap();
    let mut old: Vec<String> = store
        .users_not_seen_since(T0 + Duration::days(1), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|u| format!("{:?}/{}", u.scope, u.user_id))
        .collect();
    old.sort();
    assert_eq!(old.len(), 2, "{old:?}");
    assert!(old.iter().all(|u| u.ends_with("/ana")));
    assert!(
        store
            .users_not_seen_since(T0, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

fn entry(at: OffsetDateTime, id: &str) -> AuditEntry {
    let mut e = AuditEntry::new(
        at,
        AuditAction::UserErase,
        "ltictl user erase",
        Some(main_scope()),
        Some(subject_hash(SubjectKind::User, &main_scope(), "ana")),
        ErasureCounts {
            users: 1,
            attempts: 2,
            ..Default::default()
        },
    );
    e.id = id.into();
    e
}

async fn append_audit_round_trips_oldest_first_and_refuses_duplicate_id(f: &StoreFixture) {
    let store = f.store();
    assert!(store.audit_entries().await.unwrap().is_empty());
    let later = entry(T0 + Duration::hours(1), "b");
    let earlier = entry(T0, "a");
    store.append_audit(&later).await.unwrap();
    store.append_audit(&earlier).await.unwrap();
    assert_eq!(
        store.audit_entries().await.unwrap(),
        vec![earlier.clone(), later.clone()]
    );
    assert_store_error!(store.append_audit(&later).await, AlreadyExists);
    let reopened = f.reopen().await;
    assert_eq!(reopened.audit_entries().await.unwrap().len(), 2);
}

async fn erase_user_removes_only_that_users_data_and_audits_without_ids(f: &StoreFixture) {
    let store = f.store();
    let seeded = seed_course(store).await;
    let s = main_scope();
    let now = T0 + Duration::days(2);
    let report = erase_user(store, &s, &uid("ana"), now, "ltictl user erase")
        .await
        .unwrap();
    assert_eq!(
        report.counts,
        ErasureCounts {
            users: 1,
            attempts: 4,
            deliveries: 2,
            channels: 1,
            ..Default::default()
        }
    );
    assert!(report.earlier.is_empty());
    assert!(store.user(&s, &uid("ana")).await.unwrap().is_none());
    assert!(
        store
            .attempts_of_user(&s, &uid("ana"))
            .await
            .unwrap()
            .is_empty()
    );
    for a in &seeded[..4] {
        assert!(store.attempt(&a.key).await.unwrap().is_none());
        assert!(
            store
                .deliveries_of_attempt(&a.key)
                .await
                .unwrap()
                .is_empty()
        );
    }
    assert!(
        store
            .delivery(&DeliveryId::parse("d-a1").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .last_score_time(&channel_of(&seeded[0].key))
            .await
            .unwrap(),
        None
    );
    // Ben, and the other platform's "ana", are untouched; links and contexts stay.
    assert!(store.attempt(&seeded[4].key).await.unwrap().is_some());
    assert!(
        store
            .delivery(&DeliveryId::parse("d-b1").unwrap())
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.user(&lti11(), &uid("ana")).await.unwrap().is_some());
    assert!(store.attempt(&seeded[5].key).await.unwrap().is_some());
    assert!(
        store
            .resource_link(&s, &lid("quiz-1"))
            .await
            .unwrap()
            .is_some()
    );
    // The audit entry names the platform and a hash, never the id or the name.
    let log = store.audit_entries().await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0], report.audit.clone().unwrap());
    assert_eq!(log[0].scope, Some(s.clone()));
    let text = serde_json::to_string(&log[0]).unwrap();
    assert!(!text.contains("\"ana\"") && !text.contains("Zoë") && !text.contains("SIS-"));
    assert_eq!(
        log[0].subject.as_deref(),
        Some(subject_hash(SubjectKind::User, &s, "ana").as_str())
    );
}

async fn erase_user_repeated_removes_nothing_and_reports_earlier_entry(f: &StoreFixture) {
    let store = f.store();
    seed_course(store).await;
    let s = main_scope();
    let first = erase_user(store, &s, &uid("ana"), T0, "ltictl user erase")
        .await
        .unwrap();
    let again = erase_user(
        store,
        &s,
        &uid("ana"),
        T0 + Duration::hours(1),
        "ltictl user erase",
    )
    .await
    .unwrap();
    assert!(again.counts.is_empty());
    assert_eq!(again.audit, None);
    assert_eq!(again.earlier, vec![first.audit.unwrap()]);
    assert_eq!(store.audit_entries().await.unwrap().len(), 1);
}

async fn erase_user_interrupted_run_is_finished_by_a_second_run(f: &StoreFixture) {
    let store = f.store();
    let seeded = seed_course(store).await;
    let s = main_scope();
    // A first run that stopped part-way: one delivery, the channel and one attempt removed,
    // in erasure order, and the user record still there.
    let d = store
        .deliveries_of_attempt(&seeded[0].key)
        .await
        .unwrap()
        .remove(0);
    store.remove_delivery(&d).await.unwrap();
    store
        .remove_channel(&channel_of(&seeded[0].key))
        .await
        .unwrap();
    store.remove_attempt(&seeded[0].key).await.unwrap();
    let report = erase_user(store, &s, &uid("ana"), T0, "ltictl user erase")
        .await
        .unwrap();
    assert_eq!(report.counts.attempts, 3);
    assert_eq!(report.counts.deliveries, 1);
    assert_eq!(report.counts.users, 1);
    assert!(
        store
            .attempts_of_user(&s, &uid("ana"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .delivery(&DeliveryId::parse("d-a2").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.user(&s, &uid("ana")).await.unwrap().is_none());
}

async fn erase_user_unknown_user_or_wrong_scope_removes_nothing(f: &StoreFixture) {
    let store = f.store();
    let seeded = seed_course(store).await;
    for (scope, user) in [(main_scope(), "zed"), (lti13("client-2"), "ana")] {
        let report = erase_user(store, &scope, &uid(user), T0, "ltictl user erase")
            .await
            .unwrap();
        assert!(report.counts.is_empty());
        assert_eq!(report.audit, None);
    }
    for a in &seeded {
        assert!(store.attempt(&a.key).await.unwrap().is_some());
    }
    assert!(store.audit_entries().await.unwrap().is_empty());
}

async fn erase_context_removes_links_attempts_deliveries_and_context_only(f: &StoreFixture) {
    let store = f.store();
    let seeded = seed_course(store).await;
    let s = main_scope();
    let report = erase_context(store, &s, &cid("bio"), T0, "ltictl context erase")
        .await
        .unwrap();
    assert_eq!(
        report.counts,
        ErasureCounts {
            attempts: 4,
            deliveries: 3,
            channels: 2,
            resource_links: 2,
            contexts: 1,
            users: 0,
        }
    );
    assert!(store.context(&s, &cid("bio")).await.unwrap().is_none());
    assert!(
        store
            .resource_link(&s, &lid("quiz-1"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .attempts_of_resource_link(&s, &lid("quiz-1"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .delivery(&DeliveryId::parse("d-b1").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    // Chemistry, the users, and the other platform's "bio" stay.
    assert!(store.attempt(&seeded[3].key).await.unwrap().is_some());
    assert!(store.user(&s, &uid("ben")).await.unwrap().is_some());
    assert!(
        store
            .context(&lti11(), &cid("bio"))
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.attempt(&seeded[5].key).await.unwrap().is_some());
    let log = store.audit_entries().await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].action, AuditAction::ContextErase);
    let again = erase_context(store, &s, &cid("bio"), T0, "ltictl context erase")
        .await
        .unwrap();
    assert!(again.counts.is_empty());
    assert_eq!(again.earlier.len(), 1);
}

async fn purge_expired_removes_only_what_is_past_retention(f: &StoreFixture) {
    let store = f.store();
    let seeded = seed_course(store).await;
    let s = main_scope();
    // Ben comes back 300 days later with a new attempt; everything else is from T0.
    let late = T0 + Duration::days(300);
    let b2 = launch(store, &s, "bio", "quiz-1", "ben", "b2", late).await;
    let now = T0 + Duration::days(10);
    let report = purge_expired(
        store,
        now + Duration::days(300),
        Retention::Days(100),
        "purge",
    )
    .await
    .unwrap();
    // Every T0 attempt (6) expired, with their 4 deliveries; channels: ana quiz-1 and the
    // other platform's; ben's quiz-1 channel stays (b2 is live there). Users: both "ana"s.
    assert_eq!(report.counts.attempts, 6);
    assert_eq!(report.counts.deliveries, 4);
    assert_eq!(report.counts.channels, 2);
    assert_eq!(report.counts.users, 2);
    for a in &seeded {
        assert!(store.attempt(&a.key).await.unwrap().is_none());
    }
    assert!(store.attempt(&b2.key).await.unwrap().is_some());
    assert!(store.user(&s, &uid("ben")).await.unwrap().is_some());
    assert!(store.user(&s, &uid("ana")).await.unwrap().is_none());
    assert!(
        store
            .last_score_time(&channel_of(&b2.key))
            .await
            .unwrap()
            .is_some()
    );
    let log = store.audit_entries().await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].action, AuditAction::RetentionPurge);
    assert_eq!(log[0].subject, None);
    assert_eq!(log[0].cutoff, report.cutoff);
    // Nothing left to purge: no second entry.
    let again = purge_expired(
        store,
        now + Duration::days(300),
        Retention::Days(100),
        "purge",
    )
    .await
    .unwrap();
    assert!(again.counts.is_empty());
    assert_eq!(store.audit_entries().await.unwrap().len(), 1);
}

async fn purge_expired_forever_removes_nothing(f: &StoreFixture) {
    let store = f.store();
    let seeded = seed_course(store).await;
    let report = purge_expired(
        store,
        T0 + Duration::days(10_000),
        Retention::Forever,
        "purge",
    )
    .await
    .unwrap();
    assert!(report.counts.is_empty());
    assert_eq!(report.cutoff, None);
    assert!(store.attempt(&seeded[0].key).await.unwrap().is_some());
}

async fn export_user_gathers_user_attempts_deliveries_and_references(f: &StoreFixture) {
    let store = f.store();
    seed_course(store).await;
    let s = main_scope();
    let export = export_user(store, &s, &uid("ana"), T0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        export.user.as_ref().unwrap().sis_id.as_deref(),
        Some("SIS-ana")
    );
    assert_eq!(export.attempts.len(), 4);
    let mut ids: Vec<String> = export.deliveries.iter().map(|d| d.id.to_string()).collect();
    ids.sort();
    assert_eq!(ids, ["d-a1", "d-a2"]);
    let links: Vec<String> = export
        .resource_links
        .iter()
        .map(|l| l.resource_link_id.to_string())
        .collect();
    assert_eq!(links, ["quiz-1", "quiz-2", "quiz-9"]);
    assert_eq!(
        export.resource_links[0].title.as_deref(),
        Some("Quiz quiz-1")
    );
    let contexts: Vec<String> = export
        .contexts
        .iter()
        .map(|c| c.context_id.to_string())
        .collect();
    assert_eq!(contexts, ["bio", "chem"]);
    assert_eq!(export.contexts[0].title.as_deref(), Some("Biology"));
}

async fn export_user_unknown_is_none(f: &StoreFixture) {
    let store = f.store();
    seed_course(store).await;
    assert!(
        export_user(store, &main_scope(), &uid("zed"), T0)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        export_user(store, &lti13("client-2"), &uid("ana"), T0)
            .await
            .unwrap()
            .is_none()
    );
}

async fn attempt_rows_resource_and_context_include_names_scores_and_delivery(f: &StoreFixture) {
    let store = f.store();
    seed_course(store).await;
    let s = main_scope();
    let rows = attempt_rows(store, store, &s, &Selection::ResourceLink(lid("quiz-1")))
        .await
        .unwrap();
    let who: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r.user_id.to_string(), r.attempt_id.to_string()))
        .collect();
    assert_eq!(
        who,
        [
            ("ana".into(), "a1".into()),
            ("ana".into(), "a2".into()),
            ("ben".into(), "b1".into())
        ]
    );
    assert_eq!(rows[0].name.as_deref(), Some("Zoë ana"));
    assert_eq!(rows[0].sis_id.as_deref(), Some("SIS-ana"));
    assert_eq!(rows[0].score_given, Some(7.0));
    assert_eq!(rows[0].delivery_status, Some(DeliveryStatus::Pending));
    let course = attempt_rows(store, store, &s, &Selection::Context(cid("bio")))
        .await
        .unwrap();
    assert_eq!(course.len(), 4);
    assert_eq!(course[3].resource_link_id.as_str(), "quiz-2");
    assert_eq!(course[3].delivery_status, None);
    assert!(
        attempt_rows(
            store,
            store,
            &lti13("client-2"),
            &Selection::Context(cid("bio"))
        )
        .await
        .unwrap()
        .is_empty()
    );
}
