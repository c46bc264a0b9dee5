//! OAuth 1.0a request signatures for LTI 1.1 (RFC 5849), the OAuth Request Body Hash extension
//! (draft-eaton-oauth-bodyhash-00) and the LTI 1.1 → 1.3 migration signature.
//!
//! LTI 1.1 signs every launch and every Basic Outcomes call with OAuth 1.0a, two-legged: there
//! is a consumer key and a shared secret, never a token. This module holds the protocol and
//! nothing else — no storage, no clock, no HTTP:
//!
//! * **incoming requests**: [`collect_params`] gathers the parameters from the query string,
//!   the form body and the `Authorization: OAuth` header; [`SignedRequest::parse`] checks that
//!   the OAuth parameters are there and well formed; [`SignedRequest::verify_signature`]
//!   recomputes the signature with the consumer's secret. Timestamp windows, nonce replay and
//!   consumer lookup belong to the caller (`crate::lti11::launch`), which must run them only after the
//!   signature has verified;
//! * **outgoing requests**: [`sign_body_request`] builds the `Authorization` header for a
//!   Basic Outcomes POX call, with `oauth_body_hash`;
//! * the building blocks, each after its RFC section: [`percent_encode`] (§3.6),
//!   [`base_string_uri`] (§3.4.1.2), [`normalized_parameters`] (§3.4.1.3.2), [`base_string`]
//!   (§3.4.1.1), [`signature`] (§3.4.2);
//! * [`migration_signature`], the `oauth_consumer_key_sign` a platform sends with the LTI 1.1
//!   legacy claim of an LTI 1.3 launch so a tool can tie the new deployment to an old consumer.
//!
//! Only HMAC-SHA1 and HMAC-SHA256 are accepted. `PLAINTEXT` sends the secret itself and LTI
//! does not use `RSA-SHA1`; both are refused rather than silently treated as something else.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha1::{Digest as _, Sha1};
use sha2::Sha256;
use url::Url;

use crate::domain::secret::{ConsumerSecret, constant_time_eq};

/// The OAuth parameters that every signed request must carry, in the order they are checked.
const REQUIRED: [&str; 5] = [
    "oauth_consumer_key",
    "oauth_signature",
    "oauth_signature_method",
    "oauth_timestamp",
    "oauth_nonce",
];

/// How many characters of a value sent by the peer an error keeps, so a hostile request
/// cannot fill a log line.
const ERROR_VALUE_MAX: usize = 64;

/// The signature methods this tool accepts (RFC 5849 §3.4).
///
/// RFC 5849 §3.4.2 defines HMAC-SHA1, which is what LTI 1.1 uses. HMAC-SHA256 is the same
/// construction with SHA-256; it is not in the RFC, but libraries such as oauthlib implement
/// it and some platforms offer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureMethod {
    /// `HMAC-SHA1` (RFC 5849 §3.4.2).
    HmacSha1,
    /// `HMAC-SHA256`: §3.4.2 with SHA-256 as the hash.
    HmacSha256,
}

impl SignatureMethod {
    /// Reads an `oauth_signature_method` value. Names are compared exactly, as sent on the
    /// wire; `PLAINTEXT`, `RSA-SHA1` and anything else are refused.
    pub fn parse(value: &str) -> Result<Self, OAuthError> {
        match value {
            "HMAC-SHA1" => Ok(Self::HmacSha1),
            "HMAC-SHA256" => Ok(Self::HmacSha256),
            other => Err(OAuthError::UnsupportedSignatureMethod(clip(other))),
        }
    }

    /// The method's name as it appears in `oauth_signature_method`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HmacSha1 => "HMAC-SHA1",
            Self::HmacSha256 => "HMAC-SHA256",
        }
    }
}

impl FromStr for SignatureMethod {
    type Err = OAuthError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
}

