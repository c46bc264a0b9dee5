//! A fake LTI 1.3 platform on loopback, for driving the tool's real HTTP endpoints the way
//! Canvas or Moodle would.
//!
//! [`FakePlatform::start`] binds `127.0.0.1:0` and serves:
//!
//! - `/jwks`: the public JWK set of its signing keys, each with a `kid` (Security Framework
//!   §6.3); its fetches are counted, and it can be made to answer 503;
//! - `/auth`: the OIDC authorization endpoint (Security Framework §5.1.1.2 and §5.1.1.3):
//!   GET or form POST in, an auto-submitting `form_post` page out;
//! - `/token`: the OAuth 2.0 token endpoint, a placeholder that answers 501 for now;
//! - `/course?launch=ID`, `/storage-frame` and `/storage-log`: a course page that frames the
//!   tool for a real browser, with the platform side of LTI Platform Storage
//!   ([`FakePlatform::prepare_browser_launch`]).
//!
//! The id_token it returns is built from a [`LaunchSpec`]: the claims of an
//! `LtiResourceLinkRequest` (LTI Core 1.3 §5) with `nonce` taken from the authorization
//! request, `iat`/`exp` from now, and `iss`, `aud`, `azp` and `deployment_id` from the
//! registration. Every part of it can be tampered with, so tests can send each "bad payload"
//! of the LTI Advantage certification guide §6.1.1 and assert the tool's refusal.
//!
//! [`FakePlatform::launch`] is a programmatic browser: it calls the tool's login initiation
//! endpoint, follows the tool's redirect to `/auth` by hand, parses the auto-submitting form and
//! posts it to the tool's redirect URI, returning every response on the way
//! ([`LaunchOutcome`]).
//!
//! # Cookies over plain HTTP
//!
//! The tool binds `state` to the browser with a cookie marked `Secure; SameSite=None;
//! Partitioned`, and this harness runs over plain HTTP on loopback. By default
//! ([`CookieMode::Header`]) [`FakePlatform::launch`] keeps no cookie jar: it copies the
//! `name=value` of every `Set-Cookie` of the tool's login response into a `Cookie` header on
//! the launch POST, as a browser over HTTPS would send it, whatever `Secure`, `Path` or
//! `Domain` say, and records it in [`LaunchOutcome::launch_cookie`]. That does not depend on
//! any cookie store's rules for `Secure` over `http://`.
//!
//! [`CookieMode::Jar`] uses reqwest's cookie store instead, which applies `Path`, `Domain` and
//! expiry. Its `cookie_store` (0.22) treats `http://127.0.0.1` and `http://localhost` as
//! secure origins, as browsers do for loopback, so it does send `Secure` cookies here (it
//! would not to any other `http://` host). [`CookieMode::Omit`] sends no cookie, to test a
//! launch whose browser lost the state cookie (e.g. a third-party iframe without
//! partitioned cookies).
//!
//! # Issuer
//!
//! The issuer is `http://127.0.0.1:PORT`, exactly the string put in `iss`. The Security
//! Framework (§5.1.2) asks for an HTTPS issuer; the tool's registry must simply store this one
//! as given.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use reqwest::header::{COOKIE, HeaderMap, LOCATION, SET_COOKIE};
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use url::Url;

/// The client id a platform registers when the test names none.
pub const DEFAULT_CLIENT_ID: &str = "lti-tests-client";

/// The deployment id a platform uses when the test names none.
pub const DEFAULT_DEPLOYMENT_ID: &str = "lti-tests-deployment";

/// Seconds from `iat` to `exp` in a default id_token.
pub const DEFAULT_TOKEN_LIFETIME: i64 = 300;

/// The largest request body the fake platform reads.
const MAX_BODY: usize = 1024 * 1024;

/// LTI claim names (LTI Core 1.3 §5; Deep Linking 2.0 §4.4), for [`LaunchSpec::set`] and
/// [`LaunchSpec::remove`].
pub mod claim {
    /// `message_type` (LTI Core 1.3 §5.3.1).
    pub const MESSAGE_TYPE: &str = "https://purl.imsglobal.org/spec/lti/claim/message_type";
    /// `version` (LTI Core 1.3 §5.3.2).
    pub const VERSION: &str = "https://purl.imsglobal.org/spec/lti/claim/version";
    /// `deployment_id` (LTI Core 1.3 §5.3.3).
    pub const DEPLOYMENT_ID: &str = "https://purl.imsglobal.org/spec/lti/claim/deployment_id";
    /// `target_link_uri` (LTI Core 1.3 §5.3.4).
    pub const TARGET_LINK_URI: &str = "https://purl.imsglobal.org/spec/lti/claim/target_link_uri";
    /// `resource_link` (LTI Core 1.3 §5.3.5).
    pub const RESOURCE_LINK: &str = "https://purl.imsglobal.org/spec/lti/claim/resource_link";
    /// `roles` (LTI Core 1.3 §5.3.7).
    pub const ROLES: &str = "https://purl.imsglobal.org/spec/lti/claim/roles";
    /// `context` (LTI Core 1.3 §5.4.1).
    pub const CONTEXT: &str = "https://purl.imsglobal.org/spec/lti/claim/context";
    /// `tool_platform` (LTI Core 1.3 §5.4.2).
    pub const TOOL_PLATFORM: &str = "https://purl.imsglobal.org/spec/lti/claim/tool_platform";
    /// `launch_presentation` (LTI Core 1.3 §5.4.4).
    pub const LAUNCH_PRESENTATION: &str =
        "https://purl.imsglobal.org/spec/lti/claim/launch_presentation";
    /// `custom` (LTI Core 1.3 §5.4.6).
    pub const CUSTOM: &str = "https://purl.imsglobal.org/spec/lti/claim/custom";
    /// `deep_linking_settings` (Deep Linking 2.0 §4.4.1).
    pub const DEEP_LINKING_SETTINGS: &str =
        "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings";
}

/// LIS role URIs (LTI Core 1.3 Appendix A.2) used by the launch presets.
pub mod role {
    /// Context role: learner.
    pub const LEARNER: &str = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner";
    /// Context role: instructor.
    pub const INSTRUCTOR: &str = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor";
    /// Institution role: student.
    pub const INSTITUTION_STUDENT: &str =
        "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student";
    /// Institution role: faculty.
    pub const INSTITUTION_FACULTY: &str =
        "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Faculty";
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/// One of the platform's RSA keys.
struct PlatformKey {
    kid: String,
    pair: aws_lc_rs::rsa::KeyPair,
    n: String,
    e: String,
    spki_der: Vec<u8>,
}

impl PlatformKey {
    fn generate() -> Self {
        use aws_lc_rs::encoding::AsDer as _;
        use aws_lc_rs::signature::KeyPair as _;
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .expect("an RSA key is generated");
        let public = pair.public_key();
        let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
        let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
        let spki_der = public
            .as_der()
            .expect("the public key encodes")
            .as_ref()
            .to_vec();
        Self {
            kid: format!("fake-platform-{}", uuid::Uuid::new_v4().simple()),
            pair,
            n,
            e,
            spki_der,
        }
    }

    fn public_jwk(&self) -> Value {
        json!({
            "kty": "RSA", "kid": self.kid, "alg": "RS256", "use": "sig", "n": self.n, "e": self.e,
        })
    }

    fn public_key_pem(&self) -> String {
        let body = STANDARD.encode(&self.spki_der);
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for line in body.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        pem
    }

    fn sign_rs256(&self, message: &[u8]) -> Vec<u8> {
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                message,
                &mut signature,
            )
            .expect("RS256 signing works");
        signature
    }
}

// ---------------------------------------------------------------------------------------------
// Token headers
// ---------------------------------------------------------------------------------------------

/// The JWS `alg` a token is signed with (RFC 7518 §3.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256, the one LTI uses (Security Framework §6.1).
    #[default]
    Rs256,
    /// HMAC SHA-256 keyed with the signing key's *public* key: by default its SPKI PEM text
    /// ([`FakePlatform::public_key_pem`]), or [`HeaderSpec::hmac_secret`]. This is the
    /// key-confusion attack on verifiers that take the algorithm from the token's header.
    Hs256,
    /// `alg: none` with an empty signature (the token ends with `.`).
    None,
}

impl Alg {
    fn name(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Hs256 => "HS256",
            Alg::None => "none",
        }
    }
}

/// What goes in the `kid` header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Kid {
    /// The `kid` of the key that signs (what an honest platform sends).
    #[default]
    SigningKey,
    /// No `kid` at all (certification guide §6.1.1, "No KID Sent in JWT header").
    Omit,
    /// This value, whatever key signs (§6.1.1, "Incorrect KID in JWT header").
    Value(String),
}

/// Which of the platform's keys signs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SigningKeyChoice {
    /// The current key.
    #[default]
    Current,
    /// A key the platform holds but never publishes in its JWK set.
    Unpublished,
    /// The platform key with this `kid` (current, older, or the unpublished one).
    Kid(String),
}

/// How to build a token's JOSE header and signature. The default is an honest RS256 header
/// with the current key's `kid`.
#[derive(Debug, Clone, Default)]
pub struct HeaderSpec {
    alg: Alg,
    kid: Kid,
    key: SigningKeyChoice,
    hmac_secret: Option<Vec<u8>>,
    fields: Vec<(String, Option<Value>)>,
}

impl HeaderSpec {
    /// RS256 with the current key and its `kid`.
    pub fn rs256() -> Self {
        Self::default()
    }

