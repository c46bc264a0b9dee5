//! The one Lambda serve wrapper every function's `main` uses: logging set up once, the origin
//! guard in front of the handler, and a response for every request (STYLE 9: a `lambda_http`
//! handler that returned `Err` would reach the caller as a bare 5xx with no body of ours).

use std::convert::Infallible;
use std::sync::Arc;

use async_trait::async_trait;
use lambda_http::{Body, Request, Response, service_fn};

use crate::domain::secret::OriginSecret;
use crate::web::http::origin_guard;

/// An HTTP handler of one function: answers every request, never fails.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// Answers one request.
    async fn handle(&self, req: Request) -> Response<Body>;
}

/// Lets `handler` answer `req` only when it came through the public origin (see
/// [`origin_guard`]); otherwise answers the guard's refusal.
pub async fn guarded(
    handler: &dyn Handler,
    origin: Option<&OriginSecret>,
    req: Request,
) -> Response<Body> {
    match origin_guard(&req, origin) {
        Some(refused) => refused,
        None => handler.handle(req).await,
    }
}

/// Sets up the Lambda log format (JSON lines on CloudWatch, `RUST_LOG` filters). Call first in
/// `main`, before reading the configuration, so a configuration error is logged.
pub fn init_logging() {
    lambda_http::tracing::init_default_subscriber();
}

/// Serves `handler` on the Lambda runtime behind the origin guard until the sandbox ends.
pub async fn serve(
    handler: Arc<dyn Handler>,
    origin: Option<OriginSecret>,
) -> Result<(), lambda_http::Error> {
    let origin = origin.map(Arc::new);
    lambda_http::run(service_fn(move |req| {
        let handler = Arc::clone(&handler);
        let origin = origin.clone();
        async move { Ok::<_, Infallible>(guarded(handler.as_ref(), origin.as_deref(), req).await) }
    }))
    .await
}
