//! Lambda entry point of the `views` function (the course views): configuration read once,
//! the ports, grade deliverer and AGS client built from it, then served.

use std::sync::Arc;

use lti_shared::app::delivery::DeliveryPolicy;
use lti_shared::compose::aws::Aws;
use lti_shared::compose::config::Config;
use lti_shared::domain::tool::ToolUrls;
use lti_shared::web::serve::{init_logging, serve};
use views::Views;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_logging();
    let aws = Aws::connect(Config::from_env()?).await;
    // Resends queue their retries: the queue URLs are required here.
    aws.config().queues()?;
    let ports = aws.ports()?;
    let policy = DeliveryPolicy::default();
    let ags = ports.ags_client(policy.request_timeout)?;
    let deliverer = ports.deliverer(ags.clone(), policy)?;
    let handler = Views::from_ports(
        &ports,
        deliverer,
        ags,
        ToolUrls::new(aws.config().public_url()?),
    );
    serve(Arc::new(handler), aws.config().origin.clone()).await
}
