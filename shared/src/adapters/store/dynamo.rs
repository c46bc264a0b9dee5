//! The cloud store: one DynamoDB table (single-table design).
//!
//! # Key design
//!
//! Every item has a partition key `pk` and a sort key `sk`; some also fill the global secondary
//! index `gsi1` (`gsi1pk`, `gsi1sk`, all attributes projected). Identifiers inside keys are
//! escaped with [`key_part`] and scopes rendered with [`scope_key`], so no identifier can forge
//! a separator. The record's own fields are stored beside the keys as ordinary attributes.
//!
//! `<scope>` is `1.3|<issuer>|<client_id>|<deployment_id>` for LTI 1.3 and `1.1|<consumer_key>`
//! for LTI 1.1. The deployment is part of it because context and resource link ids are unique
//! only within a deployment (LTI Core 1.3 §5.3.5, §5.4.1): two deployments of one registration
//! that both send link `42` get two `RLINK#` partitions, so their attempts, deliveries (whose
//! channel names embed the scope), markers, `CTXUSER#` index entries and roster cache items
//! (`ITEM#roster#<scope>#<context>`) never meet. Users are split per deployment as well. Items
//! written before deployment scoping have `1.3|<issuer>|<client_id>` (no deployment part);
//! `ltictl migrate deployments` finds them with a `Scan` (`sk = USER | CONTEXT | RLINK`,
//! `begins_with(sk, ATTEMPT#)`, the scope checked in Rust) and rewrites each under its
//! deployment before deleting the old item ([`crate::app::migrate`]).
//!
//! | record        | `pk`                              | `sk`                      | `gsi1pk`                             | `gsi1sk`            |
//! |---------------|-----------------------------------|---------------------------|--------------------------------------|---------------------|
//! | registration  | `PLATFORM#<issuer>`               | `CLIENT#<client_id>`      | `PLATFORMS`                          | `<issuer>#<client>` |
//! | consumer      | `CONSUMER#<key>`                  | `CONSUMER`                | `CONSUMERS`                          | `<key>`             |
//! | user          | `USER#<scope>#<user_id>`          | `USER`                    |                                      |                     |
//! | context       | `CONTEXT#<scope>#<context_id>`    | `CONTEXT`                 |                                      |                     |
//! | resource link | `RLINK#<scope>#<link_id>`         | `RLINK`                   |                                      |                     |
//! | attempt       | `RLINK#<scope>#<link_id>`         | `ATTEMPT#<user>#<id>`     | `CTXUSER#<scope>#<context>#<user>`   | `<attempt id>`      |
//! | expiring item | `ITEM#<kind>#<key>`               | `ITEM`                    |                                      |                     |
//! | catalog item  | `CATALOG`                         | `ITEM#<item id>`          |                                      |                     |
//! | user's link marker | `USER#<scope>#<user_id>`     | `RLINK#<link_id>`         |                                      |                     |
//! | context's link marker | `CONTEXT#<scope>#<context_id>` | `RLINK#<link_id>`    |                                      |                     |
//! | audit entry   | `AUDIT`                           | `<at ms>#<id>`            |                                      |                     |
//!
//! Expiring items carry `expires_ms` (epoch milliseconds), which every read and condition
//! checks (`expires_ms > now`), and `ttl` (epoch seconds, rounded up), the table's TTL attribute.
//! DynamoDB's TTL deletion only tidies up: it runs late (and local servers may never run it),
//! and rounding up means it never removes an item before its exact expiry.
//!
//! # Access patterns
//!
//! | pattern                                  | operation                                                            |
//! |------------------------------------------|----------------------------------------------------------------------|
//! | registration by issuer + client id       | `GetItem` (consistent)                                               |
//! | registrations of one issuer (login)      | `Query pk = PLATFORM#<issuer>`                                       |
//! | all registrations (ops)                  | `Query gsi1 gsi1pk = PLATFORMS`                                      |
//! | add registration / consumer              | `PutItem` if `attribute_not_exists(pk)`                              |
//! | update / remove registration, consumer   | `PutItem` / `DeleteItem` if `attribute_exists(pk)`                   |
//! | consumer by key / all consumers          | `GetItem` / `Query gsi1 gsi1pk = CONSUMERS`                          |
//! | user, context, resource link             | `GetItem` / `PutItem` (upsert from the latest launch)                |
//! | create attempt                           | `PutItem` if `attribute_not_exists(pk)`                              |
//! | attempts of a resource link              | `Query pk = RLINK#…, sk begins_with ATTEMPT#` (consistent)           |
//! | a user's attempts on a resource link     | `Query pk = RLINK#…, sk begins_with ATTEMPT#<user>#` (consistent)    |
//! | a user's attempts in a context           | `Query gsi1 gsi1pk = CTXUSER#…` (attempts without a context omitted) |
//! | create-if-absent (nonce replay)          | `PutItem` if `attribute_not_exists(pk) OR expires_ms <= now`         |
//! | consume nonce + remove login state      | `TransactWriteItems`: the put above, and `DeleteItem`                |
//! | take (one-time login state)              | `DeleteItem` if `expires_ms > now`, returning the old item           |
//! | catalog item by id (launch of a placed item) | `GetItem` (consistent)                                           |
//! | records without a deployment (migration) | `Scan` with a filter on `sk`, scope checked in Rust (operators only) |
//! | catalog, ordered by id (picker, ops)     | `Query pk = CATALOG, sk begins_with ITEM#` (consistent)              |
//! | add / remove catalog item                | `PutItem` if `attribute_not_exists(pk)` / `DeleteItem` if exists     |
//!
//! The catalog is small (tens to hundreds of items) and changed only by operators, so it sits
//! in one partition: listing it is a consistent query of the base table, which the
//! deep-linking function may run without any index permission.
//!
//! Scores and grade deliveries (the outbox) are documented in `outbox`'s key design; the
//! link markers, the audit log and the export, erasure and retention patterns in
//! `lifecycle`'s. `create_attempt` and `put_resource_link` write a marker before the record.
//!
//! Reads through `gsi1` (the ops listings and a user's attempts in a context) are eventually
//! consistent, as every DynamoDB secondary index is: a record written a moment ago may be
//! missing for a fraction of a second. Nothing on a launch or grade path relies on them.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, Delete, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, Projection, ProjectionType, Put, ReturnValue, ScalarAttributeType,
    TableStatus, TimeToLiveSpecification, TransactWriteItem,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::adapters::store::{from_unix_millis, sort_attempts, sort_registrations, unix_millis};
