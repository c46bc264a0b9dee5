//! Lambda entry point of the `deep-link` function: read configuration once, build the DynamoDB
//! store, the Secrets Manager key store and the platform key cache, and serve.

use std::convert::Infallible;
use std::sync::Arc;

use deep_link::DeepLink;
use lambda_http::service_fn;
use lti_shared::adapters::jwks_client::{KeyCachePolicy, PlatformKeys};
use lti_shared::adapters::keystore::secrets_manager::SecretsManagerKeyStore;
use lti_shared::adapters::registry_cache::{CachedRegistry, DEFAULT_REGISTRY_TTL};
use lti_shared::adapters::store::dynamo::DynamoStore;
use lti_shared::compose::config;
use lti_shared::domain::clock::SystemClock;
use lti_shared::domain::tool::ToolUrls;
use lti_shared::lti13::launch::{Verifier, VerifyPolicy};
use lti_shared::web::http::origin_guard;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let table = config::required(config::TABLE_VAR)?;
    let secret_id = config::required(config::SECRET_ID_VAR)?;
    let public_url = config::parse_public_url(&config::required(config::PUBLIC_URL_VAR)?)?;
    let cache_ttl = config::secret_cache_ttl()?;
    let aws = config::aws_sdk_config().await;
    let store = Arc::new(DynamoStore::from_config(&aws, table));
    let keys = Arc::new(SecretsManagerKeyStore::from_config(
        &aws, secret_id, cache_ttl,
    ));
    let registry = Arc::new(CachedRegistry::new(store.clone(), DEFAULT_REGISTRY_TTL));
    let verifier = Verifier {
        registry,
        items: store.clone(),
        keys: Arc::new(PlatformKeys::new(store.clone(), KeyCachePolicy::default())),
        clock: Arc::new(SystemClock),
        policy: VerifyPolicy::default(),
    };
    let handler = Arc::new(DeepLink::new(
        verifier,
        store.clone(),
        store,
        keys,
        ToolUrls::new(&public_url),
    ));
    let origin = config::origin_secret()?.map(Arc::new);
    lambda_http::run(service_fn(move |req| {
        let handler = Arc::clone(&handler);
        let origin = origin.clone();
        async move {
            // Only requests that came through the public origin (CloudFront) are served.
            let response = match origin_guard(&req, origin.as_deref()) {
                Some(refused) => refused,
                None => handler.handle(req).await,
            };
            Ok::<_, Infallible>(response)
        }
    }))
    .await
}
