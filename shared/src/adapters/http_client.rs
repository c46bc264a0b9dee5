//! Outbound HTTP clients built on first use.
//!
//! Building a `reqwest` client loads the system's trusted root certificates (every file in
//! `/etc/ssl/certs` on Linux), which took about 15 ms per client on the build machine
//! (`infra/coldstart.sh`). A function builds its clients at cold start but most invocations
//! never call a platform (launches find the platform's keys in the cache, most score posts are
//! answered before any retry), so the clients here are built when the first request needs
//! them, once per warm function.

use std::sync::OnceLock;

/// A `reqwest` client configured up front and built on first use.
pub struct LazyClient {
    configure: Box<dyn Fn() -> reqwest::ClientBuilder + Send + Sync>,
    client: OnceLock<Result<reqwest::Client, String>>,
}

impl std::fmt::Debug for LazyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyClient")
            .field("built", &self.client.get().is_some())
            .finish_non_exhaustive()
    }
}

impl LazyClient {
    /// A client that `configure` sets up when it is first needed.
    pub fn new(configure: impl Fn() -> reqwest::ClientBuilder + Send + Sync + 'static) -> Self {
        Self {
            configure: Box::new(configure),
            client: OnceLock::new(),
        }
    }

    /// The client, built on the first call. A failure (the TLS stack cannot be initialised)
    /// is kept and returned to every caller, as the reason a request could not be made.
    pub fn get(&self) -> Result<&reqwest::Client, &str> {
        self.client
            .get_or_init(|| (self.configure)().build().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lazy_client_is_built_once_on_first_use() {
        let client = LazyClient::new(reqwest::Client::builder);
        assert!(format!("{client:?}").contains("built: false"));
        let first: *const reqwest::Client = client.get().unwrap();
        let second: *const reqwest::Client = client.get().unwrap();
        assert_eq!(first, second);
        assert!(format!("{client:?}").contains("built: true"));
    }
}
