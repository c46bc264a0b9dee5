//! `ExpiringItems`: short-lived items whose expiry is judged against the `now` passed in,
//! whether or not the backing store has deleted them yet.

use std::sync::Arc;

use lti_shared::ports::{Created, ItemKind, LiveItem, NewItem};
use time::Duration;

use crate::support::{StoreFixture, base_now};

store_contracts!(
    put_item_then_item_before_expiry_returns_value,
    item_unknown_is_none,
    item_at_expiry_is_none,
    item_after_expiry_is_none,
    item_expiring_mid_second_is_live_until_that_instant,
    put_item_empty_value_round_trips_empty,
    put_item_existing_replaces_value_and_expiry,
    put_item_already_expired_is_none,
    create_if_absent_new_key_is_created,
    create_if_absent_live_key_is_already_exists_and_keeps_value,
    create_if_absent_expired_key_is_created_again,
    create_if_absent_key_expiring_at_now_is_created_again,
    same_key_in_each_kind_is_independent,
    take_item_live_returns_value_once,
    take_item_expired_is_none,
    take_item_unknown_is_none,
    remove_item_existing_then_item_is_none,
    remove_item_missing_succeeds,
    item_keys_with_special_characters_do_not_collide,
    create_if_absent_sixteen_concurrent_callers_exactly_one_created,
    take_item_sixteen_concurrent_callers_exactly_one_gets_value,
    item_written_by_one_instance_is_read_by_another,
    create_if_absent_and_remove_new_key_creates_and_removes,
    create_if_absent_and_remove_live_key_changes_nothing,
    create_if_absent_and_remove_missing_other_item_still_creates,
    create_if_absent_and_remove_sixteen_concurrent_callers_exactly_one_created,
    live_items_lists_one_kinds_live_items_by_key,
    invitations_issue_check_consume_once_and_revoke,
);

const ALL_KINDS: [ItemKind; 9] = [
    ItemKind::LoginState,
    ItemKind::Nonce,
    ItemKind::OAuthNonce,
    ItemKind::PlatformKeys,
    ItemKind::AccessToken,
    ItemKind::DeepLinkRequest,
    ItemKind::PendingRegistration,
    ItemKind::PendingRegistrationUpdate,
    ItemKind::Roster,
];

async fn put_item_then_item_before_expiry_returns_value(fx: &StoreFixture) {
    let store = fx.store();
    let now = base_now();
    let value = r#"{"issuer":"https://lms.example","nonce":"n-1","ü":"✓"}"#;
    store
        .put_item(
            ItemKind::LoginState,
            "state-1",
            value,
            now + Duration::minutes(10),
        )
        .await
        .unwrap();
    for at in [
        now,
        now + Duration::minutes(9),
        now + Duration::seconds(599),
    ] {
        assert_eq!(
            store
                .item(ItemKind::LoginState, "state-1", at)
                .await
                .unwrap()
                .as_deref(),
            Some(value),
            "at {at}"
        );
    }
}

