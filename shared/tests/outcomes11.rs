//! LTI 1.1 Basic Outcomes over a real socket.
//!
//! A loopback outcomes service plays the platform. Before it answers anything it checks the
//! request the way a platform must (LTI 1.1 §6, RFC 5849, OAuth Request Body Hash): `POST` to
//! the outcome URL, `Content-Type: application/xml` exactly, a `User-Agent`, an OAuth signature
//! that verifies with the shared secret over the URL it listens on (its `?type=x` query
//! included), the consumer key, the injected clock's timestamp, and an `oauth_body_hash` equal
//! to the hash of the body received. A request that fails any check gets HTTP 401 and the
//! reason is recorded, so a test that expects success fails loudly. Then it answers as the test
//! asked: success, failure, unsupported, malformed XML, a DTD, HTTP 500, and so on.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::http::request::Parts;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use lti_shared::adapters::basic_outcomes::OutcomesClient;
use lti_shared::domain::clock::FixedClock;
use lti_shared::domain::ids::ConsumerKey;
use lti_shared::domain::secret::ConsumerSecret;
use lti_shared::lti11::oauth1::{self, SignedRequest};
use lti_shared::lti11::pox::{Operation, OutcomeError, OutcomeTarget};
use quick_xml::Reader;
use quick_xml::events::Event;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use url::Url;

const CONSUMER_KEY: &str = "outcomes-key";
const SECRET: &str = "shared secret +/=&~ é";
const NOW: i64 = 1_700_000_000;
/// A Moodle-style sourcedid with every character XML treats specially.
const SOURCEDID: &str =
    r#"{"data":{"instanceid":"2","userid":"3","typeid":"1","launchid":42},"hash":"<\"&'>"}"#;