impl fmt::Display for SignatureMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a request's OAuth parameters were refused. One variant per reason.
///
/// Values that come from the peer are cut to 64 characters before they are kept here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// The `Authorization` header does not follow RFC 5849 §3.5.1: not the `OAuth` scheme, a
    /// parameter without a name or `=`, an unquoted or unterminated value, or text between
    /// parameters.
    #[error("the Authorization header is not a well-formed OAuth header")]
    MalformedHeader,
    /// A parameter name or value has a `%` not followed by two hex digits, or decodes to bytes
    /// that are not UTF-8 (RFC 5849 §3.6 encodes UTF-8 only).
    #[error("a request parameter is not valid percent-encoded UTF-8")]
    InvalidEncoding,
    /// A required OAuth parameter is absent (RFC 5849 §3.1).
    #[error("the request has no {0}")]
    MissingParameter(&'static str),
    /// A required OAuth parameter is present but empty: an empty key, nonce or signature
    /// cannot identify, protect or authenticate anything.
    #[error("the request's {0} is empty")]
    EmptyParameter(&'static str),
    /// An `oauth_*` protocol parameter appears more than once (counting the query, the body
    /// and the header together). RFC 5849 §3.1 lets each appear once; accepting several
    /// would leave it unclear which one was checked. Other names may repeat.
    #[error("the OAuth parameter {0:?} appears more than once")]
    DuplicateOAuthParameter(String),
    /// `oauth_signature_method` is neither `HMAC-SHA1` nor `HMAC-SHA256`.
    #[error("signature method {0:?} is not supported; use HMAC-SHA1 or HMAC-SHA256")]
    UnsupportedSignatureMethod(String),
    /// `oauth_version` is present and is not `1.0` (RFC 5849 §3.1: "if present, MUST be set
    /// to 1.0").
    #[error("oauth_version must be 1.0 when present")]
    UnsupportedVersion,
    /// `oauth_timestamp` is not a non-negative whole number of seconds (RFC 5849 §3.3).
    #[error("oauth_timestamp is not a non-negative integer")]
    InvalidTimestamp,
    /// The signature recomputed with the consumer's secret differs from `oauth_signature`.
    #[error("the OAuth signature does not verify")]
    BadSignature,
}

/// Keeps at most [`ERROR_VALUE_MAX`] characters of a peer's value for an error.
fn clip(value: &str) -> String {
    value.chars().take(ERROR_VALUE_MAX).collect()
}

// ---------------------------------------------------------------------------------------------
// Encoding (RFC 5849 §3.6)
// ---------------------------------------------------------------------------------------------

const UPPER_HEX: &[u8; 16] = b"0123456789ABCDEF";

/// The characters RFC 5849 §3.6 (after RFC 3986 §2.3) leaves as they are.
fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// Percent-encodes a string the OAuth way (RFC 5849 §3.6).
///
/// The text is taken as UTF-8; the unreserved characters `A-Z a-z 0-9 - . _ ~` stay as they
/// are and every other byte becomes `%XX` with upper-case hex digits. Unlike form encoding,
/// a space is `%20` (never `+`) and `*`, `!`, `'`, `(`, `)` are encoded too; getting either
/// wrong is the classic reason two OAuth implementations disagree on a signature.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for &byte in value.as_bytes() {
        if is_unreserved(byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(UPPER_HEX[usize::from(byte >> 4)]));
            out.push(char::from(UPPER_HEX[usize::from(byte & 0x0f)]));
        }
    }
    out
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` escapes (either case of hex digit) and, for form encoding, `+` as a space.
/// Refuses a stray `%` and a result that is not UTF-8: such a value could only be signed by
/// a client that encodes differently from RFC 5849 §3.6, and guessing would hide the mismatch.
fn percent_decode(input: &[u8], plus_is_space: bool) -> Result<String, OAuthError> {
    let mut out = Vec::with_capacity(input.len());
    let mut bytes = input.iter().copied();
    while let Some(byte) = bytes.next() {
        match byte {
            b'%' => {
                let high = bytes.next().and_then(hex_value);
                let low = bytes.next().and_then(hex_value);
                match (high, low) {
                    (Some(high), Some(low)) => out.push((high << 4) | low),
                    _ => return Err(OAuthError::InvalidEncoding),
                }
            }
            b'+' if plus_is_space => out.push(b' '),
            other => out.push(other),
        }
    }
    String::from_utf8(out).map_err(|_| OAuthError::InvalidEncoding)
}

// ---------------------------------------------------------------------------------------------
// Collecting parameters (RFC 5849 §3.4.1.3.1, §3.5.1)
// ---------------------------------------------------------------------------------------------

/// Splits `application/x-www-form-urlencoded` text into decoded pairs (the HTML 4.01 §17.13.4
/// rules RFC 5849 §3.4.1.3.1 refers to): `&` separates pairs, the first `=` separates a name
/// from its value, a pair without `=` has an empty value, `+` is a space.
fn parse_form(input: &[u8], out: &mut Vec<(String, String)>) -> Result<(), OAuthError> {
    for pair in input.split(|&byte| byte == b'&') {
        if pair.is_empty() {
            continue;
        }
        let (name, value) = match pair.iter().position(|&byte| byte == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &[][..]),
        };
        out.push((percent_decode(name, true)?, percent_decode(value, true)?));
    }
    Ok(())
}

/// Every parameter of a request, as RFC 5849 §3.4.1.3.1 collects them for the signature base
/// string: the query string, then the form body, then the `Authorization: OAuth` header
/// (without its `realm`).
///
/// * `query` is the request URI's query component without the leading `?`.
/// * `form_body` must be `Some` only when the request's `Content-Type` is
///   `application/x-www-form-urlencoded`; any other body (XML, JSON) is not part of the
///   signature and the caller passes `None`.
/// * `authorization` is the raw `Authorization` header value. A header of another scheme
///   (`Basic`, `Bearer`) carries no OAuth parameters and is ignored; an `OAuth` header that
///   does not parse is refused ([`parse_authorization_header`]).
///
/// Names and values come back decoded, in the order they were sent, with repeated names kept
/// (`foo=123&foo=bar` is two parameters, and both are signed). Whether an `oauth_*` name is
/// repeated is for [`SignedRequest::parse`] to refuse.
pub fn collect_params(
    query: Option<&str>,
    form_body: Option<&[u8]>,
    authorization: Option<&str>,
) -> Result<Vec<(String, String)>, OAuthError> {
    let mut params = Vec::new();
    if let Some(query) = query {
        parse_form(query.as_bytes(), &mut params)?;
    }
    if let Some(body) = form_body {
        parse_form(body, &mut params)?;
    }
    if let Some(header) = authorization.filter(|header| oauth_scheme_rest(header).is_some()) {
        params.extend(parse_authorization_header(header)?);
    }
    Ok(params)
}

fn is_ows(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// What follows the `OAuth` auth-scheme (matched case-insensitively, RFC 7235 §2.1), or
/// `None` when the header uses another scheme.
fn oauth_scheme_rest(header: &str) -> Option<&str> {
    let header = header.trim_start_matches([' ', '\t']);
    let end = header.bytes().position(is_ows).unwrap_or(header.len());
    let (scheme, rest) = header.split_at(end);
    scheme.eq_ignore_ascii_case("OAuth").then_some(rest)
}

/// Parses an `Authorization: OAuth ...` header value (RFC 5849 §3.5.1).
///
/// The value is the `OAuth` scheme (any case) followed by a comma-separated list of
/// `name="value"` parameters, with optional spaces or tabs around commas and `=`; names and
/// values are percent-encoded (§3.6) and are returned decoded (`+` is a literal plus here,
/// not a space). Values must be double-quoted; a backslash escapes the next character, as
/// in any HTTP quoted-string. `realm` is dropped, as §3.4.1.3.1 excludes it from the
/// signature; its value is not decoded, since it need not be percent-encoded. Empty list
/// elements (`a="1",,b="2"`) are skipped. Anything else is [`OAuthError::MalformedHeader`];
/// a bad `%` escape is [`OAuthError::InvalidEncoding`].
pub fn parse_authorization_header(value: &str) -> Result<Vec<(String, String)>, OAuthError> {
    let rest = oauth_scheme_rest(value).ok_or(OAuthError::MalformedHeader)?;
    let bytes = rest.as_bytes();
    let mut at = 0;
    let skip_ows = |at: &mut usize| {
        while bytes.get(*at).copied().is_some_and(is_ows) {
            *at += 1;
        }
    };
    let mut params = Vec::new();
    loop {
        skip_ows(&mut at);
        match bytes.get(at) {
            None => break,
            Some(b',') => {
                at += 1;
                continue;
            }
            Some(_) => {}
        }
        // name
        let name_start = at;
        while bytes.get(at).is_some_and(|&byte| {
            !is_ows(byte) && !matches!(byte, b'=' | b',' | b'"') && !byte.is_ascii_control()
        }) {
            at += 1;
        }
        let name = &bytes[name_start..at];
        if name.is_empty() {
            return Err(OAuthError::MalformedHeader);
        }
        skip_ows(&mut at);
        if bytes.get(at) != Some(&b'=') {
            return Err(OAuthError::MalformedHeader);
        }
        at += 1;
        skip_ows(&mut at);
        // quoted value
        if bytes.get(at) != Some(&b'"') {
            return Err(OAuthError::MalformedHeader);
        }
        at += 1;
        let mut raw = Vec::new();
        loop {
            match bytes.get(at).copied() {
                None => return Err(OAuthError::MalformedHeader),
                Some(b'"') => {
                    at += 1;
                    break;
                }
                Some(b'\\') => {
                    let escaped = bytes.get(at + 1).copied();
                    match escaped {
                        Some(byte) if byte == b'\t' || !byte.is_ascii_control() => raw.push(byte),
                        _ => return Err(OAuthError::MalformedHeader),
                    }
                    at += 2;
                }
                Some(byte) if byte == b'\t' || !byte.is_ascii_control() => {
                    raw.push(byte);
                    at += 1;
                }
                Some(_) => return Err(OAuthError::MalformedHeader),
            }
        }
        // the next thing must be a comma or the end
        skip_ows(&mut at);
        match bytes.get(at) {
            None | Some(b',') => {}
            Some(_) => return Err(OAuthError::MalformedHeader),
        }
        let name = percent_decode(name, false)?;
        if name == "realm" {
            continue;
        }
        params.push((name, percent_decode(&raw, false)?));
    }
    Ok(params)
}

// ---------------------------------------------------------------------------------------------
// Signature base string (RFC 5849 §3.4.1)
// ---------------------------------------------------------------------------------------------

/// The base string URI of a request (RFC 5849 §3.4.1.2): `scheme://host[:port]/path`.
///
/// Scheme and host are lower-cased; the port is left out when it is the default for the
/// scheme (80 for `http`, 443 for `https`) and kept otherwise, even when it is "the other"
/// default (`http://h:443/`); an empty path becomes `/`; query, fragment and user-info are
/// dropped. The path is kept as the URL carries it.
///
/// Verification must use the URL the platform sent the request to — the tool's configured
/// public origin and the request path — not the host or port the server sees behind a load
/// balancer or on Lambda.
pub fn base_string_uri(url: &Url) -> String {
    let scheme = url.scheme().to_ascii_lowercase();
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let mut out = format!("{scheme}://{host}");
    if let Some(port) = url.port_or_known_default() {
        let is_default = matches!((scheme.as_str(), port), ("http", 80) | ("https", 443));
        if !is_default {
            out.push(':');
            out.push_str(&port.to_string());
        }
    }
    match url.path() {
        "" => out.push('/'),
        path => out.push_str(path),
    }
    out
}

/// The normalized request parameters (RFC 5849 §3.4.1.3.2).
///
/// `oauth_signature` is left out; every other name and value is percent-encoded (§3.6); the
/// pairs are sorted by encoded name and then encoded value, comparing bytes (so `B` sorts
/// before `a`, and `200` before `25`); each pair is written `name=value` and the pairs are
/// joined with `&`. The input order therefore does not matter.
pub fn normalized_parameters(params: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .filter(|(name, _)| name != "oauth_signature")
        .map(|(name, value)| (percent_encode(name), percent_encode(value)))
        .collect();
    encoded.sort_unstable();
    let mut out = String::new();
    for (index, (name, value)) in encoded.iter().enumerate() {
        if index > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// The signature base string (RFC 5849 §3.4.1.1): the upper-cased HTTP method, the encoded
/// [`base_string_uri`] and the encoded [`normalized_parameters`], joined with `&`.
///
/// `url`'s query is **not** read here: the query parameters are request parameters and the
/// caller passes them in `params` (as [`collect_params`] does), so they are never counted
/// twice or forgotten depending on the path a request took.
pub fn base_string(method: &str, url: &Url, params: &[(String, String)]) -> String {
    format!(
        "{}&{}&{}",
        percent_encode(&method.to_ascii_uppercase()),
        percent_encode(&base_string_uri(url)),
        percent_encode(&normalized_parameters(params)),
    )
}

// ---------------------------------------------------------------------------------------------
// Signatures (RFC 5849 §3.4.2)
// ---------------------------------------------------------------------------------------------

// `new_from_slice` cannot fail for HMAC, which accepts keys of any length (RFC 2104 §2). Were
// it ever to fail, the MAC would be empty, which never equals a received signature (empty
// ones are refused by `SignedRequest::parse`), so the failure would stay closed.
fn hmac_sha1(key: &[u8], message: &[u8]) -> Vec<u8> {
    Hmac::<Sha1>::new_from_slice(key)
        .map(|mac| mac.chain_update(message).finalize().into_bytes().to_vec())
        .unwrap_or_default()
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    Hmac::<Sha256>::new_from_slice(key)
        .map(|mac| mac.chain_update(message).finalize().into_bytes().to_vec())
        .unwrap_or_default()
}

/// RFC 5849 §3.4.2 with a token secret, which LTI never has; kept separate so the RFC's own
/// three-legged examples can be checked.
fn sign_with_token_secret(
    method: SignatureMethod,
    base_string: &str,
    consumer_secret: &str,
    token_secret: &str,
) -> String {
    let key = format!(
        "{}&{}",
        percent_encode(consumer_secret),
        percent_encode(token_secret)
    );
    let mac = match method {
        SignatureMethod::HmacSha1 => hmac_sha1(key.as_bytes(), base_string.as_bytes()),
        SignatureMethod::HmacSha256 => hmac_sha256(key.as_bytes(), base_string.as_bytes()),
    };
    STANDARD.encode(mac)
}

/// The `oauth_signature` of a base string (RFC 5849 §3.4.2): base64 (RFC 4648 §4, padded) of
/// the HMAC of `base_string`, keyed with `enc(consumer_secret) & enc(token_secret)`. LTI has
/// no token, so the key is the encoded secret followed by a lone `&`.
pub fn signature(method: SignatureMethod, base_string: &str, consumer_secret: &str) -> String {
    sign_with_token_secret(method, base_string, consumer_secret, "")
}

/// An incoming request whose OAuth parameters are present and well formed, waiting for its
/// signature to be checked.
///
/// Existing means: exactly one of each `oauth_*` parameter; a non-empty `oauth_consumer_key`,
/// `oauth_nonce` and `oauth_signature`; a supported `oauth_signature_method`; an
/// `oauth_timestamp` that is a non-negative integer; and `oauth_version`, if sent, equal to
/// `1.0`. It does **not** mean the signature is valid: read nothing from [`Self::params`] for
/// a decision before [`Self::verify_signature`] has returned `Ok`.
#[derive(Clone)]
pub struct SignedRequest {
    method: String,
    url: Url,
    params: Vec<(String, String)>,
    consumer_key: String,
    nonce: String,
    timestamp: i64,
    signature_method: SignatureMethod,
    signature: String,
}

/// The value of the only occurrence of `name` (duplicates were refused before), refusing an
/// absent or empty one.
fn required<'a>(params: &'a [(String, String)], name: &'static str) -> Result<&'a str, OAuthError> {
    let value = lookup(params, name).ok_or(OAuthError::MissingParameter(name))?;
    if value.is_empty() {
        return Err(OAuthError::EmptyParameter(name));
    }
    Ok(value)
}

fn lookup<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, value)| value.as_str())
}

