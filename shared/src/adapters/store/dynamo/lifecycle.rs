//! The [`DataLifecycle`] port on the DynamoDB table.
//!
//! Attempts live in their resource link's partition, so finding one person's attempts, or a
//! context's resource links, needs a way in from the person or the context. Two kinds of
//! small **marker** items provide it, each in the partition of the record it belongs to:
//!
//! | record              | `pk`                           | `sk`               | written by                                     |
//! |---------------------|--------------------------------|--------------------|------------------------------------------------|
//! | user's link marker  | `USER#<scope>#<user_id>`       | `RLINK#<link_id>`  | `create_attempt`, before the attempt           |
//! | context link marker | `CONTEXT#<scope>#<context_id>` | `RLINK#<link_id>`  | `put_resource_link`, when the link has a context |
//! | audit entry         | `AUDIT`                        | `<at ms>#<id>`     | `append_audit` (if new)                        |
//!
//! Markers hold only `resource_link_id`. A marker is written before the record it leads to,
//! so no attempt exists without its user's marker; a marker whose attempt was never created
//! (or whose link moved to another context) is harmless, as readers check the records it leads
//! to. Erasure removes the markers last ([`DataLifecycle::remove_user`],
//! [`DataLifecycle::remove_context`]), so an interrupted erasure can still find what is left.
//!
//! | pattern                          | operation                                                                          |
//! |----------------------------------|------------------------------------------------------------------------------------|
//! | a user's attempts (all links)    | `Query pk = USER#…, sk begins_with RLINK#`, then per link `Query pk = RLINK#…, sk begins_with ATTEMPT#<user>#` |
//! | a context's resource links       | `Query pk = CONTEXT#…, sk begins_with RLINK#`, then `GetItem` each link            |
//! | deliveries of an attempt         | `Query pk = CHANNEL#…, sk begins_with SCORE#` (consistent), attempt filter         |
//! | remove a record                  | `DeleteItem` returning the old item (absent: nothing to do)                        |
//! | remove a user / context          | `DeleteItem` the record, then every marker in its partition                        |
//! | retention: old attempts / users  | `Scan` with `begins_with(sk, ATTEMPT#)` / `sk = USER`, dates compared in Rust (operators only) |
//! | audit log                        | `PutItem` if new; `Query pk = AUDIT` (consistent)                                  |
//!
//! Attempts created before markers existed have none; they are still found through their
//! resource link (`ltictl attempts export`, `context erase`) and by the retention purge.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{
    Condition, DynamoStore, Item, Keys, PK, SK, Write, from_item, s, single_keys, to_item,
};
use crate::adapters::store::{sort_attempts, unix_millis};
use crate::domain::audit::AuditEntry;
use crate::domain::ids::{ContextId, ResourceLinkId, UserId};
use crate::domain::model::{Attempt, AttemptKey, Context, PlatformScope, ResourceLink, User};
use crate::domain::outbox::{Delivery, channel_of};
use crate::domain::record_key::key_part;
use crate::ports::{DataLifecycle, LaunchRecords, StoreError};

const MARKER_PREFIX: &str = "RLINK#";
const AUDIT_PK: &str = "AUDIT";

/// What a marker item holds.
#[derive(Serialize, Deserialize)]
struct LinkMarker {
    resource_link_id: ResourceLinkId,
}

fn marker_keys(owner_pk: String, link: &ResourceLinkId) -> Keys {
    Keys {
        pk: owner_pk,
        sk: format!("{MARKER_PREFIX}{}", key_part(link.as_str())),
        gsi1: None,
    }
}

fn user_pk(scope: &PlatformScope, user: &UserId) -> String {
    single_keys("USER", scope, user.as_str()).pk
}

fn context_pk(scope: &PlatformScope, context: &ContextId) -> String {
    single_keys("CONTEXT", scope, context.as_str()).pk
}

