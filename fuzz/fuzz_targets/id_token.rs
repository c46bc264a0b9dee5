//! Fuzzes the whole LTI 1.3 launch verifier ([`Verifier::verify`], Security Framework §5.1.3)
//! with id_tokens a hostile browser or platform could post.
//!
//! The fixture is built once: one active registration in an [`EmbeddedStore`] (SQLite in a
//! temporary folder), one issued login state, a [`FixedClock`] and a platform key served from
//! memory by a key source that never touches the network (an unknown `kid` is
//! [`KeyLookupError::UnknownKid`]). The async verification runs on one current-thread Tokio
//! runtime. The first input byte picks how the rest becomes a token:
//!
//! * `0` (and `3`): the rest is the compact JWS as posted (any text).
//! * `1`: the rest is `HEADER \0 PAYLOAD \0 SIGNATURE`, each base64url-encoded by the target:
//!   JSON gets past the format check quickly, but the signature is never the platform's.
//! * `2`: the rest is the payload JSON, signed RS256 with the platform's key (about a
//!   millisecond per input, so only for inputs that are a JSON object): the time, claim,
//!   state and nonce checks are reached.
//!
//! Bit 2 of the first byte asks for a deep-linking rather than a resource-link launch; bit 3
//! posts a state taken from the input (after a NUL in modes 0 and 1) instead of the issued one.
//!
//! Checked besides "never panics":
//! * an unsigned token (modes 0, 1) is always refused, with an error of steps 1 to 4
//!   (format, registration, key, signature); never a storage error;
//! * `MissingToken` only for an empty token, `TokenTooLarge` only above the policy's limit;
//! * a refusal is deterministic: the same input is refused again with the same error;
//! * an accepted launch is for the registered issuer, client and deployment, the expected
//!   message type and the issued state, and the same token posted again is refused as a
//!   replay (`NonceReplayed` or `UnknownState`), never accepted twice.

#![no_main]

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;
use time::macros::datetime;
use url::Url;

use lti_shared::adapters::store::embedded::EmbeddedStore;
use lti_shared::domain::clock::FixedClock;
use lti_shared::domain::ids::{ClientId, DeploymentId, Issuer, TargetLinkUri};
use lti_shared::domain::keys::{KeyStatus, SigningKey};
use lti_shared::domain::model::{PlatformOptions, Registration, Status};
use lti_shared::domain::oidc::Nonce;
use lti_shared::domain::platform_key::{KeyLookupError, PlatformKey};
use lti_shared::lti13::claims::MessageType;
use lti_shared::lti13::launch::{BrowserBinding, LaunchError, LaunchInput, Verifier};
use lti_shared::lti13::login::IssuedLogin;
use lti_shared::ports::{ExpiringItems, ItemKind, PlatformKeySource, PlatformRegistry};

const NOW: OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);
const ISS: &str = "https://lms.example";
const CLIENT: &str = "client-1";
const DEPLOYMENT: &str = "dep-1";
const TARGET: &str = "https://tool.example/launch";
const JWKS: &str = "https://lms.example/jwks";
const STATE: &str = "state-abcdefghijklmnopqrstuvwxyz";
const NONCE: &str = "nonce-abcdefghijklmnopqrstuvwxyz";

/// The platform's key, from memory; any other `kid` is unknown (no fetch, no network).
struct FixedKeys {
    key: Arc<PlatformKey>,
    kid: String,
}

#[async_trait]
impl PlatformKeySource for FixedKeys {
    async fn key(
        &self,
        _jwks_url: &Url,
        kid: &str,
        _now: OffsetDateTime,
    ) -> Result<Arc<PlatformKey>, KeyLookupError> {
        if kid == self.kid {
            Ok(Arc::clone(&self.key))
        } else {
            Err(KeyLookupError::UnknownKid(kid.chars().take(100).collect()))
        }
    }
}

struct Fixture {
    rt: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
    store: Arc<EmbeddedStore>,
    key: SigningKey,
    issued: String,
    verifier: Verifier,
}

impl Fixture {
    fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(EmbeddedStore::open(dir.path()).expect("store"));
        let key = SigningKey::generate(KeyStatus::Current, NOW).expect("key");
        let issued = IssuedLogin {
            issuer: Issuer::parse(ISS).expect("iss"),
            client_id: ClientId::parse(CLIENT).expect("client"),
            target_link_uri: TargetLinkUri::parse(TARGET).expect("target"),
            nonce: Nonce::parse(NONCE).expect("nonce"),
            login_hint: "hint".into(),
            message_hint: None,
            deployment_id: None,
            storage_target: None,
        };
        let issued = serde_json::to_string(&issued).expect("issued login");
        rt.block_on(async {
            store
                .add_platform(&Registration {
                    issuer: Issuer::parse(ISS).expect("iss"),
                    client_id: ClientId::parse(CLIENT).expect("client"),
                    deployment_ids: BTreeSet::from([DeploymentId::parse(DEPLOYMENT).expect("dep")]),
                    auth_url: Url::parse("https://lms.example/auth").expect("url"),
                    token_url: Url::parse("https://lms.example/token").expect("url"),
                    jwks_url: Url::parse(JWKS).expect("url"),
                    name: None,
                    status: Status::Active,
                    options: PlatformOptions::default(),
                    created_at: NOW,
                })
                .await
                .expect("registration");
        });
        let platform_key = PlatformKey::from_components(key.kid.as_str(), &key.n, &key.e)
            .expect("platform key");
        let keys = FixedKeys {
            key: Arc::new(platform_key),
            kid: key.kid.as_str().to_owned(),
        };
        let verifier = Verifier::new(
            store.clone(),
            store.clone(),
            Arc::new(keys),
            Arc::new(FixedClock::new(NOW)),
        );
        let fixture = Self {
            rt,
            _dir: dir,
            store,
            key,
            issued,
            verifier,
        };
        fixture.rearm();
        fixture
    }

    /// Puts the store back as before a launch: the nonce unused, the login state issued.
    fn rearm(&self) {
        self.rt.block_on(async {
            self.store
                .remove_item(ItemKind::Nonce, &format!("{ISS}|{NONCE}"))
                .await
                .expect("remove nonce");
            self.store
                .put_item(
                    ItemKind::LoginState,
                    STATE,
                    &self.issued,
                    NOW + time::Duration::minutes(10),
                )
                .await
                .expect("put state");
        });
    }

    fn sign(&self, payload: &[u8]) -> String {
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": self.key.kid.as_str()});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let signature = self.key.sign_rs256(input.as_bytes()).expect("sign");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    fn verify(
        &self,
        token: &str,
        state: &str,
        expected: MessageType,
    ) -> Result<lti_shared::lti13::launch::VerifiedLaunch, LaunchError> {
        let input = LaunchInput {
            id_token: token,
            state,
            binding: BrowserBinding::Cookie(Some(state)),
        };
        self.rt.block_on(self.verifier.verify(input, expected))
    }
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(Fixture::new)
}

