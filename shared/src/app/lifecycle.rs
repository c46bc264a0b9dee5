//! The data lifecycle: what the tool holds on one person, erasing a person or a course, and
//! expiring data after the retention period.
//!
//! Every operation here goes through the [`DataLifecycle`](crate::ports::DataLifecycle) port (and the read ports), so it
//! runs unchanged on DynamoDB and on the embedded store. Deletions are ordered so that an
//! erasure interrupted at any point leaves nothing that a second run cannot find: a
//! resource link's grade deliveries go first, then the learner's channel record, then the
//! attempts, and the user record (with whatever the adapter keeps to find the user's
//! attempts) last. Running an erasure again is therefore safe and finishes the job.
//!
//! Erasures leave an [`AuditEntry`] that holds no personal data: the action, the platform
//! scope, counts, and for a person or a course an opaque SHA-256 ([`subject_hash`]) so that a
//! repeated request can be recognised without keeping the id.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::domain::audit::{AuditAction, AuditEntry, ErasureCounts, SubjectKind, subject_hash};
use crate::domain::ids::{ContextId, ResourceLinkId, UserId};
use crate::domain::model::{Attempt, PlatformScope, User};
use crate::domain::outbox::{Delivery, channel_of};
use crate::ports::{Store, StoreError};

/// The retention period when `LTI_RETENTION_DAYS` is not set: 400 days, one academic year
/// plus about a month, so last year's attempts are still there when final grades are
/// reviewed or appealed and when a course is rerun, and nothing is kept much longer.
pub const DEFAULT_RETENTION_DAYS: u32 = 400;

/// How many attempts [`purge_expired`] removes per batch.
const PURGE_BATCH: usize = 500;

/// How long attempts and personal data are kept after their last activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// Nothing expires (`LTI_RETENTION_DAYS=0`).
    Forever,
    /// Records expire this many days (at least one) after their last activity.
    Days(u32),
}

impl Default for Retention {
    fn default() -> Self {
        Retention::Days(DEFAULT_RETENTION_DAYS)
    }
}

impl Retention {
    /// `0` days means keep forever.
    pub fn from_days(days: u32) -> Self {
        if days == 0 {
            Retention::Forever
        } else {
            Retention::Days(days)
        }
    }

    /// The instant before which a record last active is expired at `now`; `None` when
    /// nothing expires.
    pub fn cutoff(self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        match self {
            Retention::Forever => None,
            Retention::Days(days) => Some(now - Duration::days(i64::from(days))),
        }
    }

    /// The number of days, `0` for forever (as `LTI_RETENTION_DAYS` writes it).
    pub fn days(self) -> u32 {
        match self {
            Retention::Forever => 0,
            Retention::Days(days) => days,
        }
    }
}

/// A resource link, as a user export refers to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceLinkRef {
    /// The platform's id for the link.
    pub resource_link_id: ResourceLinkId,
    /// Its context, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_id: Option<ContextId>,
    /// Its title, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// A context, as a user export refers to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextRef {
    /// The platform's id for the context.
    pub context_id: ContextId,
    /// Its label, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Its title, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// Everything the tool holds on one person (`ltictl user export`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserExport {
    /// The platform the id belongs to.
    pub scope: PlatformScope,
    /// The platform's id for the person.
    pub user_id: UserId,
    /// When the export was made.
    #[serde(with = "time::serde::rfc3339")]
    pub exported_at: OffsetDateTime,
    /// The user record (name and SIS id as the platform last sent them), if there is one.
    pub user: Option<User>,
    /// Every attempt, with its score.
    pub attempts: Vec<Attempt>,
    /// Every grade delivery of those attempts, with its try history.
    pub deliveries: Vec<Delivery>,
    /// The resource links the attempts were made on.
    pub resource_links: Vec<ResourceLinkRef>,
    /// The contexts those links sit in.
    pub contexts: Vec<ContextRef>,
}

/// Everything held on one person, or `None` when there is no user record and no attempt.
pub async fn export_user(
    store: &dyn Store,
    scope: &PlatformScope,
    user_id: &UserId,
    now: OffsetDateTime,
) -> Result<Option<UserExport>, StoreError> {
    let user = store.user(scope, user_id).await?;
    let attempts = store.attempts_of_user(scope, user_id).await?;
    if user.is_none() && attempts.is_empty() {
        return Ok(None);
    }
    let mut deliveries = Vec::new();
    for attempt in &attempts {
        deliveries.extend(store.deliveries_of_attempt(&attempt.key).await?);
    }
    let link_ids: BTreeSet<&ResourceLinkId> =
        attempts.iter().map(|a| &a.key.resource_link_id).collect();
    let mut resource_links = Vec::new();
    let mut context_ids: BTreeSet<ContextId> = attempts
        .iter()
        .filter_map(|a| a.context_id.clone())
        .collect();
    for id in link_ids {
        let link = store.resource_link(scope, id).await?;
        let context_id = link.as_ref().and_then(|l| l.context_id.clone());
        context_ids.extend(context_id.clone());
        resource_links.push(ResourceLinkRef {
            resource_link_id: id.clone(),
            context_id,
            title: link.and_then(|l| l.title),
        });
    }
    let mut contexts = Vec::new();
    for id in context_ids {
        let context = store.context(scope, &id).await?;
        contexts.push(ContextRef {
            context_id: id,
            label: context.as_ref().and_then(|c| c.label.clone()),
            title: context.and_then(|c| c.title),
        });
    }
    Ok(Some(UserExport {
        scope: scope.clone(),
        user_id: user_id.clone(),
        exported_at: now,
        user,
        attempts,
        deliveries,
        resource_links,
        contexts,
    }))
}

