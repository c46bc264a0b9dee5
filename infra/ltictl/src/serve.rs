//! `ltictl serve`: every function's handler on one local port.
//!
//! Each HTTP request becomes the `lambda_http::Request` the Lambda runtime would build, and is
//! given to the very handler the function's `main` runs, so a local run exercises the same code
//! as a deployment; only the adapters differ (embedded store and key file by default).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use deep_link::DeepLink;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jwks::Jwks;
use lambda_http::Body;
use launch::Launch;
use login::Login;
use lti_shared::adapters::registrar::Registrar;
use lti_shared::app::delivery::{Deliverer, DeliveryPolicy};
use lti_shared::domain::clock::{Clock, SystemClock};
use lti_shared::domain::tool::{REGISTER_PATH, ToolUrls};
use lti_shared::lti13::dynamic_registration::UrlPolicy;
use lti_shared::lti13::lms_config::{PrivacyLevel, ToolProfile};
use lti_shared::web::error::{Surface, WebError, respond};
use lti_shared::web::http::ApiError;
use lti_shared::web::routes::{Function, route};
use outcomes::Outcomes;
use register::{Register, RegisterOptions};
use tokio::net::TcpListener;
use url::Url;
use views::Views;

use crate::CliError;
use crate::backend::Backend;
use crate::commands::ensure_keys;
use crate::lms::PrivacyArg;

/// The largest request body accepted, like a Lambda function URL's 6 MB payload limit
/// (launch forms are a few kilobytes).
const MAX_BODY: usize = 6 * 1024 * 1024;

/// `ltictl serve` options.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The port to listen on.
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// The public origin platforms and browsers use (default http://localhost:PORT). Put the
    /// HTTPS URL of a tunnel or proxy here when a real LMS must reach this machine.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Make registrations that arrive by LTI Dynamic Registration active at once, instead of
    /// pending until `ltictl platform update … --status active`.
    #[arg(long)]
    pub auto_activate_registrations: bool,
    /// How much personal data the tool asks LMSs for, in `/config/canvas.json` and in LTI
    /// Dynamic Registration (the claims it requests). `anonymous` (the default, the most
    /// private) is enough for every feature; `name-only` or `public` adds people's names to
    /// the instructor views and the roster. Same as the stack's `LTI_PRIVACY_LEVEL`.
    #[arg(long, value_enum, env = "LTI_PRIVACY_LEVEL", default_value_t = PrivacyArg::Anonymous)]
    pub privacy: PrivacyArg,
    /// Accept LTI Dynamic Registration from anyone who can reach /register, without an
    /// invitation (`ltictl registration invite`). Risky: anyone who can reach this server can
    /// then register a platform (and, with --auto-activate-registrations, launch as an
    /// instructor). Same as the stack's `LTI_OPEN_REGISTRATION`.
    #[arg(long)]
    pub open_registration: bool,
    /// Requests per minute one client address may send to /login and /register (which write
    /// state for anyone); more are answered 429 with Retry-After. 0 turns the limit off.
    #[arg(long, value_name = "PER_MINUTE", default_value_t = 30)]
    pub rate_limit: u32,
}

/// How `serve` runs the handlers.
#[derive(Debug, Clone, Default)]
pub struct AppOptions {
    /// Dynamic registrations are active at once (see [`ServeArgs`]).
    pub auto_activate_registrations: bool,
    /// The privacy level of `/config/canvas.json` and of dynamic registrations (see
    /// [`ServeArgs::privacy`]).
    pub privacy: PrivacyLevel,
    /// Grade retry rules (tests shorten the backoff).
    pub policy: DeliveryPolicy,
    /// Dynamic registration without an invitation (see [`ServeArgs::open_registration`]).
    pub open_registration: bool,
    /// Requests per minute one client address may send to `/login` and `/register` (the
    /// endpoints that write state for anyone); `None`: no limit. `ltictl serve` sets it
    /// from `--rate-limit` (30 by default).
    pub rate_limit: Option<u32>,
}

/// A token bucket per client address: each address may send `per_minute` requests in a burst,
/// and one more every `60 / per_minute` seconds after that. Buckets idle long enough to be
/// full again are forgotten, so memory stays bounded by the addresses of the last minute.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    buckets: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: std::time::Instant,
}

