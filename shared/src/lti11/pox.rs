//! LTI 1.1 Basic Outcomes: the tool writes, reads and deletes a learner's grade on the platform.
//!
//! # Wire format
//!
//! LTI 1.1 Implementation Guide §6 ("LTI Basic Outcomes Service"), which uses the IMS
//! "Plain Old XML" (POX) envelope of the Learning Information Services `imsoms_v1p0` schema:
//!
//! * one `POST` to the `lis_outcome_service_url` the launch carried, with
//!   `Content-Type: application/xml` and nothing after it (basiclti-util-java compares the
//!   header with `application/xml` exactly, so a `; charset=` parameter breaks grading there);
//! * the body is an `imsx_POXEnvelopeRequest` in the namespace [`POX_NAMESPACE`]: a header with
//!   `imsx_version` `V1.0` and an `imsx_messageIdentifier` unique to the request, and a body
//!   holding one `replaceResultRequest`, `readResultRequest` or `deleteResultRequest` that names
//!   the result by the launch's `lis_result_sourcedid`;
//! * the request is signed with OAuth 1.0a HMAC-SHA1 in an `Authorization: OAuth` header
//!   (RFC 5849 §3.5.1). The XML body is not form-encoded, so it does not enter the signature base
//!   string itself (RFC 5849 §3.4.1.3.1); instead the header carries `oauth_body_hash`, the
//!   base64 SHA-1 of the exact bytes sent (OAuth Request Body Hash, draft-eaton-oauth-bodyhash-00 §3), and that
//!   parameter is signed. The outcome URL's own query parameters are signed as usual. Signing is
//!   [`crate::lti11::oauth1::sign_body_request`]'s job; this module hands it the full URL and the bytes.
//! * the platform answers with an `imsx_POXEnvelopeResponse` whose `imsx_statusInfo` holds
//!   `imsx_codeMajor` (`success`, `processing`, `failure`, `unsupported`), `imsx_severity`,
//!   `imsx_description` and `imsx_messageRefIdentifier` (the request's message identifier). An
//!   HTTP 200 can still carry a refusal, so the status is read from the XML, not from HTTP.
//!   `readResult` answers carry the score in
//!   `readResultResponse/result/resultScore/textString`; an empty one means "no grade yet".
//!
//! # Safety of the parser
//!
//! Answers are read with quick-xml's pull reader, which never fetches anything. On top of
//! that, any document type declaration is refused outright ([`OutcomeError::DtdRefused`]), so no
//! entity can be declared and every reference other than the five predefined ones and character
//! references is refused as malformed (no XXE, no entity expansion). Answers are capped at
//! [`MAX_RESPONSE_BYTES`] and [`MAX_DEPTH`] levels of nesting.

use std::fmt;
use std::io;
use std::time::Duration;

use quick_xml::Reader;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesRef, BytesStart, BytesText, Event};
use url::Url;

use crate::domain::ids::ConsumerKey;
use crate::domain::model::BasicOutcome;
use crate::domain::secret::ConsumerSecret;
use crate::ports::ServiceError;

/// The XML namespace of the LTI 1.1 outcomes envelope (`imsoms_v1p0`), on requests and answers.
pub const POX_NAMESPACE: &str = "http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0";

/// The largest answer the client reads. A real POX answer is well under 2 KiB; anything near
/// this size is not an outcomes service talking.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// The deepest element nesting accepted in an answer (a POX answer nests 7 deep).
pub const MAX_DEPTH: usize = 32;

/// How long one outcomes request may take, connection included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The `User-Agent` the client sends; Canvas refuses requests that have none.
pub const USER_AGENT: &str = concat!("lti-tool/", env!("CARGO_PKG_VERSION"));

/// The longest platform-supplied text (a description, an unexpected code) kept in an error.
const MAX_ECHOED_CHARS: usize = 300;

