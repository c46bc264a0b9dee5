//! LTI Dynamic Registration end to end over real sockets: `ltictl serve`'s app on loopback and
//! a platform's registration side on another loopback port (`lti_tests::registration_platform`).
//! The happy path stores what the platform returned; every refusal is a page with its reason
//! code and stores nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeSet;
use std::sync::Arc;

use lti_shared::domain::clock::FixedClock;
use lti_shared::domain::ids::{ClientId, DeploymentId, Issuer};
use lti_shared::domain::model::{PlatformOptions, Registration, Status};
use lti_tests::registration_platform::{Answer, RegistrationPlatform, TOOL_CONFIGURATION};
use lti_tests::tool::RunningTool;
use ltictl::serve::AppOptions;
use serde_json::json;
use url::Url;

const TOKEN: &str = "registration-token-0123456789";

struct Rig {
    tool: RunningTool,
    platform: RegistrationPlatform,
    clock: Arc<FixedClock>,
    http: reqwest::Client,
}

async fn rig_with(options: AppOptions) -> Rig {
    let clock = Arc::new(FixedClock::new(time::OffsetDateTime::now_utc()));
    let tool = RunningTool::start_with(lti_tests::tool::ToolOptions {
        app: options,
        clock: Some(clock.clone()),
        ..Default::default()
    })
    .await;
    let platform = RegistrationPlatform::start(TOKEN).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Rig {
        tool,
        platform,
        clock,
        http,
    }
}

async fn rig() -> Rig {
    rig_with(AppOptions::default()).await
}

/// What a page said: status, reason code (if any), whole body.
struct Page {
    status: u16,
    body: String,
}

impl Page {
    fn reason(&self) -> Option<String> {
        let html = scraper::Html::parse_document(&self.body);
        let selector = scraper::Selector::parse("#reason").unwrap();
        html.select(&selector)
            .next()
            .map(|e| e.text().collect::<String>())
    }

    fn pending_id(&self) -> String {
        let html = scraper::Html::parse_document(&self.body);
        let selector = scraper::Selector::parse("input[name=pending]").unwrap();
        html.select(&selector)
            .next()
            .unwrap_or_else(|| panic!("no confirmation form in {}", self.body))
            .value()
            .attr("value")
            .unwrap()
            .to_owned()
    }
}

impl Rig {
    /// The platform opens the registration URL (step 1).
    async fn open(&self, configuration_url: &str, token: Option<&str>) -> Page {
        let mut url = Url::parse(&self.tool.url("/register")).unwrap();
        url.query_pairs_mut()
            .append_pair("openid_configuration", configuration_url);
        if let Some(token) = token {
            url.query_pairs_mut()
                .append_pair("registration_token", token);
        }
        let response = self.http.get(url).send().await.unwrap();
        Page {
            status: response.status().as_u16(),
            body: response.text().await.unwrap(),
        }
    }

    /// The administrator presses "Register the tool" (step 2), from `site` as the browser
    /// reports it in `Sec-Fetch-Site`.
    async fn confirm_from(&self, pending: &str, site: &str) -> Page {
        let response = self
            .http
            .post(self.tool.url("/register"))
            .header("sec-fetch-site", site)
            .form(&[("pending", pending)])
            .send()
            .await
            .unwrap();
        Page {
            status: response.status().as_u16(),
            body: response.text().await.unwrap(),
        }
    }

    async fn confirm(&self, pending: &str) -> Page {
        self.confirm_from(pending, "same-origin").await
    }

    async fn stored(&self) -> Vec<Registration> {
        self.tool.backend.store.platforms().await.unwrap()
    }

    /// Both steps with the right token; the final page.
    async fn register(&self) -> Page {
        let page = self
            .open(&self.platform.configuration_url(), Some(TOKEN))
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        self.confirm(&page.pending_id()).await
    }

    async fn login_status(&self, client_id: &str) -> (u16, String) {
        let mut url = Url::parse(&self.tool.url("/login")).unwrap();
        url.query_pairs_mut()
            .append_pair("iss", self.platform.issuer())
            .append_pair("login_hint", "hint")
            .append_pair("target_link_uri", &self.tool.url("/launch"))
            .append_pair("client_id", client_id);
        let response = self.http.get(url).send().await.unwrap();
        (
            response.status().as_u16(),
            response.text().await.unwrap_or_default(),
        )
    }
}

