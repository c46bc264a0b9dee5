//! The register handler, fed recorded Lambda function-URL events. The full flow against a
//! platform on loopback is in `tests/tests/dynamic_registration.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeSet;
use std::sync::Arc;

use lambda_http::Body;
use lti_shared::adapters::registrar::Registrar;
use lti_shared::adapters::store::embedded::EmbeddedStore;
use lti_shared::domain::audit::AuditAction;
use lti_shared::domain::clock::FixedClock;
use lti_shared::domain::ids::{ClientId, DeploymentId, Issuer};
use lti_shared::domain::model::{PlatformOptions, PlatformScope, Registration, Status};
use lti_shared::domain::tool::ToolUrls;
use lti_shared::lti13::dynamic_registration::UrlPolicy;
use lti_shared::lti13::lms_config::{PrivacyLevel, ToolProfile};
use lti_shared::lti13::registration_update::PendingUpdate;
use lti_shared::ports::{DataLifecycle, ExpiringItems, ItemKind, PlatformRegistry};
use register::{Register, RegisterOptions, privacy_level};
use time::macros::datetime;
use url::Url;

const NOW: time::OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);
const TOOL: &str = "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws";

fn event(name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> lambda_http::Request {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut json);
    lambda_http::request::from_str(&json.to_string()).unwrap()
}

/// The handler with registration open to anyone: these tests are about what follows the
/// invitation check (the invitation tests use [`setup_by_invitation`]).
fn setup(dir: &std::path::Path) -> (Register, Arc<EmbeddedStore>) {
    setup_with(
        dir,
        RegisterOptions {
            open_registration: true,
            ..RegisterOptions::default()
        },
    )
}

/// The handler as deployed by default: registration by invitation.
fn setup_by_invitation(dir: &std::path::Path) -> (Register, Arc<EmbeddedStore>) {
    setup_with(dir, RegisterOptions::default())
}

fn setup_with(dir: &std::path::Path, options: RegisterOptions) -> (Register, Arc<EmbeddedStore>) {
    let store = Arc::new(EmbeddedStore::open(dir).unwrap());
    let register = Register::new(
        store.clone(),
        store.clone(),
        store.clone(),
        Arc::new(FixedClock::new(NOW)),
        ToolUrls::new(&Url::parse(TOOL).unwrap()),
        Registrar::new(UrlPolicy::default()),
        options,
    );
    (register, store)
}

fn body(response: &lambda_http::Response<Body>) -> String {
    String::from_utf8(response.body().to_vec()).unwrap()
}

#[tokio::test]
async fn get_canvas_config_is_the_developer_key_json() {
    let dir = tempfile::tempdir().unwrap();
    let (register, _) = setup(dir.path());
    let response = register
        .handle(event("get-register.json", |e| {
            e["rawPath"] = "/config/canvas.json".into();
            e["requestContext"]["http"]["path"] = "/config/canvas.json".into();
            e["rawQueryString"] = "".into();
            e.as_object_mut().unwrap().remove("queryStringParameters");
        }))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let json: serde_json::Value = serde_json::from_str(&body(&response)).unwrap();
    assert_eq!(json["oidc_initiation_url"], format!("{TOOL}/login"));
    assert_eq!(json["public_jwk_url"], format!("{TOOL}/jwks"));
}

#[tokio::test]
async fn get_register_without_configuration_explains_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let (register, _) = setup(dir.path());
    let response = register
        .handle(event("get-register.json", |e| {
            e["rawQueryString"] = "".into();
            e.as_object_mut().unwrap().remove("queryStringParameters");
        }))
        .await;
    assert_eq!(response.status(), 400);
    let page = body(&response);
    assert!(page.contains("MISSING_OPENID_CONFIGURATION"), "{page}");
    assert!(
        page.contains("5f7a4e0c-8f1b-4d55-9a43-0c3c4bd2a111"),
        "request id: {page}"
    );
}

#[tokio::test]
async fn get_register_http_configuration_is_refused_on_lambda() {
    let dir = tempfile::tempdir().unwrap();
    let (register, _) = setup(dir.path());
    let response = register
        .handle(event("get-register.json", |e| {
            let query = "openid_configuration=http%3A%2F%2F127.0.0.1%3A9001%2Fnext";
            e["rawQueryString"] = query.into();
            e["queryStringParameters"] =
                serde_json::json!({"openid_configuration": "http://127.0.0.1:9001/next"});
        }))
        .await;
    assert_eq!(response.status(), 400);
    assert!(body(&response).contains("UNUSABLE_PLATFORM_URL"));
}

