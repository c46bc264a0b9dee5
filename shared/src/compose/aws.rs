//! The AWS adapters a function's `main` builds from its [`Config`]: each asks for the
//! variable it needs, so a function whose template entry lacks one fails at cold start with
//! the variable's name, and no function builds an adapter its IAM policy does not allow.

use std::sync::Arc;

use crate::adapters::http_client::OutboundPolicy;
use crate::adapters::keystore::secrets_manager::SecretsManagerKeyStore;
use crate::adapters::queue_polled::PolledStore;
use crate::adapters::queue_sqs::SqsQueue;
use crate::adapters::registry_cache::DEFAULT_REGISTRY_TTL;
use crate::adapters::store::dynamo::DynamoStore;
use crate::compose::config::{Config, ConfigError, aws_sdk_config};
use crate::compose::ports::Ports;
use crate::domain::clock::{Clock, SystemClock};
use crate::ports::RetryQueue;

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
    /// `config`. Nothing is called yet: clients connect on first use. Outbound requests follow
    /// the strict policy unless the configuration asks for the local one (the emulator).
    pub async fn connect(config: Config) -> Self {
        if config.outbound_local
            && let Err(installed) = OutboundPolicy::local().install_process_default()
        {
            tracing::warn!(?installed, "an outbound policy was already installed");
        }
        if config.outbound_local {
            tracing::warn!(
                "LTI_OUTBOUND_LOCAL is set: outbound requests may reach loopback over http \
                 (local emulation only)"
            );
        }
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

    /// Every port over the table and the secret (needs both). The retry queue is SQS when
    /// the queue URLs are set; a function without them (launch, deep linking) never
    /// schedules a retry.
    pub fn ports(&self) -> Result<Ports, ConfigError> {
        let queue: Arc<dyn RetryQueue> = match self.config.queues {
            Some(_) => self.queue()?,
            None => Arc::new(PolledStore),
        };
        Ok(Ports::new(
            self.store()?,
            self.keys()?,
            queue,
            self.clock(),
            DEFAULT_REGISTRY_TTL,
        ))
    }
}