    /// HS256 keyed with the current key's public PEM (see [`Alg::Hs256`]).
    pub fn hs256_with_public_key() -> Self {
        Self::default().alg(Alg::Hs256)
    }

    /// `alg: none` with an empty signature.
    pub fn alg_none() -> Self {
        Self::default().alg(Alg::None)
    }

    /// Signs with `alg`.
    pub fn alg(mut self, alg: Alg) -> Self {
        self.alg = alg;
        self
    }

    /// Puts `kid` in the header, whatever key signs.
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Kid::Value(kid.into());
        self
    }

    /// Leaves `kid` out of the header.
    pub fn without_kid(mut self) -> Self {
        self.kid = Kid::Omit;
        self
    }

    /// Chooses what goes in `kid`.
    pub fn kid_spec(mut self, kid: Kid) -> Self {
        self.kid = kid;
        self
    }

    /// Chooses the signing key.
    pub fn signed_with(mut self, key: SigningKeyChoice) -> Self {
        self.key = key;
        self
    }

    /// Signs with a key that is not in the published JWK set (its own `kid` goes in the
    /// header unless [`HeaderSpec::kid`] says otherwise).
    pub fn signed_with_unpublished_key(self) -> Self {
        self.signed_with(SigningKeyChoice::Unpublished)
    }

    /// The HMAC secret for [`Alg::Hs256`], instead of the public key's PEM text (for
    /// instance [`FakePlatform::public_key_der`] or the JWK's JSON).
    pub fn hmac_secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.hmac_secret = Some(secret.into());
        self
    }

    /// Sets any header member (`typ`, `jku`, `x5u`, even `alg` to lie about the algorithm),
    /// after `alg`, `typ: JWT` and `kid` were filled in.
    pub fn field(mut self, name: impl Into<String>, value: Value) -> Self {
        self.fields.push((name.into(), Some(value)));
        self
    }

    /// Removes a header member (for instance `typ`).
    pub fn without_field(mut self, name: impl Into<String>) -> Self {
        self.fields.push((name.into(), None));
        self
    }
}

// ---------------------------------------------------------------------------------------------
// Launch specification
// ---------------------------------------------------------------------------------------------

/// A path to a claim: the top-level claim name (which may itself contain `/` and `.`, as LTI
/// claim URIs do), then member names inside it.
///
/// `"sub"` and `claim::ROLES` are paths of one segment; `[claim::RESOURCE_LINK, "id"]` reaches
/// into an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimPath(Vec<String>);

impl From<&str> for ClaimPath {
    fn from(name: &str) -> Self {
        Self(vec![name.to_owned()])
    }
}

impl From<String> for ClaimPath {
    fn from(name: String) -> Self {
        Self(vec![name])
    }
}

impl<const N: usize> From<[&str; N]> for ClaimPath {
    fn from(segments: [&str; N]) -> Self {
        Self(segments.iter().map(|s| (*s).to_owned()).collect())
    }
}

impl From<&[&str]> for ClaimPath {
    fn from(segments: &[&str]) -> Self {
        Self(segments.iter().map(|s| (*s).to_owned()).collect())
    }
}

impl From<Vec<String>> for ClaimPath {
    fn from(segments: Vec<String>) -> Self {
        Self(segments)
    }
}

#[derive(Debug, Clone)]
enum Edit {
    Set(ClaimPath, Value),
    Remove(ClaimPath),
}

/// How [`FakePlatform::launch`] sends the login initiation request (Security Framework
/// §5.1.1.1: "a form POST or a GET - a Tool must support either case").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LoginMethod {
    /// Parameters in the query string.
    #[default]
    Get,
    /// Parameters as an `application/x-www-form-urlencoded` body.
    Post,
}

/// How [`FakePlatform::launch`] carries the tool's cookies from the login response to the
/// launch POST (see the module docs on `Secure` cookies over plain HTTP).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CookieMode {
    /// Copy `name=value` of each `Set-Cookie` of the login response into a `Cookie` header on
    /// the launch POST, ignoring `Secure` (as a browser over HTTPS would send it).
    #[default]
    Header,
    /// Use reqwest's cookie store, which applies `Path`, `Domain` and expiry, and sends
    /// `Secure` cookies over `http://` only to loopback hosts (as browsers do).
    Jar,
    /// Send no cookie on the launch POST.
    Omit,
}

type ClaimsHook = Arc<dyn Fn(&mut Map<String, Value>) + Send + Sync>;

/// The next launch: the claims the platform puts in the id_token, how it signs it, and how
/// [`FakePlatform::launch`] starts the flow. Built from a preset ([`LaunchSpec::student`],
/// [`LaunchSpec::instructor`], [`LaunchSpec::deep_linking`]) and tampered with by the builder
/// methods.
///
/// Claims are built in this order: the template (the preset's claims and the setters such as
/// [`LaunchSpec::sub`]); then the platform's own claims (`iss`, `aud`, `azp`, `nonce`, `iat`,
/// `exp`, `nbf` when asked, `deployment_id`, `target_link_uri`); then the edits
/// ([`LaunchSpec::set`], [`LaunchSpec::remove`]) in the order given; then
/// [`LaunchSpec::map_claims`].
#[derive(Clone)]
pub struct LaunchSpec {
    template: Map<String, Value>,
    edits: Vec<Edit>,
    hook: Option<ClaimsHook>,
    client_id: Option<String>,
    deployment_id: Option<String>,
    target_link_uri: Option<String>,
    extra_audiences: Vec<String>,
    nonce: Option<String>,
    iat_offset: i64,
    exp_offset: i64,
    nbf_offset: Option<i64>,
    header: HeaderSpec,
    raw_id_token: Option<String>,
    response_state: Option<Option<String>>,
    auth_error: Option<(String, String)>,
    login_hint: Option<String>,
    lti_message_hint: Option<String>,
    login_params: Vec<(String, Option<String>)>,
    login_method: LoginMethod,
    cookie_mode: CookieMode,
}

impl fmt::Debug for LaunchSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LaunchSpec")
            .field("template", &self.template)
            .field("edits", &self.edits)
            .field("client_id", &self.client_id)
            .field("deployment_id", &self.deployment_id)
            .field("extra_audiences", &self.extra_audiences)
            .field("nonce", &self.nonce)
            .field("iat_offset", &self.iat_offset)
            .field("exp_offset", &self.exp_offset)
            .field("nbf_offset", &self.nbf_offset)
            .field("header", &self.header)
            .field("raw_id_token", &self.raw_id_token)
            .field("response_state", &self.response_state)
            .field("auth_error", &self.auth_error)
            .field("login_method", &self.login_method)
            .field("cookie_mode", &self.cookie_mode)
            .finish_non_exhaustive()
    }
}

impl Default for LaunchSpec {
    /// [`LaunchSpec::student`].
    fn default() -> Self {
        Self::student()
    }
}

impl LaunchSpec {
    fn from_template(template: Value) -> Self {
        let Value::Object(template) = template else {
            unreachable!("templates are objects")
        };
        Self {
            template,
            edits: Vec::new(),
            hook: None,
            client_id: None,
            deployment_id: None,
            target_link_uri: None,
            extra_audiences: Vec::new(),
            nonce: None,
            iat_offset: 0,
            exp_offset: DEFAULT_TOKEN_LIFETIME,
            nbf_offset: None,
            header: HeaderSpec::default(),
            raw_id_token: None,
            response_state: None,
            auth_error: None,
            login_hint: None,
            lti_message_hint: None,
            login_params: Vec::new(),
            login_method: LoginMethod::Get,
            cookie_mode: CookieMode::Header,
        }
    }

