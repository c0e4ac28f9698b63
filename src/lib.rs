//! tailgrant: an offline compiler, validator and linter for Tailscale tailnet policy files.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod check;
pub mod diagnostic;
pub mod fmt;
pub mod fsutil;
pub mod hujson;
pub mod lint;
pub mod policy;
pub mod schema;
pub mod selector;
pub mod span;
pub mod tailnet;
