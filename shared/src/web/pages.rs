//! The HTML pages the browser sees during login and launch, rendered with askama (auto-escaped;
//! values reach scripts through `data-` attributes, never spliced into JavaScript). They work
//! inside an LMS iframe and load nothing from other origins.

use askama::Template;

pub mod deep_link;
pub mod views;

/// Renders a template; a rendering failure becomes a plain message (it cannot happen with
/// these templates, but a handler must never fail to answer).
pub fn render<T: Template>(page: &T) -> String {
    page.render()
        .unwrap_or_else(|_| "The page could not be shown. Please try again.".to_owned())
}

/// An auto-submitting form POST (the OIDC `form_post` style hand-off).
#[derive(Template)]
#[template(path = "auto_submit.html")]
pub struct AutoSubmit<'a> {
    /// Shown while submitting, and on the button without JavaScript.
    pub title: &'a str,
    /// Where the form posts.
    pub action: &'a str,
    /// Hidden fields.
    pub fields: Vec<(&'a str, &'a str)>,
}

/// Login with LTI Platform Storage: stores the state in the platform's frame, then goes on to
/// the authentication request.
#[derive(Template)]
#[template(path = "storage_login.html")]
pub struct StorageLogin<'a> {
    /// `lti_storage_target`.
    pub target: &'a str,
    /// The platform origin messages go to and must come from.
    pub platform_origin: &'a str,
    /// The storage key.
    pub key: &'a str,
    /// The value to store (the state).
    pub value: &'a str,
    /// The authentication request URL.
    pub next: &'a str,
}

/// Launch without the state cookie: reads the state back from Platform Storage and posts the
/// launch again with it.
#[derive(Template)]
#[template(path = "storage_launch.html")]
pub struct StorageLaunch<'a> {
    /// `lti_storage_target`.
    pub target: &'a str,
    /// The platform origin.
    pub platform_origin: &'a str,
    /// The storage key.
    pub key: &'a str,
    /// The launch URL.
    pub action: &'a str,
    /// The id_token, posted again.
    pub id_token: &'a str,
    /// The state, posted again.
    pub state: &'a str,
    /// Where "open in a new window" goes.
    pub restart_url: &'a str,
}

/// Neither cookie nor Platform Storage: offer a new window.
#[derive(Template)]
#[template(path = "new_window.html")]
pub struct NewWindow<'a> {
    /// Restarts the login at top level.
    pub restart_url: &'a str,
}

/// A refused request.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    /// The headline.
    pub heading: &'a str,
    /// What to do.
    pub advice: &'a str,
    /// The reason code.
    pub code: &'a str,
    /// The request id, for support.
    pub request_id: &'a str,
}

/// LTI Dynamic Registration: what will be registered, and the button that confirms it.
#[derive(Template)]
#[template(path = "register_confirm.html")]
pub struct RegisterConfirm<'a> {
    /// The tool's name.
    pub tool_name: &'a str,
    /// The platform's display name.
    pub platform_name: &'a str,
    /// The platform's issuer.
    pub issuer: &'a str,
    /// Product family and version.
    pub product: &'a str,
    /// The tool's login initiation URL.
    pub login_url: &'a str,
    /// The launch redirect URL.
    pub launch_url: &'a str,
    /// The deep-linking redirect URL.
    pub deep_link_url: &'a str,
    /// The tool's key set URL.
    pub jwks_url: &'a str,
    /// The scopes that will be requested.
    pub scopes: Vec<&'a str>,
    /// What personal data the platform will send, in plain words
    /// ([`PrivacyLevel::personal_data`](crate::lti13::lms_config::PrivacyLevel::personal_data)).
    pub privacy: &'a str,
    /// The id_token claims the registration asks for (`iss, sub`, and the name claims when
    /// the operator's privacy level includes names).
    pub claims: String,
    /// Whether the registration is active at once.
    pub activate: bool,
    /// Where the confirmation posts.
    pub action: &'a str,
    /// The pending registration's id.
    pub pending: &'a str,
    /// Minutes until the page expires.
    pub minutes: i64,
}

/// LTI Dynamic Registration done: tells the platform to close the registration window
/// (`postMessage({subject: "org.imsglobal.lti.close"})` to `window.opener || window.parent`,
/// the end of the LTI DR 1.0 flow).
///
/// After a re-registration (`updated`), it lists what changed instead, or says that nothing did.
#[derive(Template)]
#[template(path = "register_done.html")]
pub struct RegisterDone<'a> {
    /// The platform's display name.
    pub platform_name: &'a str,
    /// The client id the platform assigned.
    pub client_id: &'a str,
    /// The deployment id, when the platform reported one.
    pub deployment_id: Option<&'a str>,
    /// The registration's status now: `active`, `pending` or `disabled`.
    pub status: &'a str,
    /// Whether an existing registration was updated (or left as it was).
    pub updated: bool,
    /// For an update: what changed, one line each (empty: nothing changed).
    pub changes: Vec<String>,
}

/// LTI Dynamic Registration run again for a registration the tool already has: what would
/// change in it, and the button that confirms the changes.
#[derive(Template)]
#[template(path = "register_update.html")]
pub struct RegisterUpdate<'a> {
    /// The platform's display name.
    pub platform_name: &'a str,
    /// The platform's issuer.
    pub issuer: &'a str,
    /// The existing registration's client id.
    pub client_id: &'a str,
    /// What changes, one line each (`deployment dep-2 will be added`, …).
    pub changes: Vec<String>,
    /// The registration's status after the update: `active`, `pending` or `disabled`.
    pub status: &'a str,
    /// Where the confirmation posts.
    pub action: &'a str,
    /// The pending update's id.
    pub update: &'a str,
    /// Minutes until the page expires.
    pub minutes: i64,
}

/// The built-in demo activity: what the verified launch established.
#[derive(Template)]
#[template(path = "activity.html")]
pub struct Activity<'a> {
    /// The headline.
    pub heading: &'a str,
    /// Whether the user is course staff.
    pub instructor: bool,
    /// The user's name, or a neutral label.
    pub who: &'a str,
    /// The course.
    pub course: &'a str,
    /// The activity.
    pub resource: &'a str,
    /// Normalized roles.
    pub roles: &'a str,
    /// The attempt.
    pub attempt: &'a str,
    /// The platform.
    pub platform: &'a str,
    /// The session token, when the launch opened an attempt the demo may post a score for.
    pub score_session: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_submit_escapes_field_values() {
        let html = render(&AutoSubmit {
            title: "Opening",
            action: "https://tool.example/activity",
            fields: vec![("lti_session", "\"><script>alert(1)</script>")],
        });
        assert!(!html.contains("<script>alert(1)"));
        assert!(
            html.contains("&#34;&#62;&#60;script&#62;")
                || html.contains("&quot;&gt;&lt;script&gt;")
        );
    }

    #[test]
    fn error_page_shows_code_and_request_id() {
        let html = render(&ErrorPage {
            heading: "Launch refused",
            advice: "Go back",
            code: "LAUNCH_EXPIRED",
            request_id: "req-1",
        });
        assert!(html.contains("LAUNCH_EXPIRED"));
        assert!(html.contains("req-1"));
    }
}
