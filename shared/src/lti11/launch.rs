//! LTI 1.1 `basic-lti-launch-request` verification (LTI 1.1 implementation guide; OAuth 1.0a,
//! RFC 5849).
//!
//! [`Lti11Verifier::verify`] is the only way to a [`VerifiedLti11Launch`]. In order:
//! 1. the method is POST (a GET launch is refused);
//! 2. the OAuth parameters are well formed (see [`crate::lti11::oauth1::SignedRequest::parse`]);
//! 3. the consumer is known and has a secret — an unknown consumer key gets the same answer as a
//!    bad signature, so keys cannot be probed;
//! 4. the signature verifies (constant-time comparison), over the base string built from the
//!    **public** URL the platform used, never the host or port the server sees;
//! 5. the consumer is enabled;
//! 6. `oauth_timestamp` is within the window, in both directions;
//! 7. `lti_message_type`, `lti_version` and `resource_link_id` are as LTI 1.1 requires;
//!    (a Content-Item `ContentItemSelectionRequest` goes through the same steps with its own
//!    message type and parameters: [`crate::lti11::content_item`]);
//! 8. the nonce is recorded per consumer key with one conditional write, last, so a refused
//!    request never burns it and a replay is refused.

use std::sync::Arc;

use time::{Duration, OffsetDateTime};
use url::Url;

use crate::domain::clock::Clock;
use crate::domain::ids::{ConsumerKey, ContextId, ResourceLinkId, UserId};
use crate::domain::launch_facts::{ContextFacts, LaunchFacts, LinkFacts, UserFacts};
use crate::domain::model::{BasicOutcome, Consumer, PlatformScope, Status};
use crate::domain::roles::Roles;
use crate::domain::secret::ConsumerSecret;
use crate::lti11::oauth1::{OAuthError, SignedRequest};
use crate::ports::{ConsumerRegistry, Created, ExpiringItems, ItemKind, KeyStore, StoreError};

/// Why an LTI 1.1 launch was refused.
#[derive(Debug, thiserror::Error)]
pub enum Lti11Error {
    /// Launches must be form POSTs.
    #[error("LTI 1.1 launches must be POSTed")]
    NotPost,
    /// The OAuth parameters are malformed or use a refused method.
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    /// Unknown consumer, no secret, or a signature that does not verify (one answer for all).
    #[error("the OAuth signature does not verify")]
    BadSignature,
    /// The consumer is disabled.
    #[error("the consumer is disabled")]
    ConsumerDisabled,
    /// `oauth_timestamp` is too far from now.
    #[error("oauth_timestamp is outside the accepted window")]
    StaleTimestamp,
    /// A required LTI parameter is missing.
    #[error("the launch has no {0}")]
    MissingParameter(&'static str),
    /// Not a `basic-lti-launch-request`.
    #[error("LTI message type {0:?} is not supported here")]
    UnsupportedMessageType(String),
    /// Not `LTI-1p0`.
    #[error("LTI version {0:?} is not supported")]
    UnsupportedVersion(String),
    /// An identifier is unusable (empty, too long, control characters).
    #[error("the launch's {0} is invalid")]
    InvalidParameter(&'static str),
    /// The nonce was used already.
    #[error("the launch was used already")]
    NonceReplayed,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The secret an unknown consumer key's signature is checked against (and never matches: no
/// consumer can be registered with it, and the result is discarded).
const UNKNOWN_CONSUMER_SECRET: &str = "unknown-consumer-equal-work-0b6c2f";

/// How LTI 1.1 launches are checked.
#[derive(Debug, Clone, Copy)]
pub struct Lti11Policy {
    /// How far `oauth_timestamp` may be from now, either way.
    pub timestamp_window: Duration,
}

impl Default for Lti11Policy {
    fn default() -> Self {
        Self {
            timestamp_window: Duration::seconds(300),
        }
    }
}

/// The `lti_message_type` of an LTI 1.1 resource launch.
pub const LAUNCH_MESSAGE_TYPE: &str = "basic-lti-launch-request";

/// Whether a launch body is an LTI 1.1 launch (rather than an LTI 1.3 `id_token` post).
pub fn is_lti11_launch(params: &[(String, String)]) -> bool {
    params
        .iter()
        .any(|(n, _)| n == "oauth_signature" || n == "lti_message_type")
}

/// The verifier and the ports it reads.
pub struct Lti11Verifier {
    /// Consumers.
    pub consumers: Arc<dyn ConsumerRegistry>,
    /// Consumer secrets.
    pub keys: Arc<dyn KeyStore>,
    /// Used nonces.
    pub items: Arc<dyn ExpiringItems>,
    /// Now.
    pub clock: Arc<dyn Clock>,
    /// Limits.
    pub policy: Lti11Policy,
}

/// An LTI 1.1 launch that passed every check.
#[derive(Debug, Clone)]
pub struct VerifiedLti11Launch {
    consumer: Consumer,
    params: Vec<(String, String)>,
    resource_link_id: ResourceLinkId,
    roles: Roles,
}

/// The first non-empty value of parameter `name`.
pub(crate) fn first<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, v)| n == name && !v.is_empty())
        .map(|(_, v)| v.as_str())
}

