//! Verifying an LTI 1.3 launch: one fail-closed path (Security Framework §5.1.3; LTI Core 1.3
//! §5; the tool tests of the LTI Advantage certification guide §6).
//!
//! [`Verifier::verify`] is the only way to a [`VerifiedLaunch`], and a `VerifiedLaunch` is the
//! only way to the claims. The checks run in this order, each with its own [`LaunchError`]:
//!
//! 1. **format and size**, before any lookup;
//! 2. **registration**: exact `iss`; `aud` names a registered client id and nothing else; `azp`
//!    required with several audiences and equal to the client id when present; `deployment_id`
//!    registered for the client;
//! 3. **key**: `alg` must be RS256 (the allowed algorithm never comes from the token), `kid`
//!    required, key looked up through [`PlatformKeySource`];
//! 4. **signature**;
//! 5. **time**: `exp`, `iat`, `nbf` with a bounded leeway;
//! 6. **claims**: version, message type, the claims the message type requires, and
//!    `target_link_uri` equal to the one the state was issued for;
//! 7. **state** bound to this browser, and the nonce equal to the one issued with it;
//! 8. **nonce consumed** with one conditional write — last, so a refused token never burns it
//!    and two simultaneous posts of one token give exactly one launch.
//!
//! Until step 4 succeeds only the routing fields (`iss`, `aud`, `azp`, `deployment_id`) are
//! read from the payload, through [`dangerous`]; they pick the registration and key and are
//! trusted for nothing else.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use crate::domain::clock::Clock;
use crate::domain::ids::{
    ClientId, ContextId, DeploymentId, Issuer, LineItemUrl, ResourceLinkId, TargetLinkUri, UserId,
};
use crate::domain::launch_facts::{ContextFacts, LaunchFacts, LinkFacts, UserFacts};
use crate::domain::model::{AgsEndpoint, PlatformScope, Registration, Status};
use crate::domain::oidc::{LoginState, Nonce};
use crate::domain::platform_key::KeyLookupError;
use crate::domain::roles::Roles;
use crate::domain::secret::constant_time_eq;
use crate::domain::substitution;
use crate::lti13::claims::{IdTokenClaims, MessageType};
use crate::lti13::login::{IssuedLogin, issued_login};
use crate::ports::PlatformKeySource;
use crate::ports::{Created, ExpiringItems, ItemKind, NewItem, PlatformRegistry, StoreError};