/// How the fake platform answers a request that passed its checks.
#[derive(Debug, Clone)]
enum Reply {
    /// `success`, echoing the message identifier, with the operation's response element; for
    /// readResult, this `textString` content.
    Success { text_string: &'static str },
    /// `success`, but referring to another message.
    WrongMessageRef,
    /// `failure` with a description, on HTTP 200.
    Failure,
    /// `unsupported` with a description, on HTTP 200.
    Unsupported,
    /// Not well-formed XML, on HTTP 200.
    Malformed,
    /// A success envelope behind an external-entity DTD, on HTTP 200.
    Dtd,
    /// A bare HTTP status.
    Status(u16),
    /// A success envelope padded past 1 MiB.
    Oversized,
}

/// What the fake platform saw in one request.
#[derive(Debug, Clone)]
struct Received {
    /// The checks' verdict: `Ok` or why the request was refused.
    verdict: Result<(), String>,
    operation: Option<String>,
    message_id: Option<String>,
    sourcedid: Option<String>,
    text_string: Option<String>,
}

struct Platform {
    reply: Reply,
    secret: ConsumerSecret,
    public_url: Url,
    received: Mutex<Vec<Received>>,
}

impl Platform {
    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// Starts a platform that answers `reply` and verifies with `SECRET`. Its `public_url` is the
/// outcome URL it serves.
async fn platform(reply: Reply) -> Arc<Platform> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let public_url = Url::parse(&format!("http://127.0.0.1:{port}/outcomes?type=x")).unwrap();
    let platform = Arc::new(Platform {
        reply,
        secret: ConsumerSecret::new(SECRET),
        public_url,
        received: Mutex::new(Vec::new()),
    });
    let serving = Arc::clone(&platform);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let platform = Arc::clone(&serving);
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let platform = Arc::clone(&platform);
                    async move { Ok::<_, Infallible>(handle(&platform, request).await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    platform
}

fn header<'a>(request: &'a Parts, name: &str) -> Option<&'a str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}

/// What a platform checks before it believes an outcomes request.
fn check(platform: &Platform, request: &Parts, body: &[u8]) -> Result<(), String> {
    if request.method != hyper::Method::POST {
        return Err(format!("method {}", request.method));
    }
    if request.uri.path() != platform.public_url.path() {
        return Err(format!("path {}", request.uri.path()));
    }
    if request.uri.query() != platform.public_url.query() {
        return Err(format!("query {:?}", request.uri.query()));
    }
    match header(request, "content-type") {
        Some("application/xml") => {}
        other => return Err(format!("content-type {other:?}")),
    }
    match header(request, "user-agent") {
        Some(agent) if agent.starts_with("lti-tool/") => {}
        other => return Err(format!("user-agent {other:?}")),
    }
    let authorization = header(request, "authorization").ok_or("no authorization")?;
    // The body is XML, not a form: the parameters are the query the request arrived with
    // (`type=x`) and the header's. A client that left the query out of its base string fails
    // here, since the platform signs over it.
    let params = oauth1::collect_params(request.uri.query(), None, Some(authorization))
        .map_err(|e| format!("params: {e}"))?;
    let signed = SignedRequest::parse("POST", &platform.public_url, params)
        .map_err(|e| format!("parse: {e}"))?;
    signed
        .verify_signature(&platform.secret)
        .map_err(|e| format!("signature: {e}"))?;
    if signed.consumer_key() != CONSUMER_KEY {
        return Err(format!("consumer key {}", signed.consumer_key()));
    }
    if signed.timestamp() != NOW {
        return Err(format!("timestamp {}", signed.timestamp()));
    }
    let body_hash = signed
        .params()
        .iter()
        .find(|(name, _)| name == "oauth_body_hash")
        .map(|(_, value)| value.as_str())
        .ok_or("no oauth_body_hash")?;
    if body_hash != oauth1::body_hash(body) {
        return Err("oauth_body_hash does not match the body".into());
    }
    Ok(())
}

/// The texts a platform reads from a POX request, references resolved.
fn read_request(body: &[u8]) -> Received {
    let mut received = Received {
        verdict: Ok(()),
        operation: None,
        message_id: None,
        sourcedid: None,
        text_string: None,
    };
    let Ok(text) = std::str::from_utf8(body) else {
        return received;
    };
    let mut reader = Reader::from_str(text);
    let mut path: Vec<String> = Vec::new();
    let mut current = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(start)) => {
                let name = start.local_name().as_ref().to_owned();
                if path.last().is_some_and(|parent| parent == "imsx_POXBody") {
                    received.operation = Some(name.clone());
                }
                path.push(name);
                current.clear();
            }
            Ok(Event::Text(text)) => current.push_str(&text.xml10_content()),
            Ok(Event::GeneralRef(reference)) => current.push(match reference.as_ref() {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                _ => reference.resolve_char_ref().ok().flatten().unwrap_or('?'),
            }),
            Ok(Event::End(_)) => {
                let slot = match path.pop().as_deref() {
                    Some("imsx_messageIdentifier") => &mut received.message_id,
                    Some("sourcedId") => &mut received.sourcedid,
                    Some("textString") => &mut received.text_string,
                    _ => continue,
                };
                *slot = Some(std::mem::take(&mut current));
            }
            Ok(Event::Eof) | Err(_) => return received,
            Ok(_) => {}
        }
    }
}

fn envelope(code_major: &str, message_ref: &str, operation: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<imsx_POXEnvelopeResponse xmlns="http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0">
  <imsx_POXHeader>
    <imsx_POXResponseHeaderInfo>
      <imsx_version>V1.0</imsx_version>
      <imsx_messageIdentifier>answer-1</imsx_messageIdentifier>
      <imsx_statusInfo>
        <imsx_codeMajor>{code_major}</imsx_codeMajor>
        <imsx_severity>status</imsx_severity>
        <imsx_description>{code_major} for {operation}</imsx_description>
        <imsx_messageRefIdentifier>{message_ref}</imsx_messageRefIdentifier>
        <imsx_operationRefIdentifier>{operation}</imsx_operationRefIdentifier>
      </imsx_statusInfo>
    </imsx_POXResponseHeaderInfo>
  </imsx_POXHeader>
  <imsx_POXBody>{body}</imsx_POXBody>
</imsx_POXEnvelopeResponse>"#
    )
}

