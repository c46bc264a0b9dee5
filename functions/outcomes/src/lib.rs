//! The `outcomes` function: the score API the activity calls, and the consumer of the grade
//! retry queue.
//!
//! - `POST /outcomes` with `Authorization: Bearer <lti_session>` and an AGS-shaped JSON score
//!   (AGS 2.0 §3.4): the score is checked, written to the attempt together with an outbox
//!   record in one atomic write, and delivery is tried at once. The answer is `202` with
//!   `{"id", "status"}` (`delivered`, `pending` or `failed`).
//! - `GET /outcomes/{id}` with the same token: the delivery's status, tries and last error.
//! - SQS events (the retry queue): each message names a delivery to try again
//!   ([`Outcomes::handle_queue`]).
//!
//! The token is the session the launch handed to the activity ([`lti_shared::lti13::session`]); it
//! only reaches its own attempt's grades. Browsers may call the API from the activity's
//! origin: bearer tokens are not ambient credentials, so CORS allows any origin.

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use lti_shared::adapters::queue_sqs::RetryMessage;
use lti_shared::app::delivery::{Deliverer, SubmitError};
use lti_shared::compose::ports::Ports;
use lti_shared::domain::clock::Clock;
use lti_shared::domain::ids::DeliveryId;
use lti_shared::domain::model::AttemptKey;
use lti_shared::domain::outbox::Delivery;
use lti_shared::domain::score::ScoreInput;
use lti_shared::domain::tool::ToolUrls;
use lti_shared::lti13::session::{self, SessionClaims};
use lti_shared::ports::{CourseRecords, KeyStore};
use lti_shared::web::error::{Flow, ScoreRefusal, Surface, WebError, respond};
use lti_shared::web::http::{json_response, request_id};
use serde::{Deserialize, Serialize};

/// The path of the score API.
pub const OUTCOMES_PATH: &str = "/outcomes";
/// The largest score body accepted.
pub const MAX_BODY: usize = 64 * 1024;

/// The handler, holding the ports it uses.
pub struct Outcomes {
    deliverer: Arc<Deliverer>,
    records: Arc<dyn CourseRecords>,
    keys: Arc<dyn KeyStore>,
    clock: Arc<dyn Clock>,
    tool: ToolUrls,
}

/// What `GET /outcomes/{id}` shows (and `POST` answers with).
#[derive(Debug, Serialize)]
pub struct DeliveryView {
    /// The delivery id.
    pub id: String,
    /// `pending`, `delivered`, `failed` or `dead`.
    pub status: &'static str,
    /// The score sent (after the passback policy).
    #[serde(rename = "scoreGiven")]
    pub score_given: f64,
    /// Its maximum.
    #[serde(rename = "scoreMaximum")]
    pub score_maximum: f64,
    /// The score's timestamp.
    pub timestamp: String,
    /// Tries so far.
    pub tries: u32,
    /// When the next try is due, while pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_try_at: Option<String>,
    /// The last error, while not delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the platform accepted it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<String>,
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> Self {
        let pending = d.status == lti_shared::domain::outbox::DeliveryStatus::Pending;
        Self {
            id: d.id.to_string(),
            status: d.status.as_str(),
            score_given: d.score.given,
            score_maximum: d.score.maximum,
            timestamp: lti_shared::domain::score::ags_timestamp(d.score.timestamp),
            tries: d.tries,
            next_try_at: pending.then(|| rfc3339(d.next_try_at)),
            last_error: d.last_error.clone(),
            delivered_at: d.delivered_at.map(rfc3339),
        }
    }
}

fn with_cors(mut response: Response<Body>) -> Response<Body> {
    let headers = response.headers_mut();
    for (name, value) in [
        ("access-control-allow-origin", "*"),
        ("access-control-allow-methods", "GET, POST, OPTIONS"),
        (
            "access-control-allow-headers",
            "authorization, content-type",
        ),
        ("access-control-max-age", "600"),
    ] {
        headers.insert(name, http::HeaderValue::from_static(value));
    }
    response
}

