//! Platforms' public keys: fetched from each registration's JWKS URL, cached, and looked up by
//! `kid` (Security Framework §6.3 "Key Set URL", §6.4 "Issuer Public Key Rotation").
//!
//! A launch must not wait on the platform's key endpoint, and must survive it being down:
//! - the parsed set is kept **in memory** for the life of the Lambda sandbox and **in the shared
//!   store** (an [`ItemKind::PlatformKeys`] item) for other sandboxes, and is fresh for
//!   [`KeyCachePolicy::fresh_for`];
//! - a `kid` that is not in a fresh set triggers **one** refetch (a platform rotated its key
//!   and signs with the new one at once), at most once per
//!   [`KeyCachePolicy::refetch_interval`] (1 s) per set; a `kid` still unknown after that
//!   refetch is remembered until the set is next fetched, so repeating a made-up `kid` costs
//!   nothing;
//! - refreshes of one set are **single-flight**: concurrent launches that need the same set
//!   wait for one fetch instead of each starting their own;
//! - a fetch that failed with no usable copy is remembered for
//!   [`KeyCachePolicy::failure_backoff`], so forged launches naming a registered issuer cannot
//!   drive a fetch each while the platform's endpoint is down;
//! - when a refetch fails, a stale copy is used for up to [`KeyCachePolicy::stale_for`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use url::Url;

use crate::adapters::http_client::{OutboundClient, OutboundError, OutboundPolicy, read_capped};
use crate::domain::platform_key::{KeyLookupError, PlatformKey};
use crate::ports::{ExpiringItems, ItemKind, PlatformKeySource};

/// The largest key set accepted from a platform; reading stops there.
pub const MAX_JWKS_BYTES: usize = 512 * 1024;

/// The `User-Agent` of key set requests.
const USER_AGENT: &str = concat!("lti-tool/", env!("CARGO_PKG_VERSION"));

/// How long key sets are trusted.
#[derive(Debug, Clone, Copy)]
pub struct KeyCachePolicy {
    /// A set younger than this is used without asking the platform.
    pub fresh_for: Duration,
    /// An older set is still used, for up to this long after it was fetched, while the
    /// platform's endpoint fails.
    pub stale_for: Duration,
    /// The least time between two refetches of one set for unknown `kid`s. Short (1 s) so a
    /// platform that rotates and signs with the new key at once is accepted right away; the
    /// hardening rule caps it at 5 s.
    pub refetch_interval: Duration,
    /// How long a failed fetch, with no usable copy cached, is answered from memory instead
    /// of fetching again.
    pub failure_backoff: Duration,
    /// Timeout of one fetch.
    pub fetch_timeout: std::time::Duration,
}

impl Default for KeyCachePolicy {
    fn default() -> Self {
        Self {
            fresh_for: Duration::minutes(15),
            stale_for: Duration::hours(24),
            refetch_interval: Duration::seconds(1),
            failure_backoff: Duration::seconds(10),
            fetch_timeout: std::time::Duration::from_secs(5),
        }
    }
}

/// A JWK as platforms publish it; only the members needed to pick and build an RSA key.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    alg: Option<String>,
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    key_use: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    n: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    e: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

/// The shared-store copy of a set: the platform's JWKs and when they were fetched.
#[derive(Serialize, Deserialize)]
struct StoredSet {
    #[serde(with = "time::serde::rfc3339")]
    fetched_at: OffsetDateTime,
    keys: Vec<Jwk>,
}

/// What a `kid` maps to in a set.
enum Entry {
    Rsa(Arc<PlatformKey>),
    /// Present, but not an RSA signature key for RS256.
    Unusable,
}

#[derive(Clone)]
struct CachedSet {
    fetched_at: OffsetDateTime,
    last_attempt: OffsetDateTime,
    keys: Arc<HashMap<String, Entry>>,
}

