//! Grade delivery end to end: the score API of the running tool, a loopback AGS 2.0 platform
//! and a loopback Basic Outcomes service, with injected faults. Every score must reach the
//! platform exactly once and in order, whatever fails on the way.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::Duration;

use lti_shared::domain::ids::{ConsumerKey, DeliveryId};
use lti_shared::domain::model::{BasicOutcome, PlatformScope};
use lti_shared::domain::outbox::DeliveryStatus;
use lti_tests::ags::{AGS_SCOPES, AgsConfig, AgsEndpoint, AgsPlatform};
use lti_tests::faults::Fault;
use lti_tests::grades::{
    GradeRig, count_with_status, fast_policy, post_score, seed_attempt, wait_for,
};
use lti_tests::outcomes11_service::{Outcomes11Config, Outcomes11Op, Outcomes11Service};
use lti_tests::platform::{FakePlatform, LaunchSpec, auto_submit_form};
use lti_tests::tool::{RunningTool, ToolOptions};
use serde_json::json;

const SETTLE: Duration = Duration::from_secs(20);

fn fast_tool() -> ToolOptions {
    ToolOptions {
        app: ltictl::serve::AppOptions {
            policy: fast_policy(),
            ..Default::default()
        },
        retry_interval: Some(Duration::from_millis(25)),
        ..ToolOptions::default()
    }
}

async fn settled(tool: &RunningTool) -> bool {
    count_with_status(tool, DeliveryStatus::Pending).await == 0
}

#[tokio::test]
async fn score_after_a_real_launch_reaches_a_moodle_style_line_item() {
    let platform = FakePlatform::start().await;
    let tool = RunningTool::start_with(fast_tool()).await;
    let ags = AgsPlatform::start(
        AgsConfig::new(platform.client_id())
            .with_jwks_url(tool.url("/jwks"))
            .with_moodle_style_urls(),
    )
    .await;
    let mut registration = platform.registration(platform.client_id());
    registration.token_url = url::Url::parse(&ags.token_url()).unwrap();
    tool.backend
        .store
        .add_platform(&registration)
        .await
        .unwrap();
    platform.add_redirect_uri(tool.url("/launch"));
    let lineitem = ags.add_line_item(
        "course-1",
        json!({"label": "Quiz", "scoreMaximum": 10, "resourceLinkId": "link-1"}),
    );
    assert!(lineitem.contains("?type_id="), "{lineitem}");
    let spec = LaunchSpec::student().resource_link_id("link-1").set(
        "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint",
        json!({
            "scope": AGS_SCOPES,
            "lineitems": ags.line_items_url("course-1"),
            "lineitem": lineitem,
        }),
    );
    let outcome = platform
        .launch(&tool.url("/login"), &tool.url("/launch"), spec)
        .await;
    let sub = outcome.claims()["sub"].as_str().unwrap().to_owned();
    let launch = outcome.expect_launch();
    let (_, fields) = auto_submit_form(&launch.body).expect("the hand-off form");
    let session = &fields.iter().find(|(n, _)| n == "lti_session").unwrap().1;

    let http = reqwest::Client::new();
    let (status, answer) = post_score(
        &http,
        &tool,
        session,
        json!({"scoreGiven": 7, "scoreMaximum": 10, "comment": "Good"}),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["status"], "delivered", "{answer}");
    let (status, answer) = post_score(
        &http,
        &tool,
        session,
        json!({"scoreGiven": 9, "scoreMaximum": 10}),
    )
    .await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (202, Some("delivered"))
    );

    let received = ags.scores_for(&lineitem, &sub);
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].score_given, Some(7.0));
    assert_eq!(received[0].comment.as_deref(), Some("Good"));
    assert_eq!(received[1].score_given, Some(9.0));
    assert!(received[0].user_agent.starts_with("lti-tool/"));
    assert!(received[0].timestamp.ends_with('Z') && received[0].timestamp.contains('.'));
    assert!(received[0].timestamp < received[1].timestamp);
    assert_eq!(
        ags.token_requests(),
        1,
        "the second score reused the cached token"
    );
    assert!(ags.refusals().is_empty(), "{:?}", ags.refusals());
}

