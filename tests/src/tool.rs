//! The tool under test, running in-process on a loopback port with fresh embedded data: the
//! same server `ltictl serve` runs. Also the independent LTI 1.1 signer the tests use.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::Arc;

use lti_shared::domain::clock::{Clock, SystemClock};
use lti_shared::domain::ids::ConsumerKey;
use lti_shared::domain::keys::KeySet;
use lti_shared::domain::model::{Consumer, Status};
use lti_shared::domain::secret::ConsumerSecret;
use ltictl::backend::Backend;
use ltictl::serve::{App, AppOptions, serve};
use serde_json::Value;

/// A running tool. Dropping it stops the server (and its grade retry loop).
pub struct RunningTool {
    /// Where this server listens, e.g. `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its data (embedded store and key file).
    pub backend: Backend,
    /// The handlers (the grade deliverer is `app.deliverer()`).
    pub app: Arc<App>,
    _dir: Option<tempfile::TempDir>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    retries: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for RunningTool {
    fn drop(&mut self) {
        self.server.abort();
        if let Some(retries) = &self.retries {
            retries.abort();
        }
    }
}

/// How [`RunningTool::start_with`] starts the tool.
#[derive(Clone, Default)]
pub struct ToolOptions {
    /// The public origin (default: its own loopback address).
    pub public_url: Option<String>,
    /// The data folder; a fresh temporary one (with new keys) when `None`. An existing folder
    /// is reused as is, as a restarted `ltictl serve` would.
    pub data_dir: Option<std::path::PathBuf>,
    /// `serve`'s options (grade retry rules, registration activation).
    pub app: AppOptions,
    /// The tool's clock (the system clock when `None`).
    pub clock: Option<Arc<dyn Clock>>,
    /// Runs `serve`'s grade retry loop at this interval; no loop when `None`.
    pub retry_interval: Option<std::time::Duration>,
}

impl RunningTool {
    /// Starts the tool with fresh data and signing keys. It publishes URLs under `public_url`
    /// (a proxy's origin, say), or under its own loopback address when `None`.
    pub async fn start(public_url: Option<&str>) -> Self {
        Self::start_with(ToolOptions {
            public_url: public_url.map(str::to_owned),
            ..ToolOptions::default()
        })
        .await
    }

    /// Starts the tool as `options` say.
    pub async fn start_with(options: ToolOptions) -> Self {
        let (dir, path) = match &options.data_dir {
            Some(path) => (None, path.clone()),
            None => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().to_owned();
                (Some(dir), path)
            }
        };
        let backend = Backend::embedded(&path).unwrap();
        if backend.keys.signing_keys().await.unwrap().keys.is_empty() {
            let mut keys = KeySet::default();
            keys.init(time::OffsetDateTime::now_utc()).unwrap();
            backend.keys.save_signing_keys(&keys).await.unwrap();
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let public = url::Url::parse(options.public_url.as_deref().unwrap_or(&base)).unwrap();
        let clock = options
            .clock
            .clone()
            .unwrap_or_else(|| Arc::new(SystemClock) as Arc<dyn Clock>);
        let app = Arc::new(App::with_options(
            &backend,
            public,
            clock,
            options.app.clone(),
        ));
        let server = tokio::spawn(serve(listener, Arc::clone(&app)));
        let retries = options
            .retry_interval
            .map(|interval| ltictl::serve::spawn_retry_loop(app.deliverer(), interval));
        Self {
            base,
            backend,
            app,
            _dir: dir,
            server,
            retries,
        }
    }

    /// A URL of this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Adds an active LTI 1.1 consumer with its secret, as `ltictl consumer add` does.
    pub async fn add_consumer(&self, key: &str, secret: &str) {
        let key = ConsumerKey::parse(key).unwrap();
        self.backend
            .keys
            .put_consumer_secret(&key, &ConsumerSecret::new(secret))
            .await
            .unwrap();
        self.backend
            .store
            .add_consumer(&Consumer {
                key,
                name: None,
                status: Status::Active,
                created_at: time::OffsetDateTime::now_utc(),
            })
            .await
            .unwrap();
    }
}

/// Runs `script` (under `tests/python/`) with the project's Python venv, `request` as JSON on
/// stdin, and reads its JSON answer.
fn run_python(script: &str, request: &Value) -> Value {
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv/bin/python");
    let script = format!("{}/python/{script}", env!("CARGO_MANIFEST_DIR"));
    assert!(
        std::path::Path::new(python).exists(),
        "the project's Python venv is missing: run ./infra/test.sh (it installs oauthlib)"
    );
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Signs an LTI 1.1 launch with Python's oauthlib, an OAuth 1.0a implementation independent of
/// the tool's, run from the project's virtual environment (`tests/python/oauth1_sign.py`).
/// `request` is `{"url", "key", "secret", "params": [[name, value], ...]}` plus optional
/// `"method"`, `"timestamp"`, `"nonce"`; the answer is the signed form body.
pub fn oauthlib_sign(request: &Value) -> Vec<(String, String)> {
    serde_json::from_value(run_python("oauth1_sign.py", request)).unwrap()
}

/// Verifies a signed form POST with oauthlib as a platform would (`tests/python/oauth1_verify.py`,
/// HMAC-SHA1 only, timestamp within 600 s): `url` is the URL posted to (query included), `body`
/// the form body as the browser sent it. Answers `{"valid", "client", "signature"}`.
pub fn oauthlib_verify(url: &str, body: &str, key: &str, secret: &str) -> Value {
    run_python(
        "oauth1_verify.py",
        &serde_json::json!({"url": url, "body": body, "key": key, "secret": secret}),
    )
}