    /// A valid resource link launch (LTI Core 1.3 §5) of a learner with name and email, in a
    /// course context.
    pub fn student() -> Self {
        Self::from_template(json!({
            "sub": "fake-user-student-1",
            "name": "Stu Dent",
            "given_name": "Stu",
            "family_name": "Dent",
            "email": "student@platform.test",
            "locale": "en-US",
            claim::MESSAGE_TYPE: "LtiResourceLinkRequest",
            claim::VERSION: "1.3.0",
            claim::ROLES: [role::LEARNER, role::INSTITUTION_STUDENT],
            claim::RESOURCE_LINK: {
                "id": "fake-resource-link-1",
                "title": "Fake assignment",
                "description": "A resource link placed by the fake platform",
            },
            claim::CONTEXT: {
                "id": "fake-context-1",
                "label": "LTI 101",
                "title": "Testing LTI",
                "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"],
            },
        }))
    }

    /// [`LaunchSpec::student`] as an instructor, with another `sub`.
    pub fn instructor() -> Self {
        Self::student()
            .sub("fake-user-instructor-1")
            .template_claim("name", json!("Ina Structor"))
            .template_claim("given_name", json!("Ina"))
            .template_claim("family_name", json!("Structor"))
            .template_claim("email", json!("instructor@platform.test"))
            .roles([role::INSTRUCTOR, role::INSTITUTION_FACULTY])
    }

    /// A deep linking request (Deep Linking 2.0 §4.4) from an instructor, returning to
    /// `return_url`: no resource link, a `deep_linking_settings` claim instead.
    pub fn deep_linking(return_url: impl Into<String>) -> Self {
        let mut spec =
            Self::instructor().template_claim(claim::MESSAGE_TYPE, json!("LtiDeepLinkingRequest"));
        spec.template.remove(claim::RESOURCE_LINK);
        spec.template_claim(
            claim::DEEP_LINKING_SETTINGS,
            json!({
                "deep_link_return_url": return_url.into(),
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"],
                "accept_multiple": true,
                "data": "fake-platform-deep-link-data",
            }),
        )
    }

    fn template_claim(mut self, name: &str, value: Value) -> Self {
        self.template.insert(name.to_owned(), value);
        self
    }

    /// The user's `sub`.
    #[allow(clippy::should_implement_trait, reason = "named after the claim")]
    pub fn sub(self, sub: impl Into<String>) -> Self {
        self.template_claim("sub", Value::String(sub.into()))
    }

    /// The `roles` claim.
    pub fn roles<I, S>(self, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let roles: Vec<Value> = roles.into_iter().map(|r| Value::String(r.into())).collect();
        self.template_claim(claim::ROLES, Value::Array(roles))
    }

    /// The `message_type` claim.
    pub fn message_type(self, message_type: impl Into<String>) -> Self {
        self.template_claim(claim::MESSAGE_TYPE, Value::String(message_type.into()))
    }

    /// The resource link's `id`.
    pub fn resource_link_id(self, id: impl Into<String>) -> Self {
        self.set([claim::RESOURCE_LINK, "id"], Value::String(id.into()))
    }

    /// The `context` claim, whole.
    pub fn context(self, context: Value) -> Self {
        self.template_claim(claim::CONTEXT, context)
    }

    /// No `context` claim.
    pub fn without_context(mut self) -> Self {
        self.template.remove(claim::CONTEXT);
        self
    }

    /// No personal data: no name, email or locale, only `sub` (certification guide §6.1.2,
    /// "No PII").
    pub fn without_pii(mut self) -> Self {
        for name in [
            "name",
            "given_name",
            "family_name",
            "middle_name",
            "email",
            "locale",
            "picture",
        ] {
            self.template.remove(name);
        }
        self
    }

    /// Sets the JSON at `path`, after the platform filled in its own claims (so this can
    /// override `iss`, `aud`, `nonce`, `exp`...). Missing or non-object parents become objects.
    pub fn set(mut self, path: impl Into<ClaimPath>, value: Value) -> Self {
        self.edits.push(Edit::Set(path.into(), value));
        self
    }

    /// Removes the claim at `path` (certification guide §6.1.1, "Missing LTI Claims").
    pub fn remove(mut self, path: impl Into<ClaimPath>) -> Self {
        self.edits.push(Edit::Remove(path.into()));
        self
    }

    /// Runs `hook` on the finished claims, last.
    pub fn map_claims(
        mut self,
        hook: impl Fn(&mut Map<String, Value>) + Send + Sync + 'static,
    ) -> Self {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// Launches as this registration: the `client_id` sent at login initiation, required at
    /// `/auth` and put in `aud` and `azp` (the platform must know it, see
    /// [`PlatformBuilder::additional_client_id`]).
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// The `lti_deployment_id` sent at login initiation and the `deployment_id` claim.
    pub fn deployment_id(mut self, deployment_id: impl Into<String>) -> Self {
        self.deployment_id = Some(deployment_id.into());
        self
    }

    /// The `target_link_uri` claim for an authorization request that
    /// [`FakePlatform::launch`] did not start (it otherwise uses its own argument; the
    /// fallback is the request's `redirect_uri`).
    pub fn target_link_uri(mut self, uri: impl Into<String>) -> Self {
        self.target_link_uri = Some(uri.into());
        self
    }

    /// Makes `aud` an array: the client id, then these.
    pub fn extra_audiences<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.extra_audiences
            .extend(audiences.into_iter().map(Into::into));
        self
    }

    /// The `azp` claim (the client id by default).
    pub fn azp(self, azp: impl Into<String>) -> Self {
        self.set("azp", Value::String(azp.into()))
    }

    /// Puts this `nonce` in the id_token instead of the one the tool sent.
    pub fn nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// `iat` = now + `seconds` (0 by default).
    pub fn iat_offset(mut self, seconds: i64) -> Self {
        self.iat_offset = seconds;
        self
    }

    /// `exp` = now + `seconds` ([`DEFAULT_TOKEN_LIFETIME`] by default; negative for an expired
    /// token).
    pub fn exp_offset(mut self, seconds: i64) -> Self {
        self.exp_offset = seconds;
        self
    }

    /// Adds `nbf` = now + `seconds` (absent by default).
    pub fn nbf_offset(mut self, seconds: i64) -> Self {
        self.nbf_offset = Some(seconds);
        self
    }

    /// How the id_token is signed.
    pub fn header(mut self, header: HeaderSpec) -> Self {
        self.header = header;
        self
    }

    /// Signs with `alg` (see [`Alg`]).
    pub fn alg(mut self, alg: Alg) -> Self {
        self.header = self.header.alg(alg);
        self
    }

    /// Puts `kid` in the header, whatever key signs.
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.header = self.header.kid(kid);
        self
    }

    /// Leaves `kid` out of the header.
    pub fn without_kid(mut self) -> Self {
        self.header = self.header.without_kid();
        self
    }

    /// Signs with a key that is not published.
    pub fn signed_with_unpublished_key(mut self) -> Self {
        self.header = self.header.signed_with_unpublished_key();
        self
    }

    /// Chooses the signing key.
    pub fn signed_with(mut self, key: SigningKeyChoice) -> Self {
        self.header = self.header.signed_with(key);
        self
    }

    /// Answers the authorization request with this string as `id_token` instead of a built
    /// token (certification guide §6.1.1, "Invalid LTI message").
    pub fn raw_id_token(mut self, token: impl Into<String>) -> Self {
        self.raw_id_token = Some(token.into());
        self
    }

    /// Answers the authorization request with this `state` instead of the tool's.
    pub fn response_state(mut self, state: impl Into<String>) -> Self {
        self.response_state = Some(Some(state.into()));
        self
    }

    /// Answers the authorization request without `state`.
    pub fn without_response_state(mut self) -> Self {
        self.response_state = Some(None);
        self
    }

    /// Answers the authorization request with an OIDC error response (OpenID Connect Core
    /// §3.1.2.6), e.g. `login_required`, posted to the tool's `redirect_uri`.
    pub fn auth_error(mut self, error: impl Into<String>, description: impl Into<String>) -> Self {
        self.auth_error = Some((error.into(), description.into()));
        self
    }

    /// The `login_hint` sent at login initiation (random by default). `/auth` refuses a request
    /// whose `login_hint` differs, as the "current user" check of Security Framework §5.1.1.3.
    pub fn login_hint(mut self, hint: impl Into<String>) -> Self {
        self.login_hint = Some(hint.into());
        self
    }

    /// The `lti_message_hint` sent at login initiation (random by default). The platform finds
    /// the launch by it at `/auth`, so a tool that does not pass it back unaltered (LTI Core 1.3
    /// §4.1.1) gets an `invalid_request` error response (or, if the test set one, the
    /// template of [`FakePlatform::set_launch_template`]).
    pub fn lti_message_hint(mut self, hint: impl Into<String>) -> Self {
        self.lti_message_hint = Some(hint.into());
        self
    }

    /// Adds or replaces a login initiation parameter (`iss`, `target_link_uri`...).
    pub fn login_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.login_params.push((name.into(), Some(value.into())));
        self
    }

    /// Leaves a login initiation parameter out (e.g. `lti_deployment_id`, `client_id`).
    pub fn without_login_param(mut self, name: impl Into<String>) -> Self {
        self.login_params.push((name.into(), None));
        self
    }

    /// GET (default) or POST the login initiation.
    pub fn login_method(mut self, method: LoginMethod) -> Self {
        self.login_method = method;
        self
    }

    /// How cookies reach the launch POST ([`CookieMode::Header`] by default).
    pub fn cookie_mode(mut self, mode: CookieMode) -> Self {
        self.cookie_mode = mode;
        self
    }
}

fn set_path(claims: &mut Map<String, Value>, path: &ClaimPath, value: Value) {
    let Some((last, parents)) = path.0.split_last() else {
        return;
    };
    let mut object = claims;
    for segment in parents {
        let entry = object
            .entry(segment.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        object = entry.as_object_mut().expect("made an object above");
    }
    object.insert(last.clone(), value);
}

fn remove_path(claims: &mut Map<String, Value>, path: &ClaimPath) {
    let Some((last, parents)) = path.0.split_last() else {
        return;
    };
    let mut object = claims;
    for segment in parents {
        match object.get_mut(segment).and_then(Value::as_object_mut) {
            Some(inner) => object = inner,
            None => return,
        }
    }
    object.remove(last);
}

// ---------------------------------------------------------------------------------------------
// Responses and outcomes
// ---------------------------------------------------------------------------------------------

/// An HTTP response as the harness saw it.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status code.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, as text (lossy UTF-8).
    pub body: String,
}

