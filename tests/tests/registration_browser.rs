//! The end of LTI Dynamic Registration in a real browser: headless Chromium, driven by
//! chromedriver, opens the platform administrator's page (`lti_tests::registration_platform`
//! on `http://127.0.0.1:PORT`), which opens the tool's registration URL (the tool on
//! `http://localhost:PORT2`, another site, see shared/TESTING-BROWSER.md) in an iframe or in a
//! window. The administrator confirms; the tool's final page must post
//! `{subject: "org.imsglobal.lti.close"}` to its parent or opener (LTI DR 1.0 §3.6), and the
//! platform page records what it receives and closes the frame or window.
//!
//! Each test starts its own chromedriver and profile and saves a screenshot to
//! `target/browser-artifacts/<test>.png`. The tests fail, never skip, when Chromium or
//! chromedriver is missing: `infra/test.sh` installs them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::Locator;
use lti_shared::domain::keys::KeySet;
use lti_tests::browser::{Browser, Profile, check, cmd};
use lti_tests::registration_platform::{Opener, RegistrationPlatform};
use ltictl::backend::Backend;
use ltictl::serve::{App, serve};
use time::OffsetDateTime;
use url::Url;

const TOKEN: &str = "registration-token-browser";

/// How long a step may take to show what a test waits for.
const STEP_TIMEOUT: Duration = Duration::from_secs(15);

const CLOSE: &str = "org.imsglobal.lti.close";

/// The tool served as `http://localhost:PORT`.
struct Tool {
    origin: String,
    backend: Backend,
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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let origin = format!("http://localhost:{port}");
    let app = Arc::new(App::new(&backend, Url::parse(&origin).unwrap()));
    let server = tokio::spawn(serve(listener, app));
    Tool {
        origin,
        backend,
        _dir: dir,
        server,
    }
}

/// One message the platform page received.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
struct Received {
    subject: Option<String>,
    origin: String,
    from: String,
}

/// What the platform page shows; never throws.
const PLATFORM_VIEW_SCRIPT: &str = r#"
return {
  received: window.received || [],
  closed: (document.getElementById("closed") || {}).textContent || null,
  frame: !!document.getElementById("tool"),
};
"#;

#[derive(Debug, Clone, serde::Deserialize)]
struct PlatformView {
    received: Vec<Received>,
    closed: Option<String>,
    frame: bool,
}

/// What the platform page shows now (the WebDriver context must be the platform page).
async fn platform_view(browser: &Browser) -> Result<PlatformView, String> {
    let value = browser
        .client
        .execute(PLATFORM_VIEW_SCRIPT, vec![])
        .await
        .map_err(cmd("cannot read the platform page"))?;
    serde_json::from_value(value).map_err(|e| format!("unexpected platform view: {e}"))
}

