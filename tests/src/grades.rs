//! A tool and a loopback AGS platform wired together, with learners seeded as a launch would
//! leave them, for the grade delivery tests and the delivery benchmark.
//!
//! Seeding writes the records a launch writes (resource link with its AGS endpoint, the
//! learner's open attempt) and mints the `lti_session` the launch would hand the activity, so
//! a test can post thousands of scores without thousands of launches. One end-to-end test in
//! `tests/outcomes_flow.rs` goes through a real launch instead.

use std::time::{Duration, Instant};

use lti_shared::domain::ids::{
    AttemptId, ClientId, DeploymentId, Issuer, LineItemUrl, ResourceLinkId, UserId,
};
use lti_shared::domain::model::{
    AgsEndpoint, Attempt, AttemptKey, BasicOutcome, GradingSettings, PlatformScope, Registration,
    ResourceLink,
};
use lti_shared::domain::roles::Roles;
use lti_shared::lti13::session::{self, SESSION_LIFETIME, SessionClaims};
use serde_json::Value;
use time::OffsetDateTime;

use crate::ags::{AGS_SCOPES, AgsConfig, AgsPlatform};
use crate::tool::{RunningTool, ToolOptions};

/// The client id the tool is registered under on the AGS platform.
pub const CLIENT_ID: &str = "grades-client";

/// The deployment the tool is registered for on the AGS platform (records are scoped by it).
pub const DEPLOYMENT_ID: &str = "deployment-1";

/// A policy that retries quickly (tests and the benchmark).
pub fn fast_policy() -> lti_shared::app::delivery::DeliveryPolicy {
    lti_shared::app::delivery::DeliveryPolicy {
        max_tries: 8,
        base_backoff: Duration::from_millis(40),
        max_backoff: Duration::from_millis(400),
        lease: Duration::from_secs(10),
        busy_retry: Duration::from_millis(40),
        request_timeout: Duration::from_millis(800),
    }
}

/// The tool, its AGS platform, and an HTTP client for the score API.
pub struct GradeRig {
    /// The tool.
    pub tool: RunningTool,
    /// The platform.
    pub ags: AgsPlatform,
    /// A client for the score API.
    pub http: reqwest::Client,
}

/// The LTI 1.3 scope of the rig's platform on the tool's side.
pub fn scope(ags: &AgsPlatform) -> PlatformScope {
    PlatformScope::lti13(
        Issuer::parse(ags.issuer()).unwrap(),
        ClientId::parse(CLIENT_ID).unwrap(),
        DeploymentId::parse(DEPLOYMENT_ID).unwrap(),
    )
}

impl GradeRig {
    /// Starts the tool with `options` and an AGS platform (configured by `adjust`) that
    /// verifies the tool's client assertions against the tool's `/jwks`, and registers it.
    pub async fn start(options: ToolOptions, adjust: impl FnOnce(AgsConfig) -> AgsConfig) -> Self {
        let tool = RunningTool::start_with(options).await;
        let ags = AgsPlatform::start(adjust(
            AgsConfig::new(CLIENT_ID).with_jwks_url(tool.url("/jwks")),
        ))
        .await;
        Self::register(&tool, &ags).await;
        Self {
            tool,
            ags,
            http: reqwest::Client::new(),
        }
    }

    /// Registers `ags` with `tool` (idempotent).
    pub async fn register(tool: &RunningTool, ags: &AgsPlatform) {
        let url = |u: &str| url::Url::parse(u).unwrap();
        let registration = Registration {
            issuer: Issuer::parse(ags.issuer()).unwrap(),
            client_id: ClientId::parse(CLIENT_ID).unwrap(),
            deployment_ids: [DeploymentId::parse(DEPLOYMENT_ID).unwrap()].into(),
            auth_url: url(&format!("{}/auth", ags.base_url())),
            token_url: url(&ags.token_url()),
            jwks_url: url(&format!("{}/jwks", ags.base_url())),
            name: Some("AGS platform".into()),
            status: lti_shared::domain::model::Status::Active,
            options: Default::default(),
            created_at: OffsetDateTime::now_utc(),
        };
        let store = &tool.backend.store;
        if store
            .platform(&registration.issuer, &registration.client_id)
            .await
            .unwrap()
            .is_none()
        {
            store.add_platform(&registration).await.unwrap();
        }
    }

