//! A loopback LTI Assignment and Grade Services 2.0 platform with fault injection, for tests
//! of the tool's outcomes delivery (AGS client, token cache, durable delivery).
//!
//! [`AgsPlatform::start`] binds `127.0.0.1:0` and serves, with the state kept across
//! [`AgsPlatform::stop`] / [`AgsPlatform::restart`] on the same port:
//!
//! - `POST /token`: the OAuth 2.0 client-credentials grant with a JWT client assertion
//!   (Security Framework §4.1.1; RFC 7523). The assertion must be an RS256 JWS whose `kid` is
//!   in the tool's JWK set (fetched from [`AgsConfig::tool_jwks_url`], cached, re-fetched for
//!   an unknown `kid`; or given as [`AgsConfig::tool_jwks`]), with `iss` = `sub` = the
//!   client id, `aud` holding the token URL (or [`AgsConfig::token_audience`]), `exp` in the
//!   future and at most [`AgsConfig::max_assertion_lifetime`] away, `iat` not in the future,
//!   and a `jti` never seen before (a replay is `400 invalid_grant`). It grants the requested
//!   scopes that are AGS scopes allowed by [`AgsConfig::granted_scopes`], as an opaque random
//!   token valid [`AgsConfig::expires_in`] seconds.
//! - `/{context}/lineitems`: the line item container (AGS 2.0 §3.2): `GET` lists
//!   (`application/vnd.ims.lis.v2.lineitemcontainer+json`, filters `resource_link_id`,
//!   `resource_id`, `tag`, `limit`; pages of [`AgsConfig::page_size`] with
//!   `Link: <…>; rel="next"`), `POST` creates (`201` with `id`).
//! - `/{context}/lineitems/{n}/lineitem`: one line item, `GET`/`PUT`/`DELETE`.
//! - `…/lineitem/scores`: the score service (AGS 2.0 §3.4), `POST` only, with
//!   `Content-Type: application/vnd.ims.lis.v1.score+json`. Scores are validated (userId,
//!   RFC 3339 timestamp with fractional seconds, progress enumerations, `scoreGiven` ≥ 0 and
//!   ≤ `scoreMaximum` unless extra credit is allowed) and a timestamp that is not strictly later
//!   than the last accepted one for the same line item and user is refused with
//!   [`AgsConfig::stale_score_status`] (§3.4.9), recorded in [`AgsPlatform::rejected_scores`].
//! - `…/lineitem/results`: the result service (§3.3), from the latest score per user.
//!
//! Every request must carry a `User-Agent`; every service request a bearer token from
//! `/token` with a scope allowing it (401 `invalid_token` otherwise, 403
//! `insufficient_scope`). With [`AgsConfig::moodle_style_urls`], container and line item URLs
//! carry `?type_id=N` as Moodle's do, and every service request must keep it: a client that
//! appends `/scores` after the query string is refused, and the reason says so.
//!
//! Everything refused is recorded with its reason ([`AgsPlatform::refusals`]), so a test that
//! expected success can print why it failed. Faults are programmed with
//! [`AgsPlatform::faults`] (see [`crate::faults`]) per [`AgsEndpoint`].
//!
//! The issuer and base URL are `http://127.0.0.1:PORT`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;
use hyper::http::request::Parts;
use hyper::{Method, Request};
use lti_shared::domain::clock::{Clock, SystemClock};
use lti_shared::domain::keys::PublicJwkSet;
use lti_shared::domain::platform_key::PlatformKey;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::net::TcpListener;
use url::Url;

use crate::delivery::DeliveryReport;
use crate::faults::{Fault, FaultPlan, FaultTarget};
use crate::server::{Handler, Hangup, HttpResponse, Server, respond};

/// Scope: manage line items (AGS 2.0 §3.2).
pub const SCOPE_LINEITEM: &str = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem";
/// Scope: read line items (AGS 2.0 §3.2).
pub const SCOPE_LINEITEM_READONLY: &str =
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly";
/// Scope: read results (AGS 2.0 §3.3.2).
pub const SCOPE_RESULT_READONLY: &str =
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly";
/// Scope: post scores (AGS 2.0 §3.4.2).
pub const SCOPE_SCORE: &str = "https://purl.imsglobal.org/spec/lti-ags/scope/score";
/// Every AGS scope.
pub const AGS_SCOPES: [&str; 4] = [
    SCOPE_LINEITEM,
    SCOPE_LINEITEM_READONLY,
    SCOPE_RESULT_READONLY,
    SCOPE_SCORE,
];

/// Media type of a score (AGS 2.0 §3.4.3).
pub const SCORE_MEDIA_TYPE: &str = "application/vnd.ims.lis.v1.score+json";
/// Media type of a line item (AGS 2.0 §3.2.1).
pub const LINEITEM_MEDIA_TYPE: &str = "application/vnd.ims.lis.v2.lineitem+json";
/// Media type of a line item container (AGS 2.0 §3.2.1).
pub const LINEITEM_CONTAINER_MEDIA_TYPE: &str = "application/vnd.ims.lis.v2.lineitemcontainer+json";
/// Media type of a result container (AGS 2.0 §3.3.4).
pub const RESULT_CONTAINER_MEDIA_TYPE: &str = "application/vnd.ims.lis.v2.resultcontainer+json";
/// `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// `activityProgress` values (AGS 2.0 §3.4.7).
pub const ACTIVITY_PROGRESS: [&str; 5] = [
    "Initialized",
    "Started",
    "InProgress",
    "Submitted",
    "Completed",
];
/// `gradingProgress` values (AGS 2.0 §3.4.8).
pub const GRADING_PROGRESS: [&str; 5] = [
    "FullyGraded",
    "Pending",
    "PendingManual",
    "Failed",
    "NotReady",
];

/// The largest request body read.
const MAX_BODY: usize = 1024 * 1024;
/// How far in the future an assertion's `iat` may be (clock skew).
const IAT_SKEW: i64 = 60;

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

/// How an [`AgsPlatform`] behaves. Fields are public; [`AgsConfig::new`] and the `with_*`
/// methods cover the usual cases.
#[derive(Clone)]
pub struct AgsConfig {
    /// The tool's client id: the `iss` and `sub` its client assertions must carry.
    pub client_id: String,
    /// Where to fetch the tool's JWK set (the tool's `/jwks`). Cached; re-fetched when an
    /// assertion's `kid` is not in the cached set. Also settable after start
    /// ([`AgsPlatform::set_tool_jwks_url`]).
    pub tool_jwks_url: Option<String>,
    /// The tool's JWK set given directly (`{"keys": [...]}`), searched before the URL's.
    pub tool_jwks: Option<Value>,
    /// The `aud` assertions must contain instead of the token URL (a platform's declared
    /// audience, Security Framework §4.1.1).
    pub token_audience: Option<String>,
    /// `expires_in` of issued access tokens, in seconds (default 3600).
    pub expires_in: u64,
    /// The scopes the platform grants when asked (default: all of [`AGS_SCOPES`]).
    pub granted_scopes: Vec<String>,
    /// Line items and results per page (default 10); `limit` can only lower it.
    pub page_size: usize,
    /// Line item and container URLs carry `?type_id=<moodle_type_id>`, as Moodle's do.
    pub moodle_style_urls: bool,
    /// The `type_id` of Moodle-style URLs (default `3`).
    pub moodle_type_id: String,
    /// The status a score whose timestamp is not strictly later than the last accepted one
    /// gets (default 409; some platforms answer 400).
    pub stale_score_status: u16,
    /// Whether `scoreGiven` may exceed `scoreMaximum` on every line item (default `false`;
    /// per line item: [`AgsPlatform::set_extra_credit`]).
    pub allow_extra_credit: bool,
    /// The longest an assertion may live, `exp` - now, in seconds (default 3600).
    pub max_assertion_lifetime: i64,
    /// The platform's clock, for assertion `iat`/`exp` and access token expiry (default the
    /// system clock; a [`lti_shared::domain::clock::FixedClock`] shared with the tool makes expiry
    /// testable without waiting).
    pub clock: Arc<dyn Clock>,
}