/// Why a launch was refused. One variant per rule.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    // 1. format and size
    /// No `id_token` was posted.
    #[error("no id_token was posted")]
    MissingToken,
    /// No `state` was posted.
    #[error("no state was posted")]
    MissingState,
    /// The token is larger than any real platform sends.
    #[error("the id_token is larger than {0} bytes")]
    TokenTooLarge(usize),
    /// The token is not a compact JWS with JSON header and payload.
    #[error("the id_token is malformed: {0}")]
    MalformedToken(&'static str),

    // 2. registration
    /// No registration has this issuer.
    #[error("no platform with issuer {0:?} is registered")]
    UnknownIssuer(String),
    /// `aud` does not name a client id registered for the issuer.
    #[error("the id_token's audience is not this tool")]
    AudienceMismatch,
    /// `aud` names audiences the tool does not trust besides its client id.
    #[error("the id_token's audience includes other parties")]
    UntrustedAudience,
    /// Several audiences and no `azp`.
    #[error("the id_token has several audiences but no azp")]
    MissingAuthorizedParty,
    /// `azp` is not the tool's client id.
    #[error("the id_token's azp is not this tool's client id")]
    AuthorizedPartyMismatch,
    /// The registration is disabled.
    #[error("the registration is disabled")]
    PlatformDisabled,
    /// The registration awaits an operator's approval (made by dynamic registration).
    #[error("the registration is pending approval")]
    PlatformPending,
    /// No `deployment_id` claim.
    #[error("the id_token has no deployment_id")]
    MissingDeployment,
    /// The deployment is not registered for the client.
    #[error("deployment {0:?} is not registered for this client")]
    UnknownDeployment(String),

    // 3. key
    /// `alg` is not RS256.
    #[error("the id_token is signed with {0:?}; only RS256 is accepted")]
    UnsupportedAlgorithm(String),
    /// No `kid` header.
    #[error("the id_token's header has no kid")]
    MissingKeyId,
    /// The key could not be found or used.
    #[error(transparent)]
    Key(#[from] KeyLookupError),

    // 4. signature
    /// The signature does not verify.
    #[error("the id_token's signature does not verify")]
    BadSignature,

    // 5. time
    /// The claims do not fit the id_token schema (e.g. `exp` is not a number).
    #[error("the id_token's claims are invalid: {0}")]
    InvalidClaims(String),
    /// `exp` has passed.
    #[error("the id_token expired")]
    Expired,
    /// `iat` is in the future.
    #[error("the id_token was issued in the future")]
    IssuedInFuture,
    /// `iat` is after `exp`: the token claims to expire before it was issued.
    #[error("the id_token's iat is after its exp")]
    IssuedAfterExpiry,
    /// `nbf` is in the future.
    #[error("the id_token is not valid yet")]
    NotYetValid,

    // 6. claims
    /// `version` is not 1.3.0.
    #[error("LTI version {0:?} is not supported")]
    UnsupportedVersion(String),
    /// An unknown `message_type`.
    #[error("message type {0:?} is not supported")]
    UnsupportedMessageType(String),
    /// A message type this endpoint does not handle.
    #[error("{0} messages go to another endpoint")]
    WrongEndpoint(&'static str),
    /// A claim the message type requires is missing.
    #[error("the id_token has no {0} claim")]
    MissingClaim(&'static str),
    /// A claim has an unusable value.
    #[error("the id_token's {0} claim is invalid")]
    InvalidClaim(&'static str),
    /// `target_link_uri` differs from the one the login was for.
    #[error("target_link_uri differs from the login request's")]
    TargetLinkMismatch,

    // 7. state and nonce
    /// The state is unknown or expired.
    #[error("the state is unknown or expired")]
    UnknownState,
    /// The state was issued for another registration.
    #[error("the state was issued for another platform")]
    StateForOtherPlatform,
    /// The state is not bound to this browser.
    #[error("the state is not bound to this browser")]
    StateMismatch,
    /// The nonce is not the one issued with the state.
    #[error("the nonce differs from the one issued")]
    NonceMismatch,

    // 8. nonce
    /// The nonce was used already: a replayed token.
    #[error("the id_token was used already")]
    NonceReplayed,

    /// Storage failed (not the caller's fault).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Limits of the verification.
#[derive(Debug, Clone, Copy)]
pub struct VerifyPolicy {
    /// The largest id_token accepted, in bytes.
    pub max_token_bytes: usize,
    /// Clock leeway when a registration sets none. Moodle's tokens live 60 s, so this stays
    /// small.
    pub default_leeway: Duration,
    /// The largest leeway a registration may set.
    pub max_leeway: Duration,
}

impl Default for VerifyPolicy {
    fn default() -> Self {
        Self {
            max_token_bytes: 128 * 1024,
            default_leeway: Duration::seconds(60),
            max_leeway: Duration::minutes(5),
        }
    }
}

/// How the browser proved it started this login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrowserBinding<'a> {
    /// The value of the state cookie this browser sent, if any.
    Cookie(Option<&'a str>),
    /// The state value the tool's page read back from LTI Platform Storage.
    PlatformStorage(&'a str),
}

/// What was posted to the launch endpoint, as posted: [`Verifier::verify`] parses it.
#[derive(Debug, Clone, Copy)]
pub struct LaunchInput<'a> {
    /// The `id_token` form field.
    pub id_token: &'a str,
    /// The `state` form field, empty when missing. The verifier parses it into a
    /// [`LoginState`]; a value that does not parse was never issued and is refused as an
    /// unknown state.
    pub state: &'a str,
    /// The browser's proof of the state.
    pub binding: BrowserBinding<'a>,
}

/// Reading unverified tokens. Nothing here may be trusted; it only routes the verification.
pub mod dangerous {
    use serde::Deserialize;

    /// The fields that pick the registration and key, read before the signature is checked.
    #[derive(Debug, Deserialize)]
    pub struct Routing {
        /// `iss`, if it is a string.
        #[serde(default, deserialize_with = "lenient_string")]
        pub iss: Option<String>,
        /// `aud`: a string or an array of strings.
        #[serde(default)]
        pub aud: Option<serde_json::Value>,
        /// `azp`, if it is a string.
        #[serde(default, deserialize_with = "lenient_string")]
        pub azp: Option<String>,
        /// The deployment id claim, if it is a string.
        #[serde(
            default,
            rename = "https://purl.imsglobal.org/spec/lti/claim/deployment_id",
            deserialize_with = "lenient_string"
        )]
        pub deployment_id: Option<String>,
    }

    fn lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Some(s),
            _ => None,
        })
    }

    impl Routing {
        /// The audiences, or `None` when `aud` is neither a string nor an array of strings.
        pub fn audiences(&self) -> Option<Vec<String>> {
            match self.aud.as_ref()? {
                serde_json::Value::String(s) => Some(vec![s.clone()]),
                serde_json::Value::Array(list) => {
                    list.iter().map(|v| v.as_str().map(str::to_owned)).collect()
                }
                _ => None,
            }
        }
    }
}

