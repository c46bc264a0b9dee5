//! Key store adapters for [`crate::ports::KeyStore`].
//!
//! Both keep one JSON document:
//!
//! ```json
//! { "signing_keys": { "keys": [ { "kid": "…", "kty": "RSA", "alg": "RS256", "use": "sig",
//!                                  "n": "…", "e": "AQAB", "status": "current",
//!                                  "created_at": "…", "pkcs8": "…" } ] },
//!   "consumer_secrets": { "<consumer key>": "<secret>" } }
//! ```
//!
//! - [`secrets_manager`]: the document is the secret's `AWSCURRENT` value.
//! - [`file`](mod@file): the document is `keys.json` in the data folder, readable by its owner only.
//!
//! [`rotation`] prepares and checks the document of a Secrets Manager rotation.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::ids::ConsumerKey;
use crate::domain::keys::KeySet;
use crate::domain::secret::ConsumerSecret;
use crate::ports::StoreError;

pub mod file;
pub mod rotation;
pub mod secrets_manager;

/// The key store document, as stored. Private so that secrets only leave it through the
/// [`crate::ports::KeyStore`] methods.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct KeyDocument {
    #[serde(default)]
    signing_keys: KeySet,
    #[serde(default)]
    consumer_secrets: BTreeMap<String, String>,
}

impl KeyDocument {
    fn parse(text: &str, source: &str) -> Result<Self, StoreError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        // The parse error may quote the document, which holds secrets: keep only its position.
        serde_json::from_str(text).map_err(|e| {
            StoreError::Corrupt(format!(
                "{source} is not a valid key document (line {}, column {})",
                e.line(),
                e.column()
            ))
        })
    }

    fn render(&self) -> Result<String, StoreError> {
        serde_json::to_string_pretty(self)
            .map_err(|_| StoreError::Corrupt("the key document could not be written".into()))
    }

    fn consumer_secret(&self, key: &ConsumerKey) -> Option<ConsumerSecret> {
        self.consumer_secrets
            .get(key.as_str())
            .map(|s| ConsumerSecret::new(s.clone()))
    }

    fn remove_consumer_secret(&mut self, key: &ConsumerKey) -> Result<(), StoreError> {
        self.consumer_secrets
            .remove(key.as_str())
            .map(drop)
            .ok_or_else(|| StoreError::NotFound(format!("secret of consumer {key}")))
    }
}
