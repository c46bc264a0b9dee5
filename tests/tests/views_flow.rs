//! The course views over real sockets: what course staff and learners see, the CSV download,
//! resending grades, and the roster from a loopback Names and Roles service that pages its
//! membership over three pages. Access comes only from the launch session: every view and
//! action is tried as the wrong learner, the wrong course's instructor and an expired session.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lti_shared::domain::ids::{AttemptId, ContextId, ResourceLinkId, UserId};
use lti_shared::domain::model::{Context, PlatformScope, User};
use lti_shared::domain::roles::{RoleMap, Roles};
use lti_shared::lti13::ags::SCOPE_NRPS;
use lti_shared::lti13::session::{self, SESSION_LIFETIME, SessionClaims};
use lti_tests::ags::{AGS_SCOPES, AgsEndpoint};
use lti_tests::faults::Fault;
use lti_tests::grades::{GradeRig, fast_policy, scope};
use lti_tests::tool::ToolOptions;
use serde_json::json;
use time::OffsetDateTime;

const LEARNER: &str = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner";
const INSTRUCTOR: &str = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor";
const TEST_USER: &str = "http://purl.imsglobal.org/vocab/lti/system/person#TestUser";

struct Course {
    rig: GradeRig,
    lineitem_a: String,
}

/// Course A (link-a: Alice, named; bob, unnamed; a test user) and course B (link-b: Carol),
/// each with a score.
async fn course() -> Course {
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
    let lineitem_a = rig
        .ags
        .add_line_item("a", json!({"label": "Quiz A", "scoreMaximum": 10}));
    let lineitem_b = rig
        .ags
        .add_line_item("b", json!({"label": "Quiz B", "scoreMaximum": 10}));
    let course = Course { rig, lineitem_a };
    let store = &course.rig.tool.backend.store;
    let s = scope(&course.rig.ags);
    for (id, title) in [("course-a", "Biology 101"), ("course-b", "Chemistry 201")] {
        store
            .put_context(&Context {
                scope: s.clone(),
                context_id: ContextId::parse(id).unwrap(),
                label: None,
                title: Some(title.into()),
                types: vec![],
                memberships_url: None,
                lti11: None,
                updated_at: OffsetDateTime::now_utc(),
            })
            .await
            .unwrap();
    }
    for (user, name) in [
        ("alice", Some("Alice Ærøskøbing")),
        ("mallory", Some("=HYPERLINK(\"http://evil\")")),
        ("carol", Some("Carol")),
        ("bob", None),
    ] {
        store
            .put_user(&User {
                scope: s.clone(),
                user_id: UserId::parse(user).unwrap(),
                name: name.map(str::to_owned),
                given_name: None,
                family_name: None,
                sis_id: (user == "alice").then(|| "SIS-42".to_owned()),
                lti11: None,
                updated_at: OffsetDateTime::now_utc(),
            })
            .await
            .unwrap();
    }
    let plan = [
        ("link-a", "alice", &course.lineitem_a, 7, &[LEARNER][..]),
        ("link-a", "bob", &course.lineitem_a, 4, &[LEARNER][..]),
        ("link-a", "mallory", &course.lineitem_a, 5, &[LEARNER][..]),
        ("link-a", "tester", &course.lineitem_a, 0, &[TEST_USER][..]),
        ("link-b", "carol", &lineitem_b, 9, &[LEARNER][..]),
    ];
    for (link, user, lineitem, given, roles) in plan {
        let context = if link == "link-a" { "a" } else { "b" };
        let token = course.rig.seed(context, link, user, Some(lineitem)).await;
        // The seeded attempt gets the user's roles and context, as a launch would record.
        let key = lti_shared::domain::model::AttemptKey {
            scope: s.clone(),
            resource_link_id: ResourceLinkId::parse(link).unwrap(),
            user_id: UserId::parse(user).unwrap(),
            attempt_id: AttemptId::parse("000001").unwrap(),
        };
        let mut attempt = store.attempt(&key).await.unwrap().unwrap();
        attempt.roles = roles_of(roles);
        attempt.context_id = Some(ContextId::parse(format!("course-{context}")).unwrap());
        store.update_attempt(&attempt).await.unwrap();
        let mut link_record = store
            .resource_link(&s, &key.resource_link_id)
            .await
            .unwrap()
            .unwrap();
        link_record.context_id = attempt.context_id.clone();
        store.put_resource_link(&link_record).await.unwrap();
        let (status, answer) = course
            .rig
            .post_score(&token, json!({"scoreGiven": given, "scoreMaximum": 10}))
            .await;
        assert_eq!(status, 202, "{answer}");
    }
    course
}

