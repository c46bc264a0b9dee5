//! Binding a launch to the browser that started its login: the state cookie, or LTI Platform
//! Storage where the browser keeps no cookie. Shared by every endpoint that receives an
//! id_token from the platform's authorization endpoint (resource-link launches, deep linking
//! requests), so they bind the same way.
//!
//! The login function binds the state it issued with a `Partitioned` state cookie and, when the
//! platform offers `lti_storage_target`, with Platform Storage under [`storage_key`]. An
//! endpoint then:
//!
//! 1. reads the posted fields and the state cookie with [`LaunchForm::read`] (a posted state
//!    that does not parse as a [`LoginState`] was never issued: it has no cookie, no record and
//!    no Platform Storage entry);
//! 2. asks [`cookieless_page`] whether the browser sent no state cookie at all, and if so
//!    answers with the page it returns (it reads the state back from Platform Storage and posts
//!    again, or offers to open the tool in a new window);
//! 3. verifies [`LaunchForm::input`] with [`Verifier::verify`];
//! 4. drops the used cookie with [`clear_state_cookie`] ([`VerifiedLaunch::state`] names it).
//!
//! [`VerifiedLaunch::state`]: crate::lti13::launch::VerifiedLaunch::state

use lambda_http::{Body, Request, Response};
use url::Url;

use crate::domain::oidc::LoginState;
use crate::domain::tool::ToolUrls;
use crate::lti13::launch::{BrowserBinding, LaunchError, LaunchInput, Verifier, check_format};
use crate::lti13::login::{IssuedLogin, STATE_COOKIE_PREFIX, issued_login, state_cookie_name};
use crate::ports::StoreError;
use crate::web::http::{cookie, has_cookie_with_prefix, is_same_origin_post, param, set_cookie};
use crate::web::pages::{NewWindow, StorageLaunch, render};

/// The Platform Storage key a state is kept under (login stores it, launches read it back).
pub fn storage_key(state: &LoginState) -> String {
    format!("lti_state_{state}")
}

/// What a launch POST carries to bind it to the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchForm<'a> {
    /// The `id_token` form field (empty when missing; the verifier refuses it).
    pub id_token: &'a str,
    /// The `state` form field as posted (empty when missing); [`Self::login_state`] parses it.
    pub state: &'a str,
    /// `lti_storage_state`: the state the tool's page read back from Platform Storage.
    pub stored: Option<&'a str>,
    /// The value of this state's cookie, if the browser sent it.
    pub cookie: Option<String>,
    /// The browser sent no state cookie at all. Another state's cookie proves cookies work
    /// (and is a mismatch for the verifier), so it does not count as blocked.
    pub cookies_blocked: bool,
}

impl<'a> LaunchForm<'a> {
    /// Reads the form fields from `params` (the request's parameters) and the state cookie
    /// from `req`.
    pub fn read(req: &Request, params: &'a [(String, String)]) -> Self {
        let id_token = param(params, "id_token").unwrap_or_default();
        let state = param(params, "state").unwrap_or_default();
        let stored = param(params, "lti_storage_state");
        let cookie = LoginState::parse(state)
            .ok()
            .and_then(|state| cookie(req, &state_cookie_name(&state)));
        let cookies_blocked = cookie.is_none() && !has_cookie_with_prefix(req, STATE_COOKIE_PREFIX);
        Self {
            id_token,
            state,
            stored,
            cookie,
            cookies_blocked,
        }
    }

    /// The posted state, if it is one the tool could have issued.
    pub fn login_state(&self) -> Option<LoginState> {
        LoginState::parse(self.state).ok()
    }

    /// Whether Platform Storage must be tried before verifying: no state cookie at all,
    /// nothing read back from Platform Storage yet, and a state to look up.
    pub fn needs_platform_storage(&self) -> bool {
        self.cookies_blocked && self.stored.is_none() && !self.state.is_empty()
    }