#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    kid: Option<String>,
}

/// The parts of a compact JWS.
struct Parts<'a> {
    signing_input: &'a str,
    header: Header,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

fn split(token: &str, max: usize) -> Result<Parts<'_>, LaunchError> {
    if token.len() > max {
        return Err(LaunchError::TokenTooLarge(max));
    }
    let mut pieces = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (pieces.next(), pieces.next(), pieces.next(), pieces.next())
    else {
        return Err(LaunchError::MalformedToken("it does not have three parts"));
    };
    let decode = |part: &str, what: &'static str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| LaunchError::MalformedToken(what))
    };
    let header: Header = serde_json::from_slice(&decode(h, "its header is not base64url")?)
        .map_err(|_| LaunchError::MalformedToken("its header is not a JSON object"))?;
    let payload = decode(p, "its payload is not base64url")?;
    if !payload.starts_with(b"{") {
        return Err(LaunchError::MalformedToken(
            "its payload is not a JSON object",
        ));
    }
    let signature = decode(s, "its signature is not base64url")?;
    Ok(Parts {
        signing_input: &token[..h.len() + 1 + p.len()],
        header,
        payload,
        signature,
    })
}

/// The key a used nonce is recorded under: nonces are unique per issuer.
fn nonce_key(issuer: &Issuer, nonce: &Nonce) -> String {
    format!("{issuer}|{nonce}")
}

/// Checks only the format and size of a token (step 1), for callers that must look something
/// up before verifying and may not do so for a malformed token.
pub fn check_format(token: &str, policy: &VerifyPolicy) -> Result<(), LaunchError> {
    if token.is_empty() {
        return Err(LaunchError::MissingToken);
    }
    split(token, policy.max_token_bytes).map(drop)
}

/// A launch that passed every check. Its claims are reachable only through it.
#[derive(Debug, Clone)]
pub struct VerifiedLaunch {
    registration: Registration,
    deployment_id: DeploymentId,
    message_type: MessageType,
    claims: IdTokenClaims,
    roles: Roles,
    state: LoginState,
    issued: IssuedLogin,
}

impl VerifiedLaunch {
    /// The registration the launch came through.
    pub fn registration(&self) -> &Registration {
        &self.registration
    }

    /// The platform scope of the launch's identifiers: the registration and the deployment
    /// (context and resource link ids are unique only within a deployment, LTI Core 1.3
    /// §5.3.5, §5.4.1).
    pub fn scope(&self) -> PlatformScope {
        PlatformScope::lti13(
            self.registration.issuer.clone(),
            self.registration.client_id.clone(),
            self.deployment_id.clone(),
        )
    }

    /// The deployment.
    pub fn deployment_id(&self) -> &DeploymentId {
        &self.deployment_id
    }

    /// The message type.
    pub fn message_type(&self) -> MessageType {
        self.message_type
    }

    /// All claims. Crate-only: the claims type is not part of the public API, so code outside
    /// reads a verified launch through the accessors here.
    pub(crate) fn claims(&self) -> &IdTokenClaims {
        &self.claims
    }

    /// The URL the launch is for (LTI Core 1.3 §5.3.4): the signed `target_link_uri` claim,
    /// which the verifier checked is exactly the target the login was for.
    pub fn target_link_uri(&self) -> &TargetLinkUri {
        &self.issued.target_link_uri
    }

    /// A custom property rendered as a string (LTI Core 1.3 §5.4.6): strings as sent,
    /// numbers and booleans (which some platforms send instead) in their JSON form; `None`
    /// for a missing key, `null`, an array or an object, and for a substitution variable the
    /// platform left unexpanded (`"$ResourceLink.id.history"`, see
    /// [`crate::domain::substitution`]).
    pub fn custom(&self, key: &str) -> Option<String> {
        let value = self.claims.custom_str(key)?;
        if substitution::is_unexpanded(&value) {
            substitution::note_unexpanded(self.claims.iss.as_str(), key, &value);
            return None;
        }
        Some(value)
    }

