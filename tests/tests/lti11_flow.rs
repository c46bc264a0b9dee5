//! LTI 1.1 launches signed by an independent OAuth 1.0a implementation (Python's oauthlib, run
//! from the project's virtual environment), posted over a real socket to the tool's server. The
//! tool's public URL is `https://lti.example.edu` while it listens on plain loopback, as behind a
//! proxy or on Lambda: signatures must be checked against the public URL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use lti_shared::domain::ids::{ConsumerKey, ResourceLinkId, UserId};
use lti_shared::domain::model::PlatformScope;
use lti_tests::platform::auto_submit_form;
use lti_tests::tool::{RunningTool, oauthlib_sign};
use serde_json::{Value, json};

const PUBLIC: &str = "https://lti.example.edu";
const KEY: &str = "moodle-main";
const SECRET: &str = "a-long-consumer-secret-0123456789";

type Rig = RunningTool;

async fn rig() -> Rig {
    let tool = RunningTool::start(Some(PUBLIC)).await;
    tool.add_consumer(KEY, SECRET).await;
    tool
}

fn launch_params() -> Vec<(String, String)> {
    [
        ("lti_message_type", "basic-lti-launch-request"),
        ("lti_version", "LTI-1p0"),
        ("resource_link_id", "rl-42"),
        ("resource_link_title", "Quiz: cells & membranes"),
        ("user_id", "u-7"),
        ("roles", "Learner,urn:lti:instrole:ims/lis/Student"),
        ("lis_person_name_full", "Zoë Ñandú-O'Brien"),
        ("context_id", "course-1"),
        ("context_title", "Biology 101"),
        (
            "lis_outcome_service_url",
            "https://moodle.example/mod/lti/service.php",
        ),
        (
            "lis_result_sourcedid",
            r#"{"data":{"instanceid":"2","userid":"7","typeid":null,"launchid":1},"hash":"x&y"}"#,
        ),
        ("custom_reserved", "a&b=c+d%e/f?g#h ~*'()"),
    ]
    .iter()
    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
    .collect()
}

/// Signs `params` for `url` with oauthlib; `extra` overrides or adds request fields.
fn sign(url: &str, params: &[(String, String)], extra: Value) -> Vec<(String, String)> {
    let mut request = json!({"url": url, "key": KEY, "secret": SECRET, "params": params});
    if let (Some(request), Some(extra)) = (request.as_object_mut(), extra.as_object()) {
        request.extend(extra.clone());
    }
    oauthlib_sign(&request)
}

fn with(params: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    params
        .iter()
        .map(|(n, v)| {
            if n == name {
                (n.clone(), value.to_owned())
            } else {
                (n.clone(), v.clone())
            }
        })
        .collect()
}

fn without(params: &[(String, String)], name: &str) -> Vec<(String, String)> {
    params.iter().filter(|(n, _)| n != name).cloned().collect()
}