use crate::domain::ids::{ClientId, ConsumerKey, ContextId, Issuer, ResourceLinkId, UserId};
use crate::domain::model::{
    Attempt, AttemptKey, Consumer, Context, PlatformScope, Registration, ResourceLink, User,
};
use crate::domain::record_key::{key_part, scope_key};
use crate::ports::{
    ConsumerRegistry, Created, ExpiringItems, ItemKind, LaunchRecords, LiveItem, NewItem,
    PlatformRegistry, StoreError,
};

mod lifecycle;
mod outbox;

/// Partition key attribute.
pub const PK: &str = "pk";
/// Sort key attribute.
pub const SK: &str = "sk";
/// Name of the global secondary index.
pub const GSI1: &str = "gsi1";
/// Partition key attribute of [`GSI1`].
pub const GSI1PK: &str = "gsi1pk";
/// Sort key attribute of [`GSI1`].
pub const GSI1SK: &str = "gsi1sk";
/// The table's TTL attribute (epoch seconds, rounded up).
pub const TTL: &str = "ttl";
/// The exact expiry of an expiring item (epoch milliseconds).
pub const EXPIRES_MS: &str = "expires_ms";

mod catalog;

type Item = HashMap<String, AttributeValue>;

/// The DynamoDB-backed store.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

/// The keys one record is stored under.
struct Keys {
    pk: String,
    sk: String,
    gsi1: Option<(String, String)>,
}

/// A condition on a write, with the attribute names and values its expression uses
/// (DynamoDB refuses names or values the expression does not use).
struct Condition {
    expression: &'static str,
    names: HashMap<String, String>,
    values: Item,
}