    /// Seeds `user` on resource link `link` as an LTI 1.3 launch would (the link's AGS
    /// endpoint names `lineitem` and the `context`'s container) and returns their session.
    pub async fn seed(
        &self,
        context: &str,
        link: &str,
        user: &str,
        lineitem: Option<&str>,
    ) -> String {
        let ags = AgsEndpoint {
            scopes: AGS_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            lineitems: Some(self.ags.line_items_url(context)),
            lineitem: lineitem.map(|l| LineItemUrl::parse(l).expect("a line item URL")),
        };
        seed_attempt(&self.tool, &scope(&self.ags), link, user, Some(ags), None).await
    }

    /// Posts a score with `token`; returns the status and the JSON answer.
    pub async fn post_score(&self, token: &str, body: Value) -> (u16, Value) {
        post_score(&self.http, &self.tool, token, body).await
    }
}

/// Writes the link (when new) and the user's open attempt, and mints their session.
pub async fn seed_attempt(
    tool: &RunningTool,
    scope: &PlatformScope,
    link: &str,
    user: &str,
    ags: Option<AgsEndpoint>,
    basic_outcome: Option<BasicOutcome>,
) -> String {
    let store = &tool.backend.store;
    let link_id = ResourceLinkId::parse(link).unwrap();
    let now = OffsetDateTime::now_utc();
    if store
        .resource_link(scope, &link_id)
        .await
        .unwrap()
        .is_none()
    {
        store
            .put_resource_link(&ResourceLink {
                scope: scope.clone(),
                resource_link_id: link_id.clone(),
                context_id: None,
                title: Some(format!("Activity {link}")),
                description: None,
                ags,
                lti11: None,
                grading: GradingSettings::default(),
                updated_at: now,
            })
            .await
            .unwrap();
    }
    let key = AttemptKey {
        scope: scope.clone(),
        resource_link_id: link_id.clone(),
        user_id: UserId::parse(user).unwrap(),
        attempt_id: AttemptId::parse("000001").unwrap(),
    };
    if store.attempt(&key).await.unwrap().is_none() {
        store
            .create_attempt(&Attempt {
                key: key.clone(),
                context_id: None,
                started_at: now,
                last_activity_at: now,
                roles: Roles::default(),
                basic_outcome,
                score: None,
                closed_at: None,
            })
            .await
            .unwrap();
    }
    let keys = tool.backend.keys.signing_keys().await.unwrap();
    session::issue(
        &keys,
        &SessionClaims {
            iss: tool.base.clone(),
            aud: tool.base.clone(),
            iat: now.unix_timestamp(),
            exp: (now + SESSION_LIFETIME).unix_timestamp(),
            jti: uuid::Uuid::new_v4().to_string(),
            platform: scope.clone(),
            deployment_id: scope.deployment_id().cloned(),
            user_id: Some(key.user_id),
            resource_link_id: link_id,
            context_id: None,
            attempt_id: Some(key.attempt_id),
            roles: Roles::default(),
        },
    )
    .unwrap()
}

/// Posts a score to `tool`'s score API.
pub async fn post_score(
    http: &reqwest::Client,
    tool: &RunningTool,
    token: &str,
    body: Value,
) -> (u16, Value) {
    let response = http
        .post(tool.url("/outcomes"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Waits until `done` holds, checking every 20 ms, for at most `limit`. Returns whether it
/// held.
pub async fn wait_for<F, Fut>(limit: Duration, mut done: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if done().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    done().await
}

/// How many of the tool's deliveries have `status`.
pub async fn count_with_status(
    tool: &RunningTool,
    status: lti_shared::domain::outbox::DeliveryStatus,
) -> usize {
    tool.backend
        .store
        .deliveries_with_status(status, 1_000_000)
        .await
        .unwrap()
        .len()
}