impl HttpResponse {
    async fn read(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("the response body is read");
        Self {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// The first value of header `name`, if it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Location` header.
    pub fn location(&self) -> Option<&str> {
        self.header(LOCATION.as_str())
    }

    /// Every `Set-Cookie` header, whole.
    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }

    /// The body as JSON (panics if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }
}

/// Everything [`FakePlatform::launch`] sent and received. The flow stops at the first step
/// that does not go on (the tool refused the login, did not redirect to `/auth`, the platform
/// answered without a form), leaving the later fields `None`.
#[derive(Debug, Clone)]
pub struct LaunchOutcome {
    /// The login initiation parameters sent to the tool.
    pub login_params: Vec<(String, String)>,
    /// The tool's answer to the login initiation (a 302 to `/auth`, normally).
    pub login_response: HttpResponse,
    /// The parameters of the authentication request the tool sent the browser to `/auth` with.
    pub auth_request_params: Option<HashMap<String, String>>,
    /// The platform's answer at `/auth` (an auto-submitting form page).
    pub auth_response: Option<HttpResponse>,
    /// The `id_token` of the platform's form.
    pub id_token: Option<String>,
    /// The `state` of the platform's form.
    pub state: Option<String>,
    /// The `Cookie` header sent with the launch POST ([`CookieMode::Header`]).
    pub launch_cookie: Option<String>,
    /// The tool's answer to the launch POST of the form to its `redirect_uri`.
    pub launch_response: Option<HttpResponse>,
}

impl LaunchOutcome {
    /// The launch response; panics, saying where the flow stopped, if there is none.
    pub fn expect_launch(&self) -> &HttpResponse {
        self.launch_response.as_ref().unwrap_or_else(|| {
            panic!("the launch never reached the tool's redirect_uri: {self:#?}")
        })
    }

    /// The id_token; panics if the platform sent none.
    pub fn expect_id_token(&self) -> &str {
        self.id_token
            .as_deref()
            .unwrap_or_else(|| panic!("the platform sent no id_token: {self:#?}"))
    }

    /// The id_token's claims, decoded without verification.
    pub fn claims(&self) -> Value {
        decode_unverified(self.expect_id_token()).1
    }
}

/// The claims of a compact JWS, decoded without verification; `None` if it is not one.
fn decode_jwt_claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// Decodes a compact JWS's header and claims **without verifying** it (for assertions on
/// what the platform sent). Panics if `token` is not three base64url JSON parts.
pub fn decode_unverified(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut part = || {
        let text = parts.next().expect("a JWS has three parts");
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .expect("JWS parts are base64url");
        serde_json::from_slice::<Value>(&bytes).expect("JWS header and claims are JSON")
    };
    let header = part();
    let claims = part();
    (header, claims)
}

/// Parses an auto-submitting form page: the first `<form>`'s `action` (empty if it has none)
/// and the `name`/`value` of its named `<input>`s, in document order.
pub fn auto_submit_form(html: &str) -> Option<(String, Vec<(String, String)>)> {
    let document = scraper::Html::parse_document(html);
    let form_selector = scraper::Selector::parse("form").expect("a valid selector");
    let input_selector = scraper::Selector::parse("input[name]").expect("a valid selector");
    let form = document.select(&form_selector).next()?;
    let action = form.value().attr("action").unwrap_or_default().to_owned();
    let fields = form
        .select(&input_selector)
        .filter_map(|input| {
            let name = input.value().attr("name")?;
            let value = input.value().attr("value").unwrap_or_default();
            Some((name.to_owned(), value.to_owned()))
        })
        .collect();
    Some((action, fields))
}

/// POSTs `fields` as a form to `url`, with `cookie` as the `Cookie` header, without following
/// redirects: for sending hand-made id_tokens ([`FakePlatform::sign`]) straight to the tool's
/// launch endpoint.
pub async fn post_form(url: &str, fields: &[(&str, &str)], cookie: Option<&str>) -> HttpResponse {
    let mut request = client(CookieMode::Header).post(url).form(fields);
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    HttpResponse::read(
        request
            .send()
            .await
            .expect("the form POST reaches the server"),
    )
    .await
}

/// The `Cookie` header a browser would send after these `Set-Cookie` headers (ignoring
/// `Secure`, `Path` and `Domain`; dropping cookies deleted with `Max-Age=0`).
pub fn cookie_header<'a>(set_cookies: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut cookies: Vec<(String, String)> = Vec::new();
    for line in set_cookies {
        let mut attributes = line.split(';');
        let Some((name, value)) = attributes.next().and_then(|pair| pair.split_once('=')) else {
            continue;
        };
        let (name, value) = (name.trim().to_owned(), value.trim().to_owned());
        cookies.retain(|(n, _)| *n != name);
        let deleted = attributes.any(|a| {
            let a = a.trim().to_ascii_lowercase();
            a == "max-age=0" || a.starts_with("max-age=-")
        });
        if !deleted {
            cookies.push((name, value));
        }
    }
    (!cookies.is_empty()).then(|| {
        cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

fn client(mode: CookieMode) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(mode == CookieMode::Jar)
        .build()
        .expect("an HTTP client builds")
}

// ---------------------------------------------------------------------------------------------
// The platform
// ---------------------------------------------------------------------------------------------

/// A launch the platform started, found again at `/auth` by its `lti_message_hint`.
#[derive(Debug, Clone)]
struct Pending {
    spec: LaunchSpec,
    target_link_uri: String,
    login_hint: String,
    client_id: String,
}

/// Where `/auth` takes the launch from.
enum Source {
    /// One [`FakePlatform::launch`] started, found by its `lti_message_hint`.
    Launch(Pending),
    /// [`FakePlatform::set_launch_template`].
    Template(LaunchSpec),
    /// Neither: the request's `lti_message_hint` is missing or not one the platform sent.
    Unknown,
}

struct State {
    /// Every key that ever signed, oldest first, with whether it is published.
    keys: Vec<(Arc<PlatformKey>, bool)>,
    unpublished: Option<Arc<PlatformKey>>,
    client_ids: Vec<String>,
    redirect_uris: Vec<String>,
    template: Option<LaunchSpec>,
    pending: HashMap<String, Pending>,
    last_auth_request: Option<HashMap<String, String>>,
    jwks_max_age: Option<u64>,
    browser: BrowserState,
    /// Every `JWT` posted to `/deep-link-return`, oldest first.
    deep_link_responses: Vec<String>,
}

struct Inner {
    issuer: String,
    client_id: String,
    deployment_id: String,
    state: Mutex<State>,
    jwks_fetches: AtomicUsize,
    jwks_down: AtomicBool,
    auth_requests: AtomicUsize,
}

/// Options for [`FakePlatform`]; from [`FakePlatform::builder`].
#[derive(Debug, Clone)]
pub struct PlatformBuilder {
    client_id: String,
    additional_client_ids: Vec<String>,
    deployment_id: String,
    redirect_uris: Vec<String>,
}

impl Default for PlatformBuilder {
    fn default() -> Self {
        Self {
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            additional_client_ids: Vec::new(),
            deployment_id: DEFAULT_DEPLOYMENT_ID.to_owned(),
            redirect_uris: Vec::new(),
        }
    }
}

impl PlatformBuilder {
    /// The tool's client id on this platform ([`DEFAULT_CLIENT_ID`] if unset).
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = client_id.into();
        self
    }

    /// Another client id `/auth` accepts (a second registration of the tool on the same
    /// issuer, LTI Core 1.3 §4.1.3); launch as it with [`LaunchSpec::client_id`].
    pub fn additional_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.additional_client_ids.push(client_id.into());
        self
    }

    /// The deployment id of launches ([`DEFAULT_DEPLOYMENT_ID`] if unset).
    pub fn deployment_id(mut self, deployment_id: impl Into<String>) -> Self {
        self.deployment_id = deployment_id.into();
        self
    }

    /// A redirect URI registered for the tool (any number; also
    /// [`FakePlatform::add_redirect_uri`] once the tool's address is known). `/auth` refuses
    /// any other, so with none registered every authorization request is refused.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uris.push(uri.into());
        self
    }

    /// Binds `127.0.0.1:0`, generates the first signing key and serves.
    pub async fn start(self) -> FakePlatform {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("loopback port binds");
        let addr = listener.local_addr().expect("a bound address");
        let mut client_ids = vec![self.client_id.clone()];
        client_ids.extend(self.additional_client_ids);
        let inner = Arc::new(Inner {
            issuer: format!("http://{addr}"),
            client_id: self.client_id,
            deployment_id: self.deployment_id,
            state: Mutex::new(State {
                keys: vec![(Arc::new(PlatformKey::generate()), true)],
                unpublished: None,
                client_ids,
                redirect_uris: self.redirect_uris,
                template: None,
                pending: HashMap::new(),
                last_auth_request: None,
                jwks_max_age: None,
                browser: BrowserState::default(),
                deep_link_responses: Vec::new(),
            }),
            jwks_fetches: AtomicUsize::new(0),
            jwks_down: AtomicBool::new(false),
            auth_requests: AtomicUsize::new(0),
        });
        let server = tokio::spawn(serve(listener, Arc::clone(&inner)));
        FakePlatform {
            inner,
            addr,
            server,
        }
    }
}

/// The fake platform. Dropping it stops its server.
pub struct FakePlatform {
    inner: Arc<Inner>,
    addr: SocketAddr,
    server: JoinHandle<()>,
}

impl fmt::Debug for FakePlatform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakePlatform")
            .field("issuer", &self.inner.issuer)
            .field("client_id", &self.inner.client_id)
            .field("deployment_id", &self.inner.deployment_id)
            .finish_non_exhaustive()
    }
}

impl Drop for FakePlatform {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakePlatform {
    /// Starts a platform with the default client id and deployment id and no redirect URI yet.
    pub async fn start() -> FakePlatform {
        Self::builder().start().await
    }

    /// Options before starting.
    pub fn builder() -> PlatformBuilder {
        PlatformBuilder::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.lock()
    }

    /// The socket address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: the `iss` of its tokens, and the `iss` sent at login.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The tool's client id on this platform.
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// The deployment id of its launches.
    pub fn deployment_id(&self) -> &str {
        &self.inner.deployment_id
    }

