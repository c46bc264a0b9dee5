//! The implementations of [`crate::ports`]: storage (DynamoDB and an embedded SQLite file),
//! key stores (Secrets Manager and a local file, with key rotation), the SQS retry queue, the
//! registry cache, and the outbound HTTP clients (platform key sets, AGS/NRPS, Basic Outcomes).

pub mod ags_client;
pub mod basic_outcomes;
pub mod grade_services;
pub mod http_client;
pub mod jwks_client;
pub mod keystore;
pub mod queue_polled;
pub mod queue_sqs;
pub mod registrar;
pub mod registry_cache;
pub mod store;