impl Lti11Verifier {
    /// A verifier over consumers, consumer secrets, used nonces and the clock, with the
    /// default [`Lti11Policy`].
    pub fn new(
        consumers: Arc<dyn ConsumerRegistry>,
        keys: Arc<dyn KeyStore>,
        items: Arc<dyn ExpiringItems>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            consumers,
            keys,
            items,
            clock,
            policy: Lti11Policy::default(),
        }
    }

    /// Verifies a launch posted to `public_url` (the public origin and the request's path).
    pub async fn verify(
        &self,
        method: &str,
        public_url: &Url,
        params: Vec<(String, String)>,
    ) -> Result<VerifiedLti11Launch, Lti11Error> {
        let checked = self
            .authenticate(method, public_url, params, LAUNCH_MESSAGE_TYPE)
            .await?;
        let params = checked.request.params();
        let link = first(params, "resource_link_id")
            .ok_or(Lti11Error::MissingParameter("resource_link_id"))?;
        let resource_link_id = ResourceLinkId::parse(link)
            .map_err(|_| Lti11Error::InvalidParameter("resource_link_id"))?;
        check_user_and_context(params)?;
        // Last: record the nonce.
        self.record_nonce(&checked).await?;
        let roles = Roles::from_lti11(
            first(params, "roles").unwrap_or_default(),
            &Default::default(),
        );
        Ok(VerifiedLti11Launch {
            params: params.to_vec(),
            consumer: checked.consumer,
            resource_link_id,
            roles,
        })
    }

    /// Steps 1 to 7 of the module's list for a message of type `message_type`, except the
    /// message's own parameters: method, OAuth parameters, consumer, signature, consumer
    /// status, timestamp, `lti_message_type` and `lti_version`. The nonce is not recorded: the
    /// caller checks the message's parameters, then calls [`Self::record_nonce`].
    pub(crate) async fn authenticate(
        &self,
        method: &str,
        public_url: &Url,
        params: Vec<(String, String)>,
        message_type: &str,
    ) -> Result<Authenticated, Lti11Error> {
        if !method.eq_ignore_ascii_case("POST") {
            return Err(Lti11Error::NotPost);
        }
        let request = SignedRequest::parse(method, public_url, params)?;
        // An unknown key costs the same signature work as a known one, so that a consumer key
        // cannot be found by timing the refusal (it is the OAuth identity, not a secret, but
        // naming valid ones helps an attacker aim).
        let unknown = |request: &SignedRequest| {
            let _ = request.verify_signature(&ConsumerSecret::new(UNKNOWN_CONSUMER_SECRET));
            Lti11Error::BadSignature
        };
        let Ok(key) = ConsumerKey::parse(request.consumer_key()) else {
            return Err(unknown(&request));
        };
        let consumer = self.consumers.consumer(&key).await?;
        let secret = self.keys.consumer_secret(&key).await?;
        let (Some(consumer), Some(secret)) = (consumer, secret) else {
            return Err(unknown(&request));
        };
        request
            .verify_signature(&secret)
            .map_err(|_| Lti11Error::BadSignature)?;
        if consumer.status != Status::Active {
            return Err(Lti11Error::ConsumerDisabled);
        }
        let now = self.clock.now();
        let window = self.policy.timestamp_window.whole_seconds();
        if (now.unix_timestamp() - request.timestamp()).abs() > window {
            return Err(Lti11Error::StaleTimestamp);
        }
        let params = request.params();
        let sent_type = first(params, "lti_message_type")
            .ok_or(Lti11Error::MissingParameter("lti_message_type"))?;
        if sent_type != message_type {
            return Err(Lti11Error::UnsupportedMessageType(sent_type.to_owned()));
        }
        let version =
            first(params, "lti_version").ok_or(Lti11Error::MissingParameter("lti_version"))?;
        if version != "LTI-1p0" {
            return Err(Lti11Error::UnsupportedVersion(version.to_owned()));
        }
        Ok(Authenticated {
            consumer,
            request,
            now,
        })
    }

    /// Step 8: records the nonce per consumer key with one conditional write, until no
    /// request with that timestamp could pass the timestamp check; a replay is refused.
    pub(crate) async fn record_nonce(&self, checked: &Authenticated) -> Result<(), Lti11Error> {
        let now = checked.now;
        let keep_until = OffsetDateTime::from_unix_timestamp(checked.request.timestamp())
            .unwrap_or(now)
            .max(now)
            + self.policy.timestamp_window
            + Duration::seconds(1);
        let nonce_key = format!("{}|{}", checked.consumer.key, checked.request.nonce());
        match self
            .items
            .create_if_absent(ItemKind::OAuthNonce, &nonce_key, "used", keep_until, now)
            .await?
        {
            Created::Created => Ok(()),
            Created::AlreadyExists => Err(Lti11Error::NonceReplayed),
        }
    }
}