fn roles_of(roles: &[&str]) -> Roles {
    Roles::from_claim(
        &roles.iter().map(|r| (*r).to_owned()).collect::<Vec<_>>(),
        &RoleMap::new(),
    )
}

impl Course {
    fn scope(&self) -> PlatformScope {
        scope(&self.rig.ags)
    }

    /// A session as a launch of `link` in `context` by `user` with `roles` would issue.
    async fn session(
        &self,
        link: &str,
        context: &str,
        user: &str,
        roles: &[&str],
        exp: i64,
    ) -> String {
        let keys = self.rig.tool.backend.keys.signing_keys().await.unwrap();
        let now = OffsetDateTime::now_utc();
        session::issue(
            &keys,
            &SessionClaims {
                iss: self.rig.tool.base.clone(),
                aud: self.rig.tool.base.clone(),
                iat: now.unix_timestamp(),
                exp: now.unix_timestamp() + exp,
                jti: uuid::Uuid::new_v4().to_string(),
                platform: self.scope(),
                deployment_id: self.scope().deployment_id().cloned(),
                user_id: Some(UserId::parse(user).unwrap()),
                resource_link_id: ResourceLinkId::parse(link).unwrap(),
                context_id: Some(ContextId::parse(context).unwrap()),
                attempt_id: Some(AttemptId::parse("000001").unwrap()),
                roles: roles_of(roles),
            },
        )
        .unwrap()
    }

    async fn teacher_a(&self) -> String {
        self.session(
            "link-a",
            "course-a",
            "teacher",
            &[INSTRUCTOR],
            SESSION_LIFETIME.whole_seconds(),
        )
        .await
    }

    async fn post(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (u16, String, reqwest::header::HeaderMap) {
        let response = self
            .rig
            .http
            .post(self.rig.tool.url(path))
            .form(fields)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, response.text().await.unwrap(), headers)
    }
}

