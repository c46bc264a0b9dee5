//! [`Catalog`] on DynamoDB: every item in one partition (`pk` `CATALOG`, `sk` `ITEM#<id>`).
//!
//! A catalog holds tens to a few hundred items, read by the deep-linking picker and, one item
//! at a time, by launches of placed items, so one partition is enough and lets the listing be
//! a consistent `Query` of the base table (no index, so no index permission for the
//! deep-linking function). See the key design in the parent module.

use async_trait::async_trait;

use super::{DynamoStore, Keys};
use crate::domain::catalog::{CatalogItem, CatalogItemId};
use crate::domain::record_key::key_part;
use crate::ports::{Catalog, StoreError};

/// The partition every catalog item lives in.
const CATALOG_PK: &str = "CATALOG";
/// The sort key prefix of catalog items.
const ITEM_PREFIX: &str = "ITEM#";

fn catalog_keys(id: &CatalogItemId) -> Keys {
    Keys {
        pk: CATALOG_PK.into(),
        sk: format!("{ITEM_PREFIX}{}", key_part(id.as_str())),
        gsi1: None,
    }
}

fn label(id: &CatalogItemId) -> String {
    format!("catalog item {id}")
}

#[async_trait]
impl Catalog for DynamoStore {
    async fn add_catalog_item(&self, item: &CatalogItem) -> Result<(), StoreError> {
        self.write_record(item, catalog_keys(&item.id), true, label(&item.id))
            .await
    }

    async fn catalog_item(&self, id: &CatalogItemId) -> Result<Option<CatalogItem>, StoreError> {
        self.get_record(catalog_keys(id)).await
    }

    async fn catalog_items(&self) -> Result<Vec<CatalogItem>, StoreError> {
        let mut list: Vec<CatalogItem> = self
            .query(None, CATALOG_PK.into(), Some(ITEM_PREFIX.into()))
            .await?;
        list.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(list)
    }

    async fn remove_catalog_item(&self, id: &CatalogItemId) -> Result<(), StoreError> {
        self.delete_existing(catalog_keys(id), label(id)).await
    }
}
