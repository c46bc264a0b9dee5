//! Lambda entry point of the `login` function: configuration read once, the DynamoDB store
//! (registrations cached in memory) built from it (no secret access), then served.

use std::sync::Arc;

use login::Login;
use lti_shared::adapters::registry_cache::{CachedRegistry, DEFAULT_REGISTRY_TTL};
use lti_shared::compose::aws::Aws;
use lti_shared::compose::config::Config;
use lti_shared::domain::tool::ToolUrls;
use lti_shared::web::serve::{init_logging, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_logging();
    let aws = Aws::connect(Config::from_env()?).await;
    let store = aws.store()?;
    let handler = Login::new(
        Arc::new(CachedRegistry::new(store.clone(), DEFAULT_REGISTRY_TTL)),
        store,
        aws.clock(),
        ToolUrls::new(aws.config().public_url()?),
    );
    serve(Arc::new(handler), aws.config().origin.clone()).await
}