async fn post(rig: &Rig, path_and_query: &str, body: &[(String, String)]) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("{}{path_and_query}", rig.base))
        .form(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn reason(body: &str) -> String {
    let start = body
        .find("id=\"reason\">")
        .unwrap_or_else(|| panic!("no reason: {body}"));
    body[start + "id=\"reason\">".len()..]
        .split('<')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn lti11_launch_signed_for_public_url_reaches_activity_and_records() {
    let rig = rig().await;
    let signed = sign(&format!("{PUBLIC}/launch"), &launch_params(), json!({}));
    let (status, body) = post(&rig, "/launch", &signed).await;
    assert_eq!(status, 200, "{body}");
    let (action, fields) = auto_submit_form(&body).unwrap();
    assert_eq!(action, format!("{PUBLIC}/activity"));
    // The activity lives at the public origin; post the session to this server's /activity.
    let fields: Vec<(String, String)> = fields;
    let (status, page) = post(&rig, "/activity", &fields).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("Zoë Ñandú-O&#39;Brien") || page.contains("Zoë Ñandú-O&#x27;Brien"),
        "{page}"
    );
    assert!(page.contains("Biology 101"), "{page}");
    assert!(page.contains("Learner"), "{page}");

    let scope = PlatformScope::Lti11 {
        consumer_key: ConsumerKey::parse(KEY).unwrap(),
    };
    let attempts = rig
        .backend
        .store
        .attempts_of_user_on_resource_link(
            &scope,
            &ResourceLinkId::parse("rl-42").unwrap(),
            &UserId::parse("u-7").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(attempts.len(), 1);
    let outcome = attempts[0]
        .basic_outcome
        .clone()
        .expect("the outcome target is stored");
    assert_eq!(
        outcome.service_url,
        "https://moodle.example/mod/lti/service.php"
    );
    assert!(
        outcome
            .sourcedid
            .starts_with(r#"{"data":{"instanceid":"2""#)
    );
}

#[tokio::test]
async fn lti11_launch_with_query_string_and_hmac_sha256_is_accepted() {
    let rig = rig().await;
    let url = format!("{PUBLIC}/launch?course=1&name=%C3%A9t%C3%A9+x");
    let signed = sign(&url, &launch_params(), json!({"method": "HMAC-SHA256"}));
    let (status, body) = post(&rig, "/launch?course=1&name=%C3%A9t%C3%A9+x", &signed).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn lti11_refusals_name_their_reason() {
    let rig = rig().await;
    let url = format!("{PUBLIC}/launch");
    let signed = sign(&url, &launch_params(), json!({}));

    // A parameter changed after signing.
    let tampered = with(&signed, "roles", "Instructor");
    let (status, body) = post(&rig, "/launch", &tampered).await;
    assert_eq!((status, reason(&body).as_str()), (401, "INVALID_SIGNATURE"));

    // Signed for the loopback address instead of the public URL.
    let internal = sign(&format!("{}/launch", rig.base), &launch_params(), json!({}));
    let (status, body) = post(&rig, "/launch", &internal).await;
    assert_eq!((status, reason(&body).as_str()), (401, "INVALID_SIGNATURE"));

    // Wrong secret, and an unknown key: the same answer.
    let wrong = sign(&url, &launch_params(), json!({"secret": "not-the-secret"}));
    let (status, body) = post(&rig, "/launch", &wrong).await;
    assert_eq!((status, reason(&body).as_str()), (401, "INVALID_SIGNATURE"));
    let unknown = sign(&url, &launch_params(), json!({"key": "nobody"}));
    let (status, body) = post(&rig, "/launch", &unknown).await;
    assert_eq!((status, reason(&body).as_str()), (401, "INVALID_SIGNATURE"));

    // Stale and future timestamps.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // Well past the 300 s window either way (the tool reads the clock a moment later).
    for ts in [now - 360, now + 360] {
        let old = sign(&url, &launch_params(), json!({"timestamp": ts.to_string()}));
        let (status, body) = post(&rig, "/launch", &old).await;
        assert_eq!(
            (status, reason(&body).as_str()),
            (401, "LAUNCH_EXPIRED"),
            "{ts}"
        );
    }

    // Missing required parameters.
    for name in ["lti_message_type", "lti_version", "resource_link_id"] {
        let missing = sign(&url, &without(&launch_params(), name), json!({}));
        let (status, body) = post(&rig, "/launch", &missing).await;
        // Without lti_message_type the body is still an OAuth launch (oauth_signature).
        assert_eq!(
            (status, reason(&body).as_str()),
            (400, "INVALID_REQUEST"),
            "{name}"
        );
    }

    // PLAINTEXT is refused.
    let plaintext = sign(&url, &launch_params(), json!({"method": "PLAINTEXT"}));
    let (status, body) = post(&rig, "/launch", &plaintext).await;
    assert_eq!((status, reason(&body).as_str()), (400, "INVALID_REQUEST"));

    // A good launch passes, and its replay is refused.
    let (status, body) = post(&rig, "/launch", &signed).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(&rig, "/launch", &signed).await;
    assert_eq!((status, reason(&body).as_str()), (401, "LAUNCH_REPLAYED"));
}

#[tokio::test]
async fn lti11_get_launch_is_refused() {
    let rig = rig().await;
    let signed = sign(&format!("{PUBLIC}/launch"), &launch_params(), json!({}));
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&signed)
        .finish();
    let response = reqwest::get(format!("{}/launch?{query}", rig.base))
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
}

#[tokio::test]
async fn lti11_refused_launch_writes_nothing() {
    let rig = rig().await;
    let url = format!("{PUBLIC}/launch");
    let signed = sign(&url, &launch_params(), json!({"secret": "wrong"}));
    let (status, _) = post(&rig, "/launch", &signed).await;
    assert_eq!(status, 401);
    let scope = PlatformScope::Lti11 {
        consumer_key: ConsumerKey::parse(KEY).unwrap(),
    };
    let link = ResourceLinkId::parse("rl-42").unwrap();
    assert!(
        rig.backend
            .store
            .resource_link(&scope, &link)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        rig.backend
            .store
            .user(&scope, &UserId::parse("u-7").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn lti11_disabled_consumer_and_wrong_version_are_refused() {
    let rig = rig().await;
    let url = format!("{PUBLIC}/launch");
    let wrong_version = sign(
        &url,
        &with(&launch_params(), "lti_version", "LTI-2p0"),
        json!({}),
    );
    let (status, body) = post(&rig, "/launch", &wrong_version).await;
    assert_eq!(
        (status, reason(&body).as_str()),
        (400, "UNSUPPORTED_MESSAGE")
    );

    // A correctly signed launch from a consumer an operator disabled.
    let key = ConsumerKey::parse("disabled-one").unwrap();
    rig.backend
        .keys
        .put_consumer_secret(
            &key,
            &lti_shared::domain::secret::ConsumerSecret::new(SECRET),
        )
        .await
        .unwrap();
    rig.backend
        .store
        .add_consumer(&lti_shared::domain::model::Consumer {
            key,
            name: None,
            status: lti_shared::domain::model::Status::Disabled,
            created_at: time::OffsetDateTime::now_utc(),
        })
        .await
        .unwrap();
    let disabled = sign(&url, &launch_params(), json!({"key": "disabled-one"}));
    let (status, body) = post(&rig, "/launch", &disabled).await;
    assert_eq!((status, reason(&body).as_str()), (403, "PLATFORM_DISABLED"));
    // The active consumer still launches.
    let ok = sign(&url, &launch_params(), json!({}));
    let (status, body) = post(&rig, "/launch", &ok).await;
    assert_eq!(status, 200, "{body}");
}
