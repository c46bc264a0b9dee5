//! The `jwks` function: the tool's public signing keys as a JWK set (Security Framework §6.3).
//!
//! Platforms fetch this to verify what the tool signs: client assertions for AGS/NRPS tokens
//! (Security Framework §4.1) and deep-linking responses (Deep Linking 2.0 §4.2). It serves the
//! current key, the next key (so a rotation never surprises a platform's cache) and recently
//! retired keys, with only the public members `kty`, `kid`, `alg`, `use`, `n`, `e`.

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use lti_shared::compose::ports::Ports;
use lti_shared::domain::clock::Clock;
use lti_shared::ports::KeyStore;
use lti_shared::web::error::{Flow, Surface, WebError, respond};
use lti_shared::web::http::{json_response, request_id};

/// `Cache-Control` of the key set. Platforms and CloudFront may keep it for an hour: the next
/// key is published a whole rotation before it signs, so a cached set always verifies.
pub const CACHE_CONTROL: &str = "public, max-age=3600";

/// The handler, holding the ports it uses.
pub struct Jwks {
    keys: Arc<dyn KeyStore>,
    clock: Arc<dyn Clock>,
}

impl Jwks {
    /// A handler reading keys from `keys`, with time from `clock`.
    pub fn new(keys: Arc<dyn KeyStore>, clock: Arc<dyn Clock>) -> Self {
        Self { keys, clock }
    }

    /// Answers one request. Never fails: every outcome is a response.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let id = request_id(&req);
        match self.respond(&req, &id).await {
            Ok(response) => response,
            Err(error) => respond(&error, &id, Surface::Json),
        }
    }

    async fn respond(&self, req: &Request, id: &str) -> Result<Response<Body>, WebError> {
        let head = match *req.method() {
            http::Method::GET => false,
            http::Method::HEAD => true,
            _ => return Err(WebError::MethodNotAllowed("GET")),
        };
        let keys = self.keys.signing_keys().await.map_err(|error| {
            WebError::unavailable(Flow::Api, "cannot read the signing keys", &error)
        })?;
        let published = keys.public_jwks(self.clock.now());
        if published.keys.is_empty() {
            tracing::warn!(
                request_id = id,
                "no signing keys to publish; run `ltictl keys init`"
            );
        }
        let mut response = json_response(200, &published, CACHE_CONTROL);
        if head {
            *response.body_mut() = Body::Empty;
        }
        Ok(response)
    }
}

#[async_trait::async_trait]
impl lti_shared::web::serve::Handler for Jwks {
    async fn handle(&self, req: Request) -> Response<Body> {
        Jwks::handle(self, req).await
    }
}

impl Jwks {
    /// The handler as every deployment wires it: the key store and clock from `ports`.
    pub fn from_ports(ports: &Ports) -> Self {
        Self::new(ports.keys.clone(), ports.clock.clone())
    }
}
