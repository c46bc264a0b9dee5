//! HTTP plumbing shared by the function handlers: request ids, responses, and the one place
//! where errors become responses.
//!
//! Handlers return `Response<Body>` for every foreseeable outcome, never `Err`: an `Err` from a
//! `lambda_http` handler reaches the caller as a bare 5xx with no body of ours.

use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

/// The largest form body a launch or selection endpoint reads (256 KiB): twice the largest
/// id_token the verifier accepts, and far above any LTI 1.1 launch form (a few kilobytes).
/// Anything larger is refused before it is parsed.
pub const MAX_FORM_BYTES: usize = 256 * 1024;

/// The id that ties a response to its log lines: Lambda's invocation id, else the function
/// URL event's own request id, else (locally) a fresh one.
pub fn request_id(req: &Request) -> String {
    let from_event = || match req.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        _ => None,
    };
    req.lambda_context_ref()
        .map(|ctx| ctx.request_id.clone())
        .filter(|id| !id.is_empty())
        .or_else(from_event)
        .filter(|id| !id.is_empty())
        .unwrap_or_else(fresh_request_id)
}

/// The header the CloudFront distribution adds to every request it forwards to a function URL
/// (a custom origin header, which replaces any header of that name a viewer sent). Lambda
/// function URLs lower-case header names.
pub const ORIGIN_VERIFY_HEADER: &str = "x-origin-verify";

/// A new random request id, for requests that arrive without one.
pub fn fresh_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A failure a handler reports to its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// A stable machine-readable code, e.g. `method_not_allowed`.
    pub code: &'static str,
    /// What the caller can do about it, in plain words. Never internals.
    pub message: String,
}

impl ApiError {
    /// A failure with this status, code and message.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 405 for a method the endpoint does not serve.
    pub fn method_not_allowed(allowed: &str) -> Self {
        Self::new(
            405,
            "method_not_allowed",
            format!("this endpoint accepts {allowed} only"),
        )
    }

    /// 503 for a dependency (store, key store) that is down.
    pub fn unavailable() -> Self {
        Self::new(
            503,
            "temporarily_unavailable",
            "the tool cannot reach its storage right now; try again in a minute, and tell your \
             administrator if it persists",
        )
    }

    /// The JSON response for this error, carrying the request id so a user's report can be
    /// matched to the log line.
    pub fn into_response(self, request_id: &str) -> Response<Body> {
        #[derive(Serialize)]
        struct ErrorBody<'a> {
            error: &'a str,
            message: &'a str,
            request_id: &'a str,
        }
        let body = ErrorBody {
            error: self.code,
            message: &self.message,
            request_id,
        };
        json_response(self.status, &body, "no-store")
    }
}

/// A JSON response with the given status and `Cache-Control`.
pub fn json_response<T: Serialize>(status: u16, body: &T, cache_control: &str) -> Response<Body> {
    match serde_json::to_string(body) {
        Ok(text) => response(status, "application/json", cache_control, Body::Text(text)),
        Err(_) => response(
            500,
            "application/json",
            "no-store",
            Body::Text(
                r#"{"error":"internal_error","message":"the response could not be built"}"#.into(),
            ),
        ),
    }
}