impl Default for AgsConfig {
    fn default() -> Self {
        Self {
            client_id: crate::platform::DEFAULT_CLIENT_ID.to_owned(),
            tool_jwks_url: None,
            tool_jwks: None,
            token_audience: None,
            expires_in: 3600,
            granted_scopes: AGS_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            page_size: 10,
            moodle_style_urls: false,
            moodle_type_id: "3".to_owned(),
            stale_score_status: 409,
            allow_extra_credit: false,
            max_assertion_lifetime: 3600,
            clock: Arc::new(SystemClock),
        }
    }
}

impl fmt::Debug for AgsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgsConfig")
            .field("client_id", &self.client_id)
            .field("tool_jwks_url", &self.tool_jwks_url)
            .field("tool_jwks", &self.tool_jwks.is_some())
            .field("token_audience", &self.token_audience)
            .field("expires_in", &self.expires_in)
            .field("granted_scopes", &self.granted_scopes)
            .field("page_size", &self.page_size)
            .field("moodle_style_urls", &self.moodle_style_urls)
            .field("stale_score_status", &self.stale_score_status)
            .finish_non_exhaustive()
    }
}

impl AgsConfig {
    /// Defaults, for the tool registered as `client_id`.
    pub fn new(client_id: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            ..Self::default()
        }
    }

    /// Verifies assertions with the JWK set at `url`.
    pub fn with_jwks_url(mut self, url: impl Into<String>) -> Self {
        self.tool_jwks_url = Some(url.into());
        self
    }

    /// Verifies assertions with this public JWK set.
    pub fn with_jwks(mut self, jwks: &PublicJwkSet) -> Self {
        self.tool_jwks = Some(serde_json::to_value(jwks).expect("a JWK set serializes"));
        self
    }

    /// Verifies assertions with this JWK set JSON (`{"keys": [...]}`).
    pub fn with_jwks_json(mut self, jwks: Value) -> Self {
        self.tool_jwks = Some(jwks);
        self
    }

    /// Access tokens live `seconds`.
    pub fn with_expires_in(mut self, seconds: u64) -> Self {
        self.expires_in = seconds;
        self
    }

    /// Moodle-style URLs with `?type_id=3`.
    pub fn with_moodle_style_urls(mut self) -> Self {
        self.moodle_style_urls = true;
        self
    }

    /// Line items and results per page.
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// The platform's clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

// ---------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------

/// What kind of endpoint a request went to: for counters, refusals and fault targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgsEndpoint {
    /// Wildcard for fault rules and counters: every endpoint.
    Any,
    /// `/token`.
    Token,
    /// A line item container or a line item.
    LineItems,
    /// `…/lineitem/scores`.
    Scores,
    /// `…/lineitem/results`.
    Results,
    /// Any other path (404).
    Other,
}

impl FaultTarget for AgsEndpoint {
    fn matches(self, endpoint: Self) -> bool {
        self == AgsEndpoint::Any || self == endpoint
    }
}

/// A request the platform refused, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Where it went.
    pub endpoint: AgsEndpoint,
    /// The HTTP status it got.
    pub status: u16,
    /// Why, in words.
    pub reason: String,
}

/// An access token the platform issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    /// The scopes granted.
    pub scopes: Vec<String>,
    /// `expires_in`, seconds.
    pub expires_in: u64,
    /// The assertion's `jti`.
    pub jti: String,
}

/// A score the platform accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedScore {
    /// The line item's `id` URL (with its query string, if any).
    pub line_item: String,
    /// `userId`.
    pub user_id: String,
    /// `scoreGiven` (`None`: the score was cleared, AGS 2.0 §3.4.4).
    pub score_given: Option<f64>,
    /// `scoreMaximum`.
    pub score_maximum: Option<f64>,
    /// `activityProgress`.
    pub activity_progress: String,
    /// `gradingProgress`.
    pub grading_progress: String,
    /// `timestamp`, as sent.
    pub timestamp: String,
    /// `comment`.
    pub comment: Option<String>,
    /// `scoringUserId`.
    pub scoring_user_id: Option<String>,
    /// The whole score as sent.
    pub body: Value,
    /// The request's `User-Agent`.
    pub user_agent: String,
}

/// Why a well-formed score was refused for its timestamp (AGS 2.0 §3.4.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleReason {
    /// The same timestamp as the last accepted score: a retry applied twice would be this.
    SameTimestamp,
    /// Earlier than the last accepted score.
    OutOfOrder,
}

/// A score refused because its timestamp was not strictly later than the last accepted one.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedScore {
    /// The line item's `id` URL.
    pub line_item: String,
    /// `userId`.
    pub user_id: String,
    /// `scoreGiven`.
    pub score_given: Option<f64>,
    /// `timestamp`, as sent.
    pub timestamp: String,
    /// The last accepted timestamp, as sent.
    pub last_accepted: String,
    /// Same or earlier.
    pub reason: StaleReason,
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

struct IssuedToken {
    scopes: Vec<String>,
    expires_at: OffsetDateTime,
}

struct StoredItem {
    context: String,
    /// The line item as served, `id` included.
    body: Map<String, Value>,
}

struct State {
    tool_jwks_url: Option<String>,
    tool_jwks: Option<Value>,
    fetched_jwks: Option<Value>,
    jwks_fetches: usize,
    expires_in: u64,
    seen_jti: HashSet<String>,
    tokens: HashMap<String, IssuedToken>,
    grants: Vec<TokenGrant>,
    requests: HashMap<AgsEndpoint, usize>,
    refusals: Vec<Refusal>,
    items: BTreeMap<u64, StoredItem>,
    next_item: u64,
    extra_credit: HashMap<u64, bool>,
    scores: Vec<ReceivedScore>,
    rejected: Vec<RejectedScore>,
    last_timestamp: HashMap<(u64, String), (OffsetDateTime, String)>,
}

struct Shared {
    config: AgsConfig,
    base: String,
    state: Mutex<State>,
    faults: FaultPlan<AgsEndpoint>,
    http: reqwest::Client,
}

/// The loopback AGS platform. Dropping it stops its server.
pub struct AgsPlatform {
    shared: Arc<Shared>,
    server: Server<Shared>,
}

impl fmt::Debug for AgsPlatform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgsPlatform")
            .field("base", &self.shared.base)
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

