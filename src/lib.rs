//! tailgrant: an offline compiler, validator and linter for Tailscale tailnet policy files.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod diagnostic;
pub mod hujson;
#[cfg(feature = "relay")]
pub mod relay;
pub mod span;
