//! Assignment and Grade Services 2.0 and Names and Role Provisioning Services 2.0 on the wire:
//! scopes, media types, the client assertion (Security Framework §4.1.1), the score body
//! (AGS 2.0 §3.4), the scores URL, `Link` and `Retry-After` parsing, membership members
//! (NRPS 2.0 §3.6), and the errors a call can end in. The client that sends them is
//! [`crate::adapters::ags_client`].

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

use crate::domain::ids::UserId;
use crate::domain::keys::{KeyError, KeySet};
use crate::domain::model::Registration;
use crate::domain::score::{ActivityProgress, GradingProgress, Score, ags_timestamp};
use crate::ports::ServiceError;

/// Scope: create and manage line items (AGS 2.0 §3.1).
pub const SCOPE_LINEITEM: &str = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem";
/// Scope: read line items.
pub const SCOPE_LINEITEM_READONLY: &str =
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly";
/// Scope: read results.
pub const SCOPE_RESULT_READONLY: &str =
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly";
/// Scope: post scores.
pub const SCOPE_SCORE: &str = "https://purl.imsglobal.org/spec/lti-ags/scope/score";
/// Scope: read the context's membership (Names and Role Provisioning Services 2.0 §3).
pub const SCOPE_NRPS: &str =
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly";
pub(crate) const MEMBERSHIP_MEDIA_TYPE: &str =
    "application/vnd.ims.lti-nrps.v2.membershipcontainer+json";

/// The `User-Agent` of every request the tool makes to a platform.
pub const USER_AGENT: &str = concat!("lti-tool/", env!("CARGO_PKG_VERSION"));
/// How long one request to a platform may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client assertion is valid (Security Framework §4.1.1 wants it short).
pub const ASSERTION_LIFETIME: time::Duration = time::Duration::minutes(5);
/// A cached token is dropped this long before the platform says it expires.
pub const TOKEN_EXPIRY_MARGIN: time::Duration = time::Duration::seconds(60);
/// The most line item pages followed while searching.
pub const MAX_PAGES: usize = 50;
/// The largest answer read from a platform.
pub const MAX_RESPONSE_BYTES: usize = 2 * 1024 * 1024;

pub(crate) const SCORE_MEDIA_TYPE: &str = "application/vnd.ims.lis.v1.score+json";
pub(crate) const LINEITEM_MEDIA_TYPE: &str = "application/vnd.ims.lis.v2.lineitem+json";
pub(crate) const CONTAINER_MEDIA_TYPE: &str = "application/vnd.ims.lis.v2.lineitemcontainer+json";

/// Why a call to the platform failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AgsError {
    /// The platform answered with an error status. The message says what the status means
    /// in plain words; the platform's own error body (`detail`) is logged where it arrives and
    /// never shown, because learners (`GET /outcomes/{id}`) and staff (the views) see this
    /// message and a platform's body is not the tool's to show.
    #[error("the platform answered HTTP {status} to {what}{}", http_reason(*status))]
    Http {
        /// What was asked (e.g. "the score").
        what: &'static str,
        /// The HTTP status.
        status: u16,
        /// The platform's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
        /// The start of the platform's error body, when it sent one (for the log only).
        detail: Option<String>,
    },
    /// The platform could not be reached (connection refused, DNS, TLS, timeout).
    #[error("could not reach the platform for {what} ({detail}); it will be retried")]
    Transport {
        /// What was asked.
        what: &'static str,
        /// The cause.
        detail: String,
    },
    /// The launch did not grant a scope the operation needs.
    #[error("the platform did not grant the {0} scope for this resource link")]
    MissingScope(&'static str),
    /// There is no line item and none may be created.
    #[error(
        "the launch named no line item and did not grant the lineitem scope to find or create \
         one; ask the platform administrator to enable grade passback for the tool"
    )]
    NoLineItem,
    /// A URL from the platform is not usable.
    #[error("the platform's {0} is not a usable http(s) URL")]
    BadUrl(&'static str),
    /// The platform's answer could not be read.
    #[error("the platform's answer to {what} could not be read: {detail}")]
    Malformed {
        /// What was asked.
        what: &'static str,
        /// Why.
        detail: String,
    },
    /// The tool has no signing key.
    #[error("the tool has no current signing key; run `ltictl keys init`")]
    NoKey,
}

/// What an error status from a platform's AGS or NRPS endpoint means, in words an instructor
/// can act on (AGS 2.0 §3.4, RFC 9110 §15).
fn http_reason(status: u16) -> &'static str {
    match status {
        400 => ": it refused the request as invalid",
        401 | 403 => {
            ": it refused the tool's credentials; ask the LMS administrator to check the tool's \
             registration (client id and key set URL)"
        }
        404 | 410 => ": it no longer has this grade column or course",
        409 => ": it already had a score with this timestamp",
        422 => ": it refused the grade; the learner may no longer be enrolled",
        429 => ": it asked the tool to slow down; the grade will be sent again later",
        500..=599 => ": the platform had an internal error; the grade will be sent again later",
        _ => "",
    }
}