impl Condition {
    /// The item must (`exists`) or must not exist yet.
    fn existence(exists: bool) -> Self {
        Self {
            expression: if exists {
                "attribute_exists(#pk)"
            } else {
                "attribute_not_exists(#pk)"
            },
            names: HashMap::from([("#pk".to_owned(), PK.to_owned())]),
            values: Item::new(),
        }
    }
}

impl Condition {
    /// The expiring item must be absent, or expired at `now`.
    fn absent_or_expired(now: OffsetDateTime) -> Self {
        Self {
            expression: "attribute_not_exists(#pk) OR #exp <= :now",
            names: HashMap::from([
                ("#pk".to_owned(), PK.to_owned()),
                ("#exp".to_owned(), EXPIRES_MS.to_owned()),
            ]),
            values: Item::from([(":now".to_owned(), n(unix_millis(now)))]),
        }
    }
}

/// Whether a transaction was cancelled because its first action (the conditional put) failed
/// its condition.
fn put_condition_failed<R>(
    error: &SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
) -> bool {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
            .cancellation_reasons()
            .first()
            .and_then(|reason| reason.code())
            .is_some_and(|code| code == "ConditionalCheckFailed"),
        _ => false,
    }
}

/// How a conditional write failed or succeeded.
enum Write {
    Done,
    ConditionFailed,
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn platform_keys(issuer: &Issuer, client_id: &ClientId) -> Keys {
    let (iss, client) = (key_part(issuer.as_str()), key_part(client_id.as_str()));
    Keys {
        pk: format!("PLATFORM#{iss}"),
        sk: format!("CLIENT#{client}"),
        gsi1: Some(("PLATFORMS".into(), format!("{iss}#{client}"))),
    }
}

fn consumer_keys(key: &ConsumerKey) -> Keys {
    let key = key_part(key.as_str());
    Keys {
        pk: format!("CONSUMER#{key}"),
        sk: "CONSUMER".into(),
        gsi1: Some(("CONSUMERS".into(), key)),
    }
}

fn single_keys(prefix: &str, scope: &PlatformScope, id: &str) -> Keys {
    Keys {
        pk: format!("{prefix}#{}#{}", scope_key(scope), key_part(id)),
        sk: prefix.into(),
        gsi1: None,
    }
}

fn attempt_prefix(user: Option<&UserId>) -> String {
    match user {
        Some(user) => format!("ATTEMPT#{}#", key_part(user.as_str())),
        None => "ATTEMPT#".into(),
    }
}

fn context_user_key(scope: &PlatformScope, context: &ContextId, user: &UserId) -> String {
    format!(
        "CTXUSER#{}#{}#{}",
        scope_key(scope),
        key_part(context.as_str()),
        key_part(user.as_str())
    )
}

fn attempt_keys(attempt: &Attempt) -> Keys {
    let key = &attempt.key;
    Keys {
        pk: single_keys("RLINK", &key.scope, key.resource_link_id.as_str()).pk,
        sk: format!(
            "{}{}",
            attempt_prefix(Some(&key.user_id)),
            key_part(key.attempt_id.as_str())
        ),
        gsi1: attempt.context_id.as_ref().map(|context| {
            (
                context_user_key(&key.scope, context, &key.user_id),
                key.attempt_id.to_string(),
            )
        }),
    }
}

fn item_keys(kind: ItemKind, key: &str) -> Keys {
    Keys {
        pk: format!("ITEM#{}#{}", kind.as_str(), key_part(key)),
        sk: "ITEM".into(),
        gsi1: None,
    }
}

fn to_item<T: Serialize>(record: &T, keys: Keys) -> Result<Item, StoreError> {
    let mut item: Item =
        serde_dynamo::to_item(record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    item.insert(PK.into(), s(keys.pk));
    item.insert(SK.into(), s(keys.sk));
    if let Some((gpk, gsk)) = keys.gsi1 {
        item.insert(GSI1PK.into(), s(gpk));
        item.insert(GSI1SK.into(), s(gsk));
    }
    Ok(item)
}

fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn expiry_of(item: &Item) -> Option<i64> {
    item.get(EXPIRES_MS)?.as_n().ok()?.parse().ok()
}

fn is_condition_failure<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    error
        .as_service_error()
        .and_then(ProvideErrorMetadata::code)
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

impl DynamoStore {
    /// A store over `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// A store built from an AWS SDK configuration (see [`crate::compose::config::aws_sdk_config`]).
    pub fn from_config(config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(config), table)
    }

    fn unavailable<E, R>(&self, error: SdkError<E, R>) -> StoreError
    where
        E: std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let detail = DisplayErrorContext(&error).to_string();
        StoreError::unavailable(
            format!(
                "DynamoDB table {} could not be used ({detail}); check the table name, AWS \
                 credentials and region, and AWS_ENDPOINT_URL if you use a local endpoint",
                self.table
            ),
            error,
        )
    }

    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<Write, StoreError> {
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        if let Some(condition) = condition {
            request = request
                .condition_expression(condition.expression)
                .set_expression_attribute_names(Some(condition.names))
                .set_expression_attribute_values(
                    (!condition.values.is_empty()).then_some(condition.values),
                );
        }
        match request.send().await {
            Ok(_) => Ok(Write::Done),
            Err(e) if is_condition_failure(&e) => Ok(Write::ConditionFailed),
            Err(e) => Err(self.unavailable(e)),
        }
    }

