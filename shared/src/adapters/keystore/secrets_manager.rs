//! The cloud key store: one Secrets Manager secret holding the key document.
//!
//! Reads always ask for the `AWSCURRENT` version stage and are cached in memory for a TTL
//! (a Lambda sandbox lives for many invocations, and Secrets Manager is billed per call).
//! Because rotations publish the next key ahead of time, a cache a few minutes stale never
//! makes a signature unverifiable. Writes (by `ltictl` or the rotation function) put a new
//! version, which becomes `AWSCURRENT`, and refresh this instance's cache.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, SdkError};

use super::KeyDocument;
use crate::domain::ids::ConsumerKey;
use crate::domain::keys::KeySet;
use crate::domain::secret::ConsumerSecret;
use crate::ports::{KeyStore, StoreError};

/// The version stage every read asks for.
const CURRENT_STAGE: &str = "AWSCURRENT";

/// Keys and consumer secrets in AWS Secrets Manager.
#[derive(Debug)]
pub struct SecretsManagerKeyStore {
    client: Client,
    secret_id: String,
    cache_ttl: Duration,
    cache: Mutex<Option<(Instant, KeyDocument)>>,
    write_lock: tokio::sync::Mutex<()>,
}

fn unavailable<E, R>(secret_id: &str, error: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let detail = DisplayErrorContext(&error).to_string();
    StoreError::unavailable(
        format!(
            "Secrets Manager secret {secret_id} could not be used ({detail}); check the secret \
             id, AWS credentials and region, and AWS_ENDPOINT_URL if you use a local endpoint"
        ),
        error,
    )
}

impl SecretsManagerKeyStore {
    /// A store over `secret_id`, caching reads for `cache_ttl` (zero disables the cache).
    pub fn new(client: Client, secret_id: impl Into<String>, cache_ttl: Duration) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
            cache_ttl,
            cache: Mutex::new(None),
            write_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// A store built from an AWS SDK configuration (see [`crate::compose::config::aws_sdk_config`]).
    pub fn from_config(
        config: &aws_config::SdkConfig,
        secret_id: impl Into<String>,
        cache_ttl: Duration,
    ) -> Self {
        Self::new(Client::new(config), secret_id, cache_ttl)
    }

    fn cached(&self) -> Option<KeyDocument> {
        let cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .as_ref()
            .filter(|(at, _)| at.elapsed() < self.cache_ttl)
            .map(|(_, doc)| doc.clone())
    }

    fn remember(&self, doc: &KeyDocument) {
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *cache = Some((Instant::now(), doc.clone()));
    }

    async fn fetch(&self) -> Result<KeyDocument, StoreError> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .version_stage(CURRENT_STAGE)
            .send()
            .await
            .map_err(|e| unavailable(&self.secret_id, e))?;
        let doc = KeyDocument::parse(
            output.secret_string().unwrap_or_default(),
            &format!("secret {}", self.secret_id),
        )?;
        self.remember(&doc);
        Ok(doc)
    }

    async fn load(&self) -> Result<KeyDocument, StoreError> {
        match self.cached() {
            Some(doc) => Ok(doc),
            None => self.fetch().await,
        }
    }

    async fn modify(
        &self,
        change: impl FnOnce(&mut KeyDocument) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let _guard = self.write_lock.lock().await;
        // Always start from the latest version, never from the cache.
        let mut doc = self.fetch().await?;
        change(&mut doc)?;
        self.client
            .put_secret_value()
            .secret_id(&self.secret_id)
            .secret_string(doc.render()?)
            .send()
            .await
            .map_err(|e| unavailable(&self.secret_id, e))?;
        self.remember(&doc);
        Ok(())
    }
}

/// Creates a secret holding an empty key document. Deployed stacks get theirs from
/// `template.yaml`; this is for local Secrets-Manager-compatible servers and tests.
pub async fn create_secret(client: &Client, name: &str) -> Result<(), StoreError> {
    client
        .create_secret()
        .name(name)
        .secret_string(KeyDocument::default().render()?)
        .send()
        .await
        .map_err(|e| unavailable(name, e))?;
    Ok(())
}

#[async_trait]
impl KeyStore for SecretsManagerKeyStore {
    async fn signing_keys(&self) -> Result<KeySet, StoreError> {
        Ok(self.load().await?.signing_keys)
    }

    async fn save_signing_keys(&self, keys: &KeySet) -> Result<(), StoreError> {
        self.modify(|doc| {
            doc.signing_keys = keys.clone();
            Ok(())
        })
        .await
    }

    async fn consumer_secret(
        &self,
        key: &ConsumerKey,
    ) -> Result<Option<ConsumerSecret>, StoreError> {
        Ok(self.load().await?.consumer_secret(key))
    }

    async fn put_consumer_secret(
        &self,
        key: &ConsumerKey,
        secret: &ConsumerSecret,
    ) -> Result<(), StoreError> {
        self.modify(|doc| {
            doc.consumer_secrets
                .insert(key.to_string(), secret.expose().to_owned());
            Ok(())
        })
        .await
    }

    async fn remove_consumer_secret(&self, key: &ConsumerKey) -> Result<(), StoreError> {
        self.modify(|doc| doc.remove_consumer_secret(key)).await
    }
}