/// Why an outcomes operation did not happen, or did not demonstrably happen.
///
/// The texts say what an operator can check. None of them contains the consumer secret, the
/// `Authorization` header or the outcome URL (whose query may carry a credential).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OutcomeError {
    /// The score is NaN, infinite, or outside 0.0–1.0 (LTI 1.1 §6: a decimal in that range).
    /// Nothing was sent.
    #[error("score {0} is not a number from 0.0 to 1.0; nothing was sent to the platform")]
    InvalidScore(f64),
    /// The launch's `lis_result_sourcedid` cannot be sent. Nothing was sent.
    #[error("the launch's lis_result_sourcedid {0}; nothing was sent (relaunch from the platform)")]
    InvalidSourcedId(&'static str),
    /// The launch's `lis_outcome_service_url` is not an absolute http(s) URL.
    #[error(
        "the launch's lis_outcome_service_url {0}; nothing was sent (check the platform's LTI \
         1.1 outcomes setting)"
    )]
    InvalidServiceUrl(&'static str),
    /// The outcome service answered with a status other than 2xx.
    #[error("{}", http_advice(*.0))]
    Http(u16),
    /// The request could not be sent or the answer not received (DNS, connection, TLS,
    /// timeout).
    #[error(
        "could not reach the outcome service ({0}); check that the platform is up and \
         reachable from the tool, then retry"
    )]
    Transport(String),
    /// The answer was larger than [`MAX_RESPONSE_BYTES`].
    #[error(
        "the outcome service's answer is larger than {MAX_RESPONSE_BYTES} bytes; it is not an \
         LTI 1.1 outcomes service (check lis_outcome_service_url)"
    )]
    ResponseTooLarge,
    /// The answer is not a well-formed POX response envelope.
    #[error(
        "the outcome service's answer is not an LTI 1.1 POX response ({0}); a write may or \
         may not have taken effect, so check the grade on the platform"
    )]
    Malformed(String),
    /// The answer declared a document type. DTDs are refused to rule out XML external entity
    /// (XXE) and entity expansion attacks.
    #[error(
        "the outcome service's answer contains a document type declaration (DOCTYPE), which \
         the tool refuses to protect itself from XML entity attacks; a write may or may not \
         have taken effect, so check the grade on the platform"
    )]
    DtdRefused,
    /// The platform answered `imsx_codeMajor` `failure` (or a code it does not define, which
    /// cannot be read as success).
    #[error(
        "the platform refused the outcome request (imsx_codeMajor {code_major}): {}",
        or_none(description)
    )]
    Failure {
        /// The `imsx_codeMajor` as received (normally `failure`), cleaned of control
        /// characters.
        code_major: String,
        /// The platform's `imsx_description`, cleaned of control characters and shortened.
        description: String,
    },
    /// The platform answered `imsx_codeMajor` `unsupported`: it does not offer this operation.
    #[error(
        "the platform does not support {operation} on this link: {}",
        or_none(description)
    )]
    Unsupported {
        /// The operation the platform does not support.
        operation: Operation,
        /// The platform's `imsx_description`, cleaned of control characters and shortened.
        description: String,
    },
    /// A success answer whose `imsx_messageRefIdentifier` is not the request's
    /// `imsx_messageIdentifier`: it is not evidence that this request succeeded.
    #[error(
        "the outcome service's answer refers to message {}, not to the request sent \
         ({expected}); a write may or may not have taken effect, so check the grade on \
         the platform",
        found.as_deref().unwrap_or("(none)")
    )]
    MessageIdMismatch {
        /// The identifier the request carried.
        expected: String,
        /// The identifier the answer referred to, if any.
        found: Option<String>,
    },
}

/// What an operator can do about an HTTP status from the outcome service.
fn http_advice(status: u16) -> String {
    let advice = match status {
        300..=399 => {
            "it redirected, and the tool does not follow redirects because the signature \
             covers the URL; ask the platform to send the final outcome URL"
        }
        401 | 403 => {
            "it rejected the request's signature; check that the consumer key and secret \
             match the platform's, and that the tool's clock is right"
        }
        404 | 410 => {
            "the outcome URL from the launch no longer exists; relaunch the activity from the \
             platform to get a current one"
        }
        400..=499 => "it refused the request",
        500..=599 => "the platform failed; retry later",
        _ => "this is not a success",
    };
    format!("the outcome service answered HTTP {status}: {advice}")
}

fn or_none(text: &str) -> &str {
    if text.is_empty() {
        "(no description)"
    } else {
        text
    }
}

/// A score as LTI 1.1 Basic Outcomes carries it: a finite decimal from 0.0 to 1.0 inclusive.
///
/// Its [`Display`](fmt::Display) is the wire form: `.` as decimal separator whatever the
/// locale, no exponent, and the shortest digits that read back as the same `f64` (`0`, `1`,
/// `0.5`, `0.92`, `0.3333333333333333`).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Score(f64);