#[tokio::test]
async fn post_register_from_another_site_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (register, store) = setup(dir.path());
    let response = register
        .handle(event("post-register.json", |e| {
            e["headers"]["sec-fetch-site"] = "cross-site".into();
            e["headers"]["origin"] = "https://evil.example".into();
        }))
        .await;
    assert_eq!(response.status(), 403);
    assert!(body(&response).contains("CROSS_SITE_CONFIRMATION"));
    assert!(store.platforms().await.unwrap().is_empty());
}

#[tokio::test]
async fn post_register_unknown_pending_id_is_expired() {
    let dir = tempfile::tempdir().unwrap();
    let (register, store) = setup(dir.path());
    let response = register.handle(event("post-register.json", |_| {})).await;
    assert_eq!(response.status(), 410);
    assert!(body(&response).contains("REGISTRATION_EXPIRED"));
    assert!(store.platforms().await.unwrap().is_empty());
}

#[tokio::test]
async fn put_register_is_not_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let (register, _) = setup(dir.path());
    let response = register
        .handle(event("post-register.json", |e| {
            e["requestContext"]["http"]["method"] = "PUT".into();
        }))
        .await;
    assert_eq!(response.status(), 405);
}

// Re-registration: the second confirmation (the changes) of an update the platform's answer
// proposed. The pending update is seeded as the first confirmation leaves it; the whole flow
// against a platform on loopback is in tests/tests/dynamic_registration.rs.

const UPDATE_ID: &str = "0123456789abcdef0123456789abcdef";

fn registration(deployments: &[&str]) -> Registration {
    Registration {
        issuer: Issuer::parse("https://moodle.example.edu").unwrap(),
        client_id: ClientId::parse("client-1").unwrap(),
        deployment_ids: deployments
            .iter()
            .map(|d| DeploymentId::parse(*d).unwrap())
            .collect::<BTreeSet<_>>(),
        auth_url: Url::parse("https://moodle.example.edu/mod/lti/auth.php").unwrap(),
        token_url: Url::parse("https://moodle.example.edu/mod/lti/token.php").unwrap(),
        jwks_url: Url::parse("https://moodle.example.edu/mod/lti/certs.php").unwrap(),
        name: Some("moodle at moodle.example.edu".into()),
        status: Status::Active,
        options: PlatformOptions::default(),
        created_at: NOW - time::Duration::days(30),
    }
}

/// The store with `client-1` (deployment `dep-1`) and a pending update adding `dep-2`,
/// expiring at `expires`.
async fn seed_update(store: &EmbeddedStore, expires: time::OffsetDateTime) -> PendingUpdate {
    let before = registration(&["dep-1"]);
    store.add_platform(&before).await.unwrap();
    let pending = PendingUpdate {
        before,
        after: registration(&["dep-1", "dep-2"]),
    };
    store
        .put_item(
            ItemKind::PendingRegistrationUpdate,
            UPDATE_ID,
            &pending.to_stored().unwrap(),
            expires,
        )
        .await
        .unwrap();
    pending
}

fn post_update(edit: impl FnOnce(&mut serde_json::Value)) -> lambda_http::Request {
    event("post-register.json", |e| {
        e["body"] = format!("update={UPDATE_ID}").into();
        edit(e);
    })
}