impl AgsPlatform {
    /// Binds `127.0.0.1:0` and serves.
    pub async fn start(config: AgsConfig) -> AgsPlatform {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("loopback port binds");
        let addr = listener.local_addr().expect("a bound address");
        let shared = Arc::new(Shared {
            base: format!("http://{addr}"),
            state: Mutex::new(State {
                tool_jwks_url: config.tool_jwks_url.clone(),
                tool_jwks: config.tool_jwks.clone(),
                fetched_jwks: None,
                jwks_fetches: 0,
                expires_in: config.expires_in,
                seen_jti: HashSet::new(),
                tokens: HashMap::new(),
                grants: Vec::new(),
                requests: HashMap::new(),
                refusals: Vec::new(),
                items: BTreeMap::new(),
                next_item: 1,
                extra_credit: HashMap::new(),
                scores: Vec::new(),
                rejected: Vec::new(),
                last_timestamp: HashMap::new(),
            }),
            config,
            faults: FaultPlan::default(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .user_agent("lti-tests-ags-platform")
                .build()
                .expect("an HTTP client"),
        });
        let server = Server::start(listener, Arc::clone(&shared));
        AgsPlatform { shared, server }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.lock()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.shared.base
    }

    /// The issuer: the base URL.
    pub fn issuer(&self) -> &str {
        &self.shared.base
    }

    /// The client id assertions must carry.
    pub fn client_id(&self) -> &str {
        &self.shared.config.client_id
    }

    /// `http://127.0.0.1:PORT/token`: the token endpoint and the default assertion audience.
    pub fn token_url(&self) -> String {
        self.shared.token_url()
    }

    /// The `aud` assertions must contain: [`AgsConfig::token_audience`] or the token URL.
    pub fn audience(&self) -> String {
        self.shared.audience()
    }

    /// The line item container URL of `context` (`/{context}/lineitems`, with `?type_id=N`
    /// for Moodle-style URLs): the AGS claim's `lineitems`. `context` is a path segment of
    /// unreserved characters (`A-Z a-z 0-9 - . _ ~`).
    pub fn line_items_url(&self, context: &str) -> String {
        check_context(context);
        format!(
            "{}/{context}/lineitems{}",
            self.shared.base,
            self.shared.query_suffix()
        )
    }

    /// Creates a line item in `context` as the platform would on link creation, and returns
    /// its `id` URL (the AGS claim's `lineitem`), e.g.
    /// `http://127.0.0.1:PORT/course-1/lineitems/7/lineitem?type_id=3`. `line_item` is the
    /// JSON object without `id` (`label`, `scoreMaximum`, `resourceLinkId`, `tag`...).
    pub fn add_line_item(&self, context: &str, line_item: Value) -> String {
        check_context(context);
        let Value::Object(body) = line_item else {
            panic!("a line item is a JSON object");
        };
        self.shared.create_item(&mut self.state(), context, body).0
    }

    /// The line item at `url` as served, if it exists.
    pub fn line_item(&self, url: &str) -> Option<Value> {
        let id = self.shared.item_id_of(url)?;
        self.state()
            .items
            .get(&id)
            .map(|item| Value::Object(item.body.clone()))
    }

    /// Every line item of `context`, oldest first.
    pub fn line_items(&self, context: &str) -> Vec<Value> {
        self.state()
            .items
            .values()
            .filter(|item| item.context == context)
            .map(|item| Value::Object(item.body.clone()))
            .collect()
    }

    /// Lets `scoreGiven` exceed `scoreMaximum` on the line item at `url` (or not).
    pub fn set_extra_credit(&self, url: &str, allowed: bool) {
        let id = self.shared.item_id_of(url).expect("a line item URL");
        self.state().extra_credit.insert(id, allowed);
    }

    /// The fault plan: program failures per [`AgsEndpoint`].
    pub fn faults(&self) -> &FaultPlan<AgsEndpoint> {
        &self.shared.faults
    }

    /// Stops serving: open connections are closed and new ones refused. State is kept.
    pub async fn stop(&self) {
        self.server.stop().await;
    }

    /// Serves again on the same port, with the same state.
    pub async fn restart(&self) {
        self.server.restart().await;
    }

    /// Whether the server is serving.
    pub fn is_running(&self) -> bool {
        self.server.is_running()
    }

    // --- tokens ---

    /// Fetches the tool's JWK set from `url` from now on (the cache is dropped).
    pub fn set_tool_jwks_url(&self, url: impl Into<String>) {
        let mut state = self.state();
        state.tool_jwks_url = Some(url.into());
        state.fetched_jwks = None;
    }

    /// Verifies assertions with this JWK set from now on.
    pub fn set_tool_jwks(&self, jwks: &PublicJwkSet) {
        self.state().tool_jwks = Some(serde_json::to_value(jwks).expect("a JWK set serializes"));
    }

    /// Issues tokens living `seconds` from now on.
    pub fn set_token_lifetime(&self, seconds: u64) {
        self.state().expires_in = seconds;
    }

    /// Makes every access token issued so far expired (really, not as a fault).
    pub fn expire_tokens(&self) {
        let past = self.shared.config.clock.now() - time::Duration::seconds(1);
        for token in self.state().tokens.values_mut() {
            token.expires_at = past;
        }
    }

    /// An access token with `scopes`, issued without a token request (not counted), for
    /// tests that exercise the services alone.
    pub fn grant_token(&self, scopes: &[&str]) -> String {
        let scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
        self.shared.issue(&mut self.state(), scopes)
    }

    /// The claims of a valid client assertion for this platform, now (`iss`, `sub`, `aud`,
    /// `iat`, `exp` in 5 minutes, a fresh `jti`), to sign with
    /// [`lti_shared::domain::keys::KeySet::sign_jwt`] in tests of the harness itself.
    pub fn assertion_claims(&self) -> Value {
        let now = self.shared.config.clock.now().unix_timestamp();
        json!({
            "iss": self.client_id(),
            "sub": self.client_id(),
            "aud": [self.audience()],
            "iat": now,
            "exp": now + 300,
            "jti": uuid::Uuid::new_v4().to_string(),
        })
    }

    /// How many requests reached `/token` (faulted and refused ones included).
    pub fn token_requests(&self) -> usize {
        self.requests(AgsEndpoint::Token)
    }

    /// How many access tokens were issued by `/token`.
    pub fn tokens_issued(&self) -> usize {
        self.state().grants.len()
    }

    /// Every token `/token` issued, in order.
    pub fn token_grants(&self) -> Vec<TokenGrant> {
        self.state().grants.clone()
    }

    /// How many times the tool's JWK set was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.state().jwks_fetches
    }

    // --- counters and records ---

    /// How many requests went to `endpoint` ([`AgsEndpoint::Any`]: all), faulted ones
    /// included.
    pub fn requests(&self, endpoint: AgsEndpoint) -> usize {
        let state = self.state();
        state
            .requests
            .iter()
            .filter(|(kind, _)| endpoint.matches(**kind))
            .map(|(_, count)| count)
            .sum()
    }

    /// Every request refused (not faulted), in order, with its reason.
    pub fn refusals(&self) -> Vec<Refusal> {
        self.state().refusals.clone()
    }

