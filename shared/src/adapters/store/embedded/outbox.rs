//! The [`Outbox`] port on the embedded store: tables `deliveries` and `channels`.
//!
//! `submit_score` is one SQLite transaction (attempt update, channel timestamp check, delivery
//! insert); the channel lease is one conditional `UPDATE`.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

use super::{EmbeddedStore, encode, exec};
use crate::adapters::store::unix_millis;
use crate::domain::ids::DeliveryId;
use crate::domain::model::Attempt;
use crate::domain::outbox::{Delivery, DeliveryStatus};
use crate::domain::record_key::scope_key;
use crate::ports::{Outbox, StoreError};

/// The outbox tables, created with the rest of the schema.
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT NOT NULL PRIMARY KEY, channel TEXT NOT NULL, score_ms INTEGER NOT NULL,
    status TEXT NOT NULL, next_try_ms INTEGER NOT NULL, body TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_by_channel ON deliveries (channel, status, score_ms);
CREATE INDEX IF NOT EXISTS deliveries_by_status ON deliveries (status, next_try_ms, id);
CREATE TABLE IF NOT EXISTS channels (
    channel TEXT NOT NULL PRIMARY KEY, last_score_ms INTEGER,
    lease_owner TEXT, lease_until_ms INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
";

fn delivery_label(id: &DeliveryId) -> String {
    format!("grade delivery {id}")
}

#[async_trait]
impl Outbox for EmbeddedStore {
    async fn submit_score(&self, attempt: &Attempt, delivery: &Delivery) -> Result<(), StoreError> {
        let fail = self.sql_error();
        let attempt_body = encode(attempt)?;
        let body = encode(delivery)?;
        let key = &attempt.key;
        let scope = scope_key(&key.scope);
        let channel = delivery.channel();
        let score_ms = unix_millis(delivery.score.timestamp);
        let id = delivery.id.clone();
        self.run(move |conn| {
            let tx = conn.unchecked_transaction().map_err(&fail)?;
            let changed = exec(
                &tx,
                "UPDATE attempts SET context_id = ?5, body = ?6
                 WHERE scope = ?1 AND resource_link_id = ?2 AND user_id = ?3 AND attempt_id = ?4",
                params![
                    scope,
                    key.resource_link_id.as_str(),
                    key.user_id.as_str(),
                    key.attempt_id.as_str(),
                    attempt.context_id.as_ref().map(|c| c.as_str()),
                    attempt_body
                ],
            )
            .map_err(&fail)?;
            if changed != 1 {
                return Err(StoreError::NotFound(format!("attempt {}", key.attempt_id)));
            }
            let changed = exec(
                &tx,
                "INSERT INTO channels (channel, last_score_ms) VALUES (?1, ?2)
                 ON CONFLICT (channel) DO UPDATE SET last_score_ms = excluded.last_score_ms
                 WHERE channels.last_score_ms IS NULL
                    OR channels.last_score_ms < excluded.last_score_ms",
                params![channel, score_ms],
            )
            .map_err(&fail)?;
            if changed != 1 {
                return Err(StoreError::AlreadyExists(
                    "a score with this or a later timestamp".to_owned(),
                ));
            }
            match exec(
                &tx,
                "INSERT INTO deliveries (id, channel, score_ms, status, next_try_ms, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    id.as_str(),
                    channel,
                    score_ms,
                    delivery.status.as_str(),
                    unix_millis(delivery.next_try_at),
                    body
                ],
            ) {
                Ok(_) => {}
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    return Err(StoreError::AlreadyExists(delivery_label(&id)));
                }
                Err(e) => return Err(fail(e)),
            }
            tx.commit().map_err(&fail)
        })
        .await
    }

    async fn last_score_time(&self, channel: &str) -> Result<Option<OffsetDateTime>, StoreError> {
        let fail = self.sql_error();
        let ms: Option<i64> = self
            .run(move |conn| {
                conn.prepare_cached("SELECT last_score_ms FROM channels WHERE channel = ?1")
                    .and_then(|mut s| {
                        s.query_row(params![channel], |r| r.get::<_, Option<i64>>(0))
                            .optional()
                    })
                    .map_err(&fail)
            })
            .await?
            .flatten();
        ms.map(|ms| {
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                .map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .transpose()
    }

    async fn delivery(&self, id: &DeliveryId) -> Result<Option<Delivery>, StoreError> {
        self.read_body(
            "SELECT body FROM deliveries WHERE id = ?1",
            vec![id.to_string()],
        )
        .await
    }

    async fn update_delivery(&self, delivery: &Delivery) -> Result<(), StoreError> {
        self.write_one(
            delivery_label(&delivery.id),
            "UPDATE deliveries SET status = ?2, next_try_ms = ?3, body = ?4 WHERE id = ?1",
            vec![
                Some(delivery.id.to_string()),
                Some(delivery.status.as_str().to_owned()),
                Some(unix_millis(delivery.next_try_at).to_string()),
                Some(encode(delivery)?),
            ],
        )
        .await
    }

    async fn pending_in_channel(&self, channel: &str) -> Result<Vec<Delivery>, StoreError> {
        self.read_bodies(
            "SELECT body FROM deliveries WHERE channel = ?1 AND status = 'pending'
             ORDER BY score_ms, id",
            vec![channel.to_owned()],
        )
        .await
    }

    async fn deliveries_in_channel(&self, channel: &str) -> Result<Vec<Delivery>, StoreError> {
        self.read_bodies(
            "SELECT body FROM deliveries WHERE channel = ?1 ORDER BY score_ms, id",
            vec![channel.to_owned()],
        )
        .await
    }

    async fn deliveries_with_status(
        &self,
        status: DeliveryStatus,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.read_bodies(
            "SELECT body FROM deliveries WHERE status = ?1
             ORDER BY next_try_ms, id LIMIT CAST(?2 AS INTEGER)",
            vec![status.as_str().to_owned(), limit.to_string()],
        )
        .await
    }

    async fn due_deliveries(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.read_bodies(
            "SELECT body FROM deliveries WHERE status = 'pending'
             AND next_try_ms <= CAST(?1 AS INTEGER)
             ORDER BY next_try_ms, id LIMIT CAST(?2 AS INTEGER)",
            vec![unix_millis(now).to_string(), limit.to_string()],
        )
        .await
    }

    async fn lease_channel(
        &self,
        channel: &str,
        owner: &str,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let fail = self.sql_error();
        let (channel, owner) = (channel.to_owned(), owner.to_owned());
        self.run(move |conn| {
            exec(
                conn,
                "INSERT INTO channels (channel, last_score_ms, lease_owner, lease_until_ms)
                 VALUES (?1, NULL, ?2, ?3)
                 ON CONFLICT (channel) DO UPDATE
                 SET lease_owner = excluded.lease_owner, lease_until_ms = excluded.lease_until_ms
                 WHERE channels.lease_until_ms <= ?4 OR channels.lease_owner = ?2",
                params![channel, owner, unix_millis(until), unix_millis(now)],
            )
            .map(|changed| changed == 1)
            .map_err(&fail)
        })
        .await
    }

    async fn release_channel(&self, channel: &str, owner: &str) -> Result<(), StoreError> {
        let fail = self.sql_error();
        let (channel, owner) = (channel.to_owned(), owner.to_owned());
        self.run(move |conn| {
            exec(
                conn,
                "UPDATE channels SET lease_owner = NULL, lease_until_ms = 0
                 WHERE channel = ?1 AND lease_owner = ?2",
                params![channel, owner],
            )
            .map(|_| ())
            .map_err(&fail)
        })
        .await
    }
}