    /// What goes to [`Verifier::verify`]. A state read back from Platform Storage counts only
    /// when the tool's own page posted it (it read the value from the platform's frame in this
    /// browser). Anyone who ran a login knows their state, so the same field in a form from
    /// another site proves nothing and would let an attacker log a victim into the attacker's
    /// launch.
    pub fn input(&self, req: &Request, tool: &ToolUrls) -> LaunchInput<'_> {
        let binding = match self.stored {
            Some(value) if is_same_origin_post(req, &tool.origin_string()) => {
                BrowserBinding::PlatformStorage(value)
            }
            Some(_) => BrowserBinding::Cookie(None),
            None => BrowserBinding::Cookie(self.cookie.as_deref()),
        };
        LaunchInput {
            id_token: self.id_token,
            state: self.state,
            binding,
        }
    }
}

/// The page for a browser that sent no state cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookielessPage {
    /// Reads the state from Platform Storage and posts the launch again, or (no storage
    /// offered, or the platform's origin unknown) offers to restart the login in a new window.
    pub html: String,
    /// Whether the platform offered Platform Storage at login (`lti_storage_target`).
    pub storage_offered: bool,
}

/// Why [`cookieless_page`] could not decide.
#[derive(Debug, thiserror::Error)]
pub enum CookielessError {
    /// The id_token fails the format check; refuse the launch.
    #[error(transparent)]
    Refused(LaunchError),
    /// The login state could not be read.
    #[error(transparent)]
    Store(StoreError),
}

/// For a browser that sent no state cookie at all (see [`LaunchForm::needs_platform_storage`])
/// and whose state is still live: the page to answer with instead of verifying, which posts the
/// launch again to `action` with the state read back from Platform Storage. `None` when the
/// launch goes on to verification as posted.
pub async fn cookieless_page(
    verifier: &Verifier,
    tool: &ToolUrls,
    action: &Url,
    form: &LaunchForm<'_>,
) -> Result<Option<CookielessPage>, CookielessError> {
    if !form.needs_platform_storage() {
        return Ok(None);
    }
    check_format(form.id_token, verifier.policy()).map_err(CookielessError::Refused)?;
    // A state the tool never issued has no login to read back: verify as posted.
    let Some(state) = form.login_state() else {
        return Ok(None);
    };
    let issued = issued_login(verifier.items().as_ref(), &state, verifier.clock().now())
        .await
        .map_err(CookielessError::Store)?;
    let Some(issued) = issued else {
        return Ok(None);
    };
    let restart = issued.restart_url(tool);
    let html = match (
        &issued.storage_target,
        platform_origin(verifier, &issued).await,
    ) {
        (Some(target), Some(origin)) => render(&StorageLaunch {
            target,
            platform_origin: &origin,
            key: &storage_key(&state),
            action: action.as_str(),
            id_token: form.id_token,
            state: state.as_str(),
            restart_url: restart.as_str(),
        }),
        _ => render(&NewWindow {
            restart_url: restart.as_str(),
        }),
    };
    Ok(Some(CookielessPage {
        html,
        storage_offered: issued.storage_target.is_some(),
    }))
}

/// The origin Platform Storage messages go to: the platform's authorization endpoint's.
async fn platform_origin(verifier: &Verifier, issued: &IssuedLogin) -> Option<String> {
    let registration = verifier
        .registry()
        .platform(&issued.issuer, &issued.client_id)
        .await
        .ok()??;
    Some(registration.auth_url.origin().ascii_serialization())
}

