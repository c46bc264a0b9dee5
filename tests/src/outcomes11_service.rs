//! A loopback LTI 1.1 Basic Outcomes service with fault injection, for tests of grade
//! delivery through the LTI 1.1 client.
//!
//! [`Outcomes11Service::start`] binds `127.0.0.1:0` and serves one outcome URL
//! ([`Outcomes11Service::service_url`], `/outcomes` with an optional query that is signed like
//! Moodle's `?type=…`). Before it believes a request it checks it as a platform must (LTI 1.1
//! §6; RFC 5849; OAuth Request Body Hash): `POST` to that path with that exact query,
//! `Content-Type: application/xml`, a `User-Agent`, an HMAC-SHA1 OAuth signature that
//! verifies with the consumer's secret, the configured consumer key, an `oauth_timestamp`
//! within [`Outcomes11Config::max_clock_skew`] of its clock, an `oauth_nonce` not seen before
//! for that key, and an `oauth_body_hash` equal to the hash of the body received. A request
//! that fails a check gets a bare 401 and is recorded with the reason
//! ([`Outcomes11Service::refusals`]).
//!
//! Then it applies the POX operation: `replaceResultRequest` (a score from 0.0 to 1.0, else
//! `failure` as LTI 1.1 §6.1.1 says), `readResultRequest`, `deleteResultRequest`; anything
//! else is `unsupported`. Accepted scores are recorded per sourcedid in arrival order
//! ([`Outcomes11Service::results`]). State is kept across [`Outcomes11Service::stop`] /
//! [`Outcomes11Service::restart`] on the same port.
//!
//! Faults ([`Outcomes11Service::faults`], see [`crate::faults`]) target an
//! [`Outcomes11Op`]; [`Fault::CodeMajorFailure`] answers HTTP 200 with
//! `imsx_codeMajor` `failure` without applying the request.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;
use hyper::http::request::Parts;
use hyper::{Method, Request};
use lti_shared::domain::clock::{Clock, SystemClock};
use lti_shared::domain::secret::ConsumerSecret;
use lti_shared::lti11::oauth1::{self, SignedRequest};
use quick_xml::Reader;
use quick_xml::events::Event;
use tokio::net::TcpListener;
use url::Url;

use crate::delivery::DeliveryReport;
use crate::faults::{Fault, FaultPlan, FaultTarget};
use crate::server::{Handler, Hangup, HttpResponse, Server, respond};

/// The consumer key a service accepts when the test names none.
pub const DEFAULT_CONSUMER_KEY: &str = "outcomes-key";
/// The shared secret a service verifies with when the test names none.
pub const DEFAULT_SECRET: &str = "outcomes secret +/=&~ é";

/// The largest request body read.
const MAX_BODY: usize = 1024 * 1024;

/// How an [`Outcomes11Service`] behaves.
#[derive(Clone)]
pub struct Outcomes11Config {
    /// The consumer key requests must be signed as.
    pub consumer_key: String,
    /// The consumer's shared secret.
    pub secret: String,
    /// The outcome URL's path (default `/outcomes`).
    pub path: String,
    /// The outcome URL's query without `?` (default none; e.g. `type=x`). Part of the
    /// signature base string, so a client that drops it fails the signature check.
    pub query: Option<String>,
    /// The service's clock, for `oauth_timestamp` (default the system clock; share a
    /// [`lti_shared::domain::clock::FixedClock`] with a client that uses one).
    pub clock: Arc<dyn Clock>,
    /// How far `oauth_timestamp` may be from the clock, seconds (default 300).
    pub max_clock_skew: i64,
}

impl Default for Outcomes11Config {
    fn default() -> Self {
        Self {
            consumer_key: DEFAULT_CONSUMER_KEY.to_owned(),
            secret: DEFAULT_SECRET.to_owned(),
            path: "/outcomes".to_owned(),
            query: None,
            clock: Arc::new(SystemClock),
            max_clock_skew: 300,
        }
    }
}

