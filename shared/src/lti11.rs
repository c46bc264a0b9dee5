//! LTI 1.1 as protocol code: OAuth 1.0a request signing ([`oauth1`]), the
//! `basic-lti-launch-request` verifier ([`launch`]), Content-Item selection
//! ([`content_item`]) and the Basic Outcomes POX codec ([`pox`]).
//! No HTTP client and no storage: what they need comes through [`crate::ports`].

pub mod content_item;
pub mod launch;
pub mod oauth1;
pub mod pox;