impl Score {
    /// The score `value`, or [`OutcomeError::InvalidScore`] if it is NaN, infinite or outside
    /// 0.0–1.0.
    pub fn new(value: f64) -> Result<Self, OutcomeError> {
        if value.is_finite() && (0.0..=1.0).contains(&value) {
            // -0.0 is in range but would print as "-0"; adding +0.0 turns it into +0.0 and
            // leaves every other value unchanged.
            Ok(Self(value + 0.0))
        } else {
            Err(OutcomeError::InvalidScore(value))
        }
    }

    /// The score as a number.
    pub fn value(self) -> f64 {
        self.0
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Rust's float `Display` is locale-independent and never uses an exponent.
        write!(f, "{}", self.0)
    }
}

/// The three Basic Outcomes operations (LTI 1.1 §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `replaceResult`: set the score.
    ReplaceResult,
    /// `readResult`: read the score back.
    ReadResult,
    /// `deleteResult`: remove the score.
    DeleteResult,
}

impl Operation {
    /// The operation's name as POX spells it, e.g. `replaceResult`.
    pub fn name(self) -> &'static str {
        match self {
            Self::ReplaceResult => "replaceResult",
            Self::ReadResult => "readResult",
            Self::DeleteResult => "deleteResult",
        }
    }

    /// The body element of the request, e.g. `replaceResultRequest`.
    pub fn request_element(self) -> &'static str {
        match self {
            Self::ReplaceResult => "replaceResultRequest",
            Self::ReadResult => "readResultRequest",
            Self::DeleteResult => "deleteResultRequest",
        }
    }

    /// The body element of the answer, e.g. `replaceResultResponse`.
    pub fn response_element(self) -> &'static str {
        match self {
            Self::ReplaceResult => "replaceResultResponse",
            Self::ReadResult => "readResultResponse",
            Self::DeleteResult => "deleteResultResponse",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One outcomes request, before it is addressed to a result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OutcomeRequest {
    /// Set the result's score.
    ReplaceResult(Score),
    /// Read the result's score.
    ReadResult,
    /// Delete the result's score.
    DeleteResult,
}

impl OutcomeRequest {
    /// Which operation this is.
    pub fn operation(&self) -> Operation {
        match self {
            Self::ReplaceResult(_) => Operation::ReplaceResult,
            Self::ReadResult => Operation::ReadResult,
            Self::DeleteResult => Operation::DeleteResult,
        }
    }
}

impl OutcomeError {
    /// Whether a later try can succeed: the platform could not be reached or answered
    /// garbage, 408, 429 or a 5xx.
    pub fn is_retryable(&self) -> bool {
        match self {
            OutcomeError::Transport(_) | OutcomeError::Malformed(_) => true,
            OutcomeError::Http(status) => matches!(status, 408 | 429) || *status >= 500,
            _ => false,
        }
    }
}

impl From<OutcomeError> for ServiceError {
    fn from(error: OutcomeError) -> Self {
        Self {
            message: error.to_string(),
            status: match &error {
                OutcomeError::Http(status) => Some(*status),
                _ => None,
            },
            retry_after: None,
            retryable: error.is_retryable(),
        }
    }
}

/// Where a grade goes and how to sign for it: the launch's Basic Outcomes parameters plus the
/// consumer's credentials from the key store.
#[derive(Clone, PartialEq)]
pub struct OutcomeTarget {
    /// The launch's `lis_outcome_service_url`, query string included (it is signed).
    pub service_url: Url,
    /// The launch's `lis_result_sourcedid`, opaque and sent back byte-identical.
    pub sourcedid: String,
    /// The consumer key the launch was signed with.
    pub consumer_key: ConsumerKey,
    /// That consumer's shared secret.
    pub secret: ConsumerSecret,
}

impl OutcomeTarget {
    /// The target for a stored [`BasicOutcome`], signed as `consumer_key` with `secret`.
    ///
    /// Refuses a service URL that is not absolute `http`/`https`
    /// ([`OutcomeError::InvalidServiceUrl`]) and a sourcedid XML cannot carry
    /// ([`OutcomeError::InvalidSourcedId`]).
    pub fn new(
        outcome: &BasicOutcome,
        consumer_key: ConsumerKey,
        secret: ConsumerSecret,
    ) -> Result<Self, OutcomeError> {
        let service_url = Url::parse(&outcome.service_url)
            .map_err(|_| OutcomeError::InvalidServiceUrl("is not an absolute URL"))?;
        if !matches!(service_url.scheme(), "http" | "https") {
            return Err(OutcomeError::InvalidServiceUrl(
                "is not an http or https URL",
            ));
        }
        check_sourcedid(&outcome.sourcedid)?;
        Ok(Self {
            service_url,
            sourcedid: outcome.sourcedid.clone(),
            consumer_key,
            secret,
        })
    }
}

impl fmt::Debug for OutcomeTarget {
    /// Shows the service URL without its query (which may hold a credential) and redacts the
    /// secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutcomeTarget")
            .field("service_url", &without_query(&self.service_url))
            .field("sourcedid", &self.sourcedid)
            .field("consumer_key", &self.consumer_key)
            .field("secret", &self.secret)
            .finish()
    }
}

