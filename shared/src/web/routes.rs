//! The route table: which public path goes to which HTTP function, in one place.
//!
//! Three routers must agree with it, and are checked against it so they cannot drift:
//!
//! * `ltictl serve` dispatches through [`route`] (infra/ltictl/src/serve.rs);
//! * `cargo lambda watch` routes by `[workspace.metadata.lambda.watch.router]` in the root
//!   `Cargo.toml` (checked by shared/tests/routes.rs and infra/check-template.py);
//! * CloudFront routes by the distribution's `CacheBehaviors` in `template.yaml` (checked by
//!   the same two).
//!
//! A pattern is an exact path (`/launch`) or a prefix written as CloudFront writes it
//! (`/outcomes/*`: every path under `/outcomes/`, not `/outcomes` itself, which has its own
//! exact entry). Paths that match nothing are answered 404 by `ltictl serve`; CloudFront sends
//! them to its default behaviour (the launch function, which answers with an error page).

use crate::domain::tool::{
    ACTIVITY_PATH, CANVAS_CONFIG_PATH, DEEP_LINK_PATH, JWKS_PATH, LAUNCH_PATH, LOGIN_PATH,
    REGISTER_PATH, VIEWS_PATH,
};

/// One HTTP Lambda function (a crate under `functions/` with a binary of the same name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Function {
    /// The tool's JWK set (`functions/jwks`).
    Jwks,
    /// OIDC login initiation (`functions/login`).
    Login,
    /// Resource-link launches and the demo activity (`functions/launch`).
    Launch,
    /// Deep-linking requests (`functions/deep-link`).
    DeepLink,
    /// Scores posted by activities (`functions/outcomes`).
    Outcomes,
    /// The course views (`functions/views`).
    Views,
    /// LTI Dynamic Registration and the Canvas configuration (`functions/register`).
    Register,
}

impl Function {
    /// Every HTTP function, in table order.
    pub const ALL: [Function; 7] = [
        Function::Jwks,
        Function::Login,
        Function::Launch,
        Function::DeepLink,
        Function::Outcomes,
        Function::Views,
        Function::Register,
    ];

    /// The function's crate and binary name (`functions/<name>`, SAM `BuildProperties.Binary`,
    /// the function name `cargo lambda watch` routes to).
    pub fn name(self) -> &'static str {
        match self {
            Function::Jwks => "jwks",
            Function::Login => "login",
            Function::Launch => "launch",
            Function::DeepLink => "deep-link",
            Function::Outcomes => "outcomes",
            Function::Views => "views",
            Function::Register => "register",
        }
    }
}

/// Who calls a path, and so how its refusals are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteKind {
    /// A page a browser navigates to: refusals are HTML pages.
    Browser,
    /// An API called by a platform or a script: refusals are JSON.
    Api,
}

/// One entry of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route {
    /// An exact path (`/launch`), or a prefix ending in `/*` (`/outcomes/*`).
    pub pattern: &'static str,
    /// The function that answers it.
    pub function: Function,
    /// Browser-facing or API.
    pub kind: RouteKind,
}

impl Route {
    /// For a prefix pattern (`/outcomes/*`), the prefix every matching path starts with
    /// (`/outcomes/`); `None` for an exact path.
    pub fn prefix(&self) -> Option<&'static str> {
        self.pattern.strip_suffix('*')
    }

    /// Whether `path` (without query string) is one this route answers.
    pub fn matches(&self, path: &str) -> bool {
        match self.prefix() {
            Some(prefix) => path.starts_with(prefix),
            None => path == self.pattern,
        }
    }
}

const fn page(pattern: &'static str, function: Function) -> Route {
    Route {
        pattern,
        function,
        kind: RouteKind::Browser,
    }
}

const fn api(pattern: &'static str, function: Function) -> Route {
    Route {
        pattern,
        function,
        kind: RouteKind::Api,
    }
}

/// Every public path and the function behind it.
pub const ROUTES: &[Route] = &[
    api(JWKS_PATH, Function::Jwks),
    api("/.well-known/jwks.json", Function::Jwks),
    page(LOGIN_PATH, Function::Login),
    page(LAUNCH_PATH, Function::Launch),
    page(ACTIVITY_PATH, Function::Launch),
    page(DEEP_LINK_PATH, Function::DeepLink),
    // `outcomes::OUTCOMES_PATH` (functions/outcomes, which this crate cannot import).
    api("/outcomes", Function::Outcomes),
    api("/outcomes/*", Function::Outcomes),
    page(VIEWS_PATH, Function::Views),
    page("/views/*", Function::Views),
    page(REGISTER_PATH, Function::Register),
    api(CANVAS_CONFIG_PATH, Function::Register),
];

