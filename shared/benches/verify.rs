#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The cost of verifying an LTI 1.3 launch, next to the cost of the RS256 signature check
//! inside it.
//!
//! Two functions, in one group and one run, over the same kind of token, with the same crypto
//! backend (aws-lc-rs):
//!
//! - `raw_rs256`: base64url-decoding the signature and `verify_sig` over `header.payload`, with
//!   the platform's public key parsed once ([`PlatformKey::from_components`], as the verifier's
//!   key cache does). This is the floor: no verification can be cheaper.
//! - `whole_verification`: [`Verifier::verify`] end to end: format, registry lookup, key
//!   lookup, signature, time, claims, login state read, nonce consumed and state removed, all
//!   against an [`EmbeddedStore`] (SQLite in a temporary folder) on a multi-threaded Tokio
//!   runtime, as `ltictl serve` runs it.
//!
//! The platform's key set is pre-seeded in the shared store with `fetched_at` = the fixed
//! clock's now, and one launch is verified before timing, so the key cache is warm and no HTTP
//! request is ever made.
//!
//! Every successful verification consumes its nonce and removes its login state, so each
//! iteration needs a launch that was never used. A pool of distinct launches (each with its own
//! state, nonce, stored [`IssuedLogin`] and signed token) is built once; when it runs out it is
//! re-armed **outside the timed region**: each used nonce item is removed and each login state
//! stored again, which puts the store back in the state a fresh launch would find. (Signing a
//! fresh token per iteration would cost ~40× the verification it feeds.)
//!
//! After criterion's report, a summary line is printed with both medians and their ratio. The
//! medians come from a separate short loop in this binary (not from criterion's files): the
//! two paths alternate, each call is timed with `Instant`, and the median of each is taken.
//! The issue's target is a ratio of at most 1.5.
//!
//! Run with `cargo bench -p lti-shared --bench verify`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::Criterion;
use time::OffsetDateTime;
use time::macros::datetime;
use url::Url;

use lti_shared::adapters::keystore::file::FileKeyStore;
use lti_shared::adapters::queue_polled::PolledStore;
use lti_shared::adapters::registry_cache::DEFAULT_REGISTRY_TTL;
use lti_shared::adapters::store::embedded::EmbeddedStore;
use lti_shared::compose::ports::Ports;
use lti_shared::domain::clock::FixedClock;
use lti_shared::domain::ids::{ClientId, DeploymentId, Issuer, TargetLinkUri};
use lti_shared::domain::keys::{KeyStatus, SigningKey};
use lti_shared::domain::model::{PlatformOptions, Registration, Status};
use lti_shared::domain::oidc::{LoginState, Nonce};
use lti_shared::domain::platform_key::PlatformKey;
use lti_shared::lti13::claims::MessageType;
use lti_shared::lti13::launch::{BrowserBinding, LaunchInput, Verifier};
use lti_shared::lti13::login::{IssuedLogin, STATE_LIFETIME};
use lti_shared::ports::{ExpiringItems, ItemKind, PlatformRegistry};

const NOW: OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);
const ISSUER: &str = "https://lms.example.edu";
const CLIENT_ID: &str = "tool-client-8f3a";
const DEPLOYMENT_ID: &str = "1:4dde05e8ca1973bcca9bffc13e1548820eee93a3";
const JWKS_URL: &str = "https://lms.example.edu/mod/lti/certs.php";
const TARGET_LINK_URI: &str = "https://tool.example.com/launch";

/// Distinct launches kept ready; re-armed (outside timing) when all have been used.
const POOL_SIZE: usize = 1000;
/// Calls of each path in the summary loop.
const SUMMARY_CALLS: usize = 400;

/// One launch: what the browser posts, and what the tool stored at login.
struct Launch {
    state: String,
    nonce: String,
    token: String,
    issued: String,
}

struct Fixture {
    rt: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
    store: Arc<EmbeddedStore>,
    verifier: Verifier,
    /// The platform's public key, parsed once, for the raw baseline.
    raw_key: PlatformKey,
    pool: Vec<Launch>,
    /// The first launch of the pool not used since the last re-arm.
    next: usize,
    /// Where the raw baseline is in the pool (it uses nothing up).
    raw_next: usize,
}