fn success_body(operation: &str, text_string: &str) -> String {
    match operation {
        "readResultRequest" => format!(
            "<readResultResponse><result><resultScore><language>en</language>\
             <textString>{text_string}</textString></resultScore></result></readResultResponse>"
        ),
        "deleteResultRequest" => "<deleteResultResponse/>".into(),
        _ => "<replaceResultResponse/>".into(),
    }
}

fn respond(status: u16, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    response
        .headers_mut()
        .insert("content-type", "application/xml".parse().unwrap());
    response
}

async fn handle(platform: &Platform, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, incoming) = request.into_parts();
    let body = incoming.collect().await.unwrap().to_bytes();
    let mut received = read_request(&body);
    received.verdict = check(platform, &parts, &body);
    platform.received.lock().unwrap().push(received.clone());
    if let Err(reason) = received.verdict {
        return respond(401, reason);
    }
    let message_id = received.message_id.unwrap_or_default();
    let operation = received.operation.unwrap_or_default();
    let name = operation.trim_end_matches("Request");
    match &platform.reply {
        Reply::Success { text_string } => respond(
            200,
            envelope(
                "success",
                &message_id,
                name,
                &success_body(&operation, text_string),
            ),
        ),
        Reply::WrongMessageRef => respond(
            200,
            envelope("success", "not-yours", name, &success_body(&operation, "")),
        ),
        Reply::Failure => respond(200, envelope("failure", &message_id, name, "")),
        Reply::Unsupported => respond(200, envelope("unsupported", &message_id, name, "")),
        Reply::Malformed => respond(200, "<imsx_POXEnvelopeResponse><imsx_POXHeader>"),
        Reply::Dtd => respond(
            200,
            format!(
                "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM \
                 \"file:///etc/passwd\">]>\n{}",
                envelope("success", &message_id, name, "&xxe;")
                    .trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
            ),
        ),
        Reply::Status(status) => respond(*status, "platform error"),
        Reply::Oversized => respond(
            200,
            envelope(
                "success",
                &message_id,
                name,
                &format!("<!--{}-->", "x".repeat(1024 * 1024)),
            ),
        ),
    }
}

fn target(platform: &Platform, secret: &str) -> OutcomeTarget {
    OutcomeTarget {
        service_url: platform.public_url.clone(),
        sourcedid: SOURCEDID.into(),
        consumer_key: ConsumerKey::parse(CONSUMER_KEY).unwrap(),
        secret: ConsumerSecret::new(secret),
    }
}

fn client() -> OutcomesClient {
    let now = OffsetDateTime::from_unix_timestamp(NOW).unwrap();
    // The platform stand-in listens on loopback over http: the local-run policy.
    OutcomesClient::with_policy(
        Arc::new(FixedClock::new(now)),
        lti_shared::lti11::pox::REQUEST_TIMEOUT,
        lti_shared::adapters::http_client::OutboundPolicy::local(),
    )
    .unwrap()
}

/// The one request the platform received, which must have passed its checks.
fn only_verified_request(platform: &Platform) -> Received {
    let received = platform.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let request = received.into_iter().next().unwrap();
    assert_eq!(request.verdict, Ok(()));
    request
}

#[tokio::test]
async fn replace_result_success_is_ok() {
    let platform = platform(Reply::Success { text_string: "" }).await;
    let result = client()
        .replace_result(&target(&platform, SECRET), 0.5)
        .await;
    assert_eq!(result, Ok(()));
    let request = only_verified_request(&platform);
    assert_eq!(request.operation.as_deref(), Some("replaceResultRequest"));
    assert_eq!(request.sourcedid.as_deref(), Some(SOURCEDID));
    assert_eq!(request.text_string.as_deref(), Some("0.5"));
    assert_eq!(request.message_id.map(|id| id.len()), Some(32));
}

