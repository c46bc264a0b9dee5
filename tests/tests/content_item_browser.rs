//! LTI 1.1 Content-Item selection in a real browser: headless Chromium, driven by chromedriver,
//! opens a fake LTI 1.1 consumer's course page (`http://127.0.0.1:PORT`), which posts a
//! `ContentItemSelectionRequest` signed by oauthlib into its `tool` iframe: the tool's picker,
//! from another site (`http://localhost:PORT2`, as in shared/TESTING-BROWSER.md). The instructor
//! picks an activity (or cancels); the tool's auto-submitting form posts the signed
//! `ContentItemSelection` to the consumer's `content_item_return_url` inside the iframe, and the
//! consumer receives it. The received form is verified independently with oauthlib.
//!
//! Each test starts its own chromedriver and profile and saves a screenshot to
//! `target/browser-artifacts/<test>.png`. The tests fail, never skip, when Chromium or
//! chromedriver is missing: `infra/test.sh` installs them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use fantoccini::Locator;
use lti_shared::domain::catalog::{CatalogItem, NewCatalogItem};
use lti_shared::domain::ids::ConsumerKey;
use lti_shared::domain::keys::KeySet;
use lti_shared::domain::model::{Consumer, Status};
use lti_shared::domain::secret::ConsumerSecret;
use lti_tests::browser::{Browser, Profile, check, cmd};
use lti_tests::consumer11::FakeConsumer;
use lti_tests::tool::{oauthlib_sign, oauthlib_verify};
use ltictl::backend::Backend;
use ltictl::serve::{App, serve};
use serde_json::{Value, json};
use time::OffsetDateTime;
use url::Url;

/// How long a step may take to show the page a test waits for.
const STEP_TIMEOUT: Duration = Duration::from_secs(15);

const KEY: &str = "sakai-main";
const SECRET: &str = "browser consumer secret +/=&~";

/// The tool served as `http://localhost:PORT`, with the consumer and three catalog items.
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

async fn start_tool() -> Tool {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::embedded(&dir.path().join("data")).unwrap();
    let mut keys = KeySet::default();
    keys.init(OffsetDateTime::now_utc()).unwrap();
    backend.keys.save_signing_keys(&keys).await.unwrap();
    let key = ConsumerKey::parse(KEY).unwrap();
    backend
        .keys
        .put_consumer_secret(&key, &ConsumerSecret::new(SECRET))
        .await
        .unwrap();
    backend
        .store
        .add_consumer(&Consumer {
            key,
            name: None,
            status: Status::Active,
            created_at: OffsetDateTime::now_utc(),
        })
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
    Tool {
        origin,
        _dir: dir,
        server,
    }
}

/// A `ContentItemSelectionRequest` as Sakai sends it for an instructor, signed by oauthlib for
/// the tool's `/deep-link`.
fn signed_request(tool: &Tool, consumer: &FakeConsumer, roles: &str) -> Vec<(String, String)> {
    let params: Vec<(String, String)> = [
        ("lti_message_type", "ContentItemSelectionRequest"),
        ("lti_version", "LTI-1p0"),
        ("user_id", "instructor-1"),
        ("roles", roles),
        ("context_id", "site-1"),
        ("accept_media_types", "application/vnd.ims.lti.v1.ltilink"),
        ("accept_presentation_document_targets", "iframe,window"),
        ("accept_multiple", "false"),
        ("content_item_return_url", &consumer.return_url()),
        ("data", "sakai-data & ✓"),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_owned(), v.to_owned()))
    .collect();
    oauthlib_sign(&json!({
        "url": format!("{}/deep-link", tool.origin),
        "key": KEY,
        "secret": SECRET,
        "params": params,
    }))
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
  message: text("#message"),
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
    message: Option<String>,
    items: usize,
}

async fn wait_for_frame(
    browser: &Browser,
    what: &str,
    done: impl Fn(&FrameView) -> bool,
) -> Result<FrameView, String> {
    browser
        .wait_for_tool_frame(FRAME_VIEW_SCRIPT, what, STEP_TIMEOUT, done)
        .await
}

async fn open_course(browser: &Browser, course: &str, tool: &Tool) -> Result<(), String> {
    browser
        .client
        .goto(course)
        .await
        .map_err(cmd("cannot open the course page"))?;
    check(!tool.origin.contains("127.0.0.1"), || {
        format!("the tool {} must be on another site", tool.origin)
    })
}