    /// The OIDC authorization endpoint, `ISSUER/auth`.
    pub fn auth_url(&self) -> String {
        format!("{}/auth", self.inner.issuer)
    }

    /// The OAuth 2.0 token endpoint, `ISSUER/token` (501 for now).
    pub fn token_url(&self) -> String {
        format!("{}/token", self.inner.issuer)
    }

    /// The JWK set URL, `ISSUER/jwks`.
    pub fn jwks_url(&self) -> String {
        format!("{}/jwks", self.inner.issuer)
    }

    /// Registers another redirect URI for the tool.
    pub fn add_redirect_uri(&self, uri: impl Into<String>) {
        self.state().redirect_uris.push(uri.into());
    }

    /// Makes `/auth` accept another client id.
    pub fn add_client_id(&self, client_id: impl Into<String>) {
        self.state().client_ids.push(client_id.into());
    }

    // --- keys ---------------------------------------------------------------------------

    /// The `kid` of the key that signs now.
    pub fn current_kid(&self) -> String {
        self.inner.current_key().kid.clone()
    }

    /// The `kid`s in the published JWK set, current first.
    pub fn published_kids(&self) -> Vec<String> {
        let state = self.state();
        state
            .keys
            .iter()
            .rev()
            .filter(|(_, published)| *published)
            .map(|(key, _)| key.kid.clone())
            .collect()
    }

    /// The JWK set `/jwks` serves (even while it is down).
    pub fn jwks(&self) -> Value {
        self.inner.jwks()
    }

    /// Generates a new current key with a new `kid` and returns that `kid`. The old keys stay
    /// published (Security Framework §6.4 recommends the overlap) until
    /// [`FakePlatform::unpublish_old_keys`].
    pub fn rotate_key(&self) -> String {
        let key = Arc::new(PlatformKey::generate());
        let kid = key.kid.clone();
        self.state().keys.push((key, true));
        kid
    }

    /// Removes every key but the current one from the JWK set (they can still sign, with
    /// [`SigningKeyChoice::Kid`]).
    pub fn unpublish_old_keys(&self) {
        let mut state = self.state();
        let last = state.keys.len() - 1;
        for (i, (_, published)) in state.keys.iter_mut().enumerate() {
            *published = i == last;
        }
    }

    /// The `kid` of the key that is never published ([`SigningKeyChoice::Unpublished`]).
    pub fn unpublished_kid(&self) -> String {
        self.inner.unpublished_key().kid.clone()
    }

    /// The current key's public key as SPKI PEM text, the default HS256 secret of
    /// [`Alg::Hs256`].
    pub fn public_key_pem(&self) -> String {
        self.inner.current_key().public_key_pem()
    }

    /// The current key's public key as SPKI DER.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.inner.current_key().spki_der.clone()
    }

    /// How many requests `/jwks` has had (including those answered 503 while down).
    pub fn jwks_fetch_count(&self) -> usize {
        self.inner.jwks_fetches.load(Ordering::SeqCst)
    }

    /// While `down`, `/jwks` answers 503.
    pub fn set_jwks_down(&self, down: bool) {
        self.inner.jwks_down.store(down, Ordering::SeqCst);
    }

    /// Sends `Cache-Control: max-age=SECONDS` with the JWK set (none by default; Security
    /// Framework §6.3).
    pub fn set_jwks_max_age(&self, seconds: Option<u64>) {
        self.state().jwks_max_age = seconds;
    }

    // --- tokens -------------------------------------------------------------------------

    /// Signs `claims` as a compact JWS, the way `header` says: for hand-made tokens posted
    /// straight to the tool's launch endpoint.
    pub fn sign(&self, claims: Value, header: HeaderSpec) -> String {
        self.inner.sign(&claims, &header)
    }

    /// The claims the platform would put in an id_token for `spec`, with this nonce and
    /// target link URI.
    pub fn launch_claims(&self, spec: &LaunchSpec, nonce: &str, target_link_uri: &str) -> Value {
        let client_id = spec.client_id.as_deref().unwrap_or(&self.inner.client_id);
        Value::Object(self.inner.claims(spec, client_id, nonce, target_link_uri))
    }

    /// The id_token the platform would send for `spec` (its claims, header and
    /// [`LaunchSpec::raw_id_token`]).
    pub fn id_token(&self, spec: &LaunchSpec, nonce: &str, target_link_uri: &str) -> String {
        if let Some(raw) = &spec.raw_id_token {
            return raw.clone();
        }
        let claims = self.launch_claims(spec, nonce, target_link_uri);
        self.inner.sign(&claims, &spec.header)
    }

    // --- authorization endpoint ---------------------------------------------------------

    /// The launch `/auth` answers with when the request's `lti_message_hint` is missing or not
    /// one of [`FakePlatform::launch`]'s (the test called `/auth` itself). Without a template
    /// such a request is refused with `invalid_request`, as real platforms refuse a tool that
    /// does not pass `lti_message_hint` back (LTI Core 1.3 §4.1.1).
    pub fn set_launch_template(&self, spec: LaunchSpec) {
        self.state().template = Some(spec);
    }

    /// The parameters of the last request to `/auth`, whatever its outcome.
    pub fn last_auth_request(&self) -> Option<HashMap<String, String>> {
        self.state().last_auth_request.clone()
    }

    /// How many requests `/auth` has had.
    pub fn auth_request_count(&self) -> usize {
        self.inner.auth_requests.load(Ordering::SeqCst)
    }

    // --- the programmatic browser -------------------------------------------------------

    /// Runs a whole launch against the tool, as a browser would, without following any
    /// redirect by itself:
    ///
    /// 1. GET (or POST, [`LaunchSpec::login_method`]) `tool_login_url` with `iss`,
    ///    `login_hint`, `target_link_uri`, `client_id`, `lti_deployment_id` and
    ///    `lti_message_hint` (Security Framework §5.1.1.1, LTI Core 1.3 §4.1);
    /// 2. if the tool answers with a redirect to this platform's `/auth` (or an
    ///    auto-submitting form to it), make that authentication request;
    /// 3. parse the platform's auto-submitting form (`id_token`, `state`) and POST it to its
    ///    action, the tool's `redirect_uri`, with the tool's cookies ([`CookieMode`]).
    ///
    /// Panics only if a server cannot be reached; a refusal at any step ends the flow there.
    pub async fn launch(
        &self,
        tool_login_url: &str,
        target_link_uri: &str,
        launch: LaunchSpec,
    ) -> LaunchOutcome {
        let (params, mode, method) = self.register_login(target_link_uri, launch);

        let http = client(mode);
        let request = match method {
            LoginMethod::Get => {
                let mut url = Url::parse(tool_login_url).expect("the tool's login URL parses");
                url.query_pairs_mut().extend_pairs(&params);
                http.get(url)
            }
            LoginMethod::Post => http.post(tool_login_url).form(&params),
        };
        let login_response =
            HttpResponse::read(request.send().await.expect("the tool's login URL answers")).await;
        let mut outcome = LaunchOutcome {
            login_params: params,
            login_response,
            auth_request_params: None,
            auth_response: None,
            id_token: None,
            state: None,
            launch_cookie: None,
            launch_response: None,
        };

        // Step 2: the authentication request, as the tool sent the browser.
        let base = Url::parse(tool_login_url).expect("the tool's login URL parses");
        let auth_response = if let Some(url) = self.redirect_to_auth(&outcome.login_response, &base)
        {
            outcome.auth_request_params = Some(url.query_pairs().into_owned().collect());
            http.get(url).send().await
        } else if let Some(fields) = self.form_to_auth(&outcome.login_response, &base) {
            outcome.auth_request_params = Some(fields.iter().cloned().collect());
            http.post(self.auth_url()).form(&fields).send().await
        } else {
            return outcome;
        };
        let auth_response =
            HttpResponse::read(auth_response.expect("the platform answers at /auth")).await;

        // Step 3: the platform's form_post back to the tool.
        let form = (auth_response.status == StatusCode::OK)
            .then(|| auto_submit_form(&auth_response.body))
            .flatten();
        outcome.auth_response = Some(auth_response);
        let Some((action, fields)) = form else {
            return outcome;
        };
        let field = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        outcome.id_token = field("id_token");
        outcome.state = field("state");
        let action = Url::parse(&self.auth_url())
            .and_then(|auth| auth.join(&action))
            .expect("the form's action is a URL");
        let mut request = http.post(action).form(&fields);
        if mode == CookieMode::Header {
            outcome.launch_cookie = cookie_header(outcome.login_response.set_cookies());
            if let Some(cookie) = &outcome.launch_cookie {
                request = request.header(COOKIE, cookie);
            }
        }
        outcome.launch_response = Some(
            HttpResponse::read(
                request
                    .send()
                    .await
                    .expect("the tool's redirect_uri answers"),
            )
            .await,
        );
        outcome
    }

    fn is_auth_url(&self, url: &Url) -> bool {
        let mut bare = url.clone();
        bare.set_query(None);
        bare.set_fragment(None);
        bare.as_str() == self.auth_url()
    }

    /// The tool's redirect to `/auth`, if that is what `response` is.
    fn redirect_to_auth(&self, response: &HttpResponse, base: &Url) -> Option<Url> {
        if !response.status.is_redirection() {
            return None;
        }
        let url = base.join(response.location()?).ok()?;
        self.is_auth_url(&url).then_some(url)
    }

