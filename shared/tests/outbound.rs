//! The outbound policy end to end, against real HTTP servers on loopback only: the strict
//! (Lambda) policy refuses a loopback URL and a name resolving to loopback before any
//! connection is made, the local policy reaches the same server, redirects are not followed,
//! and an endless body is cut at the cap. Each client (JWKS, AGS/NRPS, Basic Outcomes, Dynamic
//! Registration) is shown to go through the policy.
//!
//! Nothing here sends to an address off this machine: refusals of internal ranges other than
//! loopback are tested as pure functions in `lti_shared::adapters::http_client`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use lti_shared::adapters::ags_client::AgsClient;
use lti_shared::adapters::basic_outcomes::OutcomesClient;
use lti_shared::adapters::http_client::{
    AddressClass, OutboundClient, OutboundError, OutboundPolicy, Refusal, read_capped,
};
use lti_shared::adapters::jwks_client::{KeyCachePolicy, MAX_JWKS_BYTES, PlatformKeys};
use lti_shared::adapters::registrar::Registrar;
use lti_shared::adapters::store::embedded::EmbeddedStore;
use lti_shared::domain::clock::FixedClock;
use lti_shared::domain::ids::{ClientId, ConsumerKey, DeploymentId, Issuer};
use lti_shared::domain::keys::KeySet;
use lti_shared::domain::model::{PlatformOptions, Registration, Status};
use lti_shared::domain::platform_key::KeyLookupError;
use lti_shared::domain::secret::ConsumerSecret;
use lti_shared::lti11::pox::{OutcomeError, OutcomeTarget};
use lti_shared::lti13::ags::AgsError;
use lti_shared::lti13::dynamic_registration::{RegistrationError, UrlPolicy};
use lti_shared::ports::PlatformKeySource;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use url::Url;

const TIMEOUT: Duration = Duration::from_secs(10);
const UA: &str = "outbound-test";

/// What a test server answers to every request.
#[derive(Clone)]
enum Answer {
    /// 200 with this JSON body.
    Json(&'static str),
    /// 302 to this location.
    Redirect(String),
    /// 200 with a chunked body that never ends.
    Endless,
    /// 200 with a body of this many bytes, declared in `Content-Length`.
    Sized(usize),
}

/// A loopback HTTP/1 server that counts the connections it accepts and the body bytes it
/// hands to the socket.
struct Server {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    body_bytes: Arc<AtomicUsize>,
}

impl Server {
    async fn start(answer: Answer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let body_bytes = Arc::new(AtomicUsize::new(0));
        let (count, bytes) = (Arc::clone(&accepted), Arc::clone(&body_bytes));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let (answer, bytes) = (answer.clone(), Arc::clone(&bytes));
                tokio::spawn(async move {
                    let service = service_fn(move |_request: Request<Incoming>| {
                        let response = respond(&answer, &bytes);
                        async move { Ok::<_, Infallible>(response) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            accepted,
            body_bytes,
        }
    }

    fn url(&self, host: &str, scheme: &str, path: &str) -> Url {
        Url::parse(&format!("{scheme}://{host}:{}{path}", self.addr.port())).unwrap()
    }

    /// `http://127.0.0.1:<port><path>`.
    fn http(&self, path: &str) -> Url {
        self.url("127.0.0.1", "http", path)
    }

    /// The connections accepted so far, after letting any in flight arrive.
    async fn accepted(&self) -> usize {
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.accepted.load(Ordering::SeqCst)
    }
}

type TestBody = Either<Full<Bytes>, Endless>;

fn respond(answer: &Answer, bytes: &Arc<AtomicUsize>) -> Response<TestBody> {
    let builder = Response::builder();
    match answer {
        Answer::Json(body) => builder
            .header("content-type", "application/json")
            .body(Either::Left(Full::new(Bytes::from_static(body.as_bytes())))),
        Answer::Redirect(location) => builder
            .status(302)
            .header("location", location.as_str())
            .body(Either::Left(Full::new(Bytes::new()))),
        Answer::Endless => builder
            .header("content-type", "application/json")
            .body(Either::Right(Endless {
                sent: Arc::clone(bytes),
            })),
        Answer::Sized(len) => builder
            .header("content-type", "application/json")
            .body(Either::Left(Full::new(Bytes::from(vec![b' '; *len])))),
    }
    .unwrap()
}

static CHUNK: [u8; 64 * 1024] = [b' '; 64 * 1024];

/// A body that never ends (hyper polls it only as fast as the socket drains).
struct Endless {
    sent: Arc<AtomicUsize>,
}

impl Body for Endless {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.sent.fetch_add(CHUNK.len(), Ordering::SeqCst);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&CHUNK)))))
    }
}