/// `url` without credentials, query or fragment, with `?…` marking a removed query.
fn without_query(url: &Url) -> String {
    let mut shown = url.clone();
    let had_query = shown.query().is_some();
    shown.set_query(None);
    shown.set_fragment(None);
    // Both only fail for URLs that cannot have credentials, which then have none to hide.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    let mut text = String::from(shown);
    if had_query {
        text.push_str("?…");
    }
    text
}

/// A success (or `processing`) answer that refers to the request sent.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedResponse {
    /// Whether the platform has finished (`success`) or accepted the request for later
    /// (`processing`).
    pub code_major: Accepted,
    /// The `imsx_severity` (`status`, `warning` or `error`), if sent.
    pub severity: Option<String>,
    /// The `imsx_description`, cleaned of control characters and shortened; empty if none.
    pub description: String,
    /// The `imsx_messageRefIdentifier`, equal to the request's message identifier.
    pub message_ref_identifier: String,
    /// The `imsx_operationRefIdentifier`, if sent. Platforms disagree on its spelling
    /// (`replaceResult` or `replaceResultRequest`), so it is reported, not checked.
    pub operation_ref_identifier: Option<String>,
    /// For `readResult`, the score; `None` when the platform holds no score (an empty
    /// `textString`), which is not the same as a score of 0.
    pub score: Option<Score>,
}

/// The `imsx_codeMajor` values that mean the platform took the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Accepted {
    /// `success`: done.
    Success,
    /// `processing`: accepted and being processed.
    Processing,
}

/// The POX request envelope for `request` on the result `sourcedid`, as UTF-8 bytes with an XML
/// declaration and no whitespace between elements (the shape of the LTI 1.1 examples).
///
/// `sourcedid` is escaped so that any XML parser reads it back byte-identical: `&`, `<` and
/// `>` become entity references and a carriage return becomes `&#13;` (a literal one would be
/// turned into a line feed by the platform's parser). Quotes need no escaping in element
/// content and are left as they are, which keeps Moodle's JSON sourcedids readable. A sourcedid
/// that is empty or holds a character XML 1.0 cannot carry is refused with
/// [`OutcomeError::InvalidSourcedId`].
pub fn request_body(
    request: &OutcomeRequest,
    sourcedid: &str,
    message_id: &str,
) -> Result<Vec<u8>, OutcomeError> {
    check_sourcedid(sourcedid)?;
    write_envelope(request, sourcedid, message_id)
        .map_err(|error| OutcomeError::Transport(format!("cannot write the request body: {error}")))
}

/// Refuses a sourcedid that is empty or not representable in XML 1.0 (§2.2 `Char`).
fn check_sourcedid(sourcedid: &str) -> Result<(), OutcomeError> {
    if sourcedid.is_empty() {
        return Err(OutcomeError::InvalidSourcedId("is empty"));
    }
    if !sourcedid.chars().all(is_xml_char) {
        return Err(OutcomeError::InvalidSourcedId(
            "contains a character XML cannot carry",
        ));
    }
    Ok(())
}

/// XML 1.0 §2.2 `Char` (surrogates cannot occur in a Rust `char`).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        || c >= '\u{10000}'
}

