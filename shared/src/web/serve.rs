//! The one Lambda serve wrapper every function's `main` uses: logging set up once, the origin
//! guard in front of the handler, and a response for every request (STYLE 9: a `lambda_http`
//! handler that returned `Err` would reach the caller as a bare 5xx with no body of ours).

use std::convert::Infallible;
use std::sync::Arc;

use async_trait::async_trait;
use lambda_http::{Body, Request, Response, service_fn};

use crate::domain::secret::OriginSecret;
use crate::web::error::{Surface, WebError, respond};
use crate::web::http::{ORIGIN_VERIFY_HEADER, request_id};

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

/// Refuses a request that did not come through the tool's public origin.
///
/// Function URLs are public (`AuthType: NONE`: IAM auth would need a payload hash that LMS form
/// posts never send), so each function checks that CloudFront's secret origin header is present
/// and equal to `expected`, in constant time. A request that reached a function URL directly
/// would also see cookies and URLs of another host than the one published to platforms.
/// Returns the `403` to answer with, or `None` to let the request through. With no `expected`
/// secret (local runs, which no CloudFront fronts) every request passes.
pub fn origin_guard(req: &Request, expected: Option<&OriginSecret>) -> Option<Response<Body>> {
    let expected = expected?;
    let mut presented = req.headers().get_all(ORIGIN_VERIFY_HEADER).iter();
    let verified = match (presented.next(), presented.next()) {
        (Some(value), None) => expected.matches(value.as_bytes()),
        _ => false,
    };
    if verified {
        return None;
    }
    Some(respond(
        &WebError::NotPublicOrigin,
        &request_id(req),
        Surface::Json,
    ))
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

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t-origin-value-0123456789";

    fn guarded(headers: &[&str]) -> Option<Response<Body>> {
        let mut builder = http::Request::builder().uri("https://abc.lambda-url.aws/login");
        for value in headers {
            builder = builder.header(ORIGIN_VERIFY_HEADER, *value);
        }
        let req = builder.body(Body::Empty).unwrap();
        origin_guard(&req, OriginSecret::new(SECRET).as_ref())
    }

    fn assert_refused(response: Option<Response<Body>>) {
        let response = response.expect("the request must be refused");
        assert_eq!(response.status(), 403);
        let Body::Text(text) = response.body() else {
            panic!("a JSON error body")
        };
        let body: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(body["error"], "use_public_url");
        assert!(body["message"].as_str().unwrap().contains("public URL"));
        assert!(!text.contains(SECRET));
    }

    #[test]
    fn origin_guard_good_header_passes() {
        assert!(guarded(&[SECRET]).is_none());
    }

    #[test]
    fn origin_guard_missing_header_is_refused() {
        assert_refused(guarded(&[]));
    }

    #[test]
    fn origin_guard_bad_header_is_refused() {
        assert_refused(guarded(&["s3cr3t-origin-value-0123456780"]));
        assert_refused(guarded(&[""]));
        assert_refused(guarded(&["s3cr3t"]));
    }

    #[test]
    fn origin_guard_repeated_header_is_refused() {
        assert_refused(guarded(&["wrong", SECRET]));
        assert_refused(guarded(&[SECRET, SECRET]));
    }

    #[test]
    fn origin_guard_unset_secret_lets_everything_through() {
        let req = http::Request::builder()
            .uri("http://127.0.0.1:3000/login")
            .body(Body::Empty)
            .unwrap();
        assert!(origin_guard(&req, None).is_none());
    }
}
