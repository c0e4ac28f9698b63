//! Tests and benchmarks only: tailgrant's decision table checked against Tailscale's Rust
//! packet filter (`ts_packetfilter`, `ts_bart_packetfilter`) and Go's filter rules.
//!
//! - `tests/differential.rs`: the per-node packet filters that tailgrant compiles (for
//!   generated policies and tailnets) and the filters in the conformance captures are loaded
//!   into tailscale-rs; every generated network question (source, destination, protocol,
//!   port) must get the table's answer, except for the divergences of tailscale-rs from
//!   Go's filter listed in `tests/support/mod.rs`, each proved to be one.
//! - `benches/filter.rs`: the table's network query against tailscale-rs's filter.
//!
//! Run with `cargo test -p tailgrant-oracle` and
//! `cargo bench -p tailgrant-oracle --bench filter`.