#[tokio::test]
async fn faults_on_the_score_endpoint_lose_and_duplicate_nothing() {
    let rig = GradeRig::start(fast_tool(), |c| c.with_moodle_style_urls()).await;
    let lineitem = rig.ags.add_line_item(
        "c",
        json!({"label": "Quiz", "scoreMaximum": 10, "resourceLinkId": "link-1"}),
    );
    let token = rig.seed("c", "link-1", "learner-1", Some(&lineitem)).await;
    let faults = rig.ags.faults();
    for fault in [
        Fault::Status(500),
        Fault::TooManyRequests { retry_after: 1 },
        Fault::ExpiredToken,
        Fault::Close,
        Fault::CloseAfterProcessing,
        Fault::Status(503),
        Fault::Hang(Duration::from_secs(2)),
        Fault::SlowResponse(Duration::from_secs(2)),
    ] {
        faults.push(AgsEndpoint::Scores, fault);
    }
    let mut expected = Vec::new();
    for given in 1..=8 {
        let (status, answer) = rig
            .post_score(&token, json!({"scoreGiven": given, "scoreMaximum": 10}))
            .await;
        assert_eq!(status, 202, "{answer}");
        expected.push((lineitem.as_str(), "learner-1", f64::from(given)));
    }
    assert!(
        wait_for(SETTLE, || settled(&rig.tool)).await,
        "deliveries still pending"
    );
    assert_eq!(faults.pending(), 0, "every fault fired");
    rig.ags.assert_each_delivered_once_in_order(&expected);
    assert_eq!(
        count_with_status(&rig.tool, DeliveryStatus::Delivered).await,
        8
    );
    assert_eq!(
        rig.ags.token_requests(),
        2,
        "one token, and one refresh after the 401"
    );
    // The 429's Retry-After (1 s) was honoured.
    let deliveries = rig
        .tool
        .backend
        .store
        .deliveries_with_status(DeliveryStatus::Delivered, 100)
        .await
        .unwrap();
    let throttled = deliveries
        .iter()
        .find(|d| d.history.iter().any(|t| t.http_status == Some(429)))
        .expect("a delivery was throttled");
    let at_429 = throttled
        .history
        .iter()
        .position(|t| t.http_status == Some(429))
        .unwrap();
    let gap = throttled.history[at_429 + 1].at - throttled.history[at_429].at;
    assert!(gap >= time::Duration::seconds(1), "retried after {gap}");
}

#[tokio::test]
async fn token_endpoint_failures_are_retried() {
    let rig = GradeRig::start(fast_tool(), |c| c).await;
    let lineitem = rig
        .ags
        .add_line_item("c", json!({"label": "Quiz", "scoreMaximum": 10}));
    let token = rig.seed("c", "link-1", "learner-1", Some(&lineitem)).await;
    rig.ags
        .faults()
        .push(AgsEndpoint::Token, Fault::Status(503));
    rig.ags.faults().push(AgsEndpoint::Token, Fault::Close);
    let (_, answer) = rig
        .post_score(&token, json!({"scoreGiven": 5, "scoreMaximum": 10}))
        .await;
    assert_eq!(answer["status"], "pending");
    assert!(wait_for(SETTLE, || settled(&rig.tool)).await);
    rig.ags
        .assert_each_delivered_once_in_order(&[(lineitem.as_str(), "learner-1", 5.0)]);
}