/// Element content for `value`, escaped as [`request_body`] describes.
fn text_node(value: &str) -> BytesText<'static> {
    let escaped = quick_xml::escape::partial_escape(value).replace('\r', "&#13;");
    BytesText::from_escaped(escaped)
}

fn write_envelope(
    request: &OutcomeRequest,
    sourcedid: &str,
    message_id: &str,
) -> io::Result<Vec<u8>> {
    let mut xml = Writer::new(Vec::with_capacity(768));
    xml.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let envelope =
        BytesStart::new("imsx_POXEnvelopeRequest").with_attributes([("xmlns", POX_NAMESPACE)]);
    xml.write_event(Event::Start(envelope))?;

    open(&mut xml, "imsx_POXHeader")?;
    open(&mut xml, "imsx_POXRequestHeaderInfo")?;
    leaf(&mut xml, "imsx_version", "V1.0")?;
    leaf(&mut xml, "imsx_messageIdentifier", message_id)?;
    close(&mut xml, "imsx_POXRequestHeaderInfo")?;
    close(&mut xml, "imsx_POXHeader")?;

    let operation = request.operation().request_element();
    open(&mut xml, "imsx_POXBody")?;
    open(&mut xml, operation)?;
    open(&mut xml, "resultRecord")?;
    open(&mut xml, "sourcedGUID")?;
    leaf(&mut xml, "sourcedId", sourcedid)?;
    close(&mut xml, "sourcedGUID")?;
    if let OutcomeRequest::ReplaceResult(score) = request {
        open(&mut xml, "result")?;
        open(&mut xml, "resultScore")?;
        leaf(&mut xml, "language", "en")?;
        leaf(&mut xml, "textString", &score.to_string())?;
        close(&mut xml, "resultScore")?;
        close(&mut xml, "result")?;
    }
    close(&mut xml, "resultRecord")?;
    close(&mut xml, operation)?;
    close(&mut xml, "imsx_POXBody")?;

    close(&mut xml, "imsx_POXEnvelopeRequest")?;
    Ok(xml.into_inner())
}

fn open(xml: &mut Writer<Vec<u8>>, name: &str) -> io::Result<()> {
    xml.write_event(Event::Start(BytesStart::new(name)))
}

fn close(xml: &mut Writer<Vec<u8>>, name: &str) -> io::Result<()> {
    xml.write_event(Event::End(BytesEnd::new(name)))
}

fn leaf(xml: &mut Writer<Vec<u8>>, name: &str, text: &str) -> io::Result<()> {
    open(xml, name)?;
    xml.write_event(Event::Text(text_node(text)))?;
    close(xml, name)
}

/// The answer elements the client reads, by position under the root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    CodeMajor,
    Severity,
    Description,
    MessageRef,
    OperationRef,
    TextString,
}

impl Field {
    const COUNT: usize = 6;

    fn index(self) -> usize {
        self as usize
    }
}

const ROOT: &str = "imsx_POXEnvelopeResponse";
const STATUS_PATH: [&str; 4] = [
    ROOT,
    "imsx_POXHeader",
    "imsx_POXResponseHeaderInfo",
    "imsx_statusInfo",
];
const SCORE_PATH: [&str; 6] = [
    ROOT,
    "imsx_POXBody",
    "readResultResponse",
    "result",
    "resultScore",
    "textString",
];

/// Which field, if any, the element at `path` (local names from the root) is.
fn field_at(path: &[String]) -> Option<Field> {
    if let Some((last, parent)) = path.split_last()
        && parent.iter().map(String::as_str).eq(STATUS_PATH)
    {
        return match last.as_str() {
            "imsx_codeMajor" => Some(Field::CodeMajor),
            "imsx_severity" => Some(Field::Severity),
            "imsx_description" => Some(Field::Description),
            "imsx_messageRefIdentifier" => Some(Field::MessageRef),
            "imsx_operationRefIdentifier" => Some(Field::OperationRef),
            _ => None,
        };
    }
    path.iter()
        .map(String::as_str)
        .eq(SCORE_PATH)
        .then_some(Field::TextString)
}

/// What the reader collected from an answer.
#[derive(Debug, Default)]
struct Collected {
    fields: [Option<String>; Field::COUNT],
    /// Local names of the elements directly inside `imsx_POXBody`.
    body_elements: Vec<String>,
}