fn strict() -> OutboundClient {
    OutboundClient::new(OutboundPolicy::lambda(), TIMEOUT, UA)
}

fn local() -> OutboundClient {
    OutboundClient::new(OutboundPolicy::local(), TIMEOUT, UA)
}

fn loopback_refusal(error: &OutboundError) -> (Option<&str>, IpAddr) {
    match error {
        OutboundError::Refused(Refusal::Address { ip, inside }) => {
            assert_eq!(inside.class, AddressClass::Loopback, "{error}");
            (None, *ip)
        }
        OutboundError::Refused(Refusal::Resolved { host, ip, inside }) => {
            assert_eq!(inside.class, AddressClass::Loopback, "{error}");
            (Some(host.as_str()), *ip)
        }
        other => panic!("not a loopback refusal: {other:?}"),
    }
}

// --- (a) the strict policy refuses loopback, literal and resolved, before connecting -------

#[tokio::test]
async fn strict_policy_refuses_a_loopback_literal_before_connecting() {
    let server = Server::start(Answer::Json("{}")).await;
    let client = strict();
    assert_eq!(
        client.get(server.http("/")).unwrap_err(),
        OutboundError::Refused(Refusal::PlainHttp)
    );
    let https = client
        .get(server.url("127.0.0.1", "https", "/"))
        .unwrap_err();
    assert_eq!(loopback_refusal(&https), (None, [127, 0, 0, 1].into()));
    let ipv6 = client.get(server.url("[::1]", "https", "/")).unwrap_err();
    assert_eq!(loopback_refusal(&ipv6).1, "::1".parse::<IpAddr>().unwrap());
    assert_eq!(server.accepted().await, 0);
}

#[tokio::test]
async fn strict_policy_refuses_a_name_resolving_to_loopback_at_connect_time() {
    let server = Server::start(Answer::Json("{}")).await;
    let client = strict();
    // The URL passes (a name, over https); the resolver refuses what it resolves to.
    let request = client
        .get(server.url("localhost", "https", "/jwks"))
        .unwrap();
    let error = client.send(request).await.unwrap_err();
    let (host, ip) = loopback_refusal(&error);
    assert_eq!(host, Some("localhost"));
    assert!(ip.is_loopback(), "{ip}");
    assert!(
        error
            .to_string()
            .starts_with("points inside the tool's network (localhost resolves to "),
        "{error}"
    );
    assert_eq!(server.accepted().await, 0);
}

// --- (b) the local policy reaches the loopback server ------------------------------------

