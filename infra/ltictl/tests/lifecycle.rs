//! `ltictl user export|erase`, `context erase`, `attempts export`, `retention purge` and
//! `audit list` as an operator runs them: the real binary, on the embedded backend and on
//! DynamoDB (the loopback moto server `infra/test.sh` starts), with records seeded through
//! the store ports as launches and scores would write them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use std::sync::Arc;

use lti_shared::adapters::store::dynamo::DynamoStore;
use lti_shared::adapters::store::embedded::EmbeddedStore;
use lti_shared::domain::ids::{
    AttemptId, ClientId, ConsumerKey, ContextId, DeliveryId, Issuer, LineItemUrl, ResourceLinkId,
    UserId,
};
use lti_shared::domain::model::{Attempt, AttemptKey, Context, PlatformScope, ResourceLink, User};
use lti_shared::domain::outbox::{Delivery, DeliveryStatus, DeliveryTarget};
use lti_shared::domain::score::{ActivityProgress, GradingProgress, Score};
use lti_shared::ports::Store;
use serde_json::Value;
use support::{Target, assert_fails, assert_success, on_both_backends};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const ISSUER: &str = "https://canvas.test.example";

/// Runs `work` on the store behind `target`, on a thread of its own (the AWS tests run inside a
/// runtime already).
fn with_store<F>(target: &Target, work: F)
where
    F: FnOnce(Arc<dyn Store>) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>
        + Send
        + 'static,
{
    let location = match target {
        Target::Embedded(dir) => Ok(dir.path().to_path_buf()),
        Target::Aws { table, .. } => Err(table.clone()),
    };
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let store: Arc<dyn Store> = match location {
                Ok(dir) => Arc::new(EmbeddedStore::open(&dir).unwrap()),
                Err(table) => {
                    let config = lti_shared::compose::config::aws_sdk_config().await;
                    Arc::new(DynamoStore::from_config(&config, table))
                }
            };
            work(store).await;
        });
    })
    .join()
    .unwrap();
}

fn scope() -> PlatformScope {
    PlatformScope::lti13(
        Issuer::parse(ISSUER).unwrap(),
        ClientId::parse("client-1").unwrap(),
        lti_shared::domain::ids::DeploymentId::parse("dep-1").unwrap(),
    )
}

fn lti11() -> PlatformScope {
    PlatformScope::Lti11 {
        consumer_key: ConsumerKey::parse("moodle").unwrap(),
    }
}

/// The platform arguments of [`scope`].
const PLATFORM: [&str; 6] = [
    "--issuer",
    ISSUER,
    "--client-id",
    "client-1",
    "--deployment-id",
    "dep-1",
];

