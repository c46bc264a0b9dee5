//! Opening the backend chosen on the command line.

use std::path::PathBuf;
use std::sync::Arc;

use lti_shared::config::{aws_sdk_config, secret_cache_ttl};
use lti_shared::keystore::file::FileKeyStore;
use lti_shared::keystore::secrets_manager::SecretsManagerKeyStore;
use lti_shared::ports::{KeyStore, Store};
use lti_shared::store::dynamo::DynamoStore;
use lti_shared::store::embedded::EmbeddedStore;

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
            Ok(Self::aws(&table, &secret_id).await?)
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
            description: format!("DynamoDB table {table} and secret {secret_id}"),
        })
    }
}