/// The SQS event the queue hands the function (only the fields used).
#[derive(Debug, Deserialize)]
pub struct SqsEvent {
    /// The messages.
    #[serde(rename = "Records")]
    pub records: Vec<SqsRecord>,
}

/// One SQS message.
#[derive(Debug, Deserialize)]
pub struct SqsRecord {
    /// The message id (reported back for a partial batch failure).
    #[serde(rename = "messageId")]
    pub message_id: String,
    /// The body: a [`RetryMessage`].
    pub body: String,
}

/// The answer to an SQS batch: the messages to deliver again (partial batch response).
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct BatchResponse {
    /// Messages that failed.
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<BatchItemFailure>,
}

/// One failed message.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct BatchItemFailure {
    /// Its message id.
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

impl Outcomes {
    /// A handler over its ports.
    pub fn new(
        deliverer: Arc<Deliverer>,
        records: Arc<dyn CourseRecords>,
        keys: Arc<dyn KeyStore>,
        clock: Arc<dyn Clock>,
        tool: ToolUrls,
    ) -> Self {
        Self {
            deliverer,
            records,
            keys,
            clock,
            tool,
        }
    }

    /// The deliverer (for the local retry loop).
    pub fn deliverer(&self) -> &Arc<Deliverer> {
        &self.deliverer
    }

