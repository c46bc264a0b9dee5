//! The one place where errors become responses (STYLE 8, 9).
//!
//! Every layer keeps its own error enum, one variant per reason ([`LaunchError`],
//! [`Lti11Error`], [`LoginError`], [`RegistrationError`], [`StoreError`]…). A handler turns any
//! of them into a [`WebError`] (there is a `From` for each), and [`respond`] answers it:
//!
//! - [`WebError::refusal`] maps it to an HTTP status, a stable reason code and advice the
//!   caller can act on, in **one exhaustive `match` per layer's enum, with no wildcard arm**:
//!   a new variant anywhere fails the build here until someone decides how it is answered;
//! - [`respond`] writes the one log line (with the request id; `info` for the caller's
//!   mistakes, `error` when the tool or a platform is failing) and renders the refusal for
//!   the [`Surface`] of the endpoint: the HTML refusal page for browser-facing paths, JSON for
//!   APIs. The public body never carries the error's detail; the log line does.

use lambda_http::{Body, Response};

use std::borrow::Cow;

use crate::app::delivery::SubmitError;
use crate::domain::platform_key::KeyLookupError;
use crate::lti11::content_item::ContentItemError;
use crate::lti11::launch::Lti11Error;
use crate::lti11::oauth1::OAuthError;
use crate::lti13::dynamic_registration::RegistrationError;
use crate::lti13::launch::LaunchError;
use crate::lti13::login::LoginError;
use crate::lti13::session::SessionError;
use crate::ports::StoreError;
use crate::web::http::{error_page, json_response};

/// Which flow a storage or key failure interrupted: it decides the words of the 503.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// OIDC login initiation.
    Login,
    /// A launch (LTI 1.3 or 1.1) or the demo activity.
    Launch,
    /// A deep linking request and its picker.
    DeepLink,
    /// The course views.
    Views,
    /// Dynamic registration.
    Register,
    /// A JSON API (key set, score API).
    Api,
}

/// Why the score API refused an activity's request (its own reasons; the session token's are
/// [`SessionError`], the deliverer's [`SubmitError`]).
#[derive(Debug, thiserror::Error)]
pub enum ScoreRefusal {
    /// No `Authorization: Bearer` token.
    #[error("no bearer token was sent")]
    MissingToken,
    /// The session is of a launch that identified no user.
    #[error("the session is of an anonymous launch")]
    AnonymousLaunch,
    /// The body is larger than the API accepts.
    #[error("the score body is too large")]
    PayloadTooLarge,
    /// The body is not a score object; the value is the parser's first line.
    #[error("the body is not a JSON score ({0})")]
    InvalidJson(String),
    /// `attemptId` names another attempt than the session's.
    #[error("attemptId names another attempt")]
    WrongAttempt,
    /// The session's attempt is gone (erased).
    #[error("the session's attempt no longer exists")]
    AttemptNotFound,
    /// The session's resource link is gone (erased).
    #[error("the session's resource link no longer exists")]
    ResourceLinkNotFound,
    /// A score field is out of range or inconsistent.
    #[error("{reason}")]
    InvalidScore {
        /// The JSON field at fault.
        field: &'static str,
        /// What is wrong with it, in the caller's words.
        reason: String,
    },
    /// No grade with this id belongs to the session's attempt.
    #[error("no grade with this id for the session's attempt")]
    GradeNotFound,
}

/// Refusals of the browser pages that are about the request, not about a protocol message:
/// who may see a page, whether a placed activity still exists, whether a form came from the
/// tool's own page.
#[derive(Debug, thiserror::Error)]
pub enum PageRefusal {
    /// Deep linking is for roles that edit content (LTI Core 1.3 §A.2 roles).
    #[error("the user's roles may not add content")]
    RoleNotAllowed,
    /// The deep linking settings claim cannot be answered.
    #[error("the deep linking request cannot be answered: {0}")]
    DeepLinkUnanswerable(String),
    /// The picker's selection was not posted by the tool's own page.
    #[error("the selection was posted from another site")]
    CrossSiteSelection,
    /// The picker's request is unknown (expired or already answered).
    #[error("the selection's request is unknown or used")]
    SelectionExpired,
    /// A placed link names an activity id the tool never issues.
    #[error("the placed link's activity id is invalid: {0}")]
    ItemInvalid(String),
    /// A placed activity was removed from the catalog; the value is its id.
    #[error("the placed activity {0} is no longer in the catalog")]
    ItemRemoved(String),
    /// A launch or selection form larger than any platform sends (the size, in bytes).
    #[error("the form is {0} bytes, more than a launch form can be")]
    FormTooLarge(usize),
    /// The demo activity's session token is not valid.
    #[error("the activity session is not valid: {0}")]
    ActivitySessionInvalid(String),
    /// The course views are opened by a form post from a launch.
    #[error("the course views were not posted")]
    ViewsNotPosted,
    /// The course views' session has expired.
    #[error("the views session has expired")]
    ViewsSessionExpired,
    /// The course views' session token is missing or not valid.
    #[error("the views session is not valid: {0}")]
    ViewsSessionInvalid(String),
    /// No view at this path.
    #[error("no course view at this path")]
    ViewNotFound,
    /// A staff-only view asked by a learner.
    #[error("a staff-only view was asked by a learner")]
    StaffOnly,
    /// A learner view of an anonymous launch.
    #[error("the launch did not identify a user")]
    AnonymousLaunch,
    /// A resend named a grade that is not on this activity.
    #[error("no such grade on this activity")]
    GradeNotFound,
    /// The launch granted no roster access (NRPS).
    #[error("no roster access for this launch")]
    NoRoster,
    /// The platform's roster could not be read; the value is the reason shown to staff.
    #[error("the roster could not be read: {0}")]
    RosterUnavailable(String),
}

