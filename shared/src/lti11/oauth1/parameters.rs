//! The request parameters that an OAuth 1.0a signature covers (RFC 5849 §3.4.1.3).
//!
//! Section 3.4.1.3.1 lists where they come from: the query string, a form-encoded body and
//! the `Authorization: OAuth` header (whose syntax is §3.5.1; its `realm` is not signed).
//! Section 3.4.1.3.2 turns them into one normalized string: encode every name and value
//! (§3.6), sort, and join. Names and values are kept in order and with repeats; deciding
//! which repeats are allowed is left to the signature check.

use super::OAuthError;
use super::encoding::{percent_decode, percent_encode};

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
///
/// [`SignedRequest::parse`]: super::SignedRequest::parse
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