impl CachedSet {
    fn build(jwks: &[Jwk], fetched_at: OffsetDateTime, last_attempt: OffsetDateTime) -> Self {
        let mut keys = HashMap::new();
        for jwk in jwks {
            let Some(kid) = &jwk.kid else { continue };
            let usable = jwk.kty == "RSA"
                && jwk.alg.as_deref().is_none_or(|alg| alg == "RS256")
                && jwk.key_use.as_deref().is_none_or(|u| u == "sig");
            let entry = match (usable, &jwk.n, &jwk.e) {
                (true, Some(n), Some(e)) => PlatformKey::from_components(kid, n, e)
                    .map_or(Entry::Unusable, |key| Entry::Rsa(Arc::new(key))),
                _ => Entry::Unusable,
            };
            keys.insert(kid.clone(), entry);
        }
        Self {
            fetched_at,
            last_attempt,
            keys: Arc::new(keys),
        }
    }

    fn find(&self, kid: &str) -> Option<Result<Arc<PlatformKey>, KeyLookupError>> {
        self.keys.get(kid).map(|entry| match entry {
            Entry::Rsa(key) => Ok(Arc::clone(key)),
            Entry::Unusable => Err(KeyLookupError::KeyTypeMismatch(kid.to_owned())),
        })
    }
}

/// Platforms' key sets, cached in memory and in the shared store.
///
/// Key sets are fetched through an [`OutboundClient`]: under its [`OutboundPolicy`], without
/// following redirects (a 3xx is reported as the answer), within
/// [`KeyCachePolicy::fetch_timeout`], and read up to [`MAX_JWKS_BYTES`].
pub struct PlatformKeys {
    http: OutboundClient,
    items: Arc<dyn ExpiringItems>,
    policy: KeyCachePolicy,
    memory: Mutex<HashMap<String, Arc<CachedSet>>>,
    /// Per set URL: the refresh lock (single flight) and a count of finished refreshes.
    flights: Mutex<HashMap<String, Arc<Flight>>>,
    /// Per set URL: when a fetch with no usable copy last failed, and why.
    failures: Mutex<HashMap<String, (OffsetDateTime, String)>>,
    /// Per set URL: `kid`s still unknown after a refetch, until the set is fetched again.
    unknown: Mutex<HashMap<String, HashSet<String>>>,
}

/// One set's refresh lock and the number of refreshes that finished under it.
#[derive(Default)]
struct Flight {
    lock: tokio::sync::Mutex<()>,
    done: std::sync::atomic::AtomicU64,
}

