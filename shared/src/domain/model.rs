//! The records the tool keeps: platform registrations, LTI 1.1 consumers, and what launches
//! tell us about users, contexts, resource links and attempts.
//!
//! Personal data is limited to what a platform chose to send and the product needs: a display
//! name (and its parts) for the instructor views and an SIS id for exports. E-mail addresses
//! and pictures are never stored. Every personal field is optional, because privacy settings
//! (Canvas's `anonymous` level, for instance) legitimately withhold all of them.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

use crate::domain::ids::{
    AttemptId, ClientId, ConsumerKey, ContextId, DeploymentId, Issuer, LineItemUrl, ResourceLinkId,
    UserId,
};
use crate::domain::roles::Roles;

/// Whether a platform or consumer may launch the tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Launches are accepted.
    #[default]
    Active,
    /// Launches are refused; the record is kept so it can be re-enabled.
    Disabled,
    /// Made by LTI Dynamic Registration and waiting for an operator's review: launches are
    /// refused until `ltictl platform update … --status active` approves it.
    Pending,
}

impl Status {
    /// The lower-case name used in tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Disabled => "disabled",
            Status::Pending => "pending",
        }
    }
}

/// Per-platform settings that differ between LMSs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformOptions {
    /// Extra role mappings for this platform: a role string the platform sends, mapped to the
    /// LIS role URI the tool should treat it as (for example a custom Sakai role).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub role_map: BTreeMap<String, String>,
    /// Allowed clock skew, in seconds, when checking `iat`/`exp`/`nbf` of this platform's
    /// tokens. `None` means the product default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_leeway_secs: Option<u32>,
    /// Accept launches without `sub` (LTI Core 1.3 §5.3.6.1 anonymous launches). Off by
    /// default: most features need to know who the user is.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_anonymous: bool,
    /// The `aud` to put in client assertions when the platform declares one that differs from
    /// its token URL (Security Framework §4.1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_audience: Option<String>,
}

/// An LTI 1.3 platform registration (Security Framework §5.1; LTI Core 1.3 §3.1).
///
/// Keyed by issuer **and** client id: Canvas Cloud uses one issuer for every institution, so
/// the issuer alone does not identify a registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// The platform's issuer, compared exactly.
    pub issuer: Issuer,
    /// The client id the platform gave the tool.
    pub client_id: ClientId,
    /// Deployments of this client that may launch the tool.
    pub deployment_ids: BTreeSet<DeploymentId>,
    /// The platform's OIDC authorization endpoint (Security Framework §5.1.1.2).
    pub auth_url: Url,
    /// The platform's OAuth 2 token endpoint (Security Framework §4.1).
    pub token_url: Url,
    /// Where the platform publishes its public keys (Security Framework §6.3).
    pub jwks_url: Url,
    /// A human-readable name for operators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether launches from this registration are accepted (only when
    /// [`Status::Active`]).
    #[serde(default)]
    pub status: Status,
    /// Platform-specific settings.
    #[serde(default)]
    pub options: PlatformOptions,
    /// When the registration was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// An LTI 1.1 tool consumer. Its secret is kept in the key store, never here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consumer {
    /// The OAuth consumer key the consumer signs with.
    pub key: ConsumerKey,
    /// A human-readable name for operators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether launches from this consumer are accepted.
    #[serde(default)]
    pub status: Status,
    /// When the consumer was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// The namespace a platform's identifiers live in.
///
/// Context and resource link ids are only unique within one **deployment** of the tool (LTI
/// Core 1.3 §5.3.5, §5.4.1): two deployments of one registration may both send link id `42`
/// for different placements. So for LTI 1.3 every record a launch writes (users, contexts,
/// resource links, attempts, deliveries, roster caches, session tokens) is keyed by issuer,
/// client id **and** deployment id; for LTI 1.1 by the consumer key. Users are split per
/// deployment as well, although a `sub` is unique per issuer: each deployment's staff then see
/// only the names that deployment's launches sent, under its own privacy settings.
///
/// `deployment_id` is `None` only for registration-wide entries (audit entries about a
/// registration) and for records written before records were scoped per deployment, which
/// `ltictl migrate deployments` moves under their deployment. Every launch sets it
/// ([`PlatformScope::lti13`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "lti_version", rename_all = "snake_case")]
pub enum PlatformScope {
    /// An LTI 1.3 registration, and the deployment within it.
    #[serde(rename = "1.3")]
    Lti13 {
        /// The registration's issuer.
        issuer: Issuer,
        /// The registration's client id.
        client_id: ClientId,
        /// The deployment the launch came from (`None`: registration-wide, or a record from
        /// before deployment scoping; see the type's documentation).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        deployment_id: Option<DeploymentId>,
    },
    /// An LTI 1.1 consumer.
    #[serde(rename = "1.1")]
    Lti11 {
        /// The consumer's key.
        consumer_key: ConsumerKey,
    },
}

