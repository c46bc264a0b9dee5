//! The LTI core of the serverless LTI tool, in layers that import only downwards:
//!
//! | layer | owns | may use |
//! |---|---|---|
//! | [`domain`] | identifiers, secrets, clock, records, roles, scores, catalog, keys, audit entries, launch facts | nothing above |
//! | [`ports`] | every trait through which the core reaches storage, keys, queues and platforms | `domain` |
//! | [`lti13`], [`lti11`] | the protocols: claims, verifiers, login, deep linking, registration, OAuth 1.0a, POX and AGS/NRPS wire types | `domain`, `ports` |
//! | [`app`] | use cases: record a launch, deliver scores, lifecycle, export, views | the layers above, through ports |
//! | [`adapters`] | DynamoDB, SQLite, Secrets Manager, files, SQS, the outbound HTTP clients | `domain`, `ports`, protocol codecs |
//! | [`web`] | the HTTP edge: request parsing, browser binding, pages, the one error mapping, routes, the Lambda serve wrapper | everything below |
//! | [`compose`] | the composition root: typed configuration and the ports built from it | everything |
//!
//! Protocol and domain code never imports `lambda_http`, an AWS SDK, `reqwest` or `rusqlite`.
//! A request arrives at a function's handler (`functions/<name>`), which parses it with
//! [`web`], runs a verifier of [`lti13`] or [`lti11`], a use case of [`app`], and answers
//! through [`web::error`]. The functions' `main.rs` and `ltictl serve` build their handlers
//! from [`compose`]; [`web::routes`] lists which path goes to which function.

pub mod adapters;
pub mod app;
pub mod compose;
pub mod domain;
pub mod lti11;
pub mod lti13;
pub mod ports;
pub mod web;
