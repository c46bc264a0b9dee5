//! LTI 1.3 login and launch end to end: the fake platform drives the tool's real `/login`,
//! `/launch` and `/activity` endpoints, served in-process by `ltictl serve`'s [`App`] over a
//! loopback socket, with the embedded store.
//!
//! Every refusal the verifier knows (Security Framework §5.1.3; LTI Core 1.3 §5; the tool
//! tests of the LTI Advantage certification guide §6.1.1) is sent as its own bad launch and
//! asserted by reason code and HTTP status, next to a good launch that passes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lti_shared::domain::clock::FixedClock;
use lti_shared::domain::ids::{ClientId, Issuer, ResourceLinkId, UserId};
use lti_shared::domain::keys::KeySet;
use lti_shared::domain::model::{PlatformScope, Registration, Status};
use lti_shared::domain::oidc::LoginState;
use lti_shared::lti13::login::state_cookie_name;
use lti_tests::platform::{
    Alg, CookieMode, FakePlatform, HeaderSpec, HttpResponse, LaunchOutcome, LaunchSpec,
    PlatformBuilder, auto_submit_form, claim, cookie_header, decode_unverified, post_form,
};
use serde_json::json;
use time::{Duration, OffsetDateTime};

/// The `sub` and resource link id of [`LaunchSpec::student`].
const STUDENT: &str = "fake-user-student-1";
const LINK: &str = "fake-resource-link-1";

// ---------------------------------------------------------------------------------------------
// Rig
// ---------------------------------------------------------------------------------------------

