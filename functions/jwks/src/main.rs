//! Lambda entry point of the `jwks` function: configuration read once, the Secrets Manager
//! key store built from it (no table access), then served.

use std::sync::Arc;

use jwks::Jwks;
use lti_shared::compose::aws::Aws;
use lti_shared::compose::config::Config;
use lti_shared::web::serve::{init_logging, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_logging();
    let aws = Aws::connect(Config::from_env()?).await;
    let handler = Jwks::new(aws.keys()?, aws.clock());
    serve(Arc::new(handler), aws.config().origin.clone()).await
}