/// The route answering `path` (without query string): an exact pattern first, else the
/// prefix pattern it falls under; `None` when no function serves it.
pub fn route(path: &str) -> Option<&'static Route> {
    ROUTES
        .iter()
        .find(|r| r.prefix().is_none() && r.pattern == path)
        .or_else(|| {
            ROUTES
                .iter()
                .find(|r| r.prefix().is_some() && r.matches(path))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function(path: &str) -> Option<Function> {
        route(path).map(|r| r.function)
    }

    #[test]
    fn routes_exact_paths() {
        assert_eq!(function("/jwks"), Some(Function::Jwks));
        assert_eq!(function("/.well-known/jwks.json"), Some(Function::Jwks));
        assert_eq!(function("/login"), Some(Function::Login));
        assert_eq!(function("/launch"), Some(Function::Launch));
        assert_eq!(function("/activity"), Some(Function::Launch));
        assert_eq!(function("/deep-link"), Some(Function::DeepLink));
        assert_eq!(function("/outcomes"), Some(Function::Outcomes));
        assert_eq!(function("/views"), Some(Function::Views));
        assert_eq!(function("/register"), Some(Function::Register));
        assert_eq!(function("/config/canvas.json"), Some(Function::Register));
    }

    #[test]
    fn routes_prefixes() {
        assert_eq!(function("/outcomes/abc"), Some(Function::Outcomes));
        assert_eq!(function("/outcomes/a/b"), Some(Function::Outcomes));
        // CloudFront's `/outcomes/*` matches the bare trailing slash too.
        assert_eq!(function("/outcomes/"), Some(Function::Outcomes));
        assert_eq!(function("/views/csv"), Some(Function::Views));
        assert_eq!(
            route("/outcomes").map(|r| r.pattern),
            Some("/outcomes"),
            "the exact entry wins over the prefix"
        );
    }

    #[test]
    fn routes_nothing_else() {
        for path in [
            "/",
            "",
            "/outcomesx",
            "/outcomesX",
            "/viewsx",
            "/launch/",
            "/launchx",
            "/LOGIN",
            "/jwks.json",
            "/config",
            "/config/canvas.json/x",
            "/lambda-url/launch/launch",
        ] {
            assert_eq!(route(path), None, "{path:?} must match nothing");
        }
    }

    #[test]
    fn routes_are_unique_and_well_formed() {
        let mut seen = std::collections::BTreeSet::new();
        for r in ROUTES {
            assert!(seen.insert(r.pattern), "{} is listed twice", r.pattern);
            assert!(
                r.pattern.starts_with('/'),
                "{} must start with /",
                r.pattern
            );
            if let Some(prefix) = r.prefix() {
                assert!(prefix.ends_with('/'), "{}: a prefix ends in /*", r.pattern);
            }
            assert!(
                !r.pattern.trim_end_matches('*').contains('*'),
                "{}: * only at the end",
                r.pattern
            );
            // A prefix pattern's bare prefix ("/outcomes/") reaches its function too.
            let sample = r.pattern.trim_end_matches('*');
            assert_eq!(
                route(sample).map(|m| m.function),
                Some(r.function),
                "{sample}"
            );
        }
    }

    #[test]
    fn routes_cover_every_function() {
        for f in Function::ALL {
            assert!(
                ROUTES.iter().any(|r| r.function == f),
                "{} has no route",
                f.name()
            );
        }
    }

    #[test]
    fn routes_kinds() {
        let kind = |path: &str| route(path).map(|r| r.kind);
        for path in [
            "/login",
            "/launch",
            "/activity",
            "/deep-link",
            "/views",
            "/views/roster",
            "/register",
        ] {
            assert_eq!(kind(path), Some(RouteKind::Browser), "{path}");
        }
        for path in [
            "/jwks",
            "/.well-known/jwks.json",
            "/outcomes",
            "/outcomes/1",
            "/config/canvas.json",
        ] {
            assert_eq!(kind(path), Some(RouteKind::Api), "{path}");
        }
    }
}
