//! tailgrant: an offline compiler, validator and linter for Tailscale tailnet policy files.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod codes;
pub mod diagnostic;
pub mod engine;
pub mod fsutil;
pub mod model;
#[cfg(feature = "relay")]
pub mod relay;
pub mod report;
pub mod span;
pub mod syntax;
pub mod tools;
pub mod validate;
pub mod vocab;
