//! Building the decision table from a policy and a tailnet.
//!
//! The rules are the compiler's (`compile::rules`), taken before they are merged and written
//! per node, so that nothing is done per (node, rule) that can be done once per rule:
//! 1. every rule destination becomes a *part* ([`parts`]), interned, with the nodes whose
//!    own addresses it covers and the route ranges it covers ([`reach`], memoized by
//!    destination set: a thousand grants to `tag:relay` share one node list);
//! 2. nodes reached by the same parts get the same node policy ([`policies`]);
//! 3. source addresses are mapped once, for the whole table, to *source classes*
//!    ([`classes`]); a node policy maps source classes to answers, so its size is the number
//!    of classes it grants something to, not the number of address ranges in its sources;
//! 4. strings and spans are interned ([`intern`]), and the nodes are written with their
//!    policy, their first address's class and their relay settings.

mod classes;
mod intern;
mod parts;
mod policies;
mod reach;

use super::{DecisionTable, NodeEntry, NodePolicy};
use crate::engine::compile::rules::{resolve_unit, self_rules, shared_rules, via_rules};
use crate::engine::compile::units::units;
use crate::engine::resolve::{addr_key, AddrSet, Resolver};
use crate::model::policy::Policy;
use crate::model::tailnet::Tailnet;
use crate::model::validated::Validated;
use crate::model::Dialect;
use crate::span::Span;
use crate::vocab::DISABLE_RELAY_SERVER;
use intern::{index, Interner};
use parts::Parts;
use policies::Answers;
use reach::Reach;
use std::collections::HashMap;
use std::net::IpAddr;

impl DecisionTable {
    /// Compiles `policy` for `tailnet` and indexes the result. Get the policy from the
    /// checker ([`crate::validate::Report::into_validated`]).
    pub fn build(policy: &Validated, tailnet: &Tailnet) -> Self {
        Self::of_policy_in(policy, tailnet, policy.dialect())
    }

    /// [`DecisionTable::build`] of a policy that may not have passed the checker, for the
    /// tools that answer about any decoded policy (`diff`, the assertions): anything that
    /// does not resolve grants nothing.
    pub(crate) fn of_policy(policy: &Policy, tailnet: &Tailnet) -> Self {
        Self::of_policy_in(policy, tailnet, Dialect::Tailscale)
    }

    /// [`DecisionTable::of_policy`] under `dialect`'s rules.
    fn of_policy_in(policy: &Policy, tailnet: &Tailnet, dialect: Dialect) -> Self {
        let r = Resolver::new(policy, tailnet).in_dialect(dialect);
        let mut int = Interner::default();
        let mut reach = Reach::new(r.node_index());
        let mut parts = Parts::default();

        // 1. Parts and the nodes they reach. Units are resolved one at a time; only those
        // with per-node rules (`autogroup:self`, `via`) are kept.
        let units = units(policy, dialect);
        let mut per_node = Vec::new();
        for u in &units {
            let ru = resolve_unit(&r, u);
            for rule in &shared_rules(&r, &ru) {
                parts.add_rule(rule, None, &mut reach, &mut int);
            }
            if !u.via.is_empty() || u.has_dst("autogroup:self") {
                per_node.push(ru);
            }
        }
        if !per_node.is_empty() {
            for id in 0..tailnet.nodes.len() {
                for ru in &per_node {
                    let mut rules = self_rules(&r, ru, id);
                    rules.extend(via_rules(&r, ru, id));
                    for rule in &rules {
                        parts.add_rule(rule, Some(index(id)), &mut reach, &mut int);
                    }
                }
            }
        }

        // 2. Nodes grouped by their parts.
        let n = tailnet.nodes.len();
        let (group_of, members) = policies::group_nodes(n, &parts.occurrences);

        // 3. Source classes, and one node policy per group and per route segment.
        let classes = classes::classes(&parts.sources);
        let mut answers = Answers::default();
        let mut node_policies: Vec<NodePolicy> = members
            .iter()
            .map(|m| policies::node_policy(&parts.parts, m, &classes, &mut answers))
            .collect();
        // Per node address, the policy of the port parts whose destinations hold it.
        let (addr_group_of, addr_members) =
            policies::group_nodes(n.saturating_mul(2), &parts.addr_occurrences);
        let mut by_members: HashMap<&[u32], u32> = members
            .iter()
            .enumerate()
            .map(|(i, m)| (m.as_slice(), index(i)))
            .collect();
        let addr_policy_of_group: Vec<u32> = addr_members
            .iter()
            .map(|m| {
                *by_members.entry(m.as_slice()).or_insert_with(|| {
                    let np = policies::node_policy(&parts.parts, m, &classes, &mut answers);
                    node_policies.push(np);
                    index(node_policies.len() - 1)
                })
            })
            .collect();
        let routes = policies::route_maps(
            reach.routes(),
            &parts,
            &classes,
            &mut node_policies,
            &mut answers,
        );

        // 4. The nodes.
        let disabled = relay_disabled(policy, &r);
        let mut nodes = Vec::with_capacity(n);
        for (ix, (name, node)) in tailnet.nodes.iter().enumerate() {
            let addrs: Vec<IpAddr> = node.addresses().collect();
            let relay_disabled_by = disabled
                .iter()
                .find(|(set, _)| addrs.iter().any(|a| set.contains(*a)))
                .map(|(_, span)| int.span(*span));
            nodes.push(NodeEntry {
                name: name.clone(),
                src_class: addrs.first().map_or(u32::MAX, |a| classes.of(addr_key(*a))),
                addrs,
                tags: node.tags.iter().map(|t| int.string(t)).collect(),
                user: tailnet.owner_email(node).map(|e| int.string(e)),
                policy: group_of.get(ix).copied().unwrap_or(0),
                addr_policy: [0, 1].map(|fam| {
                    addr_group_of
                        .get(ix.saturating_mul(2) + fam)
                        .and_then(|g| addr_policy_of_group.get(*g as usize))
                        .copied()
                        .unwrap_or(u32::MAX)
                }),
                relay_disabled_by,
                relay_disabled_in_tailnet: node
                    .attributes
                    .iter()
                    .any(|a| a == DISABLE_RELAY_SERVER),
                relay_port: node.relay.as_ref().map(|r| r.port),
            });
        }
        Self::assemble(
            int.strings,
            int.spans,
            answers.list,
            node_policies,
            nodes,
            routes,
            [classes.v4, classes.v6],
        )
    }
}

/// The `nodeAttrs` entries that turn relay servers off: their targets' addresses and spans.
fn relay_disabled(policy: &Policy, r: &Resolver<'_>) -> Vec<(AddrSet, Span)> {
    let mut disabled = Vec::new();
    for na in &policy.node_attrs {
        if na
            .attr
            .iter()
            .any(|a| a.value.trim() == DISABLE_RELAY_SERVER)
        {
            let mut set = AddrSet::new();
            for t in &na.target {
                set.add_set(&r.resolve_selector(t));
            }
            disabled.push((set, na.span));
        }
    }
    disabled
}
