//! The Assignment and Grade Services 2.0 client: access tokens, line items and scores.
//!
//! - **Access tokens** (Security Framework §4.1): the OAuth 2 client-credentials grant with a
//!   JWT client assertion signed by the tool's current key (`iss` = `sub` = client id, `aud` =
//!   the token endpoint or the platform's declared audience, unique `jti`, five-minute `exp`,
//!   `kid` in the header). Tokens are cached per (issuer, client id, token URL, sorted scopes)
//!   in memory and in the shared store ([`ItemKind::AccessToken`]) until shortly before they
//!   expire, and concurrent refreshes of one key collapse into a single request, so a burst of
//!   grades never makes a platform rate-limit the tool.
//! - **Scores** (AGS 2.0 §3.4): `POST <line item>/scores` (the path segment goes before any
//!   query string, as Moodle's line item URLs carry `?type_id=…`), media type
//!   `application/vnd.ims.lis.v1.score+json`, timestamps with milliseconds. A 401 refreshes the
//!   token once and retries.
//! - **Line items** (AGS 2.0 §3.2): found by `resource_link_id` in the container, following
//!   `Link: rel="next"` pages on the container's origin only (the bearer token never goes to
//!   another origin), or created when the `lineitem` scope allows.
//!
//! Every request sends a `User-Agent`. Errors say whether a retry can help
//! ([`AgsError::is_retryable`]) and carry the platform's `Retry-After`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use time::OffsetDateTime;
use url::Url;

use crate::clock::Clock;
use crate::ids::{ResourceLinkId, UserId};
use crate::keys::{KeyError, KeySet};
use crate::model::Registration;
use crate::ports::{ExpiringItems, ItemKind};
use crate::score::{ActivityProgress, GradingProgress, Score, ags_timestamp};

/// Scope: create and manage line items (AGS 2.0 §3.1).
pub const SCOPE_LINEITEM: &str = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem";
/// Scope: read line items.
pub const SCOPE_LINEITEM_READONLY: &str =
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly";
/// Scope: read results.
pub const SCOPE_RESULT_READONLY: &str =
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly";
/// Scope: post scores.
pub const SCOPE_SCORE: &str = "https://purl.imsglobal.org/spec/lti-ags/scope/score";
/// Scope: read the context's membership (Names and Role Provisioning Services 2.0 §3).
pub const SCOPE_NRPS: &str =
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly";
const MEMBERSHIP_MEDIA_TYPE: &str = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json";

/// The `User-Agent` of every request the tool makes to a platform.
pub const USER_AGENT: &str = concat!("lti-tool/", env!("CARGO_PKG_VERSION"));
/// How long one request to a platform may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client assertion is valid (Security Framework §4.1.1 wants it short).
pub const ASSERTION_LIFETIME: time::Duration = time::Duration::minutes(5);
/// A cached token is dropped this long before the platform says it expires.
pub const TOKEN_EXPIRY_MARGIN: time::Duration = time::Duration::seconds(60);
/// The most line item pages followed while searching.
pub const MAX_PAGES: usize = 50;
/// The largest answer read from a platform.
pub const MAX_RESPONSE_BYTES: usize = 2 * 1024 * 1024;

const SCORE_MEDIA_TYPE: &str = "application/vnd.ims.lis.v1.score+json";
const LINEITEM_MEDIA_TYPE: &str = "application/vnd.ims.lis.v2.lineitem+json";
const CONTAINER_MEDIA_TYPE: &str = "application/vnd.ims.lis.v2.lineitemcontainer+json";