impl fmt::Debug for Outcomes11Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outcomes11Config")
            .field("consumer_key", &self.consumer_key)
            .field("secret", &"[redacted]")
            .field("path", &self.path)
            .field("query", &self.query)
            .field("max_clock_skew", &self.max_clock_skew)
            .finish_non_exhaustive()
    }
}

impl Outcomes11Config {
    /// Defaults, with this consumer key and secret.
    pub fn new(consumer_key: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            consumer_key: consumer_key.into(),
            secret: secret.into(),
            ..Self::default()
        }
    }

    /// The outcome URL carries `?query` (signed).
    pub fn with_query(mut self, query: impl Into<String>) -> Self {
        self.query = Some(query.into());
        self
    }

    /// The service's clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

/// Which POX operation a request carried: for counters and fault targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcomes11Op {
    /// Wildcard for fault rules and counters: every request.
    Any,
    /// `replaceResultRequest`.
    ReplaceResult,
    /// `readResultRequest`.
    ReadResult,
    /// `deleteResultRequest`.
    DeleteResult,
    /// Anything else (no operation, an unknown one, a body that is not XML).
    Other,
}

impl FaultTarget for Outcomes11Op {
    fn matches(self, endpoint: Self) -> bool {
        self == Outcomes11Op::Any || self == endpoint
    }
}

/// One request that reached the checks (faulted requests that were not processed are only in
/// the fault log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcomes11Request {
    /// The operation.
    pub op: Outcomes11Op,
    /// `imsx_messageIdentifier`.
    pub message_id: Option<String>,
    /// `sourcedId`.
    pub sourcedid: Option<String>,
    /// `resultScore/textString`, as sent.
    pub text_string: Option<String>,
    /// `Ok`, or why the request was refused with 401.
    pub verdict: Result<(), String>,
    /// The `imsx_codeMajor` answered (`None` when refused with 401).
    pub code_major: Option<String>,
}

struct State {
    requests: Vec<Outcomes11Request>,
    counts: HashMap<Outcomes11Op, usize>,
    nonces: HashSet<(String, String)>,
    accepted: Vec<(String, f64)>,
    current: HashMap<String, f64>,
}

struct Shared {
    config: Outcomes11Config,
    secret: ConsumerSecret,
    public_url: Url,
    state: Mutex<State>,
    faults: FaultPlan<Outcomes11Op>,
}

/// The loopback Basic Outcomes service. Dropping it stops its server.
pub struct Outcomes11Service {
    shared: Arc<Shared>,
    server: Server<Shared>,
}