#[tokio::test]
async fn registration_stores_the_platform_pending_and_closes_the_window() {
    let rig = rig().await;
    let page = rig
        .open(&rig.platform.configuration_url(), Some(TOKEN))
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(rig.platform.issuer()), "issuer shown");
    assert!(
        page.body.contains(&rig.tool.url("/deep-link")),
        "tool URLs shown"
    );
    assert!(
        page.body.contains("contextmembership.readonly"),
        "scopes shown"
    );
    assert!(
        rig.stored().await.is_empty(),
        "nothing stored before confirmation"
    );
    assert_eq!(
        rig.platform.configuration_fetches(),
        [Some(format!("Bearer {TOKEN}"))],
        "the token goes with the configuration fetch (Canvas needs it)"
    );

    let done = rig.confirm(&page.pending_id()).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("org.imsglobal.lti.close"));
    assert!(done.body.contains("window.opener || window.parent"));
    assert!(done.body.contains("client-1"));

    let calls = rig.platform.registrations();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let body = &calls[0].body;
    assert_eq!(
        body["redirect_uris"],
        json!([rig.tool.url("/launch"), rig.tool.url("/deep-link")])
    );
    assert_eq!(body["initiate_login_uri"], rig.tool.url("/login"));
    assert_eq!(body["jwks_uri"], rig.tool.url("/jwks"));
    let scope = body["scope"].as_str().unwrap();
    for wanted in [
        "lti-ags/scope/score",
        "lti-ags/scope/lineitem",
        "contextmembership",
    ] {
        assert!(scope.contains(wanted), "{scope}");
    }
    let types: Vec<&str> = body[TOOL_CONFIGURATION]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["LtiResourceLinkRequest", "LtiDeepLinkingRequest"]);

    let stored = rig.stored().await;
    assert_eq!(stored.len(), 1);
    let registration = &stored[0];
    assert_eq!(registration.issuer.as_str(), rig.platform.issuer());
    assert_eq!(registration.client_id.as_str(), "client-1");
    assert_eq!(
        registration.deployment_ids,
        BTreeSet::from([DeploymentId::parse("deployment-1").unwrap()])
    );
    assert_eq!(
        registration.auth_url.as_str(),
        format!("{}/mod/lti/auth.php", rig.platform.issuer())
    );
    assert_eq!(
        registration.token_url.as_str(),
        format!("{}/mod/lti/token.php", rig.platform.issuer())
    );
    assert_eq!(
        registration.jwks_url.as_str(),
        format!("{}/mod/lti/certs.php", rig.platform.issuer())
    );
    assert_eq!(registration.status, Status::Pending);
}

#[tokio::test]
async fn pending_registration_refuses_logins_until_approved() {
    let rig = rig().await;
    assert_eq!(rig.register().await.status, 200);
    let (status, body) = rig.login_status("client-1").await;
    assert_eq!(status, 403);
    assert!(body.contains("PLATFORM_PENDING"), "{body}");

    // Approving (what `ltictl platform update --status active` writes) lets logins through.
    let store = &rig.tool.backend.store;
    let issuer = Issuer::parse(rig.platform.issuer()).unwrap();
    let client = ClientId::parse("client-1").unwrap();
    let mut registration = store.platform(&issuer, &client).await.unwrap().unwrap();
    registration.status = Status::Active;
    store.update_platform(&registration).await.unwrap();
    // serve caches registrations for a few seconds.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let (status, _) = rig.login_status("client-1").await;
    assert_eq!(status, 302, "an approved registration starts logins");
}

#[tokio::test]
async fn auto_activate_option_stores_the_registration_active() {
    let rig = rig_with(AppOptions {
        auto_activate_registrations: true,
        ..AppOptions::default()
    })
    .await;
    let done = rig.register().await;
    assert_eq!(done.status, 200);
    assert!(done.body.contains("The registration is active."));
    assert_eq!(rig.stored().await[0].status, Status::Active);
}

#[tokio::test]
async fn registration_without_deployment_is_stored_without_one() {
    // Canvas creates the deployment later, when the administrator enables the tool.
    let rig = rig().await;
    rig.platform.answer_with(Answer::Registered {
        client_id: "10000000000042".into(),
        deployment_id: None,
    });
    let done = rig.register().await;
    assert_eq!(done.status, 200);
    assert!(done.body.contains("did not report a deployment"));
    let stored = rig.stored().await;
    assert_eq!(stored[0].client_id.as_str(), "10000000000042");
    assert!(stored[0].deployment_ids.is_empty());
}

#[tokio::test]
async fn mismatched_issuer_is_refused_and_nothing_registered() {
    let rig = rig().await;
    let mut document = rig.platform.default_configuration();
    document["issuer"] = "https://other-lms.example".into();
    rig.platform.set_configuration(document);
    let page = rig
        .open(&rig.platform.configuration_url(), Some(TOKEN))
        .await;
    assert_eq!(page.status, 400);
    assert_eq!(page.reason().as_deref(), Some("ISSUER_MISMATCH"));
    assert!(page.body.contains("issuer"));
    assert!(rig.platform.registrations().is_empty());
    assert!(rig.stored().await.is_empty());
}

#[tokio::test]
async fn unreachable_configuration_is_refused() {
    let rig = rig().await;
    // A port nobody listens on.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/openid-configuration",
        closed.local_addr().unwrap()
    );
    drop(closed);
    let page = rig.open(&url, Some(TOKEN)).await;
    assert_eq!(page.status, 502);
    assert_eq!(page.reason().as_deref(), Some("CONFIGURATION_UNREACHABLE"));
    assert!(rig.stored().await.is_empty());
}

