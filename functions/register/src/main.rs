//! Lambda entry point of the `register` function: read configuration once, build the DynamoDB
//! store and the registration client, and serve. It needs no secret: it signs nothing.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::service_fn;
use lti_shared::adapters::registrar::Registrar;
use lti_shared::adapters::store::dynamo::DynamoStore;
use lti_shared::compose::config;
use lti_shared::domain::clock::SystemClock;
use lti_shared::domain::tool::ToolUrls;
use lti_shared::lti13::dynamic_registration::UrlPolicy;
use lti_shared::web::http::origin_guard;
use register::{Register, RegisterOptions};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let table = config::required(config::TABLE_VAR)?;
    let public_url = config::parse_public_url(&config::required(config::PUBLIC_URL_VAR)?)?;
    let auto_activate = config::flag(config::AUTO_ACTIVATE_VAR)?;
    let aws = config::aws_sdk_config().await;
    let store = Arc::new(DynamoStore::from_config(&aws, table));
    // On Lambda, platforms are reached over https only (loopback is the runtime API).
    let registrar = Registrar::new(UrlPolicy {
        allow_http_loopback: false,
    });
    let handler = Arc::new(Register::new(
        store.clone(),
        store,
        Arc::new(SystemClock),
        ToolUrls::new(&public_url),
        registrar,
        RegisterOptions {
            auto_activate,
            ..RegisterOptions::default()
        },
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
