//! The ports through which handlers and `ltictl` reach storage.
//!
//! Each trait is one capability with two adapters: a cloud one (DynamoDB or Secrets Manager)
//! and an embedded one (a SQLite file or a key file in the data folder). The adapters return
//! domain types only, and one contract test suite (`shared/tests/contract`) runs against both,
//! so they cannot drift apart.

use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use url::Url;

use crate::domain::audit::AuditEntry;
use crate::domain::catalog::{CatalogItem, CatalogItemId};
use crate::domain::ids::{
    ClientId, ConsumerKey, ContextId, DeliveryId, Issuer, LineItemUrl, ResourceLinkId, UserId,
};
use crate::domain::keys::KeySet;
use crate::domain::model::{
    Attempt, AttemptKey, BasicOutcome, Consumer, Context, PlatformScope, Registration,
    ResourceLink, User,
};
use crate::domain::outbox::{Delivery, DeliveryStatus};
use crate::domain::platform_key::{KeyLookupError, PlatformKey};
use crate::domain::score::Score;
use crate::domain::secret::ConsumerSecret;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A record that must be unique already exists.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// The record to change or remove does not exist.
    #[error("{0} was not found")]
    NotFound(String),
    /// The backing service or file could not be used.
    #[error("{message}")]
    Unavailable {
        /// What could not be reached, and what to check.
        message: String,
        /// The underlying cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A stored record could not be read back.
    #[error("stored data could not be read: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Wraps a cause as [`StoreError::Unavailable`] with a message saying what to check.
    pub fn unavailable(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Unavailable {
            message: message.into(),
            source: source.into(),
        }
    }
}

/// LTI 1.3 platform registrations, keyed by issuer + client id.
#[async_trait]
pub trait PlatformRegistry: Send + Sync {
    /// Adds a registration; [`StoreError::AlreadyExists`] if issuer + client id is taken.
    async fn add_platform(&self, registration: &Registration) -> Result<(), StoreError>;
    /// Replaces an existing registration; [`StoreError::NotFound`] if there is none.
    async fn update_platform(&self, registration: &Registration) -> Result<(), StoreError>;
    /// The registration for issuer + client id.
    async fn platform(
        &self,
        issuer: &Issuer,
        client_id: &ClientId,
    ) -> Result<Option<Registration>, StoreError>;
    /// Every registration of one issuer (login without `client_id` needs this), by client id.
    async fn platforms_of_issuer(&self, issuer: &Issuer) -> Result<Vec<Registration>, StoreError>;
    /// Every registration, ordered by issuer then client id.
    async fn platforms(&self) -> Result<Vec<Registration>, StoreError>;
    /// Removes a registration; [`StoreError::NotFound`] if there is none.
    async fn remove_platform(
        &self,
        issuer: &Issuer,
        client_id: &ClientId,
    ) -> Result<(), StoreError>;
}

/// LTI 1.1 consumers (metadata only; secrets live in the [`KeyStore`]).
#[async_trait]
pub trait ConsumerRegistry: Send + Sync {
    /// Adds a consumer; [`StoreError::AlreadyExists`] if the key is taken.
    async fn add_consumer(&self, consumer: &Consumer) -> Result<(), StoreError>;
    /// The consumer with this key.
    async fn consumer(&self, key: &ConsumerKey) -> Result<Option<Consumer>, StoreError>;
    /// Every consumer, ordered by key.
    async fn consumers(&self) -> Result<Vec<Consumer>, StoreError>;
    /// Removes a consumer; [`StoreError::NotFound`] if there is none.
    async fn remove_consumer(&self, key: &ConsumerKey) -> Result<(), StoreError>;
}

