//! LTI 1.3 launches in a real browser: headless Chromium, driven by chromedriver (WebDriver),
//! opens the fake platform's course page, which frames the tool from another site.
//!
//! The tool is served in-process as `http://localhost:PORT` (a secure context, so its `Secure`
//! state cookie can be set over plain HTTP) and the platform as `http://127.0.0.1:PORT2`: two
//! sites, so the tool's iframe is third-party, its login page's cookie is a third-party cookie,
//! and the platform's `/auth` form POST to the tool's `/launch` is a cross-site POST, exactly as
//! with a real LMS (see shared/TESTING-BROWSER.md).
//!
//! - With this Chromium's defaults (unpartitioned third-party cookies blocked, `Partitioned`
//!   ones allowed) the launch reaches the activity through the state cookie.
//! - With the tool's cookies blocked outright (a profile whose preferences block cookies for
//!   the tool's origin, as Safari-like browsers effectively do in an iframe), the launch reaches
//!   the activity through LTI Platform Storage when the platform offers it, and shows the
//!   "open in a new window" page (`COOKIES_BLOCKED`) when it does not.
//!
//! Each test starts its own chromedriver (killed by a drop guard, with the browser it started)
//! and browser profile, and saves a screenshot of what the browser showed to
//! `target/browser-artifacts/<test>.png`, on success and on failure. The tests fail, never skip,
//! when Chromium or chromedriver is missing: `infra/test.sh` installs them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use lti_shared::domain::keys::KeySet;
use lti_tests::browser::{Browser, Profile, check, cmd};
use lti_tests::platform::{FakePlatform, LaunchSpec, LoginMethod, StorageMessage};
use ltictl::backend::Backend;
use ltictl::serve::{App, serve};
use time::OffsetDateTime;
use url::Url;

/// How long a launch may take to reach the page a test waits for.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------------------------------
// The tool, in-process
// ---------------------------------------------------------------------------------------------