    /// Every accepted score, in arrival order.
    pub fn scores(&self) -> Vec<ReceivedScore> {
        self.state().scores.clone()
    }

    /// How many scores were accepted.
    pub fn accepted_scores(&self) -> usize {
        self.state().scores.len()
    }

    /// The accepted scores for `line_item` (its `id` URL, with or without the query string)
    /// and `user`, in arrival order.
    pub fn scores_for(&self, line_item: &str, user: &str) -> Vec<ReceivedScore> {
        let wanted = strip_query(line_item);
        self.state()
            .scores
            .iter()
            .filter(|s| strip_query(&s.line_item) == wanted && s.user_id == user)
            .cloned()
            .collect()
    }

    /// Scores refused for a timestamp not strictly later than the last accepted one.
    pub fn rejected_scores(&self) -> Vec<RejectedScore> {
        self.state().rejected.clone()
    }

    /// Compares the accepted scores (those with a `scoreGiven`) with `expected`
    /// `(line item URL, userId, scoreGiven)` in the order the tool produced them.
    pub fn delivery_report(&self, expected: &[(&str, &str, f64)]) -> DeliveryReport {
        let expected: Vec<((String, String), f64)> = expected
            .iter()
            .map(|(item, user, score)| ((strip_query(item).to_owned(), (*user).to_owned()), *score))
            .collect();
        let accepted: Vec<((String, String), f64)> = self
            .state()
            .scores
            .iter()
            .filter_map(|s| {
                let given = s.score_given?;
                Some((
                    (strip_query(&s.line_item).to_owned(), s.user_id.clone()),
                    given,
                ))
            })
            .collect();
        DeliveryReport::compare(&expected, &accepted)
    }

    /// Panics unless every expected score was accepted exactly once and, per line item and
    /// user, in the expected order (see [`DeliveryReport`]).
    pub fn assert_each_delivered_once_in_order(&self, expected: &[(&str, &str, f64)]) {
        self.delivery_report(expected).assert_exact();
    }
}

fn check_context(context: &str) {
    assert!(
        !context.is_empty()
            && context
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)),
        "a context is a path segment of unreserved characters: {context:?}"
    );
}

fn strip_query(url: &str) -> &str {
    url.split_once('?').map_or(url, |(before, _)| before)
}

// ---------------------------------------------------------------------------------------------
// Serving
// ---------------------------------------------------------------------------------------------

/// A request path, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Token,
    Container(String),
    Item(String, u64),
    Scores(String, u64),
    Results(String, u64),
    Unknown,
}

impl Route {
    fn parse(path: &str) -> Route {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let item = |context: &str, id: &str, make: fn(String, u64) -> Route| {
            id.parse()
                .map_or(Route::Unknown, |id| make(context.to_owned(), id))
        };
        match segments.as_slice() {
            ["token"] => Route::Token,
            [context, "lineitems"] | [context, "lineitems", ""] => {
                Route::Container((*context).to_owned())
            }
            [context, "lineitems", id, "lineitem"] => item(context, id, Route::Item),
            [context, "lineitems", id, "lineitem", "scores"] => item(context, id, Route::Scores),
            [context, "lineitems", id, "lineitem", "results"] => item(context, id, Route::Results),
            _ => Route::Unknown,
        }
    }

    fn endpoint(&self) -> AgsEndpoint {
        match self {
            Route::Token => AgsEndpoint::Token,
            Route::Container(_) | Route::Item(..) => AgsEndpoint::LineItems,
            Route::Scores(..) => AgsEndpoint::Scores,
            Route::Results(..) => AgsEndpoint::Results,
            Route::Unknown => AgsEndpoint::Other,
        }
    }
}

/// A refusal on its way out: the response and its record.
struct Refuse {
    status: u16,
    code: &'static str,
    reason: String,
}

fn refuse(status: u16, code: &'static str, reason: impl Into<String>) -> Refuse {
    Refuse {
        status,
        code,
        reason: reason.into(),
    }
}

type Outcome = Result<HttpResponse, Refuse>;

impl Handler for Shared {
    async fn handle(&self, request: Request<Incoming>) -> Result<HttpResponse, Hangup> {
        let (parts, body) = request.into_parts();
        let route = Route::parse(parts.uri.path());
        let endpoint = route.endpoint();
        *self.lock().requests.entry(endpoint).or_default() += 1;
        let fault = self.faults.next(endpoint);
        if let Some(fault) = fault.filter(|f| !f.processes()) {
            return fault_response(fault, endpoint).await;
        }
        let response = match Limited::new(body, MAX_BODY).collect().await {
            Ok(body) => self.process(&parts, &body.to_bytes(), route).await,
            Err(_) => Err(refuse(400, "invalid_request", "unreadable request body")),
        };
        let response = response.unwrap_or_else(|refusal| self.refused(endpoint, refusal));
        match fault {
            Some(Fault::SlowResponse(delay)) => {
                tokio::time::sleep(delay).await;
                Ok(response)
            }
            Some(Fault::CloseAfterProcessing) => Err(Hangup),
            _ => Ok(response),
        }
    }
}

async fn fault_response(fault: Fault, endpoint: AgsEndpoint) -> Result<HttpResponse, Hangup> {
    Ok(match fault {
        Fault::Status(status) => json_error(status, "server_error", "fault injection"),
        Fault::TooManyRequests { retry_after } => {
            let mut response = json_error(429, "too_many_requests", "fault injection");
            response.headers_mut().insert(
                hyper::header::RETRY_AFTER,
                retry_after.to_string().parse().expect("a header value"),
            );
            response
        }
        Fault::ExpiredToken if endpoint == AgsEndpoint::Token => {
            json_error(401, "invalid_client", "fault injection")
        }
        Fault::ExpiredToken => json_error(401, "invalid_token", "The access token expired"),
        Fault::Hang(delay) => {
            tokio::time::sleep(delay).await;
            json_error(504, "server_error", "fault injection: hung")
        }
        Fault::CodeMajorFailure => json_error(400, "invalid_request", "fault injection"),
        Fault::Close | Fault::CloseAfterProcessing | Fault::SlowResponse(_) => return Err(Hangup),
    })
}

fn json_error(status: u16, code: &str, description: &str) -> HttpResponse {
    let mut response = json_body(
        status,
        "application/json",
        &json!({"error": code, "error_description": description}),
    );
    if status == 401 && code == "invalid_token" {
        response.headers_mut().insert(
            hyper::header::WWW_AUTHENTICATE,
            format!("Bearer error=\"invalid_token\", error_description=\"{description}\"")
                .parse()
                .expect("a header value"),
        );
    }
    response
}

fn json_body(status: u16, content_type: &str, body: &Value) -> HttpResponse {
    let mut response = respond(status, content_type, body.to_string());
    response.headers_mut().insert(
        hyper::header::CACHE_CONTROL,
        "no-store".parse().expect("a header value"),
    );
    response
}

fn header<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok())
}

/// The media type of the request's `Content-Type`, lower-cased, without parameters.
fn media_type(parts: &Parts) -> Option<String> {
    header(parts, "content-type").map(|v| {
        v.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    })
}

