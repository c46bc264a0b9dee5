//! The one HTTP client adapter every outbound call goes through: platform key sets
//! ([`crate::adapters::jwks_client`]), the OAuth token endpoint, AGS and NRPS
//! ([`crate::adapters::ags_client`]), LTI 1.1 Basic Outcomes
//! ([`crate::adapters::basic_outcomes`]) and Dynamic Registration
//! ([`crate::adapters::registrar`]).
//!
//! # The outbound policy
//!
//! Most URLs the tool calls come from a platform: the launch's AGS line item and line items
//! URLs, the NRPS membership URL, the LTI 1.1 `lis_outcome_service_url`, the registration's
//! token and key set URLs, Dynamic Registration's OpenID configuration. A malicious or
//! compromised platform chooses them, and the tool sends its bearer tokens and signed bodies
//! there and reads the answers back. So an [`OutboundClient`] applies an [`OutboundPolicy`]:
//!
//! - **https only.** Tokens, signed grades and key sets must not travel in clear, and an
//!   `http://` URL is the usual way to reach internal services that do not speak TLS.
//! - **plain http only to loopback, only in local runs** ([`OutboundPolicy::local`]: `ltictl`
//!   and tests, where platforms run on this machine as `http://127.0.0.1:<port>`). On Lambda
//!   ([`OutboundPolicy::lambda`], the default) never: loopback there is the Lambda Runtime API,
//!   which would hand the next event (another user's request) to whoever calls it.
//! - **no address inside the tool's network**, judged on address literals before the request
//!   ([`OutboundPolicy::check_url`]) and on every address a name resolves to, at connect time
//!   (the client's DNS resolver), so a name that resolves inside is caught: loopback (except
//!   in local runs), link-local `169.254.0.0/16` and `fe80::/10` (where the instance metadata
//!   service, `169.254.169.254` and `fd00:ec2::254`, hands out credentials), private
//!   `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`, unique-local `fc00::/7`, CGNAT
//!   `100.64.0.0/10`, multicast, unspecified (`0.0.0.0` connects to this machine), broadcast,
//!   documentation, benchmarking and reserved ranges, and the IPv6 forms that carry any of
//!   these IPv4 addresses (`::ffff:10.0.0.1` and the like). The ranges and why each is refused
//!   are in [`AddressClass`].
//! - **no redirects**, for every client (`redirect::Policy::none()`): a 3xx is returned to the
//!   caller as the answer, which treats it as an error status. A redirect would resend the
//!   request, bearer token or signed body included, to a destination the policy never saw
//!   (reqwest's redirect hook cannot see resolved addresses), and no platform API this tool
//!   uses needs one.
//! - **no proxy**: the system proxy variables are ignored, as a proxy would resolve the
//!   platform's name itself, out of reach of the resolver's check.
//! - **bounded bodies**: answers are read with [`read_capped`], which stops reading at the
//!   caller's cap (a declared `Content-Length` above the cap is refused before reading).
//! - **timeouts**: every client has a total timeout (connection, request and reading the
//!   body) and a connect timeout of at most [`CONNECT_TIMEOUT`].
//!
//! # Local runs
//!
//! The policy is chosen when a client is built. The Lambda functions build theirs with the
//! strict policy: explicitly, or by default, as [`OutboundPolicy::process_default`] is
//! [`OutboundPolicy::lambda`] unless a process installs another. `ltictl` installs
//! [`OutboundPolicy::local`] as its process default before it builds its ports (see
//! `ltictl::backend::Backend::ports`); tests that talk to loopback platforms build their
//! clients with [`OutboundPolicy::local`] or run through `ltictl`'s backend. Nothing read from
//! the environment can loosen the policy.
//!
//! # Cold starts
//!
//! Building a `reqwest` client loads the system's trusted root certificates (every file in
//! `/etc/ssl/certs` on Linux), which took about 15 ms per client on the build machine
//! (`infra/coldstart.sh`). A function builds its clients at cold start but most invocations
//! never call a platform (launches find the platform's keys in the cache, most score posts are
//! answered before any retry), so the clients here are built when the first request needs
//! them, once per warm function ([`LazyClient`]).

mod address;
mod policy;
mod resolver;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use url::Url;

pub use address::{AddressClass, Inside, Ipv6Form, classify};
pub use policy::{OutboundPolicy, Refusal};
use resolver::{Lookup, PolicyResolver};

/// The longest a client waits for a connection (less when its total timeout is shorter).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A `reqwest` client configured up front and built on first use.
pub struct LazyClient {
    configure: Box<dyn Fn() -> reqwest::ClientBuilder + Send + Sync>,
    client: OnceLock<Result<reqwest::Client, String>>,
}

impl std::fmt::Debug for LazyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyClient")
            .field("built", &self.client.get().is_some())
            .finish_non_exhaustive()
    }
}

