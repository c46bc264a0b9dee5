//! The platform key cache under attack and under rotation (Security Framework §6.3, §6.4),
//! against a real key set server on loopback: single-flight refreshes, a failed fetch
//! remembered, a rotation accepted a second after a fetch, and a made-up `kid` remembered.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use lti_shared::adapters::http_client::OutboundPolicy;
use lti_shared::adapters::jwks_client::{KeyCachePolicy, PlatformKeys};
use lti_shared::adapters::store::embedded::EmbeddedStore;
use lti_shared::domain::keys::KeySet;
use lti_shared::domain::platform_key::KeyLookupError;
use lti_shared::ports::PlatformKeySource;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use tokio::net::TcpListener;
use url::Url;

const T0: OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);

/// A platform's key set endpoint: serves `body`, or 500 while `down`, after a short delay
/// (so concurrent lookups overlap), counting requests.
struct KeyServer {
    addr: SocketAddr,
    body: Arc<Mutex<String>>,
    down: Arc<Mutex<bool>>,
    requests: Arc<AtomicUsize>,
}

impl KeyServer {
    async fn start(body: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let body = Arc::new(Mutex::new(body));
        let down = Arc::new(Mutex::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let (b, d, r) = (body.clone(), down.clone(), requests.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (b, d, r) = (b.clone(), d.clone(), r.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |_req: Request<Incoming>| {
                        let (b, d, r) = (b.clone(), d.clone(), r.clone());
                        async move {
                            r.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(StdDuration::from_millis(50)).await;
                            let down = *d.lock().unwrap();
                            let mut response =
                                Response::new(Full::new(Bytes::from(b.lock().unwrap().clone())));
                            if down {
                                *response.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
                            }
                            Ok::<_, Infallible>(response)
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            body,
            down,
            requests,
        }
    }

    fn url(&self) -> Url {
        Url::parse(&format!("http://127.0.0.1:{}/jwks", self.addr.port())).unwrap()
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    fn serve(&self, keys: &KeySet) {
        *self.body.lock().unwrap() = serde_json::to_string(&keys.public_jwks(T0)).unwrap();
    }

    fn set_down(&self, down: bool) {
        *self.down.lock().unwrap() = down;
    }
}

fn key_set() -> (KeySet, String) {
    let mut keys = KeySet::default();
    keys.init(T0).unwrap();
    let kid = keys.public_jwks(T0).keys[0].kid.to_string();
    (keys, kid)
}

fn cache(dir: &std::path::Path) -> Arc<PlatformKeys> {
    let store = Arc::new(EmbeddedStore::open(dir).unwrap());
    Arc::new(PlatformKeys::with_outbound(
        store,
        KeyCachePolicy::default(),
        OutboundPolicy::local(),
    ))
}

/// Looks `kid` up `n` times at once.
async fn at_once(
    keys: &Arc<PlatformKeys>,
    url: &Url,
    kid: &str,
    now: OffsetDateTime,
    n: usize,
) -> Vec<Result<(), KeyLookupError>> {
    // Spawned all before any is awaited, so they overlap.
    let lookups: Vec<_> = (0..n)
        .map(|_| {
            let (keys, url, kid) = (keys.clone(), url.clone(), kid.to_owned());
            tokio::spawn(async move { keys.key(&url, &kid, now).await.map(drop) })
        })
        .collect();
    let mut results = Vec::new();
    for lookup in lookups {
        results.push(lookup.await.unwrap());
    }
    results
}

#[tokio::test]
async fn forged_launches_while_the_key_set_is_down_drive_one_fetch() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, kid) = key_set();
    let server = KeyServer::start(String::new()).await;
    server.serve(&keys);
    server.set_down(true);
    let cache = cache(dir.path());

    // 50 forged launches at once, nothing cached, the endpoint failing: one fetch.
    let results = at_once(&cache, &server.url(), &kid, T0, 50).await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(KeyLookupError::KeySetUnavailable { .. }))),
        "{results:?}"
    );
    assert_eq!(server.requests(), 1, "single flight");
    // 50 more within the failure backoff: no fetch at all.
    let results = at_once(&cache, &server.url(), &kid, T0 + Duration::seconds(5), 50).await;
    assert!(results.iter().all(Result::is_err));
    assert_eq!(server.requests(), 1, "the failure is remembered");

    // After the backoff, with the endpoint back, the genuine launch succeeds with one fetch.
    server.set_down(false);
    let later = T0 + Duration::seconds(11);
    cache.key(&server.url(), &kid, later).await.unwrap();
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn concurrent_launches_share_one_fetch_of_a_new_key_set() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, kid) = key_set();
    let server = KeyServer::start(String::new()).await;
    server.serve(&keys);
    let cache = cache(dir.path());
    let results = at_once(&cache, &server.url(), &kid, T0, 50).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn rotation_signed_with_the_new_key_a_second_after_a_fetch_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let (old, old_kid) = key_set();
    let (new, new_kid) = key_set();
    let server = KeyServer::start(String::new()).await;
    server.serve(&old);
    let cache = cache(dir.path());
    cache.key(&server.url(), &old_kid, T0).await.unwrap();
    assert_eq!(server.requests(), 1);

    // The platform rotates and signs with the new key at once.
    server.serve(&new);
    let one_second_later = T0 + Duration::seconds(1);
    cache
        .key(&server.url(), &new_kid, one_second_later)
        .await
        .unwrap();
    assert_eq!(server.requests(), 2);
    // Known from now on: no more fetches.
    cache
        .key(
            &server.url(),
            &new_kid,
            one_second_later + Duration::seconds(3),
        )
        .await
        .unwrap();
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn made_up_kid_is_remembered_after_its_refetch() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, kid) = key_set();
    let server = KeyServer::start(String::new()).await;
    server.serve(&keys);
    let cache = cache(dir.path());
    cache.key(&server.url(), &kid, T0).await.unwrap();

    // 50 launches with a made-up kid, a while later: one refetch, then it is remembered.
    let later = T0 + Duration::seconds(2);
    let results = at_once(&cache, &server.url(), "made-up", later, 50).await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(KeyLookupError::UnknownKid(k)) if k == "made-up")),
        "{results:?}"
    );
    assert_eq!(server.requests(), 2, "one refetch for the burst");
    for seconds in [5, 30, 120] {
        let refused = cache
            .key(&server.url(), "made-up", T0 + Duration::seconds(seconds))
            .await;
        assert!(matches!(refused, Err(KeyLookupError::UnknownKid(_))));
    }
    assert_eq!(
        server.requests(),
        2,
        "a remembered unknown kid costs no fetch"
    );
    // The genuine key still verifies without a fetch.
    cache
        .key(&server.url(), &kid, T0 + Duration::seconds(130))
        .await
        .unwrap();
    assert_eq!(server.requests(), 2);
}