/// Writes what a launch of `user` (named `name`) on `link` in `context` at `at` writes, and,
/// with `given`, a score and its pending grade delivery.
async fn seed(
    store: &dyn Store,
    scope: &PlatformScope,
    (context, link, user, name): (&str, &str, &str, Option<&str>),
    attempt: &str,
    at: OffsetDateTime,
    given: Option<f64>,
) {
    store
        .put_user(&User {
            scope: scope.clone(),
            user_id: UserId::parse(user).unwrap(),
            name: name.map(str::to_owned),
            given_name: None,
            family_name: None,
            sis_id: name.map(|_| format!("SIS-{user}")),
            lti11: None,
            updated_at: at,
        })
        .await
        .unwrap();
    store
        .put_context(&Context {
            scope: scope.clone(),
            context_id: ContextId::parse(context).unwrap(),
            label: Some("BIO-101".into()),
            title: Some("Biology".into()),
            types: Vec::new(),
            memberships_url: None,
            lti11: None,
            updated_at: at,
        })
        .await
        .unwrap();
    store
        .put_resource_link(&ResourceLink {
            scope: scope.clone(),
            resource_link_id: ResourceLinkId::parse(link).unwrap(),
            context_id: Some(ContextId::parse(context).unwrap()),
            title: Some("Quiz".into()),
            description: None,
            ags: None,
            lti11: None,
            grading: Default::default(),
            updated_at: at,
        })
        .await
        .unwrap();
    let a = Attempt {
        key: AttemptKey {
            scope: scope.clone(),
            resource_link_id: ResourceLinkId::parse(link).unwrap(),
            user_id: UserId::parse(user).unwrap(),
            attempt_id: AttemptId::parse(attempt).unwrap(),
        },
        context_id: Some(ContextId::parse(context).unwrap()),
        started_at: at,
        last_activity_at: at,
        roles: Default::default(),
        basic_outcome: None,
        score: None,
        closed_at: None,
    };
    store.create_attempt(&a).await.unwrap();
    if let Some(given) = given {
        let score = Score {
            given,
            maximum: 10.0,
            activity_progress: ActivityProgress::Completed,
            grading_progress: GradingProgress::FullyGraded,
            comment: None,
            timestamp: at + Duration::minutes(1),
        };
        let delivery = Delivery {
            id: DeliveryId::parse(format!("d-{attempt}")).unwrap(),
            attempt: a.key.clone(),
            score: score.clone(),
            target: DeliveryTarget::Ags {
                lineitem: Some(
                    LineItemUrl::parse("https://canvas.test.example/lineitems/1").unwrap(),
                ),
                lineitems: None,
                scopes: Vec::new(),
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
        let scored = Attempt {
            score: Some(score),
            last_activity_at: at + Duration::minutes(1),
            ..a
        };
        store.submit_score(&scored, &delivery).await.unwrap();
    }
}

const T0: OffsetDateTime = datetime!(2026-05-04 09:00 UTC);

/// Ana (two attempts, one scored), Ben (a formula for a name, scored) and an anonymous
/// learner on quiz-1 of bio; and an "ana" of an LTI 1.1 consumer.
fn seed_course(target: &Target) {
    with_store(target, |store| {
        Box::pin(async move {
            let s = scope();
            let ana = ("bio", "quiz-1", "ana", Some("Zoë Ana"));
            seed(&*store, &s, ana, "a1", T0, Some(7.0)).await;
            seed(&*store, &s, ana, "a2", T0 + Duration::hours(1), None).await;
            let ben = ("bio", "quiz-1", "ben", Some("=HYPERLINK(\"x\")"));
            seed(&*store, &s, ben, "b1", T0, Some(5.0)).await;
            let anon = ("bio", "quiz-1", "anon", None);
            seed(&*store, &s, anon, "n1", T0, None).await;
            let other = ("bio", "quiz-1", "ana", Some("Other Ana"));
            seed(&*store, &lti11(), other, "x1", T0, Some(1.0)).await;
        })
    });
}

fn with_platform<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = args.to_vec();
    all.extend(PLATFORM);
    all
}

fn user_export_and_erase(target: &Target) {
    seed_course(target);
    let export = target.json(&with_platform(&["user", "export", "--user", "ana"]));
    assert_eq!(export["user"]["sis_id"], "SIS-ana");
    assert_eq!(export["attempts"].as_array().unwrap().len(), 2);
    assert_eq!(export["deliveries"].as_array().unwrap().len(), 1);
    assert_eq!(export["resource_links"][0]["resource_link_id"], "quiz-1");
    assert_eq!(export["contexts"][0]["title"], "Biology");

    // Bad input first: each refusal leaves the data in place.
    assert_fails(
        &target.run(&with_platform(&["user", "erase", "--user", "ana"])),
        2,
        "--yes",
    );
    let wrong_platform = target.run(&[
        "user",
        "erase",
        "--user",
        "ana",
        "--yes",
        "--issuer",
        ISSUER,
        "--client-id",
        "client-2",
        "--deployment-id",
        "dep-1",
    ]);
    assert_fails(&wrong_platform, 1, "no data held for user ana");
    // The same registration, another deployment: ana's records are dep-1's only.
    let wrong_deployment = target.run(&[
        "user",
        "erase",
        "--user",
        "ana",
        "--yes",
        "--issuer",
        ISSUER,
        "--client-id",
        "client-1",
        "--deployment-id",
        "dep-2",
    ]);
    assert_fails(&wrong_deployment, 1, "no data held for user ana");
    let no_deployment = target.run(&[
        "user",
        "erase",
        "--user",
        "ana",
        "--yes",
        "--issuer",
        ISSUER,
        "--client-id",
        "client-1",
    ]);
    assert_fails(&no_deployment, 2, "--deployment-id");
    assert_fails(
        &target.run(&with_platform(&[
            "user", "erase", "--user", "nobody", "--yes",
        ])),
        1,
        "no data held for user nobody",
    );
    assert_fails(
        &target.run(&["user", "erase", "--user", "ana", "--yes"]),
        2,
        "--consumer-key",
    );
    assert_fails(
        &target.run(&with_platform(&["user", "export", "--user", "nobody"])),
        1,
        "no data held",
    );
    let still = target.json(&with_platform(&["user", "export", "--user", "ana"]));
    assert_eq!(still["attempts"].as_array().unwrap().len(), 2);

    let erased = target.json(&with_platform(&["user", "erase", "--user", "ana", "--yes"]));
    assert_eq!(erased["counts"]["users"], 1);
    assert_eq!(erased["counts"]["attempts"], 2);
    assert_eq!(erased["counts"]["deliveries"], 1);
    assert_fails(
        &target.run(&with_platform(&["user", "export", "--user", "ana"])),
        1,
        "no data held",
    );
    // A repeated request succeeds and says so.
    let again = target.run(&with_platform(&["user", "erase", "--user", "ana", "--yes"]));
    assert_success(&again);
    assert!(String::from_utf8_lossy(&again.stdout).contains("already erased"));
    // Ben and the LTI 1.1 "ana" are untouched.
    target.json(&with_platform(&["user", "export", "--user", "ben"]));
    target.json(&[
        "user",
        "export",
        "--user",
        "ana",
        "--consumer-key",
        "moodle",
    ]);

    let audit = target.run(&["audit", "list", "--json"]);
    assert_success(&audit);
    let text = String::from_utf8_lossy(&audit.stdout);
    let log: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(log.as_array().unwrap().len(), 1);
    assert_eq!(log[0]["action"], "user_erase");
    assert!(!text.contains("\"ana\"") && !text.contains("Zoë") && !text.contains("SIS-"));
}

fn attempts_export_and_context_erase(target: &Target) {
    seed_course(target);
    let out = target.run(&with_platform(&[
        "attempts",
        "export",
        "--resource",
        "quiz-1",
    ]));
    assert_success(&out);
    let csv = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("resource_link_id,context_id,user_id,sis_id,name,attempt_id"));
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(csv.contains("Zoë Ana"));
    assert!(csv.contains("\"'=HYPERLINK(\"\"x\"\")\""), "{csv}");
    assert!(csv.contains("anon,,,n1"), "{csv}");

    let rows = target.json(&with_platform(&[
        "attempts",
        "export",
        "--context",
        "bio",
        "--format",
        "json",
    ]));
    assert_eq!(rows.as_array().unwrap().len(), 4);
    assert_eq!(rows[0]["started_at"], "2026-05-04T09:00:00Z");

    assert_fails(
        &target.run(&with_platform(&[
            "attempts",
            "export",
            "--resource",
            "nope",
        ])),
        1,
        "no resource link nope",
    );
    assert_fails(
        &target.run(&with_platform(&[
            "attempts",
            "export",
            "--resource",
            "quiz-1",
            "--context",
            "bio",
        ])),
        2,
        "cannot be used with",
    );

    assert_fails(
        &target.run(&with_platform(&["context", "erase", "--context", "bio"])),
        2,
        "--yes",
    );
    assert_fails(
        &target.run(&with_platform(&[
            "context",
            "erase",
            "--context",
            "chem",
            "--yes",
        ])),
        1,
        "no data held for context chem",
    );
    let erased = target.json(&with_platform(&[
        "context",
        "erase",
        "--context",
        "bio",
        "--yes",
    ]));
    assert_eq!(erased["counts"]["attempts"], 4);
    assert_eq!(erased["counts"]["resource_links"], 1);
    assert_eq!(erased["counts"]["contexts"], 1);
    assert_fails(
        &target.run(&with_platform(&["attempts", "export", "--context", "bio"])),
        1,
        "no context bio",
    );
    // The other platform's course of the same id is untouched.
    let other = target.json(&[
        "attempts",
        "export",
        "--context",
        "bio",
        "--consumer-key",
        "moodle",
    ]);
    assert_eq!(other.as_array().unwrap().len(), 1);
}