impl Collected {
    fn take(&mut self, field: Field) -> Option<String> {
        self.fields[field.index()].take()
    }
}

/// Reads a POX answer and decides what it means for the request whose message identifier was
/// `expected_message_id`.
///
/// * `Err(`[`OutcomeError::DtdRefused`]`)` if the document declares a DTD, and
///   [`OutcomeError::Malformed`] if it is not well-formed UTF-8 XML with an
///   `imsx_POXEnvelopeResponse` root and one `imsx_codeMajor`.
/// * `failure` (and any code POX does not define) is [`OutcomeError::Failure`], `unsupported`
///   is [`OutcomeError::Unsupported`]. These are reported even if the answer's message
///   reference is wrong, since neither is mistaken for success.
/// * `success` and `processing` count only with an `imsx_messageRefIdentifier` equal to
///   `expected_message_id` ([`OutcomeError::MessageIdMismatch`] otherwise).
/// * For [`Operation::ReadResult`] a success must hold a `readResultResponse`; its `textString`
///   is the score, and an empty or absent one means no score (`None`). A score that is not a
///   decimal from 0.0 to 1.0 is malformed.
///
/// Element names are matched by local name, so a platform that prefixes the POX namespace is
/// read the same as one that declares it as the default.
pub fn parse_response(
    xml: &[u8],
    expected_message_id: &str,
    operation: Operation,
) -> Result<ParsedResponse, OutcomeError> {
    if xml.len() > MAX_RESPONSE_BYTES {
        return Err(OutcomeError::ResponseTooLarge);
    }
    let text = std::str::from_utf8(xml).map_err(|error| {
        OutcomeError::Malformed(format!("not UTF-8 at byte {}", error.valid_up_to()))
    })?;
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let collected = collect(text)?;
    interpret(collected, expected_message_id, operation)
}

fn malformed(reason: impl Into<String>) -> OutcomeError {
    OutcomeError::Malformed(reason.into())
}