impl PlatformScope {
    /// The scope of one LTI 1.3 deployment: what every launch record is keyed by.
    pub fn lti13(issuer: Issuer, client_id: ClientId, deployment_id: DeploymentId) -> Self {
        PlatformScope::Lti13 {
            issuer,
            client_id,
            deployment_id: Some(deployment_id),
        }
    }

    /// A whole LTI 1.3 registration, without a deployment (audit entries about the
    /// registration, and the key of records from before deployment scoping).
    pub fn registration(issuer: Issuer, client_id: ClientId) -> Self {
        PlatformScope::Lti13 {
            issuer,
            client_id,
            deployment_id: None,
        }
    }

    /// The LTI 1.3 deployment, when this scope names one.
    pub fn deployment_id(&self) -> Option<&DeploymentId> {
        match self {
            PlatformScope::Lti13 { deployment_id, .. } => deployment_id.as_ref(),
            PlatformScope::Lti11 { .. } => None,
        }
    }

    /// Whether this is an LTI 1.3 scope without a deployment: a record written before
    /// records were scoped per deployment (or a registration-wide entry).
    pub fn lacks_deployment(&self) -> bool {
        matches!(
            self,
            PlatformScope::Lti13 {
                deployment_id: None,
                ..
            }
        )
    }

    /// The same registration with `deployment` as its deployment (LTI 1.1 unchanged).
    pub fn with_deployment(&self, deployment: &DeploymentId) -> Self {
        match self {
            PlatformScope::Lti13 {
                issuer, client_id, ..
            } => PlatformScope::lti13(issuer.clone(), client_id.clone(), deployment.clone()),
            PlatformScope::Lti11 { .. } => self.clone(),
        }
    }
}

/// A record of an LTI 1.1 consumer that an LTI 1.3 record continues (LTI 1.3 migration: the
/// `lti1p1` claim with a valid `oauth_consumer_key_sign`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lti11Ref {
    /// The LTI 1.1 consumer.
    pub consumer_key: ConsumerKey,
    /// The record's LTI 1.1 id (`user_id`, `context_id` or `resource_link_id`).
    pub id: String,
}

/// A person as a platform described them at their latest launch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Which platform the id belongs to.
    pub scope: PlatformScope,
    /// The platform's id for the user.
    pub user_id: UserId,
    /// Full display name, when the platform sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Given name, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Family name, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// Student information system id (LIS `person_sourcedid`), when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sis_id: Option<String>,
    /// The LTI 1.1 user this LTI 1.3 user continues, once a launch proved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lti11: Option<Lti11Ref>,
    /// When this record was last written from a launch.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A course or other grouping the tool was launched from (LTI Core 1.3 §5.4.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    /// Which platform the id belongs to.
    pub scope: PlatformScope,
    /// The platform's id for the context.
    pub context_id: ContextId,
    /// Short label, e.g. a course code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Full title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Context type URIs (e.g. `http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    /// The Names and Role Provisioning Services membership URL (NRPS 2.0 §3.6.1), when a
    /// launch granted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memberships_url: Option<String>,
    /// The LTI 1.1 context this LTI 1.3 context continues, once a launch proved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lti11: Option<Lti11Ref>,
    /// When this record was last written from a launch.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A placement of the tool in a context (LTI Core 1.3 §5.3.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceLink {
    /// Which platform the id belongs to.
    pub scope: PlatformScope,
    /// The platform's id for the link.
    pub resource_link_id: ResourceLinkId,
    /// The context the link sits in, when the platform said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_id: Option<ContextId>,
    /// The link's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The link's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The Assignment and Grade Services endpoint the latest launch granted (AGS 2.0 §3.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ags: Option<AgsEndpoint>,
    /// The LTI 1.1 resource link this LTI 1.3 link continues, once a launch proved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lti11: Option<Lti11Ref>,
    /// How scores on this link are sent back (set by an operator; launches keep it).
    #[serde(default, skip_serializing_if = "GradingSettings::is_default")]
    pub grading: GradingSettings,
    /// When this record was last written from a launch.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Which of a learner's scores on a resource link the platform's gradebook should hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PassbackPolicy {
    /// The most recent score, even when lower than an earlier one.
    #[default]
    Latest,
    /// The best score so far (by fraction of the maximum).
    Best,
}