fn section<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {page}"));
    let rest = &page[start..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

#[tokio::test]
async fn staff_view_lists_attempts_with_statistics_and_flags_test_users() {
    let course = course().await;
    let token = course.teacher_a().await;
    let (status, page, _) = course.post("/views", &[("lti_session", &token)]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Biology 101"));
    let attempts = section(&page, "attempts");
    assert!(attempts.contains("Alice Ærøskøbing") && attempts.contains("SIS-42"));
    assert!(
        attempts.contains("Learner bob"),
        "a neutral label for the unnamed learner"
    );
    assert!(attempts.contains("7 / 10") && attempts.contains("delivered"));
    assert!(
        !attempts.contains("tester"),
        "the test user is not among the learners"
    );
    assert!(!page.contains("Carol"), "nothing from course B");
    let flagged = section(&page, "flagged");
    assert!(flagged.contains("Learner tester"));
    // Alice 70%, bob 40%, mallory 50%: the test user's 0 is left out.
    assert!(page.contains("id=\"stat-attempts\">3<"), "{page}");
    assert!(page.contains("id=\"stat-mean\">53.3%<"), "{page}");
    assert!(page.contains("id=\"stat-median\">50.0%<"), "{page}");
}

#[tokio::test]
async fn learner_sees_only_their_own_attempts() {
    let course = course().await;
    let token = course
        .session("link-a", "course-a", "alice", &[LEARNER], 3600)
        .await;
    let (status, page, _) = course.post("/views", &[("lti_session", &token)]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Your attempts"));
    assert!(page.contains("7 / 10"));
    for other in ["Learner bob", "4 / 10", "HYPERLINK", "tester", "Carol"] {
        assert!(!page.contains(other), "a learner saw {other}: {page}");
    }
    for path in ["/views/csv", "/views/resend", "/views/roster"] {
        let (status, page, _) = course
            .post(path, &[("lti_session", &token), ("all_failed", "1")])
            .await;
        assert_eq!(status, 403, "{path}: {page}");
        assert!(page.contains("STAFF_ONLY"), "{path}");
    }
}

#[tokio::test]
async fn another_courses_instructor_reaches_nothing_of_this_course() {
    let course = course().await;
    let token = course
        .session("link-b", "course-b", "teacher-b", &[INSTRUCTOR], 3600)
        .await;
    let (_, page, _) = course.post("/views", &[("lti_session", &token)]).await;
    assert!(page.contains("Carol") && !page.contains("Alice"), "{page}");
    let (_, csv, _) = course.post("/views/csv", &[("lti_session", &token)]).await;
    assert!(csv.contains("carol") && !csv.contains("alice"), "{csv}");
    // A grade of course A, named by id from course B's session.
    let alice_grade = course
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
    let before = course.rig.ags.accepted_scores();
    let (status, page, _) = course
        .post(
            "/views/resend",
            &[
                ("lti_session", &token),
                ("delivery", alice_grade.id.as_str()),
            ],
        )
        .await;
    assert_eq!(status, 404, "{page}");
    assert!(page.contains("GRADE_NOT_FOUND"));
    assert_eq!(
        course.rig.ags.accepted_scores(),
        before,
        "nothing was resent"
    );
}

#[tokio::test]
async fn expired_or_forged_sessions_and_gets_are_refused_everywhere() {
    let course = course().await;
    let expired = course
        .session("link-a", "course-a", "teacher", &[INSTRUCTOR], -1)
        .await;
    for path in ["/views", "/views/csv", "/views/resend", "/views/roster"] {
        let (status, page, _) = course.post(path, &[("lti_session", &expired)]).await;
        assert_eq!(status, 401, "{path}");
        assert!(page.contains("SESSION_EXPIRED"), "{path}: {page}");
        let (status, page, _) = course.post(path, &[("lti_session", "not.a.token")]).await;
        assert_eq!(status, 401, "{path}");
        assert!(page.contains("SESSION_INVALID"), "{path}");
    }
    let response = reqwest::get(course.rig.tool.url("/views")).await.unwrap();
    assert_eq!(response.status(), 405);
    let good = course.teacher_a().await;
    let (status, _, _) = course.post("/views", &[("lti_session", &good)]).await;
    assert_eq!(status, 200, "the same request with a live session passes");
}

#[tokio::test]
async fn csv_download_is_spreadsheet_safe_utf8_with_a_header() {
    let course = course().await;
    let token = course.teacher_a().await;
    let (status, csv, headers) = course.post("/views/csv", &[("lti_session", &token)]).await;
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().contains("user_id"));
    assert!(csv.contains("Alice Ærøskøbing"), "{csv}");
    assert!(csv.contains("SIS-42"));
    assert!(
        !csv.contains(",=HYPERLINK") && !csv.contains(",\"=HYPERLINK"),
        "{csv}"
    );
    assert!(
        csv.contains("'=HYPERLINK"),
        "the formula is neutralized: {csv}"
    );
    assert!(!csv.contains("carol"));
}

#[tokio::test]
async fn resend_delivers_a_failed_grade() {
    let course = course().await;
    let token = course
        .session("link-a", "course-a", "bob", &[LEARNER], 3600)
        .await;
    course
        .rig
        .ags
        .faults()
        .push(AgsEndpoint::Scores, Fault::CodeMajorFailure);
    let (_, answer) = course
        .rig
        .post_score(&token, json!({"scoreGiven": 6, "scoreMaximum": 10}))
        .await;
    assert_eq!(answer["status"], "failed", "{answer}");
    let teacher = course.teacher_a().await;
    let (_, page, _) = course.post("/views", &[("lti_session", &teacher)]).await;
    assert!(
        page.contains("status-failed") && page.contains("id=\"resend-all\""),
        "{page}"
    );
    let (status, page, _) = course
        .post(
            "/views/resend",
            &[("lti_session", &teacher), ("all_failed", "1")],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("1 delivered"), "{page}");
    let bob: Vec<_> = course.rig.ags.scores_for(&course.lineitem_a, "bob");
    assert_eq!(
        bob.iter().map(|s| s.score_given).collect::<Vec<_>>(),
        [Some(4.0), Some(6.0)]
    );
}

/// A Names and Roles membership service that answers in three pages.
async fn nrps_server(requests: Arc<AtomicUsize>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let pages = vec![
        json!({"members": [
            {"user_id": "alice", "status": "Active", "name": "Alice Ærøskøbing", "roles": [LEARNER]},
            {"user_id": "teacher", "status": "Active", "name": "Tea Cher", "roles": [INSTRUCTOR]}]}),
        json!({"members": [
            {"user_id": "dana", "status": "Active", "given_name": "Dana", "family_name": "Scully", "roles": [LEARNER], "email": "dana@example.edu"},
            {"user_id": "gone", "status": "Inactive", "name": "Gone Away", "roles": [LEARNER]}]}),
        json!({"members": [
            {"user_id": "erin-no-name", "roles": [LEARNER], "lis_person_sourcedid": "SIS-77"},
            {"user_id": "bob", "roles": [LEARNER]}]}),
    ];
    let base_for_server = base.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let pages = pages.clone();
            let requests = Arc::clone(&requests);
            let base = base_for_server.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let pages = pages.clone();
                    let requests = Arc::clone(&requests);
                    let base = base.clone();
                    async move {
                        requests.fetch_add(1, Ordering::SeqCst);
                        let authorized = req
                            .headers()
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .is_some_and(|v| v.starts_with("Bearer "));
                        let page: usize = req
                            .uri()
                            .query()
                            .and_then(|q| q.strip_prefix("page="))
                            .and_then(|p| p.parse().ok())
                            .unwrap_or(1);
                        let mut response = hyper::Response::builder().header(
                            "content-type",
                            "application/vnd.ims.lti-nrps.v2.membershipcontainer+json",
                        );
                        if page < 3 {
                            response = response.header(
                                "link",
                                format!("<{base}/members?page={}>; rel=\"next\"", page + 1),
                            );
                        }
                        let response = if authorized {
                            response
                                .status(200)
                                .body(Full::new(Bytes::from(pages[page - 1].to_string())))
                        } else {
                            response.status(401).body(Full::new(Bytes::new()))
                        };
                        Ok::<_, std::convert::Infallible>(response.unwrap())
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("{base}/members")
}

#[tokio::test]
async fn roster_pages_the_membership_and_lists_learners_who_have_not_started() {
    let course = course().await;
    let requests = Arc::new(AtomicUsize::new(0));
    let url = nrps_server(Arc::clone(&requests)).await;
    let store = &course.rig.tool.backend.store;
    let context_id = ContextId::parse("course-a").unwrap();
    let mut context = store
        .context(&course.scope(), &context_id)
        .await
        .unwrap()
        .unwrap();
    context.memberships_url = Some(url);
    store.put_context(&context).await.unwrap();
    let _ = AGS_SCOPES;
    let teacher = course.teacher_a().await;

    let (_, page, _) = course.post("/views", &[("lti_session", &teacher)]).await;
    assert!(
        page.contains("id=\"roster\""),
        "the roster button shows: {page}"
    );
    let (status, page, _) = course
        .post("/views/roster", &[("lti_session", &teacher)])
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(requests.load(Ordering::SeqCst), 3, "three pages fetched");
    let list = &page[page.find("id=\"not-started\"").unwrap()..];
    assert!(list.contains("Dana Scully"), "{page}");
    assert!(
        list.contains("Learner erin-no-n") && list.contains("SIS-77"),
        "{page}"
    );
    for absent in [
        "Alice",
        "Tea Cher",
        "Gone Away",
        "Learner bob",
        "dana@example.edu",
    ] {
        assert!(!page.contains(absent), "{absent} listed: {page}");
    }
    assert!(page.contains("2 of 4 learners"), "{page}");
    // Cached: a second look makes no request; a refresh fetches the three pages again.
    course
        .post("/views/roster", &[("lti_session", &teacher)])
        .await;
    assert_eq!(requests.load(Ordering::SeqCst), 3);
    course
        .post(
            "/views/roster",
            &[("lti_session", &teacher), ("refresh", "1")],
        )
        .await;
    assert_eq!(requests.load(Ordering::SeqCst), 6);
}