/// The tool served on loopback with a fresh embedded store, and a fake platform registered
/// with it. The tool's clock stands still at the start time until a test moves it.
struct Rig {
    base: String,
    backend: ltictl::backend::Backend,
    platform: FakePlatform,
    clock: Arc<FixedClock>,
    _dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Rig {
    async fn start() -> Self {
        Self::start_with(FakePlatform::builder(), |_| {}).await
    }

    /// Starts the platform from `builder` and the tool, and registers the platform's default
    /// client with the tool, as `adjust` changes the registration.
    async fn start_with(builder: PlatformBuilder, adjust: impl FnOnce(&mut Registration)) -> Self {
        let platform = builder.start().await;
        let dir = tempfile::tempdir().unwrap();
        let backend = ltictl::backend::Backend::embedded(&dir.path().join("data")).unwrap();
        let now = OffsetDateTime::now_utc();
        backend.keys.save_signing_keys(&tool_keys()).await.unwrap();

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let clock = Arc::new(FixedClock::new(now));
        let app = Arc::new(ltictl::serve::App::with_clock(
            &backend,
            url::Url::parse(&base).unwrap(),
            clock.clone(),
        ));
        let server = tokio::spawn(ltictl::serve::serve(listener, app));
        platform.add_redirect_uri(format!("{base}/launch"));

        let rig = Self {
            base,
            backend,
            platform,
            clock,
            _dir: dir,
            server,
        };
        let mut registration = rig.registration(rig.platform.client_id());
        adjust(&mut registration);
        rig.backend.store.add_platform(&registration).await.unwrap();
        rig
    }

    /// A registration of the platform's issuer for `client_id`, with its deployment.
    fn registration(&self, client_id: &str) -> Registration {
        self.platform.registration(client_id)
    }

    /// Registers another client of the same issuer.
    async fn register_client(&self, client_id: &str) {
        self.register_client_with(client_id, Status::Active).await;
    }

    /// Registers another client of the same issuer, with `status`.
    async fn register_client_with(&self, client_id: &str, status: Status) {
        self.platform.add_client_id(client_id);
        let mut registration = self.registration(client_id);
        registration.status = status;
        self.backend
            .store
            .add_platform(&registration)
            .await
            .unwrap();
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A whole launch of `spec` targeting the tool's `/launch`.
    async fn launch(&self, spec: LaunchSpec) -> LaunchOutcome {
        self.launch_to(&self.url("/launch"), spec).await
    }

    async fn launch_to(&self, target: &str, spec: LaunchSpec) -> LaunchOutcome {
        self.platform
            .launch(&self.url("/login"), target, spec)
            .await
    }

    /// Runs login and authentication for `spec` but keeps the platform's form: the launch POST
    /// is sent without the state cookie, which the tool answers with its "open in a new window"
    /// page without verifying or consuming anything. Returns what a browser would post, and
    /// the state cookie it holds.
    async fn prepare(&self, spec: LaunchSpec) -> Prepared {
        let outcome = self.launch(spec.cookie_mode(CookieMode::Omit)).await;
        let page = outcome.expect_launch();
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(reason_code(page).as_deref(), Some("COOKIES_BLOCKED"));
        Prepared {
            id_token: outcome.expect_id_token().to_owned(),
            state: outcome.state.clone().expect("the platform sent the state"),
            cookie: cookie_header(outcome.login_response.set_cookies())
                .expect("the login set the state cookie"),
        }
    }

    /// POSTs a launch form straight to `/launch`.
    async fn post_launch(&self, id_token: &str, state: &str, cookie: Option<&str>) -> HttpResponse {
        post_form(
            &self.url("/launch"),
            &[("id_token", id_token), ("state", state)],
            cookie,
        )
        .await
    }

    /// Follows a successful launch's auto-submitting form to `/activity` and reads the page.
    async fn open_activity(&self, launch: &HttpResponse) -> ActivityPage {
        assert_eq!(launch.status, 200, "{}", launch.body);
        let (action, fields) = auto_submit_form(&launch.body)
            .unwrap_or_else(|| panic!("no auto-submit form: {}", launch.body));
        assert_eq!(action, self.url("/activity"));
        let [(name, session)] = fields.as_slice() else {
            panic!("the hand-off form has other fields: {fields:?}");
        };
        assert_eq!(name, "lti_session");
        let page = post_form(&action, &[("lti_session", session)], None).await;
        assert_eq!(page.status, 200, "{}", page.body);
        ActivityPage::parse(&page.body)
    }

    /// Launches `spec`, expects success, and opens the activity.
    async fn launch_ok(&self, spec: LaunchSpec) -> ActivityPage {
        let outcome = self.launch(spec).await;
        self.open_activity(outcome.expect_launch()).await
    }

    fn scope(&self) -> PlatformScope {
        PlatformScope::lti13(
            Issuer::parse(self.platform.issuer()).unwrap(),
            ClientId::parse(self.platform.client_id()).unwrap(),
            lti_shared::domain::ids::DeploymentId::parse(
                lti_tests::platform::DEFAULT_DEPLOYMENT_ID,
            )
            .unwrap(),
        )
    }

    /// Asserts that the store holds no user, resource link or attempt for `sub` on `link`.
    async fn assert_nothing_recorded(&self, sub: &str, link: &str) {
        let scope = self.scope();
        let store = &self.backend.store;
        let user = UserId::parse(sub).unwrap();
        let link = ResourceLinkId::parse(link).unwrap();
        assert_eq!(store.user(&scope, &user).await.unwrap(), None);
        assert_eq!(store.resource_link(&scope, &link).await.unwrap(), None);
        assert!(
            store
                .attempts_of_resource_link(&scope, &link)
                .await
                .unwrap()
                .is_empty()
        );
    }
}

/// The tool's signing keys (a current and a next RSA key), generated once and shared by the
/// test processes through a file in Cargo's test temporary folder: generating them costs more
/// than the rest of a test, and which keys sign `lti_session` does not matter here.
fn tool_keys() -> KeySet {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("launch_flow_tool_keys.json");
    if let Some(keys) = std::fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<KeySet>(&bytes).ok())
        .filter(|keys| keys.current().is_ok())
    {
        return keys;
    }
    let mut keys = KeySet::default();
    keys.init(OffsetDateTime::now_utc()).unwrap();
    // Written whole, then renamed: a concurrent test process reads all of it or nothing.
    let partial = path.with_extension(format!("{}.partial", std::process::id()));
    std::fs::write(&partial, serde_json::to_vec(&keys).unwrap()).unwrap();
    std::fs::rename(&partial, &path).unwrap();
    keys
}

/// What the browser holds between the platform's form and the launch POST.
struct Prepared {
    id_token: String,
    state: String,
    /// The `Cookie` header with the state cookie.
    cookie: String,
}

/// The demo activity page.
#[derive(Debug)]
struct ActivityPage {
    heading: String,
    who: String,
    course: String,
    roles: String,
    attempt: String,
}

impl ActivityPage {
    fn parse(html: &str) -> Self {
        let text = |id: &str| {
            element_text(html, &format!("#{id}")).unwrap_or_else(|| panic!("no #{id}: {html}"))
        };
        Self {
            heading: text("heading"),
            who: text("who"),
            course: text("course"),
            roles: text("roles"),
            attempt: text("attempt"),
        }
    }
}

fn element_text(html: &str, selector: &str) -> Option<String> {
    let document = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(selector).unwrap();
    document
        .select(&selector)
        .next()
        .map(|e| e.text().collect::<String>().trim().to_owned())
}

/// The reason code a page shows: `#reason` on error pages, else the first `.code`.
fn reason_code(response: &HttpResponse) -> Option<String> {
    element_text(&response.body, "#reason").or_else(|| element_text(&response.body, "span.code"))
}

/// Asserts a refusal by HTTP status and reason code.
#[track_caller]
fn assert_refused(response: &HttpResponse, status: u16, code: &str) {
    assert_eq!(
        (response.status.as_u16(), reason_code(response).as_deref()),
        (status, Some(code)),
        "{}",
        response.body
    );
}

/// Asserts that a whole launch reached `/launch` and was refused.
#[track_caller]
fn assert_launch_refused(outcome: &LaunchOutcome, status: u16, code: &str) {
    assert_refused(outcome.expect_launch(), status, code);
}

/// A change made to a launch.
type Tamper = fn(LaunchSpec) -> LaunchSpec;

fn learner() -> LaunchSpec {
    LaunchSpec::student()
}

// ---------------------------------------------------------------------------------------------
// Happy path
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn launch_student_valid_shows_activity_and_records_attempt() {
    let rig = Rig::start().await;
    let outcome = rig.launch(learner()).await;

    // Login: a 302 to the platform's authorization endpoint, with the state cookie.
    assert_eq!(outcome.login_response.status, 302);
    let location = outcome.login_response.location().unwrap();
    assert!(location.starts_with(&rig.platform.auth_url()), "{location}");
    let set_cookie = outcome.login_response.set_cookies().join("\n");
    for attribute in ["Secure", "HttpOnly", "SameSite=None", "Partitioned"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let params = outcome.auth_request_params.as_ref().unwrap();
    assert_eq!(params["redirect_uri"], rig.url("/launch"));
    assert_eq!(params["client_id"], rig.platform.client_id());

    let page = rig.open_activity(outcome.expect_launch()).await;
    assert_eq!(page.heading, "Activity");
    assert_eq!(page.who, "Stu Dent");
    assert_eq!(page.course, "Testing LTI");
    assert!(page.roles.split(',').any(|r| r == "Learner"), "{page:?}");
    assert_eq!(page.attempt, "000001");

    let scope = rig.scope();
    let store = &rig.backend.store;
    let user = store
        .user(&scope, &UserId::parse(STUDENT).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.name.as_deref(), Some("Stu Dent"));
    let link = ResourceLinkId::parse(LINK).unwrap();
    assert!(store.resource_link(&scope, &link).await.unwrap().is_some());
    assert_eq!(
        store
            .attempts_of_resource_link(&scope, &link)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn launch_same_user_again_resumes_attempt() {
    let rig = Rig::start().await;
    assert_eq!(rig.launch_ok(learner()).await.attempt, "000001");
    assert_eq!(rig.launch_ok(learner()).await.attempt, "000001");
    let attempts = rig
        .backend
        .store
        .attempts_of_resource_link(&rig.scope(), &ResourceLinkId::parse(LINK).unwrap())
        .await
        .unwrap();
    assert_eq!(attempts.len(), 1);
}

#[tokio::test]
async fn launch_instructor_valid_lands_on_the_attempts_view() {
    let rig = Rig::start().await;
    rig.launch_ok(learner()).await;
    let outcome = rig.launch(LaunchSpec::instructor()).await;
    let launch = outcome.expect_launch();
    assert_eq!(launch.status, 200, "{}", launch.body);
    let (action, fields) = auto_submit_form(&launch.body).expect("a hand-off form");
    assert_eq!(
        action,
        rig.url("/views"),
        "course staff land on the attempts view"
    );
    let session = &fields.iter().find(|(n, _)| n == "lti_session").unwrap().1;
    let page = post_form(&action, &[("lti_session", session)], None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Attempts: "), "{}", page.body);
    assert!(
        page.body.contains("Stu Dent"),
        "the learner's attempt is listed"
    );
    assert!(page.body.contains("Testing LTI"), "{}", page.body);
}

#[tokio::test]
async fn launch_without_pii_shows_neutral_label() {
    let rig = Rig::start().await;
    let page = rig.launch_ok(learner().without_pii()).await;
    assert_eq!(page.who, "Learner");
    assert_eq!(page.heading, "Activity");
    assert_eq!(page.attempt, "000001");
}

// ---------------------------------------------------------------------------------------------
// Login initiation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn login_without_client_id_uses_only_registration() {
    let rig = Rig::start().await;
    let outcome = rig.launch(learner().without_login_param("client_id")).await;
    assert_eq!(outcome.login_response.status, 302);
    let params = outcome.auth_request_params.as_ref().unwrap();
    assert_eq!(params["client_id"], rig.platform.client_id());
    rig.open_activity(outcome.expect_launch()).await;
}

#[tokio::test]
async fn login_without_client_id_two_registrations_is_refused() {
    let rig = Rig::start().await;
    rig.register_client("second-client").await;
    let outcome = rig.launch(learner().without_login_param("client_id")).await;
    assert_refused(&outcome.login_response, 400, "CLIENT_ID_REQUIRED");
    assert!(outcome.login_response.location().is_none());
    assert_eq!(rig.platform.auth_request_count(), 0);

    // With client_id, each registration of the issuer launches.
    rig.launch_ok(learner()).await;
    rig.launch_ok(learner().client_id("second-client")).await;
}

#[tokio::test]
async fn login_foreign_target_link_uri_is_refused_without_redirect() {
    let rig = Rig::start().await;
    let outcome = rig
        .launch_to("https://evil.example/launch", learner())
        .await;
    assert_refused(&outcome.login_response, 400, "FOREIGN_TARGET");
    assert!(outcome.login_response.location().is_none());
    assert!(outcome.login_response.set_cookies().is_empty());
    assert!(outcome.auth_request_params.is_none());
    assert_eq!(rig.platform.auth_request_count(), 0);
}

#[tokio::test]
async fn login_unknown_issuer_is_refused() {
    let rig = Rig::start().await;
    let outcome = rig
        .launch(learner().login_param("iss", "https://unknown.example"))
        .await;
    assert_refused(&outcome.login_response, 400, "UNKNOWN_PLATFORM");
    assert!(outcome.login_response.location().is_none());
    assert_eq!(rig.platform.auth_request_count(), 0);
}

// ---------------------------------------------------------------------------------------------
// Launch refusals: registration
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn launch_unknown_issuer_is_refused() {
    let rig = Rig::start().await;
    let outcome = rig
        .launch(learner().set("iss", json!("https://unknown.example")))
        .await;
    assert_launch_refused(&outcome, 401, "UNKNOWN_PLATFORM");
}

#[tokio::test]
async fn launch_audience_not_our_client_is_refused() {
    let rig = Rig::start().await;
    let outcome = rig
        .launch(learner().set("aud", json!("someone-else")))
        .await;
    assert_launch_refused(&outcome, 401, "WRONG_AUDIENCE");
}

#[tokio::test]
async fn launch_audience_with_untrusted_extra_is_refused() {
    let rig = Rig::start().await;
    let outcome = rig
        .launch(learner().extra_audiences(["https://untrusted.example"]))
        .await;
    assert_eq!(outcome.claims()["azp"], rig.platform.client_id());
    assert_launch_refused(&outcome, 401, "WRONG_AUDIENCE");
}

#[tokio::test]
async fn launch_several_audiences_without_azp_is_refused() {
    let rig = Rig::start().await;
    let client = rig.platform.client_id().to_owned();
    let outcome = rig
        .launch(learner().set("aud", json!([client, client])).remove("azp"))
        .await;
    assert_launch_refused(&outcome, 401, "WRONG_AUDIENCE");
}

#[tokio::test]
async fn launch_several_audiences_with_azp_passes() {
    let rig = Rig::start().await;
    let client = rig.platform.client_id().to_owned();
    rig.launch_ok(learner().set("aud", json!([client, client])))
        .await;
}

#[tokio::test]
async fn launch_azp_not_our_client_is_refused() {
    let rig = Rig::start().await;
    let outcome = rig.launch(learner().azp("someone-else")).await;
    assert_launch_refused(&outcome, 401, "WRONG_AUDIENCE");
}

#[tokio::test]
async fn launch_deployment_id_missing_is_refused() {
    let rig = Rig::start().await;
    let outcome = rig.launch(learner().remove(claim::DEPLOYMENT_ID)).await;
    assert_launch_refused(&outcome, 400, "UNKNOWN_DEPLOYMENT");
}

#[tokio::test]
async fn launch_deployment_id_unregistered_is_refused() {
    let rig = Rig::start().await;
    let outcome = rig
        .launch(learner().set(claim::DEPLOYMENT_ID, json!("unregistered-deployment")))
        .await;
    assert_launch_refused(&outcome, 403, "UNKNOWN_DEPLOYMENT");
}

/// The disabled registration is a second client of the issuer, disabled before any lookup:
/// the tool keeps registrations in memory for a few seconds, so disabling one mid-test would
/// only take effect later.
#[tokio::test]
async fn launch_registration_disabled_is_refused() {
    let rig = Rig::start().await;
    rig.register_client_with("disabled-client", Status::Disabled)
        .await;

    // Login for the disabled registration is refused...
    let outcome = rig.launch(learner().client_id("disabled-client")).await;
    assert_refused(&outcome.login_response, 403, "PLATFORM_DISABLED");
    assert_eq!(rig.platform.auth_request_count(), 0);

    // ...and so is a token addressed to it, whatever login it rides on.
    let outcome = rig
        .launch(
            learner()
                .set("aud", json!("disabled-client"))
                .azp("disabled-client"),
        )
        .await;
    assert_launch_refused(&outcome, 403, "PLATFORM_DISABLED");

    // The active registration of the same issuer launches.
    rig.launch_ok(learner()).await;
}

// ---------------------------------------------------------------------------------------------
// Launch refusals: key and signature
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn launch_alg_none_is_refused() {
    let rig = Rig::start().await;
    let outcome = rig.launch(learner().alg(Alg::None)).await;
    assert!(outcome.expect_id_token().ends_with('.'));
    assert_launch_refused(&outcome, 401, "INVALID_SIGNATURE");
}

#[tokio::test]
async fn launch_hs256_with_public_key_secret_is_refused() {
    let rig = Rig::start().await;
    let outcome = rig
        .launch(learner().header(HeaderSpec::hs256_with_public_key()))
        .await;
    assert_launch_refused(&outcome, 401, "INVALID_SIGNATURE");
}

#[tokio::test]
async fn launch_kid_missing_is_refused() {
    let rig = Rig::start().await;
    let outcome = rig.launch(learner().without_kid()).await;
    assert!(
        decode_unverified(outcome.expect_id_token())
            .0
            .get("kid")
            .is_none()
    );
    assert_launch_refused(&outcome, 401, "INVALID_SIGNATURE");
}

#[tokio::test]
async fn launch_kid_not_published_is_refused() {
    let rig = Rig::start().await;
    let outcome = rig.launch(learner().kid("made-up-kid")).await;
    assert_launch_refused(&outcome, 401, "UNKNOWN_KEY");
}

#[tokio::test]
async fn launch_unpublished_key_under_published_kid_is_refused() {
    let rig = Rig::start().await;
    let kid = rig.platform.current_kid();
    let outcome = rig
        .launch(learner().signed_with_unpublished_key().kid(kid))
        .await;
    assert_launch_refused(&outcome, 401, "INVALID_SIGNATURE");
}

#[tokio::test]
async fn launch_tampered_payload_is_refused() {
    let rig = Rig::start().await;
    let prepared = rig.prepare(learner()).await;
    let (_, mut claims) = decode_unverified(&prepared.id_token);
    claims["sub"] = json!("someone-else");
    claims[claim::ROLES] = json!([lti_tests::platform::role::INSTRUCTOR]);
    let mut parts: Vec<String> = prepared.id_token.split('.').map(str::to_owned).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    let forged = parts.join(".");

    let response = rig
        .post_launch(&forged, &prepared.state, Some(&prepared.cookie))
        .await;
    assert_refused(&response, 401, "INVALID_SIGNATURE");
    rig.assert_nothing_recorded("someone-else", LINK).await;

    // The untampered token still launches.
    let response = rig
        .post_launch(&prepared.id_token, &prepared.state, Some(&prepared.cookie))
        .await;
    assert_eq!(rig.open_activity(&response).await.who, "Stu Dent");
}

// ---------------------------------------------------------------------------------------------
// Launch refusals: time
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn launch_expired_beyond_leeway_is_refused() {
    let rig = Rig::start().await;
    let outcome = rig
        .launch(learner().iat_offset(-400).exp_offset(-120))
        .await;
    assert_launch_refused(&outcome, 401, "LAUNCH_EXPIRED");
}

#[tokio::test]
async fn launch_expired_within_leeway_passes() {
    let rig = Rig::start().await;
    rig.launch_ok(learner().iat_offset(-330).exp_offset(-30))
        .await;
}

#[tokio::test]
async fn launch_issued_in_future_beyond_leeway_is_refused() {
    let rig = Rig::start().await;
    let outcome = rig.launch(learner().iat_offset(120).exp_offset(420)).await;
    assert_launch_refused(&outcome, 401, "LAUNCH_EXPIRED");
}

#[tokio::test]
async fn launch_not_before_in_future_is_refused() {
    let rig = Rig::start().await;
    let outcome = rig.launch(learner().nbf_offset(120)).await;
    assert_launch_refused(&outcome, 401, "LAUNCH_EXPIRED");
}

// ---------------------------------------------------------------------------------------------
// Launch refusals: claims
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn launch_wrong_version_is_refused() {
    let rig = Rig::start().await;
    let outcome = rig
        .launch(learner().set(claim::VERSION, json!("1.1.0")))
        .await;
    assert_launch_refused(&outcome, 400, "INVALID_CLAIMS");
}

#[tokio::test]
async fn launch_unknown_message_type_is_refused() {
    let rig = Rig::start().await;
    let outcome = rig.launch(learner().message_type("LtiMadeUpRequest")).await;
    assert_launch_refused(&outcome, 400, "UNSUPPORTED_MESSAGE");
}

#[tokio::test]
async fn launch_deep_linking_request_is_refused() {
    let rig = Rig::start().await;
    let spec = LaunchSpec::deep_linking(format!("{}/deep-link-return", rig.platform.issuer()));
    let outcome = rig.launch(spec).await;
    assert_eq!(
        outcome.claims()[claim::MESSAGE_TYPE],
        "LtiDeepLinkingRequest"
    );
    assert_launch_refused(&outcome, 400, "UNSUPPORTED_MESSAGE");
}

#[tokio::test]
async fn launch_roles_missing_is_refused() {
    let rig = Rig::start().await;
    let outcome = rig.launch(learner().remove(claim::ROLES)).await;
    assert_launch_refused(&outcome, 400, "INVALID_CLAIMS");
}

#[tokio::test]
async fn launch_roles_empty_passes() {
    let rig = Rig::start().await;
    let page = rig.launch_ok(learner().roles(Vec::<String>::new())).await;
    assert_eq!(page.roles, "");
    assert_eq!(page.attempt, "000001");
}

#[tokio::test]
async fn launch_resource_link_missing_is_refused() {
    let rig = Rig::start().await;
    let outcome = rig.launch(learner().remove(claim::RESOURCE_LINK)).await;
    assert_launch_refused(&outcome, 400, "INVALID_CLAIMS");
}

#[tokio::test]
async fn launch_target_link_uri_differs_from_login_is_refused() {
    let rig = Rig::start().await;
    let other = rig.url("/launch?elsewhere=1");
    let outcome = rig
        .launch(learner().set(claim::TARGET_LINK_URI, json!(other)))
        .await;
    assert_launch_refused(&outcome, 401, "TARGET_MISMATCH");
}

#[tokio::test]
async fn launch_sub_missing_is_refused() {
    let rig = Rig::start().await;
    let outcome = rig.launch(learner().remove("sub")).await;
    assert_launch_refused(&outcome, 400, "INVALID_CLAIMS");
}

#[tokio::test]
async fn launch_sub_missing_with_allow_anonymous_passes() {
    let rig = Rig::start_with(FakePlatform::builder(), |registration| {
        registration.options.allow_anonymous = true;
    })
    .await;
    let page = rig.launch_ok(learner().without_pii().remove("sub")).await;
    assert!(
        page.attempt.starts_with("(anonymous launch"),
        "{}",
        page.attempt
    );
    assert_eq!(page.who, "Learner");
    assert_eq!(page.course, "Testing LTI");
}

// ---------------------------------------------------------------------------------------------
// State and nonce
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn launch_without_cookie_or_storage_offers_new_window() {
    let rig = Rig::start().await;
    let outcome = rig.launch(learner().cookie_mode(CookieMode::Omit)).await;
    let page = outcome.expect_launch();
    assert_eq!(page.status, 200);
    assert_eq!(reason_code(page).as_deref(), Some("COOKIES_BLOCKED"));
    let document = scraper::Html::parse_document(&page.body);
    let selector = scraper::Selector::parse("a[target=_blank]").unwrap();
    let link = document
        .select(&selector)
        .next()
        .expect("a new-window link");
    let href = url::Url::parse(link.value().attr("href").unwrap()).unwrap();
    assert_eq!(href.origin().ascii_serialization(), rig.base);
    assert_eq!(href.path(), "/login");
    let query: std::collections::HashMap<String, String> =
        href.query_pairs().into_owned().collect();
    assert_eq!(query["iss"], rig.platform.issuer());
    assert_eq!(query["client_id"], rig.platform.client_id());
    assert_eq!(query["target_link_uri"], rig.url("/launch"));
    // Nothing was recorded or consumed: the launch has not been verified.
    rig.assert_nothing_recorded(STUDENT, LINK).await;
}

#[tokio::test]
async fn launch_cookie_wrong_value_is_refused() {
    let rig = Rig::start().await;
    let prepared = rig.prepare(learner()).await;
    let cookie = format!(
        "{}=not-the-state",
        state_cookie_name(&LoginState::parse(prepared.state.as_str()).unwrap())
    );
    let response = rig
        .post_launch(&prepared.id_token, &prepared.state, Some(&cookie))
        .await;
    assert_refused(&response, 401, "STATE_MISMATCH");
}

#[tokio::test]
async fn launch_cookie_of_other_state_is_refused() {
    let rig = Rig::start().await;
    let first = rig.prepare(learner()).await;
    let second = rig.prepare(learner()).await;
    let response = rig
        .post_launch(&first.id_token, &first.state, Some(&second.cookie))
        .await;
    assert_refused(&response, 401, "STATE_MISMATCH");
}

#[tokio::test]
async fn launch_unknown_state_is_refused() {
    let rig = Rig::start().await;
    let outcome = rig
        .launch(learner().response_state("state-the-tool-never-issued"))
        .await;
    assert_launch_refused(&outcome, 401, "STATE_EXPIRED");
}

#[tokio::test]
async fn launch_nonce_differs_from_issued_is_refused() {
    let rig = Rig::start().await;
    let outcome = rig
        .launch(learner().nonce("nonce-the-tool-never-issued"))
        .await;
    assert_launch_refused(&outcome, 401, "STATE_MISMATCH");
}

#[tokio::test]
async fn launch_replayed_is_refused() {
    let rig = Rig::start().await;
    let prepared = rig.prepare(learner()).await;
    let post = || rig.post_launch(&prepared.id_token, &prepared.state, Some(&prepared.cookie));
    let first = post().await;
    rig.open_activity(&first).await;
    let second = post().await;
    assert_refused(&second, 401, "LAUNCH_REPLAYED");
}

#[tokio::test]
async fn launch_posted_twice_at_once_succeeds_once() {
    let rig = Rig::start().await;
    let prepared = rig.prepare(learner()).await;
    let post = || rig.post_launch(&prepared.id_token, &prepared.state, Some(&prepared.cookie));
    let (a, b) = tokio::join!(post(), post());
    let (ok, refused) = match (a.status.as_u16(), b.status.as_u16()) {
        (200, _) => (a, b),
        (_, 200) => (b, a),
        _ => panic!("neither launch passed: {a:?} {b:?}"),
    };
    assert_refused(&refused, 401, "LAUNCH_REPLAYED");
    assert_eq!(rig.open_activity(&ok).await.attempt, "000001");
}

/// The invariant behind the test above, which holds whatever the loser's reason code: of two
/// simultaneous posts of one token, exactly one launches and one attempt is recorded.
#[tokio::test]
async fn launch_posted_twice_at_once_launches_once() {
    let rig = Rig::start().await;
    for round in 0..5 {
        let sub = format!("user-race-{round}");
        let prepared = rig.prepare(learner().sub(sub.as_str())).await;
        let post = || rig.post_launch(&prepared.id_token, &prepared.state, Some(&prepared.cookie));
        let (a, b) = tokio::join!(post(), post());
        let statuses = [a.status.as_u16(), b.status.as_u16()];
        assert!(
            statuses == [200, 401] || statuses == [401, 200],
            "round {round}: {a:?} {b:?}"
        );
        let ok = if statuses[0] == 200 { a } else { b };
        assert_eq!(rig.open_activity(&ok).await.attempt, "000001");
        let attempts = rig
            .backend
            .store
            .attempts_of_user_on_resource_link(
                &rig.scope(),
                &ResourceLinkId::parse(LINK).unwrap(),
                &UserId::parse(sub).unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(attempts.len(), 1);
    }
}

#[tokio::test]
async fn launch_refused_binding_does_not_burn_nonce() {
    let rig = Rig::start().await;
    let prepared = rig.prepare(learner()).await;
    let wrong = format!(
        "{}=not-the-state",
        state_cookie_name(&LoginState::parse(prepared.state.as_str()).unwrap())
    );
    let response = rig
        .post_launch(&prepared.id_token, &prepared.state, Some(&wrong))
        .await;
    assert_refused(&response, 401, "STATE_MISMATCH");
    let response = rig
        .post_launch(&prepared.id_token, &prepared.state, Some(&prepared.cookie))
        .await;
    assert_eq!(rig.open_activity(&response).await.attempt, "000001");
}

// ---------------------------------------------------------------------------------------------
// Nothing is written for a refused launch
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn launch_refused_records_nothing() {
    let rig = Rig::start().await;
    // Each refusal comes from a later step of the verification; each uses its own user and
    // resource link, so a record written by any of them would show.
    let cases: Vec<(&str, Tamper, u16, &str)> = vec![
        (
            "expired",
            |s| s.iat_offset(-400).exp_offset(-120),
            401,
            "LAUNCH_EXPIRED",
        ),
        (
            "no-roles",
            |s| s.remove(claim::ROLES),
            400,
            "INVALID_CLAIMS",
        ),
        (
            "other-target",
            |s| s.set(claim::TARGET_LINK_URI, json!("http://127.0.0.1:1/launch")),
            401,
            "TARGET_MISMATCH",
        ),
        (
            "other-nonce",
            |s| s.nonce("never-issued"),
            401,
            "STATE_MISMATCH",
        ),
    ];
    for (name, tamper, status, code) in cases {
        let sub = format!("user-{name}");
        let link = format!("link-{name}");
        let spec = tamper(learner().sub(sub.as_str()).resource_link_id(link.as_str()));
        let outcome = rig.launch(spec).await;
        assert_launch_refused(&outcome, status, code);
        rig.assert_nothing_recorded(&sub, &link).await;
    }

    // A state-binding refusal on a prepared token records nothing either.
    let prepared = rig
        .prepare(
            learner()
                .sub("user-bad-cookie")
                .resource_link_id("link-bad-cookie"),
        )
        .await;
    let wrong = format!(
        "{}=not-the-state",
        state_cookie_name(&LoginState::parse(prepared.state.as_str()).unwrap())
    );
    let response = rig
        .post_launch(&prepared.id_token, &prepared.state, Some(&wrong))
        .await;
    assert_refused(&response, 401, "STATE_MISMATCH");
    rig.assert_nothing_recorded("user-bad-cookie", "link-bad-cookie")
        .await;
}

// ---------------------------------------------------------------------------------------------
// Platform keys
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn platform_keys_later_launches_use_cache() {
    let rig = Rig::start().await;
    assert_eq!(rig.platform.jwks_fetch_count(), 0);
    rig.launch_ok(learner()).await;
    assert_eq!(rig.platform.jwks_fetch_count(), 1);
    rig.launch_ok(learner()).await;
    rig.launch_ok(learner().sub("another-learner")).await;
    assert_eq!(rig.platform.jwks_fetch_count(), 1);
}

#[tokio::test]
async fn platform_keys_rotated_key_refetches_once_and_launches() {
    let rig = Rig::start().await;
    rig.launch_ok(learner()).await;
    assert_eq!(rig.platform.jwks_fetch_count(), 1);

    // Later (past the refetch interval, within the cache's freshness) the platform rotates.
    rig.clock.advance(Duration::seconds(31));
    let old = rig.platform.current_kid();
    let new = rig.platform.rotate_key();
    rig.platform.unpublish_old_keys();
    let outcome = rig.launch(learner()).await;
    let (header, _) = decode_unverified(outcome.expect_id_token());
    assert_eq!(header["kid"], new.as_str());
    assert_ne!(old, new);
    rig.open_activity(outcome.expect_launch()).await;
    assert_eq!(rig.platform.jwks_fetch_count(), 2);

    rig.launch_ok(learner()).await;
    assert_eq!(rig.platform.jwks_fetch_count(), 2);
}

#[tokio::test]
async fn platform_keys_made_up_kid_refetches_at_most_once_per_window() {
    let rig = Rig::start().await;
    rig.launch_ok(learner()).await;
    assert_eq!(rig.platform.jwks_fetch_count(), 1);

    rig.clock.advance(Duration::seconds(31));
    for _ in 0..5 {
        let outcome = rig.launch(learner().kid("made-up-kid")).await;
        assert_launch_refused(&outcome, 401, "UNKNOWN_KEY");
    }
    assert_eq!(rig.platform.jwks_fetch_count(), 2);
    rig.launch_ok(learner()).await;
    assert_eq!(rig.platform.jwks_fetch_count(), 2);

    // The next window allows one more.
    rig.clock.advance(Duration::seconds(31));
    for _ in 0..3 {
        let outcome = rig.launch(learner().kid("another-made-up-kid")).await;
        assert_launch_refused(&outcome, 401, "UNKNOWN_KEY");
    }
    assert_eq!(rig.platform.jwks_fetch_count(), 3);
}

#[tokio::test]
async fn platform_keys_endpoint_down_launches_use_cache() {
    let rig = Rig::start().await;
    rig.launch_ok(learner()).await;
    assert_eq!(rig.platform.jwks_fetch_count(), 1);
    rig.platform.set_jwks_down(true);
    rig.launch_ok(learner()).await;
    rig.launch_ok(learner().sub("learner-2")).await;
    assert_eq!(rig.platform.jwks_fetch_count(), 1);

    // Even once the cached set is stale, a failing endpoint leaves the stale copy in use.
    rig.clock.advance(Duration::minutes(16));
    rig.launch_ok(learner().exp_offset(3600)).await;
    assert_eq!(
        rig.platform.jwks_fetch_count(),
        2,
        "one try at the stale set"
    );
    // The failed try is remembered: launches right after it do not wait on the endpoint again.
    rig.launch_ok(learner().exp_offset(3600)).await;
    rig.launch_ok(learner().sub("learner-3").exp_offset(3600))
        .await;
    assert_eq!(rig.platform.jwks_fetch_count(), 2);
    // After the refetch interval, one more try.
    rig.clock.advance(Duration::seconds(31));
    rig.launch_ok(learner().exp_offset(3600)).await;
    assert_eq!(rig.platform.jwks_fetch_count(), 3);
}

// ---------------------------------------------------------------------------------------------
// Format and size
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn launch_oversized_token_is_refused_before_lookup() {
    let rig = Rig::start().await;
    let outcome = rig
        .launch(learner().set("padding", json!("x".repeat(129 * 1024))))
        .await;
    assert!(outcome.expect_id_token().len() > 128 * 1024);
    assert_launch_refused(&outcome, 400, "INVALID_REQUEST");
    assert_eq!(rig.platform.jwks_fetch_count(), 0);
}

#[tokio::test]
async fn launch_malformed_token_is_refused() {
    let rig = Rig::start().await;
    let outcome = rig.launch(learner().raw_id_token("abc")).await;
    assert_launch_refused(&outcome, 400, "INVALID_REQUEST");
    assert_eq!(rig.platform.jwks_fetch_count(), 0);
}

// ---------------------------------------------------------------------------------------------
// Platform Storage binding (login CSRF)
// ---------------------------------------------------------------------------------------------

/// Runs a login that offers Platform Storage and the platform's answer, then posts the launch
/// the way the tool's storage page does (`id_token`, `state`, and `lti_storage_state`, the state
/// read back from storage) with `headers`. Returns status and body.
async fn post_storage_launch(rig: &Rig, headers: &[(&str, &str)]) -> (u16, String) {
    rig.platform.set_launch_template(learner());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let target = rig.url("/launch");
    let mut login_url = url::Url::parse(&rig.url("/login")).unwrap();
    login_url.query_pairs_mut().extend_pairs([
        ("iss", rig.platform.issuer()),
        ("login_hint", "hint"),
        ("target_link_uri", target.as_str()),
        ("client_id", rig.platform.client_id()),
        ("lti_storage_target", "post_message_forwarding"),
    ]);
    let login = http
        .get(login_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let document = scraper::Html::parse_document(&login);
    let selector = scraper::Selector::parse("#lti").unwrap();
    let next = document
        .select(&selector)
        .next()
        .and_then(|e| e.value().attr("data-next"))
        .unwrap_or_else(|| panic!("the login answers with the storage page: {login}"))
        .to_owned();
    let auth = http.get(next).send().await.unwrap().text().await.unwrap();
    let (action, fields) = auto_submit_form(&auth).unwrap();
    let field = |name: &str| fields.iter().find(|(n, _)| n == name).unwrap().1.clone();
    let (id_token, state) = (field("id_token"), field("state"));
    let mut request = http.post(action).form(&[
        ("id_token", id_token.as_str()),
        ("state", state.as_str()),
        ("lti_storage_state", state.as_str()),
    ]);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn launch_storage_state_from_tool_page_passes() {
    let rig = Rig::start().await;
    let (status, body) = post_storage_launch(&rig, &[("sec-fetch-site", "same-origin")]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("lti_session"), "{body}");
    // Browsers without Sec-Fetch-Site: the Origin header must be the tool's.
    let rig = Rig::start().await;
    let (status, body) = post_storage_launch(&rig, &[("origin", rig.base.as_str())]).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn launch_storage_state_posted_from_another_site_is_refused() {
    // An attacker who ran a login knows its state; a form on their site that posts it into the
    // victim's browser must not pass for Platform Storage.
    let rig = Rig::start().await;
    let (status, body) = post_storage_launch(
        &rig,
        &[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://evil.example"),
        ],
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("STATE_MISMATCH"), "{body}");
    rig.assert_nothing_recorded(STUDENT, LINK).await;
    // No origin information at all is refused too.
    let rig = Rig::start().await;
    let (status, body) = post_storage_launch(&rig, &[]).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("STATE_MISMATCH"), "{body}");
}