#[tokio::test]
async fn local_policy_reaches_a_loopback_http_server() {
    let server = Server::start(Answer::Json(r#"{"ok":true}"#)).await;
    let client = local();
    for url in [server.http("/a"), server.url("localhost", "http", "/b")] {
        let request = client.get(url.clone()).unwrap();
        let response = client.send(request).await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        assert_eq!(
            read_capped(response, 1024).await.unwrap(),
            br#"{"ok":true}"#
        );
    }
    assert!(server.accepted().await >= 1);
}

#[tokio::test]
async fn local_policy_still_refuses_plain_http_off_loopback_and_internal_literals() {
    let client = local();
    for (url, expected) in [
        ("http://lms.example/", Refusal::PlainHttp),
        ("http://10.0.0.5/", Refusal::PlainHttp),
    ] {
        assert_eq!(
            client.get(Url::parse(url).unwrap()).unwrap_err(),
            OutboundError::Refused(expected),
            "{url}"
        );
    }
    // An internal literal over https is refused by the URL check, so `send` is never reached.
    let error = client
        .get(Url::parse("https://169.254.169.254/latest/meta-data/").unwrap())
        .unwrap_err();
    assert!(
        matches!(
            error,
            OutboundError::Refused(Refusal::Address { inside, .. })
                if inside.class == AddressClass::CloudMetadata
        ),
        "{error:?}"
    );
}

// --- (c) redirects are not followed --------------------------------------------------------

#[tokio::test]
async fn redirect_is_returned_not_followed() {
    let target = Server::start(Answer::Json("{}")).await;
    let redirecting = Server::start(Answer::Redirect(target.http("/elsewhere").into())).await;
    let client = local();
    let request = client.get(redirecting.http("/jwks")).unwrap();
    let response = client.send(request).await.unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(redirecting.accepted().await, 1);
    assert_eq!(target.accepted().await, 0);
}

#[tokio::test]
async fn jwks_client_does_not_follow_a_redirect() {
    let target = Server::start(Answer::Json(r#"{"keys":[]}"#)).await;
    let redirecting = Server::start(Answer::Redirect(target.http("/jwks").into())).await;
    let (_dir, keys) = platform_keys(OutboundPolicy::local());
    let error = keys
        .key(&redirecting.http("/jwks"), "kid-1", now())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        KeyLookupError::KeySetUnavailable {
            url: redirecting.http("/jwks").to_string(),
            reason: "it answered HTTP 302".into(),
        }
    );
    assert_eq!(target.accepted().await, 0);
}

// --- (d) bodies are cut at the cap ----------------------------------------------------------

#[tokio::test]
async fn endless_body_is_refused_at_the_cap_without_reading_on() {
    let server = Server::start(Answer::Endless).await;
    let client = local();
    let started = Instant::now();
    let request = client.get(server.http("/")).unwrap();
    let response = client.send(request).await.unwrap();
    let error = tokio::time::timeout(Duration::from_secs(5), read_capped(response, 100_000))
        .await
        .expect("reading stops at the cap, not at the end of an endless body")
        .unwrap_err();
    assert_eq!(error, OutboundError::TooLarge { cap: 100_000 });
    assert!(started.elapsed() < Duration::from_secs(5));
    // The server could only push what the socket buffers hold before the client hung up.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = server.body_bytes.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        server.body_bytes.load(Ordering::SeqCst),
        sent,
        "still sending"
    );
    assert!(sent < 64 * 1024 * 1024, "{sent} bytes sent");
}

#[tokio::test]
async fn declared_length_above_the_cap_is_refused_before_reading() {
    let server = Server::start(Answer::Sized(5 * 1024 * 1024)).await;
    let client = local();
    let request = client.get(server.http("/")).unwrap();
    let response = client.send(request).await.unwrap();
    assert_eq!(response.content_length(), Some(5 * 1024 * 1024));
    assert_eq!(
        read_capped(response, 512 * 1024).await.unwrap_err(),
        OutboundError::TooLarge { cap: 512 * 1024 }
    );
}

#[tokio::test]
async fn body_at_the_cap_is_read_whole() {
    let server = Server::start(Answer::Sized(1000)).await;
    let client = local();
    let response = client
        .send(client.get(server.http("/")).unwrap())
        .await
        .unwrap();
    assert_eq!(read_capped(response, 1000).await.unwrap().len(), 1000);
    let response = client
        .send(client.get(server.http("/")).unwrap())
        .await
        .unwrap();
    assert_eq!(
        read_capped(response, 999).await.unwrap_err(),
        OutboundError::TooLarge { cap: 999 }
    );
}

#[tokio::test]
async fn jwks_client_refuses_an_endless_and_a_5_mb_key_set_quickly() {
    for answer in [Answer::Endless, Answer::Sized(5 * 1024 * 1024)] {
        let server = Server::start(answer).await;
        let (_dir, keys) = platform_keys(OutboundPolicy::local());
        let started = Instant::now();
        let error = keys
            .key(&server.http("/jwks"), "kid-1", now())
            .await
            .unwrap_err();
        assert_eq!(
            error,
            KeyLookupError::KeySetUnavailable {
                url: server.http("/jwks").to_string(),
                reason: format!("the key set is larger than {MAX_JWKS_BYTES} bytes"),
            }
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}

// --- every client goes through the policy ---------------------------------------------------

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn platform_keys(outbound: OutboundPolicy) -> (tempfile::TempDir, PlatformKeys) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let keys = PlatformKeys::with_outbound(store, KeyCachePolicy::default(), outbound);
    (dir, keys)
}

#[tokio::test]
async fn jwks_client_under_the_strict_policy_refuses_loopback() {
    let server = Server::start(Answer::Json(r#"{"keys":[]}"#)).await;
    let (_dir, keys) = platform_keys(OutboundPolicy::lambda());
    for url in [
        server.http("/jwks"),
        server.url("localhost", "https", "/jwks"),
    ] {
        let error = keys.key(&url, "kid-1", now()).await.unwrap_err();
        let KeyLookupError::KeySetUnavailable { reason, .. } = &error else {
            panic!("{error:?}")
        };
        assert!(reason.starts_with("its URL "), "{reason}");
        assert!(reason.ends_with("; refused"), "{reason}");
    }
    assert_eq!(server.accepted().await, 0);
}

fn registration(server: &Server) -> Registration {
    Registration {
        issuer: Issuer::parse("https://lms.example").unwrap(),
        client_id: ClientId::parse("client-1").unwrap(),
        deployment_ids: BTreeSet::from([DeploymentId::parse("dep-1").unwrap()]),
        auth_url: Url::parse("https://lms.example/auth").unwrap(),
        token_url: server.http("/token"),
        jwks_url: Url::parse("https://lms.example/jwks").unwrap(),
        name: None,
        status: Status::Active,
        options: PlatformOptions::default(),
        created_at: now(),
    }
}

#[tokio::test]
async fn ags_client_under_the_strict_policy_refuses_before_fetching_a_token() {
    let server = Server::start(Answer::Json(r#"{"access_token":"t"}"#)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let clock = Arc::new(FixedClock::new(now()));
    let mut keys = KeySet::default();
    keys.init(now()).unwrap();
    let client = AgsClient::with_policy(store, clock, TIMEOUT, OutboundPolicy::lambda()).unwrap();
    let error = client
        .memberships(
            &registration(&server),
            &keys,
            server.http("/members").as_str(),
        )
        .await
        .unwrap_err();
    assert_eq!(error, AgsError::BadUrl("membership URL"));
    // A name resolving to loopback passes the URL check and is refused at connect time,
    // starting with the token endpoint; a later try may resolve differently, so it is a
    // (retryable) transport failure naming the rule.
    let mut by_name = registration(&server);
    by_name.token_url = server.url("localhost", "https", "/token");
    let error = client
        .memberships(
            &by_name,
            &keys,
            server.url("localhost", "https", "/members").as_str(),
        )
        .await
        .unwrap_err();
    let AgsError::Transport { what, detail } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(*what, "the access token request");
    assert!(
        detail.starts_with("its URL points inside the tool's network (localhost resolves to "),
        "{detail}"
    );
    assert!(error.is_retryable());
    assert_eq!(server.accepted().await, 0);
}

#[tokio::test]
async fn basic_outcomes_client_under_the_strict_policy_refuses_loopback() {
    let server = Server::start(Answer::Json("{}")).await;
    let client = OutcomesClient::with_policy(
        Arc::new(FixedClock::new(now())),
        TIMEOUT,
        OutboundPolicy::lambda(),
    )
    .unwrap();
    let target = |service_url: Url| OutcomeTarget {
        service_url,
        sourcedid: "s".into(),
        consumer_key: ConsumerKey::parse("key").unwrap(),
        secret: ConsumerSecret::new("secret"),
    };
    assert_eq!(
        client
            .replace_result(&target(server.http("/outcomes")), 0.5)
            .await
            .unwrap_err(),
        OutcomeError::InvalidServiceUrl(Refusal::PlainHttp.rule())
    );
    let error = client
        .replace_result(&target(server.url("localhost", "https", "/outcomes")), 0.5)
        .await
        .unwrap_err();
    let OutcomeError::Transport(detail) = &error else {
        panic!("{error:?}")
    };
    assert!(
        detail.contains("localhost resolves to") && detail.ends_with("; refused"),
        "{detail}"
    );
    assert_eq!(server.accepted().await, 0);
}

#[tokio::test]
async fn registrar_goes_through_the_outbound_policy() {
    let server = Server::start(Answer::Json("{}")).await;
    // The codec's URL policy lets loopback http through; the strict outbound policy does not.
    let strict = Registrar::with_outbound(
        UrlPolicy {
            allow_http_loopback: true,
        },
        OutboundPolicy::lambda(),
    );
    let url = server.http("/openid-configuration");
    let error = strict
        .fetch_configuration(url.as_str(), None)
        .await
        .unwrap_err();
    let RegistrationError::UnusableUrl {
        field,
        url: named,
        reason,
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(
        (*field, named.as_str(), *reason),
        (
            "openid_configuration",
            url.as_str(),
            Refusal::PlainHttp.rule()
        )
    );
    let by_name = server.url("localhost", "https", "/openid-configuration");
    let error = strict
        .fetch_configuration(by_name.as_str(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            RegistrationError::UnusableUrl {
                reason: "points inside the tool's network",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(server.accepted().await, 0);

    // `Registrar::new` with loopback http allowed is the local policy: it connects (and the
    // server's `{}` is not a configuration), and does not follow a redirect.
    let local = Registrar::new(UrlPolicy {
        allow_http_loopback: true,
    });
    let error = local
        .fetch_configuration(url.as_str(), None)
        .await
        .unwrap_err();
    assert!(
        !matches!(error, RegistrationError::UnusableUrl { .. }),
        "{error:?}"
    );
    assert_eq!(server.accepted().await, 1);
    let redirecting = Server::start(Answer::Redirect(server.http("/next").into())).await;
    let error = local
        .fetch_configuration(redirecting.http("/openid-configuration").as_str(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, RegistrationError::ConfigurationStatus(302)),
        "{error:?}"
    );
    assert_eq!(server.accepted().await, 1);
}
