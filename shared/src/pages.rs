//! The HTML pages the browser sees during login and launch, rendered with askama (auto-escaped;
//! values reach scripts through `data-` attributes, never spliced into JavaScript). They work
//! inside an LMS iframe and load nothing from other origins.

use askama::Template;

pub mod deep_link;

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
