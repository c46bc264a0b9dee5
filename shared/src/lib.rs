//! The LTI core of the serverless LTI tool.
//!
//! Everything LTI lives here as plain code driven by typed inputs: protocol identifiers
//! ([`ids`]), the records the tool keeps ([`model`]), the tool's signing keys ([`keys`]),
//! the ports through which handlers reach storage ([`ports`]) and the adapters behind those
//! ports ([`store`], [`keystore`]). The Lambda functions in `functions/` and the `ltictl`
//! tool in `infra/` are thin shells around this crate.

pub mod ags;
pub mod binding;
pub mod catalog;
pub mod claims;
pub mod clock;
pub mod config;
pub mod deep_link;
pub mod delivery;
pub mod dynamic_registration;
pub mod export;
pub mod http;
pub mod ids;
pub mod keys;
pub mod keystore;
pub mod launch;
pub mod lifecycle;
pub mod lms_config;
pub mod login;
pub mod lti11;
pub mod model;
pub mod oauth1;
pub mod outbound;
pub mod outbox;
pub mod outcomes11;
pub mod pages;
pub mod platform_keys;
pub mod ports;
pub mod queue_sqs;
pub mod record;
pub mod registry_cache;
pub mod roles;
pub mod score;
pub mod secret;
pub mod session;
pub mod store;
pub mod tool;
pub mod view_pages;
pub mod views;