#[tokio::test]
async fn configuration_without_registration_endpoint_is_refused() {
    let rig = rig().await;
    let mut document = rig.platform.default_configuration();
    document
        .as_object_mut()
        .unwrap()
        .remove("registration_endpoint");
    rig.platform.set_configuration(document);
    let page = rig
        .open(&rig.platform.configuration_url(), Some(TOKEN))
        .await;
    assert_eq!(page.status, 502);
    assert_eq!(page.reason().as_deref(), Some("CONFIGURATION_INVALID"));
    assert!(rig.stored().await.is_empty());
}

#[tokio::test]
async fn wrong_registration_token_is_refused_and_nothing_stored() {
    let rig = rig().await;
    let page = rig
        .open(&rig.platform.configuration_url(), Some("expired-token"))
        .await;
    assert_eq!(page.status, 200, "the configuration itself is public");
    let done = rig.confirm(&page.pending_id()).await;
    assert_eq!(done.status, 400);
    assert_eq!(done.reason().as_deref(), Some("REGISTRATION_TOKEN_REFUSED"));
    assert!(done.body.contains("Start the registration again"));
    assert_eq!(rig.platform.registrations().len(), 1);
    assert!(rig.stored().await.is_empty());
}

#[tokio::test]
async fn failing_registration_endpoint_is_refused_and_nothing_stored() {
    let rig = rig().await;
    rig.platform.answer_with(Answer::Status(500));
    let done = rig.register().await;
    assert_eq!(done.status, 502);
    assert_eq!(done.reason().as_deref(), Some("REGISTRATION_FAILED"));
    assert!(rig.stored().await.is_empty());
}

#[tokio::test]
async fn replayed_confirmation_is_refused_and_registers_once() {
    let rig = rig().await;
    let page = rig
        .open(&rig.platform.configuration_url(), Some(TOKEN))
        .await;
    let pending = page.pending_id();
    assert_eq!(rig.confirm(&pending).await.status, 200);
    let again = rig.confirm(&pending).await;
    assert_eq!(again.status, 410);
    assert_eq!(again.reason().as_deref(), Some("REGISTRATION_EXPIRED"));
    assert_eq!(rig.platform.registrations().len(), 1);
    assert_eq!(rig.stored().await.len(), 1);
}

#[tokio::test]
async fn expired_confirmation_is_refused_and_nothing_registered() {
    let rig = rig().await;
    let page = rig
        .open(&rig.platform.configuration_url(), Some(TOKEN))
        .await;
    rig.clock.advance(time::Duration::minutes(21));
    let done = rig.confirm(&page.pending_id()).await;
    assert_eq!(done.status, 410);
    assert_eq!(done.reason().as_deref(), Some("REGISTRATION_EXPIRED"));
    assert!(rig.platform.registrations().is_empty());
    assert!(rig.stored().await.is_empty());
}

#[tokio::test]
async fn cross_site_confirmation_is_refused_and_same_site_still_works() {
    let rig = rig().await;
    let page = rig
        .open(&rig.platform.configuration_url(), Some(TOKEN))
        .await;
    let pending = page.pending_id();
    let forged = rig.confirm_from(&pending, "cross-site").await;
    assert_eq!(forged.status, 403);
    assert_eq!(forged.reason().as_deref(), Some("CROSS_SITE_CONFIRMATION"));
    assert!(rig.platform.registrations().is_empty());
    assert_eq!(rig.confirm(&pending).await.status, 200);
}

#[tokio::test]
async fn already_registered_platform_is_refused_and_left_unchanged() {
    let rig = rig().await;
    let existing = Registration {
        issuer: Issuer::parse(rig.platform.issuer()).unwrap(),
        client_id: ClientId::parse("client-1").unwrap(),
        deployment_ids: BTreeSet::from([DeploymentId::parse("old-deployment").unwrap()]),
        auth_url: Url::parse("https://lms.example/auth").unwrap(),
        token_url: Url::parse("https://lms.example/token").unwrap(),
        jwks_url: Url::parse("https://lms.example/jwks").unwrap(),
        name: Some("registered by hand".into()),
        status: Status::Active,
        options: PlatformOptions::default(),
        created_at: time::OffsetDateTime::now_utc(),
    };
    rig.tool
        .backend
        .store
        .add_platform(&existing)
        .await
        .unwrap();
    let done = rig.register().await;
    assert_eq!(done.status, 409);
    assert_eq!(done.reason().as_deref(), Some("ALREADY_REGISTERED"));
    let stored = rig.stored().await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].name.as_deref(), Some("registered by hand"));
    assert_eq!(stored[0].status, Status::Active);
}

#[tokio::test]
async fn canvas_configuration_is_served_from_the_public_origin() {
    let rig = rig().await;
    let config: serde_json::Value = rig
        .http
        .get(rig.tool.url("/config/canvas.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["oidc_initiation_url"], rig.tool.url("/login"));
    assert_eq!(
        config["extensions"][0]["platform"],
        "canvas.instructure.com"
    );
}
