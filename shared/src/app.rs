//! Use cases over the ports: recording a launch, delivering scores, the data lifecycle
//! (export, erasure, retention), CSV export and the course views' logic. They see storage and
//! platforms only through [`crate::ports`], never through an adapter.

pub mod delivery;
pub mod export;
pub mod invitations;
pub mod lifecycle;
pub mod migrate;
pub mod record;
pub mod views;
