//! The `lti_session` token: how a verified launch is handed to the activity.
//!
//! A short-lived JWT signed with the tool's current key (its `kid` is in the tool's JWKS), bound
//! to the activity's origin (`aud`), naming the platform, deployment, user, resource link,
//! context, attempt and normalized roles. The activity (and, later, the score API) accepts it as
//! proof of the launch; it carries no personal data beyond the platform's opaque ids.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::domain::ids::{AttemptId, ContextId, DeploymentId, ResourceLinkId, UserId};
use crate::domain::keys::{KeyError, KeySet};
use crate::domain::model::PlatformScope;
use crate::domain::platform_key::PlatformKey;
use crate::domain::roles::Roles;

/// How long a session token is accepted.
pub const SESSION_LIFETIME: Duration = Duration::hours(2);

/// Why a session token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SessionError {
    /// Not a compact JWS with JSON parts.
    #[error("the session token is malformed")]
    Malformed,
    /// Not RS256, or no `kid`.
    #[error("the session token's header is not acceptable")]
    BadHeader,
    /// No published key of the tool has the token's `kid`.
    #[error("the session token's key is unknown")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the session token's signature does not verify")]
    BadSignature,
    /// Another issuer or audience.
    #[error("the session token is for another tool or activity")]
    WrongAudience,
    /// Expired.
    #[error("the session has expired")]
    Expired,
    /// An LTI 1.3 session that does not name its deployment in the platform scope (minted
    /// before records were scoped per deployment), or names two different deployments.
    #[error("the session does not name its deployment; launch the activity again")]
    NoDeployment,
}

/// The claims of an `lti_session` token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    /// The tool's origin.
    pub iss: String,
    /// The activity's origin.
    pub aud: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// Unique id of this token.
    pub jti: String,
    /// The platform scope every record the session reaches is keyed by: for LTI 1.3 the
    /// registration **and** deployment (checked by [`verify`]), so the score API and the
    /// course views never reach another deployment's records.
    pub platform: PlatformScope,
    /// The LTI 1.3 deployment (none for LTI 1.1); equal to the one in `platform`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<DeploymentId>,
    /// The user, absent for anonymous launches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// The resource link.
    pub resource_link_id: ResourceLinkId,
    /// The context, when the platform sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_id: Option<ContextId>,
    /// The attempt, absent for anonymous launches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt_id: Option<AttemptId>,
    /// Normalized roles.
    pub roles: Roles,
}

/// Signs `claims` with the current key of `keys` (JWS compact serialization, RFC 7515 §7.1).
pub fn issue(keys: &KeySet, claims: &SessionClaims) -> Result<String, KeyError> {
    keys.sign_jwt(claims)
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: String,
}

/// Verifies a session token against the tool's published keys, for `issuer` and `audience`.
pub fn verify(
    token: &str,
    keys: &KeySet,
    issuer: &str,
    audience: &str,
    now: OffsetDateTime,
) -> Result<SessionClaims, SessionError> {
    verify_inner(token, keys, issuer, Some(audience), now)
}

/// Verifies a session token presented to the tool's own APIs and pages (the score API, the
/// course views): signed by the tool, issued by `issuer` (the tool's origin), unexpired, for
/// whichever activity the tool handed it to (its `aud`). The activity calls these on the
/// launch's behalf, so the token's audience is the caller, not the API.
pub fn verify_for_tool(
    token: &str,
    keys: &KeySet,
    issuer: &str,
    now: OffsetDateTime,
) -> Result<SessionClaims, SessionError> {
    verify_inner(token, keys, issuer, None, now)
}