impl fmt::Debug for Outcomes11Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outcomes11Service")
            .field("service_url", &self.shared.public_url.as_str())
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl Outcomes11Service {
    /// Binds `127.0.0.1:0` and serves.
    pub async fn start(config: Outcomes11Config) -> Outcomes11Service {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("loopback port binds");
        let addr = listener.local_addr().expect("a bound address");
        let mut public_url =
            Url::parse(&format!("http://{addr}{}", config.path)).expect("a valid outcome URL");
        public_url.set_query(config.query.as_deref());
        let shared = Arc::new(Shared {
            secret: ConsumerSecret::new(config.secret.clone()),
            config,
            public_url,
            state: Mutex::new(State {
                requests: Vec::new(),
                counts: HashMap::new(),
                nonces: HashSet::new(),
                accepted: Vec::new(),
                current: HashMap::new(),
            }),
            faults: FaultPlan::default(),
        });
        let server = Server::start(listener, Arc::clone(&shared));
        Outcomes11Service { shared, server }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.lock()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The outcome URL (the launch's `lis_outcome_service_url`), query included.
    pub fn service_url(&self) -> Url {
        self.shared.public_url.clone()
    }

    /// The consumer key requests must be signed as.
    pub fn consumer_key(&self) -> &str {
        &self.shared.config.consumer_key
    }

    /// The fault plan: program failures per [`Outcomes11Op`].
    pub fn faults(&self) -> &FaultPlan<Outcomes11Op> {
        &self.shared.faults
    }

    /// Stops serving: open connections are closed and new ones refused. State is kept.
    pub async fn stop(&self) {
        self.server.stop().await;
    }

    /// Serves again on the same port, with the same state.
    pub async fn restart(&self) {
        self.server.restart().await;
    }

    /// Whether the server is serving.
    pub fn is_running(&self) -> bool {
        self.server.is_running()
    }

    /// How many requests carried `op` ([`Outcomes11Op::Any`]: all), faulted ones included.
    pub fn request_count(&self, op: Outcomes11Op) -> usize {
        self.state()
            .counts
            .iter()
            .filter(|(kind, _)| op.matches(**kind))
            .map(|(_, n)| n)
            .sum()
    }

    /// Every request that reached the checks, in order.
    pub fn requests(&self) -> Vec<Outcomes11Request> {
        self.state().requests.clone()
    }

    /// The requests refused by the checks (401), with their reasons.
    pub fn refusals(&self) -> Vec<Outcomes11Request> {
        self.state()
            .requests
            .iter()
            .filter(|r| r.verdict.is_err())
            .cloned()
            .collect()
    }

    /// Every score applied by `replaceResult`, `(sourcedid, score)` in arrival order.
    pub fn accepted(&self) -> Vec<(String, f64)> {
        self.state().accepted.clone()
    }

    /// The scores applied to `sourcedid`, in arrival order.
    pub fn results(&self, sourcedid: &str) -> Vec<f64> {
        self.state()
            .accepted
            .iter()
            .filter(|(s, _)| s == sourcedid)
            .map(|(_, score)| *score)
            .collect()
    }

    /// The score `readResult` would return for `sourcedid`.
    pub fn current(&self, sourcedid: &str) -> Option<f64> {
        self.state().current.get(sourcedid).copied()
    }

    /// Sets (or clears) the score held for `sourcedid`, as if the instructor had.
    pub fn set_current(&self, sourcedid: &str, score: Option<f64>) {
        let mut state = self.state();
        match score {
            Some(score) => state.current.insert(sourcedid.to_owned(), score),
            None => state.current.remove(sourcedid),
        };
    }

    /// Compares the applied scores with `expected` `(sourcedid, score)` in the order the
    /// tool produced them.
    pub fn delivery_report(&self, expected: &[(&str, f64)]) -> DeliveryReport {
        let expected: Vec<(String, f64)> = expected
            .iter()
            .map(|(s, score)| ((*s).to_owned(), *score))
            .collect();
        DeliveryReport::compare(&expected, &self.accepted())
    }

    /// Panics unless every expected score was applied exactly once and, per sourcedid, in
    /// the expected order.
    pub fn assert_each_delivered_once_in_order(&self, expected: &[(&str, f64)]) {
        self.delivery_report(expected).assert_exact();
    }
}

// ---------------------------------------------------------------------------------------------
// Serving
// ---------------------------------------------------------------------------------------------

/// The texts read from a POX request, references resolved.
#[derive(Default)]
struct Pox {
    operation: Option<String>,
    message_id: Option<String>,
    sourcedid: Option<String>,
    text_string: Option<String>,
}

impl Pox {
    fn op(&self) -> Outcomes11Op {
        match self.operation.as_deref() {
            Some("replaceResultRequest") => Outcomes11Op::ReplaceResult,
            Some("readResultRequest") => Outcomes11Op::ReadResult,
            Some("deleteResultRequest") => Outcomes11Op::DeleteResult,
            _ => Outcomes11Op::Other,
        }
    }

    fn read(body: &[u8]) -> Pox {
        let mut pox = Pox::default();
        let Ok(text) = std::str::from_utf8(body) else {
            return pox;
        };
        let mut reader = Reader::from_str(text);
        let mut path: Vec<String> = Vec::new();
        let mut current = String::new();
        loop {
            match reader.read_event() {
                Ok(Event::Start(start)) => {
                    let name = start.local_name().as_ref().to_owned();
                    if path.last().is_some_and(|parent| parent == "imsx_POXBody") {
                        pox.operation = Some(name.clone());
                    }
                    path.push(name);
                    current.clear();
                }
                Ok(Event::Empty(empty)) => {
                    if path.last().is_some_and(|parent| parent == "imsx_POXBody") {
                        pox.operation = Some(empty.local_name().as_ref().to_owned());
                    }
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
                        Some("imsx_messageIdentifier") => &mut pox.message_id,
                        Some("sourcedId") => &mut pox.sourcedid,
                        Some("textString") => &mut pox.text_string,
                        _ => continue,
                    };
                    *slot = Some(std::mem::take(&mut current));
                }
                Ok(Event::Eof) | Err(_) => return pox,
                Ok(_) => {}
            }
        }
    }
}

fn header<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok())
}

