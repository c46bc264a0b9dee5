//! What one verified launch said, in the same shape for LTI 1.3 and LTI 1.1: the facts that
//! [`crate::app::record`] writes (ARCHITECTURE "The flow of one launch", step 3). The
//! verifiers produce them; nothing here is stored as is.

use crate::domain::ids::{ConsumerKey, ContextId, ResourceLinkId, UserId};
use crate::domain::model::{AgsEndpoint, BasicOutcome, Lti11Ref, PlatformScope};
use crate::domain::roles::Roles;

/// The identity and personal fields one launch carried (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFacts {
    /// Full name.
    pub name: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// SIS id.
    pub sis_id: Option<String>,
}

/// What one launch said about its context.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextFacts {
    /// Label.
    pub label: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Type URIs.
    pub types: Vec<String>,
    /// NRPS membership URL.
    pub memberships_url: Option<String>,
}

/// What one launch said about its resource link.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkFacts {
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// AGS endpoint.
    pub ags: Option<AgsEndpoint>,
}

/// Everything a launch records, from LTI 1.3 or LTI 1.1 alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchFacts {
    /// The platform.
    pub scope: PlatformScope,
    /// The user (`None` for anonymous launches, which record no user and no attempt).
    pub user_id: Option<UserId>,
    /// What the launch said about the user.
    pub user: UserFacts,
    /// The context, when sent.
    pub context: Option<(ContextId, ContextFacts)>,
    /// The resource link.
    pub resource_link_id: ResourceLinkId,
    /// What the launch said about the link.
    pub link: LinkFacts,
    /// The user's normalized roles in this launch.
    pub roles: Roles,
    /// The LTI 1.1 Basic Outcomes target, when the launch sent one.
    pub outcome: Option<BasicOutcome>,
    /// The LTI 1.1 records this LTI 1.3 launch proved it continues (migration claim).
    pub continues: Option<Lti11Continuity>,
}

/// The LTI 1.1 identities an LTI 1.3 launch continues: its `lti1p1` claim carried a valid
/// `oauth_consumer_key_sign` (LTI 1.3 migration guide).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lti11Continuity {
    /// The LTI 1.1 consumer.
    pub consumer_key: ConsumerKey,
    /// The user's LTI 1.1 `user_id`.
    pub user_id: Option<UserId>,
    /// The link's LTI 1.1 `resource_link_id`.
    pub resource_link_id: ResourceLinkId,
    /// The course's LTI 1.1 `context_id` (the same id as LTI 1.3's).
    pub context_id: Option<ContextId>,
}

impl Lti11Continuity {
    pub(crate) fn scope(&self) -> PlatformScope {
        PlatformScope::Lti11 {
            consumer_key: self.consumer_key.clone(),
        }
    }

    pub(crate) fn reference(&self, id: &str) -> Lti11Ref {
        Lti11Ref {
            consumer_key: self.consumer_key.clone(),
            id: id.to_owned(),
        }
    }
}
