//! Fuzzes the OIDC third-party login initiation parser ([`LoginParams::parse`], Security
//! Framework §5.1.1.1, LTI Core 1.3 §4.1) with parameters a hostile platform or browser could
//! send.
//!
//! The input is split at `&` into pairs and each pair at its first `=` into name and value
//! (no percent-decoding: the parser gets decoded pairs). Checked besides "never panics":
//! * determinism: the same pairs give the same answer;
//! * refusals are only `MissingParameter` or `InvalidParameter`, each naming a parameter the
//!   parser reads (`iss`, `login_hint`, `target_link_uri`, `client_id`, `lti_deployment_id`);
//!   `MissingParameter(name)` only when no pair named `name` has a non-empty value;
//! * an accepted value is the first non-empty value of its parameter, exactly (the issuer,
//!   login hint, client id, deployment id and hints are passed back unchanged), and the
//!   optional ones are present exactly when sent non-empty.

#![no_main]

use libfuzzer_sys::fuzz_target;
use lti_shared::lti13::login::{LoginError, LoginParams};

const READ: [&str; 5] = [
    "iss",
    "login_hint",
    "target_link_uri",
    "client_id",
    "lti_deployment_id",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let pairs: Vec<(&str, &str)> = text
        .split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .collect();
    let first = |name: &str| {
        pairs
            .iter()
            .find(|(n, v)| *n == name && !v.is_empty())
            .map(|(_, v)| *v)
    };

    let result = LoginParams::parse(pairs.iter().copied());
    match &result {
        Ok(params) => {
            assert_eq!(Some(params.issuer.as_str()), first("iss"));
            assert_eq!(Some(params.login_hint.as_str()), first("login_hint"));
            assert!(first("target_link_uri").is_some());
            assert_eq!(
                params.client_id.as_ref().map(|c| c.as_str()),
                first("client_id")
            );
            assert_eq!(
                params.deployment_id.as_ref().map(|d| d.as_str()),
                first("lti_deployment_id")
            );
            assert_eq!(params.message_hint.as_deref(), first("lti_message_hint"));
            assert_eq!(params.storage_target.as_deref(), first("lti_storage_target"));
            // The serialized target link URI parses back to itself.
            assert_eq!(
                url::Url::parse(params.target_link_uri.as_str())
                    .map(|u| u.to_string())
                    .as_deref(),
                Ok(params.target_link_uri.as_str())
            );
        }
        Err(LoginError::MissingParameter(name)) => {
            assert!(READ[..3].contains(name), "{name}");
            assert_eq!(first(name), None);
        }
        Err(LoginError::InvalidParameter { name, .. }) => {
            assert!(READ.contains(name), "{name}");
            assert!(first(name).is_some());
        }
        Err(other) => panic!("unexpected refusal: {other:?}"),
    }
    let again = LoginParams::parse(pairs.iter().copied());
    assert_eq!(format!("{result:?}"), format!("{again:?}"));
});
