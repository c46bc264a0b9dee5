//! Lambda entry point of the `deep-link` function: configuration read once, the DynamoDB
//! store, the Secrets Manager key store and the platform key cache built from it, then served.

use std::sync::Arc;

use deep_link::DeepLink;
use lti_shared::compose::aws::{self, Aws};
use lti_shared::compose::config::Config;
use lti_shared::domain::tool::ToolUrls;
use lti_shared::web::serve::{init_logging, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_logging();
    let aws = Aws::connect(Config::from_env()?).await;
    let (store, keys) = (aws.store()?, aws.keys()?);
    let handler = DeepLink::new(
        aws::verifier(&store, aws.clock()),
        store.clone(),
        store,
        keys,
        ToolUrls::new(aws.config().public_url()?),
    );
    serve(Arc::new(handler), aws.config().origin.clone()).await
}