/// Why a call to the platform failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AgsError {
    /// The platform answered with an error status.
    #[error("the platform answered HTTP {status} to {what}{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Http {
        /// What was asked (e.g. "the score").
        what: &'static str,
        /// The HTTP status.
        status: u16,
        /// The platform's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
        /// The start of the platform's error body, when it sent one.
        detail: Option<String>,
    },
    /// The platform could not be reached (connection refused, DNS, TLS, timeout).
    #[error("could not reach the platform for {what} ({detail}); it will be retried")]
    Transport {
        /// What was asked.
        what: &'static str,
        /// The cause.
        detail: String,
    },
    /// The launch did not grant a scope the operation needs.
    #[error("the platform did not grant the {0} scope for this resource link")]
    MissingScope(&'static str),
    /// There is no line item and none may be created.
    #[error(
        "the launch named no line item and did not grant the lineitem scope to find or create \
         one; ask the platform administrator to enable grade passback for the tool"
    )]
    NoLineItem,
    /// A URL from the platform is not usable.
    #[error("the platform's {0} is not a usable http(s) URL")]
    BadUrl(&'static str),
    /// The platform's answer could not be read.
    #[error("the platform's answer to {what} could not be read: {detail}")]
    Malformed {
        /// What was asked.
        what: &'static str,
        /// Why.
        detail: String,
    },
    /// The tool has no signing key.
    #[error("the tool has no current signing key; run `ltictl keys init`")]
    NoKey,
}

impl AgsError {
    /// Whether trying again later can succeed: transport failures, 408, 429 and 5xx (and a
    /// 401 that survived one token refresh, as the platform may be mid-rotation).
    pub fn is_retryable(&self) -> bool {
        match self {
            AgsError::Transport { .. } => true,
            AgsError::Http { status, .. } => {
                matches!(status, 401 | 408 | 425 | 429) || *status >= 500
            }
            _ => false,
        }
    }

    /// The delay the platform asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            AgsError::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The HTTP status, when the platform answered.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            AgsError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl From<KeyError> for AgsError {
    fn from(_: KeyError) -> Self {
        AgsError::NoKey
    }
}

/// The claims of a client assertion (Security Framework §4.1.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssertionClaims {
    /// The client id.
    pub iss: String,
    /// The client id.
    pub sub: String,
    /// The token endpoint (or the platform's declared audience).
    pub aud: String,
    /// Issued at.
    pub iat: i64,
    /// Expires at.
    pub exp: i64,
    /// Unique id, so the platform can refuse a replay.
    pub jti: String,
}

/// Builds the client assertion for `registration` at `now`.
pub fn client_assertion(
    keys: &KeySet,
    registration: &Registration,
    now: OffsetDateTime,
) -> Result<String, KeyError> {
    let aud = registration
        .options
        .token_audience
        .clone()
        .unwrap_or_else(|| registration.token_url.to_string());
    keys.sign_jwt(&AssertionClaims {
        iss: registration.client_id.to_string(),
        sub: registration.client_id.to_string(),
        aud,
        iat: now.unix_timestamp(),
        exp: (now + ASSERTION_LIFETIME).unix_timestamp(),
        jti: uuid::Uuid::new_v4().to_string(),
    })
}

/// The scores endpoint of a line item: `/scores` appended to the path, before any query
/// string (AGS 2.0 §3.4; Moodle's line items look like `…/lineitem?type_id=3`).
pub fn scores_url(lineitem: &str) -> Result<Url, AgsError> {
    let mut url = Url::parse(lineitem).map_err(|_| AgsError::BadUrl("line item URL"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(AgsError::BadUrl("line item URL"));
    }
    let path = format!("{}/scores", url.path().trim_end_matches('/'));
    url.set_path(&path);
    Ok(url)
}

/// The `rel="next"` target of a `Link` header (RFC 8288), if any.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|link| {
        let (target, params) = link.trim().split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        params
            .split(';')
            .filter_map(|p| p.trim().split_once('='))
            .any(|(name, value)| {
                name.trim().eq_ignore_ascii_case("rel")
                    && value
                        .trim()
                        .trim_matches('"')
                        .split_ascii_whitespace()
                        .any(|rel| rel.eq_ignore_ascii_case("next"))
            })
            .then(|| target.to_owned())
    })
}

