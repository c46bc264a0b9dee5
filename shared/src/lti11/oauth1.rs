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
//!   Basic Outcomes POX call, with `oauth_body_hash`; [`sign_form_request`] signs the form
//!   fields of a message the browser posts to the platform (Content-Item `ContentItemSelection`);
//! * the building blocks, each after its RFC section: [`percent_encode`] (§3.6),
//!   [`base_string_uri`] (§3.4.1.2), [`normalized_parameters`] (§3.4.1.3.2), [`base_string`]
//!   (§3.4.1.1), [`signature`](fn@signature) (§3.4.2);
//! * [`migration_signature`], the `oauth_consumer_key_sign` a platform sends with the LTI 1.1
//!   legacy claim of an LTI 1.3 launch so a tool can tie the new deployment to an old consumer.
//!
//! Only HMAC-SHA1 and HMAC-SHA256 are accepted. `PLAINTEXT` sends the secret itself and LTI
//! does not use `RSA-SHA1`; both are refused rather than silently treated as something else.
//!
//! The code sits in private submodules, one per concern, and every public item is re-exported
//! here: `encoding` (§3.6), `parameters` (§3.4.1.3, §3.5.1), `signature` (§3.4, the outgoing
//! Basic Outcomes header and the migration signature) and `body_hash`. They depend on each
//! other in one direction only, `encoding` ← `parameters` ← `signature` → `body_hash`; this
//! module holds what they all share, [`OAuthError`].

mod body_hash;
mod encoding;
mod parameters;
mod signature;
#[cfg(test)]
mod tests;

pub use body_hash::body_hash;
pub use encoding::percent_encode;
pub use parameters::{collect_params, normalized_parameters, parse_authorization_header};
pub use signature::{
    SignatureMethod, SignedRequest, base_string, base_string_uri, fresh_nonce, migration_signature,
    sign_body_request, sign_form_request, signature, verify_migration_signature,
};

/// How many characters of a value sent by the peer an error keeps, so a hostile request
/// cannot fill a log line.
const ERROR_VALUE_MAX: usize = 64;

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
