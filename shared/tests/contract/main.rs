//! The adapter contract suite: every storage port's behaviour, written once and run against
//! both of its adapters.
//!
//! Each contract is an `async fn` taking a fixture for the port. The `store_contracts!` and
//! `keystore_contracts!` macros turn each into two tests, one per adapter:
//! - `…::embedded::<name>` (SQLite in a temporary folder) and `…::dynamo::<name>` (a fresh
//!   table on the local DynamoDB-compatible server);
//! - `…::file::<name>` (key file in a temporary folder) and `…::secrets_manager::<name>`
//!   (a fresh secret on the local Secrets Manager-compatible server).
//!
//! The cloud tests need `AWS_ENDPOINT_URL` (run `./infra/test.sh`, which starts moto and
//! exports it); without it they fail rather than pass silently. Every cloud test makes its own
//! uniquely named table or secret, so the tests can run in parallel.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[macro_use]
mod support;

mod catalog;
mod consumers;
mod deployments;
mod items;
mod keystore;
mod lifecycle;
mod outbox;
mod platforms;
mod records;