fn require_media_type(parts: &Parts, expected: &str) -> Result<(), Refuse> {
    match media_type(parts) {
        Some(found) if found == expected => Ok(()),
        found => Err(refuse(
            415,
            "invalid_request",
            format!("Content-Type {found:?}, expected {expected}"),
        )),
    }
}

fn query_map(parts: &Parts) -> HashMap<String, String> {
    url::form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn decode_segment(segment: &str) -> Result<Value, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| "not base64url".to_owned())?;
    serde_json::from_slice(&bytes).map_err(|_| "not JSON".to_owned())
}

fn number(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_f64().map(|f| f.floor() as i64))
}

fn find_key(jwks: &Value, kid: &str) -> Option<PlatformKey> {
    jwks.get("keys")?.as_array()?.iter().find_map(|jwk| {
        (jwk.get("kid")?.as_str()? == kid && jwk.get("kty")?.as_str()? == "RSA")
            .then(|| {
                PlatformKey::from_components(kid, jwk.get("n")?.as_str()?, jwk.get("e")?.as_str()?)
            })
            .flatten()
    })
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn token_url(&self) -> String {
        format!("{}/token", self.base)
    }

    fn audience(&self) -> String {
        self.config
            .token_audience
            .clone()
            .unwrap_or_else(|| self.token_url())
    }

    fn query_suffix(&self) -> String {
        if self.config.moodle_style_urls {
            format!("?type_id={}", self.config.moodle_type_id)
        } else {
            String::new()
        }
    }

    fn item_url(&self, context: &str, id: u64) -> String {
        format!(
            "{}/{context}/lineitems/{id}/lineitem{}",
            self.base,
            self.query_suffix()
        )
    }

    fn item_id_of(&self, url: &str) -> Option<u64> {
        let path = strip_query(url).strip_prefix(&self.base)?;
        match Route::parse(path) {
            Route::Item(_, id) => Some(id),
            _ => None,
        }
    }

    fn refused(&self, endpoint: AgsEndpoint, refusal: Refuse) -> HttpResponse {
        let response = json_error(refusal.status, refusal.code, &refusal.reason);
        self.lock().refusals.push(Refusal {
            endpoint,
            status: refusal.status,
            reason: refusal.reason,
        });
        response
    }

    fn issue(&self, state: &mut State, scopes: Vec<String>) -> String {
        let token = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let expires_in = i64::try_from(state.expires_in).unwrap_or(i64::MAX);
        state.tokens.insert(
            token.clone(),
            IssuedToken {
                scopes,
                expires_at: self.config.clock.now() + time::Duration::seconds(expires_in),
            },
        );
        token
    }

    fn create_item(
        &self,
        state: &mut State,
        context: &str,
        mut body: Map<String, Value>,
    ) -> (String, Map<String, Value>) {
        let id = state.next_item;
        state.next_item += 1;
        let url = self.item_url(context, id);
        body.insert("id".to_owned(), Value::String(url.clone()));
        state.items.insert(
            id,
            StoredItem {
                context: context.to_owned(),
                body: body.clone(),
            },
        );
        (url, body)
    }

    async fn process(&self, parts: &Parts, body: &[u8], route: Route) -> Outcome {
        if route == Route::Unknown {
            return Err(refuse(
                404,
                "not_found",
                format!("no such endpoint: {}", parts.uri.path()),
            ));
        }
        if header(parts, "user-agent").is_none_or(str::is_empty) {
            return Err(refuse(400, "invalid_request", "no User-Agent header"));
        }
        if route == Route::Token {
            return self.token(parts, body).await;
        }
        self.check_query(parts)?;
        match route {
            Route::Container(context) => self.container(parts, body, &context),
            Route::Item(context, id) => self.item(parts, body, &context, id),
            Route::Scores(context, id) => self.score(parts, body, &context, id),
            Route::Results(context, id) => self.results(parts, &context, id),
            Route::Token | Route::Unknown => Err(refuse(404, "not_found", "no such endpoint")),
        }
    }

    /// Moodle-style URLs: every service request keeps `type_id`.
    fn check_query(&self, parts: &Parts) -> Result<(), Refuse> {
        if !self.config.moodle_style_urls {
            return Ok(());
        }
        let query = query_map(parts);
        if query.get("type_id") == Some(&self.config.moodle_type_id) {
            return Ok(());
        }
        let raw = parts.uri.query().unwrap_or_default();
        let hint = if raw.ends_with("/scores") || raw.ends_with("/results") {
            " (was /scores or /results appended after the query string instead of to the path?)"
        } else {
            ""
        };
        Err(refuse(
            400,
            "invalid_request",
            format!(
                "type_id={} missing from the query {raw:?}{hint}",
                self.config.moodle_type_id
            ),
        ))
    }

    /// The bearer token's scopes, if it is valid and holds one of `allowed`.
    fn authorize(&self, parts: &Parts, allowed: &[&str]) -> Result<(), Refuse> {
        let Some(value) = header(parts, "authorization") else {
            return Err(refuse(401, "invalid_token", "no Authorization header"));
        };
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => {
                return Err(refuse(
                    401,
                    "invalid_token",
                    "Authorization is not a Bearer token",
                ));
            }
        };
        let state = self.lock();
        let Some(issued) = state.tokens.get(token) else {
            return Err(refuse(401, "invalid_token", "unknown access token"));
        };
        if issued.expires_at <= self.config.clock.now() {
            return Err(refuse(401, "invalid_token", "The access token expired"));
        }
        if !issued.scopes.iter().any(|s| allowed.contains(&s.as_str())) {
            return Err(refuse(
                403,
                "insufficient_scope",
                format!(
                    "the token's scopes {:?} allow none of {allowed:?}",
                    issued.scopes
                ),
            ));
        }
        Ok(())
    }

    // --- token endpoint ---

    async fn token(&self, parts: &Parts, body: &[u8]) -> Outcome {
        if parts.method != Method::POST {
            return Err(refuse(
                405,
                "invalid_request",
                "the token endpoint takes POST",
            ));
        }
        if media_type(parts).as_deref() != Some("application/x-www-form-urlencoded") {
            return Err(refuse(
                400,
                "invalid_request",
                format!(
                    "Content-Type {:?}, expected application/x-www-form-urlencoded",
                    header(parts, "content-type")
                ),
            ));
        }
        let form: HashMap<String, String> =
            url::form_urlencoded::parse(body).into_owned().collect();
        let field = |name: &str| form.get(name).map(String::as_str);
        if field("grant_type") != Some("client_credentials") {
            return Err(refuse(
                400,
                "unsupported_grant_type",
                format!("grant_type {:?}", field("grant_type")),
            ));
        }
        if field("client_assertion_type") != Some(CLIENT_ASSERTION_TYPE) {
            return Err(refuse(
                400,
                "invalid_request",
                format!("client_assertion_type {:?}", field("client_assertion_type")),
            ));
        }
        let Some(assertion) = field("client_assertion") else {
            return Err(refuse(400, "invalid_request", "no client_assertion"));
        };
        let requested: Vec<&str> = field("scope")
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        let jti = self.verify_assertion(assertion).await?;
        let granted: Vec<String> = requested
            .iter()
            // Any scope the configuration grants (AGS by default; tests of the roster add the
            // NRPS membership scope).
            .filter(|s| self.config.granted_scopes.iter().any(|g| g == *s))
            .map(|s| (*s).to_owned())
            .collect();
        if granted.is_empty() {
            return Err(refuse(
                400,
                "invalid_scope",
                format!("no grantable scope in {requested:?}"),
            ));
        }
        let mut state = self.lock();
        // The jti is spent once every other check passed (one write, no check-then-insert).
        if !state.seen_jti.insert(jti.clone()) {
            return Err(refuse(
                400,
                "invalid_grant",
                format!("jti {jti:?} was already used"),
            ));
        }
        let expires_in = state.expires_in;
        let token = self.issue(&mut state, granted.clone());
        state.grants.push(TokenGrant {
            scopes: granted.clone(),
            expires_in,
            jti,
        });
        let mut response = json_body(
            200,
            "application/json;charset=UTF-8",
            &json!({
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": expires_in,
                "scope": granted.join(" "),
            }),
        );
        response.headers_mut().insert(
            hyper::header::PRAGMA,
            "no-cache".parse().expect("a header value"),
        );
        Ok(response)
    }

    /// Checks a client assertion (Security Framework §4.1.1) and returns its `jti`.
    async fn verify_assertion(&self, assertion: &str) -> Result<String, Refuse> {
        let client = |reason: String| refuse(400, "invalid_client", reason);
        let grant = |reason: String| refuse(400, "invalid_grant", reason);
        let segments: Vec<&str> = assertion.split('.').collect();
        let [head, payload, signature] = segments.as_slice() else {
            return Err(client("the client assertion is not a compact JWS".into()));
        };
        let header = decode_segment(head).map_err(|e| client(format!("JOSE header: {e}")))?;
        if header.get("alg").and_then(Value::as_str) != Some("RS256") {
            return Err(client(format!(
                "alg {:?}, expected RS256",
                header.get("alg")
            )));
        }
        let Some(kid) = header.get("kid").and_then(Value::as_str) else {
            return Err(client("no kid in the JOSE header".into()));
        };
        let key = self.tool_key(kid).await.map_err(client)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| client("the signature is not base64url".into()))?;
        if !key.verify_rs256(format!("{head}.{payload}").as_bytes(), &signature) {
            return Err(client(format!("bad signature for kid {kid}")));
        }
        let claims = decode_segment(payload).map_err(|e| client(format!("claims: {e}")))?;
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        let client_id = self.config.client_id.as_str();
        if text("iss") != Some(client_id) {
            return Err(client(format!(
                "iss {:?}, expected {client_id}",
                claims.get("iss")
            )));
        }
        if text("sub") != Some(client_id) {
            return Err(client(format!(
                "sub {:?}, expected {client_id}",
                claims.get("sub")
            )));
        }
        let audience = self.audience();
        let aud_ok = match claims.get("aud") {
            Some(Value::String(aud)) => *aud == audience,
            Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(&audience)),
            _ => false,
        };
        if !aud_ok {
            return Err(grant(format!(
                "aud {:?} does not contain {audience}",
                claims.get("aud")
            )));
        }
        let now = self.config.clock.now().unix_timestamp();
        let Some(exp) = claims.get("exp").and_then(number) else {
            return Err(grant("no numeric exp".into()));
        };
        if exp <= now {
            return Err(grant(format!("exp {exp} is not after now ({now})")));
        }
        if exp - now > self.config.max_assertion_lifetime {
            return Err(grant(format!(
                "exp {exp} is more than {}s after now ({now})",
                self.config.max_assertion_lifetime
            )));
        }
        let Some(iat) = claims.get("iat").and_then(number) else {
            return Err(grant("no numeric iat".into()));
        };
        if iat > now + IAT_SKEW {
            return Err(grant(format!("iat {iat} is in the future (now {now})")));
        }
        match text("jti") {
            Some(jti) if !jti.is_empty() => Ok(jti.to_owned()),
            _ => Err(grant("no jti".into())),
        }
    }

    /// The tool's key `kid`: from the configured set, the cached fetched set, or a fetch.
    async fn tool_key(&self, kid: &str) -> Result<PlatformKey, String> {
        let url = {
            let state = self.lock();
            if let Some(key) = state.tool_jwks.as_ref().and_then(|j| find_key(j, kid)) {
                return Ok(key);
            }
            if let Some(key) = state.fetched_jwks.as_ref().and_then(|j| find_key(j, kid)) {
                return Ok(key);
            }
            state.tool_jwks_url.clone()
        };
        let Some(url) = url else {
            return Err(format!("kid {kid} is not in the tool's JWK set"));
        };
        self.lock().jwks_fetches += 1;
        let fetched: Value = async {
            let response = self.http.get(&url).send().await?.error_for_status()?;
            response.json().await
        }
        .await
        .map_err(|e| format!("cannot fetch the tool's JWK set from {url}: {e}"))?;
        let key = find_key(&fetched, kid);
        self.lock().fetched_jwks = Some(fetched);
        key.ok_or_else(|| format!("kid {kid} is not in the tool's JWK set at {url}"))
    }

    // --- line items ---

    fn container(&self, parts: &Parts, body: &[u8], context: &str) -> Outcome {
        match parts.method {
            Method::GET => {
                self.authorize(parts, &[SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY])?;
                let query = query_map(parts);
                let items: Vec<Value> = {
                    let state = self.lock();
                    state
                        .items
                        .values()
                        .filter(|item| item.context == context)
                        .filter(|item| {
                            [
                                ("resource_link_id", "resourceLinkId"),
                                ("resource_id", "resourceId"),
                                ("tag", "tag"),
                            ]
                            .iter()
                            .all(|(param, member)| {
                                query.get(*param).is_none_or(|wanted| {
                                    item.body.get(*member).and_then(Value::as_str)
                                        == Some(wanted.as_str())
                                })
                            })
                        })
                        .map(|item| Value::Object(item.body.clone()))
                        .collect()
                };
                Ok(self.paged(parts, items, LINEITEM_CONTAINER_MEDIA_TYPE))
            }
            Method::POST => {
                self.authorize(parts, &[SCOPE_LINEITEM])?;
                require_media_type(parts, LINEITEM_MEDIA_TYPE)?;
                let item = parse_line_item(body)?;
                let (url, item) = self.create_item(&mut self.lock(), context, item);
                let mut response = json_body(201, LINEITEM_MEDIA_TYPE, &Value::Object(item));
                response.headers_mut().insert(
                    hyper::header::LOCATION,
                    url.parse().expect("a header value"),
                );
                Ok(response)
            }
            ref other => Err(refuse(
                405,
                "invalid_request",
                format!("{other} on a line item container"),
            )),
        }
    }

    fn item(&self, parts: &Parts, body: &[u8], context: &str, id: u64) -> Outcome {
        let readonly = [SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY];
        match parts.method {
            Method::GET => self.authorize(parts, &readonly)?,
            Method::PUT | Method::DELETE => self.authorize(parts, &[SCOPE_LINEITEM])?,
            ref other => {
                return Err(refuse(
                    405,
                    "invalid_request",
                    format!(
                        "{other} on a line item (scores go to the line item path + /scores, \
                         before any query string)"
                    ),
                ));
            }
        }
        let mut state = self.lock();
        let Some(stored) = state.items.get_mut(&id).filter(|i| i.context == context) else {
            return Err(refuse(
                404,
                "not_found",
                format!("no line item {id} in {context}"),
            ));
        };
        match parts.method {
            Method::GET => Ok(json_body(
                200,
                LINEITEM_MEDIA_TYPE,
                &Value::Object(stored.body.clone()),
            )),
            Method::PUT => {
                drop(state);
                require_media_type(parts, LINEITEM_MEDIA_TYPE)?;
                let mut update = parse_line_item(body)?;
                let mut state = self.lock();
                let Some(stored) = state.items.get_mut(&id) else {
                    return Err(refuse(404, "not_found", format!("no line item {id}")));
                };
                let url = stored.body.get("id").cloned().unwrap_or(Value::Null);
                if update.get("id").is_some_and(|v| *v != url) {
                    return Err(refuse(
                        400,
                        "invalid_request",
                        "the line item id cannot change",
                    ));
                }
                if let Some(link) = stored.body.get("resourceLinkId")
                    && update.get("resourceLinkId").is_some_and(|v| v != link)
                {
                    return Err(refuse(
                        400,
                        "invalid_request",
                        "the line item resourceLinkId cannot change",
                    ));
                }
                if let Some(link) = stored.body.get("resourceLinkId") {
                    update.insert("resourceLinkId".into(), link.clone());
                }
                update.insert("id".into(), url);
                stored.body = update;
                Ok(json_body(
                    200,
                    LINEITEM_MEDIA_TYPE,
                    &Value::Object(stored.body.clone()),
                ))
            }
            _ => {
                state.items.remove(&id);
                Ok(respond(204, "text/plain", Bytes::new()))
            }
        }
    }

    // --- scores ---

    fn score(&self, parts: &Parts, body: &[u8], context: &str, id: u64) -> Outcome {
        if parts.method != Method::POST {
            return Err(refuse(
                405,
                "invalid_request",
                format!(
                    "{} on scores: the score service is write-only",
                    parts.method
                ),
            ));
        }
        self.authorize(parts, &[SCOPE_SCORE])?;
        require_media_type(parts, SCORE_MEDIA_TYPE)?;
        let body: Value = serde_json::from_slice(body).map_err(|e| {
            refuse(
                400,
                "invalid_request",
                format!("the score is not JSON: {e}"),
            )
        })?;
        let user_agent = header(parts, "user-agent").unwrap_or_default().to_owned();
        let mut state = self.lock();
        let Some(stored) = state.items.get(&id).filter(|i| i.context == context) else {
            return Err(refuse(
                404,
                "not_found",
                format!("no line item {id} in {context}"),
            ));
        };
        let line_item = stored
            .body
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let extra = state
            .extra_credit
            .get(&id)
            .copied()
            .unwrap_or(self.config.allow_extra_credit);
        let (score, at) = parse_score(&body, extra, line_item, user_agent)
            .map_err(|reason| refuse(400, "invalid_request", reason))?;
        let key = (id, score.user_id.clone());
        if let Some((last, last_text)) = state.last_timestamp.get(&key)
            && at <= *last
        {
            let reason = if at == *last {
                StaleReason::SameTimestamp
            } else {
                StaleReason::OutOfOrder
            };
            let rejected = RejectedScore {
                line_item: score.line_item,
                user_id: score.user_id,
                score_given: score.score_given,
                timestamp: score.timestamp,
                last_accepted: last_text.clone(),
                reason,
            };
            let message = format!(
                "score timestamp {} is not after the last accepted {} ({reason:?})",
                rejected.timestamp, rejected.last_accepted
            );
            state.rejected.push(rejected);
            return Err(refuse(
                self.config.stale_score_status,
                "invalid_request",
                message,
            ));
        }
        state
            .last_timestamp
            .insert(key, (at, score.timestamp.clone()));
        let result_url = format!(
            "{}/results{}",
            strip_query(&score.line_item),
            self.query_suffix()
        );
        state.scores.push(score);
        Ok(json_body(
            200,
            "application/json",
            &json!({"resultUrl": result_url}),
        ))
    }

    // --- results ---

    fn results(&self, parts: &Parts, context: &str, id: u64) -> Outcome {
        if parts.method != Method::GET {
            return Err(refuse(
                405,
                "invalid_request",
                format!(
                    "{} on results: the result service is read-only",
                    parts.method
                ),
            ));
        }
        self.authorize(parts, &[SCOPE_RESULT_READONLY])?;
        let query = query_map(parts);
        let results: Vec<Value> = {
            let state = self.lock();
            let Some(stored) = state.items.get(&id).filter(|i| i.context == context) else {
                return Err(refuse(
                    404,
                    "not_found",
                    format!("no line item {id} in {context}"),
                ));
            };
            let line_item = stored
                .body
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let item_max = stored.body.get("scoreMaximum").and_then(Value::as_f64);
            let mut latest: BTreeMap<&str, &ReceivedScore> = BTreeMap::new();
            for score in state.scores.iter().filter(|s| s.line_item == line_item) {
                latest.insert(&score.user_id, score);
            }
            latest
                .into_values()
                .filter(|s| query.get("user_id").is_none_or(|u| *u == s.user_id))
                .filter_map(|s| {
                    let given = s.score_given?;
                    let max = s.score_maximum.unwrap_or(1.0);
                    let (result, result_max) = match item_max {
                        Some(item_max) => (given / max * item_max, item_max),
                        None => (given, max),
                    };
                    Some(json!({
                        "id": format!("{}/results/{}", strip_query(line_item), s.user_id),
                        "scoreOf": line_item,
                        "userId": s.user_id,
                        "resultScore": result,
                        "resultMaximum": result_max,
                        "comment": s.comment,
                    }))
                })
                .collect()
        };
        Ok(self.paged(parts, results, RESULT_CONTAINER_MEDIA_TYPE))
    }

    /// One page of `items` (`limit` ≤ page size, `page` from 1) with a `Link: rel="next"`
    /// to the following page when there is one (AGS 2.0 §3.2.4).
    fn paged(&self, parts: &Parts, items: Vec<Value>, media_type: &str) -> HttpResponse {
        let query = query_map(parts);
        let limit = query
            .get("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .filter(|l| *l > 0)
            .map_or(self.config.page_size, |l| l.min(self.config.page_size));
        let page = query
            .get("page")
            .and_then(|p| p.parse::<usize>().ok())
            .filter(|p| *p > 0)
            .unwrap_or(1);
        let start = (page - 1).saturating_mul(limit);
        let total = items.len();
        let body: Vec<Value> = items.into_iter().skip(start).take(limit).collect();
        let mut response = json_body(200, media_type, &Value::Array(body));
        if start.saturating_add(limit) < total {
            let mut next =
                Url::parse(&format!("{}{}", self.base, parts.uri.path())).expect("a valid URL");
            {
                let mut pairs = next.query_pairs_mut();
                let mut original: Vec<(&String, &String)> =
                    query.iter().filter(|(k, _)| *k != "page").collect();
                original.sort();
                for (k, v) in original {
                    pairs.append_pair(k, v);
                }
                pairs.append_pair("page", &(page + 1).to_string());
            }
            response.headers_mut().insert(
                hyper::header::LINK,
                format!("<{next}>; rel=\"next\"")
                    .parse()
                    .expect("a header value"),
            );
        }
        response
    }
}

