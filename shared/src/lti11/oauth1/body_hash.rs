//! `oauth_body_hash`, from the OAuth Request Body Hash extension (draft-eaton-oauth-bodyhash-00).
//!
//! RFC 5849 §3.4.1.3 signs a body only when it is form-encoded; any other body (the Basic
//! Outcomes XML) would go unprotected. The extension closes that gap: the sender hashes the
//! body and sends the hash as one more `oauth_*` protocol parameter, which the ordinary
//! signature then covers like any other.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest as _, Sha1};

/// `oauth_body_hash` for a request body (OAuth Request Body Hash, draft-eaton-oauth-bodyhash-00
/// §3.2): base64 of the SHA-1 of the exact body bytes; an empty body hashes the empty string.
///
/// The draft (§4.1.1) forbids a body hash on form-encoded bodies, whose parameters are signed
/// directly; it is for bodies like the Basic Outcomes XML.
pub fn body_hash(body: &[u8]) -> String {
    STANDARD.encode(Sha1::digest(body))
}
