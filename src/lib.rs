//! tailgrant: an offline compiler, validator and linter for Tailscale tailnet policy files,
//! a grant engine, and a peer relay that asks it on every allocation.
//!
//! The library is a pipeline in which data flows one way and each stage's output is its own
//! type (ARCHITECTURE.md in the repository walks through it):
//!
//! | stage | module | output |
//! |---|---|---|
//! | text to tree | [`syntax::hujson`] | a lossless tree with byte spans |
//! | tree to model | [`model::policy`] | [`model::policy::Policy`], each value [`span::Spanned`] |
//! | the control plane's verdict | [`validate`] | [`validate::Report`]: [`diagnostic::Findings`] and, when valid, a [`model::Validated`] |
//! | the grant engine | [`engine::compile`], [`engine::table`] | per-node packet filters; the [`engine::table::DecisionTable`] |
//! | tools | [`tools`] | diffs, explanations, the JSON Schema, sidecar assertions |
//! | the relay | `relay` (features `relay-core`, `relay`) | the peer-relay protocol core and its daemon |
//!
//! Below every stage sit [`span`], [`codes`] (the registry of diagnostic codes),
//! [`diagnostic`], [`vocab`] (Tailscale's names: capabilities, node attributes, protocols)
//! and [`fsutil`] (bounded reads, atomic writes). The core does no I/O and never prints.
//!
//! # Check a policy
//!
//! [`validate::check_text`] gives Tailscale's verdict, with every error at its place and the
//! control plane's own message, and the lints on top:
//!
//! ```
//! use tailgrant::validate::{check_text, Options};
//!
//! let text = r#"{
//!   // CI runners may use the EU relays.
//!   "tagOwners": {"tag:ci": [], "tag:relay-eu": []},
//!   "grants": [{"src": ["tag:ci"], "dst": ["tag:relay-eu"],
//!               "app": {"tailscale.com/cap/relay": []}}],
//! }"#;
//! let report = check_text(text, &Options::default());
//! assert!(report.is_valid());
//!
//! let typo = text.replace(r#""src": ["tag:ci"]"#, r#""src": ["tag:cii"]"#);
//! let report = check_text(&typo, &Options::default());
//! let error = &report.findings.errors[0];
//! assert_eq!(error.code, tailgrant::codes::TAG_NOT_FOUND);
//! assert_eq!(error.message, r#"src=tag not found: "tag:cii""#);
//! assert_eq!(&typo[error.span.start..error.span.end], r#""tag:cii""#);
//! ```
//!
//! # Compile against a tailnet
//!
//! Only a valid policy becomes a [`model::Validated`], and only that can be compiled, so no
//! packet filter is ever made from a policy Tailscale would reject. A tailnet lists the users
//! and nodes ([`model::tailnet::Tailnet`]):
//!
//! ```
//! use tailgrant::engine::compile::compile;
//! use tailgrant::model::tailnet::Tailnet;
//! use tailgrant::validate::{check_text, Options};
//!
//! let tailnet = Tailnet::from_text(r#"{
//!   "users": [{"id": 1, "name": "alice", "email": "alice@example.com"}],
//!   "nodes": {
//!     "laptop": {"ipv4": "100.64.0.1", "ipv6": "fd7a:115c:a1e0::1", "user": "alice", "tags": []},
//!     "web": {"ipv4": "100.64.0.10", "ipv6": "fd7a:115c:a1e0::a", "tags": ["tag:web"]}
//!   }
//! }"#)?;
//! let text = r#"{"tagOwners": {"tag:web": []},
//!   "grants": [{"src": ["alice@example.com"], "dst": ["tag:web"], "ip": ["tcp:443"]}]}"#;
//! let policy = check_text(text, &Options { tailnet: Some(&tailnet), ..Default::default() })
//!     .into_validated()
//!     .map_err(|findings| format!("{} errors", findings.errors.len()))?;
//!
//! // The packet filter Tailscale would push to `web`: alice's addresses, TCP port 443.
//! let compiled = compile(&policy, &tailnet);
//! let filter = serde_json::to_value(&compiled.nodes["web"].packet_filter_rules)?;
//! assert_eq!(filter[0]["SrcIPs"], serde_json::json!(["100.64.0.1", "fd7a:115c:a1e0::1"]));
//! assert_eq!(filter[0]["DstPorts"][0]["Ports"], serde_json::json!({"First": 443, "Last": 443}));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Ask the decision table
//!
//! The [`engine::table::DecisionTable`] is the compiled policy indexed for runtime questions:
//! a question costs a few lookups, however many grants there are. The relay asks it on every
//! allocation request:
//!
//! ```
//! use tailgrant::engine::table::{DecisionTable, RelayReason};
//! use tailgrant::model::tailnet::Tailnet;
//! use tailgrant::validate::{check_text, Options};
//!
//! let tailnet = Tailnet::from_text(r#"{"nodes": {
//!   "runner": {"ipv4": "100.64.0.5", "tags": ["tag:ci"]},
//!   "laptop": {"ipv4": "100.64.0.6", "tags": ["tag:dev"]},
//!   "relay-eu": {"ipv4": "100.64.0.20", "tags": ["tag:relay-eu"]}
//! }}"#)?;
//! let text = r#"{"tagOwners": {"tag:ci": [], "tag:dev": [], "tag:relay-eu": []},
//!   "grants": [{"src": ["tag:ci"], "dst": ["tag:relay-eu"],
//!               "app": {"tailscale.com/cap/relay": []}}]}"#;
//! let policy = check_text(text, &Options { tailnet: Some(&tailnet), ..Default::default() })
//!     .into_validated()
//!     .map_err(|findings| format!("{} errors", findings.errors.len()))?;
//! let table = DecisionTable::build(&policy, &tailnet);
//!
//! let (runner, laptop, relay) = (table.node("runner"), table.node("laptop"), table.node("relay-eu"));
//! let (runner, laptop, relay) = (runner.ok_or("runner")?, laptop.ok_or("laptop")?, relay.ok_or("relay")?);
//! let yes = table.may_allocate(runner, relay);
//! assert!(yes.allowed);
//! assert_eq!(yes.grants.len(), 1); // the grant that decided it, by its span
//! let no = table.may_allocate(laptop, relay);
//! assert!(!no.allowed);
//! assert_eq!(no.reason, RelayReason::NoRelayGrant);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod codes;
pub mod diagnostic;
pub mod engine;
pub mod fsutil;
#[cfg(feature = "lsp")]
pub mod lsp;
pub mod model;
#[cfg(feature = "relay-core")]
pub mod relay;
pub mod report;
pub mod span;
pub mod syntax;
pub mod tools;
pub mod validate;
pub mod vocab;