#[tokio::test]
async fn replace_result_each_request_has_a_fresh_message_id() {
    let platform = platform(Reply::Success { text_string: "" }).await;
    let client = client();
    let target = target(&platform, SECRET);
    client.replace_result(&target, 1.0).await.unwrap();
    client.replace_result(&target, 0.0).await.unwrap();
    let received = platform.received();
    assert_eq!(received.len(), 2);
    assert_ne!(received[0].message_id, received[1].message_id);
    assert_eq!(received[0].text_string.as_deref(), Some("1"));
    assert_eq!(received[1].text_string.as_deref(), Some("0"));
}

#[tokio::test]
async fn read_result_score_is_returned() {
    let platform = platform(Reply::Success {
        text_string: "0.91",
    })
    .await;
    let result = client().read_result(&target(&platform, SECRET)).await;
    assert_eq!(result, Ok(Some(0.91)));
    let request = only_verified_request(&platform);
    assert_eq!(request.operation.as_deref(), Some("readResultRequest"));
    assert_eq!(request.sourcedid.as_deref(), Some(SOURCEDID));
    assert_eq!(request.text_string, None);
}

#[tokio::test]
async fn read_result_empty_text_string_is_none() {
    let platform = platform(Reply::Success { text_string: "" }).await;
    let result = client().read_result(&target(&platform, SECRET)).await;
    assert_eq!(result, Ok(None));
}

#[tokio::test]
async fn delete_result_success_is_ok() {
    let platform = platform(Reply::Success { text_string: "" }).await;
    let result = client().delete_result(&target(&platform, SECRET)).await;
    assert_eq!(result, Ok(()));
    let request = only_verified_request(&platform);
    assert_eq!(request.operation.as_deref(), Some("deleteResultRequest"));
    assert_eq!(request.sourcedid.as_deref(), Some(SOURCEDID));
}

#[tokio::test]
async fn replace_result_failure_on_200_is_failure() {
    let platform = platform(Reply::Failure).await;
    let result = client()
        .replace_result(&target(&platform, SECRET), 0.5)
        .await;
    assert_eq!(
        result,
        Err(OutcomeError::Failure {
            code_major: "failure".into(),
            description: "failure for replaceResult".into(),
        })
    );
}

#[tokio::test]
async fn delete_result_unsupported_is_unsupported() {
    let platform = platform(Reply::Unsupported).await;
    let result = client().delete_result(&target(&platform, SECRET)).await;
    assert_eq!(
        result,
        Err(OutcomeError::Unsupported {
            operation: Operation::DeleteResult,
            description: "unsupported for deleteResult".into(),
        })
    );
}