/// A request that passed [`Lti11Verifier::authenticate`]; its nonce is not yet recorded.
pub(crate) struct Authenticated {
    /// The consumer that signed it.
    pub(crate) consumer: Consumer,
    /// The request, its signature verified.
    pub(crate) request: SignedRequest,
    /// When it was checked.
    pub(crate) now: OffsetDateTime,
}

/// Refuses a `user_id` or `context_id` that is sent but unusable.
pub(crate) fn check_user_and_context(params: &[(String, String)]) -> Result<(), Lti11Error> {
    if let Some(user) = first(params, "user_id") {
        UserId::parse(user).map_err(|_| Lti11Error::InvalidParameter("user_id"))?;
    }
    if let Some(context) = first(params, "context_id") {
        ContextId::parse(context).map_err(|_| Lti11Error::InvalidParameter("context_id"))?;
    }
    Ok(())
}

impl VerifiedLti11Launch {
    /// The consumer the launch came from.
    pub fn consumer(&self) -> &Consumer {
        &self.consumer
    }

    /// The platform scope of the launch's identifiers.
    pub fn scope(&self) -> PlatformScope {
        PlatformScope::Lti11 {
            consumer_key: self.consumer.key.clone(),
        }
    }

    /// A launch parameter (first non-empty value).
    pub fn param(&self, name: &str) -> Option<&str> {
        first(&self.params, name)
    }

    /// A custom parameter (`custom_<key>`, LTI 1.1 Implementation Guide §B.2, where the
    /// platform lower-cases the key), or `None` when it is missing, empty, or a substitution
    /// variable the platform left unexpanded (see [`crate::domain::substitution`]).
    pub fn custom(&self, key: &str) -> Option<&str> {
        let name = format!("custom_{}", key.to_ascii_lowercase());
        let value = first(&self.params, &name)?;
        if crate::domain::substitution::is_unexpanded(value) {
            crate::domain::substitution::note_unexpanded(self.consumer.key.as_str(), &name, value);
            return None;
        }
        Some(value)
    }

    /// The user's roles (LTI 1.1 role list, same model as LTI 1.3).
    pub fn roles(&self) -> &Roles {
        &self.roles
    }

    /// The user, or `None` when the platform sent no `user_id`.
    pub fn user_id(&self) -> Option<UserId> {
        self.param("user_id").and_then(|u| UserId::parse(u).ok())
    }

    /// The resource link.
    pub fn resource_link_id(&self) -> &ResourceLinkId {
        &self.resource_link_id
    }

    /// The context, when sent.
    pub fn context_id(&self) -> Option<ContextId> {
        self.param("context_id")
            .and_then(|c| ContextId::parse(c).ok())
    }