    /// Answers one HTTP request. Never fails: every outcome is a response.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let id = request_id(&req);
        let response = match self.respond(&req, &id).await {
            Ok(response) => response,
            Err(refusal) => respond(&refusal, &id, Surface::Json),
        };
        with_cors(response)
    }

    async fn respond(&self, req: &Request, id: &str) -> Result<Response<Body>, WebError> {
        let path = req.uri().path();
        if req.method() == http::Method::OPTIONS {
            let mut response = Response::new(Body::Empty);
            *response.status_mut() = http::StatusCode::NO_CONTENT;
            return Ok(response);
        }
        if path == OUTCOMES_PATH || path == "/outcomes/" {
            if req.method() != http::Method::POST {
                return Err(WebError::MethodNotAllowed("POST"));
            }
            let claims = self.session(req).await?;
            return self.submit(req, id, &claims).await;
        }
        if let Some(rest) = path.strip_prefix("/outcomes/") {
            if req.method() != http::Method::GET {
                return Err(WebError::MethodNotAllowed("GET"));
            }
            let claims = self.session(req).await?;
            return self.show(rest, &claims).await;
        }
        Err(WebError::NotFound)
    }

    async fn session(&self, req: &Request) -> Result<SessionClaims, WebError> {
        let token = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(ScoreRefusal::MissingToken)?;
        let keys = self.keys.signing_keys().await.map_err(|error| {
            WebError::unavailable(Flow::Api, "cannot read the signing keys", &error)
        })?;
        session::verify_for_tool(token, &keys, &self.tool.origin_string(), self.clock.now())
            .map_err(WebError::from)
    }

    fn attempt_key(claims: &SessionClaims) -> Result<AttemptKey, WebError> {
        match (&claims.user_id, &claims.attempt_id) {
            (Some(user_id), Some(attempt_id)) => Ok(AttemptKey {
                scope: claims.platform.clone(),
                resource_link_id: claims.resource_link_id.clone(),
                user_id: user_id.clone(),
                attempt_id: attempt_id.clone(),
            }),
            _ => Err(ScoreRefusal::AnonymousLaunch.into()),
        }
    }

    async fn submit(
        &self,
        req: &Request,
        id: &str,
        claims: &SessionClaims,
    ) -> Result<Response<Body>, WebError> {
        let key = Self::attempt_key(claims)?;
        let body: &[u8] = req.body().as_ref();
        if body.len() > MAX_BODY {
            return Err(ScoreRefusal::PayloadTooLarge.into());
        }
        let input: ScoreInput = serde_json::from_slice(body)
            .map_err(|e| ScoreRefusal::InvalidJson(first_line(&e.to_string()).to_owned()))?;
        if let Some(attempt) = &input.attempt_id
            && attempt != key.attempt_id.as_str()
        {
            return Err(ScoreRefusal::WrongAttempt.into());
        }
        let unavailable = |error: lti_shared::ports::StoreError| {
            WebError::unavailable(Flow::Api, "score API storage failure", &error)
        };
        let attempt = self
            .records
            .attempt(&key)
            .await
            .map_err(unavailable)?
            .ok_or(ScoreRefusal::AttemptNotFound)?;
        let link = self
            .records
            .resource_link(&key.scope, &key.resource_link_id)
            .await
            .map_err(unavailable)?
            .ok_or(ScoreRefusal::ResourceLinkNotFound)?;
        let now = lti_shared::domain::score::truncate_to_millis(self.clock.now());
        let score = input
            .validate(link.grading.extra_credit, now)
            .map_err(|e| ScoreRefusal::InvalidScore {
                field: e.field(),
                reason: e.to_string(),
            })?;
        match self.deliverer.submit(&attempt, &link, score).await {
            Ok(delivery) => {
                tracing::info!(request_id = id, delivery = %delivery.id, status = delivery.status.as_str(), "score recorded");
                Ok(json_response(
                    202,
                    &DeliveryView::from(&delivery),
                    "no-store",
                ))
            }
            Err(SubmitError::Store(error)) => Err(unavailable(error)),
            Err(error) => Err(error.into()),
        }
    }

    async fn show(&self, rest: &str, claims: &SessionClaims) -> Result<Response<Body>, WebError> {
        let not_found = || WebError::from(ScoreRefusal::GradeNotFound);
        let key = Self::attempt_key(claims)?;
        let delivery_id = DeliveryId::parse(rest).map_err(|_| not_found())?;
        let delivery = self
            .records
            .delivery(&delivery_id)
            .await
            .map_err(|error| WebError::unavailable(Flow::Api, "score API storage failure", &error))?
            .filter(|d| d.attempt == key)
            .ok_or_else(not_found)?;
        Ok(json_response(
            200,
            &DeliveryView::from(&delivery),
            "no-store",
        ))
    }

    /// Handles a batch from the retry queue: each message's delivery is tried (in its
    /// channel's order). A message whose delivery could not even be looked at (storage down)
    /// is reported back so SQS delivers it again; everything else is done with, because the
    /// deliverer has already queued its own retry or dead-lettered it.
    pub async fn handle_queue(&self, event: SqsEvent) -> BatchResponse {
        let mut response = BatchResponse::default();
        for record in event.records {
            let message: RetryMessage = match serde_json::from_str(&record.body) {
                Ok(message) => message,
                Err(error) => {
                    tracing::error!(message_id = record.message_id, %error, "unreadable retry message dropped");
                    continue;
                }
            };
            if let Err(error) = self.deliverer.deliver(&message.delivery_id).await {
                tracing::error!(message_id = record.message_id, delivery = %message.delivery_id, %error, "retry failed; SQS will redeliver");
                response.batch_item_failures.push(BatchItemFailure {
                    item_identifier: record.message_id,
                });
            }
        }
        response
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

#[async_trait::async_trait]
impl lti_shared::web::serve::Handler for Outcomes {
    async fn handle(&self, req: Request) -> Response<Body> {
        Outcomes::handle(self, req).await
    }
}

impl Outcomes {
    /// The handler as every deployment wires it: `deliverer` (built by
    /// [`Ports::deliverer`]) and the records, keys and clock from `ports`, URLs under `tool`.
    pub fn from_ports(ports: &Ports, deliverer: Arc<Deliverer>, tool: ToolUrls) -> Self {
        Self::new(
            deliverer,
            ports.store.clone(),
            ports.keys.clone(),
            ports.clock.clone(),
            tool,
        )
    }
}