/// RFC 5849 §3.3: the number of seconds since the Unix epoch, a whole number. Only ASCII
/// digits that fit an `i64` are accepted (`0` included), so `+5`, `-1`, `12.5` and ` 7` are
/// refused.
fn parse_timestamp(value: &str) -> Result<i64, OAuthError> {
    if value.is_empty() || !value.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(OAuthError::InvalidTimestamp);
    }
    value.parse().map_err(|_| OAuthError::InvalidTimestamp)
}

impl SignedRequest {
    /// Checks an incoming request's OAuth parameters (RFC 5849 §3.1, §3.3, §3.4).
    ///
    /// * `method` is the HTTP method as received.
    /// * `public_url` is the URL the platform sent the request to: scheme, host and port of
    ///   the tool's configured public origin and the request's path (§3.4.1.2). Its query is
    ///   ignored; the query parameters must be in `params`.
    /// * `params` is every request parameter, as [`collect_params`] returns them.
    ///
    /// The checks run in this order: no `oauth_*` parameter twice
    /// ([`OAuthError::DuplicateOAuthParameter`]); `oauth_version` absent or `1.0`;
    /// `oauth_consumer_key`, `oauth_signature`, `oauth_signature_method`, `oauth_timestamp`
    /// and `oauth_nonce` present, and the key, signature and nonce not empty; the method
    /// supported; the timestamp an integer. How old the timestamp may be and whether the nonce
    /// was seen are the caller's policy, to be checked after the signature.
    pub fn parse(
        method: &str,
        public_url: &Url,
        params: Vec<(String, String)>,
    ) -> Result<Self, OAuthError> {
        let mut seen = HashSet::new();
        for (name, _) in params.iter().filter(|(name, _)| name.starts_with("oauth_")) {
            if !seen.insert(name.as_str()) {
                return Err(OAuthError::DuplicateOAuthParameter(clip(name)));
            }
        }
        if lookup(&params, "oauth_version").is_some_and(|version| version != "1.0") {
            return Err(OAuthError::UnsupportedVersion);
        }
        if let Some(missing) = REQUIRED
            .into_iter()
            .find(|name| lookup(&params, name).is_none())
        {
            return Err(OAuthError::MissingParameter(missing));
        }
        let consumer_key = required(&params, "oauth_consumer_key")?.to_owned();
        let signature = required(&params, "oauth_signature")?.to_owned();
        let nonce = required(&params, "oauth_nonce")?.to_owned();
        let signature_method =
            SignatureMethod::parse(lookup(&params, "oauth_signature_method").unwrap_or_default())?;
        let timestamp = parse_timestamp(lookup(&params, "oauth_timestamp").unwrap_or_default())?;
        Ok(Self {
            method: method.to_owned(),
            url: public_url.clone(),
            params,
            consumer_key,
            nonce,
            timestamp,
            signature_method,
            signature,
        })
    }

    /// `oauth_consumer_key`: which consumer's secret to verify with. Not trusted until the
    /// signature verifies.
    pub fn consumer_key(&self) -> &str {
        &self.consumer_key
    }

    /// `oauth_nonce` (RFC 5849 §3.3), to be recorded per consumer key once everything else
    /// has passed.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// `oauth_timestamp` in seconds since the Unix epoch (RFC 5849 §3.3).
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// `oauth_signature_method`.
    pub fn signature_method(&self) -> SignatureMethod {
        self.signature_method
    }

    /// Every request parameter, decoded, in the order received, `oauth_signature` included.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// The signature base string this request is verified against (RFC 5849 §3.4.1.1), for
    /// diagnosing a signature mismatch with a platform. It holds every launch parameter,
    /// personal data included, so it belongs in a debug log at most.
    pub fn base_string(&self) -> String {
        base_string(&self.method, &self.url, &self.params)
    }

    /// Recomputes the signature with the consumer's secret (RFC 5849 §3.4.2, no token secret)
    /// and compares it with `oauth_signature` in constant time.
    pub fn verify_signature(&self, secret: &ConsumerSecret) -> Result<(), OAuthError> {
        let expected = signature(self.signature_method, &self.base_string(), secret.expose());
        if constant_time_eq(expected.as_bytes(), self.signature.as_bytes()) {
            Ok(())
        } else {
            Err(OAuthError::BadSignature)
        }
    }
}

impl fmt::Debug for SignedRequest {
    /// Leaves out the parameters, which carry names and e-mail addresses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedRequest")
            .field("method", &self.method)
            .field("url", &self.url.as_str())
            .field("consumer_key", &self.consumer_key)
            .field("nonce", &self.nonce)
            .field("timestamp", &self.timestamp)
            .field("signature_method", &self.signature_method)
            .field(
                "params",
                &format_args!("[{} parameters]", self.params.len()),
            )
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Outgoing requests with a body hash (OAuth Request Body Hash)
// ---------------------------------------------------------------------------------------------

/// `oauth_body_hash` for a request body (OAuth Request Body Hash, draft-eaton-oauth-bodyhash-00
/// §3.2): base64 of the SHA-1 of the exact body bytes; an empty body hashes the empty string.
///
/// The draft (§4.1.1) forbids a body hash on form-encoded bodies, whose parameters are signed
/// directly; it is for bodies like the Basic Outcomes XML.
pub fn body_hash(body: &[u8]) -> String {
    STANDARD.encode(Sha1::digest(body))
}

/// A fresh `oauth_nonce`: 32 lower-case hex digits from a random (v4) UUID.
pub fn fresh_nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The `Authorization` header value for a Basic Outcomes POST of `body` to `url` (LTI 1.1
/// §6, OAuth Request Body Hash §3, RFC 5849 §3.5.1), signed with HMAC-SHA1.
///
/// The signed parameters are `oauth_body_hash` ([`body_hash`] of `body`),
/// `oauth_consumer_key`, `oauth_nonce`, `oauth_signature_method=HMAC-SHA1`,
/// `oauth_timestamp`, `oauth_version=1.0` and the query parameters of `url`, which the
/// platform sees as request parameters; the body is not form-encoded and so is signed only
/// through its hash. The caller sends `Content-Type: application/xml` and the exact `body`
/// bytes, supplies `timestamp` from its clock and `nonce` from [`fresh_nonce`].
///
/// The result reads `OAuth oauth_body_hash="...", oauth_consumer_key="...", oauth_nonce="...",
/// oauth_signature_method="HMAC-SHA1", oauth_timestamp="...", oauth_version="1.0",
/// oauth_signature="..."`, every value percent-encoded (§3.6).
pub fn sign_body_request(
    url: &Url,
    consumer_key: &str,
    secret: &ConsumerSecret,
    body: &[u8],
    timestamp: i64,
    nonce: &str,
) -> String {
    let oauth = [
        ("oauth_body_hash", body_hash(body)),
        ("oauth_consumer_key", consumer_key.to_owned()),
        ("oauth_nonce", nonce.to_owned()),
        (
            "oauth_signature_method",
            SignatureMethod::HmacSha1.as_str().to_owned(),
        ),
        ("oauth_timestamp", timestamp.to_string()),
        ("oauth_version", "1.0".to_owned()),
    ];
    let mut params: Vec<(String, String)> = url
        .query_pairs()
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    params.extend(
        oauth
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone())),
    );
    let signed = signature(
        SignatureMethod::HmacSha1,
        &base_string("POST", url, &params),
        secret.expose(),
    );
    let mut header = String::from("OAuth ");
    for (name, value) in oauth
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .chain([("oauth_signature", signed.as_str())])
    {
        if header.len() > "OAuth ".len() {
            header.push_str(", ");
        }
        header.push_str(name);
        header.push_str("=\"");
        header.push_str(&percent_encode(value));
        header.push('"');
    }
    header
}

// ---------------------------------------------------------------------------------------------
// LTI 1.1 → 1.3 migration (LTI 1.3 Migration Guide)
// ---------------------------------------------------------------------------------------------

/// HMAC-SHA256 keyed with the raw secret over `message`, base64-encoded.
fn migration_mac(secret: &ConsumerSecret, message: &str) -> String {
    STANDARD.encode(hmac_sha256(secret.expose().as_bytes(), message.as_bytes()))
}

