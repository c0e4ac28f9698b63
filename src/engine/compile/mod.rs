//! The compiler: a policy and a tailnet to the per-node packet filters and capability maps
//! that Tailscale's control plane pushes (`tailcfg.FilterRule`, WhoIs `CapMap`).
//!
//! The steps are the control plane's: grants then ACL entries become `units::Unit`s; each
//! unit's sources are resolved once and its shared rules built; rules with the same sources
//! and protocols are merged at the place of the first one; each node then receives the rules
//! (and the destinations within them) that reach it, by its own addresses or its approved
//! subnet routes, plus its own `autogroup:self` and `via` rules.

mod headscale;
mod node;
pub(crate) mod rules;
pub(crate) mod ssh;
pub(crate) mod units;
mod whois;
pub(crate) mod wire;

pub use wire::{
    CapGrant, CapMap, Compiled, FilterRule, NetPortRange, NodeOutput, Ports, SshAction,
    SshPrincipal, SshRule,
};

use crate::model::policy::Policy;
use crate::model::tailnet::Tailnet;
use crate::model::validated::Validated;
use crate::model::Dialect;

/// Compiles `policy` for every node of `tailnet`: packet filters, WhoIs capability maps and
/// SSH rules. Get the policy from the checker
/// ([`crate::validate::Report::into_validated`]). Never panics.
pub fn compile(policy: &Validated, tailnet: &Tailnet) -> Compiled {
    let (mut compiled, peers) = node::compile_nodes(policy, tailnet, true, policy.dialect());
    whois::fill(tailnet, &peers, &mut compiled);
    ssh::fill(policy, tailnet, &mut compiled);
    compiled
}

/// Compiles the packet filters only, leaving every `whois_capmap` and `ssh_rules` empty. Cheaper than
/// [`compile`] on large tailnets, where the capability maps grow with the square of the
/// node count.
pub fn compile_filters(policy: &Validated, tailnet: &Tailnet) -> Compiled {
    node::compile_nodes(policy, tailnet, false, policy.dialect()).0
}

/// The node capabilities the policy gives each node by name: the attributes of the
/// `nodeAttrs` entries whose targets hold the node, and `randomize-client-port` for every
/// node under `"randomizeClientPort": true`, each with a `null` value, as Headscale pushes
/// them (`Node.CapMap`). Nodes given none are absent. Never panics.
pub fn node_capmaps(
    policy: &Validated,
    tailnet: &Tailnet,
) -> std::collections::BTreeMap<String, CapMap> {
    headscale::node_capmaps(policy, tailnet)
}

/// [`compile_filters`] of a policy that may not have passed the checker, for the reference
/// evaluator: anything that does not resolve (an unknown tag, a malformed port) grants
/// nothing.
pub(crate) fn filters_of(policy: &Policy, tailnet: &Tailnet) -> Compiled {
    node::compile_nodes(policy, tailnet, false, Dialect::Tailscale).0
}

/// Every rule of the policy in wire form, before it is narrowed to any node (the shared
/// rules, then the per-node `autogroup:self` and `via` rules). The `tests` block is evaluated
/// against these.
pub(crate) fn global_rules(policy: &Policy, tailnet: &Tailnet) -> Vec<FilterRule> {
    node::global_rules(policy, tailnet, Dialect::Tailscale)
}

/// The filter every node's is cut from, by the rules of the dialect the policy was checked
/// under: the rules shared by all nodes (the per-node `autogroup:self` and `via` rules left
/// out), before they are narrowed to any node, rules with the same sources and protocols
/// merged at the first one (Headscale's `PolicyManager.Filter`). Never panics.
pub fn global_filter(policy: &Validated, tailnet: &Tailnet) -> Vec<FilterRule> {
    node::global_filter(policy, tailnet, policy.dialect())
}