    async fn get(&self, keys: Keys) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(keys.pk))
            .key(SK, s(keys.sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(output.item)
    }

    async fn get_record<T: DeserializeOwned>(&self, keys: Keys) -> Result<Option<T>, StoreError> {
        self.get(keys).await?.map(from_item).transpose()
    }

    /// Deletes the item if it exists; `NotFound(what)` otherwise.
    async fn delete_existing(&self, keys: Keys, what: String) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(keys.pk))
            .key(SK, s(keys.sk))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Err(StoreError::NotFound(what)),
            Err(e) => Err(self.unavailable(e)),
        }
    }

    /// Writes a record that must (`create`) or must not (update) be new.
    async fn write_record<T: Serialize>(
        &self,
        record: &T,
        keys: Keys,
        create: bool,
        what: String,
    ) -> Result<(), StoreError> {
        let item = to_item(record, keys)?;
        let failure = if create {
            StoreError::AlreadyExists(what)
        } else {
            StoreError::NotFound(what)
        };
        match self.put(item, Some(Condition::existence(!create))).await? {
            Write::Done => Ok(()),
            Write::ConditionFailed => Err(failure),
        }
    }

    async fn upsert<T: Serialize>(&self, record: &T, keys: Keys) -> Result<(), StoreError> {
        self.put(to_item(record, keys)?, None).await.map(drop)
    }

    /// Runs a query to the end (following `LastEvaluatedKey`) and decodes every item.
    async fn query<T: DeserializeOwned>(
        &self,
        index: Option<&str>,
        partition: String,
        sort_prefix: Option<String>,
    ) -> Result<Vec<T>, StoreError> {
        let (pk_name, sk_name) = match index {
            Some(_) => (GSI1PK, GSI1SK),
            None => (PK, SK),
        };
        let mut expression = "#p = :p".to_owned();
        let mut values = Item::from([(":p".to_owned(), s(partition))]);
        let mut names = HashMap::from([("#p".to_owned(), pk_name.to_owned())]);
        if let Some(prefix) = sort_prefix {
            expression.push_str(" AND begins_with(#s, :s)");
            values.insert(":s".into(), s(prefix));
            names.insert("#s".into(), sk_name.into());
        }
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_owned))
                .key_condition_expression(&expression)
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .consistent_read(index.is_none())
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.unavailable(e))?;
            for item in output.items.unwrap_or_default() {
                out.push(from_item(item)?);
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(out),
            }
        }
    }
}