impl DynamoStore {
    /// Writes the marker that leads from a user to a resource link they have attempts on.
    pub(super) async fn put_user_link_marker(&self, key: &AttemptKey) -> Result<(), StoreError> {
        let marker = LinkMarker {
            resource_link_id: key.resource_link_id.clone(),
        };
        let keys = marker_keys(user_pk(&key.scope, &key.user_id), &key.resource_link_id);
        self.put(to_item(&marker, keys)?, None).await.map(drop)
    }

    /// Writes the marker that leads from a context to one of its resource links.
    pub(super) async fn put_context_link_marker(
        &self,
        link: &ResourceLink,
    ) -> Result<(), StoreError> {
        let Some(context) = &link.context_id else {
            return Ok(());
        };
        let marker = LinkMarker {
            resource_link_id: link.resource_link_id.clone(),
        };
        let keys = marker_keys(context_pk(&link.scope, context), &link.resource_link_id);
        self.put(to_item(&marker, keys)?, None).await.map(drop)
    }

    /// The resource links the markers in `owner_pk` lead to.
    async fn marked_links(&self, owner_pk: &str) -> Result<Vec<ResourceLinkId>, StoreError> {
        let markers: Vec<LinkMarker> = self
            .query(None, owner_pk.to_owned(), Some(MARKER_PREFIX.into()))
            .await?;
        Ok(markers.into_iter().map(|m| m.resource_link_id).collect())
    }

    /// Deletes one item; whether it existed.
    async fn delete_item_if_present(&self, pk: String, sk: String) -> Result<bool, StoreError> {
        let output = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(pk))
            .key(SK, s(sk))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(output.attributes.is_some_and(|a| !a.is_empty()))
    }

    /// Deletes a record, then every marker in its partition.
    async fn delete_with_markers(&self, keys: Keys) -> Result<bool, StoreError> {
        let existed = self
            .delete_item_if_present(keys.pk.clone(), keys.sk)
            .await?;
        for link in self.marked_links(&keys.pk).await? {
            let marker = marker_keys(keys.pk.clone(), &link);
            self.delete_item_if_present(marker.pk, marker.sk).await?;
        }
        Ok(existed)
    }

    /// Scans the table for items whose `sk` matches `filter` (`begins_with(#sk, :v)` or
    /// `#sk = :v`), decodes them and keeps those `keep` accepts, up to `limit`.
    async fn scan_records<T, F>(
        &self,
        filter: &str,
        value: &str,
        limit: usize,
        keep: F,
    ) -> Result<Vec<T>, StoreError>
    where
        T: serde::de::DeserializeOwned,
        F: Fn(&T) -> bool,
    {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression(filter)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":v", s(value))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.unavailable(e))?;
            for item in output.items.unwrap_or_default() {
                let record: T = from_item(item)?;
                if keep(&record) {
                    out.push(record);
                    if out.len() >= limit {
                        return Ok(out);
                    }
                }
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(out),
            }
        }
    }
}

#[async_trait]
impl DataLifecycle for DynamoStore {
    async fn attempts_of_user(
        &self,
        scope: &PlatformScope,
        user: &UserId,
    ) -> Result<Vec<Attempt>, StoreError> {
        let mut links = self.marked_links(&user_pk(scope, user)).await?;
        links.sort();
        let mut out = Vec::new();
        for link in links {
            let mut list = self
                .attempts_of_user_on_resource_link(scope, &link, user)
                .await?;
            sort_attempts(&mut list);
            out.extend(list);
        }
        Ok(out)
    }

    async fn resource_links_of_context(
        &self,
        scope: &PlatformScope,
        context: &ContextId,
    ) -> Result<Vec<ResourceLink>, StoreError> {
        let mut ids = self.marked_links(&context_pk(scope, context)).await?;
        ids.sort();
        let mut out = Vec::new();
        for id in ids {
            if let Some(link) = self.resource_link(scope, &id).await?
                && link.context_id.as_ref() == Some(context)
            {
                out.push(link);
            }
        }
        Ok(out)
    }

    async fn deliveries_of_attempt(&self, key: &AttemptKey) -> Result<Vec<Delivery>, StoreError> {
        let all: Vec<Delivery> = self
            .query(
                None,
                super::outbox::channel_pk(&channel_of(key)),
                Some("SCORE#".into()),
            )
            .await?;
        Ok(all.into_iter().filter(|d| d.attempt == *key).collect())
    }