#[tokio::test]
async fn missing_line_item_is_found_across_pages_or_created_once() {
    let rig = GradeRig::start(fast_tool(), |c| c.with_page_size(2)).await;
    for n in 0..5 {
        rig.ags.add_line_item(
            "c",
            json!({"label": format!("Other {n}"), "scoreMaximum": 5, "resourceLinkId": format!("other-{n}")}),
        );
    }
    let existing = rig.ags.add_line_item(
        "c",
        json!({"label": "Found", "scoreMaximum": 10, "resourceLinkId": "link-found"}),
    );
    // A link whose line item sits on the third page: found, not created.
    let found = rig.seed("c", "link-found", "learner-1", None).await;
    let (_, answer) = rig
        .post_score(&found, json!({"scoreGiven": 4, "scoreMaximum": 10}))
        .await;
    assert_eq!(answer["status"], "delivered", "{answer}");
    assert_eq!(rig.ags.scores_for(&existing, "learner-1").len(), 1);
    // A link with no line item: created once, then reused by every learner.
    let a = rig.seed("c", "link-new", "learner-1", None).await;
    let b = rig.seed("c", "link-new", "learner-2", None).await;
    for token in [&a, &b, &a] {
        let (_, answer) = rig
            .post_score(token, json!({"scoreGiven": 3, "scoreMaximum": 10}))
            .await;
        assert_eq!(answer["status"], "delivered", "{answer}");
    }
    let items = rig.ags.line_items("c");
    assert_eq!(items.len(), 7, "one line item created: {items:#?}");
    let created = items
        .iter()
        .find(|i| i["resourceLinkId"] == "link-new")
        .unwrap();
    assert_eq!(created["label"], "Activity link-new");
    let created = created["id"].as_str().unwrap();
    assert_eq!(rig.ags.scores_for(created, "learner-1").len(), 2);
    assert_eq!(rig.ags.scores_for(created, "learner-2").len(), 1);
}