/// Creates the table with the product's key schema, index and TTL, and waits until it is
/// active. Deployed stacks get their table from `template.yaml` (a test checks the two agree);
/// this is for local DynamoDB-compatible servers and tests.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let fail = |e: String| {
        StoreError::unavailable(
            format!("DynamoDB table {table} could not be created: {e}"),
            e.clone(),
        )
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| fail(e.to_string()))
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(|e| fail(e.to_string()))
    };
    let index = GlobalSecondaryIndex::builder()
        .index_name(GSI1)
        .key_schema(key(GSI1PK, KeyType::Hash)?)
        .key_schema(key(GSI1SK, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(|e| fail(e.to_string()))?;
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(PK)?)
        .attribute_definitions(attribute(SK)?)
        .attribute_definitions(attribute(GSI1PK)?)
        .attribute_definitions(attribute(GSI1SK)?)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        .global_secondary_indexes(index)
        .send()
        .await
        .map_err(|e| fail(DisplayErrorContext(&e).to_string()))?;
    for _ in 0..60 {
        let described = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| fail(DisplayErrorContext(&e).to_string()))?;
        let status = described.table.and_then(|t| t.table_status);
        if status == Some(TableStatus::Active) {
            client
                .update_time_to_live()
                .table_name(table)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(TTL)
                        .enabled(true)
                        .build()
                        .map_err(|e| fail(e.to_string()))?,
                )
                .send()
                .await
                .map_err(|e| fail(DisplayErrorContext(&e).to_string()))?;
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    Err(fail("it did not become active within 30 seconds".into()))
}

fn platform_label(issuer: &Issuer, client_id: &ClientId) -> String {
    format!("platform {issuer} with client id {client_id}")
}

#[async_trait]
impl PlatformRegistry for DynamoStore {
    async fn add_platform(&self, registration: &Registration) -> Result<(), StoreError> {
        let keys = platform_keys(&registration.issuer, &registration.client_id);
        let what = platform_label(&registration.issuer, &registration.client_id);
        self.write_record(registration, keys, true, what).await
    }

    async fn update_platform(&self, registration: &Registration) -> Result<(), StoreError> {
        let keys = platform_keys(&registration.issuer, &registration.client_id);
        let what = platform_label(&registration.issuer, &registration.client_id);
        self.write_record(registration, keys, false, what).await
    }

    async fn platform(
        &self,
        issuer: &Issuer,
        client_id: &ClientId,
    ) -> Result<Option<Registration>, StoreError> {
        self.get_record(platform_keys(issuer, client_id)).await
    }

    async fn platforms_of_issuer(&self, issuer: &Issuer) -> Result<Vec<Registration>, StoreError> {
        let pk = format!("PLATFORM#{}", key_part(issuer.as_str()));
        let mut list = self.query(None, pk, Some("CLIENT#".into())).await?;
        sort_registrations(&mut list);
        Ok(list)
    }

    async fn platforms(&self) -> Result<Vec<Registration>, StoreError> {
        let mut list = self.query(Some(GSI1), "PLATFORMS".into(), None).await?;
        sort_registrations(&mut list);
        Ok(list)
    }

    async fn remove_platform(
        &self,
        issuer: &Issuer,
        client_id: &ClientId,
    ) -> Result<(), StoreError> {
        self.delete_existing(
            platform_keys(issuer, client_id),
            platform_label(issuer, client_id),
        )
        .await
    }
}

#[async_trait]
impl ConsumerRegistry for DynamoStore {
    async fn add_consumer(&self, consumer: &Consumer) -> Result<(), StoreError> {
        let what = format!("consumer {}", consumer.key);
        self.write_record(consumer, consumer_keys(&consumer.key), true, what)
            .await
    }

    async fn consumer(&self, key: &ConsumerKey) -> Result<Option<Consumer>, StoreError> {
        self.get_record(consumer_keys(key)).await
    }

    async fn consumers(&self) -> Result<Vec<Consumer>, StoreError> {
        let mut list: Vec<Consumer> = self.query(Some(GSI1), "CONSUMERS".into(), None).await?;
        list.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(list)
    }

    async fn remove_consumer(&self, key: &ConsumerKey) -> Result<(), StoreError> {
        self.delete_existing(consumer_keys(key), format!("consumer {key}"))
            .await
    }
}

#[async_trait]
impl LaunchRecords for DynamoStore {
    async fn put_user(&self, user: &User) -> Result<(), StoreError> {
        let keys = single_keys("USER", &user.scope, user.user_id.as_str());
        self.upsert(user, keys).await
    }

    async fn user(&self, scope: &PlatformScope, id: &UserId) -> Result<Option<User>, StoreError> {
        self.get_record(single_keys("USER", scope, id.as_str()))
            .await
    }