async fn stored(store: &EmbeddedStore) -> Registration {
    store
        .platform(
            &Issuer::parse("https://moodle.example.edu").unwrap(),
            &ClientId::parse("client-1").unwrap(),
        )
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn post_register_update_confirmed_writes_the_update_and_its_audit_entry_once() {
    let dir = tempfile::tempdir().unwrap();
    let (register, store) = setup(dir.path());
    let pending = seed_update(&store, NOW + time::Duration::minutes(20)).await;

    let response = register.handle(post_update(|_| {})).await;
    assert_eq!(response.status(), 200);
    let page = body(&response);
    assert!(page.contains("Registration updated"), "{page}");
    assert!(page.contains("deployment dep-2 added"), "{page}");
    assert!(page.contains("org.imsglobal.lti.close"), "{page}");
    assert_eq!(stored(&store).await, pending.after);
    assert_eq!(store.platforms().await.unwrap().len(), 1);

    let audit = store.audit_entries().await.unwrap();
    assert_eq!(audit.len(), 1);
    let entry = &audit[0];
    assert_eq!(entry.action, AuditAction::RegistrationUpdate);
    assert_eq!(entry.at, NOW);
    assert_eq!(entry.command, "dynamic registration");
    assert_eq!(
        entry.scope,
        Some(PlatformScope::registration(
            pending.before.issuer.clone(),
            pending.before.client_id.clone(),
        ))
    );
    assert_eq!(entry.subject, None);
    assert_eq!(entry.changes, ["deployment dep-2 added"]);
    assert!(entry.counts.is_empty());

    // The update is consumed: a replay is refused and writes nothing more.
    let again = register.handle(post_update(|_| {})).await;
    assert_eq!(again.status(), 410);
    assert!(body(&again).contains("REGISTRATION_EXPIRED"));
    assert_eq!(store.audit_entries().await.unwrap().len(), 1);
}

#[tokio::test]
async fn post_register_update_from_another_site_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (register, store) = setup(dir.path());
    let pending = seed_update(&store, NOW + time::Duration::minutes(20)).await;
    let response = register
        .handle(post_update(|e| {
            e["headers"]["sec-fetch-site"] = "cross-site".into();
            e["headers"]["origin"] = "https://evil.example".into();
        }))
        .await;
    assert_eq!(response.status(), 403);
    assert!(body(&response).contains("CROSS_SITE_CONFIRMATION"));
    assert_eq!(stored(&store).await, pending.before);
    assert!(store.audit_entries().await.unwrap().is_empty());
    // The forged post did not use the update up: the administrator's own post still works.
    let own = register.handle(post_update(|_| {})).await;
    assert_eq!(own.status(), 200);
    assert_eq!(stored(&store).await, pending.after);
}

#[tokio::test]
async fn post_register_update_expired_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (register, store) = setup(dir.path());
    let pending = seed_update(&store, NOW - time::Duration::seconds(1)).await;
    let response = register.handle(post_update(|_| {})).await;
    assert_eq!(response.status(), 410);
    assert!(body(&response).contains("REGISTRATION_EXPIRED"));
    assert_eq!(stored(&store).await, pending.before);
    assert!(store.audit_entries().await.unwrap().is_empty());
}

#[tokio::test]
async fn post_register_update_of_a_registration_changed_meanwhile_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (register, store) = setup(dir.path());
    seed_update(&store, NOW + time::Duration::minutes(20)).await;
    // The operator disabled the registration while the administrator read the changes.
    let mut disabled = stored(&store).await;
    disabled.status = Status::Disabled;
    store.update_platform(&disabled).await.unwrap();
    let response = register.handle(post_update(|_| {})).await;
    assert_eq!(response.status(), 409);
    assert!(body(&response).contains("REGISTRATION_CHANGED"));
    assert_eq!(
        stored(&store).await,
        disabled,
        "the operator's change stays"
    );
    assert!(store.audit_entries().await.unwrap().is_empty());
}

#[tokio::test]
async fn post_register_update_with_an_unusable_id_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (register, store) = setup(dir.path());
    let pending = seed_update(&store, NOW + time::Duration::minutes(20)).await;
    for bad in [String::new(), "x".repeat(65), "not-the-id".into()] {
        let response = register
            .handle(event("post-register.json", |e| {
                e["body"] = format!("update={bad}").into();
            }))
            .await;
        assert_eq!(response.status(), 410, "{bad:?}");
        assert!(body(&response).contains("REGISTRATION_EXPIRED"));
    }
    assert_eq!(stored(&store).await, pending.before);
}

// Names when the institution wants them: the operator's privacy level shapes the Canvas JSON
// (and, in tests/tests/dynamic_registration.rs, the claims a registration asks for).