impl AgsError {
    /// Whether trying again later can succeed: transport failures, 408, 429 and 5xx (and a
    /// 401 that survived one token refresh, as the platform may be mid-rotation).
    pub fn is_retryable(&self) -> bool {
        match self {
            AgsError::Transport { .. } => true,
            AgsError::Http { status, .. } => {
                matches!(status, 401 | 408 | 425 | 429) || *status >= 500
            }
            _ => false,
        }
    }

    /// The delay the platform asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            AgsError::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The HTTP status, when the platform answered.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            AgsError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl From<AgsError> for ServiceError {
    fn from(error: AgsError) -> Self {
        Self {
            message: error.to_string(),
            status: error.http_status(),
            retry_after: error.retry_after(),
            retryable: error.is_retryable(),
        }
    }
}

impl From<KeyError> for AgsError {
    fn from(_: KeyError) -> Self {
        AgsError::NoKey
    }
}

/// The claims of a client assertion (Security Framework §4.1.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssertionClaims {
    /// The client id.
    pub iss: String,
    /// The client id.
    pub sub: String,
    /// The token endpoint (or the platform's declared audience).
    pub aud: String,
    /// Issued at.
    pub iat: i64,
    /// Expires at.
    pub exp: i64,
    /// Unique id, so the platform can refuse a replay.
    pub jti: String,
}

/// Builds the client assertion for `registration` at `now`.
pub fn client_assertion(
    keys: &KeySet,
    registration: &Registration,
    now: OffsetDateTime,
) -> Result<String, KeyError> {
    let aud = registration
        .options
        .token_audience
        .clone()
        .unwrap_or_else(|| registration.token_url.to_string());
    keys.sign_jwt(&AssertionClaims {
        iss: registration.client_id.to_string(),
        sub: registration.client_id.to_string(),
        aud,
        iat: now.unix_timestamp(),
        exp: (now + ASSERTION_LIFETIME).unix_timestamp(),
        jti: uuid::Uuid::new_v4().to_string(),
    })
}

/// The scores endpoint of a line item: `/scores` appended to the path, before any query
/// string (AGS 2.0 §3.4; Moodle's line items look like `…/lineitem?type_id=3`).
pub fn scores_url(lineitem: &str) -> Result<Url, AgsError> {
    let mut url = Url::parse(lineitem).map_err(|_| AgsError::BadUrl("line item URL"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(AgsError::BadUrl("line item URL"));
    }
    let path = format!("{}/scores", url.path().trim_end_matches('/'));
    url.set_path(&path);
    Ok(url)
}

/// The `rel="next"` target of a `Link` header (RFC 8288), if any.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|link| {
        let (target, params) = link.trim().split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        params
            .split(';')
            .filter_map(|p| p.trim().split_once('='))
            .any(|(name, value)| {
                name.trim().eq_ignore_ascii_case("rel")
                    && value
                        .trim()
                        .trim_matches('"')
                        .split_ascii_whitespace()
                        .any(|rel| rel.eq_ignore_ascii_case("next"))
            })
            .then(|| target.to_owned())
    })
}

/// Reads `Retry-After`: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
pub fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The JSON score body (AGS 2.0 §3.4).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ScoreBody<'a> {
    user_id: &'a str,
    score_given: f64,
    score_maximum: f64,
    activity_progress: ActivityProgress,
    grading_progress: GradingProgress,
    timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<&'a str>,
}

/// The body of a score post for `user` (public for tests and the benchmark).
pub fn score_body(user: &UserId, score: &Score) -> serde_json::Value {
    serde_json::to_value(ScoreBody {
        user_id: user.as_str(),
        score_given: score.given,
        score_maximum: score.maximum,
        activity_progress: score.activity_progress,
        grading_progress: score.grading_progress,
        timestamp: ags_timestamp(score.timestamp),
        comment: score.comment.as_deref(),
    })
    .unwrap_or_default()
}

#[derive(Debug, Deserialize)]
pub(crate) struct TokenAnswer {
    pub(crate) access_token: String,
    #[serde(default)]
    pub(crate) expires_in: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LineItemAnswer {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) resource_link_id: Option<String>,
}

/// One member of a context as the platform's membership service describes them (NRPS 2.0
/// §3.6). Only the fields the tool shows are read: e-mail addresses and pictures are ignored,
/// and every personal field is optional because the platform's privacy settings decide what
/// it sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The platform's user id (the launch's `sub`).
    pub user_id: String,
    /// `Active`, `Inactive` or `Deleted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Full name, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Given name, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Family name, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// SIS id, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lis_person_sourcedid: Option<String>,
    /// Role URIs in the context.
    #[serde(default)]
    pub roles: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MembershipPage {
    #[serde(default)]
    pub(crate) members: Vec<Member>,
}

