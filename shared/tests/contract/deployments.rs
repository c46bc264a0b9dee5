//! Records of two deployments of one LTI 1.3 registration that reuse the same context,
//! resource link and user ids stay apart (LTI Core 1.3 §5.3.5, §5.4.1), and
//! `app::migrate::migrate_deployments` moves records written before deployment scoping under
//! their deployment, on both adapters.

use std::collections::BTreeMap;

use lti_shared::app::migrate::migrate_deployments;
use lti_shared::domain::ids::{AttemptId, ContextId, DeploymentId, ResourceLinkId, UserId};
use lti_shared::domain::model::{Attempt, AttemptKey, Context, PlatformScope, ResourceLink, User};
use lti_shared::ports::Store;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::platforms::{client, issuer, registration};
use crate::support::StoreFixture;

store_contracts!(
    same_ids_in_two_deployments_are_separate_records,
    migrate_deployments_moves_older_records_of_a_one_deployment_registration,
    migrate_deployments_leaves_a_several_deployment_registration_unless_assigned,
);

const T0: OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);
const ISS: &str = "https://lms.example";
const CLIENT: &str = "client-1";

fn dep(id: &str) -> PlatformScope {
    PlatformScope::lti13(
        issuer(ISS),
        client(CLIENT),
        DeploymentId::parse(id).unwrap(),
    )
}

fn unscoped() -> PlatformScope {
    PlatformScope::registration(issuer(ISS), client(CLIENT))
}

fn key(scope: &PlatformScope, user: &str) -> AttemptKey {
    AttemptKey {
        scope: scope.clone(),
        resource_link_id: ResourceLinkId::parse("42").unwrap(),
        user_id: UserId::parse(user).unwrap(),
        attempt_id: AttemptId::parse("000001").unwrap(),
    }
}

/// What a launch of `user` on link `42` in context `course` of `scope` writes.
async fn launch(store: &dyn Store, scope: &PlatformScope, user: &str, title: &str) {
    store
        .put_user(&User {
            scope: scope.clone(),
            user_id: UserId::parse(user).unwrap(),
            name: Some(format!("{user} of {title}")),
            given_name: None,
            family_name: None,
            sis_id: None,
            lti11: None,
            updated_at: T0,
        })
        .await
        .unwrap();
    store
        .put_context(&Context {
            scope: scope.clone(),
            context_id: ContextId::parse("course").unwrap(),
            label: None,
            title: Some(title.into()),
            types: Vec::new(),
            memberships_url: Some(format!("https://lms.example/{title}/members")),
            lti11: None,
            updated_at: T0,
        })
        .await
        .unwrap();
    store
        .put_resource_link(&ResourceLink {
            scope: scope.clone(),
            resource_link_id: ResourceLinkId::parse("42").unwrap(),
            context_id: Some(ContextId::parse("course").unwrap()),
            title: Some(title.into()),
            description: None,
            ags: None,
            lti11: None,
            grading: Default::default(),
            updated_at: T0,
        })
        .await
        .unwrap();
    store
        .create_attempt(&Attempt {
            key: key(scope, user),
            context_id: Some(ContextId::parse("course").unwrap()),
            started_at: T0,
            last_activity_at: T0 + Duration::minutes(5),
            roles: Default::default(),
            basic_outcome: None,
            score: None,
            closed_at: None,
        })
        .await
        .unwrap();
}

fn users(attempts: Vec<Attempt>) -> Vec<String> {
    attempts
        .into_iter()
        .map(|a| a.key.user_id.to_string())
        .collect()
}

/// Attempts of link `42`, the link's, the context's and the user's titles or names, the
/// user's attempts in the context and on every link.
type Seen = (
    Vec<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Vec<String>,
    Vec<String>,
);

/// Everything reachable under `scope` for link `42`, context `course` and `user`.
async fn seen(store: &dyn Store, scope: &PlatformScope, user: &str) -> Seen {
    let link = ResourceLinkId::parse("42").unwrap();
    let course = ContextId::parse("course").unwrap();
    let uid = UserId::parse(user).unwrap();
    (
        users(store.attempts_of_resource_link(scope, &link).await.unwrap()),
        store
            .resource_link(scope, &link)
            .await
            .unwrap()
            .and_then(|l| l.title),
        store
            .context(scope, &course)
            .await
            .unwrap()
            .and_then(|c| c.title),
        store.user(scope, &uid).await.unwrap().and_then(|u| u.name),
        users(
            store
                .attempts_of_user_in_context(scope, &course, &uid)
                .await
                .unwrap(),
        ),
        users(store.attempts_of_user(scope, &uid).await.unwrap()),
    )
}