fn retention_purge(target: &Target) {
    let now = OffsetDateTime::now_utc();
    with_store(target, move |store| {
        Box::pin(async move {
            let s = scope();
            let old = ("bio", "quiz-1", "old", Some("Old"));
            seed(
                &*store,
                &s,
                old,
                "o1",
                datetime!(2020-01-01 00:00 UTC),
                Some(3.0),
            )
            .await;
            let new = ("bio", "quiz-1", "new", Some("New"));
            seed(&*store, &s, new, "n1", now - Duration::days(1), Some(4.0)).await;
        })
    });
    assert_fails(
        &target.run(&["retention", "purge", "--days", "ten"]),
        2,
        "--days",
    );
    let forever = target.run_env(&["retention", "purge"], &[("LTI_RETENTION_DAYS", "0")]);
    assert_success(&forever);
    assert!(String::from_utf8_lossy(&forever.stdout).contains("nothing expires"));
    target.json(&with_platform(&["user", "export", "--user", "old"]));

    let purged = target.json(&["retention", "purge", "--days", "30"]);
    assert_eq!(purged["counts"]["attempts"], 1);
    assert_eq!(purged["counts"]["users"], 1);
    assert_eq!(purged["counts"]["deliveries"], 1);
    assert_fails(
        &target.run(&with_platform(&["user", "export", "--user", "old"])),
        1,
        "no data held",
    );
    target.json(&with_platform(&["user", "export", "--user", "new"]));
    let log = target.json(&["audit", "list"]);
    assert_eq!(log[0]["action"], "retention_purge");
}

on_both_backends!(
    aws = aws_without_secret;
    user_export_and_erase,
    attempts_export_and_context_erase,
    retention_purge,
);