impl LazyClient {
    /// A client that `configure` sets up when it is first needed.
    pub fn new(configure: impl Fn() -> reqwest::ClientBuilder + Send + Sync + 'static) -> Self {
        Self {
            configure: Box::new(configure),
            client: OnceLock::new(),
        }
    }

    /// The client, built on the first call. A failure (the TLS stack cannot be initialised)
    /// is kept and returned to every caller, as the reason a request could not be made.
    pub fn get(&self) -> Result<&reqwest::Client, &str> {
        self.client
            .get_or_init(|| (self.configure)().build().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(String::as_str)
    }
}

/// Why an outbound request failed. Callers map it into their own errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// The policy refused the destination; nothing was sent to it.
    #[error("{0}; refused")]
    Refused(Refusal),
    /// No answer within the client's timeout.
    #[error("timed out")]
    Timeout,
    /// The connection could not be made (refused, unreachable, DNS, TLS handshake).
    #[error("connection failed ({0})")]
    Connect(String),
    /// The connection broke while sending or reading.
    #[error("the connection broke ({0})")]
    Transport(String),
    /// The answer's body is larger than the caller's cap; reading stopped there.
    #[error("the answer is larger than {cap} bytes")]
    TooLarge {
        /// The cap, in bytes.
        cap: usize,
    },
    /// The HTTP client could not be built (no TLS backend).
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
}

impl OutboundError {
    /// The outbound error a reqwest error is: the resolver's [`Refusal`] when that is what
    /// stopped the connection, otherwise its kind, with the causes but without the URL (the
    /// caller names it, and a platform's query string stays out of messages).
    pub fn from_reqwest(error: reqwest::Error) -> Self {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
        while let Some(cause) = source {
            if let Some(found) = cause.downcast_ref::<Self>()
                && found.refusal().is_some()
            {
                return found.clone();
            }
            source = cause.source();
        }
        if error.is_timeout() {
            return Self::Timeout;
        }
        let connect = error.is_connect();
        let error = error.without_url();
        let mut text = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        if connect {
            Self::Connect(text)
        } else {
            Self::Transport(text)
        }
    }

    /// The refusal, when the policy refused.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Self::Refused(refusal) => Some(refusal),
            _ => None,
        }
    }
}

/// A `reqwest` client under an [`OutboundPolicy`]: its resolver refuses internal addresses,
/// it follows no redirects and uses no proxy, it has a total and a connect timeout, and it is
/// built on first use. Cheap to clone (the built client is shared).
#[derive(Clone)]
pub struct OutboundClient {
    inner: Arc<Inner>,
}

struct Inner {
    policy: OutboundPolicy,
    timeout: Duration,
    client: LazyClient,
}

impl std::fmt::Debug for OutboundClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundClient")
            .field("policy", &self.inner.policy)
            .field("timeout", &self.inner.timeout)
            .field("client", &self.inner.client)
            .finish()
    }
}

impl OutboundClient {
    /// A client under `policy` whose requests time out after `timeout` (connecting after at
    /// most [`CONNECT_TIMEOUT`]), sending `user_agent`.
    pub fn new(policy: OutboundPolicy, timeout: Duration, user_agent: &'static str) -> Self {
        Self::with_lookup(policy, timeout, user_agent, Lookup::System)
    }

    pub(crate) fn with_lookup(
        policy: OutboundPolicy,
        timeout: Duration,
        user_agent: &'static str,
        lookup: Lookup,
    ) -> Self {
        let resolver = PolicyResolver::new(policy, lookup);
        let client = LazyClient::new(move || {
            reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout.min(CONNECT_TIMEOUT))
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .https_only(!policy.allows_loopback())
                .dns_resolver(resolver.clone())
                .user_agent(user_agent)
        });
        Self {
            inner: Arc::new(Inner {
                policy,
                timeout,
                client,
            }),
        }
    }

    /// The policy this client applies.
    pub fn policy(&self) -> OutboundPolicy {
        self.inner.policy
    }

    /// The total timeout of one request.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// Whether a request to `url` may be sent ([`OutboundPolicy::check_url`]).
    pub fn check_url(&self, url: &Url) -> Result<(), OutboundError> {
        self.inner.policy.check_url(url)
    }

    /// The underlying client, built on first use, for building requests that
    /// [`Self::send`] then sends. Sending them any other way skips the URL check.
    pub(crate) fn client(&self) -> Result<&reqwest::Client, OutboundError> {
        self.inner
            .client
            .get()
            .map_err(|detail| OutboundError::Setup(detail.to_owned()))
    }

    /// A request with `method` to `url`, refused when the policy refuses `url`.
    pub fn request(
        &self,
        method: reqwest::Method,
        url: Url,
    ) -> Result<reqwest::RequestBuilder, OutboundError> {
        self.check_url(&url)?;
        Ok(self.client()?.request(method, url))
    }

    /// A GET request to `url` ([`Self::request`]).
    pub fn get(&self, url: Url) -> Result<reqwest::RequestBuilder, OutboundError> {
        self.request(reqwest::Method::GET, url)
    }

    /// A POST request to `url` ([`Self::request`]).
    pub fn post(&self, url: Url) -> Result<reqwest::RequestBuilder, OutboundError> {
        self.request(reqwest::Method::POST, url)
    }

    /// Sends `request` after checking its URL, and returns the answer whatever its status (a
    /// 3xx is an answer: redirects are not followed). Read the body with [`read_capped`].
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, OutboundError> {
        let request = request.build().map_err(OutboundError::from_reqwest)?;
        self.check_url(request.url())?;
        self.client()?
            .execute(request)
            .await
            .map_err(OutboundError::from_reqwest)
    }
}

