//! LTI Dynamic Registration end to end over real sockets: `ltictl serve`'s app on loopback and
//! a platform's registration side on another loopback port (`lti_tests::registration_platform`).
//! The happy path stores what the platform returned; every refusal is a page with its reason
//! code and stores nothing.
//!
//! The tool runs as deployed by default: registration by invitation. Each [`Rig::open`] is
//! preceded by a fresh invitation (as an operator's `ltictl registration invite`), so the
//! tests of other rules go through the invitation check too; the invitation tests use
//! [`Rig::open_invited`] with a chosen invitation, or none. Only
//! `registration_saved_meanwhile_by_another_confirmation_is_refused_as_already_registered`,
//! which drives the handler directly and is about a race in the registry, opens registration.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeSet;
use std::sync::Arc;

use lti_shared::app::invitations;
use lti_shared::domain::audit::{AuditAction, AuditEntry};
use lti_shared::domain::clock::{Clock as _, FixedClock};
use lti_shared::domain::ids::{ClientId, DeploymentId, Issuer};
use lti_shared::domain::model::{PlatformScope, Registration, Status};
use lti_shared::lti13::dynamic_registration::CANVAS_PRIVACY_LEVEL;
use lti_shared::lti13::lms_config::PrivacyLevel;
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
        self.hidden("pending")
    }

    /// The id of the proposed update on the changes' confirmation page.
    fn update_id(&self) -> String {
        self.hidden("update")
    }

    fn hidden(&self, name: &str) -> String {
        let html = scraper::Html::parse_document(&self.body);
        let selector = scraper::Selector::parse(&format!("input[name={name}]")).unwrap();
        html.select(&selector)
            .next()
            .unwrap_or_else(|| panic!("no {name} form in {}", self.body))
            .value()
            .attr("value")
            .unwrap()
            .to_owned()
    }

    /// The text of the element with this id, whitespace collapsed.
    fn text(&self, id: &str) -> Option<String> {
        let html = scraper::Html::parse_document(&self.body);
        let selector = scraper::Selector::parse(&format!("#{id}")).unwrap();
        html.select(&selector).next().map(|e| {
            e.text()
                .collect::<String>()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
    }

    /// The lines of the changes list (`#changes li`).
    fn changes(&self) -> Vec<String> {
        let html = scraper::Html::parse_document(&self.body);
        let selector = scraper::Selector::parse("#changes li").unwrap();
        html.select(&selector)
            .map(|e| e.text().collect::<String>().trim().to_owned())
            .collect()
    }
}

impl Rig {
    /// The operator invites an LMS administrator: the invitation token.
    async fn invite(&self, lifetime: time::Duration) -> String {
        invitations::issue(
            self.tool.backend.store.as_ref(),
            self.clock.now(),
            lifetime,
            Some("test LMS"),
        )
        .await
        .unwrap()
        .token
        .expose()
        .to_owned()
    }

    /// The platform opens the registration URL of a fresh invitation (step 1).
    async fn open(&self, configuration_url: &str, token: Option<&str>) -> Page {
        let invitation = self.invite(time::Duration::days(7)).await;
        self.open_invited(configuration_url, token, Some(&invitation))
            .await
    }

    /// The platform opens the registration URL with `invitation` (none: the bare `/register`).
    /// The invitation comes first in the query, as in the URL the administrator pasted; the
    /// platform appends its parameters.
    async fn open_invited(
        &self,
        configuration_url: &str,
        token: Option<&str>,
        invitation: Option<&str>,
    ) -> Page {
        let mut url = Url::parse(&self.tool.url("/register")).unwrap();
        if let Some(invitation) = invitation {
            url.query_pairs_mut().append_pair("invitation", invitation);
        }
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

    /// The administrator presses "Update the registration" on the changes' page (step 3 of a
    /// re-registration), from `site`.
    async fn confirm_update_from(&self, update: &str, site: &str) -> Page {
        let response = self
            .http
            .post(self.tool.url("/register"))
            .header("sec-fetch-site", site)
            .form(&[("update", update)])
            .send()
            .await
            .unwrap();
        Page {
            status: response.status().as_u16(),
            body: response.text().await.unwrap(),
        }
    }

    async fn audit(&self) -> Vec<AuditEntry> {
        self.tool.backend.store.audit_entries().await.unwrap()
    }

    /// The platform runs the registration again with a fresh token (Moodle's re-registration)
    /// and answers with `client_id` and `deployment_id`; the administrator confirms the first
    /// page. Returns the page the tool answers with.
    async fn register_again(&self, token: &str, client_id: &str, deployment: Option<&str>) -> Page {
        self.platform.renew_token(token);
        self.platform.answer_with(Answer::Registered {
            client_id: client_id.into(),
            deployment_id: deployment.map(str::to_owned),
        });
        let page = self
            .open(&self.platform.configuration_url(), Some(token))
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        self.confirm(&page.pending_id()).await
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

// Re-registration (LTI DR run again for a registration the tool has): the platform answers
// with the existing client id; the tool shows what would change and writes nothing until the
// administrator confirms those changes on a second page, then writes the update and an audit
// entry and closes the window.

/// Approves `client-1`, as `ltictl platform update --status …` would.
async fn set_status(rig: &Rig, status: Status) -> Registration {
    let store = &rig.tool.backend.store;
    let issuer = Issuer::parse(rig.platform.issuer()).unwrap();
    let client = ClientId::parse("client-1").unwrap();
    let mut registration = store.platform(&issuer, &client).await.unwrap().unwrap();
    registration.status = status;
    store.update_platform(&registration).await.unwrap();
    registration
}

fn deployments(ids: &[&str]) -> BTreeSet<DeploymentId> {
    ids.iter()
        .map(|d| DeploymentId::parse(*d).unwrap())
        .collect()
}

#[tokio::test]
async fn reregistration_adds_the_new_deployment_after_the_changes_are_confirmed() {
    let rig = rig().await;
    assert_eq!(rig.register().await.status, 200);
    let before = set_status(&rig, Status::Active).await;

    let page = rig
        .register_again("token-2", "client-1", Some("deployment-2"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.changes(), ["deployment deployment-2 will be added"]);
    assert_eq!(
        page.text("status").as_deref(),
        Some("The registration is active afterwards.")
    );
    assert!(
        !page.body.contains("org.imsglobal.lti.close"),
        "the changes' page must not close the window"
    );
    assert_eq!(
        rig.stored().await,
        std::slice::from_ref(&before),
        "nothing written yet"
    );
    assert!(rig.audit().await.is_empty());
    let calls = rig.platform.registrations();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].authorization.as_deref(), Some("Bearer token-2"));

    let done = rig
        .confirm_update_from(&page.update_id(), "same-origin")
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("org.imsglobal.lti.close"));
    assert_eq!(
        done.text("heading").as_deref(),
        Some("Registration updated")
    );
    assert_eq!(done.changes(), ["deployment deployment-2 added"]);

    let stored = rig.stored().await;
    assert_eq!(stored.len(), 1, "one registration");
    assert_eq!(
        stored[0].deployment_ids,
        deployments(&["deployment-1", "deployment-2"])
    );
    assert_eq!(stored[0].status, Status::Active, "same keys: stays active");
    assert_eq!(stored[0].created_at, before.created_at);

    let audit = rig.audit().await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, AuditAction::RegistrationUpdate);
    assert_eq!(
        audit[0].scope,
        Some(PlatformScope::registration(
            before.issuer.clone(),
            before.client_id.clone(),
        ))
    );
    assert_eq!(audit[0].changes, ["deployment deployment-2 added"]);
    assert_eq!(audit[0].subject, None);
}

#[tokio::test]
async fn reregistration_confirmed_cross_site_or_after_expiry_changes_nothing() {
    let rig = rig().await;
    assert_eq!(rig.register().await.status, 200);
    let before = rig.stored().await;

    // The first confirmation of the re-registration, forged by another site: refused before
    // the platform is called.
    rig.platform.renew_token("token-2");
    rig.platform.answer_with(Answer::Registered {
        client_id: "client-1".into(),
        deployment_id: Some("deployment-2".into()),
    });
    let page = rig
        .open(&rig.platform.configuration_url(), Some("token-2"))
        .await;
    let forged = rig.confirm_from(&page.pending_id(), "cross-site").await;
    assert_eq!(forged.status, 403);
    assert_eq!(forged.reason().as_deref(), Some("CROSS_SITE_CONFIRMATION"));
    assert_eq!(rig.platform.registrations().len(), 1, "platform not called");

    // The administrator's own confirmation: the changes' page.
    let changes = rig.confirm(&page.pending_id()).await;
    assert_eq!(changes.status, 200, "{}", changes.body);
    let update = changes.update_id();

    // The changes' confirmation forged by another site: refused, nothing written.
    let forged = rig.confirm_update_from(&update, "cross-site").await;
    assert_eq!(forged.status, 403);
    assert_eq!(forged.reason().as_deref(), Some("CROSS_SITE_CONFIRMATION"));
    assert_eq!(rig.stored().await, before);
    assert!(rig.audit().await.is_empty());

    // Confirmed after the page expired: refused, nothing written.
    rig.clock.advance(time::Duration::minutes(21));
    let late = rig.confirm_update_from(&update, "same-origin").await;
    assert_eq!(late.status, 410);
    assert_eq!(late.reason().as_deref(), Some("REGISTRATION_EXPIRED"));
    assert_eq!(rig.stored().await, before);
    assert!(rig.audit().await.is_empty());

    // The same re-registration confirmed in time, from the tool's page, is applied.
    let page = rig
        .register_again("token-3", "client-1", Some("deployment-2"))
        .await;
    let done = rig
        .confirm_update_from(&page.update_id(), "same-origin")
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(
        rig.stored().await[0].deployment_ids,
        deployments(&["deployment-1", "deployment-2"])
    );
    assert_eq!(rig.audit().await.len(), 1);
}

#[tokio::test]
async fn reregistration_with_a_new_key_set_url_shows_it_and_waits_for_review() {
    let rig = rig().await;
    assert_eq!(rig.register().await.status, 200);
    set_status(&rig, Status::Active).await;
    let old_keys = format!("{}/mod/lti/certs.php", rig.platform.issuer());
    let new_keys = format!("{}/mod/lti/certs-2025.php", rig.platform.issuer());
    let mut document = rig.platform.default_configuration();
    document["jwks_uri"] = new_keys.clone().into();
    rig.platform.set_configuration(document);

    let page = rig
        .register_again("token-2", "client-1", Some("deployment-1"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        page.changes(),
        [
            format!("key set URL changes from {old_keys} to {new_keys}"),
            "status changes from active to pending: launches are refused until the tool's \
             operator approves the changes"
                .to_owned(),
        ]
    );
    let done = rig
        .confirm_update_from(&page.update_id(), "same-origin")
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let stored = rig.stored().await;
    assert_eq!(stored[0].jwks_url.as_str(), new_keys);
    assert_eq!(stored[0].status, Status::Pending);
    assert_eq!(
        rig.audit().await[0].changes,
        [
            format!("key set URL changed from {old_keys} to {new_keys}"),
            "status changed from active to pending".to_owned(),
        ]
    );
    let (status, body) = rig.login_status("client-1").await;
    assert_eq!(status, 403);
    assert!(body.contains("PLATFORM_PENDING"), "{body}");
}

#[tokio::test]
async fn reregistration_of_a_disabled_registration_keeps_it_disabled_even_with_auto_activate() {
    let rig = rig_with(AppOptions {
        auto_activate_registrations: true,
        ..AppOptions::default()
    })
    .await;
    assert_eq!(rig.register().await.status, 200);
    set_status(&rig, Status::Disabled).await;
    let page = rig
        .register_again("token-2", "client-1", Some("deployment-2"))
        .await;
    assert_eq!(page.changes(), ["deployment deployment-2 will be added"]);
    assert!(
        page.text("status").unwrap().contains("stays disabled"),
        "{}",
        page.body
    );
    let done = rig
        .confirm_update_from(&page.update_id(), "same-origin")
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let stored = rig.stored().await;
    assert_eq!(stored[0].status, Status::Disabled);
    assert_eq!(
        stored[0].deployment_ids,
        deployments(&["deployment-1", "deployment-2"])
    );
}

#[tokio::test]
async fn reregistration_with_nothing_new_changes_nothing_and_closes_the_window() {
    let rig = rig().await;
    assert_eq!(rig.register().await.status, 200);
    let before = rig.stored().await;
    let done = rig
        .register_again("token-2", "client-1", Some("deployment-1"))
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(
        done.text("heading").as_deref(),
        Some("Registration updated")
    );
    assert_eq!(
        done.text("changes").as_deref(),
        Some("Nothing changed: the tool's registration already matched.")
    );
    assert!(done.body.contains("org.imsglobal.lti.close"));
    assert_eq!(rig.stored().await, before);
    assert!(rig.audit().await.is_empty());
}

const HANDLER_TOOL: &str = "https://tool.example";

fn page(response: lambda_http::Response<lambda_http::Body>) -> Page {
    Page {
        status: response.status().as_u16(),
        body: String::from_utf8(response.body().to_vec()).unwrap(),
    }
}

/// Step 1 of a registration, straight to the handler.
async fn start_at(register: &register::Register, configuration_url: &str) -> Page {
    let mut url = Url::parse(&format!("{HANDLER_TOOL}/register")).unwrap();
    url.query_pairs_mut()
        .append_pair("openid_configuration", configuration_url)
        .append_pair("registration_token", TOKEN);
    let request = http::Request::builder()
        .method("GET")
        .uri(url.as_str())
        .body(lambda_http::Body::Empty)
        .unwrap();
    page(register.handle(request).await)
}

/// Step 2, from the tool's own page, straight to the handler.
async fn confirm_at(register: &register::Register, pending: &str) -> Page {
    let request = http::Request::builder()
        .method("POST")
        .uri(format!("{HANDLER_TOOL}/register"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .body(lambda_http::Body::Text(format!("pending={pending}")))
        .unwrap();
    page(register.handle(request).await)
}

/// A registry whose look-up misses every registration, as when another confirmation saves the
/// same issuer and client id between this one's look-up and its write.
struct SavedMeanwhile(Arc<dyn lti_shared::ports::Store>);

#[async_trait::async_trait]
impl lti_shared::ports::PlatformRegistry for SavedMeanwhile {
    async fn add_platform(
        &self,
        registration: &Registration,
    ) -> Result<(), lti_shared::ports::StoreError> {
        self.0.add_platform(registration).await
    }
    async fn update_platform(
        &self,
        registration: &Registration,
    ) -> Result<(), lti_shared::ports::StoreError> {
        self.0.update_platform(registration).await
    }
    async fn platform(
        &self,
        _: &Issuer,
        _: &ClientId,
    ) -> Result<Option<Registration>, lti_shared::ports::StoreError> {
        Ok(None)
    }
    async fn platforms_of_issuer(
        &self,
        issuer: &Issuer,
    ) -> Result<Vec<Registration>, lti_shared::ports::StoreError> {
        self.0.platforms_of_issuer(issuer).await
    }
    async fn platforms(&self) -> Result<Vec<Registration>, lti_shared::ports::StoreError> {
        self.0.platforms().await
    }
    async fn remove_platform(
        &self,
        issuer: &Issuer,
        client_id: &ClientId,
    ) -> Result<(), lti_shared::ports::StoreError> {
        self.0.remove_platform(issuer, client_id).await
    }
}

#[tokio::test]
async fn registration_saved_meanwhile_by_another_confirmation_is_refused_as_already_registered() {
    use lti_shared::adapters::registrar::Registrar;
    use lti_shared::domain::tool::ToolUrls;
    use lti_shared::lti13::dynamic_registration::UrlPolicy;
    use register::{Register, RegisterOptions};

    let dir = tempfile::tempdir().unwrap();
    let backend = ltictl::backend::Backend::embedded(dir.path()).unwrap();
    let store = backend.store.clone();
    let platform = RegistrationPlatform::start(TOKEN).await;
    let register = |registry: Arc<dyn lti_shared::ports::PlatformRegistry>| {
        Register::new(
            registry,
            store.clone(),
            store.clone(),
            Arc::new(FixedClock::new(time::OffsetDateTime::now_utc())),
            ToolUrls::new(&Url::parse(HANDLER_TOOL).unwrap()),
            Registrar::new(UrlPolicy {
                allow_http_loopback: true,
            }),
            // About the registry race, not invitations: registration open to anyone.
            RegisterOptions {
                open_registration: true,
                ..RegisterOptions::default()
            },
        )
    };

    // The good sibling: the same answer with the registration already there (and seen) is
    // an update proposal.
    let configuration = platform.configuration_url();
    let seen = register(store.clone());
    let first = start_at(&seen, &configuration).await.pending_id();
    assert_eq!(confirm_at(&seen, &first).await.status, 200);
    let before = store.platforms().await.unwrap();
    assert_eq!(before.len(), 1);
    platform.renew_token(TOKEN);
    let again = start_at(&seen, &configuration).await.pending_id();
    let proposal = confirm_at(&seen, &again).await;
    assert_eq!(proposal.status, 200, "{}", proposal.body);
    assert_eq!(
        proposal.text("heading").as_deref(),
        Some("Registration updated")
    );

    // Saved meanwhile: the look-up missed it, so the administrator saw no changes; nothing
    // is written.
    platform.renew_token(TOKEN);
    platform.answer_with(Answer::Registered {
        client_id: "client-1".into(),
        deployment_id: Some("deployment-2".into()),
    });
    let missed = register(Arc::new(SavedMeanwhile(store.clone())));
    let pending = start_at(&missed, &configuration).await.pending_id();
    let refused = confirm_at(&missed, &pending).await;
    assert_eq!(refused.status, 409);
    assert_eq!(refused.reason().as_deref(), Some("ALREADY_REGISTERED"));
    assert_eq!(store.platforms().await.unwrap(), before);
    assert!(store.audit_entries().await.unwrap().is_empty());
}

// Names when the institution wants them: the operator's privacy level (`ltictl serve
// --privacy`, `LTI_PRIVACY_LEVEL`) decides the claims a registration asks for, the Canvas
// privacy level of both the registration and /config/canvas.json, and what the confirmation
// page says in words.

#[tokio::test]
async fn registration_asks_for_names_only_at_privacy_levels_that_include_them() {
    assert_eq!(
        AppOptions::default().privacy,
        PrivacyLevel::Anonymous,
        "the default is the most private"
    );
    for level in PrivacyLevel::ALL {
        let rig = rig_with(AppOptions {
            privacy: level,
            ..AppOptions::default()
        })
        .await;
        let page = rig
            .open(&rig.platform.configuration_url(), Some(TOKEN))
            .await;
        assert_eq!(page.status, 200);
        assert_eq!(
            page.text("personal-data").as_deref(),
            Some(level.personal_data()),
            "{level:?}"
        );
        assert_eq!(
            page.text("claims"),
            Some(level.claims().join(", ")),
            "{level:?}"
        );
        assert_eq!(rig.confirm(&page.pending_id()).await.status, 200);

        let body = &rig.platform.registrations()[0].body[TOOL_CONFIGURATION];
        let claims: Vec<&str> = body["claims"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        for name in ["name", "given_name", "family_name"] {
            assert_eq!(
                claims.contains(&name),
                matches!(level, PrivacyLevel::NameOnly | PrivacyLevel::Public),
                "{level:?} asks for {claims:?}"
            );
        }
        assert_eq!(
            claims.contains(&"email"),
            matches!(level, PrivacyLevel::EmailOnly | PrivacyLevel::Public),
            "{level:?} asks for {claims:?}"
        );
        assert!(claims.starts_with(&["iss", "sub"]));
        assert_eq!(body[CANVAS_PRIVACY_LEVEL], level.as_str());

        let canvas: serde_json::Value = rig
            .http
            .get(rig.tool.url("/config/canvas.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            canvas["extensions"][0]["privacy_level"],
            level.as_str(),
            "the same setting shapes the Canvas JSON"
        );
    }
}

// Registration by invitation (`ltictl registration invite`): without one, with an unknown
// (revoked), an expired or a used one, `/register` is refused with that reason, fetches
// nothing from the platform and stores nothing; a live one is checked on the first step, kept
// for the confirmation, and used up by it.

/// Nothing was registered and no registration is pending.
async fn nothing_stored(rig: &Rig) {
    assert!(rig.stored().await.is_empty());
    let pending = rig
        .tool
        .backend
        .store
        .live_items(
            lti_shared::ports::ItemKind::PendingRegistration,
            rig.clock.now(),
        )
        .await
        .unwrap();
    assert!(pending.is_empty(), "{pending:?}");
}

#[tokio::test]
async fn registration_without_invitation_is_refused_and_nothing_fetched_or_stored() {
    let rig = rig().await;
    let page = rig
        .open_invited(&rig.platform.configuration_url(), Some(TOKEN), None)
        .await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert_eq!(page.reason().as_deref(), Some("INVITATION_REQUIRED"));
    assert!(
        page.body.contains("ltictl registration invite"),
        "{}",
        page.body
    );
    assert!(rig.platform.configuration_fetches().is_empty());
    assert!(rig.platform.registrations().is_empty());
    nothing_stored(&rig).await;
    // An empty value is no invitation either.
    let page = rig
        .open_invited(&rig.platform.configuration_url(), Some(TOKEN), Some(""))
        .await;
    assert_eq!(page.reason().as_deref(), Some("INVITATION_REQUIRED"));
    // The good sibling: with an invitation, the same request registers.
    let done = rig.register().await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(rig.stored().await.len(), 1);
}

#[tokio::test]
async fn registration_with_an_expired_invitation_is_refused_and_nothing_stored() {
    let rig = rig().await;
    let invitation = rig.invite(time::Duration::hours(1)).await;
    rig.clock.advance(time::Duration::hours(1));
    let page = rig
        .open_invited(
            &rig.platform.configuration_url(),
            Some(TOKEN),
            Some(&invitation),
        )
        .await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert_eq!(page.reason().as_deref(), Some("INVITATION_EXPIRED"));
    assert!(rig.platform.configuration_fetches().is_empty());
    nothing_stored(&rig).await;
}

#[tokio::test]
async fn invitation_expiring_between_the_two_steps_is_refused_at_confirmation() {
    let rig = rig().await;
    let invitation = rig.invite(time::Duration::minutes(5)).await;
    let page = rig
        .open_invited(
            &rig.platform.configuration_url(),
            Some(TOKEN),
            Some(&invitation),
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    rig.clock.advance(time::Duration::minutes(6));
    let refused = rig.confirm(&page.pending_id()).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(refused.reason().as_deref(), Some("INVITATION_EXPIRED"));
    assert!(rig.platform.registrations().is_empty());
    assert!(rig.stored().await.is_empty());
}

#[tokio::test]
async fn registration_with_a_revoked_or_mistyped_invitation_is_refused_and_nothing_stored() {
    let rig = rig().await;
    let invitation = rig.invite(time::Duration::days(1)).await;
    let store = rig.tool.backend.store.as_ref();
    let live = invitations::live(store, rig.clock.now()).await.unwrap();
    assert_eq!(live.len(), 1);
    let revoked = invitations::revoke(store, &live[0].id, rig.clock.now())
        .await
        .unwrap();
    assert_eq!(revoked.map(|i| i.id), Some(live[0].id.clone()));
    for bad in [
        invitation.clone(),
        format!("{invitation}x"),
        "x".repeat(500),
    ] {
        let page = rig
            .open_invited(&rig.platform.configuration_url(), Some(TOKEN), Some(&bad))
            .await;
        assert_eq!(page.status, 403, "{}", page.body);
        assert_eq!(page.reason().as_deref(), Some("INVITATION_UNKNOWN"));
    }
    assert!(rig.platform.configuration_fetches().is_empty());
    nothing_stored(&rig).await;
}

#[tokio::test]
async fn invitation_survives_the_first_step_and_registers_once() {
    let rig = rig().await;
    let invitation = rig.invite(time::Duration::days(1)).await;
    let configuration = rig.platform.configuration_url();
    // Opened twice (a reloaded frame): both confirmation pages show, the invitation is not
    // used by showing them.
    let first = rig
        .open_invited(&configuration, Some(TOKEN), Some(&invitation))
        .await;
    let second = rig
        .open_invited(&configuration, Some(TOKEN), Some(&invitation))
        .await;
    assert_eq!((first.status, second.status), (200, 200), "{}", second.body);
    let done = rig.confirm(&first.pending_id()).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(rig.stored().await.len(), 1);
    // The other page's confirmation: the invitation is used, nothing more is registered.
    let refused = rig.confirm(&second.pending_id()).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(refused.reason().as_deref(), Some("INVITATION_USED"));
    assert_eq!(rig.platform.registrations().len(), 1);
    // Reused for a new registration: refused at the first step.
    let reused = rig
        .open_invited(&configuration, Some(TOKEN), Some(&invitation))
        .await;
    assert_eq!(reused.status, 403, "{}", reused.body);
    assert_eq!(reused.reason().as_deref(), Some("INVITATION_USED"));
    assert_eq!(rig.stored().await.len(), 1);
    // A used invitation is no longer listed.
    let store = rig.tool.backend.store.as_ref();
    assert!(
        invitations::live(store, rig.clock.now())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn invitation_is_given_back_when_the_platform_refuses_the_registration() {
    let rig = rig().await;
    let invitation = rig.invite(time::Duration::days(1)).await;
    let configuration = rig.platform.configuration_url();
    let page = rig
        .open_invited(&configuration, Some("wrong-token"), Some(&invitation))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let refused = rig.confirm(&page.pending_id()).await;
    assert_eq!(
        refused.reason().as_deref(),
        Some("REGISTRATION_TOKEN_REFUSED")
    );
    // Not used up: the administrator starts again with the same URL.
    let page = rig
        .open_invited(&configuration, Some(TOKEN), Some(&invitation))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(rig.confirm(&page.pending_id()).await.status, 200);
    assert_eq!(rig.stored().await.len(), 1);
}

#[tokio::test]
async fn open_registration_option_accepts_registrations_without_invitation() {
    let rig = rig_with(AppOptions {
        open_registration: true,
        ..AppOptions::default()
    })
    .await;
    let page = rig
        .open_invited(&rig.platform.configuration_url(), Some(TOKEN), None)
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(rig.confirm(&page.pending_id()).await.status, 200);
    assert_eq!(rig.stored().await.len(), 1);
}

#[tokio::test]
async fn platform_appends_its_parameters_to_the_invitation_url() {
    // Moodle's "Tool URL" field: the administrator pastes the invitation URL; the LMS appends
    // openid_configuration and registration_token to its query.
    let rig = rig().await;
    let invitation = rig.invite(time::Duration::days(1)).await;
    let register = format!("{}?invitation={invitation}", rig.tool.url("/register"));
    let admin = rig
        .platform
        .admin_page_url(&register, lti_tests::registration_platform::Opener::Iframe);
    let html = rig
        .http
        .get(admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let document = scraper::Html::parse_document(&html);
    let frame = scraper::Selector::parse("iframe#tool").unwrap();
    let src = document
        .select(&frame)
        .next()
        .and_then(|e| e.value().attr("src"))
        .unwrap()
        .to_owned();
    let opened = Url::parse(&src).unwrap();
    let names: Vec<String> = opened.query_pairs().map(|(n, _)| n.into_owned()).collect();
    assert_eq!(
        names,
        ["invitation", "openid_configuration", "registration_token"]
    );
    let response = rig.http.get(opened).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let page = Page {
        status: 200,
        body: response.text().await.unwrap(),
    };
    assert_eq!(rig.confirm(&page.pending_id()).await.status, 200);
    assert_eq!(rig.stored().await.len(), 1);
}

#[tokio::test]
async fn platform_name_with_escape_sequences_is_stored_without_them() {
    let rig = rig().await;
    let mut document = rig.platform.default_configuration();
    document["https://purl.imsglobal.org/spec/lti-platform-configuration"]["https://canvas.instructure.com/lti/account_name"] =
        json!("\u{1b}[2J\u{1b}]0;pwned\u{7}Evil\u{9b}31m University\r\n");
    rig.platform.set_configuration(document);
    assert_eq!(rig.register().await.status, 200);
    let stored = rig.stored().await;
    assert_eq!(stored[0].name.as_deref(), Some("Evil University (moodle)"));
}

// Rate limit of `ltictl serve`: /login and /register per client address.

#[tokio::test]
async fn requests_over_the_rate_limit_are_refused_with_retry_after() {
    let rig = rig_with(AppOptions {
        rate_limit: Some(3),
        ..AppOptions::default()
    })
    .await;
    for n in 0..3 {
        let (status, body) = rig.login_status("client-1").await;
        assert_ne!(status, 429, "request {n}: {body}");
    }
    let mut url = Url::parse(&rig.tool.url("/login")).unwrap();
    url.query_pairs_mut()
        .append_pair("iss", rig.platform.issuer());
    let response = rig.http.get(url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 429);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry), "{retry}");
    let body = response.text().await.unwrap();
    assert!(body.contains("TOO_MANY_REQUESTS"), "{body}");
    // /register shares the limit; endpoints that write nothing for strangers do not.
    let page = rig
        .open_invited(&rig.platform.configuration_url(), Some(TOKEN), None)
        .await;
    assert_eq!(page.status, 429);
    let jwks = rig.http.get(rig.tool.url("/jwks")).send().await.unwrap();
    assert_eq!(jwks.status().as_u16(), 200);
    // Nothing was stored by the refused requests.
    nothing_stored(&rig).await;
}