/// The tool served as `http://localhost:PORT`, with the platform registered.
struct Tool {
    /// `http://localhost:PORT`, the tool's public origin.
    origin: String,
    _dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for Tool {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Tool {
    fn login_url(&self) -> String {
        format!("{}/login", self.origin)
    }

    fn launch_url(&self) -> String {
        format!("{}/launch", self.origin)
    }
}

/// Starts the tool on `127.0.0.1:0` with public origin `http://localhost:PORT`, its signing
/// keys made, `platform` registered (exact issuer string) and the tool's redirect URI
/// registered with the platform.
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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let origin = format!("http://localhost:{port}");
    let app = Arc::new(App::new(&backend, Url::parse(&origin).unwrap()));
    let server = tokio::spawn(serve(listener, app));
    let tool = Tool {
        origin,
        _dir: dir,
        server,
    };
    platform.add_redirect_uri(tool.launch_url());
    tool
}

// ---------------------------------------------------------------------------------------------
// What the tool's frame shows
// ---------------------------------------------------------------------------------------------

/// Polls the tool's iframe until `done` holds, up to [`LAUNCH_TIMEOUT`].
async fn wait_for_tool(
    browser: &Browser,
    what: &str,
    done: impl Fn(&ToolView) -> bool,
) -> Result<ToolView, String> {
    browser
        .wait_for_tool_frame(TOOL_VIEW_SCRIPT, what, LAUNCH_TIMEOUT, done)
        .await
}

/// Writes a `Partitioned` and an unpartitioned third-party cookie from the tool's frame and
/// reads `document.cookie` back.
async fn cookie_probe(browser: &Browser) -> Result<CookieProbe, String> {
    let value = browser
        .in_tool_frame(async |c| c.execute(COOKIE_PROBE_SCRIPT, vec![]).await)
        .await
        .map_err(|e| format!("cannot probe cookies in the tool frame: {e}"))?;
    serde_json::from_value(value).map_err(|e| format!("unexpected cookie probe: {e}"))
}

/// Reads the tool frame's state; never throws.
const TOOL_VIEW_SCRIPT: &str = r##"
var text = function (selector) {
  var element = document.querySelector(selector);
  return element ? element.textContent.trim() : null;
};
return {
  url: location.href,
  ready: document.readyState,
  title: document.title,
  heading: text("#heading"),
  attempt: text("#attempt"),
  who: text("#who"),
  code: text(".code"),
  links: Array.prototype.map.call(document.querySelectorAll("a[href]"), function (a) {
    return { href: a.href, target: a.target, text: a.textContent.trim() };
  }),
};
"##;

/// Tries to set two cookies from the tool's frame (a third-party context) and reads them back.
const COOKIE_PROBE_SCRIPT: &str = r#"
document.cookie = "probe_partitioned=1; Path=/; Secure; SameSite=None; Partitioned";
document.cookie = "probe_unpartitioned=1; Path=/; Secure; SameSite=None";
var jar = document.cookie;
return {
  partitioned: jar.indexOf("probe_partitioned=1") >= 0,
  unpartitioned: jar.indexOf("probe_unpartitioned=1") >= 0,
};
"#;

#[derive(Debug, Clone, serde::Deserialize)]
#[allow(dead_code, reason = "read through Debug in failure messages")]
struct ToolView {
    url: String,
    ready: String,
    title: String,
    heading: Option<String>,
    attempt: Option<String>,
    who: Option<String>,
    code: Option<String>,
    links: Vec<Link>,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[allow(dead_code, reason = "read through Debug in failure messages")]
struct Link {
    href: String,
    target: String,
    text: String,
}

#[derive(Debug, Clone, Copy, serde::Deserialize)]
struct CookieProbe {
    partitioned: bool,
    unpartitioned: bool,
}

impl ToolView {
    fn is_activity(&self) -> bool {
        matches!(
            self.heading.as_deref(),
            Some("Activity" | "Resource overview")
        )
    }
}

/// Opens the course page and checks that the tool's frame is cross-site to it.
async fn open_course(browser: &Browser, course: &Url, tool: &Tool) -> Result<(), String> {
    browser
        .client
        .goto(course.as_str())
        .await
        .map_err(cmd("cannot open the course page"))?;
    let top = browser
        .client
        .current_url()
        .await
        .map_err(cmd("no top-level URL"))?;
    check(top.host_str() == Some("127.0.0.1"), || {
        format!("the course page is at {top}, not on 127.0.0.1")
    })?;
    check(!tool.origin.contains("127.0.0.1"), || {
        format!("the tool {} must be on another site", tool.origin)
    })
}

/// The Platform Storage requests of the launch, once the frame's reports have arrived.
async fn storage_messages(platform: &FakePlatform, expected: usize) -> Vec<StorageMessage> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let messages = platform.storage_messages();
        if messages.len() >= expected || Instant::now() >= deadline {
            return messages;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn browser_launch_with_partitioned_cookie_reaches_activity() {
    let platform = FakePlatform::start().await;
    let tool = start_tool(&platform).await;
    let course = platform.prepare_browser_launch(
        &tool.login_url(),
        &tool.launch_url(),
        LaunchSpec::student(),
    );
    let browser = Browser::open(
        "browser_launch_with_partitioned_cookie_reaches_activity",
        Profile::Default,
    )
    .await;

    let outcome = async {
        open_course(&browser, &course, &tool).await?;
        let view = wait_for_tool(&browser, "the activity", ToolView::is_activity)
            .await?;
        check(view.heading.as_deref() == Some("Activity"), || {
            format!("a learner's launch shows {:?}", view.heading)
        })?;
        check(view.attempt.as_deref() == Some("000001"), || {
            format!("the first attempt is {:?}", view.attempt)
        })?;
        check(view.who.as_deref() == Some("Stu Dent"), || {
            format!("the activity shows the user as {:?}", view.who)
        })?;
        check(view.url.starts_with(&tool.origin), || {
            format!("the activity is at {}, not the tool's origin", view.url)
        })?;
        // No storage target was offered, so the only thing that can have proven the browser
        // is the state cookie.
        let messages = storage_messages(&platform, 0).await;
        check(messages.is_empty(), || {
            format!("no Platform Storage was offered, yet: {messages:?}")
        })?;
        // What makes this test meaningful: in this frame an unpartitioned cookie is refused,
        // a Partitioned one kept.
        let probe = cookie_probe(&browser).await?;
        check(probe.partitioned && !probe.unpartitioned, || {
            format!(
                "expected this Chromium to keep only Partitioned cookies in a third-party frame: {probe:?}"
            )
        })
    }
    .await;
    browser.finish(outcome).await;
}

#[tokio::test]
async fn browser_launch_with_cookies_blocked_uses_platform_storage() {
    let platform = FakePlatform::start().await;
    let tool = start_tool(&platform).await;
    let course = platform.prepare_browser_launch(
        &tool.login_url(),
        &tool.launch_url(),
        LaunchSpec::student().offer_platform_storage(),
    );
    let browser = Browser::open(
        "browser_launch_with_cookies_blocked_uses_platform_storage",
        Profile::BlockCookiesOf(tool.origin.clone()),
    )
    .await;

    let outcome = async {
        open_course(&browser, &course, &tool).await?;
        let view = wait_for_tool(&browser, "the activity", ToolView::is_activity).await?;
        check(view.attempt.as_deref() == Some("000001"), || {
            format!("the first attempt is {:?}", view.attempt)
        })?;
        check(view.who.as_deref() == Some("Stu Dent"), || {
            format!("the activity shows the user as {:?}", view.who)
        })?;
        // The profile really blocks the tool's cookies: not even a Partitioned one sticks.
        let probe = cookie_probe(&browser).await?;
        check(!probe.partitioned && !probe.unpartitioned, || {
            format!(
                "the profile should block every cookie of {}: {probe:?}",
                tool.origin
            )
        })?;
        // The state went through Platform Storage: put at login, got back at launch. The tool
        // asks for it only when the launch POST carried no state cookie.
        let messages = storage_messages(&platform, 2).await;
        let subjects: Vec<&str> = messages.iter().map(|m| m.subject.as_str()).collect();
        check(subjects == ["lti.put_data", "lti.get_data"], || {
            format!("expected put_data then get_data: {messages:#?}")
        })?;
        check(
            messages
                .iter()
                .all(|m| m.origin == tool.origin && m.answered && m.key.starts_with("lti_state_"))
                && messages[0].key == messages[1].key,
            || format!("the tool should store and read back one state key: {messages:#?}"),
        )
    }
    .await;
    browser.finish(outcome).await;
}

#[tokio::test]
async fn browser_launch_with_cookies_blocked_and_no_storage_offers_new_window() {
    let platform = FakePlatform::start().await;
    let tool = start_tool(&platform).await;
    let course = platform.prepare_browser_launch(
        &tool.login_url(),
        &tool.launch_url(),
        LaunchSpec::student(),
    );
    let browser = Browser::open(
        "browser_launch_with_cookies_blocked_and_no_storage_offers_new_window",
        Profile::BlockCookiesOf(tool.origin.clone()),
    )
    .await;

    let outcome = async {
        open_course(&browser, &course, &tool).await?;
        let view = wait_for_tool(&browser, "a reason code", |view| {
            view.code.is_some() || view.is_activity()
        })
        .await?;
        check(view.code.as_deref() == Some("COOKIES_BLOCKED"), || {
            format!("expected the COOKIES_BLOCKED page: {view:#?}")
        })?;
        let restart = format!("{}/login?", tool.origin);
        let link = view
            .links
            .iter()
            .find(|link| link.href.starts_with(&restart))
            .ok_or_else(|| format!("no link to {restart}…: {view:#?}"))?;
        check(link.target == "_blank", || {
            format!("the restart link must open a new window: {link:?}")
        })?;
        let href = Url::parse(&link.href).map_err(cmd("the restart link is not a URL"))?;
        let query: Vec<(String, String)> = href.query_pairs().into_owned().collect();
        let has = |name: &str, value: &str| query.iter().any(|(n, v)| n == name && v == value);
        check(
            has("iss", platform.issuer())
                && has("client_id", platform.client_id())
                && has("target_link_uri", &tool.launch_url()),
            || format!("the restart link should start the same login again: {href}"),
        )?;
        let probe = cookie_probe(&browser).await?;
        check(!probe.partitioned && !probe.unpartitioned, || {
            format!(
                "the profile should block every cookie of {}: {probe:?}",
                tool.origin
            )
        })?;
        let messages = storage_messages(&platform, 0).await;
        check(messages.is_empty(), || {
            format!("no Platform Storage was offered, yet: {messages:?}")
        })
    }
    .await;
    browser.finish(outcome).await;
}

#[tokio::test]
async fn browser_launch_with_login_form_post_reaches_activity() {
    // Canvas and others POST the login initiation into the iframe rather than GET it.
    let platform = FakePlatform::start().await;
    let tool = start_tool(&platform).await;
    let course = platform.prepare_browser_launch(
        &tool.login_url(),
        &tool.launch_url(),
        LaunchSpec::student().login_method(LoginMethod::Post),
    );
    let browser = Browser::open(
        "browser_launch_with_login_form_post_reaches_activity",
        Profile::Default,
    )
    .await;

    let outcome = async {
        open_course(&browser, &course, &tool).await?;
        let view = wait_for_tool(&browser, "the activity", ToolView::is_activity).await?;
        check(view.heading.as_deref() == Some("Activity"), || {
            format!("a learner's launch shows {:?}", view.heading)
        })?;
        check(view.who.as_deref() == Some("Stu Dent"), || {
            format!("the activity shows the user as {:?}", view.who)
        })?;
        check(view.attempt.as_deref() == Some("000001"), || {
            format!("the first attempt is {:?}", view.attempt)
        })
    }
    .await;
    browser.finish(outcome).await;
}

/// Reads the text of `selector` in the tool's frame.
async fn frame_text(browser: &Browser, selector: &str) -> Result<String, String> {
    let script = format!(
        "var e = document.querySelector({}); return e ? e.textContent : '';",
        serde_json::to_string(selector).unwrap()
    );
    let value = browser
        .in_tool_frame(async |c| c.execute(&script, vec![]).await)
        .await
        .map_err(|e| format!("cannot read {selector} in the tool frame: {e}"))?;
    Ok(value.as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn browser_instructor_lands_on_the_attempts_view_in_the_iframe() {
    let platform = FakePlatform::start().await;
    let tool = start_tool(&platform).await;
    // A learner launched first, so the view has an attempt to show.
    let learner = platform
        .launch(&tool.login_url(), &tool.launch_url(), LaunchSpec::student())
        .await;
    assert_eq!(learner.expect_launch().status, 200);
    let course = platform.prepare_browser_launch(
        &tool.login_url(),
        &tool.launch_url(),
        LaunchSpec::instructor(),
    );
    let browser = Browser::open(
        "browser_instructor_lands_on_the_attempts_view_in_the_iframe",
        Profile::Default,
    )
    .await;
    let outcome = async {
        open_course(&browser, &course, &tool).await?;
        wait_for_tool(&browser, "the attempts view", |v| {
            v.heading
                .as_deref()
                .is_some_and(|h| h.starts_with("Attempts:"))
        })
        .await?;
        let attempts = frame_text(&browser, "#attempts").await?;
        check(attempts.contains("Stu Dent"), || {
            format!("the learner's attempt is not listed: {attempts}")
        })?;
        let stats = frame_text(&browser, "#stat-learners").await?;
        check(stats.trim() == "1", || format!("learners counted: {stats}"))
    }
    .await;
    browser.finish(outcome).await;
}

#[tokio::test]
async fn browser_learner_opens_their_own_attempts_from_the_activity() {
    let platform = FakePlatform::start().await;
    let tool = start_tool(&platform).await;
    let other = platform
        .launch(
            &tool.login_url(),
            &tool.launch_url(),
            LaunchSpec::student().sub("someone-else"),
        )
        .await;
    assert_eq!(other.expect_launch().status, 200);
    let course = platform.prepare_browser_launch(
        &tool.login_url(),
        &tool.launch_url(),
        LaunchSpec::student(),
    );
    let browser = Browser::open(
        "browser_learner_opens_their_own_attempts_from_the_activity",
        Profile::Default,
    )
    .await;
    let outcome = async {
        open_course(&browser, &course, &tool).await?;
        wait_for_tool(&browser, "the activity", ToolView::is_activity).await?;
        browser
            .in_tool_frame(async |c| {
                c.execute(
                    "document.getElementById('my-attempts').click(); return null;",
                    vec![],
                )
                .await
            })
            .await
            .map_err(|e| format!("cannot click 'Your attempts': {e}"))?;
        wait_for_tool(&browser, "the learner's attempts", |v| {
            v.heading
                .as_deref()
                .is_some_and(|h| h.starts_with("Your attempts"))
        })
        .await?;
        let attempts = frame_text(&browser, "#attempts").await?;
        check(!attempts.contains("someone-else"), || {
            format!("another learner is shown: {attempts}")
        })?;
        check(attempts.contains("UTC"), || {
            format!("their own attempt is not listed: {attempts}")
        })
    }
    .await;
    browser.finish(outcome).await;
}