    /// The fields of the tool's auto-submitting form to `/auth`, if that is what `response` is.
    fn form_to_auth(&self, response: &HttpResponse, base: &Url) -> Option<Vec<(String, String)>> {
        if response.status != StatusCode::OK {
            return None;
        }
        let (action, fields) = auto_submit_form(&response.body)?;
        let url = base.join(&action).ok()?;
        self.is_auth_url(&url).then_some(fields)
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn current_key(&self) -> Arc<PlatformKey> {
        let state = self.lock();
        Arc::clone(&state.keys.last().expect("there is always a key").0)
    }

    fn unpublished_key(&self) -> Arc<PlatformKey> {
        let mut state = self.lock();
        Arc::clone(
            state
                .unpublished
                .get_or_insert_with(|| Arc::new(PlatformKey::generate())),
        )
    }

    fn key(&self, choice: &SigningKeyChoice) -> Arc<PlatformKey> {
        match choice {
            SigningKeyChoice::Current => self.current_key(),
            SigningKeyChoice::Unpublished => self.unpublished_key(),
            SigningKeyChoice::Kid(kid) => {
                let state = self.lock();
                state
                    .keys
                    .iter()
                    .map(|(key, _)| key)
                    .chain(state.unpublished.iter())
                    .find(|key| &key.kid == kid)
                    .map(Arc::clone)
                    .unwrap_or_else(|| panic!("the platform has no key with kid {kid}"))
            }
        }
    }

    fn jwks(&self) -> Value {
        let state = self.lock();
        let keys: Vec<Value> = state
            .keys
            .iter()
            .rev()
            .filter(|(_, published)| *published)
            .map(|(key, _)| key.public_jwk())
            .collect();
        json!({ "keys": keys })
    }

    fn sign(&self, claims: &Value, spec: &HeaderSpec) -> String {
        let key = self.key(&spec.key);
        let mut header = Map::new();
        header.insert("alg".into(), json!(spec.alg.name()));
        header.insert("typ".into(), json!("JWT"));
        match &spec.kid {
            Kid::SigningKey => {
                header.insert("kid".into(), json!(key.kid));
            }
            Kid::Omit => {}
            Kid::Value(kid) => {
                header.insert("kid".into(), json!(kid));
            }
        }
        for (name, value) in &spec.fields {
            match value {
                Some(value) => header.insert(name.clone(), value.clone()),
                None => header.remove(name),
            };
        }
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(Value::Object(header).to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = match spec.alg {
            Alg::Rs256 => key.sign_rs256(input.as_bytes()),
            Alg::Hs256 => {
                let secret = spec
                    .hmac_secret
                    .clone()
                    .unwrap_or_else(|| key.public_key_pem().into_bytes());
                let hmac = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret);
                aws_lc_rs::hmac::sign(&hmac, input.as_bytes())
                    .as_ref()
                    .to_vec()
            }
            Alg::None => Vec::new(),
        };
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    fn claims(
        &self,
        spec: &LaunchSpec,
        client_id: &str,
        nonce: &str,
        target_link_uri: &str,
    ) -> Map<String, Value> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut claims = spec.template.clone();
        let aud = if spec.extra_audiences.is_empty() {
            json!(client_id)
        } else {
            let mut all = vec![client_id.to_owned()];
            all.extend(spec.extra_audiences.iter().cloned());
            json!(all)
        };
        let deployment_id = spec.deployment_id.as_deref().unwrap_or(&self.deployment_id);
        for (name, value) in [
            ("iss", json!(self.issuer)),
            ("aud", aud),
            ("azp", json!(client_id)),
            ("nonce", json!(spec.nonce.as_deref().unwrap_or(nonce))),
            ("iat", json!(now + spec.iat_offset)),
            ("exp", json!(now + spec.exp_offset)),
            (claim::DEPLOYMENT_ID, json!(deployment_id)),
            (claim::TARGET_LINK_URI, json!(target_link_uri)),
        ] {
            claims.insert(name.to_owned(), value);
        }
        if let Some(offset) = spec.nbf_offset {
            claims.insert("nbf".to_owned(), json!(now + offset));
        }
        for edit in &spec.edits {
            match edit {
                Edit::Set(path, value) => set_path(&mut claims, path, value.clone()),
                Edit::Remove(path) => remove_path(&mut claims, path),
            }
        }
        if let Some(hook) = &spec.hook {
            hook(&mut claims);
        }
        claims
    }

    /// `/auth`: the platform side of Security Framework §5.1.1.2 and §5.1.1.3.
    fn authorize(&self, params: HashMap<String, String>) -> Response<Full<Bytes>> {
        self.auth_requests.fetch_add(1, Ordering::SeqCst);
        let (known_client, known_redirect, found) = {
            let mut state = self.lock();
            state.last_auth_request = Some(params.clone());
            let param = |name: &str| params.get(name).map(String::as_str);
            let known_client = param("client_id")
                .is_some_and(|id| state.client_ids.iter().any(|known| known == id));
            let known_redirect = param("redirect_uri")
                .is_some_and(|uri| state.redirect_uris.iter().any(|known| known == uri));
            let found = match param("lti_message_hint").and_then(|h| state.pending.get(h)) {
                Some(pending) => Source::Launch(pending.clone()),
                None => state
                    .template
                    .clone()
                    .map_or(Source::Unknown, Source::Template),
            };
            (known_client, known_redirect, found)
        };
        let param = |name: &str| params.get(name).map(String::as_str);
        // OpenID Connect Core §3.1.2.6: without a valid client and redirect URI, say so to the
        // user and never redirect.
        if !known_client {
            return plain(
                StatusCode::BAD_REQUEST,
                "invalid_client: client_id is not registered with this platform",
            );
        }
        let Some(redirect_uri) = param("redirect_uri").filter(|_| known_redirect) else {
            return plain(
                StatusCode::BAD_REQUEST,
                "invalid_request: redirect_uri is not registered for this client",
            );
        };
        let client_id = param("client_id").unwrap_or_default();
        let state = param("state");
        let error = |error: &str, description: &str| {
            let mut fields = vec![("error", error), ("error_description", description)];
            fields.extend(state.map(|s| ("state", s)));
            html(auto_submit_page(redirect_uri, &fields))
        };

        if !param("scope").is_some_and(|s| s.split(' ').any(|s| s == "openid")) {
            return error("invalid_scope", "scope must include openid");
        }
        if param("response_type") != Some("id_token") {
            return error(
                "unsupported_response_type",
                "response_type must be id_token",
            );
        }
        if param("response_mode") != Some("form_post") {
            return error("invalid_request", "response_mode must be form_post");
        }
        if param("prompt") != Some("none") {
            return error("invalid_request", "prompt must be none");
        }
        let Some(nonce) = param("nonce").filter(|n| !n.is_empty()) else {
            return error("invalid_request", "nonce is required");
        };
        let Some(sent_hint) = param("login_hint") else {
            return error("invalid_request", "login_hint is required");
        };
        let (spec, target_link_uri, login_hint) = match &found {
            Source::Launch(pending) => (
                &pending.spec,
                pending.target_link_uri.as_str(),
                Some(pending.login_hint.as_str()),
            ),
            Source::Template(template) => (
                template,
                template.target_link_uri.as_deref().unwrap_or(redirect_uri),
                None,
            ),
            // LTI Core 1.3 §4.1.1: the tool must pass lti_message_hint back unaltered.
            Source::Unknown => {
                return error(
                    "invalid_request",
                    "lti_message_hint is missing or not one this platform sent",
                );
            }
        };
        if let Some((code, description)) = &spec.auth_error {
            return error(code, description);
        }
        if login_hint.is_some_and(|expected| expected != sent_hint) {
            return error(
                "login_required",
                "login_hint is not the user who started this launch",
            );
        }
        if let Source::Launch(pending) = &found
            && pending.client_id != client_id
        {
            return error(
                "invalid_request",
                "client_id is not the one the launch was initiated with",
            );
        }

        let id_token = match &spec.raw_id_token {
            Some(raw) => raw.clone(),
            None => {
                let claims = self.claims(spec, client_id, nonce, target_link_uri);
                self.sign(&Value::Object(claims), &spec.header)
            }
        };
        let state = match &spec.response_state {
            Some(state) => state.as_deref(),
            None => state,
        };
        let mut fields = vec![("id_token", id_token.as_str())];
        fields.extend(state.map(|s| ("state", s)));
        html(auto_submit_page(redirect_uri, &fields))
    }

    fn jwks_response(&self) -> Response<Full<Bytes>> {
        self.jwks_fetches.fetch_add(1, Ordering::SeqCst);
        if self.jwks_down.load(Ordering::SeqCst) {
            return json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                &json!({"error": "temporarily_unavailable"}),
            );
        }
        let max_age = self.lock().jwks_max_age;
        let mut response = json_response(StatusCode::OK, &self.jwks());
        if let Some(seconds) = max_age {
            response.headers_mut().insert(
                hyper::header::CACHE_CONTROL,
                format!("max-age={seconds}")
                    .parse()
                    .expect("a header value"),
            );
        }
        response
    }
}

// ---------------------------------------------------------------------------------------------
// Browser launches: a course page and LTI Platform Storage
// ---------------------------------------------------------------------------------------------

/// The name of the course page's Platform Storage frame: the `lti_storage_target` that
/// [`LaunchSpec::offer_platform_storage`] sends (the name Canvas uses).
pub const STORAGE_TARGET: &str = "post_message_forwarding";