/// Every refusal or failure a handler answers with.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// An LTI 1.3 resource-link launch was refused by the verifier.
    #[error(transparent)]
    Launch(#[from] LaunchError),
    /// An LTI 1.3 deep linking request was refused by the verifier.
    #[error("{0}")]
    DeepLinkRequest(LaunchError),
    /// An LTI 1.1 launch was refused.
    #[error(transparent)]
    Lti11(#[from] Lti11Error),
    /// An LTI 1.1 Content-Item selection request was refused by the verifier.
    #[error("{0}")]
    ContentItemRequest(Lti11Error),
    /// An LTI 1.1 Content-Item selection cannot be answered as the platform asks.
    #[error(transparent)]
    ContentItem(#[from] ContentItemError),
    /// An OIDC login initiation was refused.
    #[error(transparent)]
    Login(#[from] LoginError),
    /// A dynamic registration step was refused or failed.
    #[error(transparent)]
    Registration(#[from] RegistrationError),
    /// Storage, the key store or the random generator failed in `flow`: not the caller's
    /// fault. `context` says what the tool was doing (for the log).
    #[error("{context}: {detail}")]
    Unavailable {
        /// The interrupted flow.
        flow: Flow,
        /// What the tool was doing, e.g. "cannot read the signing keys".
        context: &'static str,
        /// The cause (logged, never shown).
        detail: String,
    },
    /// The score API's session token was refused.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The score API refused the request.
    #[error(transparent)]
    Score(#[from] ScoreRefusal),
    /// The deliverer refused the score.
    #[error(transparent)]
    Submit(#[from] SubmitError),
    /// A browser page refused the request.
    #[error(transparent)]
    Page(#[from] PageRefusal),
    /// The endpoint does not serve this method; the value lists the ones it does.
    #[error("method not allowed (accepts {0})")]
    MethodNotAllowed(&'static str),
    /// No endpoint at this path.
    #[error("no endpoint at this path")]
    NotFound,
    /// The request did not come through the tool's public origin (CloudFront).
    #[error("the request did not come through the public origin")]
    NotPublicOrigin,
    /// The client sent more requests that write state than the rate limit allows (`ltictl
    /// serve`'s per-address limit on `/login` and `/register`); the value is how many seconds
    /// to wait, sent as `Retry-After` (RFC 9110 §10.2.3).
    #[error("too many requests from this client; retry after {0} s")]
    TooManyRequests(u64),
}

impl WebError {
    /// A storage or key failure in `flow` while doing `context`.
    pub fn unavailable(flow: Flow, context: &'static str, error: &dyn std::fmt::Display) -> Self {
        WebError::Unavailable {
            flow,
            context,
            detail: error.to_string(),
        }
    }
}

impl From<StoreError> for WebError {
    fn from(error: StoreError) -> Self {
        WebError::unavailable(Flow::Api, "storage failed", &error)
    }
}

/// How a refusal is answered: status, reason code, page heading and advice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status.
    pub status: u16,
    /// A stable reason code (upper case on pages, lower case in JSON for the API errors that
    /// have always been lower case).
    pub code: &'static str,
    /// The page heading.
    pub heading: &'static str,
    /// What the person who sees it can do, in plain words.
    pub advice: Cow<'static, str>,
}

/// Where the refusal is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// A browser-facing endpoint: the HTML refusal page.
    Page,
    /// An API endpoint: a JSON body `{error, message, request_id}`.
    Json,
}

const LAUNCH_REFUSED: &str = "This launch was refused";
const REQUEST_REFUSED: &str = "This request was refused";
const NOT_REGISTERED: &str = "The tool was not registered";
const UNAVAILABLE: &str = "The tool is temporarily unavailable";
const CANNOT_LAUNCH_NOW: &str = "The tool cannot complete launches right now. Try again in a few minutes; if it persists, tell your LMS administrator.";

impl WebError {
    /// The status, reason code and advice of this error: the one mapping of the tool.
    pub fn refusal(&self) -> Refusal {
        match self {
            WebError::Launch(error) => launch_refusal(error, LAUNCH_REFUSED),
            WebError::DeepLinkRequest(error) => launch_refusal(error, REQUEST_REFUSED),
            WebError::Lti11(error) => lti11_refusal(error, LAUNCH_REFUSED),
            WebError::ContentItemRequest(error) => lti11_refusal(error, REQUEST_REFUSED),
            WebError::ContentItem(error) => content_item_refusal(error),
            WebError::Login(error) => login_refusal(error),
            WebError::Registration(error) => registration_refusal(error),
            WebError::Unavailable { flow, .. } => unavailable_refusal(*flow),
            WebError::Session(error) => session_refusal(error),
            WebError::Score(error) => score_refusal(error),
            WebError::Submit(error) => submit_refusal(error),
            WebError::Page(error) => page_refusal(error),
            WebError::MethodNotAllowed(_) => Refusal {
                status: 405,
                code: "method_not_allowed",
                heading: "This address does not work that way",
                advice: Cow::Borrowed(
                    "This address is used by your learning platform, not opened directly. Go back to your course and open the activity from there.",
                ),
            },
            WebError::NotFound => Refusal {
                status: 404,
                code: "not_found",
                heading: "There is nothing here",
                advice: Cow::Borrowed("there is nothing at this path"),
            },
            WebError::NotPublicOrigin => Refusal {
                status: 403,
                code: "use_public_url",
                heading: "Use the tool's public address",
                advice: Cow::Borrowed(
                    "this address is internal to the tool; use the tool's public URL (the one your platform administrator registered) instead",
                ),
            },
            WebError::TooManyRequests(_) => Refusal {
                status: 429,
                code: "too_many_requests",
                heading: "Too many requests",
                advice: Cow::Borrowed(
                    "Too many requests came from your address in a short time. Wait a minute, then try again from your course or LMS.",
                ),
            },
        }
    }
}

/// An id_token refusal (LTI Core 1.3 §5.1.3, Security Framework §5.1.3) on a page headed
/// `heading`.
fn launch_refusal(error: &LaunchError, heading: &'static str) -> Refusal {
    use LaunchError::*;
    const BAD_REQUEST: u16 = 400;
    const UNTRUSTED: u16 = 401;
    const FORBIDDEN: u16 = 403;
    const FAILING: u16 = 503;
    const RELAUNCH: &str = "The launch took too long or was reopened from history. Go back to your course and open the activity again.";
    const OTHER_WINDOW: &str = "This launch did not start in this browser window. Go back to your course and open the activity again; if it keeps failing, allow cookies for this tool or open it in a new window.";
    const NOT_SET_UP: &str = "This course's platform is not set up to use this tool. Ask your LMS administrator to check the tool's registration (issuer, client id and deployment id).";
    const CANNOT_ACCEPT: &str = "The platform sent a launch this tool cannot accept. Try again from your course; if it keeps failing, tell your LMS administrator the reason code.";
    let (status, code, advice) = match error {
        MissingToken | MissingState | TokenTooLarge(_) | MalformedToken(_) => {
            (BAD_REQUEST, "INVALID_REQUEST", CANNOT_ACCEPT)
        }
        UnknownIssuer(_) => (UNTRUSTED, "UNKNOWN_PLATFORM", NOT_SET_UP),
        AudienceMismatch | UntrustedAudience | MissingAuthorizedParty | AuthorizedPartyMismatch => {
            (UNTRUSTED, "WRONG_AUDIENCE", NOT_SET_UP)
        }
        PlatformDisabled => (FORBIDDEN, "PLATFORM_DISABLED", NOT_SET_UP),
        PlatformPending => (
            FORBIDDEN,
            "PLATFORM_PENDING",
            "This platform's registration with the tool is waiting for the tool operator's approval. Ask your LMS administrator to have it approved.",
        ),
        MissingDeployment => (BAD_REQUEST, "UNKNOWN_DEPLOYMENT", NOT_SET_UP),
        UnknownDeployment(_) => (FORBIDDEN, "UNKNOWN_DEPLOYMENT", NOT_SET_UP),
        UnsupportedAlgorithm(_) | MissingKeyId | BadSignature => {
            (UNTRUSTED, "INVALID_SIGNATURE", CANNOT_ACCEPT)
        }
        Key(KeyLookupError::KeySetUnavailable { .. }) => {
            (FAILING, "PLATFORM_KEYS_UNAVAILABLE", CANNOT_LAUNCH_NOW)
        }
        Key(KeyLookupError::UnknownKid(_) | KeyLookupError::KeyTypeMismatch(_)) => {
            (UNTRUSTED, "UNKNOWN_KEY", CANNOT_ACCEPT)
        }
        InvalidClaims(_)
        | UnsupportedVersion(_)
        | MissingClaim(_)
        | InvalidClaim(_)
        | IssuedAfterExpiry => (BAD_REQUEST, "INVALID_CLAIMS", CANNOT_ACCEPT),
        Expired | IssuedInFuture | NotYetValid => (UNTRUSTED, "LAUNCH_EXPIRED", RELAUNCH),
        UnsupportedMessageType(_) => (BAD_REQUEST, "UNSUPPORTED_MESSAGE", CANNOT_ACCEPT),
        WrongEndpoint("LtiDeepLinkingRequest") => (
            BAD_REQUEST,
            "UNSUPPORTED_MESSAGE",
            "The platform sent a content selection (deep linking) request to the tool's launch URL. Ask your LMS administrator to set the tool's deep linking URL (and redirect URL) to the tool's /deep-link address.",
        ),
        WrongEndpoint(_) => (
            BAD_REQUEST,
            "UNSUPPORTED_MESSAGE",
            "The platform sent an ordinary launch to the tool's deep linking URL. Ask your LMS administrator to set the tool's target link URL to the tool's /launch address and keep /deep-link for content selection only.",
        ),
        TargetLinkMismatch => (UNTRUSTED, "TARGET_MISMATCH", CANNOT_ACCEPT),
        UnknownState => (UNTRUSTED, "STATE_EXPIRED", RELAUNCH),
        StateForOtherPlatform | StateMismatch | NonceMismatch => {
            (UNTRUSTED, "STATE_MISMATCH", OTHER_WINDOW)
        }
        NonceReplayed => (
            UNTRUSTED,
            "LAUNCH_REPLAYED",
            "This launch was already used. Go back to your course and open the activity again.",
        ),
        Store(_) => (FAILING, "TEMPORARILY_UNAVAILABLE", CANNOT_LAUNCH_NOW),
    };
    Refusal {
        status,
        code,
        heading,
        advice: Cow::Borrowed(advice),
    }
}

/// An LTI 1.1 launch (or Content-Item request) refusal (LTI 1.1 Implementation Guide §4,
/// RFC 5849 §3.2) on a page headed `heading`.
fn lti11_refusal(error: &Lti11Error, heading: &'static str) -> Refusal {
    const NOT_SET_UP: &str = "The course's platform is not set up to use this tool, or its consumer key or secret is wrong. Ask your LMS administrator to check them.";
    const TOO_OLD: &str = "This launch is too old or was already used. Go back to your course and open the activity again; if it keeps failing, the platform's clock may be wrong.";
    const CANNOT_ACCEPT: &str = "The platform sent a launch this tool cannot accept. Tell your LMS administrator the reason code.";
    let (status, code, advice) = match error {
        Lti11Error::NotPost => (405, "INVALID_REQUEST", CANNOT_ACCEPT),
        Lti11Error::OAuth(OAuthError::BadSignature) => (401, "INVALID_REQUEST", CANNOT_ACCEPT),
        Lti11Error::OAuth(
            OAuthError::MalformedHeader
            | OAuthError::InvalidEncoding
            | OAuthError::MissingParameter(_)
            | OAuthError::EmptyParameter(_)
            | OAuthError::DuplicateOAuthParameter(_)
            | OAuthError::UnsupportedSignatureMethod(_)
            | OAuthError::UnsupportedVersion
            | OAuthError::InvalidTimestamp,
        ) => (400, "INVALID_REQUEST", CANNOT_ACCEPT),
        Lti11Error::MissingParameter(_) | Lti11Error::InvalidParameter(_) => {
            (400, "INVALID_REQUEST", CANNOT_ACCEPT)
        }
        Lti11Error::BadSignature => (401, "INVALID_SIGNATURE", NOT_SET_UP),
        Lti11Error::ConsumerDisabled => (403, "PLATFORM_DISABLED", NOT_SET_UP),
        Lti11Error::StaleTimestamp => (401, "LAUNCH_EXPIRED", TOO_OLD),
        Lti11Error::UnsupportedMessageType(_) | Lti11Error::UnsupportedVersion(_) => {
            (400, "UNSUPPORTED_MESSAGE", CANNOT_ACCEPT)
        }
        Lti11Error::NonceReplayed => (401, "LAUNCH_REPLAYED", TOO_OLD),
        Lti11Error::Store(_) => (
            503,
            "TEMPORARILY_UNAVAILABLE",
            "The tool cannot complete launches right now. Try again in a few minutes.",
        ),
    };
    Refusal {
        status,
        code,
        heading,
        advice: Cow::Borrowed(advice),
    }
}

/// An LTI 1.1 Content-Item selection the tool cannot answer as asked (Content-Item 1.0 §4.1).
fn content_item_refusal(error: &ContentItemError) -> Refusal {
    let (status, code, heading, advice) = match error {
        ContentItemError::LtiLinksNotAccepted(_) => (
            400,
            "LTI_LINKS_NOT_ACCEPTED",
            "Activities cannot be added here",
            "This tool adds activities as LTI links, and this place in your course does not accept them. Add the tool from a place that accepts external tool links (an activity or a resource), or ask your LMS administrator to check the tool's Content-Item settings.",
        ),
        ContentItemError::NoPresentationTarget(_) => (
            400,
            "PRESENTATION_NOT_SUPPORTED",
            "Activities cannot be added here",
            "This place in your course can only show content inline, and the tool's activities open in a frame or a window. Add the tool from an activity or resource instead, or ask your LMS administrator to check the tool's Content-Item settings.",
        ),
        ContentItemError::SeveralNotAccepted(_) => (
            400,
            "SEVERAL_NOT_ACCEPTED",
            "Only one activity can be added here",
            "This place in your course accepts one activity at a time. Go back to your course and add the tool again, choosing one activity.",
        ),
        ContentItemError::UnknownItem(_) => (
            404,
            "ITEM_REMOVED",
            "This activity is no longer available",
            "The activity you chose is no longer offered by the tool. Go back to your course and add the tool again to choose another one.",
        ),
    };
    Refusal {
        status,
        code,
        heading,
        advice: Cow::Borrowed(advice),
    }
}

/// An OIDC login initiation refusal (LTI Core 1.3 §4.1, Security Framework §5.1.1.1).
fn login_refusal(error: &LoginError) -> Refusal {
    let (status, code, advice) = match error {
        LoginError::MissingParameter(_) | LoginError::InvalidParameter { .. } => (
            400,
            "INVALID_LOGIN_REQUEST",
            "The platform's login request is incomplete. Open the activity again from your course; if it keeps failing, tell your LMS administrator.",
        ),
        LoginError::ForeignTarget(_) => (
            400,
            "FOREIGN_TARGET",
            "The platform asked for a page that does not belong to this tool. Ask your LMS administrator to check the tool's target link URI.",
        ),
        LoginError::UnknownPlatform { .. } => (
            400,
            "UNKNOWN_PLATFORM",
            "This platform is not registered with the tool. Ask your LMS administrator to register it (issuer and client id).",
        ),
        LoginError::AmbiguousPlatform { .. } => (
            400,
            "CLIENT_ID_REQUIRED",
            "Several registrations share this platform's issuer and it did not say which one it uses. Ask your LMS administrator to make the platform send client_id.",
        ),
        LoginError::PlatformDisabled(_) => (
            403,
            "PLATFORM_DISABLED",
            "This platform's registration is disabled. Ask your LMS administrator.",
        ),
        LoginError::PlatformPending(_) => (
            403,
            "PLATFORM_PENDING",
            "This platform's registration is waiting for the tool operator's approval. Ask your LMS administrator to have it approved.",
        ),
        LoginError::UnknownDeployment(_) => (
            403,
            "UNKNOWN_DEPLOYMENT",
            "This deployment of the tool is not registered. Ask your LMS administrator to add the deployment id.",
        ),
        LoginError::Store(_) | LoginError::Randomness => (
            503,
            "TEMPORARILY_UNAVAILABLE",
            "The tool cannot start launches right now. Try again in a few minutes.",
        ),
    };
    Refusal {
        status,
        code,
        heading: "The tool could not be opened",
        advice: Cow::Borrowed(advice),
    }
}

/// A dynamic registration refusal or failure (LTI Dynamic Registration 1.0 §3).
fn registration_refusal(error: &RegistrationError) -> Refusal {
    use RegistrationError::*;
    const UNREACHABLE: &str = "The tool could not read your LMS's OpenID configuration. Check that the LMS is reachable from the internet over https, then start the registration again from the LMS.";
    const INVALID: &str = "Your LMS's OpenID configuration lacks what LTI Dynamic Registration needs (issuer, authorization, token, key set and registration endpoints, and the LTI platform configuration). Check that the LMS supports LTI Advantage dynamic registration, or register the tool by hand with the values from `ltictl config`.";
    const NOT_COMPLETED: &str = "Your LMS did not complete the registration. Try again in a few minutes from the LMS; if it persists, register the tool by hand with the values from `ltictl config`.";
    let (status, code, advice) = match error {
        MissingConfigurationUrl => (
            400,
            "MISSING_OPENID_CONFIGURATION",
            "This is the tool's LTI Dynamic Registration URL. Do not open it directly: paste it into your LMS's dynamic registration (LTI Advantage) form, and the LMS will open it for you.",
        ),
        UnusableUrl { .. } => (
            400,
            "UNUSABLE_PLATFORM_URL",
            "Your LMS gave the tool a configuration or endpoint URL it cannot use (it must be an https:// URL). Check the LMS's public URL (wwwroot) setting, then start the registration again from the LMS.",
        ),
        ConfigurationUnreachable(_) | ConfigurationStatus(_) => {
            (502, "CONFIGURATION_UNREACHABLE", UNREACHABLE)
        }
        ConfigurationInvalid(_) | MissingField(_) => (502, "CONFIGURATION_INVALID", INVALID),
        IssuerMismatch { .. } => (
            400,
            "ISSUER_MISMATCH",
            "Your LMS's issuer does not match the address its configuration came from, so the tool cannot trust it. Check the LMS's issuer / public URL setting, then start again; or register the tool by hand.",
        ),
        TokenRefused(_) => (
            400,
            "REGISTRATION_TOKEN_REFUSED",
            "Your LMS refused the registration token: it has expired or was used already. Start the registration again from the LMS to get a fresh one.",
        ),
        RegistrationRefused { .. } => (
            400,
            "REGISTRATION_REFUSED",
            "Your LMS refused the tool's registration. Check the LMS's log for the reason, then start again, or register the tool by hand with the values from `ltictl config`.",
        ),
        RegistrationFailed(_) | RegistrationUnreachable(_) => {
            (502, "REGISTRATION_FAILED", NOT_COMPLETED)
        }
        ResponseInvalid(_) => (502, "REGISTRATION_RESPONSE_INVALID", NOT_COMPLETED),
        AlreadyRegistered { .. } => (
            409,
            "ALREADY_REGISTERED",
            "This LMS registration (issuer and client id) was saved by another confirmation at the same time, so nothing was changed here. Start the registration again from your LMS: the tool then shows what would change in the existing registration before changing it.",
        ),
        RegistrationChanged { .. } => (
            409,
            "REGISTRATION_CHANGED",
            "The tool's registration of your LMS changed after these changes were shown to you, so nothing was changed. Start the registration again from your LMS to see the current changes.",
        ),
        UnknownPending => (
            410,
            "REGISTRATION_EXPIRED",
            "This confirmation has expired or was already used. Start the registration again from your LMS.",
        ),
        CrossSiteConfirmation => (
            403,
            "CROSS_SITE_CONFIRMATION",
            "The confirmation did not come from the tool's own page. Start the registration again from your LMS.",
        ),
        InvitationRequired => (
            403,
            "INVITATION_REQUIRED",
            "This tool registers LMSs by invitation only. Ask the tool's operator for a registration URL (they create one with `ltictl registration invite`), paste that whole URL into your LMS's dynamic registration form, and start again.",
        ),
        InvitationUnknown => (
            403,
            "INVITATION_UNKNOWN",
            "This registration invitation is not valid: it was revoked, mistyped, or never issued. Check that the whole URL was pasted, or ask the tool's operator for a new one (`ltictl registration invite`).",
        ),
        InvitationExpired(_) => (
            403,
            "INVITATION_EXPIRED",
            "This registration invitation has expired. Ask the tool's operator for a new one (`ltictl registration invite`), then start again from your LMS.",
        ),
        InvitationUsed(_) => (
            403,
            "INVITATION_USED",
            "This registration invitation was used already: each one registers one LMS once. Ask the tool's operator for a new one (`ltictl registration invite`) if you need to register again.",
        ),
        Store(_) => (
            503,
            "TEMPORARILY_UNAVAILABLE",
            "The tool cannot save registrations right now. Try again in a few minutes; if it persists, tell the tool's operator.",
        ),
    };
    Refusal {
        status,
        code,
        heading: NOT_REGISTERED,
        advice: Cow::Borrowed(advice),
    }
}

/// A score API session refused (the activity must launch again).
fn session_refusal(error: &SessionError) -> Refusal {
    const INVALID: &str = "the token is not a valid launch session of this tool; launch the activity again from the course";
    let (code, advice) = match error {
        SessionError::Expired | SessionError::NoDeployment => (
            "session_expired",
            "the launch session has expired; launch the activity again from the course",
        ),
        SessionError::Malformed
        | SessionError::BadHeader
        | SessionError::UnknownKey
        | SessionError::BadSignature
        | SessionError::WrongAudience => ("invalid_token", INVALID),
    };
    Refusal {
        status: 401,
        code,
        heading: "This session is not valid",
        advice: Cow::Borrowed(advice),
    }
}

/// A score API refusal (the activity's request, AGS 2.0 §3.4 score shape).
fn score_refusal(error: &ScoreRefusal) -> Refusal {
    let (status, code, advice) = match error {
        ScoreRefusal::MissingToken => (
            401,
            "missing_token",
            "send the lti_session token of the launch as Authorization: Bearer <token>",
        ),
        ScoreRefusal::AnonymousLaunch => (
            403,
            "anonymous_launch",
            "this launch did not identify a user, so there is no attempt to grade",
        ),
        ScoreRefusal::PayloadTooLarge => (413, "payload_too_large", "the score body is too large"),
        ScoreRefusal::InvalidJson(_) => (
            400,
            "invalid_json",
            "the body must be a JSON score like {\"scoreGiven\": 7, \"scoreMaximum\": 10}",
        ),
        ScoreRefusal::WrongAttempt => (
            403,
            "wrong_attempt",
            "attemptId names another attempt than the one this session was issued for",
        ),
        ScoreRefusal::AttemptNotFound => (
            404,
            "attempt_not_found",
            "the attempt of this session no longer exists; launch the activity again",
        ),
        ScoreRefusal::ResourceLinkNotFound => (
            404,
            "resource_link_not_found",
            "the resource link of this session no longer exists; launch the activity again",
        ),
        ScoreRefusal::InvalidScore { .. } => (400, "invalid_score", "the score is not valid"),
        ScoreRefusal::GradeNotFound => (
            404,
            "not_found",
            "there is no grade with this id for this session's attempt",
        ),
    };
    Refusal {
        status,
        code,
        heading: "The score was refused",
        advice: Cow::Borrowed(advice),
    }
}

/// A score the deliverer could not accept.
fn submit_refusal(error: &SubmitError) -> Refusal {
    let (status, code, advice) = match error {
        SubmitError::NoPassback => (
            422,
            "no_grade_passback",
            "the platform gave no way to send grades for this resource link",
        ),
        SubmitError::NoAttempt => (
            404,
            "attempt_not_found",
            "the attempt no longer exists; launch the activity again",
        ),
        SubmitError::Store(_) => return unavailable_refusal(Flow::Api),
    };
    Refusal {
        status,
        code,
        heading: "The score was refused",
        advice: Cow::Borrowed(advice),
    }
}

/// A browser page's own refusal.
fn page_refusal(error: &PageRefusal) -> Refusal {
    const FROM_COURSE: &str = "Open the tool again from your course.";
    let (status, code, heading, advice): (u16, &'static str, &'static str, Cow<'static, str>) =
        match error {
            PageRefusal::RoleNotAllowed => (
                403,
                "ROLE_NOT_ALLOWED",
                "Only course staff can add activities",
                Cow::Borrowed(
                    "Choosing activities to add to a course is open to instructors, content developers and administrators. If you should be able to, ask your LMS administrator to check your role in this course.",
                ),
            ),
            PageRefusal::DeepLinkUnanswerable(_) => (
                400,
                "INVALID_CLAIMS",
                REQUEST_REFUSED,
                Cow::Borrowed(
                    "The platform sent a content selection request this tool cannot answer. Tell your LMS administrator the reason code.",
                ),
            ),
            PageRefusal::CrossSiteSelection => (
                403,
                "CROSS_SITE_POST",
                "This selection was refused",
                Cow::Borrowed(
                    "The selection did not come from this tool's own page. Start again from your course.",
                ),
            ),
            PageRefusal::SelectionExpired => (
                400,
                "SELECTION_EXPIRED",
                "This selection has expired",
                Cow::Borrowed(
                    "The page was open too long, or this selection was already sent. Go back to your course and start adding the activity again.",
                ),
            ),
            PageRefusal::ItemInvalid(_) => (
                400,
                "ITEM_INVALID",
                "This activity link is not valid",
                Cow::Borrowed(
                    "The link names an activity id this tool never issues. Ask your instructor to place the activity again from the tool's list.",
                ),
            ),
            PageRefusal::ItemRemoved(item) => (
                404,
                "ITEM_REMOVED",
                "This activity is no longer available",
                Cow::Owned(format!(
                    "The activity placed here ({item}) was removed from the tool's catalog. Ask your instructor to replace the link with another activity, or the tool's administrator to add it back (ltictl catalog add --id {item} …)."
                )),
            ),
            PageRefusal::FormTooLarge(_) => (
                413,
                "REQUEST_TOO_LARGE",
                LAUNCH_REFUSED,
                Cow::Borrowed(
                    "The platform sent a launch far larger than any launch can be. Go back to your course and open the activity again; if it keeps failing, tell your LMS administrator the reason code.",
                ),
            ),
            PageRefusal::ActivitySessionInvalid(_) => (
                401,
                "SESSION_INVALID",
                "This activity session is not valid",
                Cow::Borrowed("Open the activity again from your course."),
            ),
            PageRefusal::ViewsNotPosted => (
                405,
                "METHOD_NOT_ALLOWED",
                "Open this page from your course",
                Cow::Borrowed("The course views open from a launch of the tool in your course."),
            ),
            PageRefusal::ViewsSessionExpired => (
                401,
                "SESSION_EXPIRED",
                "Your session has expired",
                Cow::Borrowed(FROM_COURSE),
            ),
            PageRefusal::ViewsSessionInvalid(_) => (
                401,
                "SESSION_INVALID",
                "This page needs a launch from your course",
                Cow::Borrowed(FROM_COURSE),
            ),
            PageRefusal::ViewNotFound => (
                404,
                "NOT_FOUND",
                "There is nothing here",
                Cow::Borrowed(FROM_COURSE),
            ),
            PageRefusal::StaffOnly => (
                403,
                "STAFF_ONLY",
                "Only course staff can do this",
                Cow::Borrowed("This page is for the course's instructors and teaching assistants."),
            ),
            PageRefusal::AnonymousLaunch => (
                403,
                "ANONYMOUS_LAUNCH",
                "This launch did not identify you",
                Cow::Borrowed(
                    "The platform launched the tool anonymously, so there are no attempts to show.",
                ),
            ),
            PageRefusal::GradeNotFound => (
                404,
                "GRADE_NOT_FOUND",
                "There is no such grade on this activity",
                Cow::Borrowed(
                    "Open the tool again from your course and pick a grade from the list.",
                ),
            ),
            PageRefusal::NoRoster => (
                404,
                "NO_ROSTER",
                "The course roster is not available",
                Cow::Borrowed(
                    "The platform did not grant the tool access to the course's names and roles for this launch.",
                ),
            ),
            PageRefusal::RosterUnavailable(reason) => (
                502,
                "ROSTER_UNAVAILABLE",
                "The course roster could not be read from the platform",
                Cow::Owned(format!("{reason}. Try again in a minute.")),
            ),
        };
    Refusal {
        status,
        code,
        heading,
        advice,
    }
}

/// A 503 in `flow`.
fn unavailable_refusal(flow: Flow) -> Refusal {
    let (heading, advice) = match flow {
        Flow::Login => (
            UNAVAILABLE,
            "The tool cannot start launches right now. Try again in a few minutes.",
        ),
        Flow::Launch => (UNAVAILABLE, CANNOT_LAUNCH_NOW),
        Flow::DeepLink => (
            UNAVAILABLE,
            "The tool cannot add activities right now. Try again in a few minutes; if it persists, tell your LMS administrator.",
        ),
        Flow::Views => (
            "The tool cannot reach its data right now",
            "Try again in a minute; tell your administrator if it persists.",
        ),
        Flow::Register => (
            UNAVAILABLE,
            "The tool cannot save registrations right now. Try again in a few minutes; if it persists, tell the tool's operator.",
        ),
        Flow::Api => (
            UNAVAILABLE,
            "the tool cannot reach its storage right now; try again in a minute, and tell your administrator if it persists",
        ),
    };
    let code = match flow {
        Flow::Api => "temporarily_unavailable",
        Flow::Login | Flow::Launch | Flow::DeepLink | Flow::Views | Flow::Register => {
            "TEMPORARILY_UNAVAILABLE"
        }
    };
    Refusal {
        status: 503,
        code,
        heading,
        advice: Cow::Borrowed(advice),
    }
}

/// Answers `error` on `surface`, after writing its one log line: `error` level when the tool
/// or a platform is failing (5xx), `info` when the caller's request was refused. The log line
/// carries the request id, the reason code and the detail (which names the rule, never a
/// token, a secret or personal data); the body carries the code, the advice and the request
/// id only.
pub fn respond(error: &WebError, request_id: &str, surface: Surface) -> Response<Body> {
    let refusal = error.refusal();
    if refusal.status >= 500 {
        tracing::error!(request_id, code = refusal.code, detail = %error, "request failed");
    } else {
        tracing::info!(request_id, code = refusal.code, detail = %error, "request refused");
    }
    let mut response = match surface {
        Surface::Page => error_page(
            refusal.status,
            refusal.heading,
            &refusal.advice,
            &refusal.code.to_ascii_uppercase(),
            request_id,
        ),
        Surface::Json => json_refusal(error, &refusal, request_id),
    };
    if let WebError::TooManyRequests(seconds) = error {
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, http::HeaderValue::from(*seconds));
    }
    response
}

/// The JSON body of a refusal: `{error, field?, message, request_id}`, with
/// `WWW-Authenticate: Bearer` on a 401 (RFC 6750 §3).
fn json_refusal(error: &WebError, refusal: &Refusal, request_id: &str) -> Response<Body> {
    #[derive(serde::Serialize)]
    struct ErrorBody<'a> {
        error: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        field: Option<&'a str>,
        message: &'a str,
        request_id: &'a str,
    }
    let message = public_message(error, refusal);
    let mut response = json_response(
        refusal.status,
        &ErrorBody {
            error: refusal.code,
            field: field(error),
            message: &message,
            request_id,
        },
        "no-store",
    );
    if refusal.status == 401 {
        response.headers_mut().insert(
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Bearer"),
        );
    }
    response
}

/// The message a JSON caller sees: the advice, or for the refusals whose words depend on the
/// request, those words (never a secret, a token or storage detail).
fn public_message(error: &WebError, refusal: &Refusal) -> Cow<'static, str> {
    match error {
        WebError::MethodNotAllowed(allowed) => {
            Cow::Owned(format!("this endpoint accepts {allowed} only"))
        }
        WebError::Score(ScoreRefusal::InvalidJson(detail)) => Cow::Owned(format!(
            "the body must be a JSON score like {{\"scoreGiven\": 7, \"scoreMaximum\": 10}} \
             ({detail})"
        )),
        WebError::Score(ScoreRefusal::InvalidScore { reason, .. }) => Cow::Owned(reason.clone()),
        WebError::Submit(SubmitError::NoPassback | SubmitError::NoAttempt) => {
            Cow::Owned(error.to_string())
        }
        WebError::Launch(_)
        | WebError::DeepLinkRequest(_)
        | WebError::Lti11(_)
        | WebError::ContentItemRequest(_)
        | WebError::ContentItem(_)
        | WebError::Login(_)
        | WebError::Registration(_)
        | WebError::Unavailable { .. }
        | WebError::Session(_)
        | WebError::Score(
            ScoreRefusal::MissingToken
            | ScoreRefusal::AnonymousLaunch
            | ScoreRefusal::PayloadTooLarge
            | ScoreRefusal::WrongAttempt
            | ScoreRefusal::AttemptNotFound
            | ScoreRefusal::ResourceLinkNotFound
            | ScoreRefusal::GradeNotFound,
        )
        | WebError::Submit(SubmitError::Store(_))
        | WebError::NotFound
        | WebError::NotPublicOrigin
        | WebError::TooManyRequests(_)
        | WebError::Page(_) => refusal.advice.clone(),
    }
}

/// The JSON field a refusal is about, when there is one.
fn field(error: &WebError) -> Option<&'static str> {
    match error {
        WebError::Score(ScoreRefusal::WrongAttempt) => Some("attemptId"),
        WebError::Score(ScoreRefusal::InvalidScore { field, .. }) => Some(field),
        WebError::Score(
            ScoreRefusal::MissingToken
            | ScoreRefusal::AnonymousLaunch
            | ScoreRefusal::PayloadTooLarge
            | ScoreRefusal::InvalidJson(_)
            | ScoreRefusal::AttemptNotFound
            | ScoreRefusal::ResourceLinkNotFound
            | ScoreRefusal::GradeNotFound,
        )
        | WebError::Launch(_)
        | WebError::DeepLinkRequest(_)
        | WebError::Lti11(_)
        | WebError::ContentItemRequest(_)
        | WebError::ContentItem(_)
        | WebError::Login(_)
        | WebError::Registration(_)
        | WebError::Unavailable { .. }
        | WebError::Session(_)
        | WebError::Submit(_)
        | WebError::Page(_)
        | WebError::MethodNotAllowed(_)
        | WebError::NotFound
        | WebError::NotPublicOrigin
        | WebError::TooManyRequests(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_status_follows_the_class() {
        let status = |error: LaunchError| WebError::Launch(error).refusal().status;
        assert_eq!(status(LaunchError::MissingToken), 400);
        assert_eq!(status(LaunchError::BadSignature), 401);
        assert_eq!(status(LaunchError::PlatformDisabled), 403);
        assert_eq!(
            status(LaunchError::Store(StoreError::Corrupt("x".into()))),
            503
        );
    }

    #[test]
    fn refusal_key_set_down_is_503_and_unknown_kid_is_401() {
        let down = WebError::Launch(LaunchError::Key(KeyLookupError::KeySetUnavailable {
            url: "https://platform.example/jwks".into(),
            reason: "timed out".into(),
        }));
        assert_eq!(down.refusal().status, 503);
        assert_eq!(down.refusal().code, "PLATFORM_KEYS_UNAVAILABLE");
        let unknown = WebError::Launch(LaunchError::Key(KeyLookupError::UnknownKid("k".into())));
        assert_eq!(unknown.refusal().status, 401);
        assert_eq!(unknown.refusal().code, "UNKNOWN_KEY");
    }

    #[test]
    fn refusal_deep_link_request_keeps_the_launch_codes_under_its_own_heading() {
        let error = WebError::DeepLinkRequest(LaunchError::NonceReplayed);
        let refusal = error.refusal();
        assert_eq!(
            (refusal.status, refusal.code, refusal.heading),
            (401, "LAUNCH_REPLAYED", REQUEST_REFUSED)
        );
    }

    #[test]
    fn refusal_content_item_request_keeps_the_lti11_codes_under_its_own_heading() {
        let refusal = WebError::ContentItemRequest(Lti11Error::NonceReplayed).refusal();
        assert_eq!(
            (refusal.status, refusal.code, refusal.heading),
            (401, "LAUNCH_REPLAYED", REQUEST_REFUSED)
        );
        let launch = WebError::Lti11(Lti11Error::NonceReplayed).refusal();
        assert_eq!(launch.heading, LAUNCH_REFUSED);
    }

    #[test]
    fn refusal_content_item_each_reason_has_its_code() {
        let code = |error: ContentItemError| WebError::ContentItem(error).refusal().code;
        assert_eq!(
            code(ContentItemError::LtiLinksNotAccepted("text/html".into())),
            "LTI_LINKS_NOT_ACCEPTED"
        );
        assert_eq!(
            code(ContentItemError::NoPresentationTarget("embed".into())),
            "PRESENTATION_NOT_SUPPORTED"
        );
        assert_eq!(
            code(ContentItemError::SeveralNotAccepted(2)),
            "SEVERAL_NOT_ACCEPTED"
        );
        assert_eq!(
            code(ContentItemError::UnknownItem("x".into())),
            "ITEM_REMOVED"
        );
    }

    #[test]
    fn respond_method_not_allowed_on_a_page_is_html_and_in_an_api_is_json() {
        let page = respond(&WebError::MethodNotAllowed("POST"), "r-1", Surface::Page);
        assert_eq!(page.status(), 405);
        assert!(
            page.headers()[http::header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let json = respond(&WebError::MethodNotAllowed("POST"), "r-1", Surface::Json);
        assert_eq!(json.status(), 405);
        assert_eq!(
            json.headers()[http::header::CONTENT_TYPE],
            "application/json"
        );
        let Body::Text(text) = json.body() else {
            panic!("text body")
        };
        assert!(text.contains("\"method_not_allowed\""), "{text}");
        assert!(text.contains("accepts POST only"), "{text}");
    }

    #[test]
    fn respond_never_shows_the_detail() {
        let error = WebError::unavailable(Flow::Launch, "cannot read", &"table lti-prod missing");
        let page = respond(&error, "r-2", Surface::Page);
        let Body::Text(text) = page.body() else {
            panic!("text body")
        };
        assert!(!text.contains("lti-prod"), "{text}");
        assert!(text.contains("r-2"));
    }

    #[test]
    fn respond_too_many_requests_is_429_with_retry_after_on_both_surfaces() {
        for surface in [Surface::Page, Surface::Json] {
            let response = respond(&WebError::TooManyRequests(7), "r-3", surface);
            assert_eq!(response.status(), 429);
            assert_eq!(response.headers()[http::header::RETRY_AFTER], "7");
        }
        let other = respond(&WebError::NotFound, "r-4", Surface::Json);
        assert!(other.headers().get(http::header::RETRY_AFTER).is_none());
    }

    #[test]
    fn refusal_invitation_reasons_each_have_their_code() {
        let at = time::OffsetDateTime::UNIX_EPOCH;
        let code = |error| WebError::Registration(error).refusal().code;
        assert_eq!(
            code(RegistrationError::InvitationRequired),
            "INVITATION_REQUIRED"
        );
        assert_eq!(
            code(RegistrationError::InvitationUnknown),
            "INVITATION_UNKNOWN"
        );
        assert_eq!(
            code(RegistrationError::InvitationExpired(at)),
            "INVITATION_EXPIRED"
        );
        assert_eq!(
            code(RegistrationError::InvitationUsed(at)),
            "INVITATION_USED"
        );
        assert_eq!(
            WebError::Registration(RegistrationError::InvitationRequired)
                .refusal()
                .status,
            403
        );
    }
}
