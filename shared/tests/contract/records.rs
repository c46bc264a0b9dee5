//! `LaunchRecords`: users, contexts, resource links and attempts, each scoped to the platform
//! (LTI 1.3 registration or LTI 1.1 consumer) that issued its ids.

use lti_shared::domain::ids::{
    AttemptId, ClientId, ConsumerKey, ContextId, Issuer, LineItemUrl, ResourceLinkId, UserId,
};
use lti_shared::domain::model::{
    AgsEndpoint, Attempt, AttemptKey, Context, PlatformScope, ResourceLink, User,
};
use lti_shared::ports::LaunchRecords;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::support::StoreFixture;

store_contracts!(
    put_user_new_round_trips_every_field,
    put_user_without_personal_data_round_trips_none,
    put_user_existing_replaces_every_field,
    put_user_empty_strings_round_trip_empty,
    user_unknown_is_none,
    user_same_id_in_two_scopes_is_two_users,
    put_context_new_round_trips_every_field,
    put_context_without_optional_fields_round_trips_none,
    put_context_existing_replaces_every_field,
    context_same_id_in_two_scopes_is_two_contexts,
    put_resource_link_new_round_trips_every_field,
    put_resource_link_without_optional_fields_round_trips_none,
    put_resource_link_existing_replaces_every_field,
    resource_link_same_id_in_two_scopes_is_two_links,
    scope_identifiers_with_separators_do_not_collide,
    create_attempt_new_round_trips_every_field,
    create_attempt_duplicate_fails_already_exists_and_keeps_original,
    attempt_unknown_is_none,
    update_attempt_missing_fails_not_found,
    update_attempt_existing_replaces_it,
    attempts_of_resource_link_several_users_ordered_by_user_then_start,
    attempts_of_user_on_resource_link_returns_only_theirs_oldest_first,
    attempts_of_user_in_context_returns_only_theirs_oldest_first,
    attempt_queries_unknown_ids_are_empty,
    attempt_keys_with_separators_do_not_collide,
    attempt_written_by_one_instance_is_read_by_another,
);

