//! [`Catalog`] on the embedded store: one `catalog` table, the item's JSON body next to its id.

use async_trait::async_trait;

use super::{EmbeddedStore, encode};
use crate::domain::catalog::{CatalogItem, CatalogItemId};
use crate::ports::{Catalog, StoreError};

/// The catalog's table, created with the rest of the schema when the store opens.
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS catalog (
    item_id TEXT NOT NULL PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;
";

fn label(id: &CatalogItemId) -> String {
    format!("catalog item {id}")
}

#[async_trait]
impl Catalog for EmbeddedStore {
    async fn add_catalog_item(&self, item: &CatalogItem) -> Result<(), StoreError> {
        self.write_one(
            label(&item.id),
            "INSERT INTO catalog (item_id, body) VALUES (?1, ?2)",
            vec![Some(item.id.to_string()), Some(encode(item)?)],
        )
        .await
    }

    async fn catalog_item(&self, id: &CatalogItemId) -> Result<Option<CatalogItem>, StoreError> {
        self.read_body(
            "SELECT body FROM catalog WHERE item_id = ?1",
            vec![id.to_string()],
        )
        .await
    }

    async fn catalog_items(&self) -> Result<Vec<CatalogItem>, StoreError> {
        let mut list: Vec<CatalogItem> = self
            .read_bodies("SELECT body FROM catalog", Vec::new())
            .await?;
        list.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(list)
    }

    async fn remove_catalog_item(&self, id: &CatalogItemId) -> Result<(), StoreError> {
        self.write_one(
            label(id),
            "DELETE FROM catalog WHERE item_id = ?1",
            vec![Some(id.to_string())],
        )
        .await
    }
}
