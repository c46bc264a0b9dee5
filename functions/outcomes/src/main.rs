//! Lambda entry point of the `outcomes` function: one function for two event sources, the
//! function URL (the score API) and the SQS retry queue. Configuration is read once; the AGS
//! client (and its token cache) lives across invocations.

use std::sync::Arc;

use lambda_http::lambda_runtime::{self, LambdaEvent};
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Service, service_fn};
use lti_shared::app::delivery::DeliveryPolicy;
use lti_shared::compose::aws::Aws;
use lti_shared::compose::config::Config;
use lti_shared::domain::secret::OriginSecret;
use lti_shared::domain::tool::ToolUrls;
use lti_shared::web::serve::{guarded, init_logging};
use outcomes::{Outcomes, SqsEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_logging();
    let aws = Aws::connect(Config::from_env()?).await;
    // Retries wait in SQS: the queue URLs are required here.
    aws.config().queues()?;
    let ports = aws.ports()?;
    let policy = DeliveryPolicy::default();
    let deliverer = ports.deliverer(ports.ags_client(policy.request_timeout)?, policy)?;
    let handler = Arc::new(Outcomes::from_ports(
        &ports,
        deliverer,
        ToolUrls::new(aws.config().public_url()?),
    ));
    let origin = aws.config().origin.clone().map(Arc::new);
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
            Ok::<_, std::convert::Infallible>(
                guarded(handler.as_ref(), origin.as_deref(), req).await,
            )
        }
    }));
    let response = adapter
        .call(LambdaEvent::new(request, context))
        .await
        .map_err(|never| match never {})?;
    Ok(serde_json::to_value(response)?)
}