#[tokio::test]
async fn get_canvas_config_privacy_level_follows_the_operators_setting() {
    for level in PrivacyLevel::ALL {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
        let register = Register::new(
            store.clone(),
            store.clone(),
            store.clone(),
            Arc::new(FixedClock::new(NOW)),
            ToolUrls::new(&Url::parse(TOOL).unwrap()),
            Registrar::new(UrlPolicy::default()),
            RegisterOptions {
                profile: ToolProfile {
                    privacy: level,
                    ..ToolProfile::default()
                },
                ..RegisterOptions::default()
            },
        );
        let response = register
            .handle(event("get-register.json", |e| {
                e["rawPath"] = "/config/canvas.json".into();
                e["requestContext"]["http"]["path"] = "/config/canvas.json".into();
            }))
            .await;
        let json: serde_json::Value = serde_json::from_str(&body(&response)).unwrap();
        assert_eq!(json["extensions"][0]["privacy_level"], level.as_str());
    }
}

#[test]
fn privacy_level_setting_defaults_to_anonymous_and_refuses_unknown_levels() {
    assert_eq!(privacy_level(None), Ok(PrivacyLevel::Anonymous));
    assert_eq!(privacy_level(Some(" ")), Ok(PrivacyLevel::Anonymous));
    assert_eq!(privacy_level(Some("name_only")), Ok(PrivacyLevel::NameOnly));
    assert_eq!(privacy_level(Some("public")), Ok(PrivacyLevel::Public));
    let error = privacy_level(Some("names")).unwrap_err();
    assert!(error.contains("LTI_PRIVACY_LEVEL"), "{error}");
}

// Registration by invitation: refused with the exact reason before anything is fetched or
// stored; the full flow (check, confirm, single use) is in tests/tests/dynamic_registration.rs.

async fn nothing_pending(store: &EmbeddedStore) -> bool {
    store
        .live_items(ItemKind::PendingRegistration, NOW)
        .await
        .unwrap()
        .is_empty()
}

#[tokio::test]
async fn get_register_without_invitation_is_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (register, store) = setup_by_invitation(dir.path());
    // The configuration URL would be refused too (http on Lambda): the invitation is checked
    // first, so the tool fetches nothing for an uninvited caller.
    let response = register
        .handle(event("get-register.json", |e| {
            let query = "openid_configuration=http%3A%2F%2F127.0.0.1%3A9001%2Fnext";
            e["rawQueryString"] = query.into();
            e["queryStringParameters"] =
                serde_json::json!({"openid_configuration": "http://127.0.0.1:9001/next"});
        }))
        .await;
    assert_eq!(response.status(), 403);
    let page = body(&response);
    assert!(page.contains("INVITATION_REQUIRED"), "{page}");
    assert!(page.contains("ltictl registration invite"), "{page}");
    assert!(nothing_pending(&store).await);
}

#[tokio::test]
async fn get_register_with_an_unknown_invitation_is_refused_and_with_a_live_one_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (register, store) = setup_by_invitation(dir.path());
    let issued = lti_shared::app::invitations::issue(
        store.as_ref(),
        NOW,
        time::Duration::days(1),
        Some("moodle test"),
    )
    .await
    .unwrap();
    let request = |token: &str| {
        let token = token.to_owned();
        event("get-register.json", move |e| {
            let query = format!(
                "invitation={token}&openid_configuration=http%3A%2F%2F127.0.0.1%3A9001%2Fnext"
            );
            e["rawQueryString"] = query.into();
            e["queryStringParameters"] = serde_json::json!({
                "invitation": token,
                "openid_configuration": "http://127.0.0.1:9001/next",
            });
        })
    };
    let wrong = format!("{}x", issued.token.expose());
    let response = register.handle(request(&wrong)).await;
    assert_eq!(response.status(), 403);
    assert!(body(&response).contains("INVITATION_UNKNOWN"));
    assert!(nothing_pending(&store).await);
    // The live invitation passes the check; the http configuration URL is then refused, which
    // shows the request got past the invitation.
    let response = register.handle(request(issued.token.expose())).await;
    assert_eq!(response.status(), 400);
    assert!(body(&response).contains("UNUSABLE_PLATFORM_URL"));
}

#[test]
fn open_registration_setting_defaults_to_closed_and_refuses_other_values() {
    assert_eq!(register::open_registration(None), Ok(false));
    assert_eq!(register::open_registration(Some("")), Ok(false));
    assert_eq!(register::open_registration(Some("false")), Ok(false));
    assert_eq!(register::open_registration(Some("TRUE")), Ok(true));
    let error = register::open_registration(Some("yes")).unwrap_err();
    assert!(error.contains("LTI_OPEN_REGISTRATION"), "{error}");
}