/// Reads `Retry-After`: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
pub fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The JSON score body (AGS 2.0 §3.4).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ScoreBody<'a> {
    user_id: &'a str,
    score_given: f64,
    score_maximum: f64,
    activity_progress: ActivityProgress,
    grading_progress: GradingProgress,
    timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<&'a str>,
}

/// The body of a score post for `user` (public for tests and the benchmark).
pub fn score_body(user: &UserId, score: &Score) -> serde_json::Value {
    serde_json::to_value(ScoreBody {
        user_id: user.as_str(),
        score_given: score.given,
        score_maximum: score.maximum,
        activity_progress: score.activity_progress,
        grading_progress: score.grading_progress,
        timestamp: ags_timestamp(score.timestamp),
        comment: score.comment.as_deref(),
    })
    .unwrap_or_default()
}

#[derive(Debug, Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LineItemAnswer {
    id: String,
    #[serde(default)]
    resource_link_id: Option<String>,
}

#[derive(Clone)]
struct CachedToken {
    token: String,
    expires_at: OffsetDateTime,
}

/// The cache key of a token: a digest of issuer, client id, token URL and sorted scopes.
fn token_key(registration: &Registration, scopes: &[String]) -> String {
    let mut sorted: Vec<&str> = scopes.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut digest = sha2::Sha256::new();
    for part in [
        registration.issuer.as_str(),
        registration.client_id.as_str(),
        registration.token_url.as_str(),
    ] {
        digest.update(part.as_bytes());
        digest.update([0]);
    }
    digest.update(sorted.join(" ").as_bytes());
    digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The AGS client. Cheap to share (`Arc`); its token cache lives as long as it does, so a
/// Lambda keeps tokens across invocations.
pub struct AgsClient {
    http: crate::outbound::LazyClient,
    items: Arc<dyn ExpiringItems>,
    clock: Arc<dyn Clock>,
    memory: Mutex<HashMap<String, CachedToken>>,
    refreshing: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl std::fmt::Debug for AgsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgsClient").finish_non_exhaustive()
    }
}

fn transport(what: &'static str) -> impl Fn(reqwest::Error) -> AgsError {
    move |e| AgsError::Transport {
        what,
        detail: if e.is_timeout() {
            "timed out".to_owned()
        } else if e.is_connect() {
            "connection failed".to_owned()
        } else {
            "the connection broke".to_owned()
        },
    }
}