#[tokio::test]
async fn a_stop_between_the_write_and_the_delivery_loses_nothing() {
    let data = tempfile::tempdir().unwrap();
    let options = ToolOptions {
        data_dir: Some(data.path().to_owned()),
        app: ltictl::serve::AppOptions {
            policy: fast_policy(),
            ..Default::default()
        },
        retry_interval: None,
        ..ToolOptions::default()
    };
    let rig = GradeRig::start(options.clone(), |c| c).await;
    let lineitem = rig
        .ags
        .add_line_item("c", json!({"label": "Quiz", "scoreMaximum": 10}));
    let token = rig.seed("c", "link-1", "learner-1", Some(&lineitem)).await;
    rig.ags.stop().await;
    let mut ids = Vec::new();
    for given in [2, 6] {
        let (status, answer) = rig
            .post_score(&token, json!({"scoreGiven": given, "scoreMaximum": 10}))
            .await;
        assert_eq!((status, answer["status"].as_str()), (202, Some("pending")));
        ids.push(answer["id"].as_str().unwrap().to_owned());
    }
    // The tool stops with both grades written but undelivered; the platform comes back; the
    // tool starts again on the same data, and its retry loop finds them.
    let GradeRig { tool, ags, .. } = rig;
    drop(tool);
    ags.restart().await;
    let tool = RunningTool::start_with(ToolOptions {
        retry_interval: Some(Duration::from_millis(25)),
        ..options
    })
    .await;
    // Same keys (same data folder), new loopback port.
    ags.set_tool_jwks_url(tool.url("/jwks"));
    assert!(wait_for(SETTLE, || settled(&tool)).await);
    ags.assert_each_delivered_once_in_order(&[
        (lineitem.as_str(), "learner-1", 2.0),
        (lineitem.as_str(), "learner-1", 6.0),
    ]);
    for id in ids {
        let delivery = tool
            .backend
            .store
            .delivery(&DeliveryId::parse(id).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(delivery.status, DeliveryStatus::Delivered);
    }
}

#[tokio::test]
async fn exhausted_retries_go_dead_and_a_replay_delivers() {
    let rig = GradeRig::start(fast_tool(), |c| c).await;
    let lineitem = rig
        .ags
        .add_line_item("c", json!({"label": "Quiz", "scoreMaximum": 10}));
    let token = rig.seed("c", "link-1", "learner-1", Some(&lineitem)).await;
    rig.ags
        .faults()
        .push_n(AgsEndpoint::Scores, Fault::Status(502), 100);
    let (_, answer) = rig
        .post_score(&token, json!({"scoreGiven": 8, "scoreMaximum": 10}))
        .await;
    let id = DeliveryId::parse(answer["id"].as_str().unwrap()).unwrap();
    assert!(
        wait_for(SETTLE, || async {
            count_with_status(&rig.tool, DeliveryStatus::Dead).await == 1
        })
        .await
    );
    let dead = rig.tool.backend.store.delivery(&id).await.unwrap().unwrap();
    assert_eq!(dead.tries, fast_policy().max_tries);
    assert!(dead.last_error.as_deref().unwrap().contains("502"));
    // The status API shows it to the activity too.
    let answer: serde_json::Value = rig
        .http
        .get(rig.tool.url(&format!("/outcomes/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["status"], "dead");
    rig.ags.faults().clear();
    let replayed = rig.tool.app.deliverer().replay(&id).await.unwrap().unwrap();
    assert_eq!(replayed.status, DeliveryStatus::Delivered);
    rig.ags
        .assert_each_delivered_once_in_order(&[(lineitem.as_str(), "learner-1", 8.0)]);
}

#[tokio::test]
async fn a_permanent_refusal_is_failed_with_the_platform_reason() {
    let rig = GradeRig::start(fast_tool(), |c| c).await;
    let lineitem = rig
        .ags
        .add_line_item("c", json!({"label": "Quiz", "scoreMaximum": 10}));
    let token = rig.seed("c", "link-1", "learner-1", Some(&lineitem)).await;
    rig.ags
        .faults()
        .push(AgsEndpoint::Scores, Fault::CodeMajorFailure);
    let (_, answer) = rig
        .post_score(&token, json!({"scoreGiven": 8, "scoreMaximum": 10}))
        .await;
    assert_eq!(answer["status"], "failed", "{answer}");
    assert!(
        answer["last_error"].as_str().unwrap().contains("400"),
        "{answer}"
    );
    // A later score is not held up by the failed one.
    let (_, answer) = rig
        .post_score(&token, json!({"scoreGiven": 9, "scoreMaximum": 10}))
        .await;
    assert_eq!(answer["status"], "delivered");
}

#[tokio::test]
async fn basic_outcomes_faults_lose_and_duplicate_nothing() {
    let service = Outcomes11Service::start(Outcomes11Config::new("consumer-1", "s3cret")).await;
    let tool = RunningTool::start_with(fast_tool()).await;
    tool.add_consumer("consumer-1", "s3cret").await;
    let scope = PlatformScope::Lti11 {
        consumer_key: ConsumerKey::parse("consumer-1").unwrap(),
    };
    let token = seed_attempt(
        &tool,
        &scope,
        "link-11",
        "learner-11",
        None,
        Some(BasicOutcome {
            service_url: service.service_url().to_string(),
            sourcedid: "sourcedid-1".into(),
        }),
    )
    .await;
    for fault in [
        Fault::Status(500),
        Fault::Close,
        Fault::Hang(Duration::from_secs(2)),
        Fault::Status(503),
    ] {
        service.faults().push(Outcomes11Op::ReplaceResult, fault);
    }
    let http = reqwest::Client::new();
    let mut expected = Vec::new();
    for given in [3, 5, 4, 10] {
        let (status, _) = post_score(
            &http,
            &tool,
            &token,
            json!({"scoreGiven": given, "scoreMaximum": 10}),
        )
        .await;
        assert_eq!(status, 202);
        expected.push(("sourcedid-1", f64::from(given) / 10.0));
    }
    assert!(wait_for(SETTLE, || settled(&tool)).await);
    service.assert_each_delivered_once_in_order(&expected);
    assert!(service.refusals().is_empty(), "{:?}", service.refusals());
}