/// How a course page starts the tool's login in its iframe.
#[derive(Debug, Clone)]
struct Course {
    tool_login_url: String,
    params: Vec<(String, String)>,
    method: LoginMethod,
}

/// What the platform keeps for launches in a real browser.
#[derive(Debug, Default)]
struct BrowserState {
    courses: HashMap<String, Course>,
    storage_log: Vec<StorageMessage>,
}

/// One LTI Platform Storage request that the course page's storage frame answered, as the
/// frame reported it to the platform (`POST /storage-log`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageMessage {
    /// `lti.put_data`, `lti.get_data` or `lti.capabilities`.
    pub subject: String,
    /// The origin of the window that sent it (the tool's), as the browser reported it in
    /// `event.origin`.
    pub origin: String,
    /// The key it named (empty if none).
    pub key: String,
    /// Whether the answer carried the value (`false`: an `error` answer, e.g. `lti.get_data`
    /// of a key never stored for this origin).
    pub answered: bool,
}

impl LaunchSpec {
    /// Offers LTI Platform Storage at login initiation: `lti_storage_target` =
    /// [`STORAGE_TARGET`], the course page's storage frame. Only a launch from the course
    /// page ([`FakePlatform::prepare_browser_launch`]) has that frame.
    pub fn offer_platform_storage(self) -> Self {
        self.login_param("lti_storage_target", STORAGE_TARGET)
    }
}

impl FakePlatform {
    /// Prepares a launch for a real browser and returns the URL of the course page that makes
    /// it: `ISSUER/course?launch=ID`, at the platform's own origin.
    ///
    /// The page holds:
    ///
    /// - a hidden `<iframe name="post_message_forwarding">` of `/storage-frame`, the platform
    ///   side of LTI Platform Storage: it answers `lti.put_data`, `lti.get_data` and
    ///   `lti.capabilities` messages by `postMessage` to `event.source` with targetOrigin
    ///   `event.origin`, keeps values per sending origin in memory (not in `sessionStorage`,
    ///   which a profile that blocks cookies also blocks), and reports each request to
    ///   `POST /storage-log` ([`FakePlatform::storage_messages`]);
    /// - `<iframe id="tool" name="tool">`, loaded once the storage frame has loaded with the
    ///   tool's login initiation: `tool_login_url` with `iss`, `login_hint`,
    ///   `target_link_uri`, `client_id`, `lti_deployment_id` and `lti_message_hint` (and
    ///   [`LaunchSpec::login_param`]s, such as [`LaunchSpec::offer_platform_storage`]), as a
    ///   GET of the iframe, or a form POST into it ([`LaunchSpec::login_method`]).
    ///
    /// `/auth` finds `launch` by its `lti_message_hint`, as for [`FakePlatform::launch`], and
    /// answers the iframe with its auto-submitting form to the tool's `redirect_uri`: a
    /// cross-site form POST, when the tool is served from another site. The browser keeps the
    /// cookies, so [`LaunchSpec::cookie_mode`] does not apply.
    pub fn prepare_browser_launch(
        &self,
        tool_login_url: &str,
        target_link_uri: &str,
        launch: LaunchSpec,
    ) -> Url {
        let (params, _, method) = self.register_login(target_link_uri, launch);
        let course = Course {
            tool_login_url: tool_login_url.to_owned(),
            params,
            method,
        };
        let id = format!("course-{}", uuid::Uuid::new_v4().simple());
        let mut state = self.state();
        state.browser.courses.insert(id.clone(), course);
        let mut url = Url::parse(&format!("{}/course", self.inner.issuer)).expect("a URL");
        url.query_pairs_mut().append_pair("launch", &id);
        url
    }

    /// The login initiation parameters for `launch`, which is registered under its
    /// `lti_message_hint` for `/auth` to find; with the cookie mode and login method it asks for.
    fn register_login(
        &self,
        target_link_uri: &str,
        launch: LaunchSpec,
    ) -> (Vec<(String, String)>, CookieMode, LoginMethod) {
        let client_id = launch
            .client_id
            .clone()
            .unwrap_or_else(|| self.inner.client_id.clone());
        let deployment_id = launch
            .deployment_id
            .clone()
            .unwrap_or_else(|| self.inner.deployment_id.clone());
        let login_hint = launch
            .login_hint
            .clone()
            .unwrap_or_else(|| format!("login-{}", uuid::Uuid::new_v4().simple()));
        let message_hint = launch
            .lti_message_hint
            .clone()
            .unwrap_or_else(|| format!("message-{}", uuid::Uuid::new_v4().simple()));
        let mut params: Vec<(String, String)> = [
            ("iss", self.inner.issuer.as_str()),
            ("login_hint", &login_hint),
            ("target_link_uri", target_link_uri),
            ("client_id", &client_id),
            ("lti_deployment_id", &deployment_id),
            ("lti_message_hint", &message_hint),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for (name, value) in &launch.login_params {
            params.retain(|(n, _)| n != name);
            if let Some(value) = value {
                params.push((name.clone(), value.clone()));
            }
        }
        let (mode, method) = (launch.cookie_mode, launch.login_method);
        self.state().pending.insert(
            message_hint,
            Pending {
                spec: launch,
                target_link_uri: target_link_uri.to_owned(),
                login_hint,
                client_id,
            },
        );
        (params, mode, method)
    }

    /// This platform's registration on the tool's side for `client_id`, as an operator would
    /// enter it: the issuer exactly, the deployment, and the endpoints.
    pub fn registration(&self, client_id: &str) -> lti_shared::domain::model::Registration {
        use lti_shared::domain::ids::{ClientId, DeploymentId, Issuer};
        let url = |u: String| Url::parse(&u).expect("the platform's URLs parse");
        lti_shared::domain::model::Registration {
            issuer: Issuer::parse(self.issuer()).expect("a valid issuer"),
            client_id: ClientId::parse(client_id).expect("a valid client id"),
            deployment_ids: std::collections::BTreeSet::from([DeploymentId::parse(
                self.deployment_id(),
            )
            .expect("a valid deployment id")]),
            auth_url: url(self.auth_url()),
            token_url: url(self.token_url()),
            jwks_url: url(self.jwks_url()),
            name: Some("Fake platform".into()),
            status: lti_shared::domain::model::Status::Active,
            options: lti_shared::domain::model::PlatformOptions::default(),
            created_at: time::OffsetDateTime::now_utc(),
        }
    }

    /// Every Platform Storage request the course pages' storage frames answered, oldest first.
    pub fn storage_messages(&self) -> Vec<StorageMessage> {
        self.state().browser.storage_log.clone()
    }
}

/// Where the platform receives deep-linking responses ([`FakePlatform::deep_link_return_url`]).
pub const DEEP_LINK_RETURN_PATH: &str = "/deep-link-return";

impl FakePlatform {
    /// The platform's `deep_link_return_url` (Deep Linking 2.0 §4.4.1): a POST of a form with
    /// `JWT` there is recorded ([`FakePlatform::deep_link_responses`]) and answered with a page
    /// saying how many content items it carried (`#received`), not verified: the tests verify
    /// the token themselves, independently of the tool.
    pub fn deep_link_return_url(&self) -> String {
        format!("{}{DEEP_LINK_RETURN_PATH}", self.inner.issuer)
    }

    /// Every `JWT` posted to [`FakePlatform::deep_link_return_url`], oldest first.
    pub fn deep_link_responses(&self) -> Vec<String> {
        self.state().deep_link_responses.clone()
    }
}

impl Inner {
    /// `POST /deep-link-return`: records the deep-linking response.
    fn receive_deep_link_response(&self, form: &HashMap<String, String>) -> Response<Full<Bytes>> {
        let Some(jwt) = form.get("JWT") else {
            return plain(StatusCode::BAD_REQUEST, "no JWT was posted");
        };
        let items = decode_jwt_claims(jwt)
            .and_then(|claims| {
                claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
                    .as_array()
                    .map(Vec::len)
            })
            .unwrap_or(0);
        self.lock().deep_link_responses.push(jwt.clone());
        html(format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Content added</title></head>\n\
             <body><h1 id=\"heading\">Deep linking response received</h1>\
             <p id=\"received\">{items}</p></body></html>\n"
        ))
    }

    /// `GET /course?launch=ID`: the course page of [`FakePlatform::prepare_browser_launch`].
    fn course_page(&self, query: &HashMap<String, String>) -> Response<Full<Bytes>> {
        let course = query
            .get("launch")
            .and_then(|id| self.lock().browser.courses.get(id).cloned());
        let Some(course) = course else {
            return plain(StatusCode::NOT_FOUND, "no such course launch");
        };
        let mut login_url = Url::parse(&course.tool_login_url).expect("the tool's login URL");
        let (frame_src, form) = match course.method {
            LoginMethod::Get => {
                login_url.query_pairs_mut().extend_pairs(&course.params);
                (login_url.to_string(), String::new())
            }
            LoginMethod::Post => {
                let mut form = format!(
                    "<form id=\"login\" method=\"post\" action=\"{}\" target=\"tool\" hidden>\n",
                    escape_html(login_url.as_str())
                );
                for (name, value) in &course.params {
                    form.push_str(&format!(
                        "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
                        escape_html(name),
                        escape_html(value)
                    ));
                }
                form.push_str("</form>\n");
                (String::new(), form)
            }
        };
        html(
            COURSE_PAGE
                .replace("{{storage_target}}", STORAGE_TARGET)
                .replace("{{frame_src}}", &escape_html(&frame_src))
                .replace("{{login_form}}", &form),
        )
    }