impl PassbackPolicy {
    /// The lower-case name used in tables, JSON and `ltictl`.
    pub fn as_str(self) -> &'static str {
        match self {
            PassbackPolicy::Latest => "latest",
            PassbackPolicy::Best => "best",
        }
    }
}

/// A resource link's grading settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GradingSettings {
    /// Which score is sent back.
    #[serde(default)]
    pub passback: PassbackPolicy,
    /// Whether `scoreGiven` may exceed `scoreMaximum` (AGS 2.0 §3.4.3 allows extra credit
    /// when the resource does).
    #[serde(default)]
    pub extra_credit: bool,
}

impl GradingSettings {
    /// Whether these are the defaults (latest score, no extra credit).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// Where and how grades for a resource link may be sent (AGS 2.0 §3.1 endpoint claim).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgsEndpoint {
    /// The scopes the platform granted.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The line items container URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineitems: Option<String>,
    /// The line item of this resource link, when the platform created one (AGS 2.0 §3.1) or
    /// the tool found or created it in the container (§3.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineitem: Option<LineItemUrl>,
}

/// Where an LTI 1.1 grade for one user on one resource link goes (Basic Outcomes:
/// `lis_outcome_service_url` and `lis_result_sourcedid`, LTI 1.1 §6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BasicOutcome {
    /// The platform's outcome service URL.
    pub service_url: String,
    /// The opaque result id, sent back byte-identical.
    pub sourcedid: String,
}

/// Identifies one attempt: the resource link, the user, and the attempt's own id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AttemptKey {
    /// Which platform the ids belong to.
    pub scope: PlatformScope,
    /// The resource link the attempt is on.
    pub resource_link_id: ResourceLinkId,
    /// The user making the attempt.
    pub user_id: UserId,
    /// The attempt itself.
    pub attempt_id: AttemptId,
}

/// One user's attempt at the activity behind a resource link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// Which attempt this is.
    #[serde(flatten)]
    pub key: AttemptKey,
    /// The context the resource link sits in, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_id: Option<ContextId>,
    /// When the attempt was opened.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// The last time a launch or the activity touched the attempt.
    #[serde(with = "time::serde::rfc3339")]
    pub last_activity_at: OffsetDateTime,
    /// The user's normalized roles at the latest launch of this attempt. Views use them to
    /// keep Transient and TestUser attempts out of class statistics and learner lists
    /// ([`Roles::excluded_from_statistics`]).
    #[serde(default, skip_serializing_if = "Roles::is_empty")]
    pub roles: Roles,
    /// The LTI 1.1 Basic Outcomes target the latest launch of this attempt sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_outcome: Option<BasicOutcome>,
    /// The latest score the activity submitted for this attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<crate::domain::score::Score>,
    /// When the attempt was closed; an open attempt is resumed by the next launch.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub closed_at: Option<OffsetDateTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_missing_reads_as_active_and_pending_round_trips() {
        let missing: Status = serde_json::from_str::<Option<Status>>("null")
            .unwrap()
            .unwrap_or_default();
        assert_eq!(missing, Status::Active);
        assert_eq!(
            serde_json::to_string(&Status::Pending).unwrap(),
            "\"pending\""
        );
        let read: Status = serde_json::from_str("\"disabled\"").unwrap();
        assert_eq!(read, Status::Disabled);
        assert_eq!(Status::Pending.as_str(), "pending");
    }
}
