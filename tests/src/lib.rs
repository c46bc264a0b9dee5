//! Test support for the serverless LTI tool's cross-crate integration tests.
//!
//! The tests themselves live in `tests/` and drive real HTTP endpoints over loopback sockets.
//! This library holds what they share:
//!
//! - [`platform`]: a fake LTI 1.3 platform (an LMS such as Canvas or Moodle, reduced to what
//!   a launch needs) that serves its JWK set and an OIDC authorization endpoint, signs
//!   id_tokens from a launch template, and drives the tool's login and launch endpoints the
//!   way a browser would, with hooks to tamper with every part of the launch.
//! - [`registration_platform`]: a platform's side of LTI Dynamic Registration (OpenID
//!   configuration, registration endpoint with a registration token).
//! - [`tool`]: the tool itself on a loopback port with fresh data, and an independent LTI 1.1
//!   signer (Python's oauthlib).
//!
//! This crate is never shipped, so panicking on a broken test setup is the right answer here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod platform;
pub mod registration_platform;
pub mod tool;