    /// `POST /storage-log`: a storage frame's report of one request it answered.
    fn log_storage_message(&self, body: &[u8]) -> Response<Full<Bytes>> {
        let Ok(report) = serde_json::from_slice::<Value>(body) else {
            return plain(StatusCode::BAD_REQUEST, "the report is not JSON");
        };
        let text = |name: &str| report[name].as_str().unwrap_or_default().to_owned();
        let message = StorageMessage {
            subject: text("subject"),
            origin: text("origin"),
            key: text("key"),
            answered: report["answered"].as_bool().unwrap_or(false),
        };
        self.lock().browser.storage_log.push(message);
        respond(StatusCode::NO_CONTENT, "text/plain", String::new())
    }
}

/// The course page: a platform page that frames the tool. `{{…}}` are filled in per launch.
const COURSE_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Testing LTI · Fake platform</title>
<style>
body { font: 15px/1.4 system-ui, sans-serif; margin: 0; background: #f5f5f5; color: #222; }
header { background: #394b58; color: #fff; padding: .7rem 1.2rem; }
main { padding: .8rem 1.2rem; }
h1 { font-size: 1.2rem; margin: 0 0 .6rem; }
#tool { display: block; width: 100%; height: 560px; border: 1px solid #c7cdd1; background: #fff; }
#storage-status { color: #555; font-size: .85rem; margin-top: .4rem; }
</style>
<script>
var started = false;
function startLaunch() {
  if (started) { return; }
  started = true;
  var form = document.getElementById("login");
  if (form) { form.submit(); return; }
  var tool = document.getElementById("tool");
  tool.src = tool.getAttribute("data-src");
}
</script>
</head>
<body>
<header>Fake platform · Course <b>Testing LTI</b></header>
<main>
<h1>Fake assignment</h1>
<iframe name="{{storage_target}}" id="{{storage_target}}" src="/storage-frame" title="Platform Storage" hidden onload="startLaunch()"></iframe>
<iframe id="tool" name="tool" title="Tool" data-src="{{frame_src}}"></iframe>
{{login_form}}<div id="storage-status">Platform Storage: no request yet</div>
</main>
</body>
</html>
"#;

/// The platform side of LTI Platform Storage (the `post_message_forwarding` frame).
const STORAGE_FRAME_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Platform Storage</title></head>
<body>
<script>
(function () {
  var store = {};
  var seen = [];
  function report(entry) {
    seen.push(entry.subject.replace("lti.", "") + (entry.answered ? "" : " (error)"));
    try {
      var status = window.parent.document.getElementById("storage-status");
      if (status) { status.textContent = "Platform Storage: " + seen.join(", "); }
    } catch (e) { /* not framed by the course page */ }
    fetch("/storage-log", { method: "POST", body: JSON.stringify(entry), keepalive: true });
  }
  window.addEventListener("message", function (event) {
    var m = event.data;
    if (!m || typeof m !== "object" || typeof m.subject !== "string" || !event.source) { return; }
    if (event.origin === "null") { return; }
    var bucket = store[event.origin] || (store[event.origin] = {});
    var reply = { subject: m.subject + ".response", message_id: m.message_id };
    var key = typeof m.key === "string" ? m.key : "";
    if (m.subject === "lti.capabilities") {
      reply.supported_messages = [
        { subject: "lti.put_data", frame: "post_message_forwarding" },
        { subject: "lti.get_data", frame: "post_message_forwarding" }
      ];
    } else if (m.subject === "lti.put_data") {
      reply.key = m.key;
      if (!key || typeof m.value !== "string") {
        reply.error = { code: "bad_request", message: "put_data needs a key and a string value" };
      } else {
        bucket[key] = m.value;
        reply.value = m.value;
      }
    } else if (m.subject === "lti.get_data") {
      reply.key = m.key;
      if (key && Object.prototype.hasOwnProperty.call(bucket, key)) {
        reply.value = bucket[key];
      } else {
        reply.error = { code: "bad_request", message: "no value is stored under this key for " + event.origin };
      }
    } else {
      reply.error = { code: "unsupported_subject", message: "unsupported subject " + m.subject };
    }
    report({ subject: m.subject, origin: event.origin, key: key, answered: !reply.error });
    event.source.postMessage(reply, event.origin);
  });
})();
</script>
</body>
</html>
"#;

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

async fn serve(listener: TcpListener, inner: Arc<Inner>) {
    // Connections live in the set, so aborting this task (dropping the platform) ends them.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        let inner = Arc::clone(&inner);
        connections.spawn(async move {
            let service = service_fn(move |request| {
                let inner = Arc::clone(&inner);
                async move { Ok::<_, Infallible>(route(&inner, request).await) }
            });
            // A client that hangs up mid-request is not the platform's problem.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn route(inner: &Inner, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let Ok(body) = Limited::new(request.into_body(), MAX_BODY).collect().await else {
        return plain(StatusCode::BAD_REQUEST, "unreadable request body");
    };
    let body = body.to_bytes();
    let form = |bytes: &[u8]| -> HashMap<String, String> {
        url::form_urlencoded::parse(bytes).into_owned().collect()
    };
    match (method, path.as_str()) {
        (Method::GET, "/jwks") => inner.jwks_response(),
        (Method::GET, "/auth") => inner.authorize(form(query.as_bytes())),
        (Method::POST, "/auth") => inner.authorize(form(&body)),
        (Method::GET, "/course") => inner.course_page(&form(query.as_bytes())),
        (Method::GET, "/storage-frame") => html(STORAGE_FRAME_PAGE.to_owned()),
        (Method::POST, "/storage-log") => inner.log_storage_message(&body),
        (Method::POST, DEEP_LINK_RETURN_PATH) => inner.receive_deep_link_response(&form(&body)),
        (_, "/token") => json_response(
            StatusCode::NOT_IMPLEMENTED,
            &json!({"error": "unsupported_grant_type",
                    "error_description": "the fake platform has no token endpoint yet"}),
        ),
        (_, "/jwks" | "/auth") => plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"),
        _ => plain(StatusCode::NOT_FOUND, "not found"),
    }
}

fn respond(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(hyper::header::CONTENT_TYPE, content_type)
        .header(hyper::header::CACHE_CONTROL, "no-store")
        .body(Full::new(Bytes::from(body)))
        .expect("a valid response")
}

fn plain(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    respond(status, "text/plain; charset=utf-8", body.to_owned())
}

fn json_response(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    let mut response = respond(status, "application/json", body.to_string());
    response.headers_mut().remove(hyper::header::CACHE_CONTROL);
    response
}

fn html(body: String) -> Response<Full<Bytes>> {
    respond(StatusCode::OK, "text/html; charset=utf-8", body)
}

/// The page real platforms answer an authentication request with (OAuth 2.0 Form Post
/// Response Mode §2): a form of hidden fields that submits itself to `action`.
fn auto_submit_page(action: &str, fields: &[(&str, &str)]) -> String {
    let mut page = String::from(
        "<!DOCTYPE html>\n<html>\n\
         <head><meta charset=\"utf-8\"><title>Launching…</title></head>\n\
         <body onload=\"document.forms[0].submit()\">\n",
    );
    page.push_str(&format!(
        "<form method=\"post\" action=\"{}\" enctype=\"application/x-www-form-urlencoded\">\n",
        escape_html(action)
    ));
    for (name, value) in fields {
        page.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
            escape_html(name),
            escape_html(value)
        ));
    }
    page.push_str("<noscript><button type=\"submit\">Continue</button></noscript>\n</form>\n");
    page.push_str("</body>\n</html>\n");
    page
}

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_path_creates_parents_and_overrides() {
        let mut claims = Map::new();
        set_path(&mut claims, &["a", "b"].into(), json!(1));
        set_path(&mut claims, &"c".into(), json!("x"));
        set_path(&mut claims, &["c", "d"].into(), json!(2));
        assert_eq!(Value::Object(claims), json!({"a": {"b": 1}, "c": {"d": 2}}));
    }

    #[test]
    fn remove_path_reaches_into_objects_and_ignores_missing() {
        let mut claims = json!({"a": {"b": 1, "c": 2}, "d": 3})
            .as_object()
            .cloned()
            .unwrap();
        remove_path(&mut claims, &["a", "b"].into());
        remove_path(&mut claims, &["x", "y"].into());
        remove_path(&mut claims, &"d".into());
        assert_eq!(Value::Object(claims), json!({"a": {"c": 2}}));
    }

    #[test]
    fn cookie_header_keeps_last_value_and_drops_deleted() {
        let header = cookie_header([
            "lti_state=abc; Path=/; Secure; HttpOnly; SameSite=None; Partitioned",
            "other=1",
            "other=2; Max-Age=60",
            "gone=x; Max-Age=0",
        ]);
        assert_eq!(header.as_deref(), Some("lti_state=abc; other=2"));
        assert_eq!(cookie_header(["gone=; Max-Age=0"]), None);
    }

    #[test]
    fn auto_submit_form_reads_escaped_values() {
        let page = auto_submit_page(
            "https://tool.test/launch?a=1&b=2",
            &[("id_token", "a\"<b>&c")],
        );
        let (action, fields) = auto_submit_form(&page).unwrap();
        assert_eq!(action, "https://tool.test/launch?a=1&b=2");
        assert_eq!(fields, vec![("id_token".to_owned(), "a\"<b>&c".to_owned())]);
        assert!(auto_submit_form("<p>no form</p>").is_none());
    }
}