    async fn remove_delivery(&self, delivery: &Delivery) -> Result<bool, StoreError> {
        let keys = super::outbox::delivery_keys(delivery);
        let existed = self.delete_item_if_present(keys.pk, keys.sk).await?;
        self.delete_item_if_present(format!("DELIVERY#{}", delivery.id), "DELIVERY".into())
            .await?;
        Ok(existed)
    }

    async fn remove_channel(&self, channel: &str) -> Result<bool, StoreError> {
        self.delete_item_if_present(super::outbox::channel_pk(channel), "HEAD".into())
            .await
    }

    async fn remove_attempt(&self, key: &AttemptKey) -> Result<bool, StoreError> {
        let pk = single_keys("RLINK", &key.scope, key.resource_link_id.as_str()).pk;
        let sk = format!(
            "ATTEMPT#{}#{}",
            key_part(key.user_id.as_str()),
            key_part(key.attempt_id.as_str())
        );
        self.delete_item_if_present(pk, sk).await
    }

    async fn remove_user(&self, scope: &PlatformScope, user: &UserId) -> Result<bool, StoreError> {
        self.delete_with_markers(single_keys("USER", scope, user.as_str()))
            .await
    }

    async fn remove_resource_link(
        &self,
        scope: &PlatformScope,
        link: &ResourceLinkId,
    ) -> Result<bool, StoreError> {
        let keys = single_keys("RLINK", scope, link.as_str());
        self.delete_item_if_present(keys.pk, keys.sk).await
    }

    async fn remove_context(
        &self,
        scope: &PlatformScope,
        context: &ContextId,
    ) -> Result<bool, StoreError> {
        self.delete_with_markers(single_keys("CONTEXT", scope, context.as_str()))
            .await
    }

    async fn attempts_inactive_since(
        &self,
        cutoff: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Attempt>, StoreError> {
        self.scan_records("begins_with(#sk, :v)", "ATTEMPT#", limit, |a: &Attempt| {
            a.last_activity_at < cutoff
        })
        .await
    }

    async fn users_not_seen_since(
        &self,
        cutoff: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<User>, StoreError> {
        self.scan_records("#sk = :v", "USER", limit, |u: &User| u.updated_at < cutoff)
            .await
    }

    async fn users_without_deployment(&self, limit: usize) -> Result<Vec<User>, StoreError> {
        self.scan_records("#sk = :v", "USER", limit, |u: &User| {
            u.scope.lacks_deployment()
        })
        .await
    }

    async fn contexts_without_deployment(&self, limit: usize) -> Result<Vec<Context>, StoreError> {
        self.scan_records("#sk = :v", "CONTEXT", limit, |c: &Context| {
            c.scope.lacks_deployment()
        })
        .await
    }

    async fn resource_links_without_deployment(
        &self,
        limit: usize,
    ) -> Result<Vec<ResourceLink>, StoreError> {
        self.scan_records("#sk = :v", "RLINK", limit, |l: &ResourceLink| {
            l.scope.lacks_deployment()
        })
        .await
    }

    async fn attempts_without_deployment(&self, limit: usize) -> Result<Vec<Attempt>, StoreError> {
        self.scan_records("begins_with(#sk, :v)", "ATTEMPT#", limit, |a: &Attempt| {
            a.key.scope.lacks_deployment()
        })
        .await
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let keys = Keys {
            pk: AUDIT_PK.into(),
            sk: format!("{:015}#{}", unix_millis(entry.at).max(0), entry.id),
            gsi1: None,
        };
        match self
            .put(to_item(entry, keys)?, Some(Condition::existence(false)))
            .await?
        {
            Write::Done => Ok(()),
            Write::ConditionFailed => Err(StoreError::AlreadyExists(format!(
                "audit entry {}",
                entry.id
            ))),
        }
    }

    async fn audit_entries(&self) -> Result<Vec<AuditEntry>, StoreError> {
        self.query(None, AUDIT_PK.into(), None).await
    }
}