/// The catalog of activities the tool offers for deep linking, keyed by item id.
#[async_trait]
pub trait Catalog: Send + Sync {
    /// Adds an item; [`StoreError::AlreadyExists`] if its id is taken.
    async fn add_catalog_item(&self, item: &CatalogItem) -> Result<(), StoreError>;
    /// The item with this id.
    async fn catalog_item(&self, id: &CatalogItemId) -> Result<Option<CatalogItem>, StoreError>;
    /// Every item, ordered by id.
    async fn catalog_items(&self) -> Result<Vec<CatalogItem>, StoreError>;
    /// Removes an item; [`StoreError::NotFound`] if there is none. Links already placed in
    /// courses keep pointing at the id, so their launches then say the item was removed.
    async fn remove_catalog_item(&self, id: &CatalogItemId) -> Result<(), StoreError>;
}

/// What launches record: users, contexts, resource links and attempts.
#[async_trait]
pub trait LaunchRecords: Send + Sync {
    /// Creates or replaces a user.
    async fn put_user(&self, user: &User) -> Result<(), StoreError>;
    /// A user by platform scope and platform user id.
    async fn user(&self, scope: &PlatformScope, id: &UserId) -> Result<Option<User>, StoreError>;
    /// Creates or replaces a context.
    async fn put_context(&self, context: &Context) -> Result<(), StoreError>;
    /// A context by platform scope and context id.
    async fn context(
        &self,
        scope: &PlatformScope,
        id: &ContextId,
    ) -> Result<Option<Context>, StoreError>;
    /// Creates or replaces a resource link.
    async fn put_resource_link(&self, link: &ResourceLink) -> Result<(), StoreError>;
    /// A resource link by platform scope and link id.
    async fn resource_link(
        &self,
        scope: &PlatformScope,
        id: &ResourceLinkId,
    ) -> Result<Option<ResourceLink>, StoreError>;
    /// Creates an attempt; [`StoreError::AlreadyExists`] if its key is taken.
    async fn create_attempt(&self, attempt: &Attempt) -> Result<(), StoreError>;
    /// Replaces an existing attempt; [`StoreError::NotFound`] if there is none.
    async fn update_attempt(&self, attempt: &Attempt) -> Result<(), StoreError>;
    /// One attempt by its key.
    async fn attempt(&self, key: &AttemptKey) -> Result<Option<Attempt>, StoreError>;
    /// Every attempt on a resource link, by user then start time. (All three attempt queries
    /// are consistent with a just-written attempt except, on DynamoDB, the context query,
    /// which reads a secondary index.)
    async fn attempts_of_resource_link(
        &self,
        scope: &PlatformScope,
        link: &ResourceLinkId,
    ) -> Result<Vec<Attempt>, StoreError>;
    /// One user's attempts on a resource link, oldest first.
    async fn attempts_of_user_on_resource_link(
        &self,
        scope: &PlatformScope,
        link: &ResourceLinkId,
        user: &UserId,
    ) -> Result<Vec<Attempt>, StoreError>;
    /// One user's attempts on every resource link of a context, oldest first.
    async fn attempts_of_user_in_context(
        &self,
        scope: &PlatformScope,
        context: &ContextId,
        user: &UserId,
    ) -> Result<Vec<Attempt>, StoreError>;
}

/// The families of short-lived items. Each keeps its own key space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemKind {
    /// OIDC login `state`, with what it was issued for (LTI 1.3 login initiation).
    LoginState,
    /// An LTI 1.3 `nonce` that has been used (replay protection).
    Nonce,
    /// An LTI 1.1 `oauth_nonce` per consumer key that has been used (replay protection).
    OAuthNonce,
    /// A platform's JWKS, cached across invocations.
    PlatformKeys,
    /// An OAuth 2 access token for a platform's services, cached until shortly before expiry.
    AccessToken,
    /// An LTI Dynamic Registration waiting for the administrator's confirmation (the checked
    /// platform configuration and the registration token), consumed once.
    PendingRegistration,
    /// An update of an existing registration that LTI Dynamic Registration run again proposes
    /// (the registration before and after), waiting for the administrator's confirmation of
    /// the changes; consumed once.
    PendingRegistrationUpdate,
    /// A verified deep-linking request kept between showing the picker and the selection
    /// POST, under a random id the picker's form carries; taken once.
    DeepLinkRequest,
    /// A context's roster from the platform's membership service, cached for the views.
    Roster,
    /// A verified LTI 1.1 Content-Item selection request (return URL, consumer, `data`) kept
    /// between showing the picker and the selection POST, under a random id the picker's
    /// form carries; taken once.
    ContentItemRequest,
    /// An operator's invitation to register by LTI Dynamic Registration, under the SHA-256
    /// of its token (never the token), kept a while past its expiry so a late or second use
    /// is refused with the exact reason (see `app::invitations`).
    RegistrationInvitation,
}