    /// What the launch tells the tool to record: only what the platform sent.
    pub fn facts(&self) -> LaunchFacts {
        let owned = |name: &str| {
            self.params
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let outcome = match (
            self.param("lis_outcome_service_url"),
            self.param("lis_result_sourcedid"),
        ) {
            (Some(url), Some(sourcedid)) => Some(BasicOutcome {
                service_url: url.to_owned(),
                sourcedid: sourcedid.to_owned(),
            }),
            _ => None,
        };
        LaunchFacts {
            scope: self.scope(),
            user_id: self.user_id(),
            user: UserFacts {
                name: owned("lis_person_name_full"),
                given_name: owned("lis_person_name_given"),
                family_name: owned("lis_person_name_family"),
                sis_id: owned("lis_person_sourcedid"),
            },
            context: self.context_id().map(|id| {
                (
                    id,
                    ContextFacts {
                        label: owned("context_label"),
                        title: owned("context_title"),
                        types: self
                            .param("context_type")
                            .map(|t| t.split(',').map(|s| s.trim().to_owned()).collect())
                            .unwrap_or_default(),
                        memberships_url: None,
                    },
                )
            }),
            resource_link_id: self.resource_link_id.clone(),
            link: LinkFacts {
                title: owned("resource_link_title"),
                description: owned("resource_link_description"),
                ags: None,
            },
            roles: self.roles.clone(),
            outcome,
            continues: None,
        }
    }
}

/// Checks the LTI 1.3 migration claim of a verified LTI 1.3 launch (`lti1p1`, LTI 1.3
/// migration guide): its `oauth_consumer_key_sign` must be the HMAC-SHA256, keyed with the LTI
/// 1.1 consumer's secret, of `oauth_consumer_key&deployment_id&iss&client_id&exp&nonce`.
/// Returns the LTI 1.1 identities the launch continues, or `None` — a missing or invalid claim
/// means no linking, never a refused launch.
pub async fn lti11_continuity(
    launch: &crate::lti13::launch::VerifiedLaunch,
    keys: &dyn KeyStore,
) -> Option<crate::domain::launch_facts::Lti11Continuity> {
    let claims = launch.claims();
    let claim = claims.lti1p1.as_ref()?;
    let key = claim.oauth_consumer_key.as_deref()?;
    let signature = claim.oauth_consumer_key_sign.as_deref()?;
    let consumer_key = ConsumerKey::parse(key).ok()?;
    let secret = match keys.consumer_secret(&consumer_key).await {
        Ok(Some(secret)) => secret,
        Ok(None) => {
            tracing::info!(
                consumer = key,
                "migration claim names an unknown consumer; not linking"
            );
            return None;
        }
        Err(error) => {
            tracing::warn!(%error, "cannot read the consumer secret; not linking");
            return None;
        }
    };
    let registration = launch.registration();
    let valid = crate::lti11::oauth1::verify_migration_signature(
        &secret,
        key,
        launch.deployment_id().as_str(),
        registration.issuer.as_str(),
        registration.client_id.as_str(),
        claims.exp,
        &claims.nonce,
        signature,
    );
    if !valid {
        tracing::info!(
            consumer = key,
            "migration claim signature does not verify; not linking"
        );
        return None;
    }
    let resource_link_id = match &claim.resource_link_id {
        Some(id) => ResourceLinkId::parse(id.as_str()).ok()?,
        None => launch.resource_link_id()?,
    };
    let user_id = match &claim.user_id {
        Some(id) => Some(UserId::parse(id.as_str()).ok()?),
        None => launch.user_id(),
    };
    Some(crate::domain::launch_facts::Lti11Continuity {
        consumer_key,
        user_id,
        resource_link_id,
        context_id: launch.context_id(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn launch(params: &[(&str, &str)]) -> VerifiedLti11Launch {
        VerifiedLti11Launch {
            consumer: Consumer {
                key: ConsumerKey::parse("moodle-1").unwrap(),
                name: None,
                status: Status::Active,
                created_at: OffsetDateTime::UNIX_EPOCH,
            },
            params: params
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            resource_link_id: ResourceLinkId::parse("link-1").unwrap(),
            roles: Roles::default(),
        }
    }

    #[test]
    fn custom_unexpanded_substitution_variable_is_absent() {
        let launch = launch(&[
            (
                "custom_resource_link_id_history",
                "$ResourceLink.id.history",
            ),
            ("custom_context_id_history", ""),
            ("custom_chapter", "3"),
        ]);
        assert_eq!(launch.custom("resource_link_id_history"), None);
        // An empty parameter counts as absent in LTI 1.1, like every other parameter here.
        assert_eq!(launch.custom("context_id_history"), None);
        assert_eq!(launch.custom("Chapter"), Some("3"));
        assert_eq!(launch.custom("absent"), None);
    }
}
