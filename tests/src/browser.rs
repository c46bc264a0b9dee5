//! A real browser for the tests that launch the tool in the fake platform's iframe: headless
//! Chromium, driven by chromedriver (WebDriver).
//!
//! Each test opens its own [`Browser`]: a fresh profile ([`Profile`]), its own chromedriver on a
//! free loopback port (killed with the browser it started when the `Browser` is dropped,
//! whatever state the test left the session in) and a WebDriver session. [`Browser::finish`]
//! saves a screenshot to `target/browser-artifacts/<test>.png` ([`artifacts_dir`]) on success
//! and on failure, and fails the test if its outcome is an error. The steps of a test return
//! `Result<(), String>`, with [`check`] and [`cmd`] to make the messages.
//!
//! The tests fail, never skip, when Chromium or chromedriver is missing: `infra/test.sh` installs
//! them. Serve the tool and the platform on two sites (`http://localhost:PORT` and
//! `http://127.0.0.1:PORT`), or the iframe is not third-party: see shared/TESTING-BROWSER.md.

use std::fmt::{Debug, Display};
use std::net::TcpListener as StdListener;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde::de::DeserializeOwned;
use serde_json::json;

/// Debian's Chromium (package `chromium`).
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// How to install what the tests need.
const INSTALL_HINT: &str = "install chromium chromium-driver \
     (apt-get install -y --no-install-recommends chromium chromium-driver), or run ./infra/test.sh";

/// `target/browser-artifacts` (under `CARGO_TARGET_DIR` when set), created: where the
/// screenshots, the tool frame's HTML of a failed test and the chromedriver logs go.
pub fn artifacts_dir() -> PathBuf {
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
    /// Starts chromedriver on a free port, logging to `<name>.chromedriver.log` in the
    /// artifacts folder, and waits until it answers.
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

/// What the browser profile does with the tool's cookies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Profile {
    /// A fresh profile: this Chromium blocks unpartitioned third-party cookies and allows
    /// `Partitioned` ones.
    Default,
    /// A fresh profile whose preferences block every cookie of this origin, in any context
    /// (content setting exception "block" for cookies).
    BlockCookiesOf(String),
}

/// One test's browser: a fresh profile, chromedriver and a WebDriver session.
pub struct Browser {
    name: &'static str,
    /// The WebDriver session.
    pub client: Client,
    // Dropped after the session is closed: kills chromedriver and the browser.
    _driver: Chromedriver,
    _profile: tempfile::TempDir,
    started: Instant,
}

impl Browser {
    /// Starts headless Chromium with a fresh `profile` for the test `name` (which names its
    /// artifacts).
    pub async fn open(name: &'static str, profile: Profile) -> Self {
        let started = Instant::now();
        let profile_dir = tempfile::tempdir().unwrap();
        if let Profile::BlockCookiesOf(origin) = &profile {
            // Chromium reads Default/Preferences of the user data dir at start. The key is the
            // content setting pattern pair "primary,secondary"; 2 is CONTENT_SETTING_BLOCK.
            let prefs = json!({
                "profile": {"content_settings": {"exceptions": {"cookies": {
                    format!("{origin},*"): {"setting": 2}
                }}}}
            });
            let default = profile_dir.path().join("Default");
            std::fs::create_dir_all(&default).unwrap();
            std::fs::write(default.join("Preferences"), prefs.to_string()).unwrap();
        }
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
    pub async fn finish(self, outcome: Result<(), String>) {
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

    /// Runs `f` with the WebDriver context in the tool's iframe (`id="tool"` on the platform's
    /// course page), then back at the top.
    pub async fn in_tool_frame<T>(
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

    /// What the tool's iframe shows now: the object `script` returns (it should never throw),
    /// as a `T`.
    pub async fn read_tool_frame<T: DeserializeOwned>(&self, script: &str) -> Result<T, String> {
        let value = self
            .in_tool_frame(async |c| c.execute(script, vec![]).await)
            .await
            .map_err(|e| format!("cannot read the tool frame: {e}"))?;
        serde_json::from_value(value).map_err(|e| format!("unexpected tool frame view: {e}"))
    }

    /// Polls the tool's iframe with `script` (see [`Browser::read_tool_frame`]) until `done`
    /// holds, up to `timeout`; the error names `what` was awaited and the last view read.
    pub async fn wait_for_tool_frame<T: DeserializeOwned + Clone + Debug>(
        &self,
        script: &str,
        what: &str,
        timeout: Duration,
        done: impl Fn(&T) -> bool,
    ) -> Result<T, String> {
        let deadline = Instant::now() + timeout;
        let mut last = Err("nothing read yet".to_owned());
        while Instant::now() < deadline {
            last = self.read_tool_frame(script).await;
            if let Ok(view) = &last
                && done(view)
            {
                return Ok(view.clone());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!(
            "the tool frame did not show {what} within {} s; last seen: {last:#?}",
            timeout.as_secs()
        ))
    }
}

/// `Ok(())` if `condition` holds, else the error `message()`.
pub fn check(condition: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(message()) }
}

/// A `map_err` for a failed browser command: `"<what>: <error>"`.
pub fn cmd<E: Display>(what: &'static str) -> impl FnOnce(E) -> String {
    move |e| format!("{what}: {e}")
}
