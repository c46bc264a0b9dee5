//! Two deployments of one registration that both use resource link id `42` in context
//! `course` (LTI Core 1.3 §5.3.5, §5.4.1 make those ids unique only within a deployment):
//! attempts, grade deliveries, the staff views, the CSV export and the roster of one
//! deployment never show or reach the other's, while each deployment sees its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lti_shared::domain::ids::{AttemptId, ContextId, DeploymentId, ResourceLinkId, UserId};
use lti_shared::domain::model::{AttemptKey, Context, PlatformScope, User};
use lti_shared::domain::roles::{RoleMap, Roles};
use lti_shared::lti13::ags::SCOPE_NRPS;
use lti_shared::lti13::session::{self, SESSION_LIFETIME, SessionClaims};
use lti_tests::ags::AGS_SCOPES;
use lti_tests::grades::{GradeRig, fast_policy, scope};
use lti_tests::tool::ToolOptions;
use serde_json::{Value, json};
use time::OffsetDateTime;

const LEARNER: &str = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner";
const INSTRUCTOR: &str = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor";
const LINK: &str = "42";
const CONTEXT: &str = "course";

/// The rig, with Alice launched in deployment-1 and Bob in deployment-2, both on link `42`
/// of context `course`, each with a score on their deployment's own line item.
struct TwoDeployments {
    rig: GradeRig,
    lineitem_1: String,
    lineitem_2: String,
}

fn dep(rig: &GradeRig, n: u8) -> PlatformScope {
    scope(&rig.ags).with_deployment(&DeploymentId::parse(format!("deployment-{n}")).unwrap())
}

/// A one-page Names and Roles service listing `members`; counts its requests.
async fn nrps(members: Value) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/members", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&requests);
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let body = json!({ "members": members.clone() }).to_string();
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let service = service_fn(move |_req: hyper::Request<hyper::body::Incoming>| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let body = body.clone();
                    async move {
                        Ok::<_, std::convert::Infallible>(
                            hyper::Response::builder()
                                .status(200)
                                .header(
                                    "content-type",
                                    "application/vnd.ims.lti-nrps.v2.membershipcontainer+json",
                                )
                                .body(Full::new(Bytes::from(body)))
                                .unwrap(),
                        )
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, requests)
}