impl RateLimiter {
    /// At most `per_minute` requests per minute per address (at least 1).
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: per_minute.max(1),
            buckets: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// Takes one request of `client` at `now`: `Ok` when allowed, otherwise the whole seconds
    /// to wait before the next one is (for `Retry-After`).
    pub fn check(&self, client: std::net::IpAddr, now: std::time::Instant) -> Result<(), u64> {
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= 10_000 {
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_second < capacity
            });
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - bucket.tokens) / per_second).ceil();
            // A float of at most 60 / per_minute seconds: the cast cannot truncate.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Err((wait as u64).max(1))
        }
    }
}

/// Whether a request to `path` is one the rate limit counts: OIDC login initiation (which
/// writes a login state) and dynamic registration (which fetches a platform document and
/// writes a pending registration).
fn writes_state(path: &str) -> bool {
    matches!(route(path).map(|r| r.function), Some(Function::Login)) || path == REGISTER_PATH
}

/// How long `serve` keeps registrations in memory.
const LOCAL_REGISTRY_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// One endpoint an LMS administrator configures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// What the LMS calls it.
    pub label: &'static str,
    /// The public URL.
    pub url: Url,
}

/// The handlers behind one local port.
pub struct App {
    jwks: Jwks,
    login: Login,
    launch: Launch,
    outcomes: Outcomes,
    views: Views,
    register: Register,
    deep_link: DeepLink,
    tool: ToolUrls,
    limiter: Option<RateLimiter>,
}

impl App {
    /// The handlers over `backend`, publishing URLs under `public_url`, with the real clock.
    pub fn new(backend: &Backend, public_url: Url) -> Self {
        Self::with_clock(backend, public_url, Arc::new(SystemClock))
    }

    /// The handlers over `backend` with time from `clock` (tests move it).
    pub fn with_clock(backend: &Backend, public_url: Url, clock: Arc<dyn Clock>) -> Self {
        Self::with_options(backend, public_url, clock, AppOptions::default())
    }

    /// The handlers over `backend` with time from `clock` and these options.
    pub fn with_options(
        backend: &Backend,
        public_url: Url,
        clock: Arc<dyn Clock>,
        options: AppOptions,
    ) -> Self {
        let tool = ToolUrls::new(&public_url);
        // Short: an operator registers platforms with ltictl in another terminal.
        let ports = backend.ports(clock, LOCAL_REGISTRY_TTL);
        // Only building the HTTP clients can fail (no TLS backend): nothing can be served
        // properly then, so stop with the reason.
        let (deliverer, ags) = ports
            .ags_client(options.policy.request_timeout)
            .map_err(|error| error.to_string())
            .and_then(|ags| {
                ports
                    .deliverer(ags.clone(), options.policy.clone())
                    .map(|deliverer| (deliverer, ags))
                    .map_err(|error| error.to_string())
            })
            .unwrap_or_else(|error| {
                eprintln!("ltictl: grade delivery cannot start: {error}");
                std::process::exit(1)
            });
        Self {
            jwks: Jwks::from_ports(&ports),
            deep_link: DeepLink::from_ports(&ports, tool.clone()),
            login: Login::from_ports(&ports, tool.clone()),
            register: Register::from_ports(
                &ports,
                tool.clone(),
                // Locally, platforms on this machine may be plain http.
                Registrar::new(UrlPolicy {
                    allow_http_loopback: true,
                }),
                RegisterOptions {
                    auto_activate: options.auto_activate_registrations,
                    profile: ToolProfile {
                        privacy: options.privacy,
                        ..ToolProfile::default()
                    },
                    open_registration: options.open_registration,
                },
            ),
            launch: Launch::from_ports(&ports, tool.clone()),
            views: Views::from_ports(&ports, deliverer.clone(), ags, tool.clone()),
            outcomes: Outcomes::from_ports(&ports, deliverer, tool.clone()),
            tool,
            limiter: options.rate_limit.map(RateLimiter::new),
        }
    }

    /// The grade deliverer (the retry loop drives it).
    pub fn deliverer(&self) -> Arc<Deliverer> {
        Arc::clone(self.outcomes.deliverer())
    }