/// The scopes to ask a token for: the AGS and NRPS scopes among `granted`, sorted.
pub fn token_scopes(granted: &[String]) -> Vec<String> {
    let mut scopes: Vec<String> = granted
        .iter()
        .filter(|s| {
            [
                SCOPE_LINEITEM,
                SCOPE_LINEITEM_READONLY,
                SCOPE_RESULT_READONLY,
                SCOPE_SCORE,
                SCOPE_NRPS,
            ]
            .contains(&s.as_str())
        })
        .cloned()
        .collect();
    scopes.sort();
    scopes.dedup();
    scopes
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;
    use time::macros::datetime;

    #[test]
    fn http_error_message_names_the_status_and_hides_the_platforms_body() {
        let refused = AgsError::Http {
            what: "the score",
            status: 422,
            retry_after: None,
            detail: Some("<html>stack trace at db01.internal</html>".into()),
        };
        let shown = refused.to_string();
        assert!(!shown.contains("db01.internal"), "{shown}");
        assert_eq!(
            shown,
            "the platform answered HTTP 422 to the score: it refused the grade; the learner \
             may no longer be enrolled"
        );
        let unknown = AgsError::Http {
            what: "the score",
            status: 418,
            retry_after: None,
            detail: None,
        };
        assert_eq!(
            unknown.to_string(),
            "the platform answered HTTP 418 to the score"
        );
    }

    #[test]
    fn scores_url_moodle_query_stays_after_the_path() {
        assert_eq!(
            scores_url(
                "https://moodle.example/mod/lti/services.php/2/lineitems/7/lineitem?type_id=3"
            )
            .unwrap()
            .as_str(),
            "https://moodle.example/mod/lti/services.php/2/lineitems/7/lineitem/scores?type_id=3"
        );
    }

    #[test]
    fn scores_url_plain_and_trailing_slash() {
        assert_eq!(
            scores_url("https://canvas.example/api/lti/courses/1/line_items/2")
                .unwrap()
                .as_str(),
            "https://canvas.example/api/lti/courses/1/line_items/2/scores"
        );
        assert_eq!(
            scores_url("https://p.example/li/2/").unwrap().as_str(),
            "https://p.example/li/2/scores"
        );
    }

    #[test]
    fn scores_url_other_scheme_is_refused() {
        assert_eq!(
            scores_url("ftp://p.example/li").unwrap_err(),
            AgsError::BadUrl("line item URL")
        );
        assert!(scores_url("not a url").is_err());
    }

    #[test]
    fn next_link_finds_next_among_several() {
        let header = r#"<https://p.example/li?page=1>; rel="first", <https://p.example/li?page=3>; rel="next""#;
        assert_eq!(
            next_link(header).as_deref(),
            Some("https://p.example/li?page=3")
        );
        assert_eq!(
            next_link("<https://p.example/x>; rel=next").as_deref(),
            Some("https://p.example/x")
        );
        assert_eq!(next_link(r#"<https://p.example/x>; rel="prev""#), None);
        assert_eq!(next_link("garbage"), None);
    }

    #[test]
    fn retry_after_seconds_and_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn retryable_classification() {
        let http = |status| AgsError::Http {
            what: "x",
            status,
            retry_after: None,
            detail: None,
        };
        assert!(http(500).is_retryable());
        assert!(http(503).is_retryable());
        assert!(http(429).is_retryable());
        assert!(!http(400).is_retryable());
        assert!(!http(403).is_retryable());
        assert!(!http(404).is_retryable());
        assert!(
            AgsError::Transport {
                what: "x",
                detail: "timed out".into()
            }
            .is_retryable()
        );
        assert!(!AgsError::NoLineItem.is_retryable());
    }

    #[test]
    fn score_body_uses_ags_names_and_millisecond_timestamp() {
        let score = Score {
            given: 7.0,
            maximum: 10.0,
            activity_progress: ActivityProgress::Completed,
            grading_progress: GradingProgress::FullyGraded,
            comment: None,
            timestamp: datetime!(2026-11-22 10:00:00.5 UTC),
        };
        let body = score_body(&UserId::parse("u-1").unwrap(), &score);
        assert_eq!(
            body,
            serde_json::json!({
                "userId": "u-1", "scoreGiven": 7.0, "scoreMaximum": 10.0,
                "activityProgress": "Completed", "gradingProgress": "FullyGraded",
                "timestamp": "2026-11-22T10:00:00.500Z"
            })
        );
    }

    #[test]
    fn token_scopes_keep_only_service_scopes_sorted() {
        let granted = vec![
            SCOPE_SCORE.to_owned(),
            "https://example.com/not-a-service-scope".to_owned(),
            SCOPE_LINEITEM.to_owned(),
            SCOPE_SCORE.to_owned(),
        ];
        assert_eq!(
            token_scopes(&granted),
            vec![SCOPE_LINEITEM.to_owned(), SCOPE_SCORE.to_owned()]
        );
    }
}