/// The most `kid`s remembered as unknown per set (a bound on memory, not a limit on launches).
const MAX_UNKNOWN_KIDS: usize = 256;

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl std::fmt::Debug for PlatformKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformKeys")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl PlatformKeys {
    /// A cache over the shared store `items`, fetching under
    /// [`OutboundPolicy::process_default`].
    pub fn new(items: Arc<dyn ExpiringItems>, policy: KeyCachePolicy) -> Self {
        Self::with_outbound(items, policy, OutboundPolicy::process_default())
    }

    /// A cache over the shared store `items`, fetching under `outbound`.
    pub fn with_outbound(
        items: Arc<dyn ExpiringItems>,
        policy: KeyCachePolicy,
        outbound: OutboundPolicy,
    ) -> Self {
        // Built on the first key fetch, not at cold start (see `crate::adapters::http_client`).
        let http = OutboundClient::new(outbound, policy.fetch_timeout, USER_AGENT);
        Self {
            http,
            items,
            policy,
            memory: Mutex::new(HashMap::new()),
            flights: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
            unknown: Mutex::new(HashMap::new()),
        }
    }

    fn flight(&self, url: &str) -> Arc<Flight> {
        Arc::clone(locked(&self.flights).entry(url.to_owned()).or_default())
    }

    fn is_known_unknown(&self, url: &str, kid: &str) -> bool {
        locked(&self.unknown)
            .get(url)
            .is_some_and(|kids| kids.contains(kid))
    }

    fn remember_unknown(&self, url: &str, kid: &str) {
        let mut unknown = locked(&self.unknown);
        let kids = unknown.entry(url.to_owned()).or_default();
        if kids.len() < MAX_UNKNOWN_KIDS {
            kids.insert(kid.to_owned());
        }
    }

    /// A recent failure to fetch the set at `url` with no copy to fall back on, if any.
    fn recent_failure(&self, url: &str, now: OffsetDateTime) -> Option<String> {
        locked(&self.failures)
            .get(url)
            .filter(|(at, _)| now - *at < self.policy.failure_backoff)
            .map(|(_, reason)| reason.clone())
    }

    /// The key `kid` of a set just fetched; a `kid` it lacks is remembered as unknown.
    fn found_or_remembered(
        &self,
        set: &CachedSet,
        url: &Url,
        kid: &str,
    ) -> Result<Arc<PlatformKey>, KeyLookupError> {
        set.find(kid).unwrap_or_else(|| {
            self.remember_unknown(url.as_str(), kid);
            Err(KeyLookupError::UnknownKid(kid.to_owned()))
        })
    }

    /// Refreshes the set at `url` once for everyone waiting: a caller that finds a refresh
    /// finished while it waited for the lock uses that result instead of fetching again.
    async fn refresh_once(
        &self,
        url: &Url,
        previous: Option<&CachedSet>,
        now: OffsetDateTime,
    ) -> Result<Arc<CachedSet>, String> {
        use std::sync::atomic::Ordering;
        let flight = self.flight(url.as_str());
        let seen = flight.done.load(Ordering::SeqCst);
        let _guard = flight.lock.lock().await;
        if flight.done.load(Ordering::SeqCst) != seen {
            // Another launch refreshed (or failed to) while this one waited.
            if let Some(reason) = self.recent_failure(url.as_str(), now) {
                return Err(reason);
            }
            match self.remembered(url.as_str()) {
                // That refresh fetched the set.
                Some(set) if set.fetched_at == set.last_attempt => return Ok(set),
                // It failed; a copy is still cached, which the caller falls back on.
                Some(_) => return Err("the key set could not be fetched a moment ago".into()),
                None => {}
            }
        }
        let result = self.refresh(url, previous, now).await;
        match &result {
            Ok(_) => {
                locked(&self.failures).remove(url.as_str());
                locked(&self.unknown).remove(url.as_str());
            }
            Err(reason) if previous.is_none() => {
                locked(&self.failures).insert(url.to_string(), (now, reason.clone()));
            }
            Err(_) => {}
        }
        flight.done.fetch_add(1, Ordering::SeqCst);
        result
    }

    fn remembered(&self, url: &str) -> Option<Arc<CachedSet>> {
        let memory = self
            .memory
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        memory.get(url).cloned()
    }

    fn remember(&self, url: &str, set: Arc<CachedSet>) {
        let mut memory = self
            .memory
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        memory.insert(url.to_owned(), set);
    }

    /// The cached set: from memory, else from the shared store (a store failure only costs a
    /// fetch, so it is logged and treated as a miss).
    async fn cached(&self, url: &str, now: OffsetDateTime) -> Option<Arc<CachedSet>> {
        if let Some(set) = self.remembered(url) {
            return Some(set);
        }
        let text = match self.items.item(ItemKind::PlatformKeys, url, now).await {
            Ok(text) => text?,
            Err(error) => {
                tracing::warn!(%error, "cannot read the cached platform key set");
                return None;
            }
        };
        let stored: StoredSet = serde_json::from_str(&text).ok()?;
        // A copy from the store counts as an attempt at its fetch time.
        let set = Arc::new(CachedSet::build(
            &stored.keys,
            stored.fetched_at,
            stored.fetched_at,
        ));
        self.remember(url, Arc::clone(&set));
        Some(set)
    }

    async fn fetch(&self, url: &Url) -> Result<Vec<Jwk>, String> {
        let failed = |error: OutboundError| match error {
            OutboundError::Refused(refusal) => format!("its URL {refusal}; refused"),
            OutboundError::Setup(_) => error.to_string(),
            other => format!("request failed ({other})"),
        };
        let request = self
            .http
            .get(url.clone())
            .map_err(failed)?
            .header(http::header::ACCEPT, "application/json");
        let response = self.http.send(request).await.map_err(failed)?;
        if !response.status().is_success() {
            return Err(format!("it answered HTTP {}", response.status().as_u16()));
        }
        let body = read_capped(response, MAX_JWKS_BYTES)
            .await
            .map_err(|error| match error {
                OutboundError::TooLarge { .. } => {
                    format!("the key set is larger than {MAX_JWKS_BYTES} bytes")
                }
                other => format!("reading it failed ({other})"),
            })?;
        serde_json::from_slice::<JwkSet>(&body)
            .map(|set| set.keys)
            .map_err(|_| "it is not a JWK set".into())
    }

    /// Fetches the set now, caching it on success; on failure, remembers the attempt (so
    /// unknown-`kid` refetches stay rate-limited) and returns the reason.
    async fn refresh(
        &self,
        url: &Url,
        previous: Option<&CachedSet>,
        now: OffsetDateTime,
    ) -> Result<Arc<CachedSet>, String> {
        match self.fetch(url).await {
            Ok(keys) => {
                let set = Arc::new(CachedSet::build(&keys, now, now));
                self.remember(url.as_str(), Arc::clone(&set));
                let stored = StoredSet {
                    fetched_at: now,
                    keys,
                };
                if let Ok(text) = serde_json::to_string(&stored) {
                    let expires = now + self.policy.stale_for;
                    if let Err(error) = self
                        .items
                        .put_item(ItemKind::PlatformKeys, url.as_str(), &text, expires)
                        .await
                    {
                        tracing::warn!(%error, "cannot share the platform key set");
                    }
                }
                Ok(set)
            }
            Err(reason) => {
                if let Some(previous) = previous {
                    let attempted = CachedSet {
                        last_attempt: now,
                        ..previous.clone()
                    };
                    self.remember(url.as_str(), Arc::new(attempted));
                }
                Err(reason)
            }
        }
    }
}

