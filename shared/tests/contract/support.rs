//! Fixtures that open each adapter on fresh storage, and the macros that run one contract
//! against every adapter of its port.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use lti_shared::adapters::keystore::file::FileKeyStore;
use lti_shared::adapters::keystore::secrets_manager::{self, SecretsManagerKeyStore};
use lti_shared::adapters::store::dynamo::{self, DynamoStore};
use lti_shared::adapters::store::embedded::EmbeddedStore;
use lti_shared::ports::{KeyStore, Store};
use tempfile::TempDir;
use time::OffsetDateTime;

/// What to do when the cloud tests have no endpoint to talk to.
const MOTO_HINT: &str = "start moto: run ./infra/test.sh, or export AWS_ENDPOINT_URL";

/// How long the primary Secrets Manager key store caches what it read. Deliberately long, so
/// the contracts also check that an instance sees its own writes despite its cache.
const PRIMARY_CACHE_TTL: Duration = Duration::from_secs(300);

/// The AWS configuration for the local cloud endpoint. Fails the test when there is none:
/// a cloud contract that cannot run must not pass.
async fn local_aws_config() -> aws_config::SdkConfig {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        !endpoint.trim().is_empty(),
        "the cloud contract tests need a local AWS endpoint but AWS_ENDPOINT_URL is not set: \
         {MOTO_HINT}"
    );
    lti_shared::compose::config::aws_sdk_config().await
}

/// A name no other test uses, valid as a DynamoDB table name and a secret name.
fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4())
}

/// The present moment, to whole seconds. Expiring-item tests derive every `now` and
/// `expires_at` from it, so nothing they store is in the wall clock's past (an adapter that
/// also sweeps by the real clock cannot interfere) and nothing has to sleep.
pub(crate) fn base_now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap()
}

enum StoreBackend {
    Embedded(TempDir),
    Dynamo {
        client: aws_sdk_dynamodb::Client,
        table: String,
    },
}

/// One store adapter on fresh, empty storage.
pub(crate) struct StoreFixture {
    store: Arc<dyn Store>,
    backend: StoreBackend,
}

impl StoreFixture {
    /// An [`EmbeddedStore`] in a new temporary folder.
    pub(crate) async fn embedded() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = open_embedded(dir.path());
        Self {
            store: Arc::new(store),
            backend: StoreBackend::Embedded(dir),
        }
    }

    /// A [`DynamoStore`] on a new table of the local DynamoDB-compatible server.
    pub(crate) async fn dynamo() -> Self {
        let config = local_aws_config().await;
        let client = aws_sdk_dynamodb::Client::new(&config);
        let table = unique_name("lti-contract");
        dynamo::create_table(&client, &table)
            .await
            .unwrap_or_else(|err| panic!("creating table {table} failed ({err}); {MOTO_HINT}"));
        Self {
            store: Arc::new(DynamoStore::new(client.clone(), table.clone())),
            backend: StoreBackend::Dynamo { client, table },
        }
    }

    /// The store under test.
    pub(crate) fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// The store under test, to share with spawned tasks.
    pub(crate) fn shared(&self) -> Arc<dyn Store> {
        Arc::clone(&self.store)
    }

    /// A second, independent instance over the same storage (the same SQLite file, the same
    /// table), as another process or Lambda invocation would open it.
    pub(crate) async fn reopen(&self) -> Arc<dyn Store> {
        match &self.backend {
            StoreBackend::Embedded(dir) => Arc::new(open_embedded(dir.path())),
            StoreBackend::Dynamo { client, table } => {
                Arc::new(DynamoStore::new(client.clone(), table.clone()))
            }
        }
    }
}

fn open_embedded(dir: &Path) -> EmbeddedStore {
    EmbeddedStore::open(dir).unwrap_or_else(|err| {
        panic!(
            "opening the embedded store in {} failed: {err}",
            dir.display()
        )
    })
}

enum KeyStoreBackend {
    File(TempDir),
    SecretsManager {
        client: aws_sdk_secretsmanager::Client,
        secret_id: String,
    },
}