/// A realistic resource-link launch payload (Moodle-like), ~2 KB once encoded.
fn claims(nonce: &str, n: usize) -> serde_json::Value {
    let now = NOW.unix_timestamp();
    serde_json::json!({
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "sub": format!("user-{n}"),
        "exp": now + 60,
        "iat": now - 5,
        "nonce": nonce,
        "name": "Ada Lovelace",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email": "ada@example.edu",
        "locale": "en",
        "https://purl.imsglobal.org/spec/lti/claim/deployment_id": DEPLOYMENT_ID,
        "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiResourceLinkRequest",
        "https://purl.imsglobal.org/spec/lti/claim/version": "1.3.0",
        "https://purl.imsglobal.org/spec/lti/claim/target_link_uri": TARGET_LINK_URI,
        "https://purl.imsglobal.org/spec/lti/claim/resource_link": {
            "id": "42", "title": "Week 3 quiz", "description": ""
        },
        "https://purl.imsglobal.org/spec/lti/claim/roles": [
            "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student",
            "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
        ],
        "https://purl.imsglobal.org/spec/lti/claim/context": {
            "id": "17", "label": "CS101", "title": "Introduction to Computing",
            "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"]
        },
        "https://purl.imsglobal.org/spec/lti/claim/tool_platform": {
            "guid": "lms.example.edu", "name": "Example LMS",
            "product_family_code": "moodle", "version": "2024100700"
        },
        "https://purl.imsglobal.org/spec/lti/claim/launch_presentation": {
            "locale": "en", "document_target": "iframe",
            "return_url": "https://lms.example.edu/mod/lti/return.php?course=17&launch_container=3"
        },
        "https://purl.imsglobal.org/spec/lti/claim/lis": {
            "person_sourcedid": "", "course_section_sourcedid": ""
        },
        "https://purl.imsglobal.org/spec/lti/claim/custom": { "unit": "3" },
        "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
            "scope": [
                "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
                "https://purl.imsglobal.org/spec/lti-ags/scope/score"
            ],
            "lineitems": "https://lms.example.edu/mod/lti/services.php/17/lineitems?type_id=2",
            "lineitem": "https://lms.example.edu/mod/lti/services.php/17/lineitems/9/lineitem?type_id=2"
        },
        "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
            "context_memberships_url": "https://lms.example.edu/mod/lti/services.php/CourseSection/17/bindings/2/memberships",
            "service_versions": ["1.0", "2.0"]
        }
    })
}

fn sign(key: &SigningKey, payload: &serde_json::Value) -> String {
    let header = serde_json::json!({ "typ": "JWT", "alg": "RS256", "kid": key.kid.as_str() });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap()),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload).unwrap()),
    );
    let signature = key.sign_rs256(signing_input.as_bytes()).unwrap();
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

impl Fixture {
    fn new(pool_size: usize) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
        let platform_key = SigningKey::generate(KeyStatus::Current, NOW).unwrap();
        let jwks_url = Url::parse(JWKS_URL).unwrap();
        let registration = Registration {
            issuer: Issuer::parse(ISSUER).unwrap(),
            client_id: ClientId::parse(CLIENT_ID).unwrap(),
            deployment_ids: [DeploymentId::parse(DEPLOYMENT_ID).unwrap()].into(),
            auth_url: Url::parse("https://lms.example.edu/mod/lti/auth.php").unwrap(),
            token_url: Url::parse("https://lms.example.edu/mod/lti/token.php").unwrap(),
            jwks_url: jwks_url.clone(),
            name: Some("Example LMS".into()),
            status: Status::Active,
            options: PlatformOptions::default(),
            created_at: NOW,
        };
        let cached_set = serde_json::json!({
            "fetched_at": NOW.format(&time::format_description::well_known::Rfc3339).unwrap(),
            "keys": [platform_key.public_jwk()],
        })
        .to_string();
        rt.block_on(async {
            store.add_platform(&registration).await.unwrap();
            store
                .put_item(
                    ItemKind::PlatformKeys,
                    jwks_url.as_str(),
                    &cached_set,
                    NOW + time::Duration::days(1),
                )
                .await
                .unwrap();
        });

        let pool: Vec<Launch> = (0..pool_size)
            .map(|n| {
                let state = LoginState::generate().unwrap();
                let nonce = Nonce::generate().unwrap();
                let issued = IssuedLogin {
                    issuer: registration.issuer.clone(),
                    client_id: registration.client_id.clone(),
                    target_link_uri: TargetLinkUri::parse(TARGET_LINK_URI).unwrap(),
                    nonce: nonce.clone(),
                    login_hint: format!("user-{n}"),
                    message_hint: Some(format!("{{\"cmid\":{n}}}")),
                    deployment_id: Some(DeploymentId::parse(DEPLOYMENT_ID).unwrap()),
                    storage_target: None,
                };
                Launch {
                    token: sign(&platform_key, &claims(nonce.as_str(), n)),
                    issued: serde_json::to_string(&issued).unwrap(),
                    state: state.into(),
                    nonce: nonce.into(),
                }
            })
            .collect();

        // As every function wires it (`Ports`): registrations cached in memory, platform key
        // sets cached in memory and in the store.
        let ports = Ports::new(
            Arc::clone(&store) as _,
            Arc::new(FileKeyStore::open(dir.path()).unwrap()),
            Arc::new(PolledStore),
            Arc::new(FixedClock::new(NOW)),
            DEFAULT_REGISTRY_TTL,
        );
        let verifier = ports.verifier();
        let raw_key = PlatformKey::from_components(
            platform_key.kid.as_str(),
            &platform_key.n,
            &platform_key.e,
        )
        .unwrap();