/// The one selection the consumer received, checked with oauthlib as the consumer would.
fn verified_return(
    consumer: &FakeConsumer,
) -> Result<lti_tests::consumer11::ReturnedSelection, String> {
    let returns = consumer.returns();
    check(returns.len() == 1, || {
        format!("the consumer received {} selections", returns.len())
    })?;
    let returned = returns[0].clone();
    check(returned.url == consumer.return_url(), || {
        format!("posted to {}", returned.url)
    })?;
    let verdict = oauthlib_verify(&returned.url, &returned.body, KEY, SECRET);
    check(verdict["valid"] == json!(true), || {
        format!("oauthlib refused the selection: {verdict}")
    })?;
    check(
        returned.field("lti_message_type") == Some("ContentItemSelection"),
        || format!("lti_message_type {:?}", returned.field("lti_message_type")),
    )?;
    check(returned.field("data") == Some("sakai-data & ✓"), || {
        format!("data {:?}", returned.field("data"))
    })?;
    Ok(returned)
}

#[tokio::test]
async fn browser_content_item_instructor_picks_in_consumer_iframe_and_consumer_receives_it() {
    let consumer = FakeConsumer::start().await;
    let tool = start_tool().await;
    let course = consumer.prepare_selection(
        &format!("{}/deep-link", tool.origin),
        signed_request(&tool, &consumer, "Instructor"),
    );
    let browser = Browser::open(
        "browser_content_item_instructor_picks_in_consumer_iframe_and_consumer_receives_it",
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
                c.find(Locator::Id("add")).await?.click().await
            })
            .await
            .map_err(cmd("cannot pick in the tool frame"))?;
        let received = wait_for_frame(&browser, "the consumer's return page", |v| {
            v.received.is_some()
        })
        .await?;
        check(received.received.as_deref() == Some("1"), || {
            format!("the consumer page shows {received:#?}")
        })?;
        check(received.url.starts_with(consumer.origin()), || {
            format!("the return page is at {}", received.url)
        })?;
        let returned = verified_return(&consumer)?;
        let items: Value = returned
            .field("content_items")
            .and_then(|text| serde_json::from_str(text).ok())
            .ok_or_else(|| format!("no content_items in {:?}", returned.fields))?;
        let link = &items["@graph"][0];
        check(
            link["url"] == json!(format!("{}/launch", tool.origin)),
            || format!("the link is {link}"),
        )?;
        check(link["custom"]["catalog_item"] == json!("fractions"), || {
            format!("the link's custom is {}", link["custom"])
        })?;
        check(
            link["lineItem"]["scoreConstraints"]["totalMaximum"] == json!(10.0),
            || format!("the line item is {}", link["lineItem"]),
        )
    }
    .await;
    browser.finish(outcome).await;
}

#[tokio::test]
async fn browser_content_item_cancel_in_consumer_iframe_returns_no_items() {
    let consumer = FakeConsumer::start().await;
    let tool = start_tool().await;
    let course = consumer.prepare_selection(
        &format!("{}/deep-link", tool.origin),
        signed_request(&tool, &consumer, "Instructor"),
    );
    let browser = Browser::open(
        "browser_content_item_cancel_in_consumer_iframe_returns_no_items",
        Profile::Default,
    )
    .await;
    let outcome = async {
        open_course(&browser, &course, &tool).await?;
        wait_for_frame(&browser, "the picker", |v| v.items == 3).await?;
        browser
            .in_tool_frame(async |c| c.find(Locator::Id("cancel")).await?.click().await)
            .await
            .map_err(cmd("cannot cancel in the tool frame"))?;
        let received = wait_for_frame(&browser, "the consumer's return page", |v| {
            v.received.is_some()
        })
        .await?;
        check(received.received.as_deref() == Some("0"), || {
            format!("the consumer page shows {received:#?}")
        })?;
        check(
            received
                .message
                .as_deref()
                .is_some_and(|m| m.contains("No activity")),
            || format!("the consumer page shows {received:#?}"),
        )?;
        let returned = verified_return(&consumer)?;
        check(returned.field("content_items").is_none(), || {
            format!("items were returned: {:?}", returned.fields)
        })
    }
    .await;
    browser.finish(outcome).await;
}

#[tokio::test]
async fn browser_content_item_learner_is_refused_in_consumer_iframe() {
    let consumer = FakeConsumer::start().await;
    let tool = start_tool().await;
    let course = consumer.prepare_selection(
        &format!("{}/deep-link", tool.origin),
        signed_request(&tool, &consumer, "Learner"),
    );
    let browser = Browser::open(
        "browser_content_item_learner_is_refused_in_consumer_iframe",
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
        check(consumer.returns().is_empty(), || {
            "nothing was returned to the consumer".to_owned()
        })
    }
    .await;
    browser.finish(outcome).await;
}