    /// Whether the launch is anonymous: no `sub` claim (LTI Core 1.3 §5.3.6.1), which the
    /// registration must allow.
    pub fn is_anonymous(&self) -> bool {
        self.claims.is_anonymous()
    }

    /// The login state this launch completed (and consumed): the name of the browser's state
    /// cookie to clear.
    pub fn state(&self) -> &LoginState {
        &self.state
    }

    /// The user's roles, normalized with the registration's role map.
    pub fn roles(&self) -> &Roles {
        &self.roles
    }

    /// The user, or `None` for an anonymous launch.
    pub fn user_id(&self) -> Option<UserId> {
        self.claims
            .sub
            .as_deref()
            .and_then(|s| UserId::parse(s).ok())
    }

    /// The resource link id (present for resource-link launches).
    pub fn resource_link_id(&self) -> Option<ResourceLinkId> {
        let link = self.claims.resource_link.as_ref()?;
        ResourceLinkId::parse(link.id.as_str()).ok()
    }

    /// The context id, when the platform sent a context.
    pub fn context_id(&self) -> Option<ContextId> {
        let context = self.claims.context.as_ref()?;
        ContextId::parse(context.id.as_str()).ok()
    }

    /// What the launch tells the tool to record (only what the platform sent).
    pub fn facts(&self) -> Option<LaunchFacts> {
        let claims = &self.claims;
        let context = self.context_id().map(|id| {
            let sent = claims.context.as_ref();
            (
                id,
                ContextFacts {
                    label: sent.and_then(|c| c.label.clone()),
                    title: sent.and_then(|c| c.title.clone()),
                    types: sent.map(|c| c.types.clone()).unwrap_or_default(),
                    memberships_url: claims
                        .nrps
                        .as_ref()
                        .map(|n| n.context_memberships_url.clone()),
                },
            )
        });
        let link = claims.resource_link.as_ref();
        Some(LaunchFacts {
            scope: self.scope(),
            user_id: self.user_id(),
            user: UserFacts {
                name: claims.name.clone(),
                given_name: claims.given_name.clone(),
                family_name: claims.family_name.clone(),
                sis_id: claims.lis.as_ref().and_then(|l| l.person_sourcedid.clone()),
            },
            context,
            resource_link_id: self.resource_link_id()?,
            link: LinkFacts {
                title: link.and_then(|l| l.title.clone()),
                description: link.and_then(|l| l.description.clone()),
                ags: claims.ags_endpoint.as_ref().map(|a| AgsEndpoint {
                    scopes: a.scope.clone(),
                    lineitems: a.lineitems.clone(),
                    // A line item no score could be sent to counts as absent, like a
                    // blank one: the tool finds or creates the link's line item instead.
                    lineitem: a
                        .lineitem
                        .as_deref()
                        .and_then(|l| LineItemUrl::parse(l).ok()),
                }),
            },
            roles: self.roles.clone(),
            outcome: None,
            continues: None,
        })
    }

    /// The login this launch completed.
    pub fn issued_login(&self) -> &IssuedLogin {
        &self.issued
    }
}

/// The launch verifier and the ports it reads.
pub struct Verifier {
    registry: Arc<dyn PlatformRegistry>,
    items: Arc<dyn ExpiringItems>,
    keys: Arc<dyn PlatformKeySource>,
    clock: Arc<dyn Clock>,
    policy: VerifyPolicy,
}

