//! `KeyStore`: the tool's signing keys and LTI 1.1 consumer secrets.

use lti_shared::domain::ids::ConsumerKey;
use lti_shared::domain::keys::{KeySet, KeyStatus};
use lti_shared::domain::secret::ConsumerSecret;
use time::Duration;
use time::macros::datetime;

use crate::support::KeyStoreFixture;

keystore_contracts!(
    signing_keys_empty_store_is_empty_set,
    save_signing_keys_then_signing_keys_round_trips,
    save_signing_keys_again_replaces_set,
    consumer_secret_unknown_is_none,
    put_consumer_secret_then_consumer_secret_round_trips,
    put_consumer_secret_existing_replaces_it,
    remove_consumer_secret_existing_then_consumer_secret_is_none,
    remove_consumer_secret_missing_fails_not_found,
    consumer_secret_keys_with_separators_do_not_collide,
    save_signing_keys_keeps_consumer_secrets,
    put_consumer_secret_keeps_signing_keys,
    put_consumer_secret_sixteen_concurrent_writers_keeps_every_secret,
    key_store_written_by_one_instance_is_read_by_another,
);

fn key(value: &str) -> ConsumerKey {
    ConsumerKey::parse(value).unwrap()
}

fn secret(value: &str) -> ConsumerSecret {
    ConsumerSecret::new(value)
}

/// A freshly initialised set: one current and one next key.
fn initialised_set() -> KeySet {
    let mut set = KeySet::default();
    assert!(set.init(datetime!(2026-03-01 12:00:00.123456 UTC)).unwrap());
    set
}

fn kids_and_statuses(set: &KeySet) -> Vec<(String, KeyStatus)> {
    set.keys
        .iter()
        .map(|k| (k.kid.to_string(), k.status))
        .collect()
}

async fn signing_keys_empty_store_is_empty_set(fx: &KeyStoreFixture) {
    let keys = fx.keys().signing_keys().await.unwrap();
    assert!(keys.keys.is_empty(), "{:?}", kids_and_statuses(&keys));
    assert_eq!(keys, KeySet::default());
}

async fn save_signing_keys_then_signing_keys_round_trips(fx: &KeyStoreFixture) {
    let store = fx.keys();
    let set = initialised_set();
    store.save_signing_keys(&set).await.unwrap();
    let loaded = store.signing_keys().await.unwrap();
    assert_eq!(kids_and_statuses(&loaded), kids_and_statuses(&set));
    // Every member, the private key included.
    assert_eq!(loaded, set);
    // The loaded private key still signs.
    assert!(
        !loaded
            .current()
            .unwrap()
            .sign_rs256(b"x")
            .unwrap()
            .is_empty()
    );
}

async fn save_signing_keys_again_replaces_set(fx: &KeyStoreFixture) {
    let store = fx.keys();
    let mut set = initialised_set();
    store.save_signing_keys(&set).await.unwrap();
    set.rotate(datetime!(2026-03-08 12:00:00 UTC)).unwrap();
    store.save_signing_keys(&set).await.unwrap();
    let loaded = store.signing_keys().await.unwrap();
    assert_eq!(
        kids_and_statuses(&loaded),
        kids_and_statuses(&set),
        "expected current, next, retired after a rotation"
    );
    assert_eq!(loaded, set);
    assert!(loaded.keys.iter().any(|k| k.retired_at.is_some()));

    // Saving a smaller set drops the keys it no longer has.
    let mut smaller = set.clone();
    smaller.keys.retain(|k| k.status == KeyStatus::Current);
    store.save_signing_keys(&smaller).await.unwrap();
    assert_eq!(store.signing_keys().await.unwrap(), smaller);
}

async fn consumer_secret_unknown_is_none(fx: &KeyStoreFixture) {
    let store = fx.keys();
    assert_eq!(store.consumer_secret(&key("unknown")).await.unwrap(), None);
    store
        .put_consumer_secret(&key("known"), &secret("0123456789abcdef"))
        .await
        .unwrap();
    assert_eq!(store.consumer_secret(&key("unknown")).await.unwrap(), None);
    assert_eq!(store.consumer_secret(&key("KNOWN")).await.unwrap(), None);
}

