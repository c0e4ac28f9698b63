//! tailgrant: an offline compiler, validator and linter for Tailscale tailnet policy files.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod assertions;
pub mod check;
pub mod codes;
pub mod compile;
pub mod diagnostic;
pub mod diff;
pub mod explain;
pub mod fmt;
pub mod fsutil;
pub mod hujson;
pub mod lint;
#[cfg(feature = "lsp")]
pub mod lsp;
pub mod policy;
pub mod policytest;
pub mod reference;
#[cfg(feature = "relay")]
pub mod relay;
pub mod report;
pub mod resolve;
pub mod schema;
pub mod selector;
pub mod span;
pub mod table;
pub mod tailnet;
