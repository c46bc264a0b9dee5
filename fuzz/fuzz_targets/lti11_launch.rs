//! Fuzzes an LTI 1.1 launch form as the launch endpoint reads it (LTI 1.1 §4, OAuth 1.0a
//! RFC 5849): the form body through [`collect_params`], the LTI 1.3/1.1 dispatch
//! [`is_lti11_launch`], and the OAuth checks of [`SignedRequest::parse`] and
//! [`SignedRequest::verify_signature`].
//!
//! The whole input is the `application/x-www-form-urlencoded` body (no query, no
//! `Authorization` header; `oauth_params` fuzzes those). Checked besides "never panics":
//! * determinism of every step;
//! * a body that does not collect is refused only as `InvalidEncoding`;
//! * `is_lti11_launch` is true exactly when a parameter is named `oauth_signature` or
//!   `lti_message_type`;
//! * `SignedRequest::parse` refuses only with its documented variants
//!   (`DuplicateOAuthParameter`, `UnsupportedVersion`, `MissingParameter`, `EmptyParameter`,
//!   `UnsupportedSignatureMethod`, `InvalidTimestamp`), and `DuplicateOAuthParameter` exactly
//!   when an `oauth_*` name repeats;
//! * an accepted request keeps every parameter in order, its consumer key, nonce, signature
//!   method and timestamp are the form's (non-empty, method HMAC-SHA1/HMAC-SHA256,
//!   timestamp ≥ 0), and a fuzzed signature never verifies against an unrelated secret
//!   unless it is the signature computed for that secret.

#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use lti_shared::domain::secret::ConsumerSecret;
use lti_shared::lti11::launch::is_lti11_launch;
use lti_shared::lti11::oauth1::{OAuthError, SignedRequest, collect_params, signature};

fn lookup<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fuzz_target!(|data: &[u8]| {
    let result = collect_params(None, Some(data), None);
    assert_eq!(result, collect_params(None, Some(data), None));
    let params = match result {
        Ok(params) => params,
        Err(OAuthError::InvalidEncoding) => return,
        Err(other) => panic!("a form body refused as {other:?}"),
    };

    let lti11 = is_lti11_launch(&params);
    assert_eq!(
        lti11,
        params
            .iter()
            .any(|(n, _)| n == "oauth_signature" || n == "lti_message_type")
    );

    let url = url::Url::parse("https://tool.example.com/lti/launch").expect("url");
    let mut seen = HashSet::new();
    let duplicate = params
        .iter()
        .filter(|(n, _)| n.starts_with("oauth_"))
        .any(|(n, _)| !seen.insert(n.as_str()));

    let parsed = SignedRequest::parse("POST", &url, params.clone());
    let again = SignedRequest::parse("POST", &url, params.clone());
    assert_eq!(format!("{parsed:?}"), format!("{again:?}"));
    match parsed {
        Ok(request) => {
            assert!(!duplicate);
            assert!(lti11, "a signed request without oauth_signature");
            assert_eq!(request.params(), params.as_slice());
            assert_eq!(Some(request.consumer_key()), lookup(&params, "oauth_consumer_key"));
            assert_eq!(Some(request.nonce()), lookup(&params, "oauth_nonce"));
            assert!(!request.consumer_key().is_empty() && !request.nonce().is_empty());
            assert_eq!(
                Some(request.signature_method().as_str()),
                lookup(&params, "oauth_signature_method")
            );
            assert!(request.timestamp() >= 0);
            assert_eq!(
                lookup(&params, "oauth_timestamp").map(str::parse::<i64>),
                Some(Ok(request.timestamp()))
            );
            let secret = "fuzz-secret";
            let verified = request.verify_signature(&ConsumerSecret::new(secret));
            assert_eq!(
                format!("{verified:?}"),
                format!("{:?}", request.verify_signature(&ConsumerSecret::new(secret)))
            );
            if verified.is_ok() {
                let expected = signature(request.signature_method(), &request.base_string(), secret);
                assert_eq!(lookup(&params, "oauth_signature"), Some(expected.as_str()));
            }
        }
        Err(OAuthError::DuplicateOAuthParameter(_)) => assert!(duplicate),
        Err(
            OAuthError::UnsupportedVersion
            | OAuthError::MissingParameter(_)
            | OAuthError::EmptyParameter(_)
            | OAuthError::UnsupportedSignatureMethod(_)
            | OAuthError::InvalidTimestamp,
        ) => assert!(!duplicate),
        Err(other) => panic!("undocumented refusal: {other:?}"),
    }
});
