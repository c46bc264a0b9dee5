//! The embedded store's data folder is private: the folder owner-only (0700), the database
//! and its WAL/shared-memory files and the key file owner-only (0600), also when the folder
//! already existed with open permissions (as `mkdir` leaves it under a usual umask).
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use lti_shared::adapters::keystore::file::FileKeyStore;
use lti_shared::adapters::store::embedded::EmbeddedStore;
use lti_shared::domain::ids::ConsumerKey;
use lti_shared::domain::keys::KeySet;
use lti_shared::domain::secret::ConsumerSecret;
use lti_shared::ports::KeyStore;
use time::macros::datetime;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn open_folder(dir: &Path) {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[tokio::test]
async fn data_folder_existing_open_folder_is_tightened_and_files_are_owner_only() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    open_folder(&dir);
    assert_eq!(mode(&dir), 0o755, "the folder starts open");

    let _store = EmbeddedStore::open(&dir).unwrap();
    assert_eq!(mode(&dir), 0o700);
    let db = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect::<Vec<_>>();
    assert!(!db.is_empty(), "the database was created");
    for file in &db {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }

    let keys = FileKeyStore::open(&dir).unwrap();
    let mut set = KeySet::default();
    set.init(datetime!(2026-03-01 12:00:00 UTC)).unwrap();
    keys.save_signing_keys(&set).await.unwrap();
    keys.put_consumer_secret(
        &ConsumerKey::parse("moodle").unwrap(),
        &ConsumerSecret::new("a-secret-of-some-length"),
    )
    .await
    .unwrap();
    assert_eq!(mode(&dir.join("keys.json")), 0o600);
}

#[test]
fn data_folder_existing_database_with_open_permissions_is_tightened() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("data");
    drop(EmbeddedStore::open(&dir).unwrap());
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    open_folder(&dir);
    let _store = EmbeddedStore::open(&dir).unwrap();
    assert_eq!(mode(&dir), 0o700);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}

#[test]
fn data_folder_new_folder_is_owner_only() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("a").join("b");
    let _store = EmbeddedStore::open(&dir).unwrap();
    assert_eq!(mode(&dir), 0o700);
}