/// The `oauth_consumer_key_sign` of the LTI 1.1 legacy claim
/// (`https://purl.imsglobal.org/spec/lti/claim/lti1p1`, 1EdTech LTI 1.3 Migration Guide,
/// "oauth_consumer_key_sign").
///
/// It proves that the platform sending an LTI 1.3 launch knows the LTI 1.1 secret of
/// `oauth_consumer_key`, so the tool can carry the consumer's data over to the new
/// deployment. The value is base64 (padded) of HMAC-SHA256, keyed with the consumer secret
/// **as is** (not `enc(secret)&` as in RFC 5849), over the six values joined with `&`,
/// **not** percent-encoded: `oauth_consumer_key&deployment_id&iss&client_id&exp&nonce`, where
/// `exp` and `nonce` are the id_token's own claims and `exp` is written in decimal.
pub fn migration_signature(
    secret: &ConsumerSecret,
    consumer_key: &str,
    deployment_id: &str,
    iss: &str,
    client_id: &str,
    exp: i64,
    nonce: &str,
) -> String {
    migration_mac(
        secret,
        &format!("{consumer_key}&{deployment_id}&{iss}&{client_id}&{exp}&{nonce}"),
    )
}

/// Whether `signature` is the [`migration_signature`] of these values, compared in constant
/// time.
#[allow(
    clippy::too_many_arguments,
    reason = "the six signed values of the Migration Guide, the secret and the signature"
)]
pub fn verify_migration_signature(
    secret: &ConsumerSecret,
    consumer_key: &str,
    deployment_id: &str,
    iss: &str,
    client_id: &str,
    exp: i64,
    nonce: &str,
    signature: &str,
) -> bool {
    let expected = migration_signature(
        secret,
        consumer_key,
        deployment_id,
        iss,
        client_id,
        exp,
        nonce,
    );
    constant_time_eq(expected.as_bytes(), signature.as_bytes())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn url(value: &str) -> Url {
        Url::parse(value).unwrap()
    }

    fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    /// A form body as a browser posts it (`+` for spaces), to exercise form decoding.
    fn form(list: &[(&str, &str)]) -> Vec<u8> {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(list)
            .finish()
            .into_bytes()
    }

    fn header(list: &[(&str, &str)]) -> String {
        let parts: Vec<String> = list
            .iter()
            .map(|(name, value)| format!("{}=\"{}\"", percent_encode(name), percent_encode(value)))
            .collect();
        format!("OAuth {}", parts.join(", "))
    }

    fn secret(value: &str) -> ConsumerSecret {
        ConsumerSecret::new(value)
    }

    fn set(params: &mut [(String, String)], name: &str, value: &str) {
        for pair in params.iter_mut().filter(|(n, _)| n == name) {
            pair.1 = value.to_owned();
        }
    }

    fn without(params: &[(String, String)], name: &str) -> Vec<(String, String)> {
        params.iter().filter(|(n, _)| n != name).cloned().collect()
    }

    // -----------------------------------------------------------------------------------------
    // Known-answer vectors (shared/specs/lti11-reference.md §7)
    // -----------------------------------------------------------------------------------------

    const V01_URL: &str = "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b";
    const V01_BODY: &[u8] = b"c2&a3=2+q";
    const V01_HEADER: &str = "OAuth realm=\"Example\", oauth_consumer_key=\"9djdj82h48djs9d2\", \
        oauth_token=\"kkk9d7dh3k39sjv7\", oauth_signature_method=\"HMAC-SHA1\", \
        oauth_timestamp=\"137131201\", oauth_nonce=\"7d8f3e4a\", \
        oauth_signature=\"djosJKDKJSD8743243%2Fjdk33klY%3D\"";
    const V01_BASE: &str = "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7";
    const V01_CLIENT_SECRET: &str = "ECrDNoq1VYzzzzzzzzzyAK7TwZNtPnkqatqZZZZ";
    const V01_TOKEN_SECRET: &str = "just-a-string    asdasd";

    fn v01_params() -> Vec<(String, String)> {
        let url = url(V01_URL);
        collect_params(url.query(), Some(V01_BODY), Some(V01_HEADER)).unwrap()
    }

    #[test]
    fn v01_normalized_parameters_match() {
        assert_eq!(
            normalized_parameters(&v01_params()),
            "a2=r%20b&a3=2%20q&a3=a&b5=%3D%253D&c%40=&c2=&oauth_consumer_key=9djdj82h48djs9d2&oauth_nonce=7d8f3e4a&oauth_signature_method=HMAC-SHA1&oauth_timestamp=137131201&oauth_token=kkk9d7dh3k39sjv7"
        );
    }

    #[test]
    fn v01_base_string_matches() {
        assert_eq!(base_string("POST", &url(V01_URL), &v01_params()), V01_BASE);
    }

    #[test]
    fn v01_hmac_sha1_with_token_secret_matches() {
        assert_eq!(
            sign_with_token_secret(
                SignatureMethod::HmacSha1,
                V01_BASE,
                V01_CLIENT_SECRET,
                V01_TOKEN_SECRET
            ),
            "wsdNmjGB7lvis0UJuPAmjvX/PXw="
        );
    }

    #[test]
    fn v01_hmac_sha256_with_token_secret_matches() {
        assert_eq!(
            sign_with_token_secret(
                SignatureMethod::HmacSha256,
                V01_BASE,
                V01_CLIENT_SECRET,
                V01_TOKEN_SECRET
            ),
            "wdfdHUKXHbOnOGZP8WFAWMSAmWzN3EVBWWgXGlC/Eo4="
        );
    }

    #[test]
    fn v01_header_realm_is_excluded() {
        let params = v01_params();
        assert!(params.iter().all(|(name, _)| name != "realm"));
        // oauth_signature is collected, and only left out when normalizing.
        assert!(
            params.iter().any(|(name, value)| name == "oauth_signature"
                && value == "djosJKDKJSD8743243/jdk33klY=")
        );
    }

    const V02_KEY: &str = "dpf43f3p2l4k3l03";
    const V02_SECRET: &str = "kd94hf93k423kf44";

    #[test]
    fn v02a_initiate_request_verifies() {
        let header = header(&[
            ("realm", "Photos"),
            ("oauth_consumer_key", V02_KEY),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", "137131200"),
            ("oauth_nonce", "wIjqoS"),
            ("oauth_callback", "http://printer.example.com/ready"),
            ("oauth_signature", "74KNZJeDHnMBp0EMJ9ZHt/XKycU="),
        ]);
        let params = collect_params(None, None, Some(&header)).unwrap();
        let request =
            SignedRequest::parse("POST", &url("https://photos.example.net/initiate"), params)
                .unwrap();
        assert_eq!(
            request.base_string(),
            "POST&https%3A%2F%2Fphotos.example.net%2Finitiate&oauth_callback%3Dhttp%253A%252F%252Fprinter.example.com%252Fready%26oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3DwIjqoS%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131200"
        );
        assert_eq!(request.verify_signature(&secret(V02_SECRET)), Ok(()));
        assert_eq!(
            signature(
                SignatureMethod::HmacSha1,
                &request.base_string(),
                V02_SECRET
            ),
            "74KNZJeDHnMBp0EMJ9ZHt/XKycU="
        );
    }

    #[test]
    fn v02b_token_request_signature_matches() {
        let params = owned(&[
            ("oauth_consumer_key", V02_KEY),
            ("oauth_token", "hh5s93j4hdidpola"),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", "137131201"),
            ("oauth_nonce", "walatlh"),
            ("oauth_verifier", "hfdp7dh39dks9884"),
        ]);
        let base = base_string("POST", &url("https://photos.example.net/token"), &params);
        assert_eq!(
            sign_with_token_secret(
                SignatureMethod::HmacSha1,
                &base,
                V02_SECRET,
                "hdhd0244k9j7ao03"
            ),
            "gKgrFCywp7rO0OXSjdot/IHF7IU="
        );
    }

    fn photos_request(timestamp: &str, nonce: &str, version: Option<&str>) -> String {
        let url = url("http://photos.example.net/photos?file=vacation.jpg&size=original");
        let mut params = collect_params(url.query(), None, None).unwrap();
        params.extend(owned(&[
            ("oauth_consumer_key", V02_KEY),
            ("oauth_token", "nnch734d00sl2jdk"),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", timestamp),
            ("oauth_nonce", nonce),
        ]));
        if let Some(version) = version {
            params.extend(owned(&[("oauth_version", version)]));
        }
        base_string("GET", &url, &params)
    }

    #[test]
    fn v02c_protected_resource_request_matches() {
        let base = photos_request("137131202", "chapoH", None);
        assert_eq!(
            base,
            "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3DchapoH%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131202%26oauth_token%3Dnnch734d00sl2jdk%26size%3Doriginal"
        );
        assert_eq!(
            sign_with_token_secret(
                SignatureMethod::HmacSha1,
                &base,
                V02_SECRET,
                "pfkkdhi9sl3r4s00"
            ),
            "MdpQcU8iPSUjWoN/UDMsK2sui9I="
        );
    }

    #[test]
    fn v03_oauth_core_appendix_a5_matches() {
        let base = photos_request("1191242096", "kllo9940pd9333jh", Some("1.0"));
        assert_eq!(
            base,
            "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3Dkllo9940pd9333jh%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1191242096%26oauth_token%3Dnnch734d00sl2jdk%26oauth_version%3D1.0%26size%3Doriginal"
        );
        assert_eq!(
            sign_with_token_secret(
                SignatureMethod::HmacSha1,
                &base,
                V02_SECRET,
                "pfkkdhi9sl3r4s00"
            ),
            "tR3+Ty81lMeYAr/Fid0kMTYa/WM="
        );
    }

    const V04_URL: &str =
        "http://www.imsglobal.org/developers/LTI/test/v1p1/tool.php?foo=123&foo=bar";

    fn v04_body(signature: &str) -> Vec<u8> {
        form(&[
            ("resource_link_id", "rsc1"),
            ("oauth_callback", "about:blank"),
            (
                "lis_outcome_service_url",
                "http://www.imsglobal.org/developers/LTI/test/v1p1/common/tool_consumer_outcome.php?b64=MTIzNDU6OjpzZWNyZXQ=",
            ),
            ("lis_result_sourcedid", "feb-123-456-2929::28883"),
            (
                "launch_presentation_return_url",
                "http://www.imsglobal.org/developers/LTI/test/v1p1/lms_return.php",
            ),
            ("lti_version", "LTI-1p0"),
            ("lti_message_type", "basic-lti-launch-request"),
            ("oauth_version", "1.0"),
            ("oauth_nonce", "7ee33f6dc94117e792ff529898ce3953"),
            ("oauth_timestamp", "1397708483"),
            ("oauth_consumer_key", "12345"),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_signature", signature),
        ])
    }

    fn v04_request(signature: &str) -> SignedRequest {
        let url = url(V04_URL);
        let params = collect_params(url.query(), Some(&v04_body(signature)), None).unwrap();
        SignedRequest::parse("POST", &url, params).unwrap()
    }

    #[test]
    fn v04_launch_with_repeated_query_params_verifies() {
        let request = v04_request("dHORwwJqwh5hQQAlvaA9csSIOhc=");
        assert_eq!(
            request
                .params()
                .iter()
                .filter(|(name, _)| name == "foo")
                .count(),
            2
        );
        assert_eq!(request.verify_signature(&secret("secret")), Ok(()));
    }

    #[test]
    fn v04_signature_without_query_params_is_refused() {
        // The negative control: signing without the query parameters gives PJZ9…, …
        let url = url(V04_URL);
        let body_only = collect_params(None, Some(&v04_body("")), None).unwrap();
        assert_eq!(
            signature(
                SignatureMethod::HmacSha1,
                &base_string("POST", &url, &body_only),
                "secret"
            ),
            "PJZ9sng84excDcmRAcORSeVsfFI="
        );
        // … which a request that does carry them must not accept.
        let request = v04_request("PJZ9sng84excDcmRAcORSeVsfFI=");
        assert_eq!(
            request.verify_signature(&secret("secret")),
            Err(OAuthError::BadSignature)
        );
    }

    const V05_URL: &str = "http://localhost/toolconsumer/launch";

    fn v05_params() -> Vec<(String, String)> {
        let body = form(&[
            ("oauth_callback", "about:blank"),
            ("oauth_nonce", "f68bdf5dbed34d7aa6ff18456bf3185e"),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", "1517630398"),
            ("oauth_version", "1.0"),
            ("launch_presentation_locale", "en-US"),
            ("lti_message_type", "basic-lti-launch-request"),
            ("lti_version", "LTI-1p0"),
            ("oauth_consumer_key", "12345"),
            ("lis_person_name_full", "d'Artagnan"),
            ("resource_link_id", "link"),
            ("oauth_signature", "k2Y0+/dW5ryPlpcok1qgxosUyD4="),
        ]);
        collect_params(None, Some(&body), None).unwrap()
    }

    fn v05_parse(params: Vec<(String, String)>) -> Result<SignedRequest, OAuthError> {
        SignedRequest::parse("POST", &url(V05_URL), params)
    }

    #[test]
    fn v05_launch_with_apostrophe_verifies() {
        let request = v05_parse(v05_params()).unwrap();
        assert!(
            request
                .base_string()
                .contains("lis_person_name_full%3Dd%2527Artagnan")
        );
        assert_eq!(request.verify_signature(&secret("secret")), Ok(()));
        assert_eq!(request.consumer_key(), "12345");
        assert_eq!(request.nonce(), "f68bdf5dbed34d7aa6ff18456bf3185e");
        assert_eq!(request.timestamp(), 1_517_630_398);
        assert_eq!(request.signature_method(), SignatureMethod::HmacSha1);
    }

    #[test]
    fn v06_body_hash_of_hello_world_matches() {
        assert_eq!(body_hash(b"Hello World!"), "Lve95gjOVATpfV8EL5X4nxwjKHE=");
    }

    #[test]
    fn v06_body_hash_of_empty_body_matches() {
        assert_eq!(body_hash(b""), "2jmj7l5rSw0yVb/vlWAYkK/YBwk=");
    }

    fn v07_request(
        method: &str,
        body: &[u8],
        nonce: &str,
        timestamp: &str,
        sig: &str,
    ) -> SignedRequest {
        let header = header(&[
            ("oauth_body_hash", &body_hash(body)),
            ("oauth_consumer_key", "consumer"),
            ("oauth_token", "token"),
            ("oauth_version", "1.0"),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_nonce", nonce),
            ("oauth_timestamp", timestamp),
            ("oauth_signature", sig),
        ]);
        let params = collect_params(None, None, Some(&header)).unwrap();
        SignedRequest::parse(method, &url("http://www.example.com/resource"), params).unwrap()
    }

    #[test]
    fn v07_put_body_hash_first_request_verifies() {
        let request = v07_request(
            "PUT",
            b"Hello World!",
            "10288510250934",
            "1236874155",
            "t+MX8l/0S8hdbVQL99nD0X1fPnM=",
        );
        assert_eq!(request.verify_signature(&secret("con-test-secret")), Ok(()));
    }

    #[test]
    fn v07_put_body_hash_second_request_verifies() {
        let request = v07_request(
            "PUT",
            b"Hello World!",
            "10369470270925",
            "1236874236",
            "CTFmrqJIGT7NsWJ42OrujahTtTc=",
        );
        assert_eq!(
            request.base_string(),
            "PUT&http%3A%2F%2Fwww.example.com%2Fresource&oauth_body_hash%3DLve95gjOVATpfV8EL5X4nxwjKHE%253D%26oauth_consumer_key%3Dconsumer%26oauth_nonce%3D10369470270925%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1236874236%26oauth_token%3Dtoken%26oauth_version%3D1.0"
        );
        assert_eq!(request.verify_signature(&secret("con-test-secret")), Ok(()));
    }

    #[test]
    fn v07_get_empty_body_hash_verifies() {
        let request = v07_request(
            "GET",
            b"",
            "8628868109991",
            "1238395022",
            "Zhl++aWSP0O3/hYQ0CuBc7jv38I=",
        );
        assert_eq!(request.verify_signature(&secret("con-test-secret")), Ok(()));
    }

    const V08_BODY: &str = r#"<?xml version="1.0" encoding="UTF-8"?><imsx_POXEnvelopeRequest xmlns="http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0"><imsx_POXHeader><imsx_POXRequestHeaderInfo><imsx_version>V1.0</imsx_version><imsx_messageIdentifier>123456789</imsx_messageIdentifier></imsx_POXRequestHeaderInfo></imsx_POXHeader><imsx_POXBody><replaceResultRequest><resultRecord><sourcedGUID><sourcedId>261-154-728-17-784</sourcedId></sourcedGUID><result><resultScore><language>en</language><textString>0.92</textString></resultScore></result></resultRecord></replaceResultRequest></imsx_POXBody></imsx_POXEnvelopeRequest>"#;
    const V08_HEADER: &str = "OAuth oauth_nonce=\"1234567890abcdef\", oauth_timestamp=\"1397708483\", oauth_version=\"1.0\", oauth_signature_method=\"HMAC-SHA1\", oauth_consumer_key=\"12345\", oauth_body_hash=\"6qJy0j2vG%2BhOFr82jjCAa6g706c%3D\", oauth_signature=\"eQ%2BnwBIaoF84GWjbV0Oq8cudkKg%3D\"";

    fn v08_header() -> String {
        sign_body_request(
            &url("http://localhost/lis_grade_passback"),
            "12345",
            &secret("secret"),
            V08_BODY.as_bytes(),
            1_397_708_483,
            "1234567890abcdef",
        )
    }

    #[test]
    fn v08_replace_result_body_hash_matches() {
        assert_eq!(V08_BODY.len(), 601);
        assert_eq!(
            body_hash(V08_BODY.as_bytes()),
            "6qJy0j2vG+hOFr82jjCAa6g706c="
        );
    }

    #[test]
    fn v08_replace_result_header_matches() {
        assert_eq!(
            v08_header(),
            "OAuth oauth_body_hash=\"6qJy0j2vG%2BhOFr82jjCAa6g706c%3D\", oauth_consumer_key=\"12345\", oauth_nonce=\"1234567890abcdef\", oauth_signature_method=\"HMAC-SHA1\", oauth_timestamp=\"1397708483\", oauth_version=\"1.0\", oauth_signature=\"eQ%2BnwBIaoF84GWjbV0Oq8cudkKg%3D\""
        );
        // Same parameters as the reference header, whose order differs.
        let mut ours = parse_authorization_header(&v08_header()).unwrap();
        let mut reference = parse_authorization_header(V08_HEADER).unwrap();
        ours.sort();
        reference.sort();
        assert_eq!(ours, reference);
    }

    #[test]
    fn v08_replace_result_base_string_and_signature_match() {
        let params = collect_params(None, None, Some(&v08_header())).unwrap();
        let request =
            SignedRequest::parse("POST", &url("http://localhost/lis_grade_passback"), params)
                .unwrap();
        assert_eq!(
            request.base_string(),
            "POST&http%3A%2F%2Flocalhost%2Flis_grade_passback&oauth_body_hash%3D6qJy0j2vG%252BhOFr82jjCAa6g706c%253D%26oauth_consumer_key%3D12345%26oauth_nonce%3D1234567890abcdef%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1397708483%26oauth_version%3D1.0"
        );
        assert_eq!(
            signature(SignatureMethod::HmacSha1, &request.base_string(), "secret"),
            "eQ+nwBIaoF84GWjbV0Oq8cudkKg="
        );
        assert_eq!(request.verify_signature(&secret("secret")), Ok(()));
    }

    #[test]
    fn v09_percent_encoding_table_matches() {
        let table = [
            ("abcABC123", "abcABC123"),
            ("-._~", "-._~"),
            ("%", "%25"),
            ("+", "%2B"),
            ("&=*", "%26%3D%2A"),
            ("\n", "%0A"),
            (" ", "%20"),
            ("\u{7f}", "%7F"),
            ("\u{80}", "%C2%80"),
            ("\u{3001}", "%E3%80%81"),
            ("!", "%21"),
            ("'", "%27"),
            ("()", "%28%29"),
            ("é", "%C3%A9"),
            ("\u{1F600}", "%F0%9F%98%80"),
        ];
        for (raw, encoded) in table {
            assert_eq!(percent_encode(raw), encoded, "encoding {raw:?}");
        }
    }

    #[test]
    fn v09_normalization_table_matches() {
        let table: [(&[(&str, &str)], &str); 4] = [
            (&[("name", "")], "name="),
            (&[("a", "x!y"), ("a", "x y")], "a=x%20y&a=x%21y"),
            (&[("x!y", "a"), ("x", "a")], "x=a&x%21y=a"),
            (
                &[("x", "25"), ("x", "200"), ("y", "a"), ("y", "B")],
                "x=200&x=25&y=B&y=a",
            ),
        ];
        for (params, normalized) in table {
            assert_eq!(normalized_parameters(&owned(params)), normalized);
        }
    }

    #[test]
    fn v09_base_string_uri_table_matches() {
        let table = [
            (
                "HTTP://Example.COM:80/resource?id=123",
                "http://example.com/resource",
            ),
            (
                "http://EXAMPLE.COM:80/r%20v/X?id=123",
                "http://example.com/r%20v/X",
            ),
            (
                "https://www.example.net:8080/?q=1",
                "https://www.example.net:8080/",
            ),
            ("http://example.com", "http://example.com/"),
            (
                "https://tool.example.com:443/lti/launch?x=1#frag",
                "https://tool.example.com/lti/launch",
            ),
            ("HTTP://www.example.com:443/", "http://www.example.com:443/"),
        ];
        for (input, expected) in table {
            assert_eq!(base_string_uri(&url(input)), expected, "for {input}");
        }
    }

    const V10_URL: &str = "https://Tool.Example.com:443/lti/launch?course=ABC%20101&flag";
    const V10_SECRET: &str = "s3cr3t~+/=";

    fn v10_params(signature: &str) -> Vec<(String, String)> {
        let body = form(&[
            ("lti_message_type", "basic-lti-launch-request"),
            ("lti_version", "LTI-1p0"),
            ("resource_link_id", "rl-1"),
            ("lis_person_name_full", "Zoë Ünïcødé 测试"),
            ("custom_expr", "a+b=c & d~e*f!"),
            ("context_title", "Intro  to  LTI"),
            ("roles", "Instructor,urn:lti:role:ims/lis/TeachingAssistant"),
            ("oauth_consumer_key", "12345"),
            ("oauth_nonce", "n0nce"),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", "1700000000"),
            ("oauth_version", "1.0"),
            ("oauth_callback", "about:blank"),
            ("oauth_signature", signature),
        ]);
        collect_params(url(V10_URL).query(), Some(&body), None).unwrap()
    }

    #[test]
    fn v10_edge_case_launch_matches() {
        assert_eq!(
            format!("{}&", percent_encode(V10_SECRET)),
            "s3cr3t~%2B%2F%3D&"
        );
        let request = SignedRequest::parse(
            "POST",
            &url(V10_URL),
            v10_params("PSLVNOR0kgJ4qd1vTeQUCi+2w5Y="),
        )
        .unwrap();
        assert_eq!(
            request.base_string(),
            "POST&https%3A%2F%2Ftool.example.com%2Flti%2Flaunch&context_title%3DIntro%2520%2520to%2520%2520LTI%26course%3DABC%2520101%26custom_expr%3Da%252Bb%253Dc%2520%2526%2520d~e%252Af%2521%26flag%3D%26lis_person_name_full%3DZo%25C3%25AB%2520%25C3%259Cn%25C3%25AFc%25C3%25B8d%25C3%25A9%2520%25E6%25B5%258B%25E8%25AF%2595%26lti_message_type%3Dbasic-lti-launch-request%26lti_version%3DLTI-1p0%26oauth_callback%3Dabout%253Ablank%26oauth_consumer_key%3D12345%26oauth_nonce%3Dn0nce%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1700000000%26oauth_version%3D1.0%26resource_link_id%3Drl-1%26roles%3DInstructor%252Curn%253Alti%253Arole%253Aims%252Flis%252FTeachingAssistant"
        );
        assert_eq!(
            signature(
                SignatureMethod::HmacSha1,
                &request.base_string(),
                V10_SECRET
            ),
            "PSLVNOR0kgJ4qd1vTeQUCi+2w5Y="
        );
        assert_eq!(request.verify_signature(&secret(V10_SECRET)), Ok(()));
    }

    #[test]
    fn v11_migration_signature_packback_matches() {
        // packback's test signs the literal strings "exp" and "nonce", so the public function
        // (whose exp is a number) cannot express it; the HMAC beneath it can.
        assert_eq!(
            migration_mac(&secret("bar"), "foo&deploymentId&iss&clientId&exp&nonce"),
            "1Ze6akG0koOVeizCVBIyQHJ78Eo3vGUXyqOM0iDqS0k="
        );
    }

    const V11_ISS: &str = "https://ltiadvantagevalidator.imsglobal.org";
    const V11_NONCE: &str = "nonce-5e73ef2f4c6ea0.93530902";
    const V11_SIGNATURE: &str = "eUlPLO6aMcbtJ1/xOte0EPJNBzHL32xndzubDrYSS98=";

    #[test]
    fn v11_migration_signature_self_computed_matches() {
        let secret = secret("secret");
        assert_eq!(
            migration_signature(
                &secret,
                "key",
                "testdeploy",
                V11_ISS,
                "imstester_3dfad6d",
                3_272_987_750,
                V11_NONCE
            ),
            V11_SIGNATURE
        );
        assert!(verify_migration_signature(
            &secret,
            "key",
            "testdeploy",
            V11_ISS,
            "imstester_3dfad6d",
            3_272_987_750,
            V11_NONCE,
            V11_SIGNATURE
        ));
    }

    #[test]
    fn migration_signature_wrong_value_or_secret_is_refused() {
        let verify = |secret_value: &str, deployment: &str, exp: i64, signature: &str| {
            verify_migration_signature(
                &secret(secret_value),
                "key",
                deployment,
                V11_ISS,
                "imstester_3dfad6d",
                exp,
                V11_NONCE,
                signature,
            )
        };
        assert!(verify("secret", "testdeploy", 3_272_987_750, V11_SIGNATURE));
        assert!(!verify(
            "secreT",
            "testdeploy",
            3_272_987_750,
            V11_SIGNATURE
        ));
        assert!(!verify(
            "secret",
            "testdeploy2",
            3_272_987_750,
            V11_SIGNATURE
        ));
        assert!(!verify(
            "secret",
            "testdeploy",
            3_272_987_751,
            V11_SIGNATURE
        ));
        assert!(!verify("secret", "testdeploy", 3_272_987_750, ""));
        assert!(!verify(
            "secret",
            "testdeploy",
            3_272_987_750,
            "eUlPLO6aMcbtJ1/xOte0EPJNBzHL32xndzubDrYSS98"
        ));
    }

    // -----------------------------------------------------------------------------------------
    // Refusals, each next to the passing case
    // -----------------------------------------------------------------------------------------

    #[test]
    fn signature_method_plaintext_is_refused() {
        assert!(v05_parse(v05_params()).is_ok());
        let mut params = v05_params();
        set(&mut params, "oauth_signature_method", "PLAINTEXT");
        assert_eq!(
            v05_parse(params).unwrap_err(),
            OAuthError::UnsupportedSignatureMethod("PLAINTEXT".to_owned())
        );
    }

    #[test]
    fn signature_method_rsa_sha1_is_refused() {
        assert!(v05_parse(v05_params()).is_ok());
        let mut params = v05_params();
        set(&mut params, "oauth_signature_method", "RSA-SHA1");
        assert_eq!(
            v05_parse(params).unwrap_err(),
            OAuthError::UnsupportedSignatureMethod("RSA-SHA1".to_owned())
        );
    }

    #[test]
    fn signature_method_names_are_exact() {
        assert_eq!(
            SignatureMethod::parse("HMAC-SHA1"),
            Ok(SignatureMethod::HmacSha1)
        );
        assert_eq!(
            "HMAC-SHA256".parse::<SignatureMethod>(),
            Ok(SignatureMethod::HmacSha256)
        );
        for method in [SignatureMethod::HmacSha1, SignatureMethod::HmacSha256] {
            assert_eq!(SignatureMethod::parse(method.as_str()), Ok(method));
            assert_eq!(method.to_string(), method.as_str());
        }
        assert_eq!(
            SignatureMethod::parse("hmac-sha1"),
            Err(OAuthError::UnsupportedSignatureMethod(
                "hmac-sha1".to_owned()
            ))
        );
        let long = "X".repeat(1000);
        assert_eq!(
            SignatureMethod::parse(&long),
            Err(OAuthError::UnsupportedSignatureMethod("X".repeat(64)))
        );
    }

    #[test]
    fn signature_method_hmac_sha256_request_verifies() {
        let mut params = v05_params();
        set(&mut params, "oauth_signature_method", "HMAC-SHA256");
        let base = base_string("POST", &url(V05_URL), &params);
        set(
            &mut params,
            "oauth_signature",
            &signature(SignatureMethod::HmacSha256, &base, "secret"),
        );
        let request = v05_parse(params).unwrap();
        assert_eq!(request.signature_method(), SignatureMethod::HmacSha256);
        assert_eq!(request.verify_signature(&secret("secret")), Ok(()));
        assert_eq!(
            request.verify_signature(&secret("secreT")),
            Err(OAuthError::BadSignature)
        );
    }

    #[test]
    fn duplicate_oauth_nonce_is_refused() {
        assert!(v05_parse(v05_params()).is_ok());
        let mut params = v05_params();
        params.push(("oauth_nonce".to_owned(), "another".to_owned()));
        assert_eq!(
            v05_parse(params).unwrap_err(),
            OAuthError::DuplicateOAuthParameter("oauth_nonce".to_owned())
        );
    }

    #[test]
    fn duplicate_oauth_parameter_across_body_and_header_is_refused() {
        let body = form(&[("oauth_signature", "k2Y0+/dW5ryPlpcok1qgxosUyD4=")]);
        let header = header(&[("oauth_signature", "forged")]);
        let mut params = without(&v05_params(), "oauth_signature");
        params.extend(collect_params(None, Some(&body), Some(&header)).unwrap());
        assert_eq!(
            v05_parse(params).unwrap_err(),
            OAuthError::DuplicateOAuthParameter("oauth_signature".to_owned())
        );
    }

    #[test]
    fn duplicate_ordinary_parameter_is_kept_and_signed() {
        let request = v04_request("dHORwwJqwh5hQQAlvaA9csSIOhc=");
        assert_eq!(request.verify_signature(&secret("secret")), Ok(()));
        // Dropping one `foo` changes the base string.
        let mut params = request.params().to_vec();
        let at = params.iter().position(|(name, _)| name == "foo").unwrap();
        params.remove(at);
        let fewer = SignedRequest::parse("POST", &url(V04_URL), params).unwrap();
        assert_eq!(
            fewer.verify_signature(&secret("secret")),
            Err(OAuthError::BadSignature)
        );
    }

    #[test]
    fn timestamp_not_a_non_negative_integer_is_refused() {
        for good in ["0", "1517630398", "0001517630398"] {
            let mut params = v05_params();
            set(&mut params, "oauth_timestamp", good);
            assert!(v05_parse(params).is_ok(), "{good:?} should parse");
        }
        for bad in [
            "12.5",
            "-1",
            "abc",
            "",
            "+5",
            " 5",
            "5 ",
            "1e9",
            "99999999999999999999",
        ] {
            let mut params = v05_params();
            set(&mut params, "oauth_timestamp", bad);
            assert_eq!(
                v05_parse(params).unwrap_err(),
                OAuthError::InvalidTimestamp,
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn version_other_than_1_0_is_refused() {
        assert!(v05_parse(v05_params()).is_ok());
        assert!(v05_parse(without(&v05_params(), "oauth_version")).is_ok());
        for bad in ["2.0", "1.0a", "1", ""] {
            let mut params = v05_params();
            set(&mut params, "oauth_version", bad);
            assert_eq!(
                v05_parse(params).unwrap_err(),
                OAuthError::UnsupportedVersion,
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn missing_required_parameter_is_refused() {
        assert!(v05_parse(v05_params()).is_ok());
        for name in REQUIRED {
            assert_eq!(
                v05_parse(without(&v05_params(), name)).unwrap_err(),
                OAuthError::MissingParameter(name)
            );
        }
    }

    #[test]
    fn empty_key_nonce_or_signature_is_refused() {
        for name in ["oauth_consumer_key", "oauth_signature", "oauth_nonce"] {
            let mut params = v05_params();
            set(&mut params, name, "");
            assert_eq!(
                v05_parse(params).unwrap_err(),
                OAuthError::EmptyParameter(name)
            );
        }
        let mut params = v05_params();
        set(&mut params, "oauth_signature_method", "");
        assert_eq!(
            v05_parse(params).unwrap_err(),
            OAuthError::UnsupportedSignatureMethod(String::new())
        );
    }

    #[test]
    fn tampered_parameter_is_bad_signature() {
        let good = v05_parse(v05_params()).unwrap();
        assert_eq!(good.verify_signature(&secret("secret")), Ok(()));
        let tampered = [
            ("resource_link_id", "other-link"),
            ("lis_person_name_full", "d'Artagnan "),
            ("oauth_nonce", "f68bdf5dbed34d7aa6ff18456bf3185f"),
            ("oauth_timestamp", "1517630399"),
            ("oauth_consumer_key", "12346"),
            ("oauth_signature", "k2Y0+/dW5ryPlpcok1qgxosUyD5="),
        ];
        for (name, value) in tampered {
            let mut params = v05_params();
            set(&mut params, name, value);
            assert_eq!(
                v05_parse(params)
                    .unwrap()
                    .verify_signature(&secret("secret")),
                Err(OAuthError::BadSignature),
                "tampering with {name}"
            );
        }
        let mut added = v05_params();
        added.push(("custom_admin".to_owned(), "true".to_owned()));
        assert_eq!(
            v05_parse(added)
                .unwrap()
                .verify_signature(&secret("secret")),
            Err(OAuthError::BadSignature)
        );
    }

    #[test]
    fn tampered_method_or_url_is_bad_signature() {
        let secret = secret("secret");
        assert_eq!(
            SignedRequest::parse("post", &url(V05_URL), v05_params())
                .unwrap()
                .verify_signature(&secret),
            Ok(())
        );
        for (method, target) in [
            ("GET", V05_URL),
            ("POST", "https://localhost/toolconsumer/launch"),
            ("POST", "http://localhost:8080/toolconsumer/launch"),
            ("POST", "http://localhost/toolconsumer/launch/"),
            ("POST", "http://evil.example/toolconsumer/launch"),
        ] {
            assert_eq!(
                SignedRequest::parse(method, &url(target), v05_params())
                    .unwrap()
                    .verify_signature(&secret),
                Err(OAuthError::BadSignature),
                "{method} {target}"
            );
        }
    }

    #[test]
    fn wrong_secret_is_bad_signature() {
        let request = v05_parse(v05_params()).unwrap();
        assert_eq!(request.verify_signature(&secret("secret")), Ok(()));
        for wrong in ["Secret", "secret ", "", "secret&"] {
            assert_eq!(
                request.verify_signature(&secret(wrong)),
                Err(OAuthError::BadSignature),
                "secret {wrong:?}"
            );
        }
    }

    #[test]
    fn signed_request_debug_leaves_out_parameters() {
        let debug = format!("{:?}", v05_parse(v05_params()).unwrap());
        assert!(debug.contains("12345"));
        assert!(!debug.contains("Artagnan"));
    }

    // -----------------------------------------------------------------------------------------
    // Collecting and parsing
    // -----------------------------------------------------------------------------------------

    #[test]
    fn realm_is_excluded_from_header_but_kept_elsewhere() {
        let params = collect_params(
            Some("realm=q"),
            Some(b"realm=b"),
            Some("OAuth realm=\"h\", oauth_nonce=\"n\""),
        )
        .unwrap();
        assert_eq!(
            params,
            owned(&[("realm", "q"), ("realm", "b"), ("oauth_nonce", "n")])
        );
    }

    #[test]
    fn collect_params_keeps_source_order_and_duplicates() {
        let params =
            collect_params(Some("b=1&a=2&b=3"), Some(b"a=4&&c"), Some("OAuth b=\"5\"")).unwrap();
        assert_eq!(
            params,
            owned(&[
                ("b", "1"),
                ("a", "2"),
                ("b", "3"),
                ("a", "4"),
                ("c", ""),
                ("b", "5")
            ])
        );
        assert_eq!(collect_params(None, None, None), Ok(Vec::new()));
        assert_eq!(collect_params(Some(""), Some(b""), None), Ok(Vec::new()));
    }

    #[test]
    fn form_plus_is_space_but_header_plus_is_plus() {
        let params = collect_params(Some("q=a+b%2B"), None, Some("OAuth h=\"a+b%2B\"")).unwrap();
        assert_eq!(params, owned(&[("q", "a b+"), ("h", "a+b+")]));
    }

    #[test]
    fn invalid_percent_encoding_is_refused() {
        assert!(collect_params(Some("a=%41"), None, None).is_ok());
        for query in ["a=%", "a=%4", "a=%zz", "%g1=x", "a=%FF", "a=%C3"] {
            assert_eq!(
                collect_params(Some(query), None, None),
                Err(OAuthError::InvalidEncoding),
                "query {query:?}"
            );
        }
        assert_eq!(
            collect_params(None, Some(b"a=\xff"), None),
            Err(OAuthError::InvalidEncoding)
        );
        assert_eq!(
            parse_authorization_header("OAuth a=\"%zz\""),
            Err(OAuthError::InvalidEncoding)
        );
    }

    #[test]
    fn authorization_header_forms_are_accepted() {
        let expected = owned(&[("a", "1"), ("b c", "x,\"y")]);
        for header in [
            "OAuth a=\"1\", b%20c=\"x%2C%22y\"",
            "oauth a=\"1\",b%20c=\"x%2C%22y\"",
            "OAUTH\ta = \"1\" ,\tb%20c= \"x%2C%22y\" ,",
            "  OAuth , a=\"1\",, b%20c=\"x%2C%22y\"",
            "OAuth realm=\"say \\\"hi\\\", please\", a=\"1\", b%20c=\"x%2C%22y\"",
            "OAuth a=\"\\1\", b%20c=\"x%2C%22y\"",
        ] {
            assert_eq!(
                parse_authorization_header(header),
                Ok(expected.clone()),
                "header {header:?}"
            );
        }
        assert_eq!(parse_authorization_header("OAuth"), Ok(Vec::new()));
        assert_eq!(
            parse_authorization_header("OAuth realm=\"%zz\""),
            Ok(Vec::new())
        );
    }

    #[test]
    fn malformed_authorization_header_is_refused() {
        for header in [
            "",
            "Basic dXNlcjpwYXNz",
            "Bearer abc",
            "OAuthx a=\"1\"",
            "OAuth a=1",
            "OAuth a=\"1",
            "OAuth a",
            "OAuth a=",
            "OAuth =\"1\"",
            "OAuth a=\"1\" b=\"2\"",
            "OAuth a=\"1\"x",
            "OAuth a b=\"1\"",
            "OAuth \"a\"=\"1\"",
            "OAuth a=\"1\nb\"",
            "OAuth a=\"1\\",
        ] {
            assert_eq!(
                parse_authorization_header(header),
                Err(OAuthError::MalformedHeader),
                "header {header:?}"
            );
        }
        // Through collect_params, an OAuth header that does not parse is refused …
        assert_eq!(
            collect_params(None, None, Some("OAuth a=1")),
            Err(OAuthError::MalformedHeader)
        );
        // … and a header of another scheme carries no OAuth parameters.
        assert_eq!(
            collect_params(Some("a=1"), None, Some("Basic dXNlcjpwYXNz")),
            Ok(owned(&[("a", "1")]))
        );
    }

    #[test]
    fn sign_body_request_signs_query_parameters() {
        let target = url("https://lms.example.com/outcomes?course=7&x=a%20b");
        let body = b"<xml/>";
        let header = sign_body_request(&target, "key", &secret("s"), body, 1_700_000_000, "n1");
        let params = collect_params(target.query(), None, Some(&header)).unwrap();
        let request = SignedRequest::parse("POST", &target, params).unwrap();
        assert_eq!(request.verify_signature(&secret("s")), Ok(()));
        assert!(
            request
                .params()
                .iter()
                .any(|(name, value)| name == "oauth_body_hash" && *value == body_hash(body))
        );
        // A receiver that leaves the query out computes another base string.
        let header_only = collect_params(None, None, Some(&header)).unwrap();
        assert_eq!(
            SignedRequest::parse("POST", &target, header_only)
                .unwrap()
                .verify_signature(&secret("s")),
            Err(OAuthError::BadSignature)
        );
    }

    #[test]
    fn fresh_nonce_is_random_hex() {
        let (a, b) = (fresh_nonce(), fresh_nonce());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|byte| byte.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    // -----------------------------------------------------------------------------------------
    // Properties
    // -----------------------------------------------------------------------------------------

    fn params_strategy() -> impl Strategy<Value = Vec<(String, String)>> {
        prop::collection::vec((any::<String>(), any::<String>()), 0..12)
    }

    fn url_strategy() -> impl Strategy<Value = String> {
        (
            prop_oneof![Just("http"), Just("https"), Just("HTTP"), Just("HttpS")],
            "[a-zA-Z][a-zA-Z0-9-]{0,8}(\\.[a-zA-Z]{2,4}){0,2}",
            prop::option::of(any::<u16>()),
            "(/[a-zA-Z0-9%._~!$&'()*+,;=:@ -]{0,6}){0,3}",
            prop::option::of("[a-z0-9=&%+]{0,8}"),
            prop::option::of("[a-z/]{0,5}"),
        )
            .prop_map(|(scheme, host, port, path, query, fragment)| {
                let mut out = format!("{scheme}://{host}");
                if let Some(port) = port {
                    out.push_str(&format!(":{port}"));
                }
                out.push_str(&path);
                if let Some(query) = query {
                    out.push_str(&format!("?{query}"));
                }
                if let Some(fragment) = fragment {
                    out.push_str(&format!("#{fragment}"));
                }
                out
            })
    }

    proptest! {
        #[test]
        fn percent_encode_round_trips_through_decoding(value in any::<String>()) {
            let encoded = percent_encode(&value);
            prop_assert_eq!(percent_decode(encoded.as_bytes(), false), Ok(value.clone()));
            prop_assert_eq!(percent_decode(encoded.as_bytes(), true), Ok(value));
        }

        #[test]
        fn percent_encode_emits_only_unreserved_and_upper_hex(value in any::<String>()) {
            let encoded = percent_encode(&value);
            let bytes = encoded.as_bytes();
            let mut at = 0;
            while at < bytes.len() {
                if bytes[at] == b'%' {
                    prop_assert!(at + 2 < bytes.len(), "truncated escape in {}", encoded);
                    let hex = &bytes[at + 1..at + 3];
                    prop_assert!(
                        hex.iter().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b)),
                        "bad escape in {}", encoded
                    );
                    at += 3;
                } else {
                    prop_assert!(is_unreserved(bytes[at]), "reserved byte in {}", encoded);
                    at += 1;
                }
            }
        }

        #[test]
        fn normalization_ignores_input_order(
            (params, shuffled) in params_strategy()
                .prop_flat_map(|params| (Just(params.clone()), Just(params).prop_shuffle()))
        ) {
            prop_assert_eq!(normalized_parameters(&params), normalized_parameters(&shuffled));
        }

        #[test]
        fn base_string_uri_is_idempotent(input in url_strategy()) {
            let parsed = Url::parse(&input);
            prop_assume!(parsed.is_ok());
            let once = base_string_uri(&parsed.unwrap());
            let twice = base_string_uri(&Url::parse(&once).unwrap());
            prop_assert_eq!(once, twice);
        }

        #[test]
        fn authorization_header_round_trips(
            pairs in prop::collection::vec(
                (any::<String>().prop_filter("named, not realm", |n| !n.is_empty() && n != "realm"),
                 any::<String>()),
                0..8,
            )
        ) {
            let list: Vec<(&str, &str)> =
                pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            prop_assert_eq!(parse_authorization_header(&header(&list)), Ok(pairs));
        }

        #[test]
        fn signed_form_launch_verifies_and_detects_tampering(
            params in prop::collection::vec(("[a-z_]{1,12}", any::<String>()), 0..8),
            secret_value in any::<String>(),
            timestamp in 0_i64..=i64::MAX,
            sha256 in any::<bool>(),
        ) {
            let method = if sha256 { SignatureMethod::HmacSha256 } else { SignatureMethod::HmacSha1 };
            let target = url("https://tool.example.com/lti/launch?from=query");
            let mut all: Vec<(String, String)> =
                params.into_iter().filter(|(n, _)| !n.starts_with("oauth_")).collect();
            all.extend(owned(&[
                ("oauth_consumer_key", "key"),
                ("oauth_nonce", "nonce"),
                ("oauth_signature_method", method.as_str()),
                ("oauth_timestamp", &timestamp.to_string()),
            ]));
            let mut with_query = collect_params(target.query(), None, None).unwrap();
            with_query.extend(all.clone());
            let signed = signature(method, &base_string("POST", &target, &with_query), &secret_value);
            all.push(("oauth_signature".to_owned(), signed));
            let list: Vec<(&str, &str)> = all.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let collected = collect_params(target.query(), Some(&form(&list)), None).unwrap();
            let request = SignedRequest::parse("POST", &target, collected.clone()).unwrap();
            prop_assert_eq!(request.timestamp(), timestamp);
            prop_assert_eq!(request.verify_signature(&secret(&secret_value)), Ok(()));
            let mut tampered = collected;
            tampered.push(("extra".to_owned(), String::new()));
            let request = SignedRequest::parse("POST", &target, tampered).unwrap();
            prop_assert_eq!(
                request.verify_signature(&secret(&secret_value)),
                Err(OAuthError::BadSignature)
            );
        }
    }
}
