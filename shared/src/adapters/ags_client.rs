//! The Assignment and Grade Services 2.0 client (and the NRPS membership reader): access
//! tokens, line items, scores and members, over HTTP, with the wire types of [`crate::lti13::ags`].
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
//! Every request sends a `User-Agent` and goes through an [`OutboundClient`] under its
//! [`OutboundPolicy`] (no redirects, timeouts, answers read up to [`MAX_RESPONSE_BYTES`]): a
//! URL refused for what it is (scheme, address literal) is [`AgsError::BadUrl`] before any
//! token is fetched for it; a host name refused for the address it resolves to is
//! [`AgsError::Transport`], retried as DNS answers change. Errors say whether a retry can help
//! ([`AgsError::is_retryable`]) and carry the platform's `Retry-After`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::Digest as _;
use time::OffsetDateTime;
use url::Url;

use crate::adapters::http_client::{OutboundClient, OutboundError, OutboundPolicy, read_capped};
use crate::domain::clock::Clock;
use crate::domain::ids::{LineItemUrl, ResourceLinkId, UserId};
use crate::domain::keys::KeySet;
use crate::domain::model::Registration;
use crate::domain::score::Score;
use crate::lti13::ags::*;
use crate::ports::{ExpiringItems, ItemKind};

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
    http: OutboundClient,
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

/// An [`OutboundError`] of the request for `what` as an [`AgsError`].
fn transport(what: &'static str) -> impl Fn(OutboundError) -> AgsError {
    move |error| {
        let detail = match error {
            OutboundError::Refused(refusal) if !refusal.depends_on_dns() => {
                tracing::warn!(what, %refusal, "platform URL refused by the outbound policy");
                return AgsError::BadUrl(url_label(what));
            }
            OutboundError::TooLarge { .. } => {
                return AgsError::Malformed {
                    what,
                    detail: "the answer is too large".to_owned(),
                };
            }
            OutboundError::Setup(detail) => {
                return AgsError::Transport {
                    what: "setting up the HTTP client",
                    detail,
                };
            }
            refused @ OutboundError::Refused(_) => format!("its URL {refused}"),
            OutboundError::Timeout => "timed out".to_owned(),
            OutboundError::Connect(_) => "connection failed".to_owned(),
            OutboundError::Transport(_) => "the connection broke".to_owned(),
        };
        AgsError::Transport { what, detail }
    }
}

/// The URL a request for `what` goes to, as [`AgsError::BadUrl`] names it.
fn url_label(what: &'static str) -> &'static str {
    match what {
        "the access token request" => "token URL",
        "the score" => "line item URL",
        "the line items" | "creating the line item" => "line items URL",
        "the course membership" => "membership URL",
        _ => "service URL",
    }
}

/// Reads a bounded body.
async fn read_body(response: reqwest::Response, what: &'static str) -> Result<Vec<u8>, AgsError> {
    read_capped(response, MAX_RESPONSE_BYTES)
        .await
        .map_err(transport(what))
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
    // The body is the platform's words: logged for the operator, never shown to users.
    if let Some(body) = &detail {
        tracing::warn!(status, what, body = %body, "the platform refused an AGS/NRPS call");
    }
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
        self.http
            .client()
            .map_err(transport("setting up the HTTP client"))
    }

    /// A client with the default timeout, caching tokens in `items` too.
    pub fn new(items: Arc<dyn ExpiringItems>, clock: Arc<dyn Clock>) -> Result<Self, AgsError> {
        Self::with_timeout(items, clock, REQUEST_TIMEOUT)
    }

    /// A client whose requests time out after `timeout`, under
    /// [`OutboundPolicy::process_default`].
    pub fn with_timeout(
        items: Arc<dyn ExpiringItems>,
        clock: Arc<dyn Clock>,
        timeout: Duration,
    ) -> Result<Self, AgsError> {
        Self::with_policy(items, clock, timeout, OutboundPolicy::process_default())
    }

    /// A client whose requests time out after `timeout`, under `outbound`.
    pub fn with_policy(
        items: Arc<dyn ExpiringItems>,
        clock: Arc<dyn Clock>,
        timeout: Duration,
        outbound: OutboundPolicy,
    ) -> Result<Self, AgsError> {
        // Built on the first platform call, not at cold start (see `crate::adapters::http_client`).
        let http = OutboundClient::new(outbound, timeout, USER_AGENT);
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
        let request = self
            .http
            .post(registration.token_url.clone())
            .map_err(transport(WHAT))?
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[
                ("grant_type", "client_credentials"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", assertion.as_str()),
                ("scope", scope.as_str()),
            ]);
        let response = self.http.send(request).await.map_err(transport(WHAT))?;
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
        // The URL is checked before a token is fetched for it.
        let probe = request(http, "")
            .build()
            .map_err(|_| AgsError::BadUrl(url_label(what)))?;
        self.http.check_url(probe.url()).map_err(transport(what))?;
        let mut refreshed = false;
        loop {
            let token = self.access_token(registration, keys, scopes).await?;
            let response = self
                .http
                .send(request(http, &token))
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
        lineitem: &LineItemUrl,
        user: &UserId,
        score: &Score,
    ) -> Result<(), AgsError> {
        if !granted.iter().any(|s| s == SCOPE_SCORE) {
            return Err(AgsError::MissingScope("score"));
        }
        let url = scores_url(lineitem.as_str())?;
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
    /// scope was granted. A line item whose `id` is not an absolute http(s) URL is refused as
    /// [`AgsError::BadUrl`], as posting a score to it would be.
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
    ) -> Result<LineItemUrl, AgsError> {
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
                return line_item_url(found.id);
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
        line_item_url(created.id)
    }
}

/// The URL of a line item the platform answered with (its `id`, AGS 2.0 §3.2.3).
fn line_item_url(id: String) -> Result<LineItemUrl, AgsError> {
    LineItemUrl::parse(id).map_err(|_| AgsError::BadUrl("line item URL"))
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
