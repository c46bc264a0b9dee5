//! OAuth 1.0a signatures (RFC 5849 §3.4): the signature base string, HMAC-SHA1 and
//! HMAC-SHA256, checking an incoming request and signing an outgoing one.
//!
//! The base string (§3.4.1) joins the HTTP method, the base string URI (§3.4.1.2) and the
//! normalized parameters (§3.4.1.3.2); the signature is an HMAC of it keyed with the encoded
//! consumer and token secrets (§3.4.2). [`SignedRequest`] checks that a request's protocol
//! parameters (§3.1, §3.3) are present and well formed before the signature is recomputed;
//! [`sign_body_request`] builds the `Authorization` header (§3.5.1) of a Basic Outcomes call
//! and [`sign_form_request`] the `oauth_*` fields of a form the browser posts (§3.5.2).
//! The LTI 1.1 → 1.3 migration signature lives here too: it is an HMAC as well, though over
//! a string of its own rather than an RFC 5849 base string.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha1::Sha1;
use sha2::Sha256;
use url::Url;

use super::body_hash::body_hash;
use super::encoding::percent_encode;
use super::parameters::normalized_parameters;
use super::{OAuthError, clip};
use crate::domain::secret::{ConsumerSecret, constant_time_eq};

/// The OAuth parameters that every signed request must carry, in the order they are checked.
pub(super) const REQUIRED: [&str; 5] = [
    "oauth_consumer_key",
    "oauth_signature",
    "oauth_signature_method",
    "oauth_timestamp",
    "oauth_nonce",
];

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

/// The signature base string (RFC 5849 §3.4.1.1): the upper-cased HTTP method, the encoded
/// [`base_string_uri`] and the encoded [`normalized_parameters`], joined with `&`.
///
/// `url`'s query is **not** read here: the query parameters are request parameters and the
/// caller passes them in `params` (as [`collect_params`] does), so they are never counted
/// twice or forgotten depending on the path a request took.
///
/// [`collect_params`]: super::collect_params
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
pub(super) fn sign_with_token_secret(
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
    ///
    /// [`collect_params`]: super::collect_params
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
// Outgoing requests with a body hash (OAuth Request Body Hash, RFC 5849 §3.5.1)
// ---------------------------------------------------------------------------------------------

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
// Outgoing form posts (RFC 5849 §3.4.1.3.1, §3.5.2)
// ---------------------------------------------------------------------------------------------

/// The OAuth protocol parameters for a form POST of `params` to `url`, signed with HMAC-SHA1
/// (RFC 5849 §3.4.2): what an LTI 1.1 tool adds to a message it sends to the platform through
/// the browser, such as the Content-Item `ContentItemSelection` form.
///
/// The form body is `application/x-www-form-urlencoded`, so its parameters are signed
/// directly (§3.4.1.3.1), together with the query parameters of `url`, which the platform sees
/// as request parameters too. The base string is built from the base string URI of `url`
/// (§3.4.1.2); the browser posts to `url` itself, query included, and the query parameters
/// stay out of the form. `oauth_consumer_key`, `oauth_nonce`,
/// `oauth_signature_method=HMAC-SHA1`, `oauth_timestamp` and `oauth_version=1.0` are added and
/// signed; the caller supplies `timestamp` from its clock and `nonce` from [`fresh_nonce`].
/// `params` must not hold those names nor `oauth_signature`; any other name (an
/// `oauth_callback`, say) is signed like any parameter.
///
/// Returns the six `oauth_*` form fields to post with `params`, `oauth_signature` last. The
/// values are not encoded: the form encodes them.
pub fn sign_form_request(
    url: &Url,
    params: &[(String, String)],
    consumer_key: &str,
    secret: &ConsumerSecret,
    timestamp: i64,
    nonce: &str,
) -> Vec<(String, String)> {
    let mut oauth: Vec<(String, String)> = [
        ("oauth_consumer_key", consumer_key.to_owned()),
        ("oauth_nonce", nonce.to_owned()),
        (
            "oauth_signature_method",
            SignatureMethod::HmacSha1.as_str().to_owned(),
        ),
        ("oauth_timestamp", timestamp.to_string()),
        ("oauth_version", "1.0".to_owned()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    let mut signed: Vec<(String, String)> = url
        .query_pairs()
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    signed.extend_from_slice(params);
    signed.extend_from_slice(&oauth);
    let value = signature(
        SignatureMethod::HmacSha1,
        &base_string("POST", url, &signed),
        secret.expose(),
    );
    oauth.push(("oauth_signature".to_owned(), value));
    oauth
}

// ---------------------------------------------------------------------------------------------
// LTI 1.1 → 1.3 migration (LTI 1.3 Migration Guide)
// ---------------------------------------------------------------------------------------------

/// HMAC-SHA256 keyed with the raw secret over `message`, base64-encoded.
pub(super) fn migration_mac(secret: &ConsumerSecret, message: &str) -> String {
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