async fn put_consumer_secret_then_consumer_secret_round_trips(fx: &KeyStoreFixture) {
    let store = fx.keys();
    let value = secret(r#"s3cr3t-"quoted"-\backslash\-ünïcødé-🔑-0123456789"#);
    store
        .put_consumer_secret(&key("moodle"), &value)
        .await
        .unwrap();
    let read = store.consumer_secret(&key("moodle")).await.unwrap();
    assert!(read == Some(value), "the secret read back differs");
}

async fn put_consumer_secret_existing_replaces_it(fx: &KeyStoreFixture) {
    let store = fx.keys();
    store
        .put_consumer_secret(&key("moodle"), &secret("old-secret-0123456789"))
        .await
        .unwrap();
    store
        .put_consumer_secret(&key("moodle"), &secret("new-secret-9876543210"))
        .await
        .unwrap();
    let read = store.consumer_secret(&key("moodle")).await.unwrap();
    assert!(
        read == Some(secret("new-secret-9876543210")),
        "the replacement was not read back"
    );
}

async fn remove_consumer_secret_existing_then_consumer_secret_is_none(fx: &KeyStoreFixture) {
    let store = fx.keys();
    store
        .put_consumer_secret(&key("gone"), &secret("gone-secret-0123456789"))
        .await
        .unwrap();
    store
        .put_consumer_secret(&key("kept"), &secret("kept-secret-0123456789"))
        .await
        .unwrap();
    store.remove_consumer_secret(&key("gone")).await.unwrap();
    assert_eq!(store.consumer_secret(&key("gone")).await.unwrap(), None);
    let kept = store.consumer_secret(&key("kept")).await.unwrap();
    assert!(kept == Some(secret("kept-secret-0123456789")));
}

async fn remove_consumer_secret_missing_fails_not_found(fx: &KeyStoreFixture) {
    let store = fx.keys();
    assert_store_error!(store.remove_consumer_secret(&key("absent")).await, NotFound);
    store
        .put_consumer_secret(&key("present"), &secret("present-secret-0123"))
        .await
        .unwrap();
    assert_store_error!(store.remove_consumer_secret(&key("absent")).await, NotFound);
    store.remove_consumer_secret(&key("present")).await.unwrap();
    assert_store_error!(
        store.remove_consumer_secret(&key("present")).await,
        NotFound
    );
}

async fn consumer_secret_keys_with_separators_do_not_collide(fx: &KeyStoreFixture) {
    let store = fx.keys();
    let keys = [
        "a#b",
        "a",
        "a|b",
        "a%23b",
        "a.b",
        "a/b",
        "a b",
        "\"a\"",
        "ключ",
        "🔑",
        "keys",
        "signing_keys",
    ];
    for (n, k) in keys.iter().enumerate() {
        store
            .put_consumer_secret(&key(k), &secret(&format!("secret number {n:02}")))
            .await
            .unwrap();
    }
    for (n, k) in keys.iter().enumerate() {
        let read = store.consumer_secret(&key(k)).await.unwrap();
        assert!(
            read == Some(secret(&format!("secret number {n:02}"))),
            "wrong secret for {k:?}"
        );
    }
    // Consumer keys named like parts of the document do not disturb the signing keys.
    assert_eq!(store.signing_keys().await.unwrap(), KeySet::default());
}

async fn save_signing_keys_keeps_consumer_secrets(fx: &KeyStoreFixture) {
    let store = fx.keys();
    store
        .put_consumer_secret(&key("moodle"), &secret("moodle-secret-0123456"))
        .await
        .unwrap();
    store
        .put_consumer_secret(&key("sakai"), &secret("sakai-secret-0123456"))
        .await
        .unwrap();
    let set = initialised_set();
    store.save_signing_keys(&set).await.unwrap();
    let moodle = store.consumer_secret(&key("moodle")).await.unwrap();
    assert!(moodle == Some(secret("moodle-secret-0123456")));
    let sakai = store.consumer_secret(&key("sakai")).await.unwrap();
    assert!(sakai == Some(secret("sakai-secret-0123456")));
    assert_eq!(store.signing_keys().await.unwrap(), set);
}

async fn put_consumer_secret_keeps_signing_keys(fx: &KeyStoreFixture) {
    let store = fx.keys();
    let set = initialised_set();
    store.save_signing_keys(&set).await.unwrap();
    store
        .put_consumer_secret(&key("moodle"), &secret("moodle-secret-0123456"))
        .await
        .unwrap();
    assert_eq!(store.signing_keys().await.unwrap(), set);
    store.remove_consumer_secret(&key("moodle")).await.unwrap();
    assert_eq!(store.signing_keys().await.unwrap(), set);
}

async fn put_consumer_secret_sixteen_concurrent_writers_keeps_every_secret(fx: &KeyStoreFixture) {
    // Each write rewrites the whole document: concurrent writers through one instance must
    // not lose each other's changes.
    let set = initialised_set();
    let tasks: Vec<_> = (0..16)
        .map(|n| {
            let store = fx.shared();
            let set = set.clone();
            tokio::spawn(async move {
                if n == 0 {
                    store.save_signing_keys(&set).await.unwrap();
                } else {
                    let value = secret(&format!("secret of consumer {n:02}"));
                    store
                        .put_consumer_secret(&key(&format!("consumer-{n:02}")), &value)
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let store = fx.keys();
    for n in 1..16 {
        let read = store
            .consumer_secret(&key(&format!("consumer-{n:02}")))
            .await
            .unwrap();
        assert!(
            read == Some(secret(&format!("secret of consumer {n:02}"))),
            "the secret of consumer-{n:02} was lost"
        );
    }
    assert_eq!(store.signing_keys().await.unwrap(), set);
}

async fn key_store_written_by_one_instance_is_read_by_another(fx: &KeyStoreFixture) {
    let first = fx.keys();
    let set = initialised_set();
    first.save_signing_keys(&set).await.unwrap();
    first
        .put_consumer_secret(&key("moodle"), &secret("moodle-secret-0123456"))
        .await
        .unwrap();

    let second = fx.reopen().await;
    assert_eq!(second.signing_keys().await.unwrap(), set);
    let read = second.consumer_secret(&key("moodle")).await.unwrap();
    assert!(read == Some(secret("moodle-secret-0123456")));

    // And later writes of the first are seen by the second (it has no cache, or a file).
    let mut rotated = set.clone();
    rotated
        .rotate(datetime!(2026-03-01 12:00:00 UTC) + Duration::days(1))
        .unwrap();
    first.save_signing_keys(&rotated).await.unwrap();
    first.remove_consumer_secret(&key("moodle")).await.unwrap();
    assert_eq!(second.signing_keys().await.unwrap(), rotated);
    assert_eq!(second.consumer_secret(&key("moodle")).await.unwrap(), None);
}

/// File key store specifics: what is left on disk.
#[cfg(unix)]
mod file_on_disk {
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    use lti_shared::ports::KeyStore;

    use super::{initialised_set, key, secret};
    use crate::support::KeyStoreFixture;

    /// Every entry of the folder, as (name, is a regular file, permission bits).
    fn listing(dir: &std::path::Path) -> Vec<(String, bool, u32)> {
        let mut entries: Vec<(String, bool, u32)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                let meta = std::fs::symlink_metadata(entry.path()).unwrap();
                (
                    entry.file_name().to_string_lossy().into_owned(),
                    meta.is_file(),
                    meta.permissions().mode() & 0o777,
                )
            })
            .collect();
        entries.sort();
        entries
    }

    async fn write_everything(keys: &dyn KeyStore) {
        keys.save_signing_keys(&initialised_set()).await.unwrap();
        keys.put_consumer_secret(&key("a"), &secret("a-secret-0123456789"))
            .await
            .unwrap();
        keys.put_consumer_secret(&key("b"), &secret("b-secret-0123456789"))
            .await
            .unwrap();
        keys.remove_consumer_secret(&key("a")).await.unwrap();
    }

    #[tokio::test]
    async fn key_file_after_writes_is_owner_only() {
        let fx = KeyStoreFixture::file().await;
        write_everything(fx.keys()).await;
        let dir: PathBuf = fx.dir().unwrap().to_owned();
        let files: Vec<_> = listing(&dir).into_iter().filter(|e| e.1).collect();
        assert_eq!(files.len(), 1, "expected exactly one key file: {files:?}");
        let (name, _, mode) = &files[0];
        assert_eq!(
            *mode, 0o600,
            "key file {name} has mode {mode:o}, expected 600 (owner read/write only)"
        );
    }

    #[tokio::test]
    async fn key_file_after_writes_leaves_no_temp_files() {
        let fx = KeyStoreFixture::file().await;
        write_everything(fx.keys()).await;
        let dir: PathBuf = fx.dir().unwrap().to_owned();
        let entries = listing(&dir);
        assert_eq!(
            entries.len(),
            1,
            "the folder should hold only the key file after writes: {entries:?}"
        );
        assert!(
            entries[0].1,
            "the only entry is not a regular file: {entries:?}"
        );
    }

    #[tokio::test]
    async fn key_file_after_reopen_keeps_owner_only_mode() {
        let fx = KeyStoreFixture::file().await;
        write_everything(fx.keys()).await;
        let again = fx.reopen().await;
        again
            .put_consumer_secret(&key("c"), &secret("c-secret-0123456789"))
            .await
            .unwrap();
        let entries = listing(fx.dir().unwrap());
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(entries[0].2, 0o600, "{entries:?}");
    }
}