#[async_trait::async_trait]
impl PlatformKeySource for PlatformKeys {
    async fn key(
        &self,
        jwks_url: &Url,
        kid: &str,
        now: OffsetDateTime,
    ) -> Result<Arc<PlatformKey>, KeyLookupError> {
        let unavailable = |reason: String| KeyLookupError::KeySetUnavailable {
            url: jwks_url.to_string(),
            reason,
        };
        let cached = self.cached(jwks_url.as_str(), now).await;
        let Some(set) = cached else {
            if let Some(reason) = self.recent_failure(jwks_url.as_str(), now) {
                return Err(unavailable(reason));
            }
            let set = self
                .refresh_once(jwks_url, None, now)
                .await
                .map_err(unavailable)?;
            return self.found_or_remembered(&set, jwks_url, kid);
        };
        let fresh = now - set.fetched_at < self.policy.fresh_for;
        if fresh {
            if let Some(found) = set.find(kid) {
                return found;
            }
            // Unknown kid in a fresh set: the platform may have rotated. Refetch, rate-limited,
            // unless this kid was already missing from the last refetch.
            if self.is_known_unknown(jwks_url.as_str(), kid)
                || now - set.last_attempt < self.policy.refetch_interval
            {
                return Err(KeyLookupError::UnknownKid(kid.to_owned()));
            }
        }
        // The platform's endpoint failed a moment ago: use the stale copy without waiting on it
        // again, so an outage costs one timeout per interval, not one per launch.
        if !fresh
            && now - set.last_attempt < self.policy.refetch_interval
            && now - set.fetched_at < self.policy.stale_for
        {
            return set
                .find(kid)
                .unwrap_or_else(|| Err(KeyLookupError::UnknownKid(kid.to_owned())));
        }
        match self.refresh_once(jwks_url, Some(&set), now).await {
            Ok(new) => self.found_or_remembered(&new, jwks_url, kid),
            Err(reason) => {
                // The endpoint is down: a stale copy will do, for a while.
                if now - set.fetched_at < self.policy.stale_for {
                    tracing::warn!(
                        url = %jwks_url,
                        %reason,
                        "platform key set unreachable; using the cached copy"
                    );
                    set.find(kid)
                        .unwrap_or_else(|| Err(KeyLookupError::UnknownKid(kid.to_owned())))
                } else {
                    Err(unavailable(reason))
                }
            }
        }
    }
}
