//! The AWS adapters a function's `main` builds from its [`Config`]: each asks for the
//! variable it needs, so a function whose template entry lacks one fails at cold start with
//! the variable's name, and no function builds an adapter its IAM policy does not allow.

use std::sync::Arc;

use crate::adapters::ags_client::AgsClient;
use crate::adapters::basic_outcomes::OutcomesClient;
use crate::adapters::grade_services::GradeServices;
use crate::adapters::jwks_client::{KeyCachePolicy, PlatformKeys};
use crate::adapters::keystore::secrets_manager::SecretsManagerKeyStore;
use crate::adapters::queue_sqs::SqsQueue;
use crate::adapters::registry_cache::{CachedRegistry, DEFAULT_REGISTRY_TTL};
use crate::adapters::store::dynamo::DynamoStore;
use crate::app::delivery::{Deliverer, DelivererParts, DeliveryPolicy};
use crate::compose::config::{Config, ConfigError, aws_sdk_config};
use crate::domain::clock::{Clock, SystemClock};
use crate::lti11::launch::Lti11Verifier;
use crate::lti13::launch::Verifier;

/// A function's AWS adapters, built on demand from its configuration.
pub struct Aws {
    config: Config,
    sdk: aws_config::SdkConfig,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Aws {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aws")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Aws {
    /// Loads the AWS SDK configuration (region, credentials, `AWS_ENDPOINT_URL`) for
    /// `config`. Nothing is called yet: clients connect on first use.
    pub async fn connect(config: Config) -> Self {
        Self {
            config,
            sdk: aws_sdk_config().await,
            clock: Arc::new(SystemClock),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The real clock.
    pub fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.clock)
    }

    /// The DynamoDB store (needs `LTI_TABLE`).
    pub fn store(&self) -> Result<Arc<DynamoStore>, ConfigError> {
        Ok(Arc::new(DynamoStore::from_config(
            &self.sdk,
            self.config.table()?.to_owned(),
        )))
    }

    /// The Secrets Manager key store (needs `LTI_SECRET_ID`).
    pub fn keys(&self) -> Result<Arc<SecretsManagerKeyStore>, ConfigError> {
        Ok(Arc::new(SecretsManagerKeyStore::from_config(
            &self.sdk,
            self.config.secret_id()?.to_owned(),
            self.config.secret_cache_ttl,
        )))
    }

    /// The SQS retry queue (needs the two queue URLs).
    pub fn queue(&self) -> Result<Arc<SqsQueue>, ConfigError> {
        let queues = self.config.queues()?;
        Ok(Arc::new(SqsQueue::from_config(
            &self.sdk,
            queues.retries.clone(),
            queues.dead_letters.clone(),
        )))
    }
}

/// The LTI 1.3 verifier as every function wires it: registrations cached in memory for
/// [`DEFAULT_REGISTRY_TTL`], platform key sets cached in memory and in the store.
pub fn verifier(store: &Arc<DynamoStore>, clock: Arc<dyn Clock>) -> Verifier {
    Verifier::new(
        Arc::new(CachedRegistry::new(store.clone(), DEFAULT_REGISTRY_TTL)),
        store.clone(),
        Arc::new(PlatformKeys::new(store.clone(), KeyCachePolicy::default())),
        clock,
    )
}

/// The LTI 1.1 verifier over the store (consumers, nonces) and the key store (secrets).
pub fn lti11_verifier(
    store: &Arc<DynamoStore>,
    keys: &Arc<SecretsManagerKeyStore>,
    clock: Arc<dyn Clock>,
) -> Lti11Verifier {
    Lti11Verifier::new(store.clone(), keys.clone(), store.clone(), clock)
}

/// The grade deliverer with the AGS client it shares with its callers (the views resend
/// through it, and read memberships with the same token cache).
pub fn deliverer(aws: &Aws) -> Result<(Arc<Deliverer>, Arc<AgsClient>), lambda_http::Error> {
    let store = aws.store()?;
    let clock = aws.clock();
    let ags = Arc::new(AgsClient::new(store.clone(), clock.clone())?);
    let deliverer = Arc::new(Deliverer::new(DelivererParts {
        registry: store.clone(),
        records: store.clone(),
        outbox: store,
        keys: aws.keys()?,
        services: Arc::new(GradeServices::new(
            ags.clone(),
            Arc::new(OutcomesClient::new(clock.clone())?),
        )),
        queue: aws.queue()?,
        clock,
        policy: DeliveryPolicy::default(),
    }));
    Ok((deliverer, ags))
}