/// Whether `error` is a refusal of steps 1 to 4 (format, registration, key, signature): the
/// only ones a token without the platform's signature can get.
fn before_signature(error: &LaunchError) -> bool {
    matches!(
        error,
        LaunchError::MissingToken
            | LaunchError::MissingState
            | LaunchError::TokenTooLarge(_)
            | LaunchError::MalformedToken(_)
            | LaunchError::UnknownIssuer(_)
            | LaunchError::AudienceMismatch
            | LaunchError::UntrustedAudience
            | LaunchError::MissingAuthorizedParty
            | LaunchError::AuthorizedPartyMismatch
            | LaunchError::PlatformDisabled
            | LaunchError::PlatformPending
            | LaunchError::MissingDeployment
            | LaunchError::UnknownDeployment(_)
            | LaunchError::UnsupportedAlgorithm(_)
            | LaunchError::MissingKeyId
            | LaunchError::Key(KeyLookupError::UnknownKid(_))
            | LaunchError::BadSignature
    )
}

fn split_nul(data: &[u8]) -> (&[u8], Option<&[u8]>) {
    match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], Some(&data[at + 1..])),
        None => (data, None),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let fixture = fixture();
    let expected = if selector & 4 == 0 {
        MessageType::ResourceLink
    } else {
        MessageType::DeepLinking
    };
    let own_state = selector & 8 != 0;
    let (token, state, signed) = match selector % 4 {
        0 | 3 => {
            let (token, state) = if own_state { split_nul(rest) } else { (rest, None) };
            let Ok(token) = std::str::from_utf8(token) else {
                return;
            };
            (token.to_owned(), state, false)
        }
        1 => {
            let mut parts = rest.splitn(4, |&b| b == 0);
            let header = parts.next().unwrap_or_default();
            let payload = parts.next().unwrap_or_default();
            let signature = parts.next().unwrap_or_default();
            let state = if own_state { parts.next() } else { None };
            let token = format!(
                "{}.{}.{}",
                URL_SAFE_NO_PAD.encode(header),
                URL_SAFE_NO_PAD.encode(payload),
                URL_SAFE_NO_PAD.encode(signature)
            );
            (token, state, false)
        }
        2 => {
            if serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(rest).is_err() {
                return;
            }
            (fixture.sign(rest), None, true)
        }
        _ => unreachable!(),
    };
    let state = match state {
        Some(state) => match std::str::from_utf8(state) {
            Ok(state) => state,
            Err(_) => return,
        },
        None => STATE,
    };

    let result = fixture.verify(&token, state, expected);
    match result {
        Err(error) => {
            assert!(!matches!(error, LaunchError::Store(_)), "{error:?}");
            if !signed {
                assert!(before_signature(&error), "unsigned token refused late: {error:?}");
            } else {
                assert!(
                    !matches!(
                        error,
                        LaunchError::BadSignature
                            | LaunchError::MissingKeyId
                            | LaunchError::UnsupportedAlgorithm(_)
                            | LaunchError::Key(_)
                    ),
                    "signed token refused at the key: {error:?}"
                );
            }
            if matches!(error, LaunchError::MissingToken) {
                assert!(token.is_empty());
            }
            if matches!(error, LaunchError::MissingState) {
                assert!(state.is_empty());
            }
            if let LaunchError::TokenTooLarge(max) = error {
                assert!(token.len() > max);
            }
            // Refusals change nothing: the same input is refused the same way.
            let again = fixture.verify(&token, state, expected);
            match again {
                Err(second) => assert_eq!(format!("{error:?}"), format!("{second:?}")),
                Ok(_) => panic!("refused, then accepted: {error:?}"),
            }
        }
        Ok(launch) => {
            assert!(signed, "an unsigned token was accepted");
            assert_eq!(launch.registration().issuer.as_str(), ISS);
            assert_eq!(launch.registration().client_id.as_str(), CLIENT);
            assert_eq!(launch.deployment_id().as_str(), DEPLOYMENT);
            assert_eq!(launch.message_type(), expected);
            assert_eq!(launch.state().as_str(), STATE);
            assert_eq!(launch.target_link_uri().as_str(), TARGET);
            let replay = fixture.verify(&token, state, expected);
            assert!(
                matches!(
                    replay,
                    Err(LaunchError::NonceReplayed | LaunchError::UnknownState)
                ),
                "replay not refused: {replay:?}"
            );
            fixture.rearm();
        }
    }
});