    /// The values an LMS administrator pastes, for the functions that exist.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        vec![
            Endpoint {
                label: "OIDC login initiation URL",
                url: self.tool.login(),
            },
            Endpoint {
                label: "Redirect URL",
                url: self.tool.launch(),
            },
            Endpoint {
                label: "Target link URL",
                url: self.tool.launch(),
            },
            Endpoint {
                label: "Deep linking URL",
                url: self.tool.deep_link(),
            },
            Endpoint {
                label: "Public keyset (JWKS) URL",
                url: self.tool.jwks(),
            },
            Endpoint {
                label: "Score API (for activities)",
                url: self
                    .tool
                    .origin()
                    .join(outcomes::OUTCOMES_PATH)
                    .unwrap_or_else(|_| self.tool.origin().clone()),
            },
            Endpoint {
                label: "Dynamic registration URL",
                url: self.tool.register(),
            },
            Endpoint {
                label: "Canvas configuration URL",
                url: self.tool.canvas_config(),
            },
        ]
    }

    /// Routes one request from `client` to its handler, unless `client` is over the rate limit
    /// on an endpoint that writes state: then 429 with `Retry-After`, through the edge.
    pub async fn handle_from(
        &self,
        client: std::net::IpAddr,
        req: lambda_http::Request,
    ) -> http::Response<Body> {
        if let Some(limiter) = &self.limiter
            && writes_state(req.uri().path())
            && let Err(seconds) = limiter.check(client, std::time::Instant::now())
        {
            let id = lti_shared::web::http::request_id(&req);
            tracing::warn!(request_id = %id, %client, "rate limit reached");
            return respond(&WebError::TooManyRequests(seconds), &id, Surface::Page);
        }
        self.handle(req).await
    }

    /// Routes one request to its handler.
    pub async fn handle(&self, req: lambda_http::Request) -> http::Response<Body> {
        let Some(target) = route(req.uri().path()) else {
            return respond(
                &WebError::NotFound,
                &lti_shared::web::http::request_id(&req),
                Surface::Json,
            );
        };
        match target.function {
            Function::Jwks => self.jwks.handle(req).await,
            Function::Login => self.login.handle(req).await,
            Function::Launch => self.launch.handle(req).await,
            Function::DeepLink => self.deep_link.handle(req).await,
            Function::Outcomes => self.outcomes.handle(req).await,
            Function::Views => self.views.handle(req).await,
            Function::Register => self.register.handle(req).await,
        }
    }
}

/// How often `serve` looks for grades due for a retry.
pub const RETRY_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

/// The local retry path: every `interval`, deliver what is due (the embedded store plays the
/// queue). Also picks up grades left pending by a crash or a stop between the write and the
/// delivery. Dropping the handle does not stop it; abort it to stop.
pub fn spawn_retry_loop(
    deliverer: Arc<Deliverer>,
    interval: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(error) = deliverer.sweep(500).await {
                tracing::warn!(%error, "grade retry sweep failed; trying again shortly");
            }
        }
    })
}

/// How often `serve` removes attempts and personal data past the retention period.
pub const PURGE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// The local retention job: at start and then daily, removes what is past `retention`
/// (`LTI_RETENTION_DAYS`), with an audit entry, as `ltictl retention purge` does.
pub fn spawn_retention_loop(
    store: Arc<dyn lti_shared::ports::Store>,
    retention: lti_shared::app::lifecycle::Retention,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(PURGE_INTERVAL);
        loop {
            ticker.tick().await;
            let now = time::OffsetDateTime::now_utc();
            match lti_shared::app::lifecycle::purge_expired(
                store.as_ref(),
                now,
                retention,
                "ltictl serve",
            )
            .await
            {
                Ok(report) => tracing::info!(?report, "retention purge done"),
                Err(error) => {
                    tracing::warn!(%error, "retention purge failed; it runs again tomorrow")
                }
            }
        }
    })
}

/// Converts a hyper request into the request a Lambda function URL hands the handler.
async fn to_lambda(req: http::Request<Incoming>) -> Result<lambda_http::Request, ApiError> {
    let (parts, body) = req.into_parts();
    let bytes = Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map_err(|_| ApiError::new(413, "payload_too_large", "the request body is too large"))?
        .to_bytes();
    let body = if bytes.is_empty() {
        Body::Empty
    } else {
        match String::from_utf8(bytes.to_vec()) {
            Ok(text) => Body::Text(text),
            Err(e) => Body::Binary(e.into_bytes()),
        }
    };
    Ok(lambda_http::Request::from_parts(parts, body))
}