/// What an erasure did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureReport {
    /// What was removed (all zero when nothing was held).
    pub counts: ErasureCounts,
    /// The audit entry written, when something was removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditEntry>,
    /// Earlier audit entries for the same subject (a repeated request).
    pub earlier: Vec<AuditEntry>,
}

/// Removes the attempts of one learner on one resource link: first every grade delivery of
/// those attempts, then the learner's channel record on that link (when `channel` is set),
/// then the attempts. Interrupted, a second call finds what is left.
async fn remove_attempts_of_channel(
    store: &dyn Store,
    attempts: &[&Attempt],
    remove_channel: bool,
) -> Result<ErasureCounts, StoreError> {
    let mut counts = ErasureCounts::default();
    let Some(first) = attempts.first() else {
        return Ok(counts);
    };
    for attempt in attempts {
        for delivery in store.deliveries_of_attempt(&attempt.key).await? {
            if store.remove_delivery(&delivery).await? {
                counts.deliveries += 1;
            }
        }
    }
    if remove_channel && store.remove_channel(&channel_of(&first.key)).await? {
        counts.channels += 1;
    }
    for attempt in attempts {
        if store.remove_attempt(&attempt.key).await? {
            counts.attempts += 1;
        }
    }
    Ok(counts)
}

/// Groups attempts by channel (platform, resource link, user).
fn by_channel(attempts: &[Attempt]) -> BTreeMap<String, Vec<&Attempt>> {
    let mut groups: BTreeMap<String, Vec<&Attempt>> = BTreeMap::new();
    for attempt in attempts {
        groups
            .entry(channel_of(&attempt.key))
            .or_default()
            .push(attempt);
    }
    groups
}

async fn earlier_entries(
    store: &dyn Store,
    action: AuditAction,
    subject: &str,
) -> Result<Vec<AuditEntry>, StoreError> {
    Ok(store
        .audit_entries()
        .await?
        .into_iter()
        .filter(|e| e.action == action && e.subject.as_deref() == Some(subject))
        .collect())
}

/// Erases one person: every grade delivery and attempt on every resource link of the
/// platform, their delivery channels, and the user record, in that order; then appends an
/// audit entry (only when something was removed). Safe to run again: a repeated request
/// removes nothing and reports the earlier audit entries of the same person.
pub async fn erase_user(
    store: &dyn Store,
    scope: &PlatformScope,
    user_id: &UserId,
    now: OffsetDateTime,
    command: &str,
) -> Result<ErasureReport, StoreError> {
    let subject = subject_hash(SubjectKind::User, scope, user_id.as_str());
    let earlier = earlier_entries(store, AuditAction::UserErase, &subject).await?;
    let attempts = store.attempts_of_user(scope, user_id).await?;
    let mut counts = ErasureCounts::default();
    for group in by_channel(&attempts).values() {
        counts.add(remove_attempts_of_channel(store, group, true).await?);
    }
    if store.remove_user(scope, user_id).await? {
        counts.users += 1;
    }
    let audit = if counts.is_empty() {
        None
    } else {
        let entry = AuditEntry::new(
            now,
            AuditAction::UserErase,
            command,
            Some(scope.clone()),
            Some(subject),
            counts,
        );
        store.append_audit(&entry).await?;
        Some(entry)
    };
    Ok(ErasureReport {
        counts,
        audit,
        earlier,
    })
}

/// Erases a context: for each of its resource links every grade delivery, channel and
/// attempt, then the link; then the context record; then appends an audit entry (only when
/// something was removed). User records stay (the people may use the tool in other courses);
/// the retention period removes those left without attempts.
pub async fn erase_context(
    store: &dyn Store,
    scope: &PlatformScope,
    context_id: &ContextId,
    now: OffsetDateTime,
    command: &str,
) -> Result<ErasureReport, StoreError> {
    let subject = subject_hash(SubjectKind::Context, scope, context_id.as_str());
    let earlier = earlier_entries(store, AuditAction::ContextErase, &subject).await?;
    let mut counts = ErasureCounts::default();
    for link in store.resource_links_of_context(scope, context_id).await? {
        let attempts = store
            .attempts_of_resource_link(scope, &link.resource_link_id)
            .await?;
        for group in by_channel(&attempts).values() {
            counts.add(remove_attempts_of_channel(store, group, true).await?);
        }
        if store
            .remove_resource_link(scope, &link.resource_link_id)
            .await?
        {
            counts.resource_links += 1;
        }
    }
    if store.remove_context(scope, context_id).await? {
        counts.contexts += 1;
    }
    let audit = if counts.is_empty() {
        None
    } else {
        let entry = AuditEntry::new(
            now,
            AuditAction::ContextErase,
            command,
            Some(scope.clone()),
            Some(subject),
            counts,
        );
        store.append_audit(&entry).await?;
        Some(entry)
    };
    Ok(ErasureReport {
        counts,
        audit,
        earlier,
    })
}

