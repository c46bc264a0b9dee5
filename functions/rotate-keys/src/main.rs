//! Lambda entry point of the `rotate-keys` function: Secrets Manager invokes it once per
//! rotation step. It builds the Secrets Manager client once and needs no other configuration:
//! the event names the secret, and the function's policy allows only the tool's secret.

use std::sync::Arc;

use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use lti_shared::compose::config;
use lti_shared::domain::clock::SystemClock;
use rotate_keys::{RotateKeys, RotationEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_http::tracing::init_default_subscriber();
    let aws = config::aws_sdk_config().await;
    let handler = Arc::new(RotateKeys::new(
        aws_sdk_secretsmanager::Client::new(&aws),
        Arc::new(SystemClock),
    ));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<RotationEvent>| {
        let handler = Arc::clone(&handler);
        // An error fails the step: Secrets Manager then leaves AWSCURRENT where it was.
        async move {
            handler
                .handle(&event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        }
    }))
    .await
}