impl ItemKind {
    /// The prefix that separates this kind's keys from the others'.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::LoginState => "state",
            ItemKind::Nonce => "nonce",
            ItemKind::OAuthNonce => "oauth-nonce",
            ItemKind::PlatformKeys => "platform-keys",
            ItemKind::AccessToken => "access-token",
            ItemKind::PendingRegistration => "pending-registration",
            ItemKind::PendingRegistrationUpdate => "pending-registration-update",
            ItemKind::DeepLinkRequest => "deep-link-request",
            ItemKind::Roster => "roster",
            ItemKind::ContentItemRequest => "content-item-request",
            ItemKind::RegistrationInvitation => "registration-invitation",
        }
    }
}

/// An item to create, for [`ExpiringItems::create_if_absent_and_remove`].
#[derive(Debug, Clone, Copy)]
pub struct NewItem<'a> {
    /// Its family.
    pub kind: ItemKind,
    /// Its key.
    pub key: &'a str,
    /// Its value.
    pub value: &'a str,
    /// When it expires.
    pub expires_at: OffsetDateTime,
}

/// A live item as [`ExpiringItems::live_items`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveItem {
    /// Its key.
    pub key: String,
    /// Its value.
    pub value: String,
    /// When it expires.
    pub expires_at: OffsetDateTime,
}

/// What [`ExpiringItems::create_if_absent`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// The item did not exist (or had expired) and now does.
    Created,
    /// A live item with that key already existed; nothing was written.
    AlreadyExists,
}