fn xml(status: u16, body: String) -> HttpResponse {
    respond(status, "application/xml", body)
}

fn envelope(code_major: &str, message_ref: &str, operation: &str, body: &str) -> String {
    let message_ref = quick_xml::escape::escape(message_ref);
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<imsx_POXEnvelopeResponse xmlns="http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0">
  <imsx_POXHeader>
    <imsx_POXResponseHeaderInfo>
      <imsx_version>V1.0</imsx_version>
      <imsx_messageIdentifier>{answer}</imsx_messageIdentifier>
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
</imsx_POXEnvelopeResponse>"#,
        answer = uuid::Uuid::new_v4().simple(),
    )
}

impl Handler for Shared {
    async fn handle(&self, request: Request<Incoming>) -> Result<HttpResponse, Hangup> {
        let (parts, body) = request.into_parts();
        let Ok(body) = Limited::new(body, MAX_BODY).collect().await else {
            return Ok(respond(400, "text/plain", "unreadable request body"));
        };
        let body = body.to_bytes();
        let pox = Pox::read(&body);
        let op = pox.op();
        *self.lock().counts.entry(op).or_default() += 1;
        let fault = self.faults.next(op);
        let message_id = pox.message_id.clone().unwrap_or_default();
        let name = pox
            .operation
            .as_deref()
            .unwrap_or_default()
            .trim_end_matches("Request")
            .to_owned();
        if let Some(fault) = fault.filter(|f| !f.processes()) {
            return Ok(match fault {
                Fault::Status(status) => respond(status, "text/plain", "fault injection"),
                Fault::TooManyRequests { retry_after } => {
                    let mut response = respond(429, "text/plain", "fault injection");
                    response.headers_mut().insert(
                        hyper::header::RETRY_AFTER,
                        retry_after.to_string().parse().expect("a header value"),
                    );
                    response
                }
                Fault::ExpiredToken => respond(401, "text/plain", "fault injection"),
                Fault::Hang(delay) => {
                    tokio::time::sleep(delay).await;
                    respond(504, "text/plain", "fault injection: hung")
                }
                Fault::CodeMajorFailure => xml(200, envelope("failure", &message_id, &name, "")),
                Fault::Close | Fault::SlowResponse(_) | Fault::CloseAfterProcessing => {
                    return Err(Hangup);
                }
            });
        }
        let response = self.process(&parts, &body, pox, op, &message_id, &name);
        match fault {
            Some(Fault::SlowResponse(delay)) => {
                tokio::time::sleep(delay).await;
                Ok(response)
            }
            Some(Fault::CloseAfterProcessing) => Err(Hangup),
            _ => Ok(response),
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn process(
        &self,
        parts: &Parts,
        body: &[u8],
        pox: Pox,
        op: Outcomes11Op,
        message_id: &str,
        name: &str,
    ) -> HttpResponse {
        let mut record = Outcomes11Request {
            op,
            message_id: pox.message_id,
            sourcedid: pox.sourcedid,
            text_string: pox.text_string,
            verdict: Ok(()),
            code_major: None,
        };
        let mut state = self.lock();
        if let Err(reason) = self.check(parts, body, &mut state) {
            record.verdict = Err(reason.clone());
            state.requests.push(record);
            return respond(401, "text/plain", reason);
        }
        let sourcedid = record.sourcedid.clone().unwrap_or_default();
        let (code_major, response_body) = match op {
            _ if sourcedid.is_empty() && op != Outcomes11Op::Other => ("failure", String::new()),
            Outcomes11Op::ReplaceResult => {
                let score = record
                    .text_string
                    .as_deref()
                    .and_then(|t| t.trim().parse::<f64>().ok())
                    .filter(|s| (0.0..=1.0).contains(s));
                match score {
                    Some(score) => {
                        state.accepted.push((sourcedid.clone(), score));
                        state.current.insert(sourcedid, score);
                        ("success", "<replaceResultResponse/>".to_owned())
                    }
                    None => ("failure", String::new()),
                }
            }
            Outcomes11Op::ReadResult => {
                let text = state
                    .current
                    .get(&sourcedid)
                    .map(f64::to_string)
                    .unwrap_or_default();
                (
                    "success",
                    format!(
                        "<readResultResponse><result><resultScore><language>en</language>\
                         <textString>{text}</textString></resultScore></result>\
                         </readResultResponse>"
                    ),
                )
            }
            Outcomes11Op::DeleteResult => {
                state.current.remove(&sourcedid);
                ("success", "<deleteResultResponse/>".to_owned())
            }
            Outcomes11Op::Other | Outcomes11Op::Any => ("unsupported", String::new()),
        };
        record.code_major = Some(code_major.to_owned());
        state.requests.push(record);
        xml(200, envelope(code_major, message_id, name, &response_body))
    }

    /// What a platform checks before it believes an outcomes request; the nonce is recorded
    /// last, once everything else passed.
    fn check(&self, parts: &Parts, body: &[u8], state: &mut State) -> Result<(), String> {
        if parts.method != Method::POST {
            return Err(format!("method {}", parts.method));
        }
        if parts.uri.path() != self.public_url.path() {
            return Err(format!("path {}", parts.uri.path()));
        }
        if parts.uri.query() != self.public_url.query() {
            return Err(format!(
                "query {:?}, expected {:?}",
                parts.uri.query(),
                self.public_url.query()
            ));
        }
        match header(parts, "content-type") {
            Some("application/xml") => {}
            other => return Err(format!("content-type {other:?}")),
        }
        if header(parts, "user-agent").is_none_or(str::is_empty) {
            return Err("no user-agent".into());
        }
        let authorization = header(parts, "authorization").ok_or("no authorization")?;
        let params = oauth1::collect_params(parts.uri.query(), None, Some(authorization))
            .map_err(|e| format!("params: {e}"))?;
        let signed = SignedRequest::parse("POST", &self.public_url, params)
            .map_err(|e| format!("parse: {e}"))?;
        signed
            .verify_signature(&self.secret)
            .map_err(|e| format!("signature: {e}"))?;
        if signed.consumer_key() != self.config.consumer_key {
            return Err(format!("consumer key {}", signed.consumer_key()));
        }
        let now = self.config.clock.now().unix_timestamp();
        if (signed.timestamp() - now).abs() > self.config.max_clock_skew {
            return Err(format!("timestamp {} (now {now})", signed.timestamp()));
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
        if !state
            .nonces
            .insert((signed.consumer_key().to_owned(), signed.nonce().to_owned()))
        {
            return Err(format!("nonce {} replayed", signed.nonce()));
        }
        Ok(())
    }
}
