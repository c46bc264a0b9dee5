//! The embedded key store: `keys.json` in the data folder, created owner-only (mode 0600).
//!
//! Every read goes to the file, so `ltictl keys rotate` in one terminal is seen at once by
//! `ltictl serve` in another. Writes replace the file atomically (a private temporary file in
//! the same folder, then a rename), so a crash never leaves half a key file.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::KeyDocument;
use crate::domain::ids::ConsumerKey;
use crate::domain::keys::KeySet;
use crate::domain::secret::ConsumerSecret;
use crate::ports::{KeyStore, StoreError};

/// The key file's name inside the data folder.
pub const KEY_FILE: &str = "keys.json";

/// Creates `dir` (and parents) if needed, owner-only (0700) on Unix. A folder that already
/// exists and that others can read or enter is tightened to 0700; one the tool cannot tighten
/// (another user's) is refused, because keys and learners' records would sit in it.
pub fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    if dir.is_dir() {
        return make_private(dir, 0o700);
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| {
        StoreError::unavailable(
            format!(
                "cannot create the data folder {}: check that its parent is writable or pass \
                 another --data-dir",
                dir.display()
            ),
            e,
        )
    })?;
    make_private(dir, 0o700)
}

/// Makes `path` (a folder or a file of the data folder) owner-only with `mode` when group or
/// others have any access; a no-op elsewhere than Unix.
pub fn make_private(path: &Path, mode: u32) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let refuse = |e: std::io::Error| {
            StoreError::unavailable(
                format!(
                    "{} is readable by other users and cannot be made owner-only ({mode:o}); \
                     fix its permissions (chmod {mode:o}) or pass another --data-dir",
                    path.display()
                ),
                e,
            )
        };
        let metadata = std::fs::metadata(path).map_err(refuse)?;
        if metadata.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .map_err(refuse)?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// Keys and consumer secrets in a local file.
#[derive(Debug)]
pub struct FileKeyStore {
    path: PathBuf,
    write_lock: tokio::sync::Mutex<()>,
}

impl FileKeyStore {
    /// Uses `dir/keys.json`, creating the folder if needed (the file appears on first write).
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        create_private_dir(dir)?;
        Ok(Self {
            path: dir.join(KEY_FILE),
            write_lock: tokio::sync::Mutex::new(()),
        })
    }

    async fn load(&self) -> Result<KeyDocument, StoreError> {
        match tokio::fs::read_to_string(&self.path).await {
            Ok(text) => KeyDocument::parse(&text, &self.path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(KeyDocument::default()),
            Err(e) => Err(StoreError::unavailable(
                format!("cannot read the key file {}", self.path.display()),
                e,
            )),
        }
    }

    async fn modify(
        &self,
        change: impl FnOnce(&mut KeyDocument) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let _guard = self.write_lock.lock().await;
        let mut doc = self.load().await?;
        change(&mut doc)?;
        let text = doc.render()?;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || write_private(&path, &text))
            .await
            .map_err(|e| StoreError::unavailable("the key file task stopped", e))?
    }
}

/// Writes `text` to `path` atomically with owner-only permissions.
fn write_private(path: &Path, text: &str) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let fail = |e: std::io::Error| {
        StoreError::unavailable(
            format!(
                "cannot write the key file {}: check that the folder is writable",
                path.display()
            ),
            e,
        )
    };
    // tempfile creates the file with mode 0600 on Unix.
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    file.write_all(text.as_bytes()).map_err(fail)?;
    file.as_file().sync_all().map_err(fail)?;
    file.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

#[async_trait]
impl KeyStore for FileKeyStore {
    async fn signing_keys(&self) -> Result<KeySet, StoreError> {
        Ok(self.load().await?.signing_keys)
    }

    async fn save_signing_keys(&self, keys: &KeySet) -> Result<(), StoreError> {
        self.modify(|doc| {
            doc.signing_keys = keys.clone();
            Ok(())
        })
        .await
    }

    async fn consumer_secret(
        &self,
        key: &ConsumerKey,
    ) -> Result<Option<ConsumerSecret>, StoreError> {
        Ok(self.load().await?.consumer_secret(key))
    }

    async fn put_consumer_secret(
        &self,
        key: &ConsumerKey,
        secret: &ConsumerSecret,
    ) -> Result<(), StoreError> {
        self.modify(|doc| {
            doc.consumer_secrets
                .insert(key.to_string(), secret.expose().to_owned());
            Ok(())
        })
        .await
    }

    async fn remove_consumer_secret(&self, key: &ConsumerKey) -> Result<(), StoreError> {
        self.modify(|doc| doc.remove_consumer_secret(key)).await
    }
}
