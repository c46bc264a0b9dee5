//! The [`DataLifecycle`] port on the embedded store: deletes by primary key, lookups by the
//! existing columns (and `attempts_by_user`), and the `audit_log` table.
//!
//! The retention listings read every attempt or user body and compare the timestamps in
//! Rust: the local store is small, and RFC 3339 text does not compare reliably as a string
//! (fractional seconds vary in length).

use async_trait::async_trait;
use rusqlite::params;
use time::OffsetDateTime;

use super::{EmbeddedStore, encode, exec};
use crate::adapters::store::{sort_attempts, unix_millis};
use crate::domain::audit::AuditEntry;
use crate::domain::ids::{ContextId, ResourceLinkId, UserId};
use crate::domain::model::{Attempt, AttemptKey, Context, PlatformScope, ResourceLink, User};
use crate::domain::outbox::{Delivery, channel_of};
use crate::domain::record_key::scope_key;
use crate::ports::{DataLifecycle, StoreError};

/// The lifecycle tables and indexes, created with the rest of the schema.
pub(super) const SCHEMA: &str = "
CREATE INDEX IF NOT EXISTS attempts_by_user ON attempts (scope, user_id);
CREATE TABLE IF NOT EXISTS audit_log (
    id TEXT NOT NULL PRIMARY KEY, at_ms INTEGER NOT NULL, body TEXT NOT NULL) WITHOUT ROWID;
";

/// The records of `all` whose LTI 1.3 scope names no deployment, at most `limit`.
fn without_deployment<T>(
    all: Vec<T>,
    scope: impl Fn(&T) -> &PlatformScope,
    limit: usize,
) -> Vec<T> {
    all.into_iter()
        .filter(|record| scope(record).lacks_deployment())
        .take(limit)
        .collect()
}

impl EmbeddedStore {
    /// Runs one `DELETE` and answers whether it removed a row.
    async fn delete_one(&self, sql: &'static str, args: Vec<String>) -> Result<bool, StoreError> {
        let fail = self.sql_error();
        self.run(move |conn| {
            exec(conn, sql, rusqlite::params_from_iter(args.iter()))
                .map(|changed| changed > 0)
                .map_err(fail)
        })
        .await
    }
}

#[async_trait]
impl DataLifecycle for EmbeddedStore {
    async fn attempts_of_user(
        &self,
        scope: &PlatformScope,
        user: &UserId,
    ) -> Result<Vec<Attempt>, StoreError> {
        let mut list: Vec<Attempt> = self
            .read_bodies(
                "SELECT body FROM attempts WHERE scope = ?1 AND user_id = ?2",
                vec![scope_key(scope), user.to_string()],
            )
            .await?;
        sort_attempts(&mut list);
        list.sort_by(|a, b| a.key.resource_link_id.cmp(&b.key.resource_link_id));
        Ok(list)
    }

    async fn resource_links_of_context(
        &self,
        scope: &PlatformScope,
        context: &ContextId,
    ) -> Result<Vec<ResourceLink>, StoreError> {
        let mut list: Vec<ResourceLink> = self
            .read_bodies(
                "SELECT body FROM resource_links
                 WHERE scope = ?1 AND json_extract(body, '$.context_id') = ?2",
                vec![scope_key(scope), context.to_string()],
            )
            .await?;
        list.sort_by(|a, b| a.resource_link_id.cmp(&b.resource_link_id));
        Ok(list)
    }

    async fn deliveries_of_attempt(&self, key: &AttemptKey) -> Result<Vec<Delivery>, StoreError> {
        let list: Vec<Delivery> = self
            .read_bodies(
                "SELECT body FROM deliveries WHERE channel = ?1 ORDER BY score_ms, id",
                vec![channel_of(key)],
            )
            .await?;
        Ok(list.into_iter().filter(|d| d.attempt == *key).collect())
    }

    async fn remove_delivery(&self, delivery: &Delivery) -> Result<bool, StoreError> {
        self.delete_one(
            "DELETE FROM deliveries WHERE id = ?1",
            vec![delivery.id.to_string()],
        )
        .await
    }

    async fn remove_channel(&self, channel: &str) -> Result<bool, StoreError> {
        self.delete_one(
            "DELETE FROM channels WHERE channel = ?1",
            vec![channel.to_owned()],
        )
        .await
    }