fn to_hyper(response: http::Response<Body>) -> http::Response<Full<Bytes>> {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(data) => Bytes::from(data),
        _ => Bytes::new(),
    };
    http::Response::from_parts(parts, Full::new(bytes))
}

/// Serves `app` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, app: Arc<App>) -> std::io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        let client = peer.ip();
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let app = Arc::clone(&app);
                async move {
                    let response = match to_lambda(req).await {
                        Ok(req) => app.handle_from(client, req).await,
                        Err(error) => {
                            error.into_response(&lti_shared::web::http::fresh_request_id())
                        }
                    };
                    Ok::<_, Infallible>(to_hyper(response))
                }
            });
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%error, "connection closed with an error");
            }
        });
    }
}

/// The public origin for `args`: the one given, or `http://localhost:PORT`.
pub fn public_url(args: &ServeArgs) -> Result<Url, CliError> {
    match &args.public_url {
        Some(text) => lti_shared::compose::config::parse_public_url(text)
            .map_err(|e| CliError::Usage(format!("--public-url {e}"))),
        None => Url::parse(&format!("http://localhost:{}", args.port))
            .map_err(|e| CliError::Usage(e.to_string())),
    }
}

/// `ltictl serve`: creates keys on the first run, prints the LMS values, and serves.
pub(crate) async fn run_from_cli(backend: Backend, args: ServeArgs) -> Result<(), CliError> {
    let public_url = public_url(&args)?;
    let (_, created) = ensure_keys(&backend).await?;
    let address = SocketAddr::new(args.host, args.port);
    let listener = TcpListener::bind(address).await.map_err(|e| {
        CliError::Failure(format!(
            "cannot listen on {address}: {e}; pick another port with --port"
        ))
    })?;
    let options = AppOptions {
        auto_activate_registrations: args.auto_activate_registrations,
        privacy: args.privacy.into(),
        policy: DeliveryPolicy::default(),
        open_registration: args.open_registration,
        rate_limit: (args.rate_limit > 0).then_some(args.rate_limit),
    };
    let app = Arc::new(App::with_options(
        &backend,
        public_url.clone(),
        Arc::new(SystemClock),
        options,
    ));
    println!(
        "LTI tool listening on http://{address} ({})",
        backend.description
    );
    if created {
        println!("Created the tool's signing keys (first run).");
    }
    println!("Values for the LMS administrator (public origin {public_url}):");
    for endpoint in app.endpoints() {
        println!("  {:<28} {}", endpoint.label, endpoint.url);
    }
    if args.open_registration {
        println!(
            "Registration is OPEN: anyone who can reach {} can register a platform.",
            app.tool.register()
        );
    } else {
        println!(
            "Dynamic registration is by invitation: `ltictl registration invite` prints a URL \
             for an LMS administrator."
        );
    }
    println!("Press Ctrl-C to stop.");
    let _retries = spawn_retry_loop(app.deliverer(), RETRY_INTERVAL);
    let retention =
        lti_shared::compose::config::retention().map_err(|e| CliError::Usage(e.to_string()))?;
    let _purge = spawn_retention_loop(backend.store.clone(), retention);
    tokio::select! {
        result = serve(listener, app) => {
            result.map_err(|e| CliError::Failure(format!("the server stopped: {e}")))
        }
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::{Duration, Instant};

    const ONE: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
    const TWO: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

    #[test]
    fn rate_limiter_allows_the_burst_then_refuses_with_the_wait() {
        let limiter = RateLimiter::new(30);
        let start = Instant::now();
        for n in 0..30 {
            assert_eq!(limiter.check(ONE, start), Ok(()), "request {n}");
        }
        // One token comes back every 2 s.
        assert_eq!(limiter.check(ONE, start), Err(2));
        // Another address has its own bucket.
        assert_eq!(limiter.check(TWO, start), Ok(()));
        assert_eq!(limiter.check(ONE, start + Duration::from_secs(1)), Err(1));
        assert_eq!(limiter.check(ONE, start + Duration::from_secs(2)), Ok(()));
        assert_eq!(limiter.check(ONE, start + Duration::from_secs(2)), Err(2));
    }

    #[test]
    fn writes_state_counts_login_and_register_only() {
        assert!(writes_state("/login"));
        assert!(writes_state("/register"));
        assert!(!writes_state("/config/canvas.json"));
        assert!(!writes_state("/launch"));
        assert!(!writes_state("/jwks"));
    }
}