/// A response with the security headers every answer of the tool carries.
pub fn response(
    status: u16,
    content_type: &str,
    cache_control: &str,
    body: Body,
) -> Response<Body> {
    let mut out = Response::new(body);
    *out.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = out.headers_mut();
    for (name, value) in [
        (http::header::CONTENT_TYPE, content_type),
        (http::header::CACHE_CONTROL, cache_control),
        (http::header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        if let Ok(value) = http::HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    out
}

/// `Content-Security-Policy` of every HTML page: nothing from other origins, inline script and
/// style only (the pages carry their own), scripts may call the tool's own APIs (the demo
/// activity posts scores), forms may post to the platform or the activity.
pub const HTML_CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src \
     'unsafe-inline'; connect-src 'self'; base-uri 'none'";

/// An HTML page that is never cached.
pub fn html_response(status: u16, html: String) -> Response<Body> {
    let mut out = response(
        status,
        "text/html; charset=utf-8",
        "no-store",
        Body::Text(html),
    );
    if let Ok(value) = http::HeaderValue::from_str(HTML_CSP) {
        out.headers_mut()
            .insert(http::header::CONTENT_SECURITY_POLICY, value);
    }
    out
}

/// The error page (heading, what to do, reason code, request id) with `status`.
pub fn error_page(
    status: u16,
    heading: &str,
    advice: &str,
    code: &str,
    request_id: &str,
) -> Response<Body> {
    html_response(
        status,
        crate::web::pages::render(&crate::web::pages::ErrorPage {
            heading,
            advice,
            code,
            request_id,
        }),
    )
}

/// A `302 Found` redirect.
pub fn redirect(location: &str) -> Response<Body> {
    let mut out = response(302, "text/plain; charset=utf-8", "no-store", Body::Empty);
    if let Ok(value) = http::HeaderValue::from_str(location) {
        out.headers_mut().insert(http::header::LOCATION, value);
    }
    out
}

/// Adds a `Set-Cookie` header.
pub fn set_cookie(response: &mut Response<Body>, cookie: &str) {
    if let Ok(value) = http::HeaderValue::from_str(cookie) {
        response
            .headers_mut()
            .append(http::header::SET_COOKIE, value);
    }
}

/// The parameters of a request: the query string, then (for a form POST) the body.
pub fn params(req: &Request) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = req
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let is_form = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if *req.method() == http::Method::POST && is_form {
        out.extend(url::form_urlencoded::parse(req.body().as_ref()).into_owned());
    }
    out
}

/// The parameters of an LTI 1.1 (OAuth 1.0a) request, as RFC 5849 §3.4.1.3.1 collects them
/// for the signature: the query, the body when it is `application/x-www-form-urlencoded`, and
/// an `Authorization: OAuth` header ([`crate::lti11::oauth1::collect_params`]).
pub fn oauth_request_params(
    req: &Request,
) -> Result<Vec<(String, String)>, crate::lti11::oauth1::OAuthError> {
    let header = |name: http::header::HeaderName| {
        req.headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
    };
    let is_form = header(http::header::CONTENT_TYPE)
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    let authorization = header(http::header::AUTHORIZATION)
        .filter(|value| value.len() > 6 && value[..6].eq_ignore_ascii_case("oauth "));
    crate::lti11::oauth1::collect_params(
        req.uri().query(),
        is_form.then(|| req.body().as_ref()),
        authorization,
    )
}

/// The first value of parameter `name`.
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Whether a POST was sent by a page of `origin` itself. Browsers set `Sec-Fetch-Site` (and
/// `Origin`) themselves and never let a page forge them, so a form another site submits into
/// this browser cannot pass. Without `Sec-Fetch-Site` (older browsers), `Origin` must match.
pub fn is_same_origin_post(req: &Request, origin: &str) -> bool {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    match header("sec-fetch-site") {
        Some(site) => site == "same-origin",
        None => header("origin") == Some(origin),
    }
}

/// Whether the request carries any cookie whose name starts with `prefix`.
pub fn has_cookie_with_prefix(req: &Request, prefix: &str) -> bool {
    req.headers()
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|pair| pair.trim().starts_with(prefix))
}

/// The value of cookie `name`, from every `Cookie` header of the request.
pub fn cookie(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_found_among_several_headers() {
        let req = http::Request::builder()
            .header("cookie", "a=1; b=2")
            .header("cookie", "c=3")
            .body(Body::Empty)
            .unwrap();
        assert_eq!(cookie(&req, "b").as_deref(), Some("2"));
        assert_eq!(cookie(&req, "c").as_deref(), Some("3"));
        assert_eq!(cookie(&req, "d"), None);
    }

    #[test]
    fn error_page_is_an_uncached_html_page_with_the_code() {
        let page = error_page(403, "Refused", "Go back", "ROLE_NOT_ALLOWED", "req-1");
        assert_eq!(page.status(), 403);
        assert_eq!(page.headers()[http::header::CACHE_CONTROL], "no-store");
        let Body::Text(html) = page.body() else {
            panic!("not a text body");
        };
        assert!(html.contains("ROLE_NOT_ALLOWED") && html.contains("req-1"));
    }

    #[test]
    fn params_merge_query_and_form_body() {
        let req = http::Request::builder()
            .method("POST")
            .uri("https://tool.example/login?iss=https%3A%2F%2Flms")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::Text("login_hint=u+1&x=%26".into()))
            .unwrap();
        let params = params(&req);
        assert_eq!(param(&params, "iss"), Some("https://lms"));
        assert_eq!(param(&params, "login_hint"), Some("u 1"));
        assert_eq!(param(&params, "x"), Some("&"));
    }
}
