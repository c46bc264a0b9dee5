//! The composition root: typed configuration read once at cold start ([`config`]) and the
//! ports built from it, on AWS or on the embedded store.

pub mod aws;
pub mod config;
pub mod ports;