async fn item_unknown_is_none(fx: &StoreFixture) {
    let store = fx.store();
    let now = base_now();
    store
        .put_item(ItemKind::Nonce, "known", "v", now + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(
        store.item(ItemKind::Nonce, "unknown", now).await.unwrap(),
        None
    );
    assert_eq!(
        store.item(ItemKind::Nonce, "know", now).await.unwrap(),
        None
    );
    assert_eq!(
        store.item(ItemKind::Nonce, "KNOWN", now).await.unwrap(),
        None
    );
}

async fn item_at_expiry_is_none(fx: &StoreFixture) {
    let store = fx.store();
    let now = base_now();
    let expires_at = now + Duration::minutes(5);
    store
        .put_item(ItemKind::AccessToken, "token", "abc", expires_at)
        .await
        .unwrap();
    assert_eq!(
        store
            .item(
                ItemKind::AccessToken,
                "token",
                expires_at - Duration::seconds(1)
            )
            .await
            .unwrap()
            .as_deref(),
        Some("abc"),
        "one second before expiry the item is live"
    );
    assert_eq!(
        store
            .item(ItemKind::AccessToken, "token", expires_at)
            .await
            .unwrap(),
        None,
        "an item expiring exactly at `now` is absent"
    );
}

async fn item_after_expiry_is_none(fx: &StoreFixture) {
    let store = fx.store();
    let now = base_now();
    store
        .put_item(
            ItemKind::PlatformKeys,
            "jwks",
            "{}",
            now + Duration::minutes(5),
        )
        .await
        .unwrap();
    for at in [
        now + Duration::minutes(5) + Duration::seconds(1),
        now + Duration::hours(1),
        now + Duration::days(400),
    ] {
        assert_eq!(
            store
                .item(ItemKind::PlatformKeys, "jwks", at)
                .await
                .unwrap(),
            None,
            "at {at}"
        );
    }
}

async fn item_expiring_mid_second_is_live_until_that_instant(fx: &StoreFixture) {
    let store = fx.store();
    let now = base_now();
    // Callers pass `now_utc()`-based instants, which are rarely whole seconds.
    let expires_at = now + Duration::seconds(10) + Duration::milliseconds(500);
    store
        .put_item(ItemKind::Nonce, "n", "used", expires_at)
        .await
        .unwrap();
    let just_before = expires_at - Duration::milliseconds(300);
    assert_eq!(
        store
            .item(ItemKind::Nonce, "n", just_before)
            .await
            .unwrap()
            .as_deref(),
        Some("used"),
        "300 ms before its expiry the item is live"
    );
    assert_eq!(
        store
            .create_if_absent(ItemKind::Nonce, "n", "replayed", expires_at, just_before)
            .await
            .unwrap(),
        Created::AlreadyExists,
        "300 ms before its expiry a used nonce still blocks a replay"
    );
    assert_eq!(
        store.item(ItemKind::Nonce, "n", expires_at).await.unwrap(),
        None
    );
    let just_after = expires_at + Duration::milliseconds(300);
    assert_eq!(
        store.item(ItemKind::Nonce, "n", just_after).await.unwrap(),
        None
    );
}

async fn put_item_empty_value_round_trips_empty(fx: &StoreFixture) {
    let store = fx.store();
    let now = base_now();
    store
        .put_item(ItemKind::Nonce, "empty", "", now + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(
        store
            .item(ItemKind::Nonce, "empty", now)
            .await
            .unwrap()
            .as_deref(),
        Some("")
    );
    assert_eq!(
        store
            .take_item(ItemKind::Nonce, "empty", now)
            .await
            .unwrap()
            .as_deref(),
        Some("")
    );
}

async fn put_item_existing_replaces_value_and_expiry(fx: &StoreFixture) {
    let store = fx.store();
    let now = base_now();
    store
        .put_item(
            ItemKind::PlatformKeys,
            "jwks",
            "old",
            now + Duration::hours(2),
        )
        .await
        .unwrap();
    store
        .put_item(
            ItemKind::PlatformKeys,
            "jwks",
            "new",
            now + Duration::hours(1),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .item(ItemKind::PlatformKeys, "jwks", now)
            .await
            .unwrap()
            .as_deref(),
        Some("new")
    );
    // The replacement's (earlier) expiry applies, not the original's.
    let between = now + Duration::minutes(90);
    assert_eq!(
        store
            .item(ItemKind::PlatformKeys, "jwks", between)
            .await
            .unwrap(),
        None
    );
}

async fn put_item_already_expired_is_none(fx: &StoreFixture) {
    let store = fx.store();
    let now = base_now();
    store
        .put_item(
            ItemKind::AccessToken,
            "token",
            "stale",
            now - Duration::seconds(1),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .item(ItemKind::AccessToken, "token", now)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .take_item(ItemKind::AccessToken, "token", now)
            .await
            .unwrap(),
        None
    );
}

async fn create_if_absent_new_key_is_created(fx: &StoreFixture) {
    let store = fx.store();
    let now = base_now();
    let created = store
        .create_if_absent(
            ItemKind::Nonce,
            "nonce-1",
            "used",
            now + Duration::hours(1),
            now,
        )
        .await
        .unwrap();
    assert_eq!(created, Created::Created);
    assert_eq!(
        store
            .item(ItemKind::Nonce, "nonce-1", now)
            .await
            .unwrap()
            .as_deref(),
        Some("used")
    );
}

async fn create_if_absent_live_key_is_already_exists_and_keeps_value(fx: &StoreFixture) {
    let store = fx.store();
    let now = base_now();
    let expires_at = now + Duration::hours(1);
    let first = store
        .create_if_absent(ItemKind::Nonce, "nonce-1", "first", expires_at, now)
        .await
        .unwrap();
    assert_eq!(first, Created::Created);

    let later = now + Duration::minutes(59);
    let second = store
        .create_if_absent(
            ItemKind::Nonce,
            "nonce-1",
            "second",
            later + Duration::hours(5),
            later,
        )
        .await
        .unwrap();
    assert_eq!(second, Created::AlreadyExists);

    // Nothing was written: the value and the expiry are the first call's.
    assert_eq!(
        store
            .item(ItemKind::Nonce, "nonce-1", later)
            .await
            .unwrap()
            .as_deref(),
        Some("first")
    );
    assert_eq!(
        store
            .item(ItemKind::Nonce, "nonce-1", expires_at)
            .await
            .unwrap(),
        None
    );

    // A key written by put_item counts as live too.
    store
        .put_item(ItemKind::OAuthNonce, "put", "by-put", expires_at)
        .await
        .unwrap();
    let over_put = store
        .create_if_absent(ItemKind::OAuthNonce, "put", "x", expires_at, now)
        .await
        .unwrap();
    assert_eq!(over_put, Created::AlreadyExists);
    assert_eq!(
        store
            .item(ItemKind::OAuthNonce, "put", now)
            .await
            .unwrap()
            .as_deref(),
        Some("by-put")
    );
}

async fn create_if_absent_expired_key_is_created_again(fx: &StoreFixture) {
    let store = fx.store();
    let now = base_now();
    let first_expiry = now + Duration::minutes(10);
    assert_eq!(
        store
            .create_if_absent(ItemKind::LoginState, "k", "first", first_expiry, now)
            .await
            .unwrap(),
        Created::Created
    );
    let later = first_expiry + Duration::seconds(30);
    let second_expiry = later + Duration::minutes(10);
    assert_eq!(
        store
            .create_if_absent(ItemKind::LoginState, "k", "second", second_expiry, later)
            .await
            .unwrap(),
        Created::Created
    );
    // The new item replaced the expired one, with its own value and expiry.
    assert_eq!(
        store
            .item(ItemKind::LoginState, "k", later)
            .await
            .unwrap()
            .as_deref(),
        Some("second")
    );
    assert_eq!(
        store
            .item(
                ItemKind::LoginState,
                "k",
                second_expiry - Duration::seconds(1)
            )
            .await
            .unwrap()
            .as_deref(),
        Some("second")
    );
    assert_eq!(
        store
            .create_if_absent(ItemKind::LoginState, "k", "third", second_expiry, later)
            .await
            .unwrap(),
        Created::AlreadyExists
    );
}

async fn create_if_absent_key_expiring_at_now_is_created_again(fx: &StoreFixture) {
    let store = fx.store();
    let now = base_now();
    let expiry = now + Duration::minutes(10);
    store
        .put_item(ItemKind::Nonce, "k", "first", expiry)
        .await
        .unwrap();
    assert_eq!(
        store
            .create_if_absent(
                ItemKind::Nonce,
                "k",
                "second",
                expiry + Duration::minutes(10),
                expiry
            )
            .await
            .unwrap(),
        Created::Created,
        "an item expiring exactly at `now` is absent"
    );
    assert_eq!(
        store
            .item(ItemKind::Nonce, "k", expiry)
            .await
            .unwrap()
            .as_deref(),
        Some("second")
    );
}

async fn same_key_in_each_kind_is_independent(fx: &StoreFixture) {
    let store = fx.store();
    let now = base_now();
    let expires_at = now + Duration::hours(1);
    store
        .put_item(ItemKind::LoginState, "shared-key", "state", expires_at)
        .await
        .unwrap();
    // The key is live as login state, yet absent in every other kind.
    for kind in &ALL_KINDS[1..] {
        assert_eq!(
            store.item(*kind, "shared-key", now).await.unwrap(),
            None,
            "{kind:?}"
        );
        assert_eq!(
            store
                .create_if_absent(*kind, "shared-key", kind.as_str(), expires_at, now)
                .await
                .unwrap(),
            Created::Created,
            "{kind:?}"
        );
    }
    for kind in &ALL_KINDS[1..] {
        assert_eq!(
            store
                .item(*kind, "shared-key", now)
                .await
                .unwrap()
                .as_deref(),
            Some(kind.as_str()),
            "{kind:?}"
        );
    }
    // Taking or removing in one kind leaves the others.
    assert_eq!(
        store
            .take_item(ItemKind::Nonce, "shared-key", now)
            .await
            .unwrap()
            .as_deref(),
        Some("nonce")
    );
    store
        .remove_item(ItemKind::OAuthNonce, "shared-key")
        .await
        .unwrap();
    let expected = [
        (ItemKind::LoginState, Some("state")),
        (ItemKind::Nonce, None),
        (ItemKind::OAuthNonce, None),
        (ItemKind::PlatformKeys, Some("platform-keys")),
        (ItemKind::AccessToken, Some("access-token")),
    ];
    for (kind, value) in expected {
        assert_eq!(
            store
                .item(kind, "shared-key", now)
                .await
                .unwrap()
                .as_deref(),
            value,
            "{kind:?}"
        );
    }
}

async fn take_item_live_returns_value_once(fx: &StoreFixture) {
    let store = fx.store();
    let now = base_now();
    store
        .put_item(
            ItemKind::LoginState,
            "state-1",
            "payload",
            now + Duration::minutes(10),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .take_item(ItemKind::LoginState, "state-1", now)
            .await
            .unwrap()
            .as_deref(),
        Some("payload")
    );
    assert_eq!(
        store
            .take_item(ItemKind::LoginState, "state-1", now)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .item(ItemKind::LoginState, "state-1", now)
            .await
            .unwrap(),
        None
    );
    // The key is free again.
    assert_eq!(
        store
            .create_if_absent(
                ItemKind::LoginState,
                "state-1",
                "again",
                now + Duration::minutes(10),
                now
            )
            .await
            .unwrap(),
        Created::Created
    );
}

async fn take_item_expired_is_none(fx: &StoreFixture) {
    let store = fx.store();
    let now = base_now();
    let expiry = now + Duration::minutes(10);
    store
        .put_item(ItemKind::LoginState, "state-1", "payload", expiry)
        .await
        .unwrap();
    assert_eq!(
        store
            .take_item(ItemKind::LoginState, "state-1", expiry)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .take_item(ItemKind::LoginState, "state-1", expiry + Duration::hours(1))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .create_if_absent(
                ItemKind::LoginState,
                "state-1",
                "new",
                expiry + Duration::hours(2),
                expiry
            )
            .await
            .unwrap(),
        Created::Created
    );
}

async fn take_item_unknown_is_none(fx: &StoreFixture) {
    let store = fx.store();
    let now = base_now();
    assert_eq!(
        store
            .take_item(ItemKind::LoginState, "nothing", now)
            .await
            .unwrap(),
        None
    );
}

async fn remove_item_existing_then_item_is_none(fx: &StoreFixture) {
    let store = fx.store();
    let now = base_now();
    let expires_at = now + Duration::minutes(10);
    store
        .put_item(ItemKind::AccessToken, "gone", "a", expires_at)
        .await
        .unwrap();
    store
        .put_item(ItemKind::AccessToken, "kept", "b", expires_at)
        .await
        .unwrap();
    store
        .remove_item(ItemKind::AccessToken, "gone")
        .await
        .unwrap();
    assert_eq!(
        store
            .item(ItemKind::AccessToken, "gone", now)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .item(ItemKind::AccessToken, "kept", now)
            .await
            .unwrap()
            .as_deref(),
        Some("b")
    );
    assert_eq!(
        store
            .create_if_absent(ItemKind::AccessToken, "gone", "c", expires_at, now)
            .await
            .unwrap(),
        Created::Created
    );
}

async fn remove_item_missing_succeeds(fx: &StoreFixture) {
    let store = fx.store();
    store
        .remove_item(ItemKind::Nonce, "never-written")
        .await
        .unwrap();
    let now = base_now();
    store
        .put_item(ItemKind::Nonce, "twice", "v", now + Duration::minutes(1))
        .await
        .unwrap();
    store.remove_item(ItemKind::Nonce, "twice").await.unwrap();
    store.remove_item(ItemKind::Nonce, "twice").await.unwrap();
}

async fn item_keys_with_special_characters_do_not_collide(fx: &StoreFixture) {
    let store = fx.store();
    let now = base_now();
    let expires_at = now + Duration::hours(1);
    // An OAuth nonce key is consumer key + nonce; keys carry separators, escapes and unicode.
    let keys = [
        "consumer#nonce",
        "consumer",
        "consumer|nonce",
        "consumer%23nonce",
        "consumer nonce",
        "consumer/nonce",
        "oauth-nonce#consumer",
        "ключ/🔑",
        "%D0%BA%D0%BB%D1%8E%D1%87/🔑",
        "https://lms.example/api/lti/security/jwks?x=1&y=%2F",
    ];
    for (n, key) in keys.iter().enumerate() {
        assert_eq!(
            store
                .create_if_absent(
                    ItemKind::OAuthNonce,
                    key,
                    &format!("value {n}"),
                    expires_at,
                    now
                )
                .await
                .unwrap(),
            Created::Created,
            "{key:?}"
        );
    }
    for (n, key) in keys.iter().enumerate() {
        assert_eq!(
            store.item(ItemKind::OAuthNonce, key, now).await.unwrap(),
            Some(format!("value {n}")),
            "{key:?}"
        );
    }
    // Removing one leaves its look-alikes.
    store
        .remove_item(ItemKind::OAuthNonce, "consumer#nonce")
        .await
        .unwrap();
    assert_eq!(
        store
            .item(ItemKind::OAuthNonce, "consumer%23nonce", now)
            .await
            .unwrap(),
        Some("value 3".to_owned())
    );
    // The same key in another kind is another item.
    assert_eq!(
        store
            .item(ItemKind::Nonce, "consumer#nonce", now)
            .await
            .unwrap(),
        None
    );
}

async fn create_if_absent_sixteen_concurrent_callers_exactly_one_created(fx: &StoreFixture) {
    let now = base_now();
    let expires_at = now + Duration::minutes(10);
    let start = Arc::new(tokio::sync::Barrier::new(16));
    let tasks: Vec<_> = (0..16)
        .map(|n| {
            let store = fx.shared();
            let start = Arc::clone(&start);
            tokio::spawn(async move {
                start.wait().await;
                let outcome = store
                    .create_if_absent(
                        ItemKind::Nonce,
                        "raced",
                        &format!("caller {n}"),
                        expires_at,
                        now,
                    )
                    .await
                    .unwrap();
                (n, outcome)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        let (n, outcome) = task.await.unwrap();
        if outcome == Created::Created {
            winners.push(n);
        }
    }
    assert_eq!(winners.len(), 1, "callers that saw Created: {winners:?}");
    assert_eq!(
        fx.store()
            .item(ItemKind::Nonce, "raced", now)
            .await
            .unwrap(),
        Some(format!("caller {}", winners[0])),
        "the stored value is the winner's"
    );
}

async fn take_item_sixteen_concurrent_callers_exactly_one_gets_value(fx: &StoreFixture) {
    let now = base_now();
    fx.store()
        .put_item(
            ItemKind::LoginState,
            "one-time",
            "payload",
            now + Duration::minutes(10),
        )
        .await
        .unwrap();
    let start = Arc::new(tokio::sync::Barrier::new(16));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let store = fx.shared();
            let start = Arc::clone(&start);
            tokio::spawn(async move {
                start.wait().await;
                store
                    .take_item(ItemKind::LoginState, "one-time", now)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut taken = Vec::new();
    for task in tasks {
        if let Some(value) = task.await.unwrap() {
            taken.push(value);
        }
    }
    assert_eq!(taken, vec!["payload".to_owned()]);
}

async fn item_written_by_one_instance_is_read_by_another(fx: &StoreFixture) {
    let now = base_now();
    let expires_at = now + Duration::minutes(10);
    assert_eq!(
        fx.store()
            .create_if_absent(ItemKind::Nonce, "n", "v", expires_at, now)
            .await
            .unwrap(),
        Created::Created
    );
    let other = fx.reopen().await;
    assert_eq!(
        other
            .create_if_absent(ItemKind::Nonce, "n", "w", expires_at, now)
            .await
            .unwrap(),
        Created::AlreadyExists
    );
    assert_eq!(
        other
            .take_item(ItemKind::Nonce, "n", now)
            .await
            .unwrap()
            .as_deref(),
        Some("v")
    );
    assert_eq!(
        fx.store().item(ItemKind::Nonce, "n", now).await.unwrap(),
        None
    );
}

fn nonce(key: &str, now: time::OffsetDateTime) -> NewItem<'_> {
    NewItem {
        kind: ItemKind::Nonce,
        key,
        value: "used",
        expires_at: now + Duration::minutes(5),
    }
}

async fn create_if_absent_and_remove_new_key_creates_and_removes(fx: &StoreFixture) {
    let store = fx.store();
    let now = base_now();
    store
        .put_item(
            ItemKind::LoginState,
            "state-1",
            "login",
            now + Duration::minutes(10),
        )
        .await
        .unwrap();
    let created = store
        .create_if_absent_and_remove(nonce("n-1", now), now, (ItemKind::LoginState, "state-1"))
        .await
        .unwrap();
    assert_eq!(created, Created::Created);
    assert_eq!(
        store
            .item(ItemKind::Nonce, "n-1", now)
            .await
            .unwrap()
            .as_deref(),
        Some("used")
    );
    assert_eq!(
        store
            .item(ItemKind::LoginState, "state-1", now)
            .await
            .unwrap(),
        None
    );
}

async fn create_if_absent_and_remove_live_key_changes_nothing(fx: &StoreFixture) {
    let store = fx.store();
    let now = base_now();
    store
        .put_item(ItemKind::Nonce, "n-1", "first", now + Duration::minutes(5))
        .await
        .unwrap();
    store
        .put_item(
            ItemKind::LoginState,
            "state-1",
            "login",
            now + Duration::minutes(10),
        )
        .await
        .unwrap();
    let created = store
        .create_if_absent_and_remove(nonce("n-1", now), now, (ItemKind::LoginState, "state-1"))
        .await
        .unwrap();
    assert_eq!(created, Created::AlreadyExists);
    assert_eq!(
        store
            .item(ItemKind::Nonce, "n-1", now)
            .await
            .unwrap()
            .as_deref(),
        Some("first"),
        "the existing item is kept"
    );
    assert_eq!(
        store
            .item(ItemKind::LoginState, "state-1", now)
            .await
            .unwrap()
            .as_deref(),
        Some("login"),
        "nothing is removed when nothing was created"
    );
}

async fn create_if_absent_and_remove_missing_other_item_still_creates(fx: &StoreFixture) {
    let store = fx.store();
    let now = base_now();
    let created = store
        .create_if_absent_and_remove(nonce("n-2", now), now, (ItemKind::LoginState, "gone"))
        .await
        .unwrap();
    assert_eq!(created, Created::Created);
}

async fn create_if_absent_and_remove_sixteen_concurrent_callers_exactly_one_created(
    fx: &StoreFixture,
) {
    let store = fx.shared();
    let now = base_now();
    store
        .put_item(
            ItemKind::LoginState,
            "state-c",
            "login",
            now + Duration::minutes(10),
        )
        .await
        .unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .create_if_absent_and_remove(
                        nonce("n-c", now),
                        now,
                        (ItemKind::LoginState, "state-c"),
                    )
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        if task.await.unwrap() == Created::Created {
            created += 1;
        }
    }
    assert_eq!(created, 1);
}

async fn live_items_lists_one_kinds_live_items_by_key(fx: &StoreFixture) {
    let store = fx.store();
    let now = base_now();
    let kind = ItemKind::RegistrationInvitation;
    let later = now + Duration::milliseconds(1500);
    store.put_item(kind, "b#2", "v-b", later).await.unwrap();
    store
        .put_item(kind, "a|1 ü", "v-a", now + Duration::hours(1))
        .await
        .unwrap();
    store.put_item(kind, "expired", "v-x", now).await.unwrap();
    store
        .put_item(ItemKind::PendingRegistration, "other-kind", "v-o", later)
        .await
        .unwrap();
    let listed = store.live_items(kind, now).await.unwrap();
    assert_eq!(
        listed,
        vec![
            LiveItem {
                key: "a|1 ü".into(),
                value: "v-a".into(),
                expires_at: now + Duration::hours(1),
            },
            LiveItem {
                key: "b#2".into(),
                value: "v-b".into(),
                expires_at: later,
            },
        ]
    );
    let after = store.live_items(kind, later).await.unwrap();
    assert_eq!(after.len(), 1);
    assert!(
        store
            .live_items(ItemKind::Roster, now)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn invitations_issue_check_consume_once_and_revoke(fx: &StoreFixture) {
    use lti_shared::app::invitations;
    use lti_shared::lti13::dynamic_registration::RegistrationError;
    let store = fx.shared();
    let items = store.as_ref();
    let now = base_now();
    let issued = invitations::issue(items, now, Duration::days(1), Some("for \u{1b}[2Jmoodle"))
        .await
        .unwrap();
    assert_eq!(issued.token.expose().len(), 43);
    assert_eq!(issued.invitation.note.as_deref(), Some("for moodle"));
    // Only the hash is stored.
    let listed = store
        .live_items(ItemKind::RegistrationInvitation, now)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert!(!listed[0].value.contains(issued.token.expose()));
    assert_eq!(listed[0].key, invitations::key_of(&issued.token));
    let key = invitations::check(items, Some(issued.token.expose()), now)
        .await
        .unwrap();
    // Checking twice does not use it.
    assert_eq!(
        invitations::check(items, Some(issued.token.expose()), now)
            .await
            .unwrap(),
        key
    );
    let used = invitations::consume(items, &key, now).await.unwrap();
    assert_eq!(used.id, issued.invitation.id);
    assert!(matches!(
        invitations::consume(items, &key, now).await,
        Err(RegistrationError::InvitationUsed(_))
    ));
    assert!(matches!(
        invitations::check(items, Some(issued.token.expose()), now).await,
        Err(RegistrationError::InvitationUsed(_))
    ));
    assert!(invitations::live(items, now).await.unwrap().is_empty());
    // Sixteen confirmations with one live invitation: exactly one uses it.
    let second = invitations::issue(items, now, Duration::days(1), None)
        .await
        .unwrap();
    let key = invitations::key_of(&second.token);
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let store = Arc::clone(&store);
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            invitations::consume(store.as_ref(), &key, now)
                .await
                .is_ok()
        }));
    }
    let mut winners = 0;
    for task in tasks {
        winners += usize::from(task.await.unwrap());
    }
    assert_eq!(winners, 1);
    // Revoked: unknown from then on.
    let third = invitations::issue(items, now, Duration::days(1), None)
        .await
        .unwrap();
    assert_eq!(invitations::live(items, now).await.unwrap().len(), 1);
    let revoked = invitations::revoke(items, &third.invitation.id[..8], now)
        .await
        .unwrap();
    assert_eq!(revoked.map(|i| i.id), Some(third.invitation.id.clone()));
    assert!(matches!(
        invitations::check(items, Some(third.token.expose()), now).await,
        Err(RegistrationError::InvitationUnknown)
    ));
    assert!(
        invitations::revoke(items, &third.invitation.id, now)
            .await
            .unwrap()
            .is_none()
    );
}