/// What a retention purge did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeReport {
    /// Records last active before this were expired (`None`: retention is forever).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub cutoff: Option<OffsetDateTime>,
    /// What was removed.
    pub counts: ErasureCounts,
    /// The audit entry written, when something was removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditEntry>,
}

/// Removes what is past the retention period at `now`: attempts whose last activity is
/// older than the period (with their grade deliveries, and the learner's channel on that
/// link once no attempt is left there), then user records not written by a launch within the
/// period that have no attempt left. Contexts and resource links hold no personal data and
/// stay. Appends an audit entry (no subject) when something was removed.
///
/// `ltictl retention purge` runs it on either backend; `ltictl serve` may run it
/// periodically.
pub async fn purge_expired(
    store: &dyn Store,
    now: OffsetDateTime,
    retention: Retention,
    command: &str,
) -> Result<PurgeReport, StoreError> {
    let Some(cutoff) = retention.cutoff(now) else {
        return Ok(PurgeReport {
            cutoff: None,
            counts: ErasureCounts::default(),
            audit: None,
        });
    };
    let mut counts = ErasureCounts::default();
    loop {
        let batch = store.attempts_inactive_since(cutoff, PURGE_BATCH).await?;
        if batch.is_empty() {
            break;
        }
        let before = counts.attempts;
        for group in by_channel(&batch).values() {
            counts.add(remove_attempts_of_channel(store, group, false).await?);
            let Some(first) = group.first() else { continue };
            let key = &first.key;
            let left = store
                .attempts_of_user_on_resource_link(&key.scope, &key.resource_link_id, &key.user_id)
                .await?;
            if left.is_empty() && store.remove_channel(&channel_of(key)).await? {
                counts.channels += 1;
            }
        }
        if counts.attempts == before {
            // Nothing could be removed (another process got there first); do not spin.
            break;
        }
    }
    for user in store.users_not_seen_since(cutoff, usize::MAX).await? {
        if store
            .attempts_of_user(&user.scope, &user.user_id)
            .await?
            .is_empty()
            && store.remove_user(&user.scope, &user.user_id).await?
        {
            counts.users += 1;
        }
    }
    let audit = if counts.is_empty() {
        None
    } else {
        let mut entry = AuditEntry::new(
            now,
            AuditAction::RetentionPurge,
            command,
            None,
            None,
            counts,
        );
        entry.cutoff = Some(cutoff);
        store.append_audit(&entry).await?;
        Some(entry)
    };
    Ok(PurgeReport {
        cutoff: Some(cutoff),
        counts,
        audit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{ClientId, ConsumerKey, Issuer};

    fn scope() -> PlatformScope {
        PlatformScope::lti13(
            Issuer::parse("https://lms.example").unwrap(),
            ClientId::parse("c1").unwrap(),
            crate::domain::ids::DeploymentId::parse("dep-1").unwrap(),
        )
    }

    #[test]
    fn subject_hash_same_request_same_hash_without_the_id() {
        let a = subject_hash(SubjectKind::User, &scope(), "student-42");
        assert_eq!(a, subject_hash(SubjectKind::User, &scope(), "student-42"));
        assert!(a.starts_with("sha256:"));
        assert_eq!(a.len(), 7 + 64);
        assert!(!a.contains("student-42"));
    }

    #[test]
    fn subject_hash_differs_by_kind_scope_and_id() {
        let a = subject_hash(SubjectKind::User, &scope(), "42");
        assert_ne!(a, subject_hash(SubjectKind::Context, &scope(), "42"));
        assert_ne!(a, subject_hash(SubjectKind::User, &scope(), "43"));
        let other = PlatformScope::Lti11 {
            consumer_key: ConsumerKey::parse("k").unwrap(),
        };
        assert_ne!(a, subject_hash(SubjectKind::User, &other, "42"));
    }

    #[test]
    fn retention_zero_days_is_forever() {
        assert_eq!(Retention::from_days(0), Retention::Forever);
        assert_eq!(Retention::Forever.cutoff(OffsetDateTime::UNIX_EPOCH), None);
        assert_eq!(Retention::default(), Retention::Days(400));
    }

    #[test]
    fn retention_cutoff_is_now_minus_days() {
        let now = time::macros::datetime!(2026-06-01 00:00 UTC);
        assert_eq!(
            Retention::Days(10).cutoff(now),
            Some(time::macros::datetime!(2026-05-22 00:00 UTC))
        );
    }
}