    async fn put_context(&self, context: &Context) -> Result<(), StoreError> {
        let keys = single_keys("CONTEXT", &context.scope, context.context_id.as_str());
        self.upsert(context, keys).await
    }

    async fn context(
        &self,
        scope: &PlatformScope,
        id: &ContextId,
    ) -> Result<Option<Context>, StoreError> {
        self.get_record(single_keys("CONTEXT", scope, id.as_str()))
            .await
    }

    async fn put_resource_link(&self, link: &ResourceLink) -> Result<(), StoreError> {
        // The context's marker first, so no link is ever missing from its context's list.
        self.put_context_link_marker(link).await?;
        let keys = single_keys("RLINK", &link.scope, link.resource_link_id.as_str());
        self.upsert(link, keys).await
    }

    async fn resource_link(
        &self,
        scope: &PlatformScope,
        id: &ResourceLinkId,
    ) -> Result<Option<ResourceLink>, StoreError> {
        self.get_record(single_keys("RLINK", scope, id.as_str()))
            .await
    }

    async fn create_attempt(&self, attempt: &Attempt) -> Result<(), StoreError> {
        // The user's marker first, so no attempt is ever missing from its user's list.
        self.put_user_link_marker(&attempt.key).await?;
        let what = format!("attempt {}", attempt.key.attempt_id);
        self.write_record(attempt, attempt_keys(attempt), true, what)
            .await
    }

    async fn update_attempt(&self, attempt: &Attempt) -> Result<(), StoreError> {
        let what = format!("attempt {}", attempt.key.attempt_id);
        self.write_record(attempt, attempt_keys(attempt), false, what)
            .await
    }

    async fn attempt(&self, key: &AttemptKey) -> Result<Option<Attempt>, StoreError> {
        let probe = Attempt {
            key: key.clone(),
            context_id: None,
            started_at: OffsetDateTime::UNIX_EPOCH,
            last_activity_at: OffsetDateTime::UNIX_EPOCH,
            roles: crate::domain::roles::Roles::default(),
            basic_outcome: None,
            score: None,
            closed_at: None,
        };
        self.get_record(attempt_keys(&probe)).await
    }

    async fn attempts_of_resource_link(
        &self,
        scope: &PlatformScope,
        link: &ResourceLinkId,
    ) -> Result<Vec<Attempt>, StoreError> {
        let pk = single_keys("RLINK", scope, link.as_str()).pk;
        let mut list = self.query(None, pk, Some(attempt_prefix(None))).await?;
        sort_attempts(&mut list);
        Ok(list)
    }

    async fn attempts_of_user_on_resource_link(
        &self,
        scope: &PlatformScope,
        link: &ResourceLinkId,
        user: &UserId,
    ) -> Result<Vec<Attempt>, StoreError> {
        let pk = single_keys("RLINK", scope, link.as_str()).pk;
        let mut list = self
            .query(None, pk, Some(attempt_prefix(Some(user))))
            .await?;
        sort_attempts(&mut list);
        Ok(list)
    }

    async fn attempts_of_user_in_context(
        &self,
        scope: &PlatformScope,
        context: &ContextId,
        user: &UserId,
    ) -> Result<Vec<Attempt>, StoreError> {
        let gpk = context_user_key(scope, context, user);
        let mut list = self.query(Some(GSI1), gpk, None).await?;
        sort_attempts(&mut list);
        Ok(list)
    }
}

fn expiring_item(kind: ItemKind, key: &str, value: &str, expires_at: OffsetDateTime) -> Item {
    let keys = item_keys(kind, key);
    Item::from([
        (PK.to_owned(), s(keys.pk)),
        (SK.to_owned(), s(keys.sk)),
        ("value".to_owned(), s(value)),
        (EXPIRES_MS.to_owned(), n(unix_millis(expires_at))),
        (
            TTL.to_owned(),
            n(unix_millis(expires_at).div_euclid(1000) + 1),
        ),
    ])
}

fn live_value(item: Item, now: OffsetDateTime) -> Option<String> {
    if expiry_of(&item).is_some_and(|expiry| expiry > unix_millis(now)) {
        item.get("value")?.as_s().ok().cloned()
    } else {
        None
    }
}

