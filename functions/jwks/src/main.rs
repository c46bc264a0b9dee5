//! Lambda entry point of the `jwks` function: read configuration once, build the Secrets
//! Manager key store, and serve.

use std::convert::Infallible;
use std::sync::Arc;

use jwks::Jwks;
use lambda_http::service_fn;
use lti_shared::adapters::keystore::secrets_manager::SecretsManagerKeyStore;
use lti_shared::compose::config;
use lti_shared::domain::clock::SystemClock;
use lti_shared::web::http::origin_guard;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let secret_id = config::required(config::SECRET_ID_VAR)?;
    let cache_ttl = config::secret_cache_ttl()?;
    let aws = config::aws_sdk_config().await;
    let keys = SecretsManagerKeyStore::from_config(&aws, secret_id, cache_ttl);
    let handler = Arc::new(Jwks::new(Arc::new(keys), Arc::new(SystemClock)));
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