pub(crate) fn lti13(iss: &str, client_id: &str) -> PlatformScope {
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

fn user_id(value: &str) -> UserId {
    UserId::parse(value).unwrap()
}

fn context_id(value: &str) -> ContextId {
    ContextId::parse(value).unwrap()
}

fn link_id(value: &str) -> ResourceLinkId {
    ResourceLinkId::parse(value).unwrap()
}

/// A user with every field set.
pub(crate) fn user(scope: &PlatformScope, id: &str) -> User {
    User {
        scope: scope.clone(),
        user_id: user_id(id),
        name: Some("Zoë O'Brien-Łukasiewicz".to_owned()),
        given_name: Some("Zoë".to_owned()),
        family_name: Some("O'Brien-Łukasiewicz".to_owned()),
        sis_id: Some(format!("sis-{id}")),
        lti11: Some(lti_shared::domain::model::Lti11Ref {
            consumer_key: ConsumerKey::parse("moodle-1").unwrap(),
            id: format!("old-{id}"),
        }),
        updated_at: datetime!(2026-03-01 08:00:00.000001 UTC),
    }
}

fn bare_user(scope: &PlatformScope, id: &str) -> User {
    User {
        scope: scope.clone(),
        user_id: user_id(id),
        name: None,
        given_name: None,
        family_name: None,
        sis_id: None,
        lti11: None,
        updated_at: datetime!(2026-03-02 08:00:00 UTC),
    }
}

fn context(scope: &PlatformScope, id: &str) -> Context {
    Context {
        scope: scope.clone(),
        context_id: context_id(id),
        label: Some("BIO-101".to_owned()),
        title: Some(format!("Biology 101 ({id})")),
        types: vec![
            "http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering".to_owned(),
            "http://purl.imsglobal.org/vocab/lis/v2/course#CourseSection".to_owned(),
        ],
        memberships_url: Some(format!(
            "https://lms.example/api/lti/courses/{id}/names_and_roles"
        )),
        lti11: Some(lti_shared::domain::model::Lti11Ref {
            consumer_key: ConsumerKey::parse("moodle-1").unwrap(),
            id: format!("old-{id}"),
        }),
        updated_at: datetime!(2026-03-01 08:00:00.5 UTC),
    }
}

fn bare_context(scope: &PlatformScope, id: &str) -> Context {
    Context {
        scope: scope.clone(),
        context_id: context_id(id),
        label: None,
        title: None,
        types: Vec::new(),
        memberships_url: None,
        lti11: None,
        updated_at: datetime!(2026-03-02 08:00:00 UTC),
    }
}

fn resource_link(scope: &PlatformScope, id: &str, ctx: Option<&str>) -> ResourceLink {
    ResourceLink {
        scope: scope.clone(),
        resource_link_id: link_id(id),
        context_id: ctx.map(context_id),
        title: Some(format!("Quiz {id}")),
        description: Some("Week 1 — cells & membranes".to_owned()),
        lti11: None,
        ags: Some(AgsEndpoint {
            scopes: vec![
                "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem".to_owned(),
                "https://purl.imsglobal.org/spec/lti-ags/scope/score".to_owned(),
            ],
            lineitems: Some(
                "https://lms.example/mod/lti/services.php/2/lineitems?type_id=1".to_owned(),
            ),
            lineitem: Some(
                LineItemUrl::parse(format!(
                    "https://lms.example/mod/lti/services.php/2/lineitems/{id}/lineitem?type_id=1"
                ))
                .unwrap(),
            ),
        }),
        grading: lti_shared::domain::model::GradingSettings {
            passback: lti_shared::domain::model::PassbackPolicy::Best,
            extra_credit: true,
        },
        updated_at: datetime!(2026-03-01 08:00:00.25 UTC),
    }
}

fn bare_resource_link(scope: &PlatformScope, id: &str) -> ResourceLink {
    ResourceLink {
        scope: scope.clone(),
        resource_link_id: link_id(id),
        context_id: None,
        title: None,
        description: None,
        ags: None,
        lti11: None,
        grading: lti_shared::domain::model::GradingSettings::default(),
        updated_at: datetime!(2026-03-02 08:00:00 UTC),
    }
}

fn attempt(
    scope: &PlatformScope,
    link: &str,
    user: &str,
    ctx: Option<&str>,
    started_at: OffsetDateTime,
) -> Attempt {
    Attempt {
        key: AttemptKey {
            scope: scope.clone(),
            resource_link_id: link_id(link),
            user_id: user_id(user),
            attempt_id: AttemptId::generate(started_at),
        },
        context_id: ctx.map(context_id),
        started_at,
        last_activity_at: started_at + Duration::minutes(3),
        roles: lti_shared::domain::roles::Roles::from_claim(
            &["urn:lti:role:ims/lti/Transient".to_owned()],
            &lti_shared::domain::roles::RoleMap::new(),
        ),
        basic_outcome: Some(lti_shared::domain::model::BasicOutcome {
            service_url: "https://moodle.example/mod/lti/service.php?x=1".to_owned(),
            sourcedid: r#"{"data":{"instanceid":"2","userid":"3"},"hash":"ab&<>"}"#.to_owned(),
        }),
        score: None,
        closed_at: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Users, contexts, resource links

async fn put_user_new_round_trips_every_field(fx: &StoreFixture) {
    let store = fx.store();
    let scope = lti13("https://lms.example", "client-1");
    let u = user(&scope, "a6d5c443-1f51-4783-ba1a-7686ffe3b54a");
    store.put_user(&u).await.unwrap();
    assert_eq!(store.user(&scope, &u.user_id).await.unwrap(), Some(u));
}

async fn put_user_without_personal_data_round_trips_none(fx: &StoreFixture) {
    let store = fx.store();
    let scope = lti11("consumer");
    let u = bare_user(&scope, "anonymous-1");
    store.put_user(&u).await.unwrap();
    assert_eq!(store.user(&scope, &u.user_id).await.unwrap(), Some(u));
}

async fn put_user_existing_replaces_every_field(fx: &StoreFixture) {
    let store = fx.store();
    let scope = lti13("https://lms.example", "client-1");
    store.put_user(&user(&scope, "u1")).await.unwrap();
    // The platform stopped sending personal data: nothing of the old record may linger.
    let replacement = bare_user(&scope, "u1");
    store.put_user(&replacement).await.unwrap();
    assert_eq!(
        store.user(&scope, &user_id("u1")).await.unwrap(),
        Some(replacement)
    );
}

async fn put_user_empty_strings_round_trip_empty(fx: &StoreFixture) {
    let store = fx.store();
    let scope = lti13("https://lms.example", "client-1");
    // Some platforms send empty claims; an empty string is not an absent one.
    let u = User {
        name: Some(String::new()),
        given_name: Some(String::new()),
        family_name: Some(String::new()),
        sis_id: Some(String::new()),
        ..bare_user(&scope, "u1")
    };
    store.put_user(&u).await.unwrap();
    assert_eq!(store.user(&scope, &u.user_id).await.unwrap(), Some(u));
    let c = Context {
        label: Some(String::new()),
        title: Some(String::new()),
        types: vec![String::new()],
        ..bare_context(&scope, "c1")
    };
    store.put_context(&c).await.unwrap();
    assert_eq!(store.context(&scope, &c.context_id).await.unwrap(), Some(c));
}

async fn user_unknown_is_none(fx: &StoreFixture) {
    let store = fx.store();
    let scope = lti13("https://lms.example", "client-1");
    store.put_user(&user(&scope, "u1")).await.unwrap();
    assert_eq!(store.user(&scope, &user_id("u2")).await.unwrap(), None);
    assert_eq!(store.user(&scope, &user_id("U1")).await.unwrap(), None);
}

async fn user_same_id_in_two_scopes_is_two_users(fx: &StoreFixture) {
    let store = fx.store();
    let scopes = [
        lti13("https://lms.example", "client-1"),
        lti13("https://lms.example", "client-2"),
        lti13("https://other.example", "client-1"),
        lti11("client-1"),
        lti11("https://lms.example"),
    ];
    for (n, scope) in scopes.iter().enumerate() {
        let mut u = user(scope, "same-user");
        u.name = Some(format!("user in scope {n}"));
        store.put_user(&u).await.unwrap();
    }
    for (n, scope) in scopes.iter().enumerate() {
        let read = store
            .user(scope, &user_id("same-user"))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("user in scope {scope:?} is missing"));
        assert_eq!(read.scope, *scope);
        assert_eq!(read.name, Some(format!("user in scope {n}")));
    }
    assert_eq!(
        store
            .user(&lti11("client-2"), &user_id("same-user"))
            .await
            .unwrap(),
        None
    );
}

async fn put_context_new_round_trips_every_field(fx: &StoreFixture) {
    let store = fx.store();
    let scope = lti13("https://lms.example", "client-1");
    let c = context(&scope, "course-42");
    store.put_context(&c).await.unwrap();
    assert_eq!(store.context(&scope, &c.context_id).await.unwrap(), Some(c));
    assert_eq!(
        store
            .context(&scope, &context_id("course-43"))
            .await
            .unwrap(),
        None
    );
}

async fn put_context_without_optional_fields_round_trips_none(fx: &StoreFixture) {
    let store = fx.store();
    let scope = lti11("consumer");
    let c = bare_context(&scope, "course-1");
    store.put_context(&c).await.unwrap();
    assert_eq!(store.context(&scope, &c.context_id).await.unwrap(), Some(c));
}

async fn put_context_existing_replaces_every_field(fx: &StoreFixture) {
    let store = fx.store();
    let scope = lti13("https://lms.example", "client-1");
    store.put_context(&context(&scope, "c1")).await.unwrap();
    let replacement = bare_context(&scope, "c1");
    store.put_context(&replacement).await.unwrap();
    assert_eq!(
        store.context(&scope, &context_id("c1")).await.unwrap(),
        Some(replacement)
    );
}

async fn context_same_id_in_two_scopes_is_two_contexts(fx: &StoreFixture) {
    let store = fx.store();
    let a = lti13("https://lms.example", "client-1");
    let b = lti11("client-1");
    let in_a = context(&a, "course-1");
    let in_b = bare_context(&b, "course-1");
    store.put_context(&in_a).await.unwrap();
    store.put_context(&in_b).await.unwrap();
    assert_eq!(
        store.context(&a, &context_id("course-1")).await.unwrap(),
        Some(in_a)
    );
    assert_eq!(
        store.context(&b, &context_id("course-1")).await.unwrap(),
        Some(in_b)
    );
}

async fn put_resource_link_new_round_trips_every_field(fx: &StoreFixture) {
    let store = fx.store();
    let scope = lti13("https://lms.example", "client-1");
    let link = resource_link(&scope, "link-1", Some("course-1"));
    store.put_resource_link(&link).await.unwrap();
    assert_eq!(
        store
            .resource_link(&scope, &link.resource_link_id)
            .await
            .unwrap(),
        Some(link)
    );
    assert_eq!(
        store
            .resource_link(&scope, &link_id("link-2"))
            .await
            .unwrap(),
        None
    );
}

async fn put_resource_link_without_optional_fields_round_trips_none(fx: &StoreFixture) {
    let store = fx.store();
    let scope = lti11("consumer");
    let link = bare_resource_link(&scope, "link-1");
    store.put_resource_link(&link).await.unwrap();
    assert_eq!(
        store
            .resource_link(&scope, &link.resource_link_id)
            .await
            .unwrap(),
        Some(link)
    );
}

async fn put_resource_link_existing_replaces_every_field(fx: &StoreFixture) {
    let store = fx.store();
    let scope = lti13("https://lms.example", "client-1");
    store
        .put_resource_link(&resource_link(&scope, "link-1", Some("course-1")))
        .await
        .unwrap();
    let replacement = bare_resource_link(&scope, "link-1");
    store.put_resource_link(&replacement).await.unwrap();
    assert_eq!(
        store
            .resource_link(&scope, &link_id("link-1"))
            .await
            .unwrap(),
        Some(replacement)
    );
}

async fn resource_link_same_id_in_two_scopes_is_two_links(fx: &StoreFixture) {
    let store = fx.store();
    let a = lti13("https://lms.example", "client-1");
    let b = lti11("client-1");
    let in_a = resource_link(&a, "link-1", Some("course-1"));
    let in_b = bare_resource_link(&b, "link-1");
    store.put_resource_link(&in_a).await.unwrap();
    store.put_resource_link(&in_b).await.unwrap();
    assert_eq!(
        store.resource_link(&a, &link_id("link-1")).await.unwrap(),
        Some(in_a)
    );
    assert_eq!(
        store.resource_link(&b, &link_id("link-1")).await.unwrap(),
        Some(in_b)
    );
}

async fn scope_identifiers_with_separators_do_not_collide(fx: &StoreFixture) {
    let store = fx.store();
    // (scope, user id) pairs that a key joining the parts with a separator, or
    // percent-encoding without escaping '%', would map to one record.
    let cases = [
        (lti13("https://a.example/x#y", "1"), "u"),
        (lti13("https://a.example/x", "y#1"), "u"),
        (lti13("https://a.example/x", "y"), "1#u"),
        (lti13("https://a.example/x|y", "1"), "u"),
        (lti13("https://a.example/x", "y|1"), "u"),
        (lti13("https://a.example/x", "y"), "1|u"),
        (lti13("https://a.example/x%23y", "1"), "u"),
        (lti13("https://a.example/x", "y"), "1%23u"),
        (lti11("https://a.example/x#y#1"), "u"),
        (lti11("https://a.example/x|y|1"), "u"),
        (lti11("https://a.example/x"), "y#1#u"),
        (lti13("https://ä.example/ü", "ключ"), "用户"),
        (lti13("https://ä.example/ü", "ключ"), "%E7%94%A8%E6%88%B7"),
    ];
    for (n, (scope, id)) in cases.iter().enumerate() {
        let mut u = bare_user(scope, id);
        u.name = Some(format!("case {n}"));
        store.put_user(&u).await.unwrap();
        let mut c = bare_context(scope, id);
        c.title = Some(format!("case {n}"));
        store.put_context(&c).await.unwrap();
        let mut l = bare_resource_link(scope, id);
        l.title = Some(format!("case {n}"));
        store.put_resource_link(&l).await.unwrap();
    }
    for (n, (scope, id)) in cases.iter().enumerate() {
        let expected = Some(format!("case {n}"));
        let u = store.user(scope, &user_id(id)).await.unwrap();
        assert_eq!(
            u.map(|u| u.name),
            Some(expected.clone()),
            "user {scope:?} {id:?}"
        );
        let c = store.context(scope, &context_id(id)).await.unwrap();
        assert_eq!(
            c.map(|c| c.title),
            Some(expected.clone()),
            "context {scope:?} {id:?}"
        );
        let l = store.resource_link(scope, &link_id(id)).await.unwrap();
        assert_eq!(l.map(|l| l.title), Some(expected), "link {scope:?} {id:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Attempts

async fn create_attempt_new_round_trips_every_field(fx: &StoreFixture) {
    let store = fx.store();
    let scope = lti13("https://lms.example", "client-1");
    let with_context = attempt(
        &scope,
        "link-1",
        "u1",
        Some("course-1"),
        datetime!(2026-03-01 10:00:00.123456789 UTC),
    );
    let without_context = attempt(
        &lti11("consumer"),
        "link-1",
        "u1",
        None,
        datetime!(2026-03-01 10:00:01 UTC),
    );
    for a in [&with_context, &without_context] {
        store.create_attempt(a).await.unwrap();
        assert_eq!(store.attempt(&a.key).await.unwrap().as_ref(), Some(a));
    }
}

async fn create_attempt_duplicate_fails_already_exists_and_keeps_original(fx: &StoreFixture) {
    let store = fx.store();
    let scope = lti13("https://lms.example", "client-1");
    let original = attempt(
        &scope,
        "link-1",
        "u1",
        Some("course-1"),
        datetime!(2026-03-01 10:00:00 UTC),
    );
    store.create_attempt(&original).await.unwrap();
    let mut again = original.clone();
    again.context_id = None;
    again.last_activity_at += Duration::hours(1);
    assert_store_error!(store.create_attempt(&again).await, AlreadyExists);
    assert_eq!(
        store.attempt(&original.key).await.unwrap(),
        Some(original.clone())
    );
    assert_eq!(
        store
            .attempts_of_resource_link(&scope, &link_id("link-1"))
            .await
            .unwrap(),
        vec![original]
    );
}

async fn attempt_unknown_is_none(fx: &StoreFixture) {
    let store = fx.store();
    let scope = lti13("https://lms.example", "client-1");
    let stored = attempt(
        &scope,
        "link-1",
        "u1",
        None,
        datetime!(2026-03-01 10:00:00 UTC),
    );
    store.create_attempt(&stored).await.unwrap();
    let mut other_id = stored.key.clone();
    other_id.attempt_id = AttemptId::generate(datetime!(2026-03-01 10:00:00 UTC));
    assert_eq!(store.attempt(&other_id).await.unwrap(), None);
    let mut other_user = stored.key.clone();
    other_user.user_id = user_id("u2");
    assert_eq!(store.attempt(&other_user).await.unwrap(), None);
    let mut other_scope = stored.key.clone();
    other_scope.scope = lti11("consumer");
    assert_eq!(store.attempt(&other_scope).await.unwrap(), None);
}

async fn update_attempt_missing_fails_not_found(fx: &StoreFixture) {
    let store = fx.store();
    let scope = lti13("https://lms.example", "client-1");
    let missing = attempt(
        &scope,
        "link-1",
        "u1",
        None,
        datetime!(2026-03-01 10:00:00 UTC),
    );
    assert_store_error!(store.update_attempt(&missing).await, NotFound);
    // The failed update must not have created the attempt.
    assert_eq!(store.attempt(&missing.key).await.unwrap(), None);
    assert!(
        store
            .attempts_of_resource_link(&scope, &link_id("link-1"))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn update_attempt_existing_replaces_it(fx: &StoreFixture) {
    let store = fx.store();
    let scope = lti13("https://lms.example", "client-1");
    let original = attempt(
        &scope,
        "link-1",
        "u1",
        None,
        datetime!(2026-03-01 10:00:00 UTC),
    );
    store.create_attempt(&original).await.unwrap();
    let mut updated = original.clone();
    updated.context_id = Some(context_id("course-1"));
    updated.last_activity_at = datetime!(2026-03-01 11:30:00.5 UTC);
    store.update_attempt(&updated).await.unwrap();
    assert_eq!(
        store.attempt(&original.key).await.unwrap(),
        Some(updated.clone())
    );
    // The update is visible through the queries, and did not add a second attempt.
    assert_eq!(
        store
            .attempts_of_user_in_context(&scope, &context_id("course-1"), &user_id("u1"))
            .await
            .unwrap(),
        vec![updated.clone()]
    );
    assert_eq!(
        store
            .attempts_of_resource_link(&scope, &link_id("link-1"))
            .await
            .unwrap(),
        vec![updated]
    );
}

/// The attempt data set for the query contracts.
struct Attempts {
    scope: PlatformScope,
    all: Vec<Attempt>,
}

const USERS: [&str; 2] = ["learner-b", "learner-a"];
/// (resource link, its context): two links in each of two contexts, plus one without a context.
const LINKS: [(&str, Option<&str>); 5] = [
    ("link-2b", Some("course-2")),
    ("link-1a", Some("course-1")),
    ("link-2a", Some("course-2")),
    ("link-1b", Some("course-1")),
    ("link-loose", None),
];

/// Two attempts of each of two users on each link of scope `scope`, started in an order
/// unrelated to the order they are written in, plus the same ids under three other scopes
/// (another client of the same issuer, another issuer, an LTI 1.1 consumer).
async fn seed_attempts(store: &dyn LaunchRecords) -> Attempts {
    let scope = lti13("https://lms.example", "client-1");
    let others = [
        lti13("https://lms.example", "client-2"),
        lti13("https://lms2.example", "client-1"),
        lti11("client-1"),
    ];
    let t0 = datetime!(2026-03-01 09:00:00 UTC);
    let mut all = Vec::new();
    let mut n: i64 = 0;
    for _round in 0..2 {
        for user in USERS {
            for (link, ctx) in LINKS {
                // 7 is coprime to 20 (the number of attempts), so the start minutes are a
                // permutation of 0..20 that interleaves users, links and rounds: for some
                // user and link the second attempt written started first.
                let minute = (n * 7) % 20;
                n += 1;
                let a = attempt(&scope, link, user, ctx, t0 + Duration::minutes(minute));
                store.create_attempt(&a).await.unwrap();
                all.push(a);
                for other in &others {
                    let started = t0 + Duration::minutes(minute) + Duration::seconds(1);
                    let decoy = attempt(other, link, user, ctx, started);
                    store.create_attempt(&decoy).await.unwrap();
                }
            }
        }
    }
    Attempts { scope, all }
}

impl Attempts {
    fn select(&self, keep: impl Fn(&Attempt) -> bool) -> Vec<Attempt> {
        self.all.iter().filter(|a| keep(a)).cloned().collect()
    }
}

fn by_start(mut attempts: Vec<Attempt>) -> Vec<Attempt> {
    attempts.sort_by_key(|a| a.started_at);
    attempts
}

fn describe(attempts: &[Attempt]) -> Vec<String> {
    attempts
        .iter()
        .map(|a| {
            format!(
                "{:?} {} {} {}",
                a.key.scope, a.key.resource_link_id, a.key.user_id, a.started_at
            )
        })
        .collect()
}

async fn attempts_of_resource_link_several_users_ordered_by_user_then_start(fx: &StoreFixture) {
    let store = fx.store();
    let data = seed_attempts(store).await;
    for (link, _) in LINKS {
        let mut expected = data.select(|a| a.key.resource_link_id.as_str() == link);
        expected
            .sort_by(|a, b| (&a.key.user_id, a.started_at).cmp(&(&b.key.user_id, b.started_at)));
        assert_eq!(expected.len(), 4);
        let found = store
            .attempts_of_resource_link(&data.scope, &link_id(link))
            .await
            .unwrap();
        assert_eq!(describe(&found), describe(&expected), "link {link}");
        assert_eq!(found, expected, "link {link}");
    }
}

async fn attempts_of_user_on_resource_link_returns_only_theirs_oldest_first(fx: &StoreFixture) {
    let store = fx.store();
    let data = seed_attempts(store).await;
    for user in USERS {
        for (link, _) in LINKS {
            let expected = by_start(data.select(|a| {
                a.key.resource_link_id.as_str() == link && a.key.user_id.as_str() == user
            }));
            assert_eq!(expected.len(), 2);
            let found = store
                .attempts_of_user_on_resource_link(&data.scope, &link_id(link), &user_id(user))
                .await
                .unwrap();
            assert_eq!(describe(&found), describe(&expected), "{user} on {link}");
            assert_eq!(found, expected, "{user} on {link}");
        }
    }
}

async fn attempts_of_user_in_context_returns_only_theirs_oldest_first(fx: &StoreFixture) {
    let store = fx.store();
    let data = seed_attempts(store).await;
    for user in USERS {
        for ctx in ["course-1", "course-2"] {
            let expected = by_start(data.select(|a| {
                a.context_id.as_ref().map(ContextId::as_str) == Some(ctx)
                    && a.key.user_id.as_str() == user
            }));
            assert_eq!(expected.len(), 4);
            let found = store
                .attempts_of_user_in_context(&data.scope, &context_id(ctx), &user_id(user))
                .await
                .unwrap();
            assert_eq!(describe(&found), describe(&expected), "{user} in {ctx}");
            assert_eq!(found, expected, "{user} in {ctx}");
        }
    }
}

async fn attempt_queries_unknown_ids_are_empty(fx: &StoreFixture) {
    let store = fx.store();
    let data = seed_attempts(store).await;
    let unknown_scope = lti13("https://unknown.example", "client-1");
    assert!(
        store
            .attempts_of_resource_link(&data.scope, &link_id("link-9"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .attempts_of_resource_link(&unknown_scope, &link_id("link-1a"))
            .await
            .unwrap()
            .is_empty()
    );
    // A prefix of a real link id matches nothing.
    assert!(
        store
            .attempts_of_resource_link(&data.scope, &link_id("link-1"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .attempts_of_user_on_resource_link(
                &data.scope,
                &link_id("link-1a"),
                &user_id("learner")
            )
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .attempts_of_user_in_context(
                &data.scope,
                &context_id("course-9"),
                &user_id("learner-a")
            )
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .attempts_of_user_in_context(&data.scope, &context_id("course"), &user_id("learner-a"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .attempts_of_user_in_context(
                &unknown_scope,
                &context_id("course-1"),
                &user_id("learner-a")
            )
            .await
            .unwrap()
            .is_empty()
    );
}

async fn attempt_keys_with_separators_do_not_collide(fx: &StoreFixture) {
    let store = fx.store();
    let scope = lti13("https://lms.example", "client-1");
    let t = datetime!(2026-03-01 10:00:00 UTC);
    // (link, user, context) triples whose parts would join to the same key, or where one
    // user's key is a prefix of another's, unless each part is escaped.
    let cases = [
        ("l#u", "1", "c#u"),
        ("l", "u#1", "c"),
        ("l", "u", "c"),
        ("l|u", "1", "c|u"),
        ("l", "u|1", "c"),
        ("l%23u", "1", "c%23u"),
    ];
    // One attempt id for all of them, so only the other parts tell them apart.
    let shared_id = AttemptId::generate(t);
    let mut all = Vec::new();
    for (n, (link, user, ctx)) in cases.into_iter().enumerate() {
        let started = t + Duration::seconds(i64::try_from(n).unwrap());
        let mut a = attempt(&scope, link, user, Some(ctx), started);
        a.key.attempt_id = shared_id.clone();
        store
            .create_attempt(&a)
            .await
            .unwrap_or_else(|err| panic!("creating attempt {n} failed: {err:?}"));
        all.push(a);
    }
    for a in &all {
        let label = format!("{} / {}", a.key.resource_link_id, a.key.user_id);
        assert_eq!(
            store.attempt(&a.key).await.unwrap().as_ref(),
            Some(a),
            "{label}"
        );

        let mut on_link: Vec<Attempt> = all
            .iter()
            .filter(|b| b.key.resource_link_id == a.key.resource_link_id)
            .cloned()
            .collect();
        on_link.sort_by(|x, y| (&x.key.user_id, x.started_at).cmp(&(&y.key.user_id, y.started_at)));
        let found = store
            .attempts_of_resource_link(&scope, &a.key.resource_link_id)
            .await
            .unwrap();
        assert_eq!(describe(&found), describe(&on_link), "link of {label}");

        let found = store
            .attempts_of_user_on_resource_link(&scope, &a.key.resource_link_id, &a.key.user_id)
            .await
            .unwrap();
        assert_eq!(
            describe(&found),
            describe(std::slice::from_ref(a)),
            "{label}"
        );

        let ctx = a.context_id.as_ref().unwrap();
        let found = store
            .attempts_of_user_in_context(&scope, ctx, &a.key.user_id)
            .await
            .unwrap();
        assert_eq!(
            describe(&found),
            describe(std::slice::from_ref(a)),
            "{} in context {ctx}",
            a.key.user_id
        );
    }
}

async fn attempt_written_by_one_instance_is_read_by_another(fx: &StoreFixture) {
    let scope = lti13("https://lms.example", "client-1");
    let a = attempt(
        &scope,
        "link-1",
        "u1",
        Some("course-1"),
        datetime!(2026-03-01 10:00:00 UTC),
    );
    fx.store().create_attempt(&a).await.unwrap();
    let other = fx.reopen().await;
    assert_eq!(other.attempt(&a.key).await.unwrap(), Some(a.clone()));
    assert_store_error!(other.create_attempt(&a).await, AlreadyExists);
}