fn verify_inner(
    token: &str,
    keys: &KeySet,
    issuer: &str,
    audience: Option<&str>,
    now: OffsetDateTime,
) -> Result<SessionClaims, SessionError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SessionError::Malformed);
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| SessionError::Malformed)
    };
    let header: Header =
        serde_json::from_slice(&decode(h)?).map_err(|_| SessionError::BadHeader)?;
    if header.alg != "RS256" {
        return Err(SessionError::BadHeader);
    }
    let published = keys.public_jwks(now);
    let jwk = published
        .keys
        .iter()
        .find(|k| k.kid.as_str() == header.kid)
        .ok_or(SessionError::UnknownKey)?;
    let key = PlatformKey::from_components(jwk.kid.as_str(), &jwk.n, &jwk.e)
        .ok_or(SessionError::UnknownKey)?;
    let signing_input = &token[..h.len() + 1 + p.len()];
    if !key.verify_rs256(signing_input.as_bytes(), &decode(s)?) {
        return Err(SessionError::BadSignature);
    }
    let claims: SessionClaims =
        serde_json::from_slice(&decode(p)?).map_err(|_| SessionError::Malformed)?;
    if claims.iss != issuer || audience.is_some_and(|aud| claims.aud != aud) {
        return Err(SessionError::WrongAudience);
    }
    if claims.exp <= now.unix_timestamp() {
        return Err(SessionError::Expired);
    }
    if let PlatformScope::Lti13 { deployment_id, .. } = &claims.platform
        && (deployment_id.is_none() || *deployment_id != claims.deployment_id)
    {
        return Err(SessionError::NoDeployment);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);

    fn claims() -> SessionClaims {
        SessionClaims {
            iss: "https://tool.example".into(),
            aud: "https://tool.example".into(),
            iat: NOW.unix_timestamp(),
            exp: (NOW + SESSION_LIFETIME).unix_timestamp(),
            jti: "j".into(),
            platform: PlatformScope::Lti11 {
                consumer_key: crate::domain::ids::ConsumerKey::parse("k").unwrap(),
            },
            deployment_id: Some(DeploymentId::parse("d").unwrap()),
            user_id: Some(UserId::parse("u").unwrap()),
            resource_link_id: ResourceLinkId::parse("r").unwrap(),
            context_id: None,
            attempt_id: Some(AttemptId::parse("000001").unwrap()),
            roles: Roles::default(),
        }
    }

    fn keys() -> KeySet {
        let mut keys = KeySet::default();
        keys.init(NOW).unwrap();
        keys
    }

    #[test]
    fn verify_issued_token_round_trips() {
        let keys = keys();
        let token = issue(&keys, &claims()).unwrap();
        let back = verify(
            &token,
            &keys,
            "https://tool.example",
            "https://tool.example",
            NOW,
        );
        assert_eq!(back, Ok(claims()));
    }

    #[test]
    fn verify_tampered_payload_is_bad_signature() {
        let keys = keys();
        let token = issue(&keys, &claims()).unwrap();
        let mut other = claims();
        other.user_id = Some(UserId::parse("someone-else").unwrap());
        let forged = issue(&keys, &other).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let forged_parts: Vec<&str> = forged.split('.').collect();
        let spliced = format!("{}.{}.{}", parts[0], forged_parts[1], parts[2]);
        assert_eq!(
            verify(
                &spliced,
                &keys,
                "https://tool.example",
                "https://tool.example",
                NOW
            ),
            Err(SessionError::BadSignature)
        );
    }

    #[test]
    fn verify_expired_token_is_refused() {
        let keys = keys();
        let token = issue(&keys, &claims()).unwrap();
        let later = NOW + SESSION_LIFETIME;
        assert_eq!(
            verify(
                &token,
                &keys,
                "https://tool.example",
                "https://tool.example",
                later
            ),
            Err(SessionError::Expired)
        );
    }

    #[test]
    fn verify_other_audience_is_refused() {
        let keys = keys();
        let token = issue(&keys, &claims()).unwrap();
        assert_eq!(
            verify(
                &token,
                &keys,
                "https://tool.example",
                "https://other.example",
                NOW
            ),
            Err(SessionError::WrongAudience)
        );
    }

    fn lti13_claims(scope_deployment: Option<&str>, deployment: Option<&str>) -> SessionClaims {
        SessionClaims {
            platform: PlatformScope::Lti13 {
                issuer: crate::domain::ids::Issuer::parse("https://lms.example").unwrap(),
                client_id: crate::domain::ids::ClientId::parse("c").unwrap(),
                deployment_id: scope_deployment.map(|d| DeploymentId::parse(d).unwrap()),
            },
            deployment_id: deployment.map(|d| DeploymentId::parse(d).unwrap()),
            ..claims()
        }
    }

    #[test]
    fn verify_lti13_session_with_its_deployment_round_trips() {
        let keys = keys();
        let good = lti13_claims(Some("dep-2"), Some("dep-2"));
        let token = issue(&keys, &good).unwrap();
        let back = verify_for_tool(&token, &keys, "https://tool.example", NOW);
        assert_eq!(back, Ok(good));
    }

    #[test]
    fn verify_lti13_session_without_or_with_another_deployment_is_refused() {
        let keys = keys();
        for bad in [
            // Minted before records were scoped per deployment.
            lti13_claims(None, Some("dep-2")),
            lti13_claims(None, None),
            // The scope names dep-1, the deployment claim dep-2.
            lti13_claims(Some("dep-1"), Some("dep-2")),
        ] {
            let token = issue(&keys, &bad).unwrap();
            assert_eq!(
                verify_for_tool(&token, &keys, "https://tool.example", NOW),
                Err(SessionError::NoDeployment),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn verify_key_of_another_tool_is_unknown() {
        let token = issue(&keys(), &claims()).unwrap();
        assert_eq!(
            verify(
                &token,
                &keys(),
                "https://tool.example",
                "https://tool.example",
                NOW
            ),
            Err(SessionError::UnknownKey)
        );
    }
}
