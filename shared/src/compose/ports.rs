//! The ports every handler is built from, over one store, one key store, one retry queue and
//! one clock: the same wiring on Lambda ([`crate::compose::aws::Aws::ports`]), in
//! `ltictl serve` (the embedded store and key file) and in the handler tests. Each function
//! crate's `from_ports` takes from here only the ports it uses.

use std::sync::Arc;
use std::time::Duration;

use crate::adapters::ags_client::AgsClient;
use crate::adapters::basic_outcomes::OutcomesClient;
use crate::adapters::grade_services::GradeServices;
use crate::adapters::jwks_client::{KeyCachePolicy, PlatformKeys};
use crate::adapters::registry_cache::CachedRegistry;
use crate::app::delivery::{Deliverer, DelivererParts, DeliveryPolicy};
use crate::domain::clock::Clock;
use crate::lti11::launch::Lti11Verifier;
use crate::lti13::ags::AgsError;
use crate::lti13::launch::Verifier;
use crate::ports::{KeyStore, PlatformKeySource, PlatformRegistry, RetryQueue, Store};

/// The ports of one deployment (or one local data folder).
#[derive(Clone)]
pub struct Ports {
    /// Every storage port; handlers take the narrow traits they use from it.
    pub store: Arc<dyn Store>,
    /// Signing keys and consumer secrets.
    pub keys: Arc<dyn KeyStore>,
    /// Where grade retries wait.
    pub queue: Arc<dyn RetryQueue>,
    /// Now.
    pub clock: Arc<dyn Clock>,
    /// Registrations, cached in memory in front of the store.
    pub registry: Arc<dyn PlatformRegistry>,
    /// Platforms' key sets, cached in memory and in the store, shared by every verifier so a
    /// set fetched for a launch serves deep linking too.
    pub platform_keys: Arc<dyn PlatformKeySource>,
}

impl std::fmt::Debug for Ports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ports").finish_non_exhaustive()
    }
}

impl Ports {
    /// The ports over `store`, `keys` and `queue`, with time from `clock` and registrations
    /// cached for `registry_ttl`.
    pub fn new(
        store: Arc<dyn Store>,
        keys: Arc<dyn KeyStore>,
        queue: Arc<dyn RetryQueue>,
        clock: Arc<dyn Clock>,
        registry_ttl: Duration,
    ) -> Self {
        Self {
            registry: Arc::new(CachedRegistry::new(store.clone(), registry_ttl)),
            platform_keys: Arc::new(PlatformKeys::new(store.clone(), KeyCachePolicy::default())),
            store,
            keys,
            queue,
            clock,
        }
    }

    /// The LTI 1.3 verifier: cached registrations, the store's state and nonce records, the
    /// shared platform key cache, this clock.
    pub fn verifier(&self) -> Verifier {
        Verifier::new(
            self.registry.clone(),
            self.store.clone(),
            self.platform_keys.clone(),
            self.clock.clone(),
        )
    }

    /// The LTI 1.1 verifier: the store's consumers and nonces, the key store's secrets.
    pub fn lti11_verifier(&self) -> Lti11Verifier {
        Lti11Verifier::new(
            self.store.clone(),
            self.keys.clone(),
            self.store.clone(),
            self.clock.clone(),
        )
    }

    /// An AGS/NRPS client whose requests time out after `timeout`, caching tokens in the
    /// store.
    pub fn ags_client(&self, timeout: Duration) -> Result<Arc<AgsClient>, AgsError> {
        Ok(Arc::new(AgsClient::with_timeout(
            self.store.clone(),
            self.clock.clone(),
            timeout,
        )?))
    }

    /// The grade deliverer over these ports, sending through `ags` and a Basic Outcomes
    /// client with the policy's request timeout.
    pub fn deliverer(
        &self,
        ags: Arc<AgsClient>,
        policy: DeliveryPolicy,
    ) -> Result<Arc<Deliverer>, crate::lti11::pox::OutcomeError> {
        let basic = OutcomesClient::with_timeout(self.clock.clone(), policy.request_timeout)?;
        Ok(Arc::new(Deliverer::new(DelivererParts {
            registry: self.store.clone(),
            records: self.store.clone(),
            outbox: self.store.clone(),
            keys: self.keys.clone(),
            services: Arc::new(GradeServices::new(ags, Arc::new(basic))),
            queue: self.queue.clone(),
            clock: self.clock.clone(),
            policy,
        })))
    }
}
