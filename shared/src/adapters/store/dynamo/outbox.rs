//! The [`Outbox`] port on the DynamoDB table.
//!
//! | record          | `pk`                    | `sk`                          | `gsi1pk`               | `gsi1sk`                  |
//! |-----------------|-------------------------|-------------------------------|------------------------|---------------------------|
//! | delivery        | `CHANNEL#<channel>`     | `SCORE#<score ms>#<id>`       | `DELIVERIES#<status>`  | `<next try ms>#<id>`      |
//! | delivery lookup | `DELIVERY#<id>`         | `DELIVERY`                    |                        |                           |
//! | channel head    | `CHANNEL#<channel>`     | `HEAD`                        |                        |                           |
//!
//! (`<channel>` is [`Delivery::channel`]: scope, resource link and user, each escaped; numbers
//! are zero-padded to 15 digits so they sort as text.)
//!
//! | pattern                                 | operation                                                                 |
//! |-----------------------------------------|---------------------------------------------------------------------------|
//! | submit a score                          | `TransactWriteItems`: attempt `Put` if it exists, head `Update` if `last_score_ms < :ms`, delivery and lookup `Put` if new |
//! | a delivery by id                        | `GetItem` lookup, then `GetItem` delivery (both consistent)               |
//! | update a delivery                       | `PutItem` if it exists                                                    |
//! | deliveries of a channel (all / pending) | `Query pk = CHANNEL#…, sk begins_with SCORE#` (consistent) [, status filter] |
//! | deliveries by status / due for a retry  | `Query gsi1 gsi1pk = DELIVERIES#<status> [, gsi1sk < now]`                |
//! | lease / release a channel               | `UpdateItem` head if the lease is free, expired or already ours          |

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use time::OffsetDateTime;

use super::{
    DynamoStore, GSI1, GSI1PK, GSI1SK, Item, Keys, PK, SK, attempt_keys, from_item,
    is_condition_failure, n, s, to_item,
};
use crate::adapters::store::unix_millis;
use crate::domain::ids::DeliveryId;
use crate::domain::model::Attempt;
use crate::domain::outbox::{Delivery, DeliveryStatus};
use crate::ports::{Outbox, StoreError};

const LAST_SCORE_MS: &str = "last_score_ms";
const LEASE_OWNER: &str = "lease_owner";
const LEASE_UNTIL_MS: &str = "lease_until_ms";

fn padded(ms: i64) -> String {
    format!("{:015}", ms.max(0))
}

pub(super) fn channel_pk(channel: &str) -> String {
    format!("CHANNEL#{channel}")
}

pub(super) fn delivery_keys(delivery: &Delivery) -> Keys {
    Keys {
        pk: channel_pk(&delivery.channel()),
        sk: format!(
            "SCORE#{}#{}",
            padded(unix_millis(delivery.score.timestamp)),
            delivery.id
        ),
        gsi1: Some((
            format!("DELIVERIES#{}", delivery.status.as_str()),
            format!(
                "{}#{}",
                padded(unix_millis(delivery.next_try_at)),
                delivery.id
            ),
        )),
    }
}

fn lookup_item(delivery: &Delivery) -> Item {
    let keys = delivery_keys(delivery);
    Item::from([
        (PK.to_owned(), s(format!("DELIVERY#{}", delivery.id))),
        (SK.to_owned(), s("DELIVERY")),
        ("delivery_pk".to_owned(), s(keys.pk)),
        ("delivery_sk".to_owned(), s(keys.sk)),
    ])
}

fn label(id: &DeliveryId) -> String {
    format!("grade delivery {id}")
}

impl DynamoStore {
    fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
        StoreError::Corrupt(e.to_string())
    }

    /// Queries `gsi1` for one status, up to `limit` items, optionally only those due before
    /// `before` (exclusive, a `gsi1sk` bound).
    async fn deliveries_by_status(
        &self,
        status: DeliveryStatus,
        before: Option<String>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let mut expression = "#p = :p".to_owned();
        let mut names = HashMap::from([("#p".to_owned(), GSI1PK.to_owned())]);
        let mut values = Item::from([(
            ":p".to_owned(),
            s(format!("DELIVERIES#{}", status.as_str())),
        )]);
        if let Some(bound) = before {
            expression.push_str(" AND #s < :s");
            names.insert("#s".into(), GSI1SK.into());
            values.insert(":s".into(), s(bound));
        }
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        while out.len() < limit {
            let page = i32::try_from(limit - out.len()).unwrap_or(i32::MAX);
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI1)
                .key_condition_expression(&expression)
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .limit(page)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.unavailable(e))?;
            for item in output.items.unwrap_or_default() {
                out.push(from_item(item)?);
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        out.truncate(limit);
        Ok(out)
    }
}

/// Which action of the submit transaction failed its condition, if one did.
fn cancelled_action<R>(
    error: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        R,
    >,
) -> Option<usize> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
            .cancellation_reasons()
            .iter()
            .position(|r| r.code() == Some("ConditionalCheckFailed")),
        _ => None,
    }
}

