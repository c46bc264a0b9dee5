//! The tool's own URLs, all built from its one public origin (see ARCHITECTURE "One public
//! origin"): the state cookie set by `/login` must be readable by `/launch`, and Platform
//! Storage is keyed by origin, so every browser-facing endpoint shares one origin.

use url::Url;

/// Path of OIDC login initiation (Security Framework §5.1.1.1).
pub const LOGIN_PATH: &str = "/login";
/// Path of the resource-link launch (the redirect URI for resource links).
pub const LAUNCH_PATH: &str = "/launch";
/// Path of the deep-linking endpoint (the redirect URI for deep-linking requests).
pub const DEEP_LINK_PATH: &str = "/deep-link";
/// Path of the JWK set.
pub const JWKS_PATH: &str = "/jwks";
/// Path of the built-in demo activity.
pub const ACTIVITY_PATH: &str = "/activity";
/// Path of LTI Dynamic Registration (the URL an LMS administrator pastes).
pub const REGISTER_PATH: &str = "/register";
/// Path of the Canvas developer-key JSON configuration.
pub const CANVAS_CONFIG_PATH: &str = "/config/canvas.json";
/// The course views (instructors' attempts view, learners' history, roster, CSV).
pub const VIEWS_PATH: &str = "/views";

/// The tool's public URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolUrls {
    origin: Url,
}

impl ToolUrls {
    /// URLs under `origin` (scheme, host and port; any path is ignored).
    pub fn new(origin: &Url) -> Self {
        let mut origin = origin.clone();
        origin.set_path("/");
        origin.set_query(None);
        origin.set_fragment(None);
        Self { origin }
    }

    /// The origin as a URL ending in `/`.
    pub fn origin(&self) -> &Url {
        &self.origin
    }

    /// The origin as browsers serialize it (`https://host[:port]`, no trailing slash), as used
    /// in `postMessage` target origins and token audiences.
    pub fn origin_string(&self) -> String {
        self.origin.origin().ascii_serialization()
    }

    fn at(&self, path: &str) -> Url {
        let mut url = self.origin.clone();
        url.set_path(path);
        url
    }

    /// OIDC login initiation URL.
    pub fn login(&self) -> Url {
        self.at(LOGIN_PATH)
    }

    /// Launch (redirect) URL for resource links.
    pub fn launch(&self) -> Url {
        self.at(LAUNCH_PATH)
    }

    /// Deep-linking (redirect) URL.
    pub fn deep_link(&self) -> Url {
        self.at(DEEP_LINK_PATH)
    }

    /// JWK set URL.
    pub fn jwks(&self) -> Url {
        self.at(JWKS_PATH)
    }

    /// The demo activity.
    pub fn activity(&self) -> Url {
        self.at(ACTIVITY_PATH)
    }

    /// The course views: where course staff land after a launch.
    pub fn views(&self) -> Url {
        self.at(VIEWS_PATH)
    }

    /// LTI Dynamic Registration initiation URL.
    pub fn register(&self) -> Url {
        self.at(REGISTER_PATH)
    }

    /// The Canvas developer-key JSON configuration.
    pub fn canvas_config(&self) -> Url {
        self.at(CANVAS_CONFIG_PATH)
    }

    /// The tool's domain as LMS registrations want it: the host, with the port when it is
    /// not the scheme's default (`lti.example.edu`, `localhost:3000`).
    pub fn domain(&self) -> String {
        let host = self.origin.host_str().unwrap_or_default();
        match self.origin.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    /// Whether `url` is served by this tool (same scheme, host and port). A `target_link_uri`
    /// elsewhere is refused, so login can never be used as an open redirect.
    pub fn owns(&self, url: &Url) -> bool {
        url.origin() == self.origin.origin()
    }

    /// The redirect URI to send the platform for a target: the deep-link URL when the target
    /// is the deep-link endpoint, the launch URL otherwise.
    pub fn redirect_uri_for(&self, target: &Url) -> Url {
        if target.path() == DEEP_LINK_PATH {
            self.deep_link()
        } else {
            self.launch()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool() -> ToolUrls {
        ToolUrls::new(&Url::parse("https://lti.example.edu").unwrap())
    }

    #[test]
    fn owns_same_origin_only() {
        let tool = tool();
        assert!(tool.owns(&Url::parse("https://lti.example.edu/launch?x=1").unwrap()));
        assert!(!tool.owns(&Url::parse("https://evil.example/launch").unwrap()));
        assert!(!tool.owns(&Url::parse("http://lti.example.edu/launch").unwrap()));
        assert!(!tool.owns(&Url::parse("https://lti.example.edu:8443/launch").unwrap()));
        assert!(!tool.owns(&Url::parse("https://lti.example.edu.evil.example/").unwrap()));
    }

    #[test]
    fn redirect_uri_for_deep_link_target_is_deep_link_url() {
        let tool = tool();
        let target = Url::parse("https://lti.example.edu/deep-link").unwrap();
        assert_eq!(
            tool.redirect_uri_for(&target).as_str(),
            "https://lti.example.edu/deep-link"
        );
        let target = Url::parse("https://lti.example.edu/activity/quiz-1").unwrap();
        assert_eq!(
            tool.redirect_uri_for(&target).as_str(),
            "https://lti.example.edu/launch"
        );
    }

    #[test]
    fn domain_has_port_only_when_not_default() {
        assert_eq!(tool().domain(), "lti.example.edu");
        let local = ToolUrls::new(&Url::parse("http://localhost:3000").unwrap());
        assert_eq!(local.domain(), "localhost:3000");
    }

    #[test]
    fn origin_string_has_no_trailing_slash() {
        assert_eq!(tool().origin_string(), "https://lti.example.edu");
    }
}
