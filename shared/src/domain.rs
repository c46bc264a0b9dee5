//! Domain types: identifiers, secrets, time, the records the tool keeps, roles, scores, the
//! activity catalog and the tool's own keys. Plain data and rules, no I/O and no protocol
//! wire format; every other layer builds on these.

pub mod audit;
pub mod catalog;
pub mod clock;
pub mod ids;
pub mod keys;
pub mod launch_facts;
pub mod model;
pub mod oidc;
pub mod outbox;
pub mod platform_key;
pub mod record_key;
pub mod roles;
pub mod score;
pub mod secret;
pub mod substitution;
pub mod text;
pub mod tool;