/// One key store adapter on fresh, empty storage.
pub(crate) struct KeyStoreFixture {
    keys: Arc<dyn KeyStore>,
    backend: KeyStoreBackend,
}

impl KeyStoreFixture {
    /// A [`FileKeyStore`] in a new temporary folder.
    pub(crate) async fn file() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let keys = open_file(dir.path());
        Self {
            keys: Arc::new(keys),
            backend: KeyStoreBackend::File(dir),
        }
    }

    /// A [`SecretsManagerKeyStore`] on a new secret of the local Secrets Manager-compatible
    /// server, with a long cache.
    pub(crate) async fn secrets_manager() -> Self {
        let config = local_aws_config().await;
        let client = aws_sdk_secretsmanager::Client::new(&config);
        let secret_id = unique_name("lti-contract");
        secrets_manager::create_secret(&client, &secret_id)
            .await
            .unwrap_or_else(|err| {
                panic!("creating secret {secret_id} failed ({err}); {MOTO_HINT}")
            });
        let keys =
            SecretsManagerKeyStore::new(client.clone(), secret_id.clone(), PRIMARY_CACHE_TTL);
        Self {
            keys: Arc::new(keys),
            backend: KeyStoreBackend::SecretsManager { client, secret_id },
        }
    }

    /// The key store under test.
    pub(crate) fn keys(&self) -> &dyn KeyStore {
        &*self.keys
    }

    /// The key store under test, to share with spawned tasks.
    pub(crate) fn shared(&self) -> Arc<dyn KeyStore> {
        Arc::clone(&self.keys)
    }

    /// A second, independent instance over the same storage (the same folder; the same
    /// secret, without a cache), as another process or Lambda invocation would open it.
    pub(crate) async fn reopen(&self) -> Arc<dyn KeyStore> {
        match &self.backend {
            KeyStoreBackend::File(dir) => Arc::new(open_file(dir.path())),
            KeyStoreBackend::SecretsManager { client, secret_id } => Arc::new(
                SecretsManagerKeyStore::new(client.clone(), secret_id.clone(), Duration::ZERO),
            ),
        }
    }

    /// The folder of a file key store; `None` for other adapters.
    pub(crate) fn dir(&self) -> Option<&Path> {
        match &self.backend {
            KeyStoreBackend::File(dir) => Some(dir.path()),
            KeyStoreBackend::SecretsManager { .. } => None,
        }
    }
}

fn open_file(dir: &Path) -> FileKeyStore {
    FileKeyStore::open(dir).unwrap_or_else(|err| {
        panic!(
            "opening the file key store in {} failed: {err}",
            dir.display()
        )
    })
}

/// Runs each listed store contract (`async fn(&StoreFixture)` in the invoking module) as
/// `embedded::<name>` and `dynamo::<name>`.
macro_rules! store_contracts {
    ($($contract:ident),+ $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $contract() {
                    let fixture = $crate::support::StoreFixture::embedded().await;
                    super::$contract(&fixture).await;
                }
            )+
        }

        mod dynamo {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $contract() {
                    let fixture = $crate::support::StoreFixture::dynamo().await;
                    super::$contract(&fixture).await;
                }
            )+
        }
    };
}

/// Runs each listed key store contract (`async fn(&KeyStoreFixture)` in the invoking module)
/// as `file::<name>` and `secrets_manager::<name>`.
macro_rules! keystore_contracts {
    ($($contract:ident),+ $(,)?) => {
        mod file {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $contract() {
                    let fixture = $crate::support::KeyStoreFixture::file().await;
                    super::$contract(&fixture).await;
                }
            )+
        }

        mod secrets_manager {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $contract() {
                    let fixture = $crate::support::KeyStoreFixture::secrets_manager().await;
                    super::$contract(&fixture).await;
                }
            )+
        }
    };
}

/// Asserts that a result is the given [`lti_shared::ports::StoreError`] variant.
macro_rules! assert_store_error {
    ($result:expr, $variant:ident) => {
        match $result {
            Err(::lti_shared::ports::StoreError::$variant(_)) => {}
            other => panic!(
                "expected Err(StoreError::{}(_)), got {:?}",
                stringify!($variant),
                other
            ),
        }
    };
}
