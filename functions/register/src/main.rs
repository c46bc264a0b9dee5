//! Lambda entry point of the `register` function (LTI Dynamic Registration): configuration
//! (with the operator's privacy level, [`register::PRIVACY_VAR`]) read once, the DynamoDB store
//! built from it (no secret access), then served.

use std::sync::Arc;

use lti_shared::adapters::registrar::Registrar;
use lti_shared::compose::aws::Aws;
use lti_shared::compose::config::Config;
use lti_shared::domain::tool::ToolUrls;
use lti_shared::lti13::dynamic_registration::UrlPolicy;
use lti_shared::lti13::lms_config::ToolProfile;
use lti_shared::web::serve::{init_logging, serve};
use register::{
    OPEN_VAR, PRIVACY_VAR, Register, RegisterOptions, open_registration, privacy_level,
};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_logging();
    // The operator's privacy level, read once like the rest of the configuration: a value
    // that names no level stops the function at cold start.
    let privacy = privacy_level(std::env::var(PRIVACY_VAR).ok().as_deref())?;
    // Registration by invitation unless the operator opened it (a wrong value stops the
    // function rather than opening it).
    let open_registration = open_registration(std::env::var(OPEN_VAR).ok().as_deref())?;
    if open_registration {
        tracing::warn!("{OPEN_VAR}=true: anyone who can reach /register can register a platform");
    }
    let aws = Aws::connect(Config::from_env()?).await;
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
                privacy,
                ..ToolProfile::default()
            },
            open_registration,
        },
    );
    serve(Arc::new(handler), aws.config().origin.clone()).await
}