/// Polls the platform page until `done` holds, up to [`STEP_TIMEOUT`].
async fn wait_for_platform(
    browser: &Browser,
    what: &str,
    done: impl Fn(&PlatformView) -> bool,
) -> Result<PlatformView, String> {
    let deadline = Instant::now() + STEP_TIMEOUT;
    let mut last = Err("nothing read yet".to_owned());
    while Instant::now() < deadline {
        last = platform_view(browser).await;
        if let Ok(view) = &last
            && done(view)
        {
            return Ok(view.clone());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!(
        "the platform page did not show {what} within {} s; last seen: {last:#?}",
        STEP_TIMEOUT.as_secs()
    ))
}

/// Waits until the current browsing context (frame or window) shows the element `id`.
async fn wait_for_element(browser: &Browser, id: &str) -> Result<(), String> {
    let deadline = Instant::now() + STEP_TIMEOUT;
    while Instant::now() < deadline {
        if browser.client.find(Locator::Id(id)).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!(
        "#{id} did not appear within {} s",
        STEP_TIMEOUT.as_secs()
    ))
}

/// The one message the platform must have received: the close message, from the tool's origin,
/// from the frame or window it opened (`from`).
fn check_close(view: &PlatformView, tool: &Tool, from: &str) -> Result<(), String> {
    let expected = [Received {
        subject: Some(CLOSE.to_owned()),
        origin: tool.origin.clone(),
        from: from.to_owned(),
    }];
    check(view.received == expected, || {
        format!("the platform received {:#?}", view.received)
    })?;
    check(view.closed.as_deref() == Some("yes"), || {
        format!("the platform did not close the {from}: {view:#?}")
    })
}

/// The registration URL of a fresh invitation (`ltictl registration invite`): the tool's
/// `/register` with `?invitation=…`, to which the platform appends its parameters.
async fn invitation_url(tool: &Tool) -> String {
    let issued = lti_shared::app::invitations::issue(
        tool.backend.store.as_ref(),
        OffsetDateTime::now_utc(),
        time::Duration::days(1),
        None,
    )
    .await
    .unwrap();
    lti_shared::app::invitations::registration_url(
        &lti_shared::domain::tool::ToolUrls::new(&Url::parse(&tool.origin).unwrap()),
        &issued.token,
    )
    .to_string()
}

async fn stored_client(tool: &Tool) -> Vec<String> {
    tool.backend
        .store
        .platforms()
        .await
        .unwrap()
        .iter()
        .map(|r| r.client_id.as_str().to_owned())
        .collect()
}

#[tokio::test]
async fn browser_registration_in_platform_iframe_posts_close_to_the_parent() {
    let platform = RegistrationPlatform::start(TOKEN).await;
    let tool = start_tool().await;
    let admin = platform.admin_page_url(&invitation_url(&tool).await, Opener::Iframe);
    let browser = Browser::open(
        "browser_registration_in_platform_iframe_posts_close_to_the_parent",
        Profile::Default,
    )
    .await;
    let outcome = async {
        check(!tool.origin.contains("127.0.0.1"), || {
            format!("the tool {} must be on another site", tool.origin)
        })?;
        browser
            .client
            .goto(&admin)
            .await
            .map_err(cmd("cannot open the platform's page"))?;
        // The confirmation page in the frame: it must not close the platform's dialog yet.
        browser
            .in_tool_frame(async |c| c.wait().for_element(Locator::Id("confirm")).await)
            .await
            .map_err(cmd("no confirmation page in the tool frame"))?;
        let before = platform_view(&browser).await?;
        check(before.received.is_empty() && before.frame, || {
            format!("before confirming, the platform page shows {before:#?}")
        })?;
        browser
            .in_tool_frame(async |c| c.find(Locator::Id("confirm")).await?.click().await)
            .await
            .map_err(cmd("cannot confirm in the tool frame"))?;
        let view =
            wait_for_platform(&browser, "the close message", |v| !v.received.is_empty()).await?;
        check_close(&view, &tool, "iframe")?;
        check(!view.frame, || "the platform removed the frame".to_owned())?;
        let clients = stored_client(&tool).await;
        check(clients == ["client-1"], || {
            format!("the tool stored {clients:?}")
        })
    }
    .await;
    browser.finish(outcome).await;
}

#[tokio::test]
async fn browser_registration_in_a_window_posts_close_to_the_opener() {
    let platform = RegistrationPlatform::start(TOKEN).await;
    let tool = start_tool().await;
    let admin = platform.admin_page_url(&invitation_url(&tool).await, Opener::Window);
    let browser = Browser::open(
        "browser_registration_in_a_window_posts_close_to_the_opener",
        Profile::Default,
    )
    .await;
    let outcome = async {
        browser
            .client
            .goto(&admin)
            .await
            .map_err(cmd("cannot open the platform's page"))?;
        let platform_window = browser
            .client
            .window()
            .await
            .map_err(cmd("no platform window"))?;
        browser
            .client
            .find(Locator::Id("open"))
            .await
            .map_err(cmd("no open button"))?
            .click()
            .await
            .map_err(cmd("cannot open the registration window"))?;
        let deadline = Instant::now() + STEP_TIMEOUT;
        let registration_window = loop {
            let windows = browser
                .client
                .windows()
                .await
                .map_err(cmd("cannot list windows"))?;
            if let Some(other) = windows.into_iter().find(|w| *w != platform_window) {
                break other;
            }
            check(Instant::now() < deadline, || {
                "the registration window did not open".to_owned()
            })?;
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        browser
            .client
            .switch_to_window(registration_window.clone())
            .await
            .map_err(cmd("cannot switch to the registration window"))?;
        wait_for_element(&browser, "confirm").await?;
        let url = browser.client.current_url().await.map_err(cmd("no URL"))?;
        check(url.as_str().starts_with(&tool.origin), || {
            format!("the registration window shows {url}")
        })?;
        browser
            .client
            .find(Locator::Id("confirm"))
            .await
            .map_err(cmd("no confirm button"))?
            .click()
            .await
            .map_err(cmd("cannot confirm"))?;
        // The platform closes the window on the message; come back to its page.
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let windows = browser
                .client
                .windows()
                .await
                .map_err(cmd("cannot list windows"))?;
            if !windows.contains(&registration_window) {
                break;
            }
            check(Instant::now() < deadline, || {
                "the platform did not close the registration window".to_owned()
            })?;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        browser
            .client
            .switch_to_window(platform_window)
            .await
            .map_err(cmd("cannot switch back to the platform"))?;
        let view =
            wait_for_platform(&browser, "the close message", |v| !v.received.is_empty()).await?;
        check_close(&view, &tool, "window")?;
        let clients = stored_client(&tool).await;
        check(clients == ["client-1"], || {
            format!("the tool stored {clients:?}")
        })
    }
    .await;
    browser.finish(outcome).await;
}
