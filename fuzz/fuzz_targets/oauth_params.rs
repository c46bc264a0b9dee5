//! Fuzzes OAuth 1.0a parameter collection (RFC 5849 §3.4.1.3.1) and `Authorization: OAuth`
//! header parsing (§3.5.1) with request parts a hostile platform could send.
//!
//! The input is split at the first two NUL bytes into a query string, a form body and an
//! `Authorization` header. Besides "never panics", it checks that what the parsers return
//! survives a round trip through the encoders (§3.6), so a decoded value can always be
//! re-signed exactly.

#![no_main]

use libfuzzer_sys::fuzz_target;
use lti_shared::lti11::oauth1::{
    SignedRequest, base_string, collect_params, normalized_parameters, parse_authorization_header,
    percent_encode,
};
use lti_shared::domain::secret::ConsumerSecret;

fn header(pairs: &[(String, String)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .map(|(name, value)| format!("{}=\"{}\"", percent_encode(name), percent_encode(value)))
        .collect();
    format!("OAuth {}", parts.join(", "))
}

fn query(pairs: &[(String, String)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .map(|(name, value)| format!("{}={}", percent_encode(name), percent_encode(value)))
        .collect();
    parts.join("&")
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&byte| byte == 0);
    let query_part = parts.next().and_then(|part| std::str::from_utf8(part).ok());
    let body_part = parts.next();
    let header_part = parts.next().and_then(|part| std::str::from_utf8(part).ok());

    if let Some(value) = header_part
        && let Ok(pairs) = parse_authorization_header(value)
    {
        assert!(pairs.iter().all(|(name, _)| name != "realm"));
        assert_eq!(parse_authorization_header(&header(&pairs)), Ok(pairs));
    }

    let Ok(params) = collect_params(query_part, body_part, header_part) else {
        return;
    };
    // Re-encoded as a query string, the parameters parse back to themselves.
    assert_eq!(
        collect_params(Some(&query(&params)), None, None),
        Ok(params.clone())
    );
    let normalized = normalized_parameters(&params);
    assert!(
        normalized
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-._~%=&".contains(&byte))
    );
    let Ok(url) = url::Url::parse("https://tool.example.com/lti/launch") else {
        return;
    };
    let _ = base_string("POST", &url, &params);
    if let Ok(request) = SignedRequest::parse("POST", &url, params) {
        assert!(request.timestamp() >= 0);
        let _ = request.verify_signature(&ConsumerSecret::new("fuzz-secret"));
    }
});