/// A line item from a tool: a JSON object with a non-blank `label` (AGS 2.0 §3.2.7) and a
/// `scoreMaximum` > 0 (§3.2.8).
fn parse_line_item(body: &[u8]) -> Result<Map<String, Value>, Refuse> {
    let bad = |reason: String| refuse(400, "invalid_request", reason);
    let Ok(Value::Object(item)) = serde_json::from_slice::<Value>(body) else {
        return Err(bad("the line item is not a JSON object".into()));
    };
    if item
        .get("label")
        .and_then(Value::as_str)
        .is_none_or(|l| l.trim().is_empty())
    {
        return Err(bad("label is required and not blank".into()));
    }
    if item
        .get("scoreMaximum")
        .and_then(Value::as_f64)
        .is_none_or(|m| m.is_nan() || m <= 0.0)
    {
        return Err(bad("scoreMaximum must be a number > 0".into()));
    }
    for member in ["resourceLinkId", "resourceId", "tag"] {
        if item
            .get(member)
            .is_some_and(|v| !v.is_string() && !v.is_null())
        {
            return Err(bad(format!("{member} must be a string")));
        }
    }
    Ok(item)
}

/// A score as AGS 2.0 §3.4 defines it, with its parsed timestamp.
fn parse_score(
    body: &Value,
    allow_extra_credit: bool,
    line_item: String,
    user_agent: String,
) -> Result<(ReceivedScore, OffsetDateTime), String> {
    let Value::Object(score) = body else {
        return Err("the score is not a JSON object".into());
    };
    let optional_string = |name: &str| -> Result<Option<String>, String> {
        match score.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!("{name} must be a string, not {other}")),
        }
    };
    let optional_number = |name: &str| -> Result<Option<f64>, String> {
        match score.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => value
                .as_f64()
                .filter(|f| f.is_finite())
                .map(Some)
                .ok_or_else(|| format!("{name} must be a number, not {value}")),
        }
    };
    let user_id = optional_string("userId")?
        .filter(|u| !u.is_empty())
        .ok_or("userId is required (AGS 2.0 §3.4.5)")?;
    let timestamp = optional_string("timestamp")?.ok_or("timestamp is required (§3.4.9)")?;
    let at = OffsetDateTime::parse(&timestamp, &Rfc3339)
        .map_err(|e| format!("timestamp {timestamp:?} is not RFC 3339: {e}"))?;
    let time_part = timestamp.split_once(['T', 't']).map_or("", |(_, t)| t);
    if !time_part.contains('.') {
        return Err(format!(
            "timestamp {timestamp:?} has no sub-second precision (§3.4.9)"
        ));
    }
    let enumerated = |name: &str, allowed: &[&str]| -> Result<String, String> {
        match optional_string(name)? {
            Some(value) if allowed.contains(&value.as_str()) => Ok(value),
            other => Err(format!("{name} {other:?} is not one of {allowed:?}")),
        }
    };
    let activity_progress = enumerated("activityProgress", &ACTIVITY_PROGRESS)?;
    let grading_progress = enumerated("gradingProgress", &GRADING_PROGRESS)?;
    let score_given = optional_number("scoreGiven")?;
    let score_maximum = optional_number("scoreMaximum")?;
    if let Some(given) = score_given {
        if given < 0.0 {
            return Err(format!("scoreGiven {given} is negative (§3.4.4)"));
        }
        let Some(maximum) = score_maximum else {
            return Err("scoreMaximum is required with scoreGiven (§3.4.4)".into());
        };
        if given > maximum && !allow_extra_credit {
            return Err(format!(
                "scoreGiven {given} exceeds scoreMaximum {maximum} on a line item without \
                 extra credit"
            ));
        }
    }
    if let Some(maximum) = score_maximum
        && maximum <= 0.0
    {
        return Err(format!("scoreMaximum {maximum} must be > 0"));
    }
    let comment = optional_string("comment")?;
    let scoring_user_id = optional_string("scoringUserId")?;
    if scoring_user_id.as_deref() == Some("") {
        return Err("scoringUserId must not be empty (§3.4.6)".into());
    }
    Ok((
        ReceivedScore {
            line_item,
            user_id,
            score_given,
            score_maximum,
            activity_progress,
            grading_progress,
            timestamp,
            comment,
            scoring_user_id,
            body: body.clone(),
            user_agent,
        },
        at,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_parse_recognises_every_endpoint() {
        assert_eq!(Route::parse("/token"), Route::Token);
        assert_eq!(Route::parse("/c1/lineitems"), Route::Container("c1".into()));
        assert_eq!(
            Route::parse("/c1/lineitems/7/lineitem"),
            Route::Item("c1".into(), 7)
        );
        assert_eq!(
            Route::parse("/c1/lineitems/7/lineitem/scores"),
            Route::Scores("c1".into(), 7)
        );
        assert_eq!(
            Route::parse("/c1/lineitems/7/lineitem/results"),
            Route::Results("c1".into(), 7)
        );
        assert_eq!(Route::parse("/c1/lineitems/x/lineitem"), Route::Unknown);
        assert_eq!(Route::parse("/c1/other"), Route::Unknown);
    }

    fn score(body: Value) -> Result<(ReceivedScore, OffsetDateTime), String> {
        parse_score(&body, false, "li".into(), "ua".into())
    }

    #[test]
    fn parse_score_valid_score_is_accepted() {
        let (parsed, _) = score(json!({
            "userId": "u1", "scoreGiven": 7, "scoreMaximum": 10, "comment": "ok",
            "activityProgress": "Completed", "gradingProgress": "FullyGraded",
            "timestamp": "2017-04-16T18:54:36.736+00:00",
        }))
        .unwrap();
        assert_eq!(parsed.score_given, Some(7.0));
        assert_eq!(parsed.comment.as_deref(), Some("ok"));
    }

    #[test]
    fn parse_score_each_bad_field_is_named() {
        let good = json!({
            "userId": "u1", "scoreGiven": 7, "scoreMaximum": 10,
            "activityProgress": "Completed", "gradingProgress": "FullyGraded",
            "timestamp": "2017-04-16T18:54:36.736Z",
        });
        for (field, value, expected) in [
            ("userId", json!(""), "userId"),
            ("timestamp", json!("2017-04-16T18:54:36Z"), "sub-second"),
            ("timestamp", json!("yesterday"), "RFC 3339"),
            ("activityProgress", json!("Done"), "activityProgress"),
            ("gradingProgress", json!(null), "gradingProgress"),
            ("scoreGiven", json!(-1), "negative"),
            ("scoreGiven", json!(11), "exceeds"),
            ("scoreMaximum", json!(null), "scoreMaximum is required"),
            ("comment", json!(5), "comment"),
        ] {
            let mut body = good.clone();
            body[field] = value;
            let error = score(body).unwrap_err();
            assert!(error.contains(expected), "{field}: {error}");
        }
    }
}