    async fn remove_attempt(&self, key: &AttemptKey) -> Result<bool, StoreError> {
        self.delete_one(
            "DELETE FROM attempts
             WHERE scope = ?1 AND resource_link_id = ?2 AND user_id = ?3 AND attempt_id = ?4",
            vec![
                scope_key(&key.scope),
                key.resource_link_id.to_string(),
                key.user_id.to_string(),
                key.attempt_id.to_string(),
            ],
        )
        .await
    }

    async fn remove_user(&self, scope: &PlatformScope, user: &UserId) -> Result<bool, StoreError> {
        self.delete_one(
            "DELETE FROM users WHERE scope = ?1 AND user_id = ?2",
            vec![scope_key(scope), user.to_string()],
        )
        .await
    }

    async fn remove_resource_link(
        &self,
        scope: &PlatformScope,
        link: &ResourceLinkId,
    ) -> Result<bool, StoreError> {
        self.delete_one(
            "DELETE FROM resource_links WHERE scope = ?1 AND resource_link_id = ?2",
            vec![scope_key(scope), link.to_string()],
        )
        .await
    }

    async fn remove_context(
        &self,
        scope: &PlatformScope,
        context: &ContextId,
    ) -> Result<bool, StoreError> {
        self.delete_one(
            "DELETE FROM contexts WHERE scope = ?1 AND context_id = ?2",
            vec![scope_key(scope), context.to_string()],
        )
        .await
    }

    async fn attempts_inactive_since(
        &self,
        cutoff: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Attempt>, StoreError> {
        let all: Vec<Attempt> = self
            .read_bodies("SELECT body FROM attempts", Vec::new())
            .await?;
        let mut list: Vec<Attempt> = all
            .into_iter()
            .filter(|a| a.last_activity_at < cutoff)
            .collect();
        list.sort_by_key(|a| a.last_activity_at);
        list.truncate(limit);
        Ok(list)
    }

    async fn users_without_deployment(&self, limit: usize) -> Result<Vec<User>, StoreError> {
        let all: Vec<User> = self
            .read_bodies(
                "SELECT body FROM users WHERE scope LIKE '1.3|%'",
                Vec::new(),
            )
            .await?;
        Ok(without_deployment(all, |u| &u.scope, limit))
    }

    async fn contexts_without_deployment(&self, limit: usize) -> Result<Vec<Context>, StoreError> {
        let all: Vec<Context> = self
            .read_bodies(
                "SELECT body FROM contexts WHERE scope LIKE '1.3|%'",
                Vec::new(),
            )
            .await?;
        Ok(without_deployment(all, |c| &c.scope, limit))
    }

    async fn resource_links_without_deployment(
        &self,
        limit: usize,
    ) -> Result<Vec<ResourceLink>, StoreError> {
        let all: Vec<ResourceLink> = self
            .read_bodies(
                "SELECT body FROM resource_links WHERE scope LIKE '1.3|%'",
                Vec::new(),
            )
            .await?;
        Ok(without_deployment(all, |l| &l.scope, limit))
    }

    async fn attempts_without_deployment(&self, limit: usize) -> Result<Vec<Attempt>, StoreError> {
        let all: Vec<Attempt> = self
            .read_bodies(
                "SELECT body FROM attempts WHERE scope LIKE '1.3|%'",
                Vec::new(),
            )
            .await?;
        Ok(without_deployment(all, |a| &a.key.scope, limit))
    }

    async fn users_not_seen_since(
        &self,
        cutoff: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<User>, StoreError> {
        let all: Vec<User> = self
            .read_bodies("SELECT body FROM users", Vec::new())
            .await?;
        let mut list: Vec<User> = all.into_iter().filter(|u| u.updated_at < cutoff).collect();
        list.sort_by_key(|a| a.updated_at);
        list.truncate(limit);
        Ok(list)
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let fail = self.sql_error();
        let body = encode(entry)?;
        let (id, at_ms) = (entry.id.clone(), unix_millis(entry.at));
        self.run(move |conn| {
            match exec(
                conn,
                "INSERT INTO audit_log (id, at_ms, body) VALUES (?1, ?2, ?3)",
                params![id, at_ms, body],
            ) {
                Ok(_) => Ok(()),
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    Err(StoreError::AlreadyExists(format!("audit entry {id}")))
                }
                Err(e) => Err(fail(e)),
            }
        })
        .await
    }

    async fn audit_entries(&self) -> Result<Vec<AuditEntry>, StoreError> {
        self.read_bodies("SELECT body FROM audit_log ORDER BY at_ms, id", Vec::new())
            .await
    }
}
