//! Lambda entry point of the `views` function (the course views): configuration read once,
//! the store, key store, grade deliverer and AGS client built from it, then served.

use std::sync::Arc;

use lti_shared::compose::aws::{self, Aws};
use lti_shared::compose::config::Config;
use lti_shared::domain::tool::ToolUrls;
use lti_shared::web::serve::{init_logging, serve};
use views::{Views, ViewsParts};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_logging();
    let aws = Aws::connect(Config::from_env()?).await;
    let (deliverer, ags) = aws::deliverer(&aws)?;
    let store = aws.store()?;
    let handler = Views::new(
        ViewsParts {
            records: store.clone(),
            items: store.clone(),
            registry: store.clone(),
            lifecycle: store,
            keys: aws.keys()?,
            deliverer,
            ags,
            clock: aws.clock(),
        },
        ToolUrls::new(aws.config().public_url()?),
    );
    serve(Arc::new(handler), aws.config().origin.clone()).await
}
