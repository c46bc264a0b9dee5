//! Lambda entry point of the `launch` function: configuration read once, the ports (DynamoDB
//! store, Secrets Manager key store, platform key cache) built from it, then served.

use std::sync::Arc;

use launch::Launch;
use lti_shared::compose::aws::Aws;
use lti_shared::compose::config::Config;
use lti_shared::domain::tool::ToolUrls;
use lti_shared::web::serve::{init_logging, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_logging();
    let aws = Aws::connect(Config::from_env()?).await;
    let handler = Launch::from_ports(&aws.ports()?, ToolUrls::new(aws.config().public_url()?));
    serve(Arc::new(handler), aws.config().origin.clone()).await
}