/// Walks the document once, keeping the text of the [`Field`]s and the body's element names.
fn collect(text: &str) -> Result<Collected, OutcomeError> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut path: Vec<String> = Vec::new();
    let mut root_closed = false;
    let mut collected = Collected::default();
    loop {
        let event = reader.read_event().map_err(|error| {
            malformed(format!(
                "{} near byte {}",
                clean(&error.to_string()),
                reader.error_position()
            ))
        })?;
        match event {
            Event::DocType(_) => return Err(OutcomeError::DtdRefused),
            Event::Start(start) => {
                enter(&start, &mut path, root_closed, &mut collected)?;
            }
            Event::Empty(start) => {
                enter(&start, &mut path, root_closed, &mut collected)?;
                path.pop();
                root_closed = path.is_empty();
            }
            Event::End(_) => {
                path.pop();
                root_closed = path.is_empty();
            }
            Event::Text(content) => append(&path, &mut collected, &content.xml10_content()),
            Event::CData(content) => append(&path, &mut collected, &content.xml10_content()),
            Event::GeneralRef(reference) => {
                let resolved = resolve_reference(&reference)?;
                append(&path, &mut collected, resolved.encode_utf8(&mut [0; 4]));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !root_closed {
        return Err(malformed(if path.is_empty() {
            "the document has no root element"
        } else {
            "the document ends inside an element"
        }));
    }
    Ok(collected)
}

/// Steps into the element `start`, checking the root, the depth and duplicate fields.
fn enter(
    start: &BytesStart<'_>,
    path: &mut Vec<String>,
    root_closed: bool,
    collected: &mut Collected,
) -> Result<(), OutcomeError> {
    let name = start.local_name().as_ref().to_owned();
    if path.is_empty() {
        if root_closed {
            return Err(malformed("the document has more than one root element"));
        }
        if name != ROOT {
            return Err(malformed(format!(
                "the root element is <{}>, not <{ROOT}>",
                clean(&name)
            )));
        }
    }
    if path.len() >= MAX_DEPTH {
        return Err(malformed(format!(
            "elements are nested more than {MAX_DEPTH} deep"
        )));
    }
    path.push(name);
    if let [root, body, element] = path.as_slice()
        && root == ROOT
        && body == "imsx_POXBody"
    {
        collected.body_elements.push(element.clone());
    }
    if let Some(field) = field_at(path) {
        let slot = &mut collected.fields[field.index()];
        if slot.is_some() {
            return Err(malformed(format!(
                "<{}> appears more than once",
                path.last().map_or("", String::as_str)
            )));
        }
        *slot = Some(String::new());
    }
    Ok(())
}

/// Adds text found at `path` to its field, if it is inside one.
fn append(path: &[String], collected: &mut Collected, text: &str) {
    if let Some(field) = field_at(path)
        && let Some(value) = collected.fields[field.index()].as_mut()
    {
        value.push_str(text);
    }
}

/// A predefined entity (XML 1.0 §4.6) or a character reference. Without a DTD nothing else
/// can be defined, so any other name is malformed.
fn resolve_reference(reference: &BytesRef<'_>) -> Result<char, OutcomeError> {
    if let Some(c) = reference
        .resolve_char_ref()
        .map_err(|_| malformed("an invalid character reference"))?
    {
        return Ok(c);
    }
    match reference.as_ref() {
        "amp" => Ok('&'),
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "quot" => Ok('"'),
        "apos" => Ok('\''),
        other => Err(malformed(format!(
            "the undefined entity &{};",
            clean(other)
        ))),
    }
}

/// Platform-supplied text made safe to show and log: trimmed, each control character a space,
/// at most [`MAX_ECHOED_CHARS`] characters.
fn clean(text: &str) -> String {
    let text = text.trim();
    let mut cleaned: String = text
        .chars()
        .take(MAX_ECHOED_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(MAX_ECHOED_CHARS).is_some() {
        cleaned.push('…');
    }
    cleaned
}

fn interpret(
    mut collected: Collected,
    expected_message_id: &str,
    operation: Operation,
) -> Result<ParsedResponse, OutcomeError> {
    let code_major = collected
        .take(Field::CodeMajor)
        .map(|code| code.trim().to_owned())
        .filter(|code| !code.is_empty())
        .ok_or_else(|| malformed("there is no imsx_codeMajor"))?;
    let description = collected
        .take(Field::Description)
        .map(|text| clean(&text))
        .unwrap_or_default();
    let code_major = match code_major.to_ascii_lowercase().as_str() {
        "success" => Accepted::Success,
        "processing" => Accepted::Processing,
        "unsupported" => {
            return Err(OutcomeError::Unsupported {
                operation,
                description,
            });
        }
        _ => {
            return Err(OutcomeError::Failure {
                code_major: clean(&code_major),
                description,
            });
        }
    };
    let message_ref = collected
        .take(Field::MessageRef)
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty());
    let message_ref_identifier = match message_ref {
        Some(id) if id == expected_message_id => id,
        found => {
            return Err(OutcomeError::MessageIdMismatch {
                expected: expected_message_id.to_owned(),
                found: found.map(|id| clean(&id)),
            });
        }
    };
    let score = if operation == Operation::ReadResult {
        if !collected
            .body_elements
            .iter()
            .any(|name| name == operation.response_element())
        {
            return Err(malformed(
                "a successful readResult answer has no readResultResponse",
            ));
        }
        read_score(collected.take(Field::TextString))?
    } else {
        None
    };
    Ok(ParsedResponse {
        code_major,
        severity: collected
            .take(Field::Severity)
            .map(|text| clean(&text))
            .filter(|text| !text.is_empty()),
        description,
        message_ref_identifier,
        operation_ref_identifier: collected
            .take(Field::OperationRef)
            .map(|text| clean(&text))
            .filter(|text| !text.is_empty()),
        score,
    })
}

/// The score in a `textString`: `None` if absent or blank, else a decimal from 0.0 to 1.0.
fn read_score(text: Option<String>) -> Result<Option<Score>, OutcomeError> {
    let Some(text) = text else { return Ok(None) };
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let bad = || {
        malformed(format!(
            "the score {:?} is not a decimal from 0.0 to 1.0",
            clean(text)
        ))
    };
    // Only plain decimals: `f64::from_str` would also take `inf`, `NaN` and `1e-1`.
    if !text
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '+' | '-'))
    {
        return Err(bad());
    }
    let value: f64 = text.parse().map_err(|_| bad())?;
    Score::new(value).map(Some).map_err(|_| bad())
}

#[cfg(test)]
mod tests;
