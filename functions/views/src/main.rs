//! Lambda entry point of the `views` function: read configuration once, build the DynamoDB
//! store, the Secrets Manager key store, the grade deliverer (resend goes through the outcomes
//! pipeline and its retry queue) and the platform client (roster), and serve.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::service_fn;
use lti_shared::adapters::ags_client::AgsClient;
use lti_shared::adapters::basic_outcomes::OutcomesClient;
use lti_shared::adapters::grade_services::GradeServices;
use lti_shared::adapters::keystore::secrets_manager::SecretsManagerKeyStore;
use lti_shared::adapters::queue_sqs::SqsQueue;
use lti_shared::adapters::store::dynamo::DynamoStore;
use lti_shared::app::delivery::{Deliverer, DelivererParts, DeliveryPolicy};
use lti_shared::compose::config;
use lti_shared::domain::clock::SystemClock;
use lti_shared::domain::tool::ToolUrls;
use lti_shared::web::http::origin_guard;
use views::Views;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let table = config::required(config::TABLE_VAR)?;
    let secret_id = config::required(config::SECRET_ID_VAR)?;
    let public_url = config::parse_public_url(&config::required(config::PUBLIC_URL_VAR)?)?;
    let queue_url = config::required(config::QUEUE_URL_VAR)?;
    let dead_letter_url = config::required(config::DEAD_LETTER_QUEUE_URL_VAR)?;
    let cache_ttl = config::secret_cache_ttl()?;
    let aws = config::aws_sdk_config().await;
    let store = Arc::new(DynamoStore::from_config(&aws, table));
    let keys = Arc::new(SecretsManagerKeyStore::from_config(
        &aws, secret_id, cache_ttl,
    ));
    let clock = Arc::new(SystemClock);
    let ags = Arc::new(AgsClient::new(store.clone(), clock.clone())?);
    let deliverer = Arc::new(Deliverer::new(DelivererParts {
        store: store.clone(),
        keys: keys.clone(),
        services: Arc::new(GradeServices::new(
            ags.clone(),
            Arc::new(OutcomesClient::new(clock.clone())?),
        )),
        queue: Arc::new(SqsQueue::from_config(&aws, queue_url, dead_letter_url)),
        clock: clock.clone(),
        policy: DeliveryPolicy::default(),
    }));
    let handler = Arc::new(Views::new(
        store,
        keys,
        deliverer,
        ags,
        clock,
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