/// Reads a bounded body.
async fn read_body(
    mut response: reqwest::Response,
    what: &'static str,
) -> Result<Vec<u8>, AgsError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport(what))? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(AgsError::Malformed {
                what,
                detail: "the answer is too large".to_owned(),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Turns a non-success answer into [`AgsError::Http`].
async fn http_error(response: reqwest::Response, what: &'static str) -> AgsError {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()));
    let detail = read_body(response, what).await.ok().and_then(|body| {
        let text: String = String::from_utf8_lossy(&body)
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        (!text.trim().is_empty()).then_some(text)
    });
    AgsError::Http {
        what,
        status,
        retry_after,
        detail,
    }
}

impl AgsClient {
    /// The HTTP client, built on first use.
    fn http(&self) -> Result<&reqwest::Client, AgsError> {
        self.http.get().map_err(|detail| AgsError::Transport {
            what: "setting up the HTTP client",
            detail: detail.to_owned(),
        })
    }

    /// A client with the default timeout, caching tokens in `items` too.
    pub fn new(items: Arc<dyn ExpiringItems>, clock: Arc<dyn Clock>) -> Result<Self, AgsError> {
        Self::with_timeout(items, clock, REQUEST_TIMEOUT)
    }

    /// A client whose requests time out after `timeout`.
    pub fn with_timeout(
        items: Arc<dyn ExpiringItems>,
        clock: Arc<dyn Clock>,
        timeout: Duration,
    ) -> Result<Self, AgsError> {
        // Built on the first platform call, not at cold start (see `crate::outbound`).
        let http = crate::outbound::LazyClient::new(move || {
            reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout.min(Duration::from_secs(5)))
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(USER_AGENT)
        });
        Ok(Self {
            http,
            items,
            clock,
            memory: Mutex::new(HashMap::new()),
            refreshing: Mutex::new(HashMap::new()),
        })
    }

    fn cached(&self, key: &str, now: OffsetDateTime) -> Option<String> {
        let memory = self.memory.lock().unwrap_or_else(|p| p.into_inner());
        memory
            .get(key)
            .filter(|t| t.expires_at > now)
            .map(|t| t.token.clone())
    }

    /// An access token for `scopes`, from the cache or the platform.
    pub async fn access_token(
        &self,
        registration: &Registration,
        keys: &KeySet,
        scopes: &[String],
    ) -> Result<String, AgsError> {
        let key = token_key(registration, scopes);
        if let Some(token) = self.cached(&key, self.clock.now()) {
            return Ok(token);
        }
        let lock = {
            let mut refreshing = self.refreshing.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(refreshing.entry(key.clone()).or_default())
        };
        let _guard = lock.lock().await;
        // Whoever held the lock before may have fetched it.
        let now = self.clock.now();
        if let Some(token) = self.cached(&key, now) {
            return Ok(token);
        }
        if let Ok(Some(token)) = self.items.item(ItemKind::AccessToken, &key, now).await {
            // The shared copy's expiry is not stored with it; keep it briefly in memory.
            self.remember(&key, &token, now + TOKEN_EXPIRY_MARGIN);
            return Ok(token);
        }
        let (token, expires_in) = self.request_token(registration, keys, scopes).await?;
        let now = self.clock.now();
        let expires_at = now + time::Duration::seconds(expires_in) - TOKEN_EXPIRY_MARGIN;
        if expires_at > now {
            self.remember(&key, &token, expires_at);
            if let Err(error) = self
                .items
                .put_item(ItemKind::AccessToken, &key, &token, expires_at)
                .await
            {
                tracing::warn!(%error, "the access token could not be shared through the store");
            }
        }
        Ok(token)
    }

    fn remember(&self, key: &str, token: &str, expires_at: OffsetDateTime) {
        let mut memory = self.memory.lock().unwrap_or_else(|p| p.into_inner());
        memory.insert(
            key.to_owned(),
            CachedToken {
                token: token.to_owned(),
                expires_at,
            },
        );
    }

    /// Forgets a token the platform refused (memory and the shared store).
    pub async fn invalidate(&self, registration: &Registration, scopes: &[String]) {
        let key = token_key(registration, scopes);
        self.memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key);
        if let Err(error) = self.items.remove_item(ItemKind::AccessToken, &key).await {
            tracing::warn!(%error, "a refused access token could not be removed from the store");
        }
    }

    async fn request_token(
        &self,
        registration: &Registration,
        keys: &KeySet,
        scopes: &[String],
    ) -> Result<(String, i64), AgsError> {
        const WHAT: &str = "the access token request";
        let assertion = client_assertion(keys, registration, self.clock.now())?;
        let mut sorted: Vec<&str> = scopes.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        sorted.dedup();
        let scope = sorted.join(" ");
        let response = self
            .http()?
            .post(registration.token_url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[
                ("grant_type", "client_credentials"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", assertion.as_str()),
                ("scope", scope.as_str()),
            ])
            .send()
            .await
            .map_err(transport(WHAT))?;
        if !response.status().is_success() {
            return Err(http_error(response, WHAT).await);
        }
        let body = read_body(response, WHAT).await?;
        let answer: TokenAnswer =
            serde_json::from_slice(&body).map_err(|e| AgsError::Malformed {
                what: WHAT,
                detail: e.to_string(),
            })?;
        Ok((answer.access_token, answer.expires_in.unwrap_or(3600)))
    }

    /// Sends `request` with a bearer token; on a 401 forgets the token, gets a new one and
    /// sends once more.
    async fn authorized(
        &self,
        registration: &Registration,
        keys: &KeySet,
        scopes: &[String],
        what: &'static str,
        request: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, AgsError> {
        let http = self.http()?;
        let mut refreshed = false;
        loop {
            let token = self.access_token(registration, keys, scopes).await?;
            let response = request(http, &token)
                .send()
                .await
                .map_err(transport(what))?;
            if response.status() == reqwest::StatusCode::UNAUTHORIZED && !refreshed {
                self.invalidate(registration, scopes).await;
                refreshed = true;
                continue;
            }
            if response.status().is_success() {
                return Ok(response);
            }
            return Err(http_error(response, what).await);
        }
    }

    /// Posts `score` for `user` to `lineitem` (AGS 2.0 §3.4).
    pub async fn post_score(
        &self,
        registration: &Registration,
        keys: &KeySet,
        granted: &[String],
        lineitem: &str,
        user: &UserId,
        score: &Score,
    ) -> Result<(), AgsError> {
        if !granted.iter().any(|s| s == SCOPE_SCORE) {
            return Err(AgsError::MissingScope("score"));
        }
        let url = scores_url(lineitem)?;
        let body = score_body(user, score).to_string();
        let scopes = token_scopes(granted);
        self.authorized(registration, keys, &scopes, "the score", |http, token| {
            http.post(url.clone())
                .bearer_auth(token)
                .header(reqwest::header::CONTENT_TYPE, SCORE_MEDIA_TYPE)
                .body(body.clone())
        })
        .await
        .map(drop)
    }

    /// The line item of `resource_link` in the container `lineitems`: found by
    /// `resource_link_id`, or created with `label` and `score_maximum` when the `lineitem`
    /// scope was granted.
    #[allow(clippy::too_many_arguments)]
    pub async fn find_or_create_lineitem(
        &self,
        registration: &Registration,
        keys: &KeySet,
        granted: &[String],
        lineitems: &str,
        resource_link: &ResourceLinkId,
        label: &str,
        score_maximum: f64,
    ) -> Result<String, AgsError> {
        let can_read = granted
            .iter()
            .any(|s| s == SCOPE_LINEITEM || s == SCOPE_LINEITEM_READONLY);
        if !can_read {
            return Err(AgsError::NoLineItem);
        }
        let container = Url::parse(lineitems).map_err(|_| AgsError::BadUrl("line items URL"))?;
        let scopes = token_scopes(granted);
        let mut page = container.clone();
        page.query_pairs_mut()
            .append_pair("resource_link_id", resource_link.as_str());
        for _ in 0..MAX_PAGES {
            const WHAT: &str = "the line items";
            let response = self
                .authorized(registration, keys, &scopes, WHAT, |http, token| {
                    http.get(page.clone())
                        .bearer_auth(token)
                        .header(reqwest::header::ACCEPT, CONTAINER_MEDIA_TYPE)
                })
                .await?;
            let next = response
                .headers()
                .get_all(reqwest::header::LINK)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(next_link);
            let body = read_body(response, WHAT).await?;
            let items: Vec<LineItemAnswer> =
                serde_json::from_slice(&body).map_err(|e| AgsError::Malformed {
                    what: WHAT,
                    detail: e.to_string(),
                })?;
            if let Some(found) = items
                .into_iter()
                .find(|i| i.resource_link_id.as_deref() == Some(resource_link.as_str()))
            {
                return Ok(found.id);
            }
            match next.and_then(|n| page.join(&n).ok()) {
                Some(url) if url.origin() == container.origin() => page = url,
                Some(_) => {
                    tracing::warn!(
                        "the platform's next page of line items is on another origin; not \
                         sending the access token there"
                    );
                    break;
                }
                None => break,
            }
        }
        if !granted.iter().any(|s| s == SCOPE_LINEITEM) {
            return Err(AgsError::NoLineItem);
        }
        const WHAT: &str = "creating the line item";
        let body = serde_json::json!({
            "scoreMaximum": score_maximum,
            "label": label,
            "resourceLinkId": resource_link.as_str(),
        })
        .to_string();
        let response = self
            .authorized(registration, keys, &scopes, WHAT, |http, token| {
                http.post(container.clone())
                    .bearer_auth(token)
                    .header(reqwest::header::CONTENT_TYPE, LINEITEM_MEDIA_TYPE)
                    .header(reqwest::header::ACCEPT, LINEITEM_MEDIA_TYPE)
                    .body(body.clone())
            })
            .await?;
        let body = read_body(response, WHAT).await?;
        let created: LineItemAnswer =
            serde_json::from_slice(&body).map_err(|e| AgsError::Malformed {
                what: WHAT,
                detail: e.to_string(),
            })?;
        Ok(created.id)
    }
}

/// One member of a context as the platform's membership service describes them (NRPS 2.0
/// §3.6). Only the fields the tool shows are read: e-mail addresses and pictures are ignored,
/// and every personal field is optional because the platform's privacy settings decide what
/// it sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The platform's user id (the launch's `sub`).
    pub user_id: String,
    /// `Active`, `Inactive` or `Deleted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Full name, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Given name, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Family name, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// SIS id, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lis_person_sourcedid: Option<String>,
    /// Role URIs in the context.
    #[serde(default)]
    pub roles: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct MembershipPage {
    #[serde(default)]
    members: Vec<Member>,
}

impl AgsClient {
    /// The context's membership from `url` (the launch's `context_memberships_url`), every
    /// page followed through `Link: rel="next"` on the same origin (NRPS 2.0 §3.4), with an
    /// access token for the membership scope.
    pub async fn memberships(
        &self,
        registration: &Registration,
        keys: &KeySet,
        url: &str,
    ) -> Result<Vec<Member>, AgsError> {
        const WHAT: &str = "the course membership";
        let first = Url::parse(url).map_err(|_| AgsError::BadUrl("membership URL"))?;
        if !matches!(first.scheme(), "https" | "http") {
            return Err(AgsError::BadUrl("membership URL"));
        }
        let scopes = vec![SCOPE_NRPS.to_owned()];
        let mut page = first.clone();
        let mut members = Vec::new();
        for _ in 0..MAX_PAGES {
            let response = self
                .authorized(registration, keys, &scopes, WHAT, |http, token| {
                    http.get(page.clone())
                        .bearer_auth(token)
                        .header(reqwest::header::ACCEPT, MEMBERSHIP_MEDIA_TYPE)
                })
                .await?;
            let next = response
                .headers()
                .get_all(reqwest::header::LINK)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(next_link);
            let body = read_body(response, WHAT).await?;
            let parsed: MembershipPage =
                serde_json::from_slice(&body).map_err(|e| AgsError::Malformed {
                    what: WHAT,
                    detail: e.to_string(),
                })?;
            members.extend(parsed.members);
            match next.and_then(|n| page.join(&n).ok()) {
                Some(url) if url.origin() == first.origin() => page = url,
                Some(_) => {
                    tracing::warn!(
                        "the platform's next membership page is on another origin; not \
                         sending the access token there"
                    );
                    break;
                }
                None => break,
            }
        }
        Ok(members)
    }
}

/// The scopes to ask a token for: the AGS and NRPS scopes among `granted`, sorted.
fn token_scopes(granted: &[String]) -> Vec<String> {
    let mut scopes: Vec<String> = granted
        .iter()
        .filter(|s| {
            [
                SCOPE_LINEITEM,
                SCOPE_LINEITEM_READONLY,
                SCOPE_RESULT_READONLY,
                SCOPE_SCORE,
                SCOPE_NRPS,
            ]
            .contains(&s.as_str())
        })
        .cloned()
        .collect();
    scopes.sort();
    scopes.dedup();
    scopes
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;
    use time::macros::datetime;

    #[test]
    fn scores_url_moodle_query_stays_after_the_path() {
        assert_eq!(
            scores_url(
                "https://moodle.example/mod/lti/services.php/2/lineitems/7/lineitem?type_id=3"
            )
            .unwrap()
            .as_str(),
            "https://moodle.example/mod/lti/services.php/2/lineitems/7/lineitem/scores?type_id=3"
        );
    }

    #[test]
    fn scores_url_plain_and_trailing_slash() {
        assert_eq!(
            scores_url("https://canvas.example/api/lti/courses/1/line_items/2")
                .unwrap()
                .as_str(),
            "https://canvas.example/api/lti/courses/1/line_items/2/scores"
        );
        assert_eq!(
            scores_url("https://p.example/li/2/").unwrap().as_str(),
            "https://p.example/li/2/scores"
        );
    }

    #[test]
    fn scores_url_other_scheme_is_refused() {
        assert_eq!(
            scores_url("ftp://p.example/li").unwrap_err(),
            AgsError::BadUrl("line item URL")
        );
        assert!(scores_url("not a url").is_err());
    }

    #[test]
    fn next_link_finds_next_among_several() {
        let header = r#"<https://p.example/li?page=1>; rel="first", <https://p.example/li?page=3>; rel="next""#;
        assert_eq!(
            next_link(header).as_deref(),
            Some("https://p.example/li?page=3")
        );
        assert_eq!(
            next_link("<https://p.example/x>; rel=next").as_deref(),
            Some("https://p.example/x")
        );
        assert_eq!(next_link(r#"<https://p.example/x>; rel="prev""#), None);
        assert_eq!(next_link("garbage"), None);
    }

    #[test]
    fn retry_after_seconds_and_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn retryable_classification() {
        let http = |status| AgsError::Http {
            what: "x",
            status,
            retry_after: None,
            detail: None,
        };
        assert!(http(500).is_retryable());
        assert!(http(503).is_retryable());
        assert!(http(429).is_retryable());
        assert!(!http(400).is_retryable());
        assert!(!http(403).is_retryable());
        assert!(!http(404).is_retryable());
        assert!(
            AgsError::Transport {
                what: "x",
                detail: "timed out".into()
            }
            .is_retryable()
        );
        assert!(!AgsError::NoLineItem.is_retryable());
    }

    #[test]
    fn score_body_uses_ags_names_and_millisecond_timestamp() {
        let score = Score {
            given: 7.0,
            maximum: 10.0,
            activity_progress: ActivityProgress::Completed,
            grading_progress: GradingProgress::FullyGraded,
            comment: None,
            timestamp: datetime!(2026-11-22 10:00:00.5 UTC),
        };
        let body = score_body(&UserId::parse("u-1").unwrap(), &score);
        assert_eq!(
            body,
            serde_json::json!({
                "userId": "u-1", "scoreGiven": 7.0, "scoreMaximum": 10.0,
                "activityProgress": "Completed", "gradingProgress": "FullyGraded",
                "timestamp": "2026-11-22T10:00:00.500Z"
            })
        );
    }

    #[test]
    fn token_scopes_keep_only_service_scopes_sorted() {
        let granted = vec![
            SCOPE_SCORE.to_owned(),
            "https://example.com/not-a-service-scope".to_owned(),
            SCOPE_LINEITEM.to_owned(),
            SCOPE_SCORE.to_owned(),
        ];
        assert_eq!(
            token_scopes(&granted),
            vec![SCOPE_LINEITEM.to_owned(), SCOPE_SCORE.to_owned()]
        );
    }
}
