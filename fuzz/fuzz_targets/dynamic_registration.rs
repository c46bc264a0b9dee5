//! Fuzzes the LTI Dynamic Registration parsers (LTI DR 1.0 §3.4, §3.6) with documents a
//! hostile platform could serve: the OpenID configuration ([`check_configuration`]) and the
//! registration endpoint's answer ([`parse_registration_response`]).
//!
//! The first byte picks the parser (bit 0), whether `http://` loopback URLs are allowed
//! (bit 1) and which configuration URL the document claims to come from (bits 2-3); the rest
//! is the body. Checked besides "never panics":
//! * determinism: the same body gives the same answer;
//! * refusals are the documented variants: `ConfigurationInvalid`, `MissingField`,
//!   `UnusableUrl` or `IssuerMismatch` for a configuration, `ResponseInvalid` for an answer;
//! * an accepted configuration respects the URL policy (every endpoint `https://` with a host,
//!   or `http://` loopback only when allowed; no credentials), its issuer has no query or
//!   fragment and matches the configuration URL (`issuer_matches`), and the platform's text
//!   (product family, version, display name) is free of control characters, the display name
//!   at most 200 characters;
//! * an accepted registration answer has a client id (and deployment id, when any) that is
//!   non-empty, free of control characters and parses again as itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use lti_shared::domain::ids::{ClientId, DeploymentId};
use lti_shared::lti13::dynamic_registration::{
    RegistrationError, UrlPolicy, check_configuration, issuer_matches,
    parse_registration_response,
};
use url::Url;

const CONFIGURATION_URLS: [&str; 4] = [
    "https://lms.example/.well-known/openid-configuration",
    "https://lms.example/moodle/mod/lti/openid-configuration.php",
    "https://canvas.example:8443/api/lti/security/openid-configuration",
    "http://localhost:8080/openid-configuration",
];

fn allowed(url: &Url, policy: UrlPolicy) {
    assert!(url.username().is_empty() && url.password().is_none(), "{url}");
    match url.scheme() {
        "https" => assert!(url.host().is_some(), "{url}"),
        "http" => {
            assert!(policy.allow_http_loopback, "{url}");
            assert!(
                matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")),
                "{url}"
            );
        }
        other => panic!("scheme {other} accepted: {url}"),
    }
}

fn clean(text: &str) {
    assert!(!text.chars().any(char::is_control), "{text:?}");
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let policy = UrlPolicy {
        allow_http_loopback: selector & 2 != 0,
    };
    if selector & 1 == 0 {
        let configuration_url =
            Url::parse(CONFIGURATION_URLS[usize::from((selector >> 2) & 3)]).expect("url");
        let result = check_configuration(&configuration_url, body, policy);
        let again = check_configuration(&configuration_url, body, policy);
        assert_eq!(format!("{result:?}"), format!("{again:?}"));
        match result {
            Ok(configuration) => {
                let issuer = Url::parse(configuration.issuer.as_str()).expect("issuer is a URL");
                allowed(&issuer, policy);
                assert!(issuer.query().is_none() && issuer.fragment().is_none());
                assert!(issuer_matches(&issuer, &configuration_url));
                for url in [
                    &configuration.auth_url,
                    &configuration.token_url,
                    &configuration.jwks_url,
                    &configuration.registration_url,
                ] {
                    allowed(url, policy);
                }
                clean(&configuration.product_family_code);
                if let Some(version) = &configuration.version {
                    clean(version);
                }
                clean(&configuration.display_name);
                assert!(configuration.display_name.chars().count() <= 200);
                let _ = configuration.scopes_to_request();
                let _ = configuration.token_audience();
            }
            Err(
                RegistrationError::ConfigurationInvalid(_)
                | RegistrationError::MissingField(_)
                | RegistrationError::UnusableUrl { .. }
                | RegistrationError::IssuerMismatch { .. },
            ) => {}
            Err(other) => panic!("undocumented refusal of a configuration: {other:?}"),
        }
    } else {
        let result = parse_registration_response(body);
        assert_eq!(result.as_ref().ok(), parse_registration_response(body).as_ref().ok());
        match result {
            Ok(client) => {
                let id = client.client_id.as_str();
                assert!(!id.is_empty());
                clean(id);
                assert_eq!(ClientId::parse(id).ok().as_ref(), Some(&client.client_id));
                if let Some(deployment) = &client.deployment_id {
                    let id = deployment.as_str();
                    assert!(!id.is_empty());
                    clean(id);
                    assert_eq!(DeploymentId::parse(id).ok().as_ref(), Some(deployment));
                }
            }
            Err(RegistrationError::ResponseInvalid(_)) => {}
            Err(other) => panic!("undocumented refusal of an answer: {other:?}"),
        }
    }
});
