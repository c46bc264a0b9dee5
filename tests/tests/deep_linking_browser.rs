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

use std::fmt::Display;
use std::net::TcpListener as StdListener;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use lti_shared::catalog::{CatalogItem, NewCatalogItem};
use lti_shared::keys::KeySet;
use lti_tests::platform::{FakePlatform, LaunchSpec, decode_unverified};
use ltictl::backend::Backend;
use ltictl::serve::{App, serve};
use serde_json::json;
use time::OffsetDateTime;
use url::Url;

/// Debian's Chromium (package `chromium`).
const CHROMIUM: &str = "/usr/bin/chromium";

/// How long a step may take to show the page a test waits for.
const STEP_TIMEOUT: Duration = Duration::from_secs(15);

/// How to install what the tests need.
const INSTALL_HINT: &str = "install chromium chromium-driver \
     (apt-get install -y --no-install-recommends chromium chromium-driver), or run ./infra/test.sh";

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

// ---------------------------------------------------------------------------------------------
// The browser (as in browser.rs)
// ---------------------------------------------------------------------------------------------

/// `target/browser-artifacts`, created.
fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
            manifest.parent().unwrap_or(manifest).join("target")
        });
    let dir = target.join("browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The chromedriver on `PATH`; panics with how to install it (and Chromium) if either is
/// missing.
fn browser_installed() -> PathBuf {
    let chromedriver = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("chromedriver"))
            .find(|candidate| candidate.is_file())
    });
    match (Path::new(CHROMIUM).is_file(), chromedriver) {
        (true, Some(chromedriver)) => chromedriver,
        (chromium, chromedriver) => panic!(
            "the browser tests need Chromium at {CHROMIUM} ({}) and chromedriver on PATH ({}): {INSTALL_HINT}",
            if chromium { "found" } else { "missing" },
            if chromedriver.is_some() {
                "found"
            } else {
                "missing"
            },
        ),
    }
}

/// A free loopback port (bound, then released for chromedriver).
fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A chromedriver in its own process group; dropping it kills the group (chromedriver and the
/// browser it started), whatever state the test left the WebDriver session in.
struct Chromedriver {
    child: Child,
    port: u16,
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The group id is chromedriver's pid (process_group(0)); Chromium inherits it.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Chromedriver {
    async fn start(name: &str) -> Self {
        let binary = browser_installed();
        let port = free_port();
        let log = std::fs::File::create(artifacts_dir().join(format!("{name}.chromedriver.log")))
            .unwrap();
        let child = Command::new(&binary)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}; {INSTALL_HINT}", binary.display()));
        let driver = Self { child, port };
        let status = format!("{}/status", driver.url());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(response) = reqwest::get(&status).await
                && response.status().is_success()
            {
                return driver;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer on {status} within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// One test's browser: a fresh profile, chromedriver and a WebDriver session.
struct Browser {
    name: &'static str,
    client: Client,
    // Dropped after the session is closed: kills chromedriver and the browser.
    _driver: Chromedriver,
    _profile: tempfile::TempDir,
    started: Instant,
}

impl Browser {
    async fn open(name: &'static str) -> Self {
        let started = Instant::now();
        let profile_dir = tempfile::tempdir().unwrap();
        let driver = Chromedriver::start(name).await;
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--window-size=1200,860",
                    format!("--user-data-dir={}", profile_dir.path().display()),
                ],
            }),
        );
        let client = tokio::time::timeout(
            Duration::from_secs(20),
            ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities)
                .connect(&driver.url()),
        )
        .await
        .unwrap_or_else(|_| {
            panic!("no WebDriver session within 20 s (see {name}.chromedriver.log)")
        })
        .unwrap_or_else(|e| {
            panic!("chromedriver did not start {CHROMIUM} ({e}); see {name}.chromedriver.log")
        });
        Self {
            name,
            client,
            _driver: driver,
            _profile: profile_dir,
            started,
        }
    }

    /// Saves a screenshot (and, on failure, the tool frame's HTML), closes the session, and
    /// fails the test if `outcome` is an error.
    async fn finish(self, outcome: Result<(), String>) {
        let dir = artifacts_dir();
        let screenshot = dir.join(format!("{}.png", self.name));
        let saved = match self.client.screenshot().await {
            Ok(png) => std::fs::write(&screenshot, png).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if outcome.is_err()
            && let Ok(html) = self.in_tool_frame(async |c| c.source().await).await
        {
            let _ = std::fs::write(dir.join(format!("{}.tool.html", self.name)), html);
        }
        let elapsed = self.started.elapsed();
        let _ = self.client.clone().close().await;
        eprintln!(
            "{}: {} in {:.1} s; screenshot {}",
            self.name,
            if outcome.is_ok() { "passed" } else { "FAILED" },
            elapsed.as_secs_f64(),
            match &saved {
                Ok(()) => screenshot.display().to_string(),
                Err(e) => format!("not saved ({e})"),
            }
        );
        if let Err(message) = outcome {
            panic!("{message}\n(screenshot: {})", screenshot.display());
        }
    }

    /// Runs `f` with the WebDriver context in the tool's iframe, then back at the top.
    async fn in_tool_frame<T>(
        &self,
        f: impl AsyncFnOnce(&Client) -> Result<T, fantoccini::error::CmdError>,
    ) -> Result<T, fantoccini::error::CmdError> {
        self.client
            .find(Locator::Id("tool"))
            .await?
            .enter_frame()
            .await?;
        let result = f(&self.client).await;
        self.client.enter_parent_frame().await?;
        result
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

impl Browser {
    async fn frame_view(&self) -> Result<FrameView, String> {
        let value = self
            .in_tool_frame(async |c| c.execute(FRAME_VIEW_SCRIPT, vec![]).await)
            .await
            .map_err(|e| format!("cannot read the tool frame: {e}"))?;
        serde_json::from_value(value).map_err(|e| format!("unexpected frame view: {e}"))
    }

    /// Polls the tool's iframe until `done` holds, up to [`STEP_TIMEOUT`].
    async fn wait_for_frame(
        &self,
        what: &str,
        done: impl Fn(&FrameView) -> bool,
    ) -> Result<FrameView, String> {
        let deadline = Instant::now() + STEP_TIMEOUT;
        let mut last = Err("nothing read yet".to_owned());
        while Instant::now() < deadline {
            last = self.frame_view().await;
            if let Ok(view) = &last
                && done(view)
            {
                return Ok(view.clone());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!(
            "the tool frame did not show {what} within {} s; last seen: {last:#?}",
            STEP_TIMEOUT.as_secs()
        ))
    }
}

fn check(condition: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(message()) }
}

fn cmd<E: Display>(what: &'static str) -> impl FnOnce(E) -> String {
    move |e| format!("{what}: {e}")
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
    )
    .await;
    let outcome = async {
        open_course(&browser, &course, &tool).await?;
        let picker = browser
            .wait_for_frame("the picker", |v| v.items == 3)
            .await?;
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
        let received = browser
            .wait_for_frame("the platform's return page", |v| v.received.is_some())
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
    let browser = Browser::open("browser_learner_is_refused_in_platform_iframe").await;
    let outcome = async {
        open_course(&browser, &course, &tool).await?;
        let view = browser
            .wait_for_frame("the refusal", |v| v.reason.is_some())
            .await?;
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