async fn same_ids_in_two_deployments_are_separate_records(fx: &StoreFixture) {
    let store = fx.store();
    launch(store, &dep("dep-1"), "alice", "dep-1").await;
    launch(store, &dep("dep-2"), "bob", "dep-2").await;
    // The same user id in both deployments: still two records.
    launch(store, &dep("dep-2"), "alice", "dep-2").await;
    let (attempts, link, context, name, in_context, of_user) =
        seen(store, &dep("dep-1"), "alice").await;
    assert_eq!(attempts, ["alice"], "dep-1 sees only its own learner");
    assert_eq!(link.as_deref(), Some("dep-1"));
    assert_eq!(context.as_deref(), Some("dep-1"));
    assert_eq!(name.as_deref(), Some("alice of dep-1"));
    assert_eq!(in_context, ["alice"]);
    assert_eq!(of_user, ["alice"]);
    let (attempts, link, context, name, _, _) = seen(store, &dep("dep-2"), "alice").await;
    assert_eq!(attempts, ["alice", "bob"], "dep-2 sees its own two");
    assert_eq!(link.as_deref(), Some("dep-2"));
    assert_eq!(context.as_deref(), Some("dep-2"));
    assert_eq!(name.as_deref(), Some("alice of dep-2"));
    let (attempts, _, _, name, in_context, of_user) = seen(store, &dep("dep-1"), "bob").await;
    assert_eq!(attempts, ["alice"], "bob of dep-2 is not in dep-1");
    assert_eq!(name, None);
    assert!(in_context.is_empty() && of_user.is_empty());
    let links = store
        .resource_links_of_context(&dep("dep-1"), &ContextId::parse("course").unwrap())
        .await
        .unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].title.as_deref(), Some("dep-1"));
    // A deployment id cannot reach the records written before deployments were kept.
    let (attempts, link, ..) = seen(store, &unscoped(), "alice").await;
    assert!(attempts.is_empty() && link.is_none());
    assert!(store.users_without_deployment(10).await.unwrap().is_empty());
}

async fn migrate_deployments_moves_older_records_of_a_one_deployment_registration(
    fx: &StoreFixture,
) {
    let store = fx.store();
    let mut reg = registration(ISS, CLIENT);
    reg.deployment_ids = [DeploymentId::parse("only|dep").unwrap()].into();
    store.add_platform(&reg).await.unwrap();
    launch(store, &unscoped(), "alice", "old").await;
    launch(store, &dep("other"), "carol", "other").await;
    let lti11 = PlatformScope::Lti11 {
        consumer_key: lti_shared::domain::ids::ConsumerKey::parse("moodle").unwrap(),
    };
    launch(store, &lti11, "dave", "lti11").await;
    assert_eq!(store.users_without_deployment(10).await.unwrap().len(), 1);
    assert_eq!(
        store.contexts_without_deployment(10).await.unwrap().len(),
        1
    );
    assert_eq!(
        store
            .resource_links_without_deployment(10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store.attempts_without_deployment(10).await.unwrap().len(),
        1
    );

    let dry = migrate_deployments(store, &BTreeMap::new(), true)
        .await
        .unwrap();
    assert_eq!(
        (dry.users, dry.contexts, dry.resource_links, dry.attempts),
        (1, 1, 1, 1)
    );
    assert_eq!(
        store.attempts_without_deployment(10).await.unwrap().len(),
        1,
        "dry run moves nothing"
    );

    let report = migrate_deployments(store, &BTreeMap::new(), false)
        .await
        .unwrap();
    assert_eq!(
        (
            report.users,
            report.contexts,
            report.resource_links,
            report.attempts
        ),
        (1, 1, 1, 1)
    );
    assert!(report.skipped.is_empty());
    let moved = dep("only|dep");
    let (attempts, link, context, name, in_context, of_user) = seen(store, &moved, "alice").await;
    assert_eq!(attempts, ["alice"]);
    assert_eq!(link.as_deref(), Some("old"));
    assert_eq!(context.as_deref(), Some("old"));
    assert_eq!(name.as_deref(), Some("alice of old"));
    assert_eq!(in_context, ["alice"]);
    assert_eq!(
        of_user,
        ["alice"],
        "the user's attempts are found through the new scope"
    );
    let links = store
        .resource_links_of_context(&moved, &ContextId::parse("course").unwrap())
        .await
        .unwrap();
    assert_eq!(links.len(), 1);
    let (attempts, link, context, name, _, of_user) = seen(store, &unscoped(), "alice").await;
    assert!(attempts.is_empty() && of_user.is_empty());
    assert_eq!(
        (link, context, name),
        (None, None, None),
        "the old keys are gone"
    );
    // Other deployments and LTI 1.1 are untouched.
    assert_eq!(seen(store, &dep("other"), "carol").await.0, ["carol"]);
    assert_eq!(seen(store, &lti11, "dave").await.0, ["dave"]);
    // Run again: nothing left.
    let again = migrate_deployments(store, &BTreeMap::new(), false)
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
}

async fn migrate_deployments_leaves_a_several_deployment_registration_unless_assigned(
    fx: &StoreFixture,
) {
    let store = fx.store();
    let mut reg = registration(ISS, CLIENT);
    reg.deployment_ids = ["dep-1", "dep-2"]
        .into_iter()
        .map(|d| DeploymentId::parse(d).unwrap())
        .collect();
    store.add_platform(&reg).await.unwrap();
    launch(store, &unscoped(), "alice", "old").await;

    let report = migrate_deployments(store, &BTreeMap::new(), false)
        .await
        .unwrap();
    assert!(report.is_empty(), "{report:?}");
    assert_eq!(report.skipped.len(), 1);
    assert!(report.skipped[0].reason.contains("--assign"), "{report:?}");
    assert_eq!(
        seen(store, &unscoped(), "alice").await.0,
        ["alice"],
        "left as it was"
    );
    for d in ["dep-1", "dep-2"] {
        assert!(
            seen(store, &dep(d), "alice").await.0.is_empty(),
            "{d} got nothing"
        );
    }

    let assign = BTreeMap::from([(
        (issuer(ISS), client(CLIENT)),
        DeploymentId::parse("dep-2").unwrap(),
    )]);
    let report = migrate_deployments(store, &assign, false).await.unwrap();
    assert_eq!(report.attempts, 1);
    assert!(report.skipped.is_empty());
    assert_eq!(seen(store, &dep("dep-2"), "alice").await.0, ["alice"]);
    assert!(seen(store, &dep("dep-1"), "alice").await.0.is_empty());
    assert!(seen(store, &unscoped(), "alice").await.0.is_empty());
}