impl Verifier {
    /// A verifier over its ports: registrations, state and nonce records, platforms' keys
    /// and the clock, with the default [`VerifyPolicy`].
    pub fn new(
        registry: Arc<dyn PlatformRegistry>,
        items: Arc<dyn ExpiringItems>,
        keys: Arc<dyn PlatformKeySource>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            registry,
            items,
            keys,
            clock,
            policy: VerifyPolicy::default(),
        }
    }

    /// The same verifier with other limits.
    pub fn with_policy(mut self, policy: VerifyPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The clock the verifier checks times against.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The verification limits.
    pub fn policy(&self) -> &VerifyPolicy {
        &self.policy
    }

    /// Where registrations are looked up.
    pub fn registry(&self) -> &Arc<dyn PlatformRegistry> {
        &self.registry
    }

    /// Where state and nonce records are kept.
    pub fn items(&self) -> &Arc<dyn ExpiringItems> {
        &self.items
    }

    /// Where platforms' keys come from.
    pub fn platform_keys(&self) -> &Arc<dyn PlatformKeySource> {
        &self.keys
    }

    /// Verifies a posted launch for an endpoint that handles `expected` messages.
    pub async fn verify(
        &self,
        input: LaunchInput<'_>,
        expected: MessageType,
    ) -> Result<VerifiedLaunch, LaunchError> {
        let now = self.clock.now();
        // 1. Format and size.
        if input.id_token.is_empty() {
            return Err(LaunchError::MissingToken);
        }
        if input.state.is_empty() {
            return Err(LaunchError::MissingState);
        }
        // A state that does not parse was never issued: it is looked up as unknown below.
        let state = LoginState::parse(input.state).ok();
        let parts = split(input.id_token, self.policy.max_token_bytes)?;
        let routing: dangerous::Routing = serde_json::from_slice(&parts.payload)
            .map_err(|_| LaunchError::MalformedToken("its payload is not a JSON object"))?;

        // 2. Registration.
        let (registration, deployment_id) = self.registration(&routing).await?;

        // 3. Key.
        let alg = parts.header.alg.as_deref().unwrap_or("none");
        if alg != "RS256" {
            return Err(LaunchError::UnsupportedAlgorithm(alg.to_owned()));
        }
        let kid = parts
            .header
            .kid
            .as_deref()
            .ok_or(LaunchError::MissingKeyId)?;
        let key = self.keys.key(&registration.jwks_url, kid, now).await?;

        // 4. Signature.
        if !key.verify_rs256(parts.signing_input.as_bytes(), &parts.signature) {
            return Err(LaunchError::BadSignature);
        }
        let claims: IdTokenClaims = serde_json::from_slice(&parts.payload)
            .map_err(|e| LaunchError::InvalidClaims(e.to_string()))?;

        // 5. Time.
        let leeway = registration
            .options
            .clock_leeway_secs
            .map_or(self.policy.default_leeway, |s| {
                Duration::seconds(i64::from(s))
            })
            .min(self.policy.max_leeway);
        let now_s = now.unix_timestamp();
        let leeway_s = leeway.whole_seconds();
        if claims.exp <= now_s - leeway_s {
            return Err(LaunchError::Expired);
        }
        if claims.iat > now_s + leeway_s {
            return Err(LaunchError::IssuedInFuture);
        }
        if claims.nbf.is_some_and(|nbf| nbf > now_s + leeway_s) {
            return Err(LaunchError::NotYetValid);
        }
        // Each time may be inside the leeway and the token still expire before it was
        // issued: that token is malformed (Security Framework §5.1.3 assumes iat ≤ exp).
        if claims.iat > claims.exp {
            return Err(LaunchError::IssuedAfterExpiry);
        }

        // 6. Claims.
        if claims.version != "1.3.0" {
            return Err(LaunchError::UnsupportedVersion(claims.version.clone()));
        }
        let message_type = claims
            .message_kind()
            .ok_or_else(|| LaunchError::UnsupportedMessageType(claims.message_type.clone()))?;
        if message_type != expected {
            return Err(LaunchError::WrongEndpoint(message_type.as_str()));
        }
        let roles = claims
            .roles
            .as_ref()
            .ok_or(LaunchError::MissingClaim("roles"))?;
        match message_type {
            MessageType::ResourceLink => {
                let link = claims
                    .resource_link
                    .as_ref()
                    .ok_or(LaunchError::MissingClaim("resource_link"))?;
                ResourceLinkId::parse(link.id.as_str())
                    .map_err(|_| LaunchError::InvalidClaim("resource_link.id"))?;
            }
            MessageType::DeepLinking => {
                claims
                    .deep_linking_settings
                    .as_ref()
                    .ok_or(LaunchError::MissingClaim("deep_linking_settings"))?;
            }
        }
        match &claims.sub {
            Some(sub) => {
                UserId::parse(sub.as_str()).map_err(|_| LaunchError::InvalidClaim("sub"))?;
            }
            None if registration.options.allow_anonymous => {}
            None => return Err(LaunchError::MissingClaim("sub")),
        }
        if let Some(context) = &claims.context {
            ContextId::parse(context.id.as_str())
                .map_err(|_| LaunchError::InvalidClaim("context.id"))?;
        }
        let target = claims
            .target_link_uri
            .as_deref()
            .ok_or(LaunchError::MissingClaim("target_link_uri"))?;
        // The nonce as the token carries it. One that does not parse was never issued: it
        // cannot have been used, and it is not the one issued with the state.
        let nonce = Nonce::parse(claims.nonce.as_str()).ok();
        let issued = match &state {
            Some(state) => issued_login(self.items.as_ref(), state, now).await?,
            None => None,
        };
        let (Some(state), Some(issued)) = (state, issued) else {
            // A used state is gone. If this (signed, current) token's nonce was consumed, it
            // is a replay; say so rather than "expired".
            let used = match &nonce {
                Some(nonce) => self
                    .items
                    .item(
                        ItemKind::Nonce,
                        &nonce_key(&registration.issuer, nonce),
                        now,
                    )
                    .await?
                    .is_some(),
                None => false,
            };
            return Err(if used {
                LaunchError::NonceReplayed
            } else {
                LaunchError::UnknownState
            });
        };
        if !issued.target_link_uri.is_exactly(target) {
            return Err(LaunchError::TargetLinkMismatch);
        }

        // 7. State bound to this browser; nonce issued with it.
        if issued.issuer != registration.issuer || issued.client_id != registration.client_id {
            return Err(LaunchError::StateForOtherPlatform);
        }
        let bound = match input.binding {
            BrowserBinding::Cookie(Some(value)) => {
                constant_time_eq(value.as_bytes(), state.as_str().as_bytes())
            }
            BrowserBinding::Cookie(None) => false,
            BrowserBinding::PlatformStorage(value) => {
                issued.storage_target.is_some()
                    && constant_time_eq(value.as_bytes(), state.as_str().as_bytes())
            }
        };
        if !bound {
            return Err(LaunchError::StateMismatch);
        }
        // `Nonce` equality is constant-time.
        let Some(nonce) = nonce.filter(|nonce| *nonce == issued.nonce) else {
            return Err(LaunchError::NonceMismatch);
        };

        // 8. Consume the nonce, last. It is kept until the token could no longer pass step 5.
        let keep_until = OffsetDateTime::from_unix_timestamp(claims.exp.max(now_s)).unwrap_or(now)
            + leeway
            + Duration::seconds(1);
        // The login state is removed in the same atomic step: it has done its job.
        let nonce_key = nonce_key(&registration.issuer, &nonce);
        let used = NewItem {
            kind: ItemKind::Nonce,
            key: &nonce_key,
            value: "used",
            expires_at: keep_until,
        };
        match self
            .items
            .create_if_absent_and_remove(used, now, (ItemKind::LoginState, state.as_str()))
            .await?
        {
            Created::Created => {}
            Created::AlreadyExists => return Err(LaunchError::NonceReplayed),
        }
        let roles = Roles::from_claim(roles, &registration.options.role_map);
        Ok(VerifiedLaunch {
            registration,
            deployment_id,
            message_type,
            claims,
            roles,
            state,
            issued,
        })
    }

    async fn registration(
        &self,
        routing: &dangerous::Routing,
    ) -> Result<(Registration, DeploymentId), LaunchError> {
        let iss = routing.iss.clone().unwrap_or_default();
        let issuer =
            Issuer::parse(iss.as_str()).map_err(|_| LaunchError::UnknownIssuer(iss.clone()))?;
        let candidates = self.registry.platforms_of_issuer(&issuer).await?;
        if candidates.is_empty() {
            return Err(LaunchError::UnknownIssuer(iss));
        }
        let audiences = routing.audiences().ok_or(LaunchError::AudienceMismatch)?;
        let registration = candidates
            .into_iter()
            .find(|r| audiences.iter().any(|a| a == r.client_id.as_str()))
            .ok_or(LaunchError::AudienceMismatch)?;
        let client_id: &ClientId = &registration.client_id;
        if audiences.iter().any(|a| a != client_id.as_str()) {
            return Err(LaunchError::UntrustedAudience);
        }
        match &routing.azp {
            Some(azp) if azp != client_id.as_str() => {
                return Err(LaunchError::AuthorizedPartyMismatch);
            }
            None if audiences.len() > 1 => return Err(LaunchError::MissingAuthorizedParty),
            _ => {}
        }
        match registration.status {
            Status::Active => {}
            Status::Disabled => return Err(LaunchError::PlatformDisabled),
            Status::Pending => return Err(LaunchError::PlatformPending),
        }
        let deployment = routing
            .deployment_id
            .as_deref()
            .ok_or(LaunchError::MissingDeployment)?;
        let deployment_id = DeploymentId::parse(deployment)
            .ok()
            .filter(|d| registration.deployment_ids.contains(d))
            .ok_or_else(|| LaunchError::UnknownDeployment(deployment.to_owned()))?;
        Ok((registration, deployment_id))
    }
}