#[async_trait]
impl ExpiringItems for DynamoStore {
    async fn put_item(
        &self,
        kind: ItemKind,
        key: &str,
        value: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.put(expiring_item(kind, key, value, expires_at), None)
            .await
            .map(drop)
    }

    async fn item(
        &self,
        kind: ItemKind,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .get(item_keys(kind, key))
            .await?
            .and_then(|item| live_value(item, now)))
    }

    async fn create_if_absent(
        &self,
        kind: ItemKind,
        key: &str,
        value: &str,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Created, StoreError> {
        let item = expiring_item(kind, key, value, expires_at);
        Ok(
            match self
                .put(item, Some(Condition::absent_or_expired(now)))
                .await?
            {
                Write::Done => Created::Created,
                Write::ConditionFailed => Created::AlreadyExists,
            },
        )
    }

    async fn create_if_absent_and_remove(
        &self,
        create: NewItem<'_>,
        now: OffsetDateTime,
        remove: (ItemKind, &str),
    ) -> Result<Created, StoreError> {
        let build = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Corrupt(e.to_string());
        let condition = Condition::absent_or_expired(now);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(expiring_item(
                create.kind,
                create.key,
                create.value,
                create.expires_at,
            )))
            .condition_expression(condition.expression)
            .set_expression_attribute_names(Some(condition.names))
            .set_expression_attribute_values(Some(condition.values))
            .build()
            .map_err(build)?;
        let keys = item_keys(remove.0, remove.1);
        let delete = Delete::builder()
            .table_name(&self.table)
            .key(PK, s(keys.pk))
            .key(SK, s(keys.sk))
            .build()
            .map_err(build)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().delete(delete).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(Created::Created),
            Err(e) if put_condition_failed(&e) => Ok(Created::AlreadyExists),
            Err(e) => Err(self.unavailable(e)),
        }
    }

    async fn take_item(
        &self,
        kind: ItemKind,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<String>, StoreError> {
        let keys = item_keys(kind, key);
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(keys.pk))
            .key(SK, s(keys.sk))
            .condition_expression("attribute_exists(#pk) AND #exp > :now")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#exp", EXPIRES_MS)
            .expression_attribute_values(":now", n(unix_millis(now)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => Ok(output.attributes.and_then(|item| live_value(item, now))),
            Err(e) if is_condition_failure(&e) => Ok(None),
            Err(e) => Err(self.unavailable(e)),
        }
    }

    async fn remove_item(&self, kind: ItemKind, key: &str) -> Result<(), StoreError> {
        let keys = item_keys(kind, key);
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(keys.pk))
            .key(SK, s(keys.sk))
            .send()
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(())
    }

    async fn live_items(
        &self,
        kind: ItemKind,
        now: OffsetDateTime,
    ) -> Result<Vec<LiveItem>, StoreError> {
        // An operator's listing: a scan of the table for this kind's keys (items have no index).
        let prefix = format!("ITEM#{}#", kind.as_str());
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .filter_expression("begins_with(#pk, :prefix) AND #exp > :now")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#exp", EXPIRES_MS)
                .expression_attribute_values(":prefix", s(prefix.clone()))
                .expression_attribute_values(":now", n(unix_millis(now)))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.unavailable(e))?;
            for item in output.items.unwrap_or_default() {
                let encoded = item
                    .get(PK)
                    .and_then(|v| v.as_s().ok())
                    .and_then(|pk| pk.strip_prefix(&prefix))
                    .map(ToOwned::to_owned);
                let (Some(encoded), Some(expires_ms)) = (encoded, expiry_of(&item)) else {
                    continue;
                };
                let key = percent_encoding::percent_decode_str(&encoded)
                    .decode_utf8()
                    .map_err(|e| StoreError::Corrupt(format!("item key {encoded}: {e}")))?
                    .into_owned();
                let Some(value) = live_value(item, now) else {
                    continue;
                };
                out.push(LiveItem {
                    key,
                    value,
                    expires_at: from_unix_millis(expires_ms)?,
                });
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
}
