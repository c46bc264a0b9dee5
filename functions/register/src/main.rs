//! Lambda entry point of the `register` function (LTI Dynamic Registration): configuration
//! (with the operator's privacy level and whether registration is open) read once, the DynamoDB store
//! built from it (no secret access), then served.

use std::sync::Arc;

use lti_shared::adapters::registrar::Registrar;
use lti_shared::compose::aws::Aws;
use lti_shared::compose::config::Config;
use lti_shared::domain::tool::ToolUrls;
use lti_shared::lti13::dynamic_registration::UrlPolicy;
use lti_shared::lti13::lms_config::ToolProfile;
use lti_shared::web::serve::{init_logging, serve};
use register::{Register, RegisterOptions};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_logging();
    let aws = Aws::connect(Config::from_env()?).await;
    let open_registration = aws.config().open_registration;
    if open_registration {
        tracing::warn!(
            "LTI_OPEN_REGISTRATION=true: anyone who can reach /register can register a platform"
        );
    }
    let store = aws.store()?;
    // On Lambda, platforms are reached over https only (loopback is the runtime API).
    let registrar = Registrar::new(UrlPolicy {
        allow_http_loopback: false,
    });
    let handler = Register::new(
        store.clone(),
        store.clone(),
        store,
        aws.clock(),
        ToolUrls::new(aws.config().public_url()?),
        registrar,
        RegisterOptions {
            auto_activate: aws.config().auto_activate,
            profile: ToolProfile {
                privacy: aws.config().privacy,
                ..ToolProfile::default()
            },
            open_registration,
        },
    );
    serve(Arc::new(handler), aws.config().origin.clone()).await
}