/// The body of `response`, read chunk by chunk and refused with [`OutboundError::TooLarge`]
/// as soon as it would pass `cap` bytes (or at once, when the declared `Content-Length` is
/// larger): the rest is never read, and the connection is dropped.
pub async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<Vec<u8>, OutboundError> {
    let declared = response.content_length();
    if declared.is_some_and(|len| len > cap as u64) {
        return Err(OutboundError::TooLarge { cap });
    }
    // Trust the declared length only up to the cap for the first allocation.
    let mut body = Vec::with_capacity(declared.map_or(0, |len| len as usize).min(cap));
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(OutboundError::from_reqwest)?
    {
        if chunk.len() > cap - body.len() {
            return Err(OutboundError::TooLarge { cap });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::net::IpAddr;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn lazy_client_is_built_once_on_first_use() {
        let client = LazyClient::new(reqwest::Client::builder);
        assert!(format!("{client:?}").contains("built: false"));
        let first: *const reqwest::Client = client.get().unwrap();
        let second: *const reqwest::Client = client.get().unwrap();
        assert_eq!(first, second);
        assert!(format!("{client:?}").contains("built: true"));
    }

    #[test]
    fn outbound_client_is_built_on_first_use_and_shared_by_clones() {
        let client = OutboundClient::new(OutboundPolicy::lambda(), Duration::from_secs(1), "t");
        assert!(format!("{client:?}").contains("built: false"));
        let copy = client.clone();
        let first: *const reqwest::Client = client.client().unwrap();
        let second: *const reqwest::Client = copy.client().unwrap();
        assert_eq!(first, second);
        assert!(format!("{client:?}").contains("built: true"));
    }

    /// A loopback listener counting the connections it accepts (it answers nothing).
    async fn counting_listener() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        (addr, accepted)
    }

    /// The client's resolver is the policy's: a name the test table maps to loopback is
    /// refused by the strict policy, and no connection reaches the loopback listener. Only
    /// loopback appears here, so even a broken policy could not send anything off the machine.
    #[tokio::test]
    async fn client_resolves_names_through_the_policy() {
        let (addr, accepted) = counting_listener().await;
        let table: HashMap<String, Vec<IpAddr>> =
            HashMap::from([("platform.test".to_owned(), vec![addr.ip()])]);
        let client = OutboundClient::with_lookup(
            OutboundPolicy::lambda(),
            Duration::from_secs(5),
            "t",
            Lookup::Fixed(Arc::new(table)),
        );
        let url = Url::parse(&format!("https://platform.test:{}/jwks", addr.port())).unwrap();
        let request = client.get(url).unwrap();
        let error = client.send(request).await.unwrap_err();
        assert_eq!(
            error,
            OutboundError::Refused(Refusal::Resolved {
                host: "platform.test".into(),
                ip: addr.ip(),
                inside: classify(addr.ip()).unwrap(),
            })
        );
        assert!(error.refusal().unwrap().depends_on_dns());
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(accepted.load(Ordering::SeqCst), 0);
    }

    /// The same name and listener under the local policy: the connection is made (the
    /// listener hangs up, so the request fails after connecting).
    #[tokio::test]
    async fn local_client_connects_to_a_name_resolving_to_loopback() {
        let (addr, accepted) = counting_listener().await;
        let table: HashMap<String, Vec<IpAddr>> =
            HashMap::from([("platform.test".to_owned(), vec![addr.ip()])]);
        let client = OutboundClient::with_lookup(
            OutboundPolicy::local(),
            Duration::from_secs(5),
            "t",
            Lookup::Fixed(Arc::new(table)),
        );
        let url = Url::parse(&format!("https://platform.test:{}/jwks", addr.port())).unwrap();
        let request = client.get(url).unwrap();
        let error = client.send(request).await.unwrap_err();
        assert!(error.refusal().is_none(), "{error}");
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn request_is_refused_before_building_when_the_url_is() {
        let client = OutboundClient::new(OutboundPolicy::lambda(), Duration::from_secs(1), "t");
        let error = client
            .post(Url::parse("http://127.0.0.1:9001/2018-06-01/runtime/invocation/next").unwrap())
            .unwrap_err();
        assert_eq!(error, OutboundError::Refused(Refusal::PlainHttp));
        // Refused without building the client.
        assert!(format!("{client:?}").contains("built: false"));
    }
}