/// Tells the browser to drop the cookie of `state`: the state has been used.
pub fn clear_state_cookie(response: &mut Response<Body>, state: &LoginState) {
    set_cookie(
        response,
        &format!(
            "{}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=None; Partitioned",
            state_cookie_name(state)
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOOL: &str = "https://tool.example";

    fn tool() -> ToolUrls {
        ToolUrls::new(&Url::parse(TOOL).unwrap())
    }

    fn request(headers: &[(&str, &str)]) -> Request {
        let mut builder = http::Request::builder().method("POST").uri(TOOL);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::Empty).unwrap()
    }

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn own_state_cookie_binds_the_launch() {
        let req = request(&[("cookie", "other=1; __Host-lti_state_s1=s1")]);
        let params = fields(&[("id_token", "t"), ("state", "s1")]);
        let form = LaunchForm::read(&req, &params);
        assert_eq!(form.cookie.as_deref(), Some("s1"));
        assert!(!form.cookies_blocked && !form.needs_platform_storage());
        let input = form.input(&req, &tool());
        assert_eq!((input.id_token, input.state), ("t", "s1"));
        assert_eq!(input.binding, BrowserBinding::Cookie(Some("s1")));
    }

    #[test]
    fn another_states_cookie_is_a_mismatch_not_blocked_cookies() {
        let req = request(&[("cookie", "__Host-lti_state_s2=s2")]);
        let params = fields(&[("id_token", "t"), ("state", "s1")]);
        let form = LaunchForm::read(&req, &params);
        assert_eq!(form.cookie, None);
        assert!(!form.cookies_blocked && !form.needs_platform_storage());
        assert_eq!(
            form.input(&req, &tool()).binding,
            BrowserBinding::Cookie(None)
        );
    }

    #[test]
    fn state_the_tool_never_issues_has_no_cookie() {
        let req = request(&[("cookie", "__Host-lti_state_s1=s1")]);
        let params = fields(&[("id_token", "t"), ("state", "s1;x")]);
        let form = LaunchForm::read(&req, &params);
        assert_eq!(form.login_state(), None);
        assert_eq!(form.cookie, None);
        // Another state's cookie still proves cookies work.
        assert!(!form.cookies_blocked);
        // The verifier gets the field as posted, and refuses it as an unknown state.
        assert_eq!(form.input(&req, &tool()).state, "s1;x");
        let params = fields(&[("id_token", "t"), ("state", "s1")]);
        assert_eq!(
            LaunchForm::read(&req, &params).login_state(),
            Some(LoginState::parse("s1").unwrap())
        );
    }

    #[test]
    fn no_state_cookie_at_all_tries_platform_storage_once() {
        let req = request(&[("cookie", "unrelated=1")]);
        let params = fields(&[("id_token", "t"), ("state", "s1")]);
        assert!(LaunchForm::read(&req, &params).needs_platform_storage());
        // Already read back from storage, or no state to look up: verify as posted.
        let params = fields(&[("state", "s1"), ("lti_storage_state", "s1")]);
        assert!(!LaunchForm::read(&req, &params).needs_platform_storage());
        let params = fields(&[("id_token", "t")]);
        let form = LaunchForm::read(&req, &params);
        assert!(form.cookies_blocked && !form.needs_platform_storage());
    }

    #[test]
    fn stored_state_counts_only_from_the_tools_own_page() {
        let params = fields(&[("state", "s1"), ("lti_storage_state", "s1")]);
        let cookie = ("cookie", "__Host-lti_state_s1=s1");
        let own = request(&[("sec-fetch-site", "same-origin"), cookie]);
        assert_eq!(
            LaunchForm::read(&own, &params).input(&own, &tool()).binding,
            BrowserBinding::PlatformStorage("s1")
        );
        let own_by_origin = request(&[("origin", TOOL)]);
        assert_eq!(
            LaunchForm::read(&own_by_origin, &params)
                .input(&own_by_origin, &tool())
                .binding,
            BrowserBinding::PlatformStorage("s1")
        );
        // From another site, neither the stored state nor the cookie proves the browser.
        let other = request(&[("sec-fetch-site", "cross-site"), cookie]);
        assert_eq!(
            LaunchForm::read(&other, &params)
                .input(&other, &tool())
                .binding,
            BrowserBinding::Cookie(None)
        );
    }

    #[test]
    fn used_state_cookie_is_cleared() {
        let mut response = Response::new(Body::Empty);
        clear_state_cookie(&mut response, &LoginState::parse("s1").unwrap());
        assert_eq!(
            response.headers()[http::header::SET_COOKIE],
            "__Host-lti_state_s1=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=None; Partitioned"
        );
    }

    #[test]
    fn storage_key_names_the_state() {
        assert_eq!(
            storage_key(&LoginState::parse("abc").unwrap()),
            "lti_state_abc"
        );
    }
}
