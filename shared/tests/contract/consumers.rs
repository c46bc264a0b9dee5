//! `ConsumerRegistry`: LTI 1.1 consumers keyed by consumer key.

use lti_shared::domain::ids::ConsumerKey;
use lti_shared::domain::model::{Consumer, Status};
use time::macros::datetime;

use crate::support::StoreFixture;

store_contracts!(
    add_consumer_new_round_trips_every_field,
    add_consumer_without_name_round_trips_none,
    add_consumer_duplicate_fails_already_exists_and_keeps_original,
    consumer_unknown_is_none,
    consumers_empty_store_is_empty,
    consumers_several_ordered_by_key,
    consumers_with_other_records_returns_only_consumers,
    remove_consumer_existing_then_consumer_is_none,
    remove_consumer_missing_fails_not_found,
    consumer_keys_with_separators_do_not_collide,
    consumer_written_by_one_instance_is_read_by_another,
);

pub(crate) fn key(value: &str) -> ConsumerKey {
    ConsumerKey::parse(value).unwrap()
}

/// A consumer with every field set.
pub(crate) fn consumer(consumer_key: &str) -> Consumer {
    Consumer {
        key: key(consumer_key),
        name: Some(format!("Consumer {consumer_key}")),
        status: Status::Active,
        created_at: datetime!(2026-02-03 04:05:06.987654321 UTC),
    }
}

fn keys_of(consumers: &[Consumer]) -> Vec<&str> {
    consumers.iter().map(|c| c.key.as_str()).collect()
}

async fn add_consumer_new_round_trips_every_field(fx: &StoreFixture) {
    let store = fx.store();
    let c = consumer("moodle-legacy");
    store.add_consumer(&c).await.unwrap();
    assert_eq!(store.consumer(&c.key).await.unwrap(), Some(c));
}

async fn add_consumer_without_name_round_trips_none(fx: &StoreFixture) {
    let store = fx.store();
    let c = Consumer {
        key: key("anonymous"),
        name: None,
        status: Status::Disabled,
        created_at: datetime!(2025-12-31 23:59:59 UTC),
    };
    store.add_consumer(&c).await.unwrap();
    assert_eq!(store.consumer(&c.key).await.unwrap(), Some(c));
}

async fn add_consumer_duplicate_fails_already_exists_and_keeps_original(fx: &StoreFixture) {
    let store = fx.store();
    let original = consumer("dup");
    store.add_consumer(&original).await.unwrap();
    let other = Consumer {
        key: key("dup"),
        name: Some("impostor".to_owned()),
        status: Status::Disabled,
        created_at: datetime!(2027-01-01 00:00:00 UTC),
    };
    assert_store_error!(store.add_consumer(&other).await, AlreadyExists);
    assert_eq!(store.consumer(&original.key).await.unwrap(), Some(original));
    assert_eq!(store.consumers().await.unwrap().len(), 1);
}

async fn consumer_unknown_is_none(fx: &StoreFixture) {
    let store = fx.store();
    store.add_consumer(&consumer("known")).await.unwrap();
    assert_eq!(store.consumer(&key("unknown")).await.unwrap(), None);
    // Keys are compared exactly.
    assert_eq!(store.consumer(&key("KNOWN")).await.unwrap(), None);
    assert_eq!(store.consumer(&key("know")).await.unwrap(), None);
}

async fn consumers_empty_store_is_empty(fx: &StoreFixture) {
    let found = fx.store().consumers().await.unwrap();
    assert!(found.is_empty(), "{:?}", keys_of(&found));
}

async fn consumers_several_ordered_by_key(fx: &StoreFixture) {
    let store = fx.store();
    for k in ["charlie", "Bravo", "alpha", "alpha-2", "10", "9"] {
        store.add_consumer(&consumer(k)).await.unwrap();
    }
    let found = store.consumers().await.unwrap();
    assert_eq!(
        keys_of(&found),
        ["10", "9", "Bravo", "alpha", "alpha-2", "charlie"]
    );
    for c in &found {
        assert_eq!(c, &consumer(c.key.as_str()));
    }
}

async fn consumers_with_other_records_returns_only_consumers(fx: &StoreFixture) {
    let store = fx.store();
    let c = consumer("k");
    store.add_consumer(&c).await.unwrap();
    store
        .add_platform(&crate::platforms::registration("k", "k"))
        .await
        .unwrap();
    assert_eq!(store.consumers().await.unwrap(), vec![c]);
}

async fn remove_consumer_existing_then_consumer_is_none(fx: &StoreFixture) {
    let store = fx.store();
    let keep = consumer("keep");
    store.add_consumer(&consumer("gone")).await.unwrap();
    store.add_consumer(&keep).await.unwrap();
    store.remove_consumer(&key("gone")).await.unwrap();
    assert_eq!(store.consumer(&key("gone")).await.unwrap(), None);
    assert_eq!(store.consumers().await.unwrap(), vec![keep]);
    // Once removed, the key can be added again.
    store.add_consumer(&consumer("gone")).await.unwrap();
}

async fn remove_consumer_missing_fails_not_found(fx: &StoreFixture) {
    let store = fx.store();
    store.add_consumer(&consumer("present")).await.unwrap();
    assert_store_error!(store.remove_consumer(&key("absent")).await, NotFound);
    store.remove_consumer(&key("present")).await.unwrap();
    assert_store_error!(store.remove_consumer(&key("present")).await, NotFound);
}

async fn consumer_keys_with_separators_do_not_collide(fx: &StoreFixture) {
    let store = fx.store();
    let keys = [
        "a#b", "a", "a|b", "a%23b", "a%7Cb", "a b", "a/b", "ключ", "%D0%BA", "🔑",
    ];
    for k in keys {
        store
            .add_consumer(&consumer(k))
            .await
            .unwrap_or_else(|err| panic!("adding {k:?} failed: {err:?}"));
    }
    for k in keys {
        assert_eq!(store.consumer(&key(k)).await.unwrap(), Some(consumer(k)));
    }
    let mut expected = keys.to_vec();
    expected.sort_unstable();
    assert_eq!(keys_of(&store.consumers().await.unwrap()), expected);
}

async fn consumer_written_by_one_instance_is_read_by_another(fx: &StoreFixture) {
    let c = consumer("shared");
    fx.store().add_consumer(&c).await.unwrap();
    let other = fx.reopen().await;
    assert_eq!(other.consumer(&c.key).await.unwrap(), Some(c.clone()));
    assert_store_error!(other.add_consumer(&c).await, AlreadyExists);
}