async fn two_deployments() -> TwoDeployments {
    let rig = GradeRig::start(
        ToolOptions {
            app: ltictl::serve::AppOptions {
                policy: fast_policy(),
                ..Default::default()
            },
            ..ToolOptions::default()
        },
        |mut c| {
            c.granted_scopes.push(SCOPE_NRPS.to_owned());
            c
        },
    )
    .await;
    let store = &rig.tool.backend.store;
    let s1 = scope(&rig.ags);
    let mut registration = store
        .platform(
            &lti_shared::domain::ids::Issuer::parse(rig.ags.issuer()).unwrap(),
            &lti_shared::domain::ids::ClientId::parse(lti_tests::grades::CLIENT_ID).unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    registration
        .deployment_ids
        .insert(DeploymentId::parse("deployment-2").unwrap());
    store.update_platform(&registration).await.unwrap();
    let lineitem_1 = rig
        .ags
        .add_line_item("dep1", json!({"label": "Quiz (dep-1)", "scoreMaximum": 10}));
    let lineitem_2 = rig
        .ags
        .add_line_item("dep2", json!({"label": "Quiz (dep-2)", "scoreMaximum": 10}));
    for (n, user, name, lineitem, given) in [
        (1, "alice", "Alice Dep-One", &lineitem_1, 7),
        (2, "bob", "Bob Dep-Two", &lineitem_2, 3),
    ] {
        let s = dep(&rig, n);
        assert_eq!(n == 1, s == s1, "deployment-1 is the rig's own scope");
        let (roster_url, _) = nrps(json!([
            {"user_id": user, "status": "Active", "name": name, "roles": [LEARNER]},
            {"user_id": format!("waiting-{n}"), "status": "Active",
             "name": format!("Waiting Dep-{n}"), "roles": [LEARNER]},
        ]))
        .await;
        store
            .put_context(&Context {
                scope: s.clone(),
                context_id: ContextId::parse(CONTEXT).unwrap(),
                label: None,
                title: Some(format!("Course of deployment-{n}")),
                types: vec![],
                memberships_url: Some(roster_url),
                lti11: None,
                updated_at: OffsetDateTime::now_utc(),
            })
            .await
            .unwrap();
        store
            .put_user(&User {
                scope: s.clone(),
                user_id: UserId::parse(user).unwrap(),
                name: Some(name.into()),
                given_name: None,
                family_name: None,
                sis_id: Some(format!("SIS-{user}")),
                lti11: None,
                updated_at: OffsetDateTime::now_utc(),
            })
            .await
            .unwrap();
        let ags = lti_shared::domain::model::AgsEndpoint {
            scopes: AGS_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            lineitems: Some(rig.ags.line_items_url(&format!("dep{n}"))),
            lineitem: Some(lti_shared::domain::ids::LineItemUrl::parse(lineitem).unwrap()),
        };
        let token =
            lti_tests::grades::seed_attempt(&rig.tool, &s, LINK, user, Some(ags), None).await;
        let key = AttemptKey {
            scope: s.clone(),
            resource_link_id: ResourceLinkId::parse(LINK).unwrap(),
            user_id: UserId::parse(user).unwrap(),
            attempt_id: AttemptId::parse("000001").unwrap(),
        };
        let mut attempt = store.attempt(&key).await.unwrap().unwrap();
        attempt.roles = roles_of(&[LEARNER]);
        attempt.context_id = Some(ContextId::parse(CONTEXT).unwrap());
        store.update_attempt(&attempt).await.unwrap();
        let mut link = store
            .resource_link(&s, &key.resource_link_id)
            .await
            .unwrap()
            .unwrap();
        link.context_id = attempt.context_id.clone();
        store.put_resource_link(&link).await.unwrap();
        let (status, answer) = rig
            .post_score(&token, json!({"scoreGiven": given, "scoreMaximum": 10}))
            .await;
        assert_eq!(status, 202, "{answer}");
    }
    TwoDeployments {
        rig,
        lineitem_1,
        lineitem_2,
    }
}

fn roles_of(roles: &[&str]) -> Roles {
    Roles::from_claim(
        &roles.iter().map(|r| (*r).to_owned()).collect::<Vec<_>>(),
        &RoleMap::new(),
    )
}

impl TwoDeployments {
    /// The session a launch of link `42` in `course` of deployment `n` by `user` would issue.
    async fn session(&self, n: u8, user: &str, roles: &[&str]) -> String {
        let keys = self.rig.tool.backend.keys.signing_keys().await.unwrap();
        let now = OffsetDateTime::now_utc();
        let platform = dep(&self.rig, n);
        session::issue(
            &keys,
            &SessionClaims {
                iss: self.rig.tool.base.clone(),
                aud: self.rig.tool.base.clone(),
                iat: now.unix_timestamp(),
                exp: (now + SESSION_LIFETIME).unix_timestamp(),
                jti: uuid::Uuid::new_v4().to_string(),
                deployment_id: platform.deployment_id().cloned(),
                platform,
                user_id: Some(UserId::parse(user).unwrap()),
                resource_link_id: ResourceLinkId::parse(LINK).unwrap(),
                context_id: Some(ContextId::parse(CONTEXT).unwrap()),
                attempt_id: Some(AttemptId::parse("000001").unwrap()),
                roles: roles_of(roles),
            },
        )
        .unwrap()
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let response = self
            .rig
            .http
            .post(self.rig.tool.url(path))
            .form(fields)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    async fn delivered(&self) {
        let tool = &self.rig.tool;
        let delivered = lti_tests::grades::wait_for(std::time::Duration::from_secs(10), || async {
            lti_tests::grades::count_with_status(
                tool,
                lti_shared::domain::outbox::DeliveryStatus::Delivered,
            )
            .await
                == 2
        })
        .await;
        assert!(delivered, "both grades delivered");
    }
}

#[tokio::test]
async fn same_link_id_in_two_deployments_keeps_attempts_apart() {
    let both = two_deployments().await;
    let store = &both.rig.tool.backend.store;
    let link = ResourceLinkId::parse(LINK).unwrap();
    let of = |n| {
        let s = dep(&both.rig, n);
        let link = link.clone();
        async move {
            store
                .attempts_of_resource_link(&s, &link)
                .await
                .unwrap()
                .into_iter()
                .map(|a| a.key.user_id.to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(of(1).await, ["alice"], "deployment-1 sees its own learner");
    assert_eq!(
        of(2).await,
        ["bob"],
        "deployment-2 sees only its own learner"
    );
    let links: Vec<_> = [1, 2].map(|n| dep(&both.rig, n)).to_vec();
    for (s, title) in links.iter().zip(["deployment-1", "deployment-2"]) {
        let context = store
            .context(s, &ContextId::parse(CONTEXT).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(context.title.unwrap(), format!("Course of {title}"));
    }
    // A user of one deployment is not found under the other.
    let bob = UserId::parse("bob").unwrap();
    assert!(store.user(&links[0], &bob).await.unwrap().is_none());
    assert!(store.user(&links[1], &bob).await.unwrap().is_some());
}

#[tokio::test]
async fn each_deployments_grade_goes_to_its_own_line_item() {
    let both = two_deployments().await;
    both.delivered().await;
    let ags = &both.rig.ags;
    assert_eq!(ags.scores_for(&both.lineitem_1, "alice").len(), 1);
    assert_eq!(ags.scores_for(&both.lineitem_2, "bob").len(), 1);
    assert!(
        ags.scores_for(&both.lineitem_1, "bob").is_empty(),
        "deployment-2's grade did not reach deployment-1's gradebook"
    );
    assert!(ags.scores_for(&both.lineitem_2, "alice").is_empty());
    assert_eq!(ags.accepted_scores(), 2);
}

#[tokio::test]
async fn staff_views_and_csv_of_one_deployment_show_only_its_learners() {
    let both = two_deployments().await;
    both.delivered().await;
    for (n, own, other) in [
        (1, "Alice Dep-One", "Bob Dep-Two"),
        (2, "Bob Dep-Two", "Alice Dep-One"),
    ] {
        let teacher = both.session(n, "teacher", &[INSTRUCTOR]).await;
        let (status, page) = both.post("/views", &[("lti_session", &teacher)]).await;
        assert_eq!(status, 200, "{page}");
        assert!(
            page.contains(own),
            "deployment-{n} lists its learner: {page}"
        );
        assert!(
            !page.contains(other),
            "deployment-{n} lists {other}: {page}"
        );
        assert!(
            page.contains(&format!("Course of deployment-{n}")),
            "{page}"
        );
        let (status, csv) = both.post("/views/csv", &[("lti_session", &teacher)]).await;
        assert_eq!(status, 200, "{csv}");
        let (own_id, other_id) = if n == 1 {
            ("alice", "bob")
        } else {
            ("bob", "alice")
        };
        assert!(
            csv.contains(own_id),
            "deployment-{n} exports its learner: {csv}"
        );
        assert!(
            !csv.contains(other_id),
            "deployment-{n} exported {other_id}: {csv}"
        );
    }
    // A learner's own view: the same user id, link and context in deployment-2 finds
    // nothing of deployment-1's Alice.
    let alice_in_2 = both.session(2, "alice", &[LEARNER]).await;
    let (status, page) = both.post("/views", &[("lti_session", &alice_in_2)]).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        !page.contains("7 / 10"),
        "deployment-1's score shown: {page}"
    );
    let alice_in_1 = both.session(1, "alice", &[LEARNER]).await;
    let (_, page) = both.post("/views", &[("lti_session", &alice_in_1)]).await;
    assert!(page.contains("7 / 10"), "{page}");
}

#[tokio::test]
async fn resend_from_another_deployment_reaches_no_grade() {
    let both = two_deployments().await;
    both.delivered().await;
    let alice_grade = both
        .rig
        .tool
        .backend
        .store
        .deliveries_with_status(lti_shared::domain::outbox::DeliveryStatus::Delivered, 100)
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.attempt.user_id.as_str() == "alice")
        .unwrap();
    let before = both.rig.ags.accepted_scores();
    let teacher_2 = both.session(2, "teacher", &[INSTRUCTOR]).await;
    let (status, page) = both
        .post(
            "/views/resend",
            &[
                ("lti_session", &teacher_2),
                ("delivery", alice_grade.id.as_str()),
            ],
        )
        .await;
    assert_eq!(status, 404, "{page}");
    assert!(page.contains("GRADE_NOT_FOUND"), "{page}");
    assert_eq!(both.rig.ags.accepted_scores(), before, "nothing was resent");
    let teacher_1 = both.session(1, "teacher", &[INSTRUCTOR]).await;
    let (status, page) = both
        .post(
            "/views/resend",
            &[
                ("lti_session", &teacher_1),
                ("delivery", alice_grade.id.as_str()),
            ],
        )
        .await;
    assert_ne!(status, 404, "deployment-1 reaches its own grade: {page}");
}

#[tokio::test]
async fn roster_of_one_deployment_is_its_own_even_when_the_other_is_cached() {
    let both = two_deployments().await;
    let teacher_1 = both.session(1, "teacher", &[INSTRUCTOR]).await;
    let (status, page) = both
        .post("/views/roster", &[("lti_session", &teacher_1)])
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Waiting Dep-1"), "{page}");
    // Deployment-1's roster is cached now; deployment-2's teacher gets deployment-2's.
    let teacher_2 = both.session(2, "teacher", &[INSTRUCTOR]).await;
    let (status, page) = both
        .post("/views/roster", &[("lti_session", &teacher_2)])
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Waiting Dep-2"), "{page}");
    assert!(!page.contains("Waiting Dep-1"), "{page}");
    assert!(!page.contains("Alice"), "{page}");
}

#[tokio::test]
async fn score_api_session_without_a_deployment_is_refused() {
    let both = two_deployments().await;
    let keys = both.rig.tool.backend.keys.signing_keys().await.unwrap();
    let now = OffsetDateTime::now_utc();
    let legacy = session::issue(
        &keys,
        &SessionClaims {
            iss: both.rig.tool.base.clone(),
            aud: both.rig.tool.base.clone(),
            iat: now.unix_timestamp(),
            exp: (now + SESSION_LIFETIME).unix_timestamp(),
            jti: "legacy".into(),
            // A token as minted before sessions named their deployment in the scope.
            platform: PlatformScope::registration(
                lti_shared::domain::ids::Issuer::parse(both.rig.ags.issuer()).unwrap(),
                lti_shared::domain::ids::ClientId::parse(lti_tests::grades::CLIENT_ID).unwrap(),
            ),
            deployment_id: Some(DeploymentId::parse("deployment-1").unwrap()),
            user_id: Some(UserId::parse("alice").unwrap()),
            resource_link_id: ResourceLinkId::parse(LINK).unwrap(),
            context_id: Some(ContextId::parse(CONTEXT).unwrap()),
            attempt_id: Some(AttemptId::parse("000001").unwrap()),
            roles: roles_of(&[LEARNER]),
        },
    )
    .unwrap();
    let (status, answer) = both
        .rig
        .post_score(&legacy, json!({"scoreGiven": 1, "scoreMaximum": 10}))
        .await;
    assert_eq!(status, 401, "{answer}");
    let (status, page) = both.post("/views", &[("lti_session", &legacy)]).await;
    assert_eq!(status, 401, "{page}");
    let good = both.session(1, "alice", &[LEARNER]).await;
    let (status, answer) = both
        .rig
        .post_score(&good, json!({"scoreGiven": 8, "scoreMaximum": 10}))
        .await;
    assert_eq!(status, 202, "{answer}");
}
