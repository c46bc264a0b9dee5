//! An in-memory cache in front of a [`PlatformRegistry`], for the functions on the launch path.
//!
//! Every login and launch looks up its registration; registrations change rarely (by an
//! operator with `ltictl`). Keeping them for [`DEFAULT_REGISTRY_TTL`] saves a table read on
//! almost every launch. The price: an operator's change (disabling a platform, removing a
//! deployment) reaches a warm function within that time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::domain::ids::{ClientId, Issuer};
use crate::domain::model::Registration;
use crate::ports::{PlatformRegistry, StoreError};

/// How long a function trusts its copy of an issuer's registrations.
pub const DEFAULT_REGISTRY_TTL: Duration = Duration::from_secs(60);

type Entry = (Instant, Arc<Vec<Registration>>);

/// A [`PlatformRegistry`] that remembers each issuer's registrations for a while.
pub struct CachedRegistry {
    inner: Arc<dyn PlatformRegistry>,
    ttl: Duration,
    entries: Mutex<HashMap<Issuer, Entry>>,
}

impl std::fmt::Debug for CachedRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedRegistry")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl CachedRegistry {
    /// Caches `inner` for `ttl`.
    pub fn new(inner: Arc<dyn PlatformRegistry>, ttl: Duration) -> Self {
        Self {
            inner,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<Issuer, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn of_issuer(&self, issuer: &Issuer) -> Result<Arc<Vec<Registration>>, StoreError> {
        if let Some((at, list)) = self.entries().get(issuer)
            && at.elapsed() < self.ttl
        {
            return Ok(Arc::clone(list));
        }
        let list = Arc::new(self.inner.platforms_of_issuer(issuer).await?);
        // An unknown issuer is not remembered: a platform registered a moment later must work.
        if !list.is_empty() {
            self.entries()
                .insert(issuer.clone(), (Instant::now(), Arc::clone(&list)));
        }
        Ok(list)
    }

    fn forget(&self, issuer: &Issuer) {
        self.entries().remove(issuer);
    }
}

#[async_trait]
impl PlatformRegistry for CachedRegistry {
    async fn add_platform(&self, registration: &Registration) -> Result<(), StoreError> {
        self.forget(&registration.issuer);
        self.inner.add_platform(registration).await
    }

    async fn update_platform(&self, registration: &Registration) -> Result<(), StoreError> {
        self.forget(&registration.issuer);
        self.inner.update_platform(registration).await
    }

    async fn platform(
        &self,
        issuer: &Issuer,
        client_id: &ClientId,
    ) -> Result<Option<Registration>, StoreError> {
        Ok(self
            .of_issuer(issuer)
            .await?
            .iter()
            .find(|r| &r.client_id == client_id)
            .cloned())
    }

    async fn platforms_of_issuer(&self, issuer: &Issuer) -> Result<Vec<Registration>, StoreError> {
        Ok(self.of_issuer(issuer).await?.as_ref().clone())
    }

    async fn platforms(&self) -> Result<Vec<Registration>, StoreError> {
        self.inner.platforms().await
    }

    async fn remove_platform(
        &self,
        issuer: &Issuer,
        client_id: &ClientId,
    ) -> Result<(), StoreError> {
        self.forget(issuer);
        self.inner.remove_platform(issuer, client_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::store::embedded::EmbeddedStore;
    use crate::domain::model::{PlatformOptions, Status};
    use std::collections::BTreeSet;

    fn registration(status: Status) -> Registration {
        Registration {
            issuer: Issuer::parse("https://lms.example").unwrap(),
            client_id: ClientId::parse("c").unwrap(),
            deployment_ids: BTreeSet::new(),
            auth_url: url::Url::parse("https://lms.example/auth").unwrap(),
            token_url: url::Url::parse("https://lms.example/token").unwrap(),
            jwks_url: url::Url::parse("https://lms.example/jwks").unwrap(),
            name: None,
            status,
            options: PlatformOptions::default(),
            created_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[tokio::test]
    async fn cached_registry_unknown_issuer_is_not_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
        let cached = CachedRegistry::new(store.clone(), Duration::from_secs(60));
        let issuer = Issuer::parse("https://lms.example").unwrap();
        assert!(
            cached
                .platforms_of_issuer(&issuer)
                .await
                .unwrap()
                .is_empty()
        );
        // Registered behind the cache's back (another process).
        store
            .add_platform(&registration(Status::Active))
            .await
            .unwrap();
        assert_eq!(cached.platforms_of_issuer(&issuer).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn cached_registry_serves_its_copy_until_the_ttl_and_sees_own_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
        store
            .add_platform(&registration(Status::Active))
            .await
            .unwrap();
        let cached = CachedRegistry::new(store.clone(), Duration::from_secs(60));
        let issuer = Issuer::parse("https://lms.example").unwrap();
        let client = ClientId::parse("c").unwrap();
        assert_eq!(
            cached
                .platform(&issuer, &client)
                .await
                .unwrap()
                .unwrap()
                .status,
            Status::Active
        );
        // Another process disables it: this copy is kept until the TTL.
        store
            .update_platform(&registration(Status::Disabled))
            .await
            .unwrap();
        assert_eq!(
            cached
                .platform(&issuer, &client)
                .await
                .unwrap()
                .unwrap()
                .status,
            Status::Active
        );
        // A write through the cache is seen at once.
        cached
            .update_platform(&registration(Status::Disabled))
            .await
            .unwrap();
        assert_eq!(
            cached
                .platform(&issuer, &client)
                .await
                .unwrap()
                .unwrap()
                .status,
            Status::Disabled
        );
        // With no TTL, every read goes through.
        let uncached = CachedRegistry::new(store.clone(), Duration::ZERO);
        store
            .update_platform(&registration(Status::Active))
            .await
            .unwrap();
        assert_eq!(
            uncached
                .platform(&issuer, &client)
                .await
                .unwrap()
                .unwrap()
                .status,
            Status::Active
        );
    }
}
