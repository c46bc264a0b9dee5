//! Percent encoding for OAuth 1.0a (RFC 5849 §3.6) and the decoding of what peers send.
//!
//! Every name and value that goes into a signature is encoded one way only: its UTF-8 bytes,
//! with the RFC 3986 unreserved characters kept and every other byte written `%XX` in
//! upper-case hex, so two parties that agree on the parameters agree on the bytes they sign.
//! Decoding is the reverse, plus the form rule (`+` for a space) that query strings and form
//! bodies follow (RFC 5849 §3.4.1.3.1); it refuses any input it cannot decode exactly.

use super::OAuthError;

const UPPER_HEX: &[u8; 16] = b"0123456789ABCDEF";

/// The characters RFC 5849 §3.6 (after RFC 3986 §2.3) leaves as they are.
pub(super) fn is_unreserved(byte: u8) -> bool {
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
pub(super) fn percent_decode(input: &[u8], plus_is_space: bool) -> Result<String, OAuthError> {
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
