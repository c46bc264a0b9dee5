//! Deep linking in a real browser: headless Chromium, driven by chromedriver, opens the fake
//! platform's course page, which frames the tool's deep-linking picker from another site
//! (tool on `http://localhost:PORT`, platform on `http://127.0.0.1:PORT2`, as in
//! `browser.rs` and shared/TESTING-BROWSER.md). The instructor ticks two activities and adds
//! them; the tool's auto-submitting form posts the signed response to the platform's
//! `deep_link_return_url` inside the iframe, and the platform receives both items. A learner
//! sees the 403 page in the frame.
//!
//! Each test starts its own chromedriver and profile and saves a screenshot to
//! `target/browser-artifacts/<test>.png`. The tests fail, never skip, when Chromium or
//! chromedriver is missing: `infra/test.sh` installs them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use fantoccini::Locator;
use lti_shared::domain::catalog::{CatalogItem, NewCatalogItem};
use lti_shared::domain::keys::KeySet;
use lti_tests::browser::{Browser, Profile, check, cmd};
use lti_tests::platform::{FakePlatform, LaunchSpec, decode_unverified};
use ltictl::backend::Backend;
use ltictl::serve::{App, serve};
use serde_json::json;
use time::OffsetDateTime;
use url::Url;

/// How long a step may take to show the page a test waits for.
const STEP_TIMEOUT: Duration = Duration::from_secs(15);

const CONTENT_ITEMS: &str = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items";

/// The tool served as `http://localhost:PORT`, with the platform registered and three catalog
/// items.
struct Tool {
    origin: String,
    _dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for Tool {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn start_tool(platform: &FakePlatform) -> Tool {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::embedded(&dir.path().join("data")).unwrap();
    let mut keys = KeySet::default();
    keys.init(OffsetDateTime::now_utc()).unwrap();
    backend.keys.save_signing_keys(&keys).await.unwrap();
    backend
        .store
        .add_platform(&platform.registration(platform.client_id()))
        .await
        .unwrap();
    for (id, score) in [
        ("fractions", Some(10.0)),
        ("reading", None),
        ("video", None),
    ] {
        let item = CatalogItem::new(
            NewCatalogItem {
                id,
                title: &format!("Activity {id}"),
                description: Some("An activity"),
                activity_url: &format!("https://activities.example.edu/{id}"),
                score_maximum: score,
                custom: Vec::new(),
            },
            OffsetDateTime::now_utc(),
        )
        .unwrap();
        backend.store.add_catalog_item(&item).await.unwrap();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let origin = format!("http://localhost:{port}");
    let app = Arc::new(App::new(&backend, Url::parse(&origin).unwrap()));
    let server = tokio::spawn(serve(listener, app));
    platform.add_redirect_uri(format!("{origin}/deep-link"));
    Tool {
        origin,
        _dir: dir,
        server,
    }
}

/// Reads the tool frame's state; never throws.
const FRAME_VIEW_SCRIPT: &str = r##"
var text = function (selector) {
  var element = document.querySelector(selector);
  return element ? element.textContent.trim() : null;
};
return {
  url: location.href,
  heading: text("#heading"),
  reason: text("#reason"),
  received: text("#received"),
  items: document.querySelectorAll("input[name=item]").length,
};
"##;

#[derive(Debug, Clone, serde::Deserialize)]
#[allow(
    dead_code,
    reason = "heading is read through Debug in failure messages"
)]
struct FrameView {
    url: String,
    heading: Option<String>,
    reason: Option<String>,
    received: Option<String>,
    items: usize,
}

/// Polls the tool's iframe until `done` holds, up to [`STEP_TIMEOUT`].
async fn wait_for_frame(
    browser: &Browser,
    what: &str,
    done: impl Fn(&FrameView) -> bool,
) -> Result<FrameView, String> {
    browser
        .wait_for_tool_frame(FRAME_VIEW_SCRIPT, what, STEP_TIMEOUT, done)
        .await
}

async fn open_course(browser: &Browser, course: &Url, tool: &Tool) -> Result<(), String> {
    browser
        .client
        .goto(course.as_str())
        .await
        .map_err(cmd("cannot open the course page"))?;
    check(!tool.origin.contains("127.0.0.1"), || {
        format!("the tool {} must be on another site", tool.origin)
    })
}

#[tokio::test]
async fn browser_instructor_picks_two_items_in_platform_iframe_and_platform_receives_both() {
    let platform = FakePlatform::start().await;
    let tool = start_tool(&platform).await;
    let course = platform.prepare_browser_launch(
        &format!("{}/login", tool.origin),
        &format!("{}/deep-link", tool.origin),
        LaunchSpec::deep_linking(platform.deep_link_return_url()),
    );
    let browser = Browser::open(
        "browser_instructor_picks_two_items_in_platform_iframe_and_platform_receives_both",
        Profile::Default,
    )
    .await;
    let outcome = async {
        open_course(&browser, &course, &tool).await?;
        let picker = wait_for_frame(&browser, "the picker", |v| v.items == 3).await?;
        check(picker.url.starts_with(&tool.origin), || {
            format!("the picker is at {}, not the tool's origin", picker.url)
        })?;
        browser
            .in_tool_frame(async |c| {
                c.find(Locator::Id("item-fractions")).await?.click().await?;
                c.find(Locator::Id("item-video")).await?.click().await?;
                c.find(Locator::Id("add")).await?.click().await
            })
            .await
            .map_err(cmd("cannot pick in the tool frame"))?;
        let received = wait_for_frame(&browser, "the platform's return page", |v| {
            v.received.is_some()
        })
        .await?;
        check(received.received.as_deref() == Some("2"), || {
            format!("the platform page shows {:?} items", received.received)
        })?;
        let responses = platform.deep_link_responses();
        check(responses.len() == 1, || {
            format!("the platform received {} responses", responses.len())
        })?;
        let (_, claims) = decode_unverified(&responses[0]);
        let urls: Vec<&str> = claims[CONTENT_ITEMS]
            .as_array()
            .map(|items| items.iter().filter_map(|i| i["url"].as_str()).collect())
            .unwrap_or_default();
        let expected = [
            format!("{}/launch?item=fractions", tool.origin),
            format!("{}/launch?item=video", tool.origin),
        ];
        check(urls == expected, || format!("the items are {urls:?}"))?;
        check(claims["aud"] == json!(platform.issuer()), || {
            format!("aud is {}", claims["aud"])
        })
    }
    .await;
    browser.finish(outcome).await;
}

#[tokio::test]
async fn browser_learner_is_refused_in_platform_iframe() {
    let platform = FakePlatform::start().await;
    let tool = start_tool(&platform).await;
    let spec = LaunchSpec::deep_linking(platform.deep_link_return_url())
        .sub("fake-user-student-1")
        .roles(["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]);
    let course = platform.prepare_browser_launch(
        &format!("{}/login", tool.origin),
        &format!("{}/deep-link", tool.origin),
        spec,
    );
    let browser = Browser::open(
        "browser_learner_is_refused_in_platform_iframe",
        Profile::Default,
    )
    .await;
    let outcome = async {
        open_course(&browser, &course, &tool).await?;
        let view = wait_for_frame(&browser, "the refusal", |v| v.reason.is_some()).await?;
        check(view.reason.as_deref() == Some("ROLE_NOT_ALLOWED"), || {
            format!("the frame shows {view:#?}")
        })?;
        check(view.items == 0, || "no picker for a learner".to_owned())?;
        check(platform.deep_link_responses().is_empty(), || {
            "nothing was returned to the platform".to_owned()
        })
    }
    .await;
    browser.finish(outcome).await;
}
