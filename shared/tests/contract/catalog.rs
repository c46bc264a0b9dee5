//! `Catalog`: the activities offered for deep linking, keyed by item id.

use lti_shared::domain::catalog::{CatalogItem, CatalogItemId, NewCatalogItem};
use time::macros::datetime;

use crate::support::StoreFixture;

store_contracts!(
    add_catalog_item_new_round_trips_every_field,
    add_catalog_item_minimal_round_trips_absent_fields,
    add_catalog_item_duplicate_fails_already_exists_and_keeps_original,
    catalog_item_unknown_is_none,
    catalog_items_empty_store_is_empty,
    catalog_items_several_ordered_by_id,
    catalog_items_with_other_records_returns_only_items,
    remove_catalog_item_existing_then_item_is_none,
    remove_catalog_item_missing_fails_not_found,
    catalog_item_written_by_one_instance_is_read_by_another,
);

fn id(value: &str) -> CatalogItemId {
    CatalogItemId::parse(value).unwrap()
}

/// An item with every field set.
fn item(item_id: &str) -> CatalogItem {
    CatalogItem::new(
        NewCatalogItem {
            id: item_id,
            title: &format!("Activity {item_id}"),
            description: Some("Fractions, with a \"quote\" and\na line break ✓"),
            activity_url: "https://activities.example.edu/quiz/1?x=1&y=%20",
            score_maximum: Some(12.5),
            custom: vec![
                ("chapter".into(), "3".into()),
                ("due".into(), "$ResourceLink.submission.endDateTime".into()),
                ("empty".into(), String::new()),
            ],
        },
        datetime!(2026-02-03 04:05:06.987654321 UTC),
    )
    .unwrap()
}

fn ids_of(items: &[CatalogItem]) -> Vec<&str> {
    items.iter().map(|i| i.id.as_str()).collect()
}

async fn add_catalog_item_new_round_trips_every_field(fx: &StoreFixture) {
    let store = fx.store();
    let original = item("quiz-1");
    store.add_catalog_item(&original).await.unwrap();
    assert_eq!(
        store.catalog_item(&original.id).await.unwrap(),
        Some(original)
    );
}

async fn add_catalog_item_minimal_round_trips_absent_fields(fx: &StoreFixture) {
    let store = fx.store();
    let minimal = CatalogItem::new(
        NewCatalogItem {
            id: "reading",
            title: "Reading",
            activity_url: "http://localhost:9000/read",
            ..NewCatalogItem::default()
        },
        datetime!(2025-12-31 23:59:59 UTC),
    )
    .unwrap();
    store.add_catalog_item(&minimal).await.unwrap();
    let found = store.catalog_item(&minimal.id).await.unwrap().unwrap();
    assert_eq!(found, minimal);
    assert!(found.description.is_none() && found.score_maximum.is_none());
    assert!(found.custom.is_empty());
}

async fn add_catalog_item_duplicate_fails_already_exists_and_keeps_original(fx: &StoreFixture) {
    let store = fx.store();
    let original = item("dup");
    store.add_catalog_item(&original).await.unwrap();
    let mut other = item("dup");
    other.title = "Impostor".into();
    assert_store_error!(store.add_catalog_item(&other).await, AlreadyExists);
    assert_eq!(
        store.catalog_item(&id("dup")).await.unwrap(),
        Some(original)
    );
    assert_eq!(store.catalog_items().await.unwrap().len(), 1);
}

async fn catalog_item_unknown_is_none(fx: &StoreFixture) {
    let store = fx.store();
    store.add_catalog_item(&item("known")).await.unwrap();
    assert_eq!(store.catalog_item(&id("unknown")).await.unwrap(), None);
    assert_eq!(store.catalog_item(&id("KNOWN")).await.unwrap(), None);
    assert_eq!(store.catalog_item(&id("know")).await.unwrap(), None);
}

async fn catalog_items_empty_store_is_empty(fx: &StoreFixture) {
    assert!(fx.store().catalog_items().await.unwrap().is_empty());
}

async fn catalog_items_several_ordered_by_id(fx: &StoreFixture) {
    let store = fx.store();
    for i in ["charlie", "Bravo", "alpha", "alpha-2", "10", "9", "a_b"] {
        store.add_catalog_item(&item(i)).await.unwrap();
    }
    let found = store.catalog_items().await.unwrap();
    assert_eq!(
        ids_of(&found),
        ["10", "9", "Bravo", "a_b", "alpha", "alpha-2", "charlie"]
    );
    for i in &found {
        assert_eq!(i, &item(i.id.as_str()));
    }
}

async fn catalog_items_with_other_records_returns_only_items(fx: &StoreFixture) {
    let store = fx.store();
    let i = item("k");
    store.add_catalog_item(&i).await.unwrap();
    store
        .add_platform(&crate::platforms::registration("k", "k"))
        .await
        .unwrap();
    store
        .add_consumer(&crate::consumers::consumer("k"))
        .await
        .unwrap();
    assert_eq!(store.catalog_items().await.unwrap(), vec![i]);
}

async fn remove_catalog_item_existing_then_item_is_none(fx: &StoreFixture) {
    let store = fx.store();
    let keep = item("keep");
    store.add_catalog_item(&item("gone")).await.unwrap();
    store.add_catalog_item(&keep).await.unwrap();
    store.remove_catalog_item(&id("gone")).await.unwrap();
    assert_eq!(store.catalog_item(&id("gone")).await.unwrap(), None);
    assert_eq!(store.catalog_items().await.unwrap(), vec![keep]);
    // Once removed, the id can be added again.
    store.add_catalog_item(&item("gone")).await.unwrap();
}

async fn remove_catalog_item_missing_fails_not_found(fx: &StoreFixture) {
    let store = fx.store();
    store.add_catalog_item(&item("present")).await.unwrap();
    assert_store_error!(store.remove_catalog_item(&id("absent")).await, NotFound);
    store.remove_catalog_item(&id("present")).await.unwrap();
    assert_store_error!(store.remove_catalog_item(&id("present")).await, NotFound);
}

async fn catalog_item_written_by_one_instance_is_read_by_another(fx: &StoreFixture) {
    let i = item("shared");
    fx.store().add_catalog_item(&i).await.unwrap();
    let other = fx.reopen().await;
    assert_eq!(other.catalog_item(&i.id).await.unwrap(), Some(i.clone()));
    assert_eq!(other.catalog_items().await.unwrap(), vec![i.clone()]);
    assert_store_error!(other.add_catalog_item(&i).await, AlreadyExists);
}
