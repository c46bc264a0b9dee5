//! Test support for the serverless LTI tool's cross-crate integration tests.
//!
//! The tests themselves live in `tests/` and drive real HTTP endpoints over loopback sockets.
//! This library holds what they share:
//!
//! - [`platform`]: a fake LTI 1.3 platform (an LMS such as Canvas or Moodle, reduced to what
//!   a launch needs) that serves its JWK set and an OIDC authorization endpoint, signs
//!   id_tokens from a launch template, and drives the tool's login and launch endpoints the
//!   way a browser would, with hooks to tamper with every part of the launch.
//! - [`ags`]: a loopback Assignment and Grade Services 2.0 platform (token endpoint verifying
//!   JWT client assertions, line items, scores, results) with fault injection, for tests of
//!   grade delivery.
//! - [`outcomes11_service`]: a loopback LTI 1.1 Basic Outcomes service with the same fault
//!   injection.
//! - [`faults`] and [`delivery`]: the fault plans both services share, and the report of
//!   what was delivered, lost or duplicated.
//! - [`registration_platform`]: a platform's side of LTI Dynamic Registration (OpenID
//!   configuration, registration endpoint with a registration token).
//! - [`tool`]: the tool itself on a loopback port with fresh data, and an independent LTI 1.1
//!   signer and verifier (Python's oauthlib).
//! - [`consumer11`]: an LTI 1.1 consumer's side of Content-Item selection (a course page that
//!   posts the request into a frame, and the `content_item_return_url`), for the browser.
//! - [`browser`]: headless Chromium driven by chromedriver, for launches in the platform's
//!   iframe (`tests/browser.rs`, `tests/deep_linking_browser.rs`).
//!
//! This crate is never shipped, so panicking on a broken test setup is the right answer here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod ags;
pub mod browser;
pub mod consumer11;
pub mod delivery;
pub mod faults;
pub mod grades;
pub mod outcomes11_service;
pub mod platform;
pub mod registration_platform;
mod server;
pub mod tool;
