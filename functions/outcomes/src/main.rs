//! Lambda entry point of the `outcomes` function: one function for two event sources, the
//! function URL (the score API) and the SQS retry queue. Configuration is read once; the AGS
//! client (and its token cache) lives across invocations.

use std::sync::Arc;

use lambda_http::lambda_runtime::{self, LambdaEvent};
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Service, service_fn};
use lti_shared::adapters::ags_client::AgsClient;
use lti_shared::adapters::basic_outcomes::OutcomesClient;
use lti_shared::adapters::grade_services::GradeServices;
use lti_shared::adapters::keystore::secrets_manager::SecretsManagerKeyStore;
use lti_shared::adapters::queue_sqs::SqsQueue;
use lti_shared::adapters::store::dynamo::DynamoStore;
use lti_shared::app::delivery::{Deliverer, DelivererParts, DeliveryPolicy};
use lti_shared::compose::config;
use lti_shared::domain::clock::SystemClock;
use lti_shared::domain::secret::OriginSecret;
use lti_shared::domain::tool::ToolUrls;
use lti_shared::web::http::origin_guard;
use outcomes::{Outcomes, SqsEvent};
use serde_json::Value;

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
    let deliverer = Arc::new(Deliverer::new(DelivererParts {
        store: store.clone(),
        keys: keys.clone(),
        services: Arc::new(GradeServices::new(
            Arc::new(AgsClient::new(store.clone(), clock.clone())?),
            Arc::new(OutcomesClient::new(clock.clone())?),
        )),
        queue: Arc::new(SqsQueue::from_config(&aws, queue_url, dead_letter_url)),
        clock: clock.clone(),
        policy: DeliveryPolicy::default(),
    }));
    let handler = Arc::new(Outcomes::new(
        deliverer,
        store,
        keys,
        clock,
        ToolUrls::new(&public_url),
    ));
    let origin = config::origin_secret()?.map(Arc::new);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let handler = Arc::clone(&handler);
        let origin = origin.clone();
        async move { dispatch(handler, origin, event).await }
    }))
    .await
}

/// Routes an invocation: SQS batches to the queue consumer, anything else to the HTTP handler
/// through `lambda_http`'s own adapter (the same conversion `lambda_http::run` does). HTTP
/// requests that did not come through the public origin (CloudFront) are refused; queue
/// batches come from SQS itself, with no headers to check.
async fn dispatch(
    handler: Arc<Outcomes>,
    origin: Option<Arc<OriginSecret>>,
    event: LambdaEvent<Value>,
) -> Result<Value, lambda_http::Error> {
    let LambdaEvent { payload, context } = event;
    let is_sqs = payload
        .get("Records")
        .and_then(Value::as_array)
        .and_then(|records| records.first())
        .and_then(|record| record.get("eventSource"))
        .and_then(Value::as_str)
        == Some("aws:sqs");
    if is_sqs {
        let batch: SqsEvent = serde_json::from_value(payload)?;
        return Ok(serde_json::to_value(handler.handle_queue(batch).await)?);
    }
    let request: LambdaRequest = serde_json::from_value(payload)?;
    let mut adapter = Adapter::from(service_fn(move |req| {
        let handler = Arc::clone(&handler);
        let origin = origin.clone();
        async move {
            let response = match origin_guard(&req, origin.as_deref()) {
                Some(refused) => refused,
                None => handler.handle(req).await,
            };
            Ok::<_, std::convert::Infallible>(response)
        }
    }));
    let response = adapter
        .call(LambdaEvent::new(request, context))
        .await
        .map_err(|never| match never {})?;
    Ok(serde_json::to_value(response)?)
}
