//! LTI 1.3 / LTI Advantage as protocol code: the id_token claims, OIDC login initiation, the
//! launch verifier, deep linking, dynamic registration, the tool's session token and the AGS /
//! NRPS wire types. No HTTP client and no storage: what they need comes through [`crate::ports`].

pub mod ags;
pub mod claims;
pub mod deep_link;
pub mod dynamic_registration;
pub mod launch;
pub mod lms_config;
pub mod login;
pub mod registration_update;
pub mod session;