#[async_trait]
impl Outbox for DynamoStore {
    async fn submit_score(&self, attempt: &Attempt, delivery: &Delivery) -> Result<(), StoreError> {
        let ms = unix_millis(delivery.score.timestamp);
        let put_attempt = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(attempt, attempt_keys(attempt))?))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .build()
            .map_err(Self::build_error)?;
        let head = Update::builder()
            .table_name(&self.table)
            .key(PK, s(channel_pk(&delivery.channel())))
            .key(SK, s("HEAD"))
            .update_expression("SET #last = :ms")
            .condition_expression("attribute_not_exists(#last) OR #last < :ms")
            .expression_attribute_names("#last", LAST_SCORE_MS)
            .expression_attribute_values(":ms", n(ms))
            .build()
            .map_err(Self::build_error)?;
        let mut item = to_item(delivery, delivery_keys(delivery))?;
        item.insert("score_ms".into(), n(ms));
        let put_delivery = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .build()
            .map_err(Self::build_error)?;
        let put_lookup = Put::builder()
            .table_name(&self.table)
            .set_item(Some(lookup_item(delivery)))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .build()
            .map_err(Self::build_error)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put_attempt).build())
            .transact_items(TransactWriteItem::builder().update(head).build())
            .transact_items(TransactWriteItem::builder().put(put_delivery).build())
            .transact_items(TransactWriteItem::builder().put(put_lookup).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match cancelled_action(&e) {
                Some(0) => Err(StoreError::NotFound(format!(
                    "attempt {}",
                    attempt.key.attempt_id
                ))),
                Some(1) => Err(StoreError::AlreadyExists(
                    "a score with this or a later timestamp".to_owned(),
                )),
                Some(_) => Err(StoreError::AlreadyExists(label(&delivery.id))),
                None => Err(self.unavailable(e)),
            },
        }
    }

    async fn last_score_time(&self, channel: &str) -> Result<Option<OffsetDateTime>, StoreError> {
        let head = self
            .get(Keys {
                pk: channel_pk(channel),
                sk: "HEAD".into(),
                gsi1: None,
            })
            .await?;
        let ms = head
            .as_ref()
            .and_then(|item| item.get(LAST_SCORE_MS))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok());
        ms.map(|ms| {
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                .map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .transpose()
    }

    async fn delivery(&self, id: &DeliveryId) -> Result<Option<Delivery>, StoreError> {
        let Some(lookup) = self
            .get(Keys {
                pk: format!("DELIVERY#{id}"),
                sk: "DELIVERY".into(),
                gsi1: None,
            })
            .await?
        else {
            return Ok(None);
        };
        let field = |name: &str| {
            lookup
                .get(name)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .ok_or_else(|| StoreError::Corrupt(format!("{} has no {name}", label(id))))
        };
        self.get_record(Keys {
            pk: field("delivery_pk")?,
            sk: field("delivery_sk")?,
            gsi1: None,
        })
        .await
    }

    async fn update_delivery(&self, delivery: &Delivery) -> Result<(), StoreError> {
        let mut item = to_item(delivery, delivery_keys(delivery))?;
        item.insert("score_ms".into(), n(unix_millis(delivery.score.timestamp)));
        match self
            .put(item, Some(super::Condition::existence(true)))
            .await?
        {
            super::Write::Done => Ok(()),
            super::Write::ConditionFailed => Err(StoreError::NotFound(label(&delivery.id))),
        }
    }

    async fn pending_in_channel(&self, channel: &str) -> Result<Vec<Delivery>, StoreError> {
        let all = self.deliveries_in_channel(channel).await?;
        Ok(all
            .into_iter()
            .filter(|d| d.status == DeliveryStatus::Pending)
            .collect())
    }

    async fn deliveries_in_channel(&self, channel: &str) -> Result<Vec<Delivery>, StoreError> {
        self.query(None, channel_pk(channel), Some("SCORE#".into()))
            .await
    }

    async fn deliveries_with_status(
        &self,
        status: DeliveryStatus,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.deliveries_by_status(status, None, limit).await
    }

    async fn due_deliveries(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let bound = padded(unix_millis(now).saturating_add(1));
        self.deliveries_by_status(DeliveryStatus::Pending, Some(bound), limit)
            .await
    }

    async fn lease_channel(
        &self,
        channel: &str,
        owner: &str,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(channel_pk(channel)))
            .key(SK, s("HEAD"))
            .update_expression("SET #owner = :owner, #until = :until")
            .condition_expression(
                "attribute_not_exists(#until) OR #until <= :now OR #owner = :owner",
            )
            .expression_attribute_names("#owner", LEASE_OWNER)
            .expression_attribute_names("#until", LEASE_UNTIL_MS)
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":until", n(unix_millis(until)))
            .expression_attribute_values(":now", n(unix_millis(now)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(self.unavailable(e)),
        }
    }

    async fn release_channel(&self, channel: &str, owner: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(channel_pk(channel)))
            .key(SK, s("HEAD"))
            .update_expression("SET #until = :zero REMOVE #owner")
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", LEASE_OWNER)
            .expression_attribute_names("#until", LEASE_UNTIL_MS)
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(self.unavailable(e)),
        }
    }
}