/// Short-lived items with an expiry: login state, used nonces and caches.
///
/// An item whose expiry is at or before `now` is treated as absent by every method, whether
/// or not the backing store has deleted it yet (DynamoDB's TTL deletion runs late, and some
/// local servers never run it). Expiries are compared to the millisecond, so an item is never
/// forgotten early: a used nonce blocks its replay until the very end of its window.
#[async_trait]
pub trait ExpiringItems: Send + Sync {
    /// Writes an item, replacing any existing one.
    async fn put_item(
        &self,
        kind: ItemKind,
        key: &str,
        value: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Reads a live item.
    async fn item(
        &self,
        kind: ItemKind,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<String>, StoreError>;
    /// Writes an item only if no live item has that key, in one atomic step. This is the
    /// replay check: two concurrent calls with the same key cannot both see `Created`.
    async fn create_if_absent(
        &self,
        kind: ItemKind,
        key: &str,
        value: &str,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Created, StoreError>;
    /// [`create_if_absent`](Self::create_if_absent) and, only when the item was created,
    /// deletes `remove`, in one atomic step. A launch consumes its nonce and its login state
    /// together this way: one write instead of two.
    async fn create_if_absent_and_remove(
        &self,
        create: NewItem<'_>,
        now: OffsetDateTime,
        remove: (ItemKind, &str),
    ) -> Result<Created, StoreError>;
    /// Reads and deletes a live item in one atomic step, so a one-time value (login state)
    /// can be used once only.
    async fn take_item(
        &self,
        kind: ItemKind,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<String>, StoreError>;
    /// Deletes an item if present.
    async fn remove_item(&self, kind: ItemKind, key: &str) -> Result<(), StoreError>;
    /// Every live item of one kind, by key. For operator listings (`ltictl registration
    /// invites`), never a request path: on DynamoDB it scans the table.
    async fn live_items(
        &self,
        kind: ItemKind,
        now: OffsetDateTime,
    ) -> Result<Vec<LiveItem>, StoreError>;
}

/// The tool's secrets: its RSA signing keys and LTI 1.1 consumer secrets.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// The tool's signing keys (an empty set before `ltictl keys init`).
    async fn signing_keys(&self) -> Result<KeySet, StoreError>;
    /// Replaces the tool's signing keys.
    async fn save_signing_keys(&self, keys: &KeySet) -> Result<(), StoreError>;
    /// The secret of an LTI 1.1 consumer.
    async fn consumer_secret(
        &self,
        key: &ConsumerKey,
    ) -> Result<Option<ConsumerSecret>, StoreError>;
    /// Sets (or replaces) the secret of an LTI 1.1 consumer.
    async fn put_consumer_secret(
        &self,
        key: &ConsumerKey,
        secret: &ConsumerSecret,
    ) -> Result<(), StoreError>;
    /// Removes a consumer's secret; [`StoreError::NotFound`] if there is none.
    async fn remove_consumer_secret(&self, key: &ConsumerKey) -> Result<(), StoreError>;
}

/// Scores and the outbox of grade deliveries (see [`crate::domain::outbox`]).
///
/// A delivery's channel is [`Delivery::channel`]: one learner on one resource link. Scores in a
/// channel have strictly increasing timestamps, enforced by [`Outbox::submit_score`], and
/// only the holder of a channel's lease sends its deliveries, so two workers (the score API
/// and the retry queue) never send the same score twice or two scores out of order.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Replaces the attempt (now carrying its new score) and creates the delivery, in one
    /// atomic step: either both are written or neither. [`StoreError::NotFound`] if the attempt
    /// does not exist; [`StoreError::AlreadyExists`] if the channel already holds a score
    /// timestamped at or after this one (read [`last_score_time`](Self::last_score_time) and
    /// submit again with a later timestamp) or the delivery id is taken.
    async fn submit_score(&self, attempt: &Attempt, delivery: &Delivery) -> Result<(), StoreError>;
    /// The timestamp of the channel's latest score.
    async fn last_score_time(&self, channel: &str) -> Result<Option<OffsetDateTime>, StoreError>;
    /// One delivery by id.
    async fn delivery(&self, id: &DeliveryId) -> Result<Option<Delivery>, StoreError>;
    /// Replaces an existing delivery; [`StoreError::NotFound`] if there is none.
    async fn update_delivery(&self, delivery: &Delivery) -> Result<(), StoreError>;
    /// The channel's pending deliveries, oldest score first (read consistently).
    async fn pending_in_channel(&self, channel: &str) -> Result<Vec<Delivery>, StoreError>;
    /// Every delivery of the channel, whatever its status, oldest score first.
    async fn deliveries_in_channel(&self, channel: &str) -> Result<Vec<Delivery>, StoreError>;
    /// Up to `limit` deliveries with `status`, by next try time then id.
    async fn deliveries_with_status(
        &self,
        status: DeliveryStatus,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// Up to `limit` pending deliveries whose next try is due at `now`, earliest first.
    async fn due_deliveries(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// Takes the channel's lease for `owner` until `until`, if nobody holds a live lease
    /// (one atomic step). Returns whether `owner` now holds it.
    async fn lease_channel(
        &self,
        channel: &str,
        owner: &str,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Gives the lease back, if `owner` still holds it.
    async fn release_channel(&self, channel: &str, owner: &str) -> Result<(), StoreError>;
}

/// What data export, erasure and retention need beyond the launch and grade paths: finding
/// everything held on one person or one context, deleting it record by record, and an
/// append-only audit log (see [`crate::app::lifecycle`], which orders the deletions so an
/// interrupted erasure can simply be run again).
///
/// Every `remove_*` method is idempotent: it answers whether the record existed, and removing
/// an absent record is not an error.
#[async_trait]
pub trait DataLifecycle: Send + Sync {
    /// Every attempt of one user on every resource link of the platform, ordered like
    /// [`LaunchRecords::attempts_of_resource_link`] within a link, links in id order.
    async fn attempts_of_user(
        &self,
        scope: &PlatformScope,
        user: &UserId,
    ) -> Result<Vec<Attempt>, StoreError>;
    /// The resource links that name `context` as their context, by id.
    async fn resource_links_of_context(
        &self,
        scope: &PlatformScope,
        context: &ContextId,
    ) -> Result<Vec<ResourceLink>, StoreError>;
    /// Every grade delivery (any status) of one attempt, oldest score first.
    async fn deliveries_of_attempt(&self, key: &AttemptKey) -> Result<Vec<Delivery>, StoreError>;
    /// Deletes a delivery (and any lookup record of it).
    async fn remove_delivery(&self, delivery: &Delivery) -> Result<bool, StoreError>;
    /// Deletes a channel's own record (its last score time and lease; see
    /// [`Delivery::channel`]). Its deliveries are removed one by one beforehand.
    async fn remove_channel(&self, channel: &str) -> Result<bool, StoreError>;
    /// Deletes an attempt.
    async fn remove_attempt(&self, key: &AttemptKey) -> Result<bool, StoreError>;
    /// Deletes a user record, and whatever the adapter keeps to find the user's attempts.
    /// Call it after the attempts are gone, so an interrupted erasure can still find them.
    async fn remove_user(&self, scope: &PlatformScope, user: &UserId) -> Result<bool, StoreError>;
    /// Deletes a resource link record.
    async fn remove_resource_link(
        &self,
        scope: &PlatformScope,
        link: &ResourceLinkId,
    ) -> Result<bool, StoreError>;
    /// Deletes a context record, and whatever the adapter keeps to find its resource links.
    /// Call it after the links are gone.
    async fn remove_context(
        &self,
        scope: &PlatformScope,
        context: &ContextId,
    ) -> Result<bool, StoreError>;
    /// Attempts whose last activity is strictly before `cutoff`, up to `limit`, in no
    /// particular order. On DynamoDB this scans the table: an operator's job, never a request
    /// path.
    async fn attempts_inactive_since(
        &self,
        cutoff: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Attempt>, StoreError>;
    /// LTI 1.3 users whose scope names no deployment (written before records were scoped
    /// per deployment), up to `limit`, in no particular order: what
    /// [`crate::app::migrate`] moves. A scan on DynamoDB; operators only.
    async fn users_without_deployment(&self, limit: usize) -> Result<Vec<User>, StoreError>;
    /// LTI 1.3 contexts whose scope names no deployment, like
    /// [`users_without_deployment`](Self::users_without_deployment).
    async fn contexts_without_deployment(&self, limit: usize) -> Result<Vec<Context>, StoreError>;
    /// LTI 1.3 resource links whose scope names no deployment, like
    /// [`users_without_deployment`](Self::users_without_deployment).
    async fn resource_links_without_deployment(
        &self,
        limit: usize,
    ) -> Result<Vec<ResourceLink>, StoreError>;
    /// LTI 1.3 attempts whose scope names no deployment, like
    /// [`users_without_deployment`](Self::users_without_deployment).
    async fn attempts_without_deployment(&self, limit: usize) -> Result<Vec<Attempt>, StoreError>;
    /// User records last written strictly before `cutoff`, up to `limit`, in no particular
    /// order (a scan on DynamoDB, like
    /// [`attempts_inactive_since`](Self::attempts_inactive_since)).
    async fn users_not_seen_since(
        &self,
        cutoff: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<User>, StoreError>;
    /// Appends an entry to the audit log; [`StoreError::AlreadyExists`] if its id is taken
    /// (entries are never replaced).
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// The whole audit log, oldest first.
    async fn audit_entries(&self) -> Result<Vec<AuditEntry>, StoreError>;
}

/// Why a queue operation failed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct QueueError(pub String);

/// Where retries wait: a queue in AWS, nothing extra locally (the store is polled).
#[async_trait]
pub trait RetryQueue: Send + Sync {
    /// Asks for `id` to be delivered again after `delay`.
    async fn schedule(&self, id: &DeliveryId, delay: Duration) -> Result<(), QueueError>;
    /// Puts `id` in the dead-letter queue (its delivery is marked dead).
    async fn dead_letter(&self, id: &DeliveryId) -> Result<(), QueueError>;
    /// Removes dead-letter messages of deliveries an operator replayed.
    async fn forget_dead(&self, ids: &[DeliveryId]) -> Result<(), QueueError>;
}

/// Platforms' public keys, looked up by the key set URL of a registration and the token's `kid`
/// (Security Framework §6.3). The adapter fetches and caches the sets; the launch and deep
/// linking verifiers only ask.
#[async_trait]
pub trait PlatformKeySource: Send + Sync {
    /// The key `kid` from the set at `jwks_url`, as known at `now`.
    async fn key(
        &self,
        jwks_url: &Url,
        kid: &str,
        now: OffsetDateTime,
    ) -> Result<Arc<PlatformKey>, KeyLookupError>;
}

/// Why a call to a platform's grade service did not succeed, in the terms delivery needs:
/// what to tell the operator, the HTTP status when the platform answered, and whether (and
/// when) trying again can help.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ServiceError {
    /// What went wrong, for the delivery's history (no token, no secret).
    pub message: String,
    /// The platform's HTTP status, when it answered.
    pub status: Option<u16>,
    /// The delay the platform asked for (`Retry-After`), if any.
    pub retry_after: Option<Duration>,
    /// Whether a later try can succeed.
    pub retryable: bool,
}

/// The platforms' grade services the tool sends scores to: AGS 2.0 for LTI 1.3 launches and
/// Basic Outcomes for LTI 1.1 (ARCHITECTURE "The flow of one launch", step 5). The adapter
/// owns HTTP, access tokens and request signing; [`crate::app::delivery`] owns ordering and
/// retries.
#[async_trait]
pub trait PlatformServices: Send + Sync {
    /// The line item for `resource_link` in the container `lineitems`: found by
    /// `resource_link_id`, or created with `label` and `score_maximum` (AGS 2.0 §3.2).
    #[allow(clippy::too_many_arguments)]
    async fn find_or_create_lineitem(
        &self,
        registration: &Registration,
        keys: &KeySet,
        granted: &[String],
        lineitems: &str,
        resource_link: &ResourceLinkId,
        label: &str,
        score_maximum: f64,
    ) -> Result<LineItemUrl, ServiceError>;
    /// Posts `score` for `user` to `lineitem` (AGS 2.0 §3.4).
    async fn post_score(
        &self,
        registration: &Registration,
        keys: &KeySet,
        granted: &[String],
        lineitem: &LineItemUrl,
        user: &UserId,
        score: &Score,
    ) -> Result<(), ServiceError>;
    /// Sets the LTI 1.1 result of `outcome` to `fraction` (0.0 to 1.0) with `replaceResult`,
    /// signed as `consumer_key` with `secret` (LTI 1.1 Implementation Guide §6).
    async fn replace_result(
        &self,
        outcome: &BasicOutcome,
        consumer_key: &ConsumerKey,
        secret: ConsumerSecret,
        fraction: f64,
    ) -> Result<(), ServiceError>;
}

/// What the course views, the CSV export and the score API read: launch records (links,
/// attempts, users, contexts) and the grade outbox. Narrower than [`Store`]: no
/// registrations, consumers, catalog or lifecycle.
pub trait CourseRecords: LaunchRecords + Outbox {}

impl<T> CourseRecords for T where T: LaunchRecords + Outbox + ?Sized {}

/// The storage ports, implemented together by each store adapter.
pub trait Store:
    PlatformRegistry + ConsumerRegistry + CourseRecords + ExpiringItems + Catalog + DataLifecycle
{
}

impl<T> Store for T where
    T: PlatformRegistry
        + ConsumerRegistry
        + LaunchRecords
        + ExpiringItems
        + Outbox
        + Catalog
        + DataLifecycle
{
}
