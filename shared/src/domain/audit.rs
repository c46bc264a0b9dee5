//! The audit log's entries: what a lifecycle operation (erasure, retention purge) or an update of
//! a platform registration by LTI Dynamic Registration did, kept without personal data. The
//! entries are written through the [`DataLifecycle`](crate::ports::DataLifecycle) port and
//! produced by [`crate::app::lifecycle`] and the `register` function.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::domain::model::PlatformScope;
use crate::domain::record_key::scope_key;

/// Which lifecycle operation an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// One person's data was erased (`ltictl user erase`).
    UserErase,
    /// A context's resource links, attempts and deliveries were erased (`ltictl context erase`).
    ContextErase,
    /// Records past the retention period were removed (`ltictl retention purge`, or the
    /// periodic purge of `ltictl serve`).
    RetentionPurge,
    /// An existing LTI 1.3 registration was updated by LTI Dynamic Registration run again
    /// (a deployment added, platform URLs or the name changed); [`AuditEntry::changes`] says
    /// what.
    RegistrationUpdate,
}

impl AuditAction {
    /// The snake-case name used in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::UserErase => "user_erase",
            AuditAction::ContextErase => "context_erase",
            AuditAction::RetentionPurge => "retention_purge",
            AuditAction::RegistrationUpdate => "registration_update",
        }
    }
}

/// How many records an erasure or purge removed, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureCounts {
    /// User records.
    pub users: u64,
    /// Attempts (with their scores).
    pub attempts: u64,
    /// Grade deliveries (outbox records with their try history).
    pub deliveries: u64,
    /// Delivery channel records (one per learner and resource link).
    pub channels: u64,
    /// Resource link records.
    pub resource_links: u64,
    /// Context records.
    pub contexts: u64,
}

impl ErasureCounts {
    /// Whether nothing was removed.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    pub(crate) fn add(&mut self, other: ErasureCounts) {
        self.users += other.users;
        self.attempts += other.attempts;
        self.deliveries += other.deliveries;
        self.channels += other.channels;
        self.resource_links += other.resource_links;
        self.contexts += other.contexts;
    }
}

/// One entry of the append-only audit log. It holds no personal data: no names, no SIS ids,
/// no platform user ids, only the platform scope (an institution's registration), an opaque
/// hash of the erased subject, counts, and for a registration update what changed in it
/// (deployment ids and platform URLs; a changed name is noted without its values).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// A time-ordered unique id (UUID v7).
    pub id: String,
    /// When the operation finished.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// What was done.
    pub action: AuditAction,
    /// The command that did it, e.g. `ltictl user erase`.
    pub command: String,
    /// The platform whose records were erased (none for a retention purge, which spans all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<PlatformScope>,
    /// [`subject_hash`] of the erased user or context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// For a retention purge: records last active before this instant were removed.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub cutoff: Option<OffsetDateTime>,
    /// What was removed.
    pub counts: ErasureCounts,
    /// For a registration update: one line per change, e.g. `deployment dep-2 added`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
}

impl AuditEntry {
    /// A new entry with a fresh id.
    pub fn new(
        at: OffsetDateTime,
        action: AuditAction,
        command: &str,
        scope: Option<PlatformScope>,
        subject: Option<String>,
        counts: ErasureCounts,
    ) -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            at,
            action,
            command: command.to_owned(),
            scope,
            subject,
            cutoff: None,
            counts,
            changes: Vec::new(),
        }
    }
}

/// What an erased subject was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    /// A user id.
    User,
    /// A context id.
    Context,
}

/// The opaque reference an audit entry keeps instead of an id: `sha256:` and the hex SHA-256
/// of a versioned, domain-separated string of the kind, the platform scope and the id.
///
/// The same request always gives the same hash, so an operator can check whether a person was
/// already erased (`ltictl user erase` does), and the hash alone does not reveal the id. It is
/// not salted, on purpose (a salt would have to be kept, and would stop that match): someone
/// who can read the audit log and guesses an id can confirm the guess. The log is for
/// operators only.
pub fn subject_hash(kind: SubjectKind, scope: &PlatformScope, id: &str) -> String {
    let kind = match kind {
        SubjectKind::User => "user",
        SubjectKind::Context => "context",
    };
    let mut hasher = Sha256::new();
    hasher.update(b"lti-tool-erasure-v1\n");
    hasher.update(kind.as_bytes());
    hasher.update(b"\n");
    hasher.update(scope_key(scope).as_bytes());
    hasher.update(b"\n");
    hasher.update(id.as_bytes());
    let digest = hasher.finalize();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for byte in digest.iter() {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}
