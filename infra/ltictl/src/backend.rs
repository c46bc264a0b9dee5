//! Opening the backend chosen on the command line.

use std::path::PathBuf;
use std::sync::Arc;

use lti_shared::adapters::http_client::OutboundPolicy;
use lti_shared::adapters::keystore::file::FileKeyStore;
use lti_shared::adapters::keystore::secrets_manager::SecretsManagerKeyStore;
use lti_shared::adapters::queue_polled::PolledStore;
use lti_shared::adapters::queue_sqs::SqsQueue;
use lti_shared::adapters::registry_cache::DEFAULT_REGISTRY_TTL;
use lti_shared::adapters::store::dynamo::DynamoStore;
use lti_shared::adapters::store::embedded::EmbeddedStore;
use lti_shared::app::delivery::{Deliverer, DeliveryPolicy};
use lti_shared::compose::config::{aws_sdk_config, secret_cache_ttl};
use lti_shared::compose::ports::Ports;
use lti_shared::domain::clock::Clock;
use lti_shared::ports::RetryQueue;
use lti_shared::ports::{KeyStore, Store};

use crate::{BackendArgs, CliError};

/// The default data folder, relative to the working folder.
pub const DEFAULT_DATA_DIR: &str = ".lti";

/// The ports of one backend.
#[derive(Clone)]
pub struct Backend {
    /// Registrations, consumers, launch records and expiring items.
    pub store: Arc<dyn Store>,
    /// Signing keys and consumer secrets.
    pub keys: Arc<dyn KeyStore>,
    /// Where grade retries wait: the SQS queue with `--aws` when its URLs are given,
    /// otherwise the store itself (polled by `serve`'s retry loop).
    pub queue: Arc<dyn RetryQueue>,
    /// Where the data lives, for messages.
    pub description: String,
}

impl Backend {
    /// Opens the backend the arguments select.
    pub async fn open(args: &BackendArgs) -> Result<Self, CliError> {
        if args.aws {
            let table = args.table.clone().ok_or_else(|| {
                CliError::Usage("--aws needs the table: pass --table or set LTI_TABLE".into())
            })?;
            let secret_id = args.secret_id.clone().ok_or_else(|| {
                CliError::Usage(
                    "--aws needs the secret: pass --secret-id or set LTI_SECRET_ID".into(),
                )
            })?;
            let mut backend = Self::aws(&table, &secret_id).await?;
            match (&args.queue_url, &args.dead_letter_queue_url) {
                (Some(queue), Some(dead)) => {
                    let config = aws_sdk_config().await;
                    backend.queue =
                        Arc::new(SqsQueue::from_config(&config, queue.clone(), dead.clone()));
                }
                (None, None) => {}
                _ => {
                    return Err(CliError::Usage(
                        "give both --queue-url and --dead-letter-queue-url (or LTI_QUEUE_URL                          and LTI_DEAD_LETTER_QUEUE_URL), or neither"
                            .into(),
                    ));
                }
            }
            Ok(backend)
        } else {
            let dir = args
                .data_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
            Self::embedded(&dir)
        }
    }

    /// The embedded backend in `dir`.
    pub fn embedded(dir: &std::path::Path) -> Result<Self, CliError> {
        let store = EmbeddedStore::open(dir)?;
        let keys = FileKeyStore::open(dir)?;
        Ok(Self {
            store: Arc::new(store),
            keys: Arc::new(keys),
            queue: Arc::new(PolledStore),
            description: format!("data folder {}", dir.display()),
        })
    }

    /// The AWS backend: `table` in DynamoDB and `secret_id` in Secrets Manager.
    pub async fn aws(table: &str, secret_id: &str) -> Result<Self, CliError> {
        let ttl = secret_cache_ttl().map_err(|e| CliError::Usage(e.to_string()))?;
        let config = aws_sdk_config().await;
        Ok(Self {
            store: Arc::new(DynamoStore::from_config(&config, table)),
            keys: Arc::new(SecretsManagerKeyStore::from_config(&config, secret_id, ttl)),
            queue: Arc::new(PolledStore),
            description: format!("DynamoDB table {table} and secret {secret_id}"),
        })
    }

    /// Every port of this backend, with time from `clock` and registrations cached for
    /// `registry_ttl` (the same wiring the Lambda functions use).
    ///
    /// The outbound clients among them follow [`OutboundPolicy::local`], installed here as
    /// the process default: `ltictl` runs on a developer's or operator's machine, never on
    /// Lambda, and platforms it serves or delivers to locally listen on this machine's
    /// loopback over plain http. Everything else (internal ranges, plain http elsewhere)
    /// stays refused.
    pub fn ports(&self, clock: Arc<dyn Clock>, registry_ttl: std::time::Duration) -> Ports {
        if let Err(installed) = OutboundPolicy::local().install_process_default() {
            tracing::warn!(
                ?installed,
                "another outbound policy is the process default; loopback platforms may be \
                 refused"
            );
        }
        Ports::new(
            self.store.clone(),
            self.keys.clone(),
            self.queue.clone(),
            clock,
            registry_ttl,
        )
    }

    /// The grade deliverer over this backend, with time from `clock`.
    pub fn deliverer(
        &self,
        clock: Arc<dyn Clock>,
        policy: DeliveryPolicy,
    ) -> Result<Arc<Deliverer>, CliError> {
        let failure = |e: &dyn std::fmt::Display| CliError::Failure(e.to_string());
        let ports = self.ports(clock, DEFAULT_REGISTRY_TTL);
        let ags = ports
            .ags_client(policy.request_timeout)
            .map_err(|e| failure(&e))?;
        ports.deliverer(ags, policy).map_err(|e| failure(&e))
    }
}