        let mut fixture = Self {
            rt,
            _dir: dir,
            store,
            verifier,
            raw_key,
            pool,
            next: pool_size,
            raw_next: 0,
        };
        fixture.rearm();
        // Warm the key cache (store → memory) and the SQLite statement caches.
        fixture.whole(1);
        fixture
    }

    /// Makes every used launch of the pool usable again: the nonce item removed, the login
    /// state stored again. Not timed.
    fn rearm(&mut self) {
        let used = &self.pool[..self.next];
        let store = &self.store;
        self.rt.block_on(async {
            for launch in used {
                store
                    .remove_item(ItemKind::Nonce, &format!("{ISSUER}|{}", launch.nonce))
                    .await
                    .unwrap();
                store
                    .put_item(
                        ItemKind::LoginState,
                        &launch.state,
                        &launch.issued,
                        NOW + STATE_LIFETIME,
                    )
                    .await
                    .unwrap();
            }
        });
        self.next = 0;
    }

    /// Runs `count` whole verifications of unused launches, timing each with `each` if given,
    /// and returns the time spent inside `verify` (re-arming excluded).
    fn whole_timed(&mut self, count: u64, mut each: Option<&mut Vec<Duration>>) -> Duration {
        let mut total = Duration::ZERO;
        let mut left = usize::try_from(count).unwrap();
        while left > 0 {
            if self.next == self.pool.len() {
                self.rearm();
            }
            let batch = left.min(self.pool.len() - self.next);
            let launches = &self.pool[self.next..self.next + batch];
            let verifier = &self.verifier;
            let each = each.as_deref_mut();
            total += self.rt.block_on(async move {
                let mut each = each;
                let start = Instant::now();
                for launch in launches {
                    let call = Instant::now();
                    let input = LaunchInput {
                        id_token: &launch.token,
                        state: &launch.state,
                        binding: BrowserBinding::Cookie(Some(&launch.state)),
                    };
                    let verified = verifier
                        .verify(input, MessageType::ResourceLink)
                        .await
                        .expect("the benchmark's launches are valid");
                    black_box(verified);
                    if let Some(each) = each.as_deref_mut() {
                        each.push(call.elapsed());
                    }
                }
                start.elapsed()
            });
            self.next += batch;
            left -= batch;
        }
        total
    }

    fn whole(&mut self, count: u64) -> Duration {
        self.whole_timed(count, None)
    }

    /// The raw RS256 check of one pooled token: split off the signature, base64url-decode it,
    /// `verify_sig` over `header.payload`.
    fn raw_one(&mut self) -> bool {
        let token = &self.pool[self.raw_next].token;
        self.raw_next = (self.raw_next + 1) % self.pool.len();
        let (signing_input, signature) = black_box(token.as_str()).rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        self.raw_key
            .verify_rs256(signing_input.as_bytes(), &signature)
    }

    fn raw(&mut self, count: u64) -> Duration {
        let start = Instant::now();
        for _ in 0..count {
            assert!(black_box(self.raw_one()));
        }
        start.elapsed()
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// Whether criterion is measuring (`cargo bench`), rather than smoke-testing the benchmarks
/// (`cargo test --benches`) or listing them.
fn measuring() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    has("--bench") && !has("--test") && !has("--list") && !has("--profile-time")
}

fn main() {
    // `cargo test --benches` runs each function once: a small pool will do.
    let mut fixture = Fixture::new(if measuring() { POOL_SIZE } else { 4 });

    let mut criterion = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    {
        let mut group = criterion.benchmark_group("verify");
        group.bench_function("raw_rs256", |b| b.iter_custom(|n| fixture.raw(n)));
        group.bench_function("whole_verification", |b| {
            b.iter_custom(|n| fixture.whole(n));
        });
        group.finish();
    }
    criterion.final_summary();

    if !measuring() {
        return;
    }
    // The summary: the two paths alternate in chunks, every call timed on its own.
    let mut raw = Vec::with_capacity(SUMMARY_CALLS);
    let mut whole = Vec::with_capacity(SUMMARY_CALLS);
    for _ in 0..SUMMARY_CALLS / 20 {
        for _ in 0..20 {
            let start = Instant::now();
            assert!(black_box(fixture.raw_one()));
            raw.push(start.elapsed());
        }
        fixture.whole_timed(20, Some(&mut whole));
    }
    let (raw, whole) = (median(raw), median(whole));
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "verify: raw RS256 {:.1} µs, whole path {:.1} µs, ratio {:.2}x (target <= 1.5x) \
         [medians of {SUMMARY_CALLS} alternating calls each]",
        micros(raw),
        micros(whole),
        whole.as_secs_f64() / raw.as_secs_f64(),
    );
}