#[tokio::test]
async fn replace_result_malformed_answer_is_malformed() {
    let platform = platform(Reply::Malformed).await;
    let result = client()
        .replace_result(&target(&platform, SECRET), 0.5)
        .await;
    assert!(
        matches!(result, Err(OutcomeError::Malformed(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn read_result_dtd_answer_is_refused() {
    let platform = platform(Reply::Dtd).await;
    let result = client().read_result(&target(&platform, SECRET)).await;
    assert_eq!(result, Err(OutcomeError::DtdRefused));
}

#[tokio::test]
async fn replace_result_http_500_is_http_error() {
    let platform = platform(Reply::Status(500)).await;
    let result = client()
        .replace_result(&target(&platform, SECRET), 0.5)
        .await;
    assert_eq!(result, Err(OutcomeError::Http(500)));
    only_verified_request(&platform);
}

#[tokio::test]
async fn replace_result_redirect_is_not_followed() {
    let platform = platform(Reply::Status(307)).await;
    let result = client()
        .replace_result(&target(&platform, SECRET), 0.5)
        .await;
    assert_eq!(result, Err(OutcomeError::Http(307)));
    assert_eq!(platform.received().len(), 1);
}

#[tokio::test]
async fn replace_result_other_message_ref_is_mismatch() {
    let platform = platform(Reply::WrongMessageRef).await;
    let result = client()
        .replace_result(&target(&platform, SECRET), 0.5)
        .await;
    let sent = only_verified_request(&platform).message_id.unwrap();
    assert_eq!(
        result,
        Err(OutcomeError::MessageIdMismatch {
            expected: sent,
            found: Some("not-yours".into()),
        })
    );
}

#[tokio::test]
async fn replace_result_oversized_answer_is_refused() {
    let platform = platform(Reply::Oversized).await;
    let result = client()
        .replace_result(&target(&platform, SECRET), 0.5)
        .await;
    assert_eq!(result, Err(OutcomeError::ResponseTooLarge));
}

/// The negative control for the platform's checks: signed with another secret, the request
/// is refused, so the passing tests above prove the signature verified.
#[tokio::test]
async fn replace_result_wrong_secret_is_refused_by_platform() {
    let platform = platform(Reply::Success { text_string: "" }).await;
    let result = client()
        .replace_result(&target(&platform, "not the shared secret"), 0.5)
        .await;
    assert_eq!(result, Err(OutcomeError::Http(401)));
    let received = platform.received();
    assert_eq!(received.len(), 1);
    assert!(
        matches!(&received[0].verdict, Err(reason) if reason.starts_with("signature")),
        "{received:?}"
    );
}

#[tokio::test]
async fn replace_result_invalid_score_sends_nothing() {
    let platform = platform(Reply::Success { text_string: "" }).await;
    let client = client();
    let target = target(&platform, SECRET);
    for score in [-0.01, 1.01, f64::NAN, f64::INFINITY] {
        let result = client.replace_result(&target, score).await;
        assert!(
            matches!(result, Err(OutcomeError::InvalidScore(_))),
            "{result:?}"
        );
    }
    assert!(platform.received().is_empty());
}

#[tokio::test]
async fn replace_result_unreachable_service_is_transport_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let target = OutcomeTarget {
        service_url: Url::parse(&format!("http://127.0.0.1:{port}/outcomes?type=x")).unwrap(),
        sourcedid: SOURCEDID.into(),
        consumer_key: ConsumerKey::parse(CONSUMER_KEY).unwrap(),
        secret: ConsumerSecret::new(SECRET),
    };
    let result = client().replace_result(&target, 0.5).await;
    let Err(OutcomeError::Transport(reason)) = result else {
        panic!("expected a transport error, got {result:?}");
    };
    assert!(!reason.contains("type=x"), "{reason}");
    assert!(!reason.contains(SECRET), "{reason}");
}

/// POSTs `sent` to the platform with a valid signature over `signed`, bypassing the client, to
/// show that the platform's own checks can fail.
async fn raw_post(platform: &Platform, content_type: &str, signed: &[u8], sent: &[u8]) -> u16 {
    let authorization = oauth1::sign_body_request(
        &platform.public_url,
        CONSUMER_KEY,
        &ConsumerSecret::new(SECRET),
        signed,
        NOW,
        &oauth1::fresh_nonce(),
    );
    reqwest::Client::new()
        .post(platform.public_url.clone())
        .header("content-type", content_type)
        .header("user-agent", "lti-tool/test")
        .header("authorization", authorization)
        .body(sent.to_vec())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn platform_correctly_signed_raw_request_is_accepted() {
    let platform = platform(Reply::Success { text_string: "" }).await;
    let body = b"<imsx_POXEnvelopeRequest/>";
    assert_eq!(
        raw_post(&platform, "application/xml", body, body).await,
        200
    );
}

#[tokio::test]
async fn platform_body_other_than_hashed_is_refused() {
    let platform = platform(Reply::Success { text_string: "" }).await;
    let status = raw_post(
        &platform,
        "application/xml",
        b"<imsx_POXEnvelopeRequest/>",
        b"<imsx_POXEnvelopeRequest />",
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        platform.received()[0].verdict,
        Err("oauth_body_hash does not match the body".into())
    );
}

#[tokio::test]
async fn platform_content_type_with_charset_is_refused() {
    let platform = platform(Reply::Success { text_string: "" }).await;
    let body = b"<imsx_POXEnvelopeRequest/>";
    let status = raw_post(&platform, "application/xml; charset=utf-8", body, body).await;
    assert_eq!(status, 401);
    assert!(
        matches!(&platform.received()[0].verdict, Err(reason) if reason.starts_with("content-type")),
        "{:?}",
        platform.received()
    );
}
